//! The command line, spelled as mydumper spells it, and its translation into
//! the settled [`Options`] the dump runs with.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Parser;
use common::checksum::{ChecksumArgs, Kinds};
use common::escape::FieldFormat;
use common::naming::Compression;
use common::options::{parse_size, AppArgs, ConnectionArgs};

use crate::filter::Filter;

#[derive(Parser, Debug)]
#[command(
    name = "rdumper",
    version,
    about = "Parallel consistent logical dumps of MySQL/MariaDB in mydumper's format",
    disable_help_flag = true,
    disable_version_flag = true
)]
pub struct Cli {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub lock: LockArgs,

    #[command(flatten)]
    pub objects: ObjectArgs,

    #[command(flatten)]
    pub statement: StatementArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub daemon: DaemonArgs,

    #[command(flatten)]
    pub checksums: ChecksumArgs,

    #[command(flatten)]
    pub pmm: common::pmm::PmmArgs,

    #[command(flatten)]
    pub app: AppArgs,

    /// `DB [DB.TABLE…]`: dump DB (or these tables of it) as a stream to stdout
    #[arg(value_name = "DB")]
    pub positional: Vec<String>,
}

#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Filter Options")]
pub struct FilterArgs {
    /// Comma-separated list of databases to dump
    #[arg(short = 'B', long)]
    pub database: Option<String>,
    /// Comma-separated list of tables to dump, as db.table; % and _ are wildcards
    #[arg(short = 'T', long = "tables-list")]
    pub tables_list: Vec<String>,
    /// Regular expression for 'db.table' (caseless); repeatable, any match keeps the table
    #[arg(short = 'x', long)]
    pub regex: Vec<String>,
    /// File with db.table or db entries to skip, one per line
    #[arg(short = 'O', long = "omit-from-file", value_name = "FILE")]
    pub omit_from_file: Option<PathBuf>,
    /// Comma-separated list of storage engines to ignore
    #[arg(short = 'i', long = "ignore-engines")]
    pub ignore_engines: Option<String>,
    /// Dump only rows matching this condition (added to every data query)
    #[arg(long = "where", value_name = "SQL")]
    pub where_clause: Option<String>,
    /// Skip base tables whose UPDATE_TIME is more than DAYS days old (tables
    /// without one are dumped); the skipped ones are listed in
    /// `not_updated_tables`
    #[arg(short = 'U', long, value_name = "DAYS")]
    pub updated_since: Option<u32>,
}

#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Lock Options")]
pub struct LockArgs {
    /// Release the global read lock as soon as every worker has its snapshot
    #[arg(long)]
    pub trx_consistency_only: bool,
    /// Take no global read lock (the dump may be inconsistent)
    #[arg(short = 'k', long)]
    pub no_locks: bool,
    /// Lock the selected tables with LOCK TABLES … READ instead of taking the
    /// global read lock: writes to other tables go on meanwhile
    #[arg(long)]
    pub lock_all_tables: bool,
    /// Treat every table as transactional: release the lock at once (=1, default off)
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1")]
    pub trx_tables: Option<String>,
    /// Hold the global lock until non-transactional tables are dumped (the default)
    #[arg(long, visible_alias = "less-locking")]
    pub no_trx_tables: bool,
    /// Engines whose tables are read in the snapshot, after the lock; the
    /// others' are dumped under it [default: InnoDB,ROCKSDB,TokuDB]
    #[arg(long, value_name = "LIST")]
    pub optimize_keys_engines: Option<String>,
    /// AUTO or FTWRL (the global read lock, the default), LOCK_ALL
    /// (--lock-all-tables), NO_LOCK (-k), SAFE_NO_LOCK (no lock; the dump
    /// fails if the binary log moved while the workers took their snapshots)
    #[arg(long, value_name = "MODE")]
    pub sync_thread_lock_mode: Option<String>,
    /// Run each job after a savepoint and roll back to it when done, so that a
    /// worker holds no metadata lock on the tables it has finished (DDL on them
    /// need not wait for the end of the dump)
    #[arg(long)]
    pub use_savepoints: bool,
    /// Take no backup locks: accepted as mydumper takes it; rdumper locks with
    /// FLUSH TABLES WITH READ LOCK and never takes backup locks
    #[arg(long)]
    pub no_backup_locks: bool,
    /// Take no DDL lock: accepted as mydumper takes it; rdumper takes none
    /// (DDL waits only for the global read lock, as long as it is held)
    #[arg(long)]
    pub skip_ddl_locks: bool,
    /// Seconds a running query may take before the dump refuses to lock
    #[arg(short = 'l', long, default_value_t = 60, value_name = "SECONDS")]
    pub long_query_guard: u64,
    /// Kill long-running queries instead of aborting
    #[arg(short = 'K', long)]
    pub kill_long_queries: bool,
    /// Check this many times more for long queries before aborting (or
    /// killing them with -K), waiting --long-query-retry-interval between
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub long_query_retries: u32,
    /// Seconds to wait between checks for long queries
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub long_query_retry_interval: u64,
    /// Session lock_wait_timeout for the dump's connections
    #[arg(long, value_name = "SECONDS")]
    pub lock_wait_timeout: Option<u64>,
    /// Session wsrep_sync_wait for the dump's connections (Galera: reads
    /// wait for the cluster's writes up to then)
    #[arg(long, value_name = "N")]
    pub sync_wait: Option<u32>,
    /// Give up a wait for the global read lock after this many seconds and
    /// try again (--ftwrl-timeout-retries), so that the writes it holds up
    /// go on meanwhile [60 when --ftwrl-timeout-retries is given]
    #[arg(long, value_name = "SECONDS")]
    pub ftwrl_max_wait_time: Option<u64>,
    /// How many times to try again for the global read lock (0: until it
    /// is taken)
    #[arg(long, value_name = "N")]
    pub ftwrl_timeout_retries: Option<u32>,
}

