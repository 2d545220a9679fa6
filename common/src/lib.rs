//! What rdumper and rloader must agree on, each written once and used in
//! both directions: file naming, stream framing, the `metadata` file,
//! compression, connection and config options, logging and progress.

pub mod argv;
pub mod cancel;
pub mod checksum;
pub mod compress;
pub mod config;
pub mod daemon;
pub mod definer;
pub mod escape;
pub mod conn;
pub mod create_table;
pub mod direct;
pub mod keyfile;
pub mod logging;
pub mod metadata;
pub mod naming;
pub mod options;
pub mod pattern;
pub mod pmm;
pub mod progress;
pub mod spare;
pub mod stream;
pub mod throttle;
pub mod tls;
pub mod wire;
