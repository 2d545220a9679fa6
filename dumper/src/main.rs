//! rdumper: parallel, consistent logical dumps in mydumper's format.

mod catalog;
mod chunk;
mod cli;
mod daemon;
mod disk;
mod dump;
mod exec;
mod filter;
mod output;
mod rows;
mod schema;
mod snapshot;
mod stream;
mod worker;
mod writer;

use common::config::{parse_args, Program};

fn main() {
    // The client library keeps a shared pool of packet buffers. The rows of
    // data queries are read from the socket without it (rows.rs) and the
    // other queries are few, so a pool would only hold memory. An explicit
    // setting wins.
    if std::env::var_os("RUST_MYSQL_BUFFER_POOL_CAP").is_none() {
        std::env::set_var("RUST_MYSQL_BUFFER_POOL_CAP", "0");
    }
    if let Err(e) = run() {
        common::logging::report_failure("rdumper", &one_line(&e));
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let (cli, cfg) = parse_args::<cli::Cli>(Program::Dumper)?;
    common::logging::init("rdumper", cli.app.verbose, cli.app.debug, cli.app.machine_log_json, cli.app.logfile.as_deref())?;
    cfg.log_ignored();
    common::cancel::install().map_err(|e| anyhow::anyhow!("cannot install signal handlers: {e}"))?;
    let conn = common::conn::ConnectionConfig::from_args(&cli.conn)?;
    let opts = cli.into_options()?;
    match opts.daemon {
        Some(_) if opts.dry_run => dump::run(&opts, &conn),
        Some(mode) => daemon::run(opts, conn, mode),
        None => dump::run(&opts, &conn),
    }
}

/// The error and its causes on one line.
fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}