#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Objects Options")]
pub struct ObjectArgs {
    /// Do not dump table schemas with the data and triggers
    #[arg(short = 'm', long)]
    pub no_schemas: bool,
    /// Do not dump table data
    #[arg(short = 'd', long)]
    pub no_data: bool,
    /// Write table schemas without their secondary indexes (those an
    /// AUTO_INCREMENT column needs stay)
    #[arg(long)]
    pub skip_indexes: bool,
    /// Write table schemas without their foreign keys and table CHECK
    /// constraints
    #[arg(long)]
    pub skip_constraints: bool,
    /// Do not dump views
    #[arg(short = 'W', long)]
    pub no_views: bool,
    /// Dump views as tables: a CREATE TABLE of their columns, and their rows
    #[arg(long)]
    pub views_as_tables: bool,
    /// Engine of the table that stands in for a view until the view is
    /// created (other views may use it before)
    #[arg(long, value_name = "ENGINE", default_value = "MEMORY")]
    pub table_engine_for_view_dependency: String,
    /// Dump triggers
    #[arg(short = 'G', long)]
    pub triggers: bool,
    /// Dump events
    #[arg(short = 'E', long)]
    pub events: bool,
    /// Dump stored procedures and functions
    #[arg(short = 'R', long)]
    pub routines: bool,
    /// Server errors (codes, comma-separated) that skip the object they hit
    /// with a warning instead of failing the dump, e.g. 1146 for a table
    /// dropped while the dump runs
    #[arg(long, value_name = "CODES")]
    pub ignore_errors: Option<String>,
    /// Same as --ignore-errors 1146: a table dropped during the dump is
    /// skipped with a warning
    #[arg(long = "success-on-1146")]
    pub success_on_1146: bool,
}

#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Statement Options")]
pub struct StatementArgs {
    /// Rows per chunk: N (fixed key ranges) or MIN:START[:MAX] (dynamic)
    #[arg(short = 'r', long)]
    pub rows: Option<String>,
    /// Chunk on the first column of the key only: accepted as mydumper
    /// takes it; rdumper never chunks on more than one column
    #[arg(long)]
    pub use_single_column: bool,
    /// Workers that dump chunks of one table at once (0: no limit)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_threads_per_table: usize,
    /// Bounds on the rows of chunks sized automatically or with -r
    /// MIN:START[:MAX]: MIN:MAX (MAX 0: no bound)
    #[arg(long, value_name = "MIN:MAX")]
    pub rows_hard: Option<String>,
    /// Cut tables whose key is a string (CHAR, VARCHAR, BINARY, VARBINARY)
    /// into ranges too, from one ordered read of the key
    #[arg(long)]
    pub split_string_pk: bool,
    /// Characters of a string key mydumper splits on: accepted; rdumper
    /// cuts string keys by row counts
    #[arg(long, value_name = "N")]
    pub max_char_size: Option<u64>,
    /// Strings per string-key chunk in mydumper: accepted; rdumper cuts
    /// string keys by row counts (-r)
    #[arg(long, value_name = "N")]
    pub max_items_per_string_chunk: Option<u64>,
    /// One chunk per partition of a partitioned table (instead of -r)
    #[arg(long)]
    pub split_partitions: bool,
    /// Only the partitions whose name matches (caseless); one chunk each
    #[arg(long, value_name = "REGEX")]
    pub partition_regex: Option<String>,
    /// Read the catalog in bulk: accepted as mydumper takes it; rdumper
    /// reads it in a few queries whatever the number of tables
    #[arg(long)]
    pub bulk_metadata_prefetch: bool,
    /// Skip the check for generated columns: accepted as mydumper takes it;
    /// rdumper learns them from its catalog queries and never writes them
    #[arg(long)]
    pub no_check_generated_fields: bool,
    /// Split data files into pieces of this many MB (0 = off; with --stream
    /// the default is 16, so that the reader gets a table's rows while the
    /// rest are still being dumped)
    #[arg(short = 'F', long, value_name = "MB")]
    pub chunk_filesize: Option<u64>,
    /// Attempted size of INSERT statements in bytes
    #[arg(short = 's', long, default_value_t = 1_000_000)]
    pub statement_size: usize,
    /// Use complete INSERT statements that include column names
    #[arg(long)]
    pub complete_insert: bool,
    /// Dump rows with INSERT IGNORE
    #[arg(short = 'N', long)]
    pub insert_ignore: bool,
    /// Dump rows with REPLACE
    #[arg(long)]
    pub replace: bool,
    /// Dump binary and string columns as hex
    #[arg(long)]
    pub hex_blob: bool,
    /// LOAD_DATA/CSV: the field separator (one character; \t for TAB)
    #[arg(long, value_name = "C")]
    pub fields_terminated_by: Option<String>,
    /// LOAD_DATA/CSV: the character around values ('' for none)
    #[arg(long, value_name = "C")]
    pub fields_enclosed_by: Option<String>,
    /// LOAD_DATA/CSV: the escape character
    #[arg(long, value_name = "C")]
    pub fields_escaped_by: Option<String>,
    /// LOAD_DATA/CSV: text every line starts with
    #[arg(long, value_name = "TEXT")]
    pub lines_starting_by: Option<String>,
    /// LOAD_DATA/CSV: text every line ends with (\n, \r\n, …)
    #[arg(long, value_name = "TEXT")]
    pub lines_terminated_by: Option<String>,
    /// LOAD_DATA/CSV: a first line of column names in every data file
    #[arg(long)]
    pub include_header: bool,
    /// Data format: INSERT, LOAD_DATA or CSV
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Same as --format CSV
    #[arg(long)]
    pub csv: bool,
    /// Same as --format LOAD_DATA
    #[arg(long)]
    pub load_data: bool,
    /// Leave the DEFINER clause out of views, triggers, routines and events,
    /// so that they belong to whoever loads them
    #[arg(long)]
    pub skip_definer: bool,
    /// Write this account (user@host) as the DEFINER of views, triggers,
    /// routines and events
    #[arg(long, value_name = "USER@HOST")]
    pub replace_definer: Option<String>,
    /// Sort the data by primary key
    #[arg(long)]
    pub order_by_primary: bool,
    /// SET NAMES written into the files: A[,B] (A for table schemas, B for the rest)
    #[arg(long, value_name = "A[,B]")]
    pub set_names: Option<String>,
    /// Do not dump in UTC (TIMESTAMP values in the session's time zone)
    #[arg(long)]
    pub skip_tz_utc: bool,
    /// Dump in UTC (the default)
    #[arg(long)]
    pub tz_utc: bool,
    /// Leave the SQL_MODE line out of the files' headers
    #[arg(long)]
    pub compact: bool,
    /// Character set of the LOAD DATA statements (--format LOAD_DATA/CSV)
    /// [default: binary, the bytes as the server holds them]
    #[arg(long, value_name = "CHARSET")]
    pub load_data_character_set: Option<String>,
    /// Use-defer scheduling of integer chunks: accepted as mydumper takes
    /// it; rdumper plans a table's chunks when a worker reaches the table
    #[arg(long)]
    pub use_defer: bool,
}

