//! rloader's command line, spelled as myloader spells it.

use std::path::PathBuf;

use clap::{Args, Parser};
use common::checksum::ChecksumArgs;
use common::options::{AppArgs, ConnectionArgs};

#[derive(Parser, Debug)]
#[command(
    name = "rloader",
    version,
    about = "Parallel, ordered loads of mydumper-format dumps into MySQL/MariaDB",
    disable_help_flag = true,
    disable_version_flag = true
)]
pub struct Cli {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub checksums: ChecksumArgs,
    #[command(flatten)]
    pub pmm: common::pmm::PmmArgs,
    #[command(flatten)]
    pub app: AppArgs,
}

/// What to do with a table that already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropMode {
    /// Stop the load (the default).
    Fail,
    /// DROP TABLE and create it again.
    Drop,
    /// TRUNCATE an existing table and keep it.
    Truncate,
    /// DELETE the rows of an existing table and keep it.
    Delete,
    /// Keep it, create anyway (the error of an existing table is ignored).
    None,
    /// Leave existing tables and their data alone.
    Skip,
}

fn parse_drop_mode(s: &str) -> Result<DropMode, String> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "" | "1" | "DROP" => DropMode::Drop,
        "TRUNCATE" => DropMode::Truncate,
        "DELETE" => DropMode::Delete,
        "NONE" => DropMode::None,
        "SKIP" => DropMode::Skip,
        "FAIL" | "0" => DropMode::Fail,
        _ => return Err("expected DROP, TRUNCATE, DELETE, NONE, SKIP or FAIL".into()),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizeKeys {
    PerTable,
    AllTables,
    Skip,
}

fn parse_optimize_keys(s: &str) -> Result<OptimizeKeys, String> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "" | "AFTER_IMPORT_PER_TABLE" => OptimizeKeys::PerTable,
        "AFTER_IMPORT_ALL_TABLES" => OptimizeKeys::AllTables,
        "SKIP" => OptimizeKeys::Skip,
        _ => return Err("expected AFTER_IMPORT_PER_TABLE, AFTER_IMPORT_ALL_TABLES or SKIP".into()),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumMode {
    Fail,
    Warn,
    Skip,
}

fn parse_checksum(s: &str) -> Result<ChecksumMode, String> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "" | "FAIL" => ChecksumMode::Fail,
        "WARN" => ChecksumMode::Warn,
        "SKIP" => ChecksumMode::Skip,
        _ => return Err("expected FAIL, WARN or SKIP".into()),
    })
}

/// `--stream` modes: whether files are deleted after they are loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    Traditional,
    NoDelete,
    /// Receive into `-d` and keep the files; load nothing (`--dry-run`).
    Unpack,
}

fn parse_stream(s: &str) -> Result<StreamMode, String> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "" | "1" | "TRADITIONAL" => StreamMode::Traditional,
        "2" | "3" | "NO_DELETE" => StreamMode::NoDelete,
        "UNPACK" => StreamMode::Unpack,
        "NO_STREAM" | "NO_STREAM_AND_NO_DELETE" | "4" | "5" | "6" | "7" => {
            return Err(format!("stream mode {s} is not supported by rloader; use TRADITIONAL, NO_DELETE or UNPACK"))
        }
        _ => return Err("expected TRADITIONAL, NO_DELETE or UNPACK".into()),
    })
}

