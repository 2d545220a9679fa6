//! rloader: parallel, ordered loads of mydumper-format dumps.

mod as_data;
mod backlog;
mod cli;
mod ddl;
mod dry_run;
mod exec;
mod files;
mod infile;
mod mysqldump;
mod replication;
mod run;
mod scheduler;
mod split;
mod sqltext;
mod statement;
mod stream;
mod worker;

use common::config::{parse_args, Program};

fn main() {
    let (cli, config) = match parse_args::<cli::Cli>(Program::Loader) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rloader: {e:#}");
            std::process::exit(1);
        }
    };
    if let Err(e) = common::cancel::install() {
        eprintln!("rloader: cannot install signal handlers: {e}");
        std::process::exit(1);
    }
    if let Err(e) = run::run(cli, config) {
        common::logging::report_failure("rloader", &format!("{e:#}"));
        std::process::exit(1);
    }
}
