//! Options both programs share, spelled as mydumper and myloader spell them.
//! Flatten these into each program's clap parser.

use std::path::PathBuf;

use anyhow::Context;
use clap::{ArgAction, Args};

/// Connection options.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Connection Options")]
pub struct ConnectionArgs {
    /// The host to connect to [env: MYSQL_HOST]
    #[arg(short = 'h', long)]
    pub host: Option<String>,
    /// TCP/IP port to connect to [env: MYSQL_TCP_PORT]
    #[arg(short = 'P', long)]
    pub port: Option<u16>,
    /// Username with the necessary privileges
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// User password [env: MYSQL_PWD]
    #[arg(short = 'p', long)]
    pub password: Option<String>,
    /// Prompt for the user password, without echo
    #[arg(short = 'a', long)]
    pub ask_password: bool,
    /// UNIX domain socket file to use for connection
    #[arg(short = 'S', long)]
    pub socket: Option<PathBuf>,
    /// Connect over tcp, or the socket, whatever the host
    #[arg(long, value_name = "tcp|socket")]
    pub protocol: Option<String>,
    /// The database the connections start in [default: none]
    #[arg(long, value_name = "DB")]
    pub default_connection_database: Option<String>,
    /// Send the password in clear text to a server that asks for it so
    #[arg(long)]
    pub enable_cleartext_plugin: bool,
    /// Use compression on the connection (slower here unless the network is)
    #[arg(short = 'C', long)]
    pub compress_protocol: bool,
    /// Connect using TLS (REQUIRED, or VERIFY_CA with --ca/--capath)
    #[arg(long)]
    pub ssl: bool,
    /// DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY
    #[arg(long, value_name = "MODE")]
    pub ssl_mode: Option<String>,
    /// The client certificate's private key (PEM)
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The client certificate (PEM)
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The CA certificate(s) the server's certificate must chain to (PEM)
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// A directory of CA certificates (PEM)
    #[arg(long, value_name = "DIR")]
    pub capath: Option<PathBuf>,
    /// Cipher suites allowed, OpenSSL or IANA names, `:`-separated
    #[arg(long, value_name = "LIST")]
    pub cipher: Option<String>,
    /// TLS versions allowed, e.g. TLSv1.2,TLSv1.3
    #[arg(long, value_name = "LIST")]
    pub tls_version: Option<String>,
    /// Use a specific defaults file [default: /etc/mydumper.cnf when it exists]
    #[arg(long, value_name = "FILE")]
    pub defaults_file: Option<PathBuf>,
    /// Read this file after the defaults file; its values win
    #[arg(long, value_name = "FILE")]
    pub defaults_extra_file: Option<PathBuf>,
}

/// Application options: threads, verbosity, logging, help, version.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Application Options")]
pub struct AppArgs {
    /// Number of threads to use
    #[arg(short = 't', long, default_value_t = 4)]
    pub threads: usize,
    /// Verbosity of output, 0 = silent, 1 = errors, 2 = warnings, 3 = info
    #[arg(short = 'v', long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub verbose: u8,
    /// Log file name to use, by default stderr is used
    #[arg(short = 'L', long, value_name = "FILE")]
    pub logfile: Option<PathBuf>,
    /// Log everything, debugging messages included (more than -v 3)
    #[arg(long)]
    pub debug: bool,
    /// Log one JSON object per line (time, level, program, message)
    #[arg(long)]
    pub machine_log_json: bool,
    /// Change nothing: rdumper lists what it would dump (no lock, no
    /// files); rloader reads and checks the whole dump without a server
    #[arg(long)]
    pub dry_run: bool,
    /// How replication is driven: TRADITIONAL (the SQL statements, the
    /// only one supported; AWS, Amazon RDS's procedures, is refused)
    #[arg(long, value_name = "TRADITIONAL", value_parser = parse_source_control)]
    pub source_control_command: Option<String>,
    /// The server's product and version, PRODUCT-X.Y.Z (e.g. mysql-8.0.36,
    /// mariadb-10.11.6), instead of asking the server
    #[arg(long, value_name = "PRODUCT-X.Y.Z", value_parser = parse_server_version)]
    pub server_version: Option<String>,
    /// Show help options
    #[arg(short = '?', long, action = ArgAction::Help)]
    pub help: Option<bool>,
    /// Show the program version and exit
    #[arg(short = 'V', long, action = ArgAction::Version)]
    pub version: Option<bool>,
}

