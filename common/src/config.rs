//! Command line plus option files, read the way mydumper reads them:
//! `--defaults-file` (default `/etc/mydumper.cnf` when it exists), then
//! `--defaults-extra-file`; `[client]` supplies the connection, `[mydumper]`
//! (rdumper) or `[myloader]` (rloader) any long option by name. Unlike
//! mydumper, flags given on the command line win over the files, and a flag
//! set to `0`/`false` in a file stays off.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{ArgAction, CommandFactory, FromArgMatches};

use crate::keyfile::KeyFile;

pub const DEFAULT_DEFAULTS_FILE: &str = "/etc/mydumper.cnf";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Dumper,
    Loader,
}

impl Program {
    /// The option-file group of this program's options.
    pub fn section(self) -> &'static str {
        match self {
            Program::Dumper => "mydumper",
            Program::Loader => "myloader",
        }
    }
}

/// The option files that were read, merged (later files win).
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub files: Vec<PathBuf>,
    pub keys: KeyFile,
    /// Keys of the program's sections that are none of its options: read
    /// before the logger exists, logged by [`Config::log_ignored`].
    pub ignored: Vec<String>,
}

impl Config {
    /// `key = value` pairs of a group, e.g. `myloader_session_variables`.
    pub fn section(&self, name: &str) -> Vec<(String, String)> {
        self.keys.group(name).map(|g| g.entries.clone()).unwrap_or_default()
    }

    pub fn get(&self, group: &str, key: &str) -> Option<&str> {
        self.keys.get(group, key)
    }

    /// Logs (at debug level) the option-file keys that were ignored; call
    /// once the logger is set up.
    pub fn log_ignored(&self) {
        for key in &self.ignored {
            log::debug!("option file key {key:?} is not an option of this program; ignored");
        }
    }

    /// Reads the option files the command line names (or the default one).
    pub fn load(defaults_file: Option<&Path>, extra_file: Option<&Path>) -> Result<Config> {
        let mut cfg = Config::default();
        match defaults_file {
            Some(p) => cfg.read(p)?,
            None if Path::new(DEFAULT_DEFAULTS_FILE).exists() => cfg.read(Path::new(DEFAULT_DEFAULTS_FILE))?,
            None => {}
        }
        if let Some(p) = extra_file {
            cfg.read(p)?;
        }
        Ok(cfg)
    }

    fn read(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read option file {}", path.display()))?;
        let kf = KeyFile::parse(&text).with_context(|| format!("option file {}", path.display()))?;
        self.keys.merge(kf);
        self.files.push(path.to_path_buf());
        Ok(())
    }
}

/// The value of `--name` in raw arguments, in any of its spellings.
fn scan_value(args: &[OsString], name: &str) -> Option<PathBuf> {
    let long = format!("--{name}");
    let with_eq = format!("--{name}=");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == long {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = s.strip_prefix(&with_eq) {
            return Some(PathBuf::from(v));
        }
    }
    None
}

fn falsy(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "false" | "off" | "no")
}

/// The option a `[client]` key of the MySQL client's sets, if it is one
/// of the connection's.
fn client_key(key: &str) -> Option<&'static str> {
    Some(match key.trim().replace('_', "-").as_str() {
        "host" => "host",
        "port" => "port",
        "user" => "user",
        "password" => "password",
        "socket" => "socket",
        "compress" => "compress-protocol",
        "protocol" => "protocol",
        "enable-cleartext-plugin" => "enable-cleartext-plugin",
        "ssl" => "ssl",
        "ssl-mode" => "ssl-mode",
        "ssl-ca" => "ca",
        "ssl-capath" => "capath",
        "ssl-cert" => "cert",
        "ssl-key" => "key",
        "ssl-cipher" => "cipher",
        "tls-version" => "tls-version",
        _ => return None,
    })
}

/// Turns option-file keys into arguments the parser knows. Unknown keys are
/// skipped, as mydumper skips them.
fn keys_to_args(cmd: &clap::Command, entries: &[(String, String)], out: &mut Vec<OsString>, ignored: &mut Vec<String>) {
    for (key, value) in entries {
        let key = key.trim().replace('_', "-");
        let Some(arg) = cmd.get_arguments().find(|a| a.get_long() == Some(key.as_str())) else {
            ignored.push(key);
            continue;
        };
        if matches!(arg.get_action(), ArgAction::Help | ArgAction::Version) {
            continue;
        }
        if arg.get_action().takes_values() {
            out.push(OsString::from(format!("--{key}={}", crate::keyfile::unquote(value))));
        } else if !falsy(value) {
            out.push(OsString::from(format!("--{key}")));
        }
    }
}

/// Parses the process's command line together with the option files.
/// Exits the process on `--help`, `--version` and on usage errors (status 1,
/// as mydumper).
pub fn parse_args<T: CommandFactory + FromArgMatches>(program: Program) -> Result<(T, Config)> {
    let raw: Vec<OsString> = std::env::args_os().collect();
    let parsed = parse_from::<T>(program, &raw);
    crate::argv::hide_password();
    match parsed {
        Ok(r) => Ok(r),
        Err(e) => match e.downcast::<clap::Error>() {
            Ok(ce) => {
                let code = if ce.use_stderr() { 1 } else { 0 };
                let _ = ce.print();
                std::process::exit(code);
            }
            Err(e) => Err(e),
        },
    }
}

/// As [`parse_args`], from given arguments (the first is the program name);
/// clap's own errors are returned as `clap::Error` inside the `anyhow::Error`.
pub fn parse_from<T: CommandFactory + FromArgMatches>(program: Program, raw: &[OsString]) -> Result<(T, Config)> {
    let cli = raw.get(1..).unwrap_or(&[]);
    let defaults = scan_value(cli, "defaults-file");
    let extra = scan_value(cli, "defaults-extra-file");
    let mut config = Config::load(defaults.as_deref(), extra.as_deref())?;

    let cmd = T::command().args_override_self(true);
    let mut args: Vec<OsString> = vec![raw.first().cloned().unwrap_or_else(|| OsStr::new(program.section()).into())];
    let client: Vec<(String, String)> =
        config.section("client").into_iter().filter_map(|(k, v)| client_key(&k).map(|k| (k.to_string(), v))).collect();
    // [client] holds the keys of every MySQL client: only the program's
    // own section's unknown keys are worth a message.
    keys_to_args(&cmd, &client, &mut args, &mut Vec::new());
    let own = config.section(program.section());
    keys_to_args(&cmd, &own, &mut args, &mut config.ignored);
    let from_files = args.len() - 1;
    args.extend(cli.iter().cloned());
    let matches = match cmd.try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) if from_files > 0 && e.use_stderr() => {
            bail!("{} (options from {})", e.to_string().trim_end(), describe_files(&config))
        }
        Err(e) => return Err(e.into()),
    };
    let parsed = T::from_arg_matches(&matches)?;
    Ok((parsed, config))
}

fn describe_files(c: &Config) -> String {
    c.files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}