fn parse_stream_buffer(s: &str) -> Result<u64, String> {
    match common::options::parse_size(s) {
        Ok(0) => Err("must be more than 0".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// Directory of the dump to import
    #[arg(short = 'd', long, value_name = "DIR", help_heading = "Application Options")]
    pub directory: Option<PathBuf>,

    /// Database to restore into (all selected databases load into it); it is
    /// created by DB-schema-create.sql when the dump holds one
    #[arg(short = 'B', long, value_name = "DB", help_heading = "Application Options")]
    pub database: Option<String>,

    /// Database in the dump to restore (the others are skipped)
    #[arg(short = 's', long, value_name = "DB", help_heading = "Filter Options")]
    pub source_db: Option<String>,

    /// Regular expression on `db.table` (file-name forms); repeatable
    #[arg(short = 'x', long, value_name = "REGEX", help_heading = "Filter Options")]
    pub regex: Vec<String>,

    /// Tables to load, as db.table (the dump's file-name forms; without a
    /// database, -s's), comma-separated; % and _ are wildcards
    #[arg(short = 'T', long = "tables-list", value_name = "LIST", help_heading = "Filter Options")]
    pub tables_list: Vec<String>,

    /// File of db.table or db lines (file-name forms) not to load
    #[arg(short = 'O', long = "omit-from-file", value_name = "FILE", help_heading = "Filter Options")]
    pub omit_from_file: Option<PathBuf>,

    /// Do not import triggers
    #[arg(long, help_heading = "Filter Options")]
    pub skip_triggers: bool,

    /// Do not import routines and events
    #[arg(long, help_heading = "Filter Options")]
    pub skip_post: bool,

    /// Do not import data
    #[arg(long, help_heading = "Filter Options")]
    pub no_data: bool,

    /// Do not create tables or sequences: their data loads into existing ones
    /// (views, triggers, routines and events are still created)
    #[arg(long, help_heading = "Filter Options")]
    pub skip_create_table: bool,

    /// Do not create databases (the dump's `-schema-create.sql` files, or the
    /// -B target): they must exist
    #[arg(long, help_heading = "Filter Options")]
    pub skip_create_database: bool,

    /// Create tables without their secondary indexes (those an
    /// AUTO_INCREMENT column needs stay)
    #[arg(long, help_heading = "Filter Options")]
    pub skip_indexes: bool,

    /// Create tables without their foreign keys and table CHECK constraints
    #[arg(long, help_heading = "Filter Options")]
    pub skip_constraints: bool,

    /// Commit a data file's transaction once its statements reach this many
    /// MB, even before -q statements
    #[arg(long, value_name = "MB", default_value_t = 1000, help_heading = "Statement Options")]
    pub max_transaction_size: u64,

    /// Before each job, wait while the server's global status VAR is above N,
    /// checking every USEC microseconds (bare: Threads_running=4)
    #[arg(long, value_name = "[USEC:]VAR=N", num_args = 0..=1, default_missing_value = common::throttle::BARE, help_heading = "Execution Options")]
    pub throttle: Option<String>,

    /// Where myloader makes its FIFOs: accepted; rloader sends decompressed
    /// files to the server without FIFOs or temporary copies
    #[arg(long, value_name = "DIR", help_heading = "Execution Options")]
    pub fifodir: Option<std::path::PathBuf>,

    /// Where myloader decompresses LOAD DATA files: accepted; rloader
    /// sends them decompressed as it reads them, with no temporary copy
    #[arg(long, value_name = "DIR", help_heading = "Execution Options")]
    pub load_data_tmp_dir: Option<std::path::PathBuf>,

    /// Accepted as myloader takes it (which does not use it either)
    #[arg(long, value_name = "BYTES", help_heading = "Statement Options")]
    pub max_statement_size: Option<String>,

    /// Sequences in the dump: accepted as myloader takes it (from the
    /// metadata); rloader creates each sequence from its own file
    #[arg(long, value_name = "N", help_heading = "Execution Options")]
    pub num_sequences: Option<u64>,

    /// Files between myloader's reads of a stream's metadata: accepted;
    /// rloader reads each metadata file as it arrives
    #[arg(long, value_name = "N", help_heading = "Execution Options")]
    pub metadata_refresh_interval: Option<u64>,

    /// After the load, make the dump's GTIDs executed the server's own
    /// (MariaDB: gtid_slave_pos; MySQL: gtid_purged)
    #[arg(long, help_heading = "Execution Options")]
    pub set_gtid_purged: bool,

    /// After the load, run the replication statements the dump's metadata
    /// asks for (written by rdumper/mydumper --source-data)
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1", help_heading = "Execution Options")]
    pub source_data: Option<u32>,

    /// Log the warnings of every statement that has some, with its file and
    /// line
    #[arg(long, help_heading = "Execution Options")]
    pub show_warnings: bool,

    /// Create tables with IF NOT EXISTS: an existing table is kept and the
    /// dump's rows are added to it
    #[arg(long, help_heading = "Execution Options")]
    pub append_if_not_exist: bool,

    /// Drop each database (the -B target, or the dump's own) before it is
    /// created, with everything in it
    #[arg(long, help_heading = "Execution Options")]
    pub drop_database: bool,

    /// Do not import databases, tables, views, triggers, routines or events;
    /// data loads into existing tables
    #[arg(long, alias = "no-schema", help_heading = "Filter Options")]
    pub no_schemas: bool,

    /// Drop existing tables before creating them (same as --drop-table=DROP)
    #[arg(short = 'o', long, help_heading = "Execution Options")]
    pub overwrite_tables: bool,

    /// Drop existing tables before creating them (myloader 1.0's name for
    /// dropping while other tables' data loads, which rloader does anyway)
    #[arg(long, help_heading = "Execution Options")]
    pub overwrite_unsafe: bool,

    /// With -o/--overwrite-tables, what to do with an existing table: DROP
    /// (default), TRUNCATE, DELETE or NONE (myloader 0.1x's option)
    #[arg(long, value_name = "MODE", value_parser = parse_drop_mode, help_heading = "Execution Options")]
    pub purge_mode: Option<DropMode>,

    /// What to do with existing tables: DROP (bare), TRUNCATE, DELETE, NONE, SKIP, FAIL (default)
    #[arg(long, value_name = "MODE", num_args = 0..=1, default_missing_value = "DROP", value_parser = parse_drop_mode, help_heading = "Execution Options")]
    pub drop_table: Option<DropMode>,

    /// Enable binary logging of the restore
    #[arg(short = 'e', long, help_heading = "Execution Options")]
    pub enable_binlog: bool,

    /// Server errors (codes, comma-separated) that skip the statement they
    /// hit with a warning instead of failing the load, e.g. 1062 for rows
    /// whose key is taken
    #[arg(long, value_name = "CODES", help_heading = "Execution Options")]
    pub ignore_errors: Option<String>,

    /// Build secondary indexes after the data: AFTER_IMPORT_PER_TABLE (default), AFTER_IMPORT_ALL_TABLES, SKIP
    #[arg(long, visible_alias = "innodb-optimize-keys", value_name = "MODE", num_args = 0..=1, default_value = "AFTER_IMPORT_PER_TABLE", default_missing_value = "AFTER_IMPORT_PER_TABLE", value_parser = parse_optimize_keys, help_heading = "Execution Options")]
    pub optimize_keys: OptimizeKeys,

    /// Read files ending in --exec-per-thread-extension through this program
    /// (e.g. "lz4 -dc"), which gets the file on its standard input
    #[arg(long, value_name = "COMMAND", help_heading = "Threads Options")]
    pub exec_per_thread: Option<String>,

    /// The suffix of the files --exec-per-thread reads (e.g. .lz4)
    #[arg(long, value_name = ".EXT", help_heading = "Threads Options")]
    pub exec_per_thread_extension: Option<String>,

    /// With --optimize-keys, the engines (as SHOW CREATE TABLE names them)
    /// whose tables get their secondary indexes after the data
    #[arg(long, value_name = "LIST", default_value = "InnoDB,ROCKSDB", help_heading = "Execution Options")]
    pub optimize_keys_engines: String,

    /// View, trigger, routine and event files loaded at once
    #[arg(long, value_name = "N", default_value_t = 1, help_heading = "Threads Options")]
    pub max_threads_for_post_actions: usize,

    /// Tables created at once (0: no limit)
    #[arg(long, value_name = "N", default_value_t = 0, help_heading = "Threads Options")]
    pub max_threads_for_schema_creation: usize,

    /// Load tables' data in name order instead of the largest tables first
    #[arg(long, help_heading = "Execution Options")]
    pub skip_table_sorting: bool,

    /// With --optimize-keys, tables whose deferred indexes are built at once
    #[arg(long, value_name = "N", default_value_t = 4, help_heading = "Threads Options")]
    pub max_threads_for_index_creation: usize,

    /// With --optimize-keys, indexes added per ALTER TABLE (0: all in one;
    /// FULLTEXT indexes always one at a time)
    #[arg(long, value_name = "N", default_value_t = 0, help_heading = "Execution Options")]
    pub optimize_keys_batchsize: usize,

    /// Build the indexes once every table is loaded (myloader 0.1x's name for
    /// --optimize-keys=AFTER_IMPORT_ALL_TABLES)
    #[arg(long, help_heading = "Execution Options")]
    pub sync_before_add_index: bool,

    /// Check the checksums the metadata records (data, definitions) after
    /// the load: FAIL (bare), WARN (default), SKIP
    #[arg(long, value_name = "MODE", num_args = 0..=1, default_value = "WARN", default_missing_value = "FAIL", value_parser = parse_checksum, help_heading = "Execution Options")]
    pub checksum: ChecksumMode,

    /// Load a mysqldump or mariadb-dump stream from stdin (INSERTs by
    /// parallel workers)
    #[arg(long, help_heading = "Execution Options")]
    pub mysqldump: bool,

    /// Turn InnoDB's redo log off during the load (MySQL 8.0.21 and later)
    #[arg(long, help_heading = "Execution Options")]
    pub disable_redo_log: bool,

    /// Load only the files an interrupted load of this directory listed in
    /// its `resume` file
    #[arg(long, help_heading = "Execution Options")]
    pub resume: bool,

    /// Stop at once on Ctrl+C or SIGTERM, rolling back the files being
    /// loaded (by default the first signal lets them finish and writes a
    /// `resume` file; a second one stops at once)
    #[arg(short = 'k', long, help_heading = "Execution Options")]
    pub kill_at_once: bool,

    /// Times to retry a transaction after a deadlock or lock wait timeout
    #[arg(long, value_name = "N", default_value_t = 10, help_heading = "Execution Options")]
    pub retry_count: u32,

    /// Read the dump from stdin: TRADITIONAL (bare) deletes loaded files, NO_DELETE keeps them,
    /// UNPACK keeps them in -d and loads nothing
    #[arg(long, value_name = "MODE", num_args = 0..=1, default_missing_value = "TRADITIONAL", value_parser = parse_stream, help_heading = "Execution Options")]
    pub stream: Option<StreamMode>,

    /// Keep the files received in stream mode
    #[arg(long, help_heading = "Execution Options")]
    pub no_delete: bool,

    /// With --stream, most bytes of received files waiting to be loaded
    /// while workers are busy (e.g. 256M); the stream is read on when the
    /// load needs more of it to go on
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_stream_buffer, help_heading = "Execution Options")]
    pub stream_buffer: u64,

    /// Data files at most loading at once per table
    #[arg(long, value_name = "N", default_value_t = 4, help_heading = "Threads Options")]
    pub max_threads_per_table: usize,

    /// Number of statements per transaction in data files
    #[arg(short = 'q', long, value_name = "N", default_value_t = 1000, help_heading = "Statement Options")]
    pub queries_per_transaction: u64,

    /// Character set of the sessions
    #[arg(long, value_name = "CHARSET", default_value = "binary", help_heading = "Statement Options")]
    pub set_names: String,

    /// Remove DEFINER from CREATE statements
    #[arg(long, help_heading = "Statement Options")]
    pub skip_definer: bool,
    /// Make this account (user@host) the DEFINER in CREATE statements
    #[arg(long, value_name = "USER@HOST", help_heading = "Statement Options")]
    pub replace_definer: Option<String>,

    /// Header SET variables of the files not to execute (comma separated)
    #[arg(long, value_name = "VARS", help_heading = "Statement Options")]
    pub ignore_set: Option<String>,

    /// Send the data files' INSERT statements as written. Otherwise a large
    /// multi-row INSERT goes as LOAD DATA LOCAL (less for the server to
    /// parse) when that stores the same values; where it does not, the
    /// file's INSERTs go as written
    #[arg(long, help_heading = "Statement Options")]
    pub plain_inserts: bool,

    /// Allow LOAD DATA LOCAL INFILE (dump files are always served from the dump only)
    #[arg(long, help_heading = "Load from metadata Options")]
    pub local_infile: bool,
}