#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Output Options")]
pub struct OutputArgs {
    /// Directory to output files to [default: export-YYYYMMDD-HHMMSS]
    #[arg(short = 'o', long, value_name = "DIR")]
    pub outputdir: Option<PathBuf>,
    /// Remove the output directory's files before dumping
    #[arg(long)]
    pub clear: bool,
    /// Dump into a non-empty output directory
    #[arg(long)]
    pub dirty: bool,
    /// Add to the dump in the output directory: its metadata keeps the
    /// sections of the tables and databases not dumped again
    #[arg(long)]
    pub merge: bool,
    /// Name every file by number (mydumper_N), whatever the database's or
    /// table's name; the real names stay in the files and the metadata
    #[arg(long)]
    pub masquerade_filename: bool,
    /// Compress files: GZIP or ZSTD (bare: ZSTD)
    #[arg(short = 'c', long, value_name = "GZIP|ZSTD", num_args = 0..=1, default_missing_value = "")]
    pub compress: Option<String>,
    /// Create empty data files for empty tables
    #[arg(short = 'e', long)]
    pub build_empty_files: bool,
    /// Before each job, wait while the server's global status VAR is above N,
    /// checking every USEC microseconds (bare: Threads_running=4)
    #[arg(long, value_name = "[USEC:]VAR=N", num_args = 0..=1, default_missing_value = common::throttle::BARE)]
    pub throttle: Option<String>,
    /// Write the binary log position as live [source] keys for a loader's
    /// --source-data: bits or names, 0 exec_reset_replica, 1
    /// exec_change_source, 2 exec_start_replica, 3 enable_ssl, 4
    /// use_auto_position (bare: the first three)
    #[arg(long, value_name = "BITS|NAMES", num_args = 0..=1, default_missing_value = "7")]
    pub source_data: Option<String>,
    /// On a replica: write its source's binary log position into the
    /// metadata ([replication]), its SQL thread stopped while the snapshot
    /// is taken
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1")]
    pub replica_data: Option<u32>,
    /// Start no new job while the output's filesystem has less than PAUSE MB
    /// free, until it has RESUME MB free again
    #[arg(long, value_name = "PAUSE:RESUME")]
    pub disk_limits: Option<String>,
    /// Write the metadata's table sections in the order the dump met the
    /// tables instead of sorted by name
    #[arg(long)]
    pub skip_metadata_sorting: bool,
    /// Run this program on every finished file, the file's path its last
    /// argument (not with --stream)
    #[arg(long, value_name = "COMMAND")]
    pub exec: Option<String>,
    /// Programs of --exec run at once
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub exec_threads: usize,
    /// Write each file through this program (e.g. "lz4 -c"), which reads
    /// the file's bytes on its standard input; with --exec-per-thread-extension
    #[arg(long, value_name = "COMMAND")]
    pub exec_per_thread: Option<String>,
    /// The suffix of the files --exec-per-thread writes (e.g. .lz4)
    #[arg(long, value_name = ".EXT")]
    pub exec_per_thread_extension: Option<String>,
    /// Fail the dump when a table or view is broken (a view whose tables or
    /// columns are gone, a table the server cannot open) instead of warning
    #[arg(long)]
    pub exit_if_broken_table_found: bool,
    /// Count each table's rows (COUNT(*) in the dump's snapshot) and fail
    /// the dump if it wrote another number
    #[arg(long)]
    pub check_row_count: bool,
    /// Write the dump to stdout: TRADITIONAL, NO_DELETE, NO_STREAM, NO_STREAM_AND_NO_DELETE
    #[arg(long, value_name = "MODE", num_args = 0..=1, default_missing_value = "TRADITIONAL")]
    pub stream: Option<String>,
    /// With --stream, keep the files after sending them
    #[arg(long)]
    pub no_delete: bool,
    /// With --stream, most bytes of finished files waiting to be sent (e.g. 256M)
    #[arg(long, value_name = "SIZE", default_value = "256M")]
    pub stream_buffer: String,
    /// Finish without waiting for the dump to reach the disk (write-back is
    /// left to the kernel, as mydumper leaves it): faster where writing to
    /// the device competes with the dump, but a crash soon after can lose
    /// files that metadata lists
    #[arg(long)]
    pub no_sync: bool,
}