impl AppArgs {
    /// Threads to run: 0 means one per CPU, as in mydumper.
    pub fn worker_count(&self) -> usize {
        if self.threads == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(4)
        } else {
            self.threads
        }
    }
}

/// `--source-control-command`: TRADITIONAL is what both programs do; AWS
/// (RDS's `CALL mysql.rds_…` procedures) is refused rather than ignored.
pub fn parse_source_control(v: &str) -> Result<String, String> {
    match v.trim().to_ascii_uppercase().as_str() {
        "TRADITIONAL" => Ok("TRADITIONAL".into()),
        "AWS" => Err("AWS (Amazon RDS's replication procedures) is not supported; only TRADITIONAL".into()),
        other => Err(format!("{other:?}: expected TRADITIONAL or AWS")),
    }
}

/// `--server-version PRODUCT-X.Y.Z`, as `SELECT VERSION()` would give it
/// (`X.Y.Z-MariaDB` for MariaDB, `X.Y.Z` for the others).
pub fn parse_server_version(v: &str) -> Result<String, String> {
    let (product, version) = v.trim().split_once('-').ok_or("expected PRODUCT-X.Y.Z, e.g. mysql-8.0.36")?;
    let parts: Vec<&str> = version.split('.').collect();
    if product.is_empty() || !product.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("{product:?} is not a product name"));
    }
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit())) {
        return Err(format!("{version:?} is not a version X.Y.Z"));
    }
    Ok(if product.eq_ignore_ascii_case("mariadb") { format!("{version}-MariaDB") } else { version.to_string() })
}

/// The server's version as `SELECT VERSION()` gives it, or as
/// `--server-version` says.
pub fn server_version(given: Option<&str>, conn: &mut mysql::Conn) -> anyhow::Result<String> {
    use mysql::prelude::Queryable;
    match given {
        Some(v) => Ok(v.to_string()),
        None => Ok(conn
            .query_first::<String, _>("SELECT VERSION()")
            .map_err(|e| anyhow::anyhow!("cannot read the server's version: {}", crate::conn::server_message(&e)))?
            .unwrap_or_default()),
    }
}

/// `--ignore-errors`: server error codes, comma-separated.
pub fn parse_error_codes(v: &str) -> anyhow::Result<Vec<u16>> {
    v.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| c.parse::<u16>().map_err(|_| anyhow::anyhow!("--ignore-errors: {c:?} is not an error code")))
        .collect()
}

/// `256M`, `1G`, `64k`, `1048576`: a size in bytes.
pub fn parse_size(s: &str) -> anyhow::Result<u64> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                'B' => 1,
                _ => anyhow::bail!("bad size {s:?}: unknown unit {c:?} (use K, M, G or T)"),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num.trim().parse().with_context(|| format!("bad size {s:?}"))?;
    n.checked_mul(mult).with_context(|| format!("size {s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_control_is_traditional_only() {
        assert_eq!(parse_source_control("traditional").unwrap(), "TRADITIONAL");
        assert!(parse_source_control("AWS").unwrap_err().contains("not supported"));
        assert!(parse_source_control("x").is_err());
    }

    #[test]
    fn server_versions_as_the_server_says_them() {
        assert_eq!(parse_server_version("mysql-8.0.36").unwrap(), "8.0.36");
        assert_eq!(parse_server_version("MariaDB-10.11.6").unwrap(), "10.11.6-MariaDB");
        for bad in ["8.0.36", "mysql-8.0", "mysql-8.0.x", "-8.0.1", "my sql-8.0.1"] {
            assert!(parse_server_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256M").unwrap(), 256 << 20);
        assert_eq!(parse_size("64k").unwrap(), 64 << 10);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("12X").is_err());
    }
}