impl LoadArgs {
    pub fn drop_mode(&self) -> DropMode {
        match (self.drop_table, self.overwrite_tables) {
            (Some(m), _) => m,
            (None, true) => self.purge_mode.unwrap_or(DropMode::Drop),
            (None, false) if self.overwrite_unsafe => DropMode::Drop,
            (None, false) => DropMode::Fail,
        }
    }

    /// `--optimize-keys`, where `--sync-before-add-index` turns
    /// AFTER_IMPORT_PER_TABLE into AFTER_IMPORT_ALL_TABLES.
    pub fn optimize_keys_mode(&self) -> OptimizeKeys {
        match self.optimize_keys {
            OptimizeKeys::PerTable if self.sync_before_add_index => OptimizeKeys::AllTables,
            mode => mode,
        }
    }

    pub fn delete_streamed(&self) -> bool {
        !self.no_delete && self.stream == Some(StreamMode::Traditional)
    }

    pub fn ignored_sets(&self) -> Vec<String> {
        self.ignore_set
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: &[&str]) -> LoadArgs {
        let argv: Vec<&str> = ["rloader", "-d", "dump"].iter().chain(args).copied().collect();
        Cli::try_parse_from(argv).unwrap().load
    }

    /// The names older myloaders gave the same settings.
    #[test]
    fn older_myloader_options() {
        assert_eq!(load(&[]).drop_mode(), DropMode::Fail);
        // myloader's, for what rloader does without them.
        assert_eq!(load(&["--fifodir", "/tmp", "--load-data-tmp-dir", "/tmp", "--max-statement-size", "1000000"]).drop_mode(), DropMode::Fail);
        assert_eq!(load(&["-o"]).drop_mode(), DropMode::Drop);
        assert_eq!(load(&["-o", "--purge-mode", "truncate"]).drop_mode(), DropMode::Truncate);
        assert_eq!(load(&["--purge-mode", "DELETE"]).drop_mode(), DropMode::Fail, "only with -o");
        assert_eq!(load(&["--drop-table", "NONE", "-o", "--purge-mode", "DELETE"]).drop_mode(), DropMode::None);
        assert_eq!(load(&["--innodb-optimize-keys"]).optimize_keys_mode(), OptimizeKeys::PerTable);
        assert_eq!(load(&["--overwrite-unsafe"]).drop_mode(), DropMode::Drop);
        assert_eq!(load(&["--overwrite-unsafe", "--drop-table", "TRUNCATE"]).drop_mode(), DropMode::Truncate);
        assert_eq!(load(&[]).drop_mode(), DropMode::Fail);
        assert_eq!(load(&["--sync-before-add-index"]).optimize_keys_mode(), OptimizeKeys::AllTables);
        assert_eq!(load(&["--optimize-keys", "SKIP", "--sync-before-add-index"]).optimize_keys_mode(), OptimizeKeys::Skip);
        assert!(Cli::try_parse_from(["rloader", "-d", "x", "--purge-mode", "MERGE"]).is_err());
    }
}