#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Daemon Options")]
pub struct DaemonArgs {
    /// Go to the background and dump every --snapshot-interval minutes into
    /// DIR/0, DIR/1 … in turn, DIR/last_dump naming the last finished dump
    #[arg(short = 'D', long)]
    pub daemon: bool,
    /// Minutes between the dumps of --daemon
    #[arg(short = 'I', long, default_value_t = 60, value_name = "MINUTES")]
    pub snapshot_interval: u64,
    /// How many dump directories --daemon takes in turn
    #[arg(short = 'X', long, default_value_t = 2, value_name = "N")]
    pub snapshot_count: u32,
}

/// `-D/--daemon`: how often, and into how many directories in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaemonMode {
    pub interval_minutes: u64,
    pub count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Ranges sized from the table's row estimate.
    Auto,
    /// Fixed key ranges of N values; part = ⌊low/N⌋ + 1.
    Fixed(u64),
    /// Ranges of about START rows, kept within MIN..MAX (MAX 0: no limit).
    Dynamic { min: u64, start: u64, max: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertVerb {
    Insert,
    InsertIgnore,
    Replace,
}

impl InsertVerb {
    pub fn sql(self) -> &'static str {
        match self {
            InsertVerb::Insert => "INSERT",
            InsertVerb::InsertIgnore => "INSERT IGNORE",
            InsertVerb::Replace => "REPLACE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Insert,
    LoadData,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Global read lock until the non-transactional tables are dumped.
    Full,
    /// Global read lock only until every worker has its snapshot.
    TrxOnly,
    /// No lock at all.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamMode {
    /// Send file contents (false: headers with size 0 only).
    pub send: bool,
    /// Delete each file once sent.
    pub delete: bool,
}

impl StreamMode {
    pub fn parse(v: &str, no_delete: bool) -> Result<StreamMode> {
        let bits = match v.trim().to_ascii_uppercase().as_str() {
            "" | "TRADITIONAL" | "0" | "1" => 0,
            "NO_DELETE" => 2,
            "NO_STREAM" => 4,
            "NO_STREAM_AND_NO_DELETE" => 6,
            other => match other.parse::<u8>() {
                Ok(n) if n <= 7 => n,
                _ => bail!("--stream: unknown mode {v:?} (TRADITIONAL, NO_DELETE, NO_STREAM, NO_STREAM_AND_NO_DELETE)"),
            },
        };
        Ok(StreamMode { send: bits & 4 == 0, delete: bits & 2 == 0 && !no_delete })
    }
}

/// Everything the dump needs to know, settled and checked.
#[derive(Debug)]
pub struct Options {
    pub threads: usize,
    /// `--dry-run`: list what would be dumped, and stop.
    pub dry_run: bool,
    /// `--pmm-path`/`--pmm-resolution`: where the metrics file goes.
    pub pmm_dir: Option<PathBuf>,
    /// `--optimize-keys-engines`: the engines read in the snapshot
    /// (lower case).
    pub trx_engines: Vec<String>,
    pub outputdir: Option<PathBuf>,
    pub clear: bool,
    pub dirty: bool,
    /// `--merge`.
    pub merge: bool,
    pub filter: Filter,
    pub where_clause: Option<String>,
    pub no_schemas: bool,
    pub no_data: bool,
    pub skip_indexes: bool,
    pub skip_constraints: bool,
    pub no_views: bool,
    pub views_as_tables: bool,
    /// `--table-engine-for-view-dependency`.
    pub view_placeholder_engine: String,
    pub triggers: bool,
    pub events: bool,
    pub routines: bool,
    /// The checksums recorded in the metadata.
    pub checksums: Kinds,
    pub rows: Rows,
    pub chunk_filesize_mb: u64,
    pub statement_size: usize,
    pub compression: Compression,
    pub verb: InsertVerb,
    pub complete_insert: bool,
    pub hex_blob: bool,
    /// The layout of LOAD_DATA/CSV files.
    pub field_format: FieldFormat,
    /// `--include-header`.
    pub include_header: bool,
    pub build_empty_files: bool,
    pub exit_if_broken_table_found: bool,
    /// `--exec`, `--exec-threads`.
    pub exec: Option<String>,
    pub exec_threads: usize,
    /// `--disk-limits`.
    pub disk_limits: Option<crate::disk::DiskLimits>,
    /// `--throttle`.
    pub throttle: Option<common::throttle::Throttle>,
    pub skip_metadata_sorting: bool,
    /// `--max-threads-per-table`.
    pub max_threads_per_table: usize,
    /// `--split-string-pk`.
    pub split_string_pk: bool,
    /// `--rows-hard MIN:MAX`.
    pub rows_hard: Option<(u64, u64)>,
    /// `--split-partitions` or `--partition-regex`: partitions as chunks,
    /// those whose name the regex (if any) matches.
    pub partitions: Option<Option<fancy_regex::Regex>>,
    /// `--replica-data`.
    pub replica_data: bool,
    /// `--source-data` bits.
    pub source_data: u32,
    pub check_row_count: bool,
    pub format: Format,
    pub lock: LockMode,
    /// `--sync-thread-lock-mode=SAFE_NO_LOCK`: no lock, and the dump fails
    /// if the binary log moved while the workers took their snapshots.
    pub safe_no_lock: bool,
    /// `--lock-all-tables`: the lock is LOCK TABLES on the selected tables.
    pub lock_all_tables: bool,
    pub use_savepoints: bool,
    /// Server error codes that skip a job with a warning.
    pub ignore_errors: Vec<u16>,
    pub updated_since: Option<u32>,
    pub long_query_guard: u64,
    pub kill_long_queries: bool,
    pub long_query_retries: u32,
    pub long_query_retry_interval: u64,
    /// `--ftwrl-max-wait-time`/`--ftwrl-timeout-retries`: seconds per try
    /// and tries after the first (0: no end).
    pub ftwrl_wait: Option<(u64, u32)>,
    pub sync_wait: Option<u32>,
    pub lock_wait_timeout: Option<u64>,
    pub tz_utc: bool,
    /// `--compact`: no SQL_MODE line in the headers.
    pub compact: bool,
    /// `--load-data-character-set`.
    pub load_data_charset: String,
    /// `--masquerade-filename`.
    pub masquerade_filename: bool,
    pub set_names_schema: String,
    pub set_names_other: String,
    pub order_by_primary: bool,
    /// `--skip-definer`, `--replace-definer`.
    pub definer: common::definer::Definer,
    pub stream: Option<StreamMode>,
    pub stream_buffer: u64,
    pub no_sync: bool,
    pub daemon: Option<DaemonMode>,
}

/// `-F` under `--stream` unless given: a stream's reader can start on a
/// file only once it is whole, and the last files of a dump are sent only
/// after their rows are all dumped, so pieces of this size keep both ends
/// busy where whole 100 MB chunks would leave one of them waiting.
pub const STREAM_FILE_MB: u64 = 16;

fn parse_rows(s: &str) -> Result<Rows> {
    let bad = || format!("-r/--rows: {s:?} is not N or MIN:START[:MAX]");
    let parts: Vec<&str> = s.split(':').collect();
    let num = |p: &str| -> Result<u64> { p.trim().trim_start_matches('-').parse::<u64>().with_context(bad) };
    match parts.as_slice() {
        [n] => {
            let n = num(n)?;
            Ok(if n == 0 { Rows::Auto } else { Rows::Fixed(n) })
        }
        [min, start] => Ok(Rows::Dynamic { min: num(min)?, start: num(start)?, max: 0 }),
        [min, start, max] => Ok(Rows::Dynamic { min: num(min)?, start: num(start)?, max: num(max)? }),
        _ => bail!(bad()),
    }
}

impl Cli {
    pub fn into_options(mut self) -> Result<Options> {
        let mut filter_args = self.filter.clone();
        let mut stream = self.output.stream.clone();
        // `rdumper DB [DB.TABLE…]` = -B DB -T … plus --stream, as mydumper.
        if let Some((db, tables)) = self.positional.split_first() {
            if filter_args.database.is_some() {
                bail!("a database is given both as an argument ({db}) and with -B");
            }
            filter_args.database = Some(db.clone());
            filter_args.tables_list.extend(tables.iter().cloned());
            stream.get_or_insert_with(|| "TRADITIONAL".into());
        }
        let filter = Filter::from_args(&filter_args)?;

        let format = match (self.statement.format.as_deref(), self.statement.csv, self.statement.load_data) {
            (Some(f), false, false) => match f.to_ascii_uppercase().as_str() {
                "INSERT" | "SQL" => Format::Insert,
                "LOAD_DATA" => Format::LoadData,
                "CSV" => Format::Csv,
                _ => bail!("--format: unknown format {f:?} (INSERT, LOAD_DATA or CSV)"),
            },
            (None, true, false) => Format::Csv,
            (None, false, true) => Format::LoadData,
            (None, false, false) => Format::Insert,
            _ => bail!("--format, --csv and --load-data exclude each other"),
        };
        let field_format = field_format(format, &self.statement)?;
        let verb = match (self.statement.insert_ignore, self.statement.replace) {
            (true, true) => bail!("--insert-ignore and --replace exclude each other"),
            (true, false) => InsertVerb::InsertIgnore,
            (false, true) => InsertVerb::Replace,
            _ => InsertVerb::Insert,
        };
        let mut compression = match &self.output.compress {
            None => Compression::None,
            Some(v) => Compression::from_option(v)
                .with_context(|| format!("-c/--compress: unknown method {v:?} (GZIP or ZSTD)"))?,
        };
        if self.output.exec.is_some() && stream.is_some() {
            bail!("--exec runs on a directory dump's files; with --stream they go to stdout");
        }
        let exec = (self.output.exec_per_thread.as_deref(), self.output.exec_per_thread_extension.as_deref());
        if exec != (None, None) {
            if self.output.compress.is_some() {
                bail!("-c/--compress and --exec-per-thread exclude each other");
            }
            common::compress::set_exec(exec.0, exec.1)?;
            compression = Compression::Exec;
        }
        let trx_tables = match self.lock.trx_tables.as_deref() {
            None => false,
            Some(v) => match v.trim() {
                "0" => false,
                "1" | "" => true,
                other => bail!("--trx-tables: expected 0 or 1, got {other:?}"),
            },
        };
        let mut safe_no_lock = false;
        if let Some(mode) = &self.lock.sync_thread_lock_mode {
            if self.lock.no_locks || self.lock.lock_all_tables {
                bail!("--sync-thread-lock-mode excludes -k/--no-locks and --lock-all-tables");
            }
            match mode.trim().to_ascii_uppercase().as_str() {
                "AUTO" | "FTWRL" => {}
                "LOCK_ALL" => self.lock.lock_all_tables = true,
                "NO_LOCK" => self.lock.no_locks = true,
                "SAFE_NO_LOCK" => {
                    self.lock.no_locks = true;
                    safe_no_lock = true;
                }
                "GTID" => bail!("--sync-thread-lock-mode=GTID needs Percona Server's binlog_snapshot_gtid_executed; SAFE_NO_LOCK takes no lock either and checks the binary log instead"),
                other => bail!("--sync-thread-lock-mode: {other:?} is not AUTO, FTWRL, LOCK_ALL, NO_LOCK, SAFE_NO_LOCK or GTID"),
            }
        }
        if self.lock.no_locks && self.lock.lock_all_tables {
            bail!("-k/--no-locks and --lock-all-tables exclude each other");
        }
        let lock = if self.lock.no_locks {
            LockMode::None
        } else if self.lock.trx_consistency_only || (trx_tables && !self.lock.no_trx_tables) {
            LockMode::TrxOnly
        } else {
            LockMode::Full
        };
        let (set_names_schema, set_names_other) = match &self.statement.set_names {
            None => ("binary".to_string(), "binary".to_string()),
            Some(v) => {
                let mut it = v.splitn(2, ',');
                let a = it.next().unwrap_or("binary").trim().to_string();
                let b = it.next().map(|s| s.trim().to_string()).unwrap_or_else(|| a.clone());
                for n in [&a, &b] {
                    if !common::escape::is_word(n) {
                        bail!("--set-names: {n:?} is not a character set name");
                    }
                }
                (a, b)
            }
        };
        let stream = stream.map(|m| StreamMode::parse(&m, self.output.no_delete)).transpose()?;
        let daemon = match &self.daemon {
            d if !d.daemon => None,
            _ if stream.is_some() => bail!("-D/--daemon writes dump directories; it cannot go with --stream"),
            d if d.snapshot_interval == 0 || d.snapshot_count == 0 => {
                bail!("-D/--daemon needs -I/--snapshot-interval and -X/--snapshot-count of at least 1")
            }
            d => Some(DaemonMode { interval_minutes: d.snapshot_interval, count: d.snapshot_count }),
        };
        if self.statement.statement_size == 0 {
            bail!("-s/--statement-size must be more than 0");
        }
        let stream_buffer = parse_size(&self.output.stream_buffer).context("--stream-buffer")?;
        let mut ignore_errors = common::options::parse_error_codes(self.objects.ignore_errors.as_deref().unwrap_or(""))?;
        if self.objects.success_on_1146 {
            ignore_errors.push(1146);
        }
        Ok(Options {
            threads: self.app.worker_count().max(1),
            dry_run: self.app.dry_run,
            pmm_dir: self.pmm.directory().map_err(anyhow::Error::msg)?,
            trx_engines: self
                .lock
                .optimize_keys_engines
                .as_deref()
                .unwrap_or("InnoDB,ROCKSDB,TokuDB")
                .split(',')
                .map(|e| e.trim().to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
            outputdir: self.output.outputdir,
            clear: self.output.clear,
            dirty: self.output.dirty,
            merge: {
                if self.output.merge && (self.output.clear || stream.is_some()) {
                    bail!("--merge adds to the dump in the output directory: it cannot go with --clear or --stream");
                }
                self.output.merge
            },
            filter,
            where_clause: filter_args.where_clause.filter(|w| !w.trim().is_empty()),
            no_schemas: self.objects.no_schemas,
            skip_indexes: self.objects.skip_indexes,
            skip_constraints: self.objects.skip_constraints,
            no_data: self.objects.no_data,
            view_placeholder_engine: {
                let e = self.objects.table_engine_for_view_dependency.trim().to_string();
                if !common::escape::is_word(&e) {
                    bail!("--table-engine-for-view-dependency: {e:?} is not an engine name");
                }
                e
            },
            views_as_tables: self.objects.views_as_tables,
            no_views: self.objects.no_views,
            triggers: self.objects.triggers,
            events: self.objects.events,
            routines: self.objects.routines,
            checksums: self.checksums.kinds().map_err(anyhow::Error::msg)?,
            rows: match &self.statement.rows {
                Some(r) => parse_rows(r)?,
                None => Rows::Auto,
            },
            chunk_filesize_mb: self.statement.chunk_filesize.unwrap_or(match stream {
                Some(m) if m.send => STREAM_FILE_MB,
                _ => 0,
            }),
            statement_size: self.statement.statement_size,
            compression,
            verb,
            complete_insert: self.statement.complete_insert,
            hex_blob: self.statement.hex_blob,
            build_empty_files: self.output.build_empty_files,
            check_row_count: self.output.check_row_count,
            source_data: self.output.source_data.as_deref().map(parse_source_data).transpose()?.unwrap_or(0),
            replica_data: self.output.replica_data.is_some_and(|n| n > 0),
            max_threads_per_table: self.statement.max_threads_per_table,
            split_string_pk: self.statement.split_string_pk,
            rows_hard: match self.statement.rows_hard.as_deref() {
                None => None,
                Some(v) => match v.split_once(':').map(|(a, b)| (a.trim().parse::<u64>(), b.trim().parse::<u64>())) {
                    Some((Ok(min), Ok(max))) if max == 0 || min <= max => Some((min, max)),
                    _ => bail!("--rows-hard {v:?}: expected MIN:MAX, numbers, MIN at most MAX (MAX 0: no bound)"),
                },
            },
            partitions: match &self.statement.partition_regex {
                Some(r) => Some(Some(
                    fancy_regex::Regex::new(&format!("(?i){r}")).with_context(|| format!("bad --partition-regex {r:?}"))?,
                )),
                None => self.statement.split_partitions.then_some(None),
            },
            skip_metadata_sorting: self.output.skip_metadata_sorting,
            throttle: self.output.throttle.as_deref().map(common::throttle::Throttle::parse).transpose()?,
            disk_limits: self.output.disk_limits.as_deref().map(crate::disk::DiskLimits::parse).transpose()?,
            exec: self.output.exec.clone(),
            exec_threads: self.output.exec_threads,
            exit_if_broken_table_found: self.output.exit_if_broken_table_found,
            format,
            field_format,
            include_header: self.statement.include_header,
            lock,
            safe_no_lock,
            lock_all_tables: self.lock.lock_all_tables,
            use_savepoints: self.lock.use_savepoints,
            ignore_errors,
            updated_since: filter_args.updated_since,
            long_query_guard: self.lock.long_query_guard,
            kill_long_queries: self.lock.kill_long_queries,
            lock_wait_timeout: self.lock.lock_wait_timeout,
            sync_wait: self.lock.sync_wait,
            long_query_retries: self.lock.long_query_retries,
            long_query_retry_interval: self.lock.long_query_retry_interval,
            ftwrl_wait: match (self.lock.ftwrl_max_wait_time, self.lock.ftwrl_timeout_retries) {
                (None, None) => None,
                (wait, retries) => Some((wait.unwrap_or(60).max(1), retries.unwrap_or(0))),
            },
            tz_utc: !self.statement.skip_tz_utc,
            compact: self.statement.compact,
            load_data_charset: match self.statement.load_data_character_set.as_deref().map(str::trim) {
                None => "binary".to_string(),
                Some(cs) if common::escape::is_word(cs) => cs.to_string(),
                Some(cs) => bail!("--load-data-character-set: {cs:?} is not a character set name"),
            },
            masquerade_filename: self.output.masquerade_filename,
            set_names_schema,
            set_names_other,
            order_by_primary: self.statement.order_by_primary,
            definer: common::definer::Definer::from_options(self.statement.skip_definer, self.statement.replace_definer.as_deref())?,
            stream,
            stream_buffer,
            no_sync: self.output.no_sync,
            daemon,
        })
    }
}

/// `--source-data`: a number of bits, or names of them, comma-separated.
fn parse_source_data(v: &str) -> Result<u32> {
    const NAMES: [&str; 6] =
        ["exec_reset_replica", "exec_change_source", "exec_start_replica", "enable_ssl", "use_auto_position", "exec_start_replica_until"];
    if let Ok(n) = v.trim().parse::<u32>() {
        return Ok(n);
    }
    let mut bits = 0;
    for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let bit = NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .with_context(|| format!("--source-data: {name:?} is not one of {}", NAMES.join(", ")))?;
        bits |= 1 << bit;
    }
    Ok(bits)
}

/// `\t`, `\n`, `\r`, `\f` and `\\` in a separator option, as mydumper reads them.
fn unescape_option(v: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut it = v.bytes();
    while let Some(b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match it.next() {
            Some(b't') => out.push(b'\t'),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b'f') => out.push(0x0c),
            Some(other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    out
}

/// The LOAD_DATA/CSV layout: the format's own, with `--fields-*` and
/// `--lines-*` in place of its parts.
fn field_format(format: Format, a: &StatementArgs) -> Result<FieldFormat> {
    let base = match format {
        Format::Csv => FieldFormat::CSV,
        _ => FieldFormat::LOAD_DATA,
    };
    let given = [&a.fields_terminated_by, &a.fields_enclosed_by, &a.fields_escaped_by, &a.lines_starting_by, &a.lines_terminated_by];
    if given.iter().all(|o| o.is_none()) {
        if a.include_header && format == Format::Insert {
            bail!("--include-header is for --format LOAD_DATA or CSV");
        }
        return Ok(base);
    }
    if format == Format::Insert {
        bail!("--fields-* and --lines-* are for --format LOAD_DATA or CSV");
    }
    let one = |name: &str, v: &Option<String>, default: Option<u8>| -> Result<Option<u8>> {
        match v {
            None => Ok(default),
            Some(v) => match unescape_option(v).as_slice() {
                [] => Ok(None),
                [b] => Ok(Some(*b)),
                _ => bail!("--{name} {v:?}: one character"),
            },
        }
    };
    let terminated = one("fields-terminated-by", &a.fields_terminated_by, Some(base.terminated_by))?
        .context("--fields-terminated-by: fields need a separator")?;
    let enclosed = one("fields-enclosed-by", &a.fields_enclosed_by, base.enclosed_by)?;
    let escaped = one("fields-escaped-by", &a.fields_escaped_by, Some(base.escaped_by))?
        .context("--fields-escaped-by: an escape character is needed")?;
    let starting = a.lines_starting_by.as_deref().map(unescape_option).unwrap_or_else(|| base.lines_starting_by.to_vec());
    let terminated_lines = a.lines_terminated_by.as_deref().map(unescape_option).unwrap_or_else(|| base.lines_terminated_by.to_vec());
    FieldFormat::new(terminated, enclosed, escaped, &starting, &terminated_lines).map_err(|e| anyhow::anyhow!("--fields-*/--lines-*: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows() {
        assert_eq!(parse_rows("10000").unwrap(), Rows::Fixed(10000));
        assert_eq!(parse_rows("1000:5000:0").unwrap(), Rows::Dynamic { min: 1000, start: 5000, max: 0 });
        assert!(parse_rows("a:b").is_err());
    }

    /// `--stream` cuts data files at `STREAM_FILE_MB` unless `-F` says
    /// otherwise; `NO_STREAM` (names only) and directory dumps keep whole
    /// chunks.
    #[test]
    fn stream_cuts_files_unless_told() {
        use clap::Parser;
        let mb = |args: &[&str]| {
            let argv: Vec<&str> = ["rdumper", "-B", "db"].iter().chain(args).copied().collect();
            Cli::try_parse_from(argv).unwrap().into_options().unwrap().chunk_filesize_mb
        };
        assert_eq!(mb(&[]), 0);
        assert_eq!(mb(&["--stream"]), STREAM_FILE_MB);
        assert_eq!(mb(&["--stream", "NO_DELETE"]), STREAM_FILE_MB);
        assert_eq!(mb(&["--stream", "-F", "0"]), 0);
        assert_eq!(mb(&["--stream", "-F", "64"]), 64);
        assert_eq!(mb(&["--stream", "NO_STREAM"]), 0);
        assert_eq!(mb(&["-F", "8"]), 8);
    }

    /// mydumper 1.0's `--sync-thread-lock-mode` names the lock options.
    #[test]
    fn sync_thread_lock_modes() {
        use clap::Parser;
        let opts = |args: &[&str]| {
            let argv: Vec<&str> = ["rdumper", "-B", "db", "--sync-thread-lock-mode"].iter().chain(args).copied().collect();
            Cli::try_parse_from(argv).unwrap().into_options()
        };
        let o = opts(&["AUTO"]).unwrap();
        assert_eq!((o.lock, o.lock_all_tables, o.safe_no_lock), (LockMode::Full, false, false));
        assert_eq!(opts(&["ftwrl"]).unwrap().lock, LockMode::Full);
        assert!(opts(&["LOCK_ALL"]).unwrap().lock_all_tables);
        let o = opts(&["NO_LOCK"]).unwrap();
        assert_eq!((o.lock, o.safe_no_lock), (LockMode::None, false));
        let o = opts(&["SAFE_NO_LOCK"]).unwrap();
        assert_eq!((o.lock, o.safe_no_lock), (LockMode::None, true));
        assert!(opts(&["GTID"]).unwrap_err().to_string().contains("SAFE_NO_LOCK"));
        assert!(opts(&["SOMETIMES"]).is_err());
        assert!(opts(&["NO_LOCK", "-k"]).is_err());
    }

    /// mydumper 0.10's lock options: `--less-locking` is `--no-trx-tables`
    /// (the lock is held until the non-transactional tables are dumped);
    /// `--no-backup-locks` changes nothing, as no backup locks are taken.
    #[test]
    fn mydumper_010_lock_options() {
        use clap::Parser;
        let opts = |args: &[&str]| {
            let argv: Vec<&str> = ["rdumper", "-B", "db"].iter().chain(args).copied().collect();
            Cli::try_parse_from(argv).unwrap().into_options().unwrap()
        };
        assert_eq!(opts(&["--trx-tables"]).lock, LockMode::TrxOnly);
        assert_eq!(opts(&["--trx-tables", "--less-locking"]).lock, LockMode::Full);
        assert_eq!(opts(&["--less-locking", "--no-backup-locks"]).lock, opts(&[]).lock);
        // mydumper 1.0's, which describe what rdumper does anyway.
        let o = opts(&["--skip-ddl-locks", "--use-single-column", "--bulk-metadata-prefetch", "--no-check-generated-fields"]);
        assert_eq!((o.lock, o.rows), (opts(&[]).lock, opts(&[]).rows));
        let o = opts(&["--use-savepoints", "-U", "7"]);
        assert!(o.use_savepoints);
        assert_eq!(o.updated_since, Some(7));
        assert!(Cli::try_parse_from(["rdumper", "-U", "soon"]).is_err());
        assert!(opts(&["--lock-all-tables"]).lock_all_tables);
        assert_eq!(opts(&["--success-on-1146"]).ignore_errors, vec![1146]);
        assert_eq!(opts(&["--ignore-errors", "1146, 1356"]).ignore_errors, vec![1146, 1356]);
        assert!(Cli::try_parse_from(["rdumper", "--ignore-errors", "x"]).unwrap().into_options().is_err());
        let both = Cli::try_parse_from(["rdumper", "-k", "--lock-all-tables"]).unwrap().into_options();
        assert!(both.is_err());
        assert_eq!(opts(&["-D", "-I", "5"]).daemon, Some(DaemonMode { interval_minutes: 5, count: 2 }));
        assert_eq!(opts(&[]).daemon, None);
        for bad in [&["-D", "--stream"][..], &["-D", "-X", "0"], &["-D", "-I", "0"]] {
            let argv: Vec<&str> = ["rdumper", "-B", "db"].iter().chain(bad).copied().collect();
            assert!(Cli::try_parse_from(argv).unwrap().into_options().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stream_modes() {
        assert_eq!(StreamMode::parse("no_delete", false).unwrap(), StreamMode { send: true, delete: false });
        assert_eq!(StreamMode::parse("NO_STREAM", false).unwrap(), StreamMode { send: false, delete: true });
        assert_eq!(StreamMode::parse("TRADITIONAL", true).unwrap(), StreamMode { send: true, delete: false });
        assert!(StreamMode::parse("mydb", false).is_err());
    }
}
