//! Logging for both programs: `-v` levels as mydumper's (0 silent,
//! 1 errors, 2 warnings, 3 info) to stderr or to `-L/--logfile`.

use std::path::Path;

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

/// Sets up the logger once, at program start. `RUST_LOG` may raise the level.
pub fn init(program: &str, verbose: u8, logfile: Option<&Path>) -> Result<()> {
    let mut b = env_logger::Builder::new();
    b.filter_level(level(verbose));
    if let Ok(spec) = std::env::var("RUST_LOG") {
        b.parse_filters(&spec);
    }
    let program = program.to_string();
    b.format(move |buf, record| {
        use std::io::Write;
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
