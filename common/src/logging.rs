//! Logging for both programs: `-v` levels as mydumper's (0 silent,
//! 1 errors, 2 warnings, 3 info; `--debug` more) to stderr or to
//! `-L/--logfile`, as text or, with `--machine-log-json`, one JSON object
//! per line.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

pub fn level(verbose: u8) -> log::LevelFilter {
    match verbose {
        0 => log::LevelFilter::Off,
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        _ => log::LevelFilter::Debug,
    }
}

static JSON: AtomicBool = AtomicBool::new(false);

/// One log record as a JSON line.
fn json_line(level: &str, program: &str, message: &str) -> String {
    serde_json::json!({
        "time": chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string(),
        "level": level,
        "program": program,
        "message": message,
    })
    .to_string()
}

/// Sets up the logger once, at program start. `RUST_LOG` may raise the
/// level; `debug` (`--debug`) logs everything.
pub fn init(program: &str, verbose: u8, debug: bool, json: bool, logfile: Option<&Path>) -> Result<()> {
    let mut b = env_logger::Builder::new();
    b.filter_level(if debug { log::LevelFilter::Debug } else { level(verbose) });
    if let Ok(spec) = std::env::var("RUST_LOG") {
        b.parse_filters(&spec);
    }
    JSON.store(json, Ordering::Relaxed);
    let program = program.to_string();
    b.format(move |buf, record| {
        use std::io::Write;
        if json {
            return writeln!(buf, "{}", json_line(record.level().as_str(), &program, &record.args().to_string()));
        }
        let ts = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
        writeln!(buf, "{ts} [{}] {program}: {}", record.level(), record.args())
    });
    if let Some(p) = logfile {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .with_context(|| format!("cannot open log file {}", p.display()))?;
        b.target(env_logger::Target::Pipe(Box::new(f)));
    } else {
        b.target(env_logger::Target::Stderr);
    }
    b.try_init().context("logger already set up")?;
    Ok(())
}

/// The failure that ends the program, on stderr: `program: message`, or a
/// JSON line of level ERROR with `--machine-log-json`.
pub fn report_failure(program: &str, message: &str) {
    if JSON.load(Ordering::Relaxed) {
        eprintln!("{}", json_line("ERROR", program, message));
    } else {
        eprintln!("{program}: {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_json() {
        let line = json_line("WARN", "rdumper", "a \"quoted\"\nmessage\\");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["message"], "a \"quoted\"\nmessage\\");
        assert_eq!(v["level"], "WARN");
        assert!(!line.contains('\n'));
    }
}
