//! Executing dump files on one connection: sessions, statements,
//! transactions with retries, LOAD DATA served from the dump, and the
//! handling of existing tables.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::conn::{error_code, server_message};
use common::naming::{DataExt, DumpFile};
use mysql::prelude::Queryable;
use mysql::Conn;

use crate::as_data::{self, ColumnKind, Columns};
use crate::backlog::Backlog;
use crate::cli::DropMode;
use crate::ddl;
use crate::files::Registry;
use crate::infile;
use crate::split;
use crate::sqltext;
use crate::statement::{Statement, StatementReader};

/// MySQL error codes worth retrying a transaction for.
pub const ER_LOCK_DEADLOCK: u16 = 1213;
pub const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
const ER_TABLE_EXISTS: u16 = 1050;

/// Settings every worker shares for the whole run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub drop_mode: DropMode,
    pub retry_count: u32,
    pub queries_per_transaction: u64,
    /// `--skip-definer`, `--replace-definer`.
    pub definer: common::definer::Definer,
    pub ignore_sets: Vec<String>,
    /// Delete each file once it is loaded (stream mode).
    pub delete_loaded: bool,
    pub set_names: String,
    pub enable_binlog: bool,
    /// SQL_MODE of the sessions until the dump sets its own.
    pub sql_mode: String,
    /// Send large INSERTs of data files as LOAD DATA where that stores
    /// the same rows (see `as_data`).
    pub inserts_as_data: bool,
    /// `--ignore-errors`: server error codes that skip a statement.
    pub ignore_errors: Vec<u16>,
    /// `--drop-database`: DROP DATABASE before creating one.
    pub drop_database: bool,
    /// `--max-transaction-size`: a data file's transaction commits once its
    /// statements reach this many bytes.
    pub max_transaction_bytes: u64,
    /// `--optimize-keys-engines`: engines whose tables get their indexes
    /// after the data.
    pub optimize_keys_engines: Vec<String>,
    /// `--throttle`.
    pub throttle: Option<common::throttle::Throttle>,
    /// `--show-warnings`: log the warnings of the statements.
    pub show_warnings: bool,
    /// `--append-if-not-exist`: CREATE TABLE IF NOT EXISTS.
    pub append_if_not_exist: bool,
    /// `--skip-indexes`: tables without their secondary indexes.
    pub skip_indexes: bool,
    /// `--skip-constraints`: tables without foreign keys and CHECKs.
    pub skip_constraints: bool,
    /// The connections are plain sockets: LOAD DATA LOCAL files are sent
    /// on them directly.
    pub raw_wire: bool,
}

/// State shared by the scheduler and the workers.
pub struct Shared {
    pub settings: Settings,
    pub registry: Registry,
    /// Received stream files not loaded yet.
    pub backlog: Backlog,
    pub abort: AtomicBool,
    pub rows: AtomicU64,
    pub bytes: AtomicU64,
    /// INSERTs that went as LOAD DATA.
    pub inserts_as_data: AtomicU64,
}

/// Session statements for the workers' connections (option files and the
/// dump's metadata); `version` changes when they do.
#[derive(Debug, Default)]
pub struct SessionVars {
    pub version: u64,
    pub statements: Vec<String>,
}

/// Why a file did not load.
#[derive(Debug)]
pub struct LoadError {
    pub file: Option<String>,
    pub line: Option<u64>,
    pub message: String,
    /// The load was stopped because another job failed.
    pub aborted: bool,
}

impl LoadError {
    pub fn new(message: impl Into<String>) -> Self {
        LoadError { file: None, line: None, message: message.into(), aborted: false }
    }

    fn in_file(path: &Path, line: Option<u64>, message: impl Into<String>) -> Self {
        LoadError { file: Some(display_name(path)), line, message: message.into(), aborted: false }
    }

    fn aborted() -> Self {
        LoadError { file: None, line: None, message: "stopped".into(), aborted: true }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}, line {line}: {}", self.message),
            (Some(file), None) => write!(f, "{file}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for LoadError {}

pub fn display_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// What a file is executed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// `-schema-create.sql`.
    Database,
    /// `-schema.sql` / `-schema-sequence.sql`: existing-table handling
    /// applies; with `defer_keys`, secondary indexes and foreign keys are
    /// taken out to be added after the data.
    Table { defer_keys: bool },
    /// A data file: transactions, retries from the last commit.
    Data,
    /// Views, triggers, routines, events.
    Post,
}

/// What executing a file found out.
#[derive(Debug, Default)]
pub struct FileOutcome {
    /// The database a `CREATE DATABASE` created.
    pub database: Option<String>,
    /// The table a `CREATE TABLE` created (or found).
    pub table: Option<String>,
    /// Indexes and foreign keys to add after the data.
    pub deferred: Option<ddl::DeferredKeys>,
    /// The table existed and is to be left alone with its data (SKIP).
    pub skip_data: bool,
}

/// One worker's connection and what it has set on it.
pub struct Session {
    conn: Conn,
    shared: Arc<Shared>,
    current_db: Option<String>,
    session_version: u64,
    /// Payload bytes of a LOAD DATA LOCAL file's packets, once asked.
    infile_packet: Option<usize>,
    /// `.dat` files served while loading the current file.
    served: Vec<PathBuf>,
    /// Rows stored, and INSERTs sent as LOAD DATA, since the last commit:
    /// counted once committed, dropped with a rollback, so that a file
    /// loaded again is not counted twice.
    pending_rows: u64,
    pending_as_data: u64,
    /// The rows of the INSERT being sent as LOAD DATA.
    rows_text: Vec<u8>,
    scratch: Vec<u8>,
}

enum Step {
    Ok,
    Failed(mysql::Error),
    /// A LOAD DATA sent for an INSERT did not store what the INSERT would
    /// have (why, in words).
    Diverged(String),
}

/// What a data file's session allows for INSERTs sent as LOAD DATA, found
/// out at its first large INSERT; forgotten when another statement (a SET)
/// may have changed it.
#[derive(Default)]
struct AsData {
    /// `None` until asked; `Some(None)` when the session rules it out,
    /// else the character set of the session's strings.
    charset: Option<Option<String>>,
    /// Columns by table as the INSERTs write it (`None`: unknown table).
    tables: std::collections::HashMap<String, Option<Columns>>,
}

impl Session {
    /// Prepares a fresh connection: timeouts, checks, binary log, names.
    pub fn new(conn: Conn, shared: Arc<Shared>) -> Result<Session, LoadError> {
        let mut s = Session {
            conn,
            shared,
            current_db: None,
            session_version: u64::MAX,
            infile_packet: None,
            served: Vec::new(),
            pending_rows: 0,
            pending_as_data: 0,
            rows_text: Vec::new(),
            scratch: Vec::new(),
        };
        let mut setup = vec![
            "SET SESSION WAIT_TIMEOUT = 2147483".to_string(),
            "SET SESSION NET_WRITE_TIMEOUT = 2147483".to_string(),
            "SET SESSION FOREIGN_KEY_CHECKS = 0".to_string(),
            "SET SESSION AUTOCOMMIT = 1".to_string(),
        ];
        // UNIQUE_CHECKS stays on. Turned off, InnoDB may skip duplicate
        // checks on secondary unique indexes (change buffering), so an edited
        // dump or one loaded into a table with other keys or collations could
        // leave silent duplicates; and on MariaDB 10.6+ it switches inserts
        // into an empty table to the buffered bulk path, which measured over
        // twice the server CPU of plain inserts for a 100k-row sysbench file
        // (10.11). Neither trade is worth it.
        setup.push(format!("SET SESSION SQL_MODE = {}", ddl::quote_str(&s.shared.settings.sql_mode)));
        setup.push(format!("SET NAMES {}", s.shared.settings.set_names));
        for q in setup {
            s.conn.query_drop(&q).map_err(|e| LoadError::new(format!("session setup `{q}`: {}", server_message(&e))))?;
        }
        if !s.shared.settings.enable_binlog {
            if let Err(e) = s.conn.query_drop("SET SQL_LOG_BIN = 0") {
                log::warn!("cannot turn off binary logging for the load ({}); the restore will be binlogged", server_message(&e));
            }
        }
        Ok(s)
    }

    /// Applies the session variables of the option files and the dump.
    pub fn apply_vars(&mut self, vars: &SessionVars) -> Result<(), LoadError> {
        if self.session_version == vars.version {
            return Ok(());
        }
        for q in &vars.statements {
            self.conn
                .query_drop(q)
                .map_err(|e| LoadError::new(format!("session variable `{q}`: {}", server_message(&e))))?;
        }
        self.session_version = vars.version;
        Ok(())
    }

    pub fn use_db(&mut self, db: &str) -> Result<(), LoadError> {
        if self.current_db.as_deref() == Some(db) {
            return Ok(());
        }
        let q = format!("USE {}", ddl::quote_ident(db));
        self.conn.query_drop(&q).map_err(|e| LoadError::new(format!("USE `{db}`: {}", server_message(&e))))?;
        self.current_db = Some(db.to_string());
        Ok(())
    }

    /// Runs statements that rloader generated (deferred keys), retrying
    /// lock conflicts.
    pub fn run_generated(&mut self, what: &str, statements: &[String]) -> Result<(), LoadError> {
        for q in statements {
            log::info!("{what}: {q}");
            let mut attempt = 0;
            loop {
                match self.conn.query_drop(q) {
                    Ok(()) => break,
                    Err(e) if retryable(&e) && attempt < self.shared.settings.retry_count => {
                        attempt += 1;
                        log::warn!("{what}: {}; retrying ({attempt}/{})", server_message(&e), self.shared.settings.retry_count);
                        std::thread::sleep(backoff(attempt));
                    }
                    Err(e) => return Err(LoadError::new(format!("{what}: `{q}`: {}", server_message(&e)))),
                }
            }
        }
        Ok(())
    }

    /// `--throttle`: waits while the server is as busy as it says.
    pub fn throttle(&mut self) -> Result<(), LoadError> {
        let Some(t) = &self.shared.settings.throttle else { return Ok(()) };
        let abort = &self.shared.abort;
        t.wait(&mut self.conn, &|| abort.load(Ordering::Relaxed)).map_err(|e| LoadError::new(e.to_string()))
    }

    /// `--drop-database`: the database goes, with everything in it.
    pub fn drop_database_if_asked(&mut self, db: &str) -> Result<(), LoadError> {
        if !self.shared.settings.drop_database {
            return Ok(());
        }
        log::info!("dropping database `{db}` (--drop-database)");
        self.run_generated(&format!("database `{db}`"), &[format!("DROP DATABASE IF EXISTS {}", ddl::quote_ident(db))])
    }

    /// Executes a dump file.
    pub fn run_file(&mut self, path: &Path, role: FileRole) -> Result<FileOutcome, LoadError> {
        self.served.clear();
        let out = match role {
            FileRole::Data => self.run_data(path).map(|_| FileOutcome::default()),
            _ => self.run_ddl(path, role),
        }?;
        if self.shared.settings.delete_loaded {
            for p in self.served.drain(..).chain(std::iter::once(path.to_path_buf())) {
                self.shared.backlog.discard(&p);
                self.shared.registry.forget(&p);
            }
        }
        Ok(out)
    }

    fn open(&self, path: &Path) -> Result<StatementReader<Box<dyn io::BufRead + Send>>, LoadError> {
        let r = common::compress::open(path).map_err(|e| LoadError::in_file(path, None, format!("cannot open: {e}")))?;
        Ok(StatementReader::new(r))
    }

    fn next(&self, path: &Path, r: &mut StatementReader<Box<dyn io::BufRead + Send>>) -> Result<Option<Statement>, LoadError> {
        if self.shared.abort.load(Ordering::Relaxed) {
            return Err(LoadError::aborted());
        }
        r.next_statement().map_err(|e| LoadError::in_file(path, None, format!("cannot read: {e}")))
    }

    /// The text to send for a statement, or `None` to skip it.
    fn prepare<'a>(&self, path: &Path, st: &'a Statement, role: FileRole) -> Result<Option<Cow<'a, str>>, LoadError> {
        let text = sqltext::to_query(&st.text).map_err(|e| LoadError::in_file(path, Some(st.line), e.to_string()))?;
        let settings = &self.shared.settings;
        if !settings.ignore_sets.is_empty() {
            if let Some(var) = ddl::hint_set_variable(&text) {
                if settings.ignore_sets.contains(&var) {
                    return Ok(None);
                }
            }
        }
        if let Some(s) = ddl::load_data_binary(&text) {
            return Ok(Some(Cow::Owned(s)));
        }
        if role != FileRole::Data {
            if let Some(s) = ddl::set_definer(&text, &settings.definer) {
                return Ok(Some(Cow::Owned(s)));
            }
        }
        Ok(Some(text))
    }

    /// Sends one statement, serving a LOAD DATA's file from the dump.
    fn execute(&mut self, path: &Path, sql: &str, line: u64) -> Result<Step, LoadError> {
        let r = match ddl::load_data_file(sql) {
            Some(name) => {
                let dat = self.prepare_infile(path, &name, line)?;
                let (r, err) = self.query_infile(sql, name.as_bytes(), "the data file", &mut |out| {
                    serve_file(&dat, out).map_err(|e| format!("cannot read {}: {e}", display_name(&dat)))
                });
                if let Some(err) = err {
                    return Err(LoadError::in_file(path, Some(line), err));
                }
                r.map(|done| (done.affected_rows, done.warnings))
            }
            None => self.conn.query_drop(sql).map(|()| (self.conn.affected_rows(), self.conn.warnings())),
        };
        match r {
            Ok((rows, warnings)) => {
                if warnings > 0 && self.shared.settings.show_warnings {
                    self.show_warnings(path, line);
                }
                self.pending_rows += rows;
                self.shared.bytes.fetch_add(sql.len() as u64, Ordering::Relaxed);
                Ok(Step::Ok)
            }
            Err(e) => Ok(Step::Failed(e)),
        }
    }

    /// `--show-warnings`: the warnings of the statement just run, logged
    /// with its file and line.
    fn show_warnings(&mut self, path: &Path, line: u64) {
        let file = display_name(path);
        match self.conn.query::<(String, u32, String), _>("SHOW WARNINGS") {
            Ok(warnings) => {
                for (level, code, message) in warnings {
                    log::warn!("{file}:{line}: {level} {code}: {message}");
                }
            }
            Err(e) => log::warn!("{file}:{line}: cannot read the statement's warnings: {}", server_message(&e)),
        }
    }

    /// The data file `name` beside `path` that a LOAD DATA reads, once it
    /// has arrived.
    fn prepare_infile(&mut self, path: &Path, name: &str, line: u64) -> Result<PathBuf, LoadError> {
        check_infile_name(name).map_err(|msg| LoadError::in_file(path, Some(line), msg))?;
        let dat: PathBuf = path.parent().unwrap_or(Path::new(".")).join(name);
        let arrived = {
            let _waiting = self.shared.backlog.waiting();
            self.shared.registry.wait_for(&dat)
        };
        if !arrived {
            if self.shared.abort.load(Ordering::Relaxed) {
                return Err(LoadError::aborted());
            }
            return Err(LoadError::in_file(path, Some(line), format!("LOAD DATA names {name:?}, which is not in the dump")));
        }
        if !self.served.contains(&dat) {
            self.served.push(dat.clone());
        }
        Ok(dat)
    }

    /// Runs `sql`, a LOAD DATA LOCAL, with `serve` writing the file if the
    /// server asks for `expected` (`what` names it in the error otherwise).
    /// Returns the statement's outcome and, beside it, the error serving
    /// the file met: the server then got the bytes served so far.
    fn query_infile(
        &mut self,
        sql: &str,
        expected: &[u8],
        what: &str,
        serve: &mut (dyn FnMut(&mut dyn Write) -> Result<(), String> + Send),
    ) -> (Result<infile::Done, mysql::Error>, Option<String>) {
        let packet = match self.infile_packet {
            Some(p) => p,
            None => {
                let max: Option<u64> = self.conn.query_first("SELECT @@max_allowed_packet").ok().flatten();
                let p = infile::packet_size(max.unwrap_or(0));
                self.infile_packet = Some(p);
                p
            }
        };
        infile::load_data_local(&mut self.conn, self.shared.settings.raw_wire, sql, packet, &mut |requested, out| {
            if requested != expected {
                return Err(format!("the server asked for {:?} instead of {what}", String::from_utf8_lossy(requested)));
            }
            serve(out)
        })
    }

    fn fail(&self, path: &Path, line: u64, e: &mysql::Error) -> LoadError {
        LoadError::in_file(path, Some(line), server_message(e))
    }

    /// Schema, view, trigger and routine files: statements one by one,
    /// each retried on lock conflicts.
    fn run_ddl(&mut self, path: &Path, role: FileRole) -> Result<FileOutcome, LoadError> {
        let mut r = self.open(path)?;
        let mut out = FileOutcome::default();
        while let Some(st) = self.next(path, &mut r)? {
            let Some(mut sql) = self.prepare(path, &st, role)? else { continue };
            if role == FileRole::Database {
                if let Some(db) = ddl::created_database(&sql) {
                    self.drop_database_if_asked(&db).map_err(|mut e| {
                        e.file = Some(display_name(path));
                        e
                    })?;
                    out.database = Some(db);
                }
            }
            let mut tolerate_exists = false;
            if let FileRole::Table { defer_keys } = role {
                if self.shared.settings.append_if_not_exist {
                    if let Some(s) = ddl::add_if_not_exists(&sql) {
                        sql = Cow::Owned(s);
                    }
                }
                if let Some((table, if_not_exists)) = ddl::created_table(&sql) {
                    out.table = Some(table.clone());
                    match self.existing_table(path, st.line, &table, if_not_exists)? {
                        Existing::Create => {}
                        Existing::Keep => continue,
                        Existing::KeepNoData => {
                            out.skip_data = true;
                            continue;
                        }
                        Existing::CreateTolerant => tolerate_exists = true,
                    }
                    let settings = &self.shared.settings;
                    if settings.skip_indexes || settings.skip_constraints {
                        if let Some(s) = ddl::strip_keys(&sql, settings.skip_indexes, settings.skip_constraints) {
                            sql = Cow::Owned(s);
                        }
                    }
                    if defer_keys {
                        if let Some(d) = ddl::defer_keys(&sql, &self.shared.settings.optimize_keys_engines) {
                            sql = Cow::Owned(d.create.clone());
                            out.deferred = Some(d);
                        }
                    }
                }
            }
            let mut attempt = 0;
            loop {
                match self.execute(path, &sql, st.line)? {
                    Step::Ok => break,
                    Step::Failed(e) if tolerate_exists && error_code(&e) == Some(ER_TABLE_EXISTS) => {
                        out.deferred = None;
                        break;
                    }
                    Step::Failed(e) if retryable(&e) && attempt < self.shared.settings.retry_count => {
                        attempt += 1;
                        log::warn!(
                            "{}, line {}: {}; retrying ({attempt}/{})",
                            display_name(path),
                            st.line,
                            server_message(&e),
                            self.shared.settings.retry_count
                        );
                        std::thread::sleep(backoff(attempt));
                    }
                    Step::Diverged(why) => return Err(LoadError::in_file(path, Some(st.line), why)),
                    Step::Failed(e) if self.ignored(path, st.line, &e) => break,
                    Step::Failed(e) => {
                        let mut err = self.fail(path, st.line, &e);
                        if error_code(&e) == Some(ER_TABLE_EXISTS) {
                            err.message.push_str(" (use -o/--drop-table to replace existing tables)");
                        }
                        return Err(err);
                    }
                }
            }
        }
        // Each statement committed on its own.
        self.settle_rows();
        Ok(out)
    }

    fn existing_table(&mut self, path: &Path, line: u64, table: &str, if_not_exists: bool) -> Result<Existing, LoadError> {
        let t = ddl::quote_ident(table);
        let mode = self.shared.settings.drop_mode;
        match mode {
            DropMode::Fail if !if_not_exists => Ok(Existing::Create),
            DropMode::None if !if_not_exists => Ok(Existing::CreateTolerant),
            DropMode::Drop => {
                for q in [format!("DROP TABLE IF EXISTS {t}"), format!("DROP VIEW IF EXISTS {t}")] {
                    self.conn.query_drop(&q).map_err(|e| self.fail(path, line, &e))?;
                }
                Ok(Existing::Create)
            }
            // An existing table that the statement would leave as it is
            // keeps its indexes too: nothing is deferred for it.
            DropMode::Fail | DropMode::None | DropMode::Truncate | DropMode::Delete | DropMode::Skip => {
                let db = self.current_db.clone().unwrap_or_default();
                let q = format!(
                    "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {}",
                    ddl::quote_str(&db),
                    ddl::quote_str(table)
                );
                let kind: Option<String> = self.conn.query_first(&q).map_err(|e| self.fail(path, line, &e))?;
                match kind.as_deref() {
                    None => Ok(Existing::Create),
                    Some(_) if if_not_exists => Ok(Existing::Keep),
                    Some(_) if mode == DropMode::Skip => Ok(Existing::KeepNoData),
                    Some(_) => {
                        let q = if mode == DropMode::Truncate { format!("TRUNCATE TABLE {t}") } else { format!("DELETE FROM {t}") };
                        self.conn.query_drop(&q).map_err(|e| self.fail(path, line, &e))?;
                        Ok(Existing::Keep)
                    }
                }
            }
        }
    }

    /// A data file: statements in transactions of `-q` statements. A
    /// deadlock or lock wait timeout rolls back and re-reads the file from
    /// the last commit; so does a LOAD DATA sent for an INSERT that did not
    /// store the same, and the file's INSERTs then go as written.
    fn run_data(&mut self, path: &Path) -> Result<(), LoadError> {
        let per_tx = self.shared.settings.queries_per_transaction;
        let transactional = per_tx > 1;
        // Only inside a transaction can a diverging LOAD DATA be undone.
        let mut as_data = (transactional && self.shared.settings.inserts_as_data).then(AsData::default);
        let mut committed: u64 = 0;
        let mut attempt = 0;
        'attempt: loop {
            let mut r = self.open(path)?;
            let mut index: u64 = 0;
            let mut in_tx: u64 = 0;
            let mut in_tx_bytes: u64 = 0;
            if transactional {
                self.conn.query_drop("START TRANSACTION").map_err(|e| LoadError::in_file(path, None, server_message(&e)))?;
            }
            while let Some(st) = self.next(path, &mut r).inspect_err(|_| self.rollback(transactional))? {
                index += 1;
                if index <= committed {
                    continue;
                }
                let Some(sql) = self.prepare(path, &st, FileRole::Data).inspect_err(|_| self.rollback(transactional))? else {
                    continue;
                };
                let rows = match as_data.as_mut() {
                    Some(a) => self.as_load_data(a, &sql),
                    None => None,
                };
                // Inside a transaction a large INSERT goes as smaller ones
                // (see `split`); a failed piece rolls back like the whole.
                // Not with --ignore-errors: a statement it skips must store
                // none of its rows, as the server's own failure leaves it.
                let split = transactional && rows.is_none() && self.shared.settings.ignore_errors.is_empty();
                let pieces = if split { split::split_insert(&sql, split::PIECE_BYTES) } else { None };
                let step = match (&rows, &pieces) {
                    (Some((load, n)), _) => self.execute_rows(load, *n, sql.len()),
                    (None, None) => self.execute(path, &sql, st.line),
                    (None, Some(pieces)) => pieces.iter().try_fold(Step::Ok, |step, piece| match step {
                        Step::Ok => self.execute(path, piece, st.line),
                        failed => Ok(failed),
                    }),
                };
                match step.inspect_err(|_| self.rollback(transactional))? {
                    Step::Ok => {}
                    Step::Diverged(why) => {
                        self.rollback(transactional);
                        log::debug!("{}, line {}: {why}; loading its INSERTs as written", display_name(path), st.line);
                        as_data = None;
                        continue 'attempt;
                    }
                    // The server undid the statement; the transaction goes on.
                    Step::Failed(e) if self.ignored(path, st.line, &e) => {}
                    Step::Failed(e) => {
                        self.rollback(transactional);
                        if retryable(&e) && attempt < self.shared.settings.retry_count {
                            attempt += 1;
                            log::warn!(
                                "{}, line {}: {}; retrying the transaction ({attempt}/{})",
                                display_name(path),
                                st.line,
                                server_message(&e),
                                self.shared.settings.retry_count
                            );
                            std::thread::sleep(backoff(attempt));
                            if !transactional {
                                committed = index - 1;
                            }
                            continue 'attempt;
                        }
                        return Err(self.fail(path, st.line, &e));
                    }
                }
                if transactional {
                    in_tx += 1;
                    in_tx_bytes += sql.len() as u64;
                    if in_tx >= per_tx || in_tx_bytes >= self.shared.settings.max_transaction_bytes {
                        self.commit(path, st.line)?;
                        committed = index;
                        in_tx = 0;
                        in_tx_bytes = 0;
                        self.conn.query_drop("START TRANSACTION").map_err(|e| self.fail(path, st.line, &e))?;
                    }
                } else {
                    committed = index;
                    self.settle_rows();
                }
            }
            if transactional {
                self.commit(path, 0)?;
            }
            return Ok(());
        }
    }

    /// The LOAD DATA statement and row count for `sql`, an INSERT of a data
    /// file, with its rows in `rows_text`; `None` to send it as written.
    fn as_load_data(&mut self, a: &mut AsData, sql: &str) -> Option<(String, u64)> {
        let Some(head) = as_data::parse_head(sql) else {
            // A SET or anything else may change what the session allows.
            if !sql.trim_start().get(..6).is_some_and(|w| w.eq_ignore_ascii_case("INSERT")) {
                a.charset = None;
            }
            return None;
        };
        if sql.len() < as_data::MIN_BYTES {
            return None;
        }
        if a.charset.is_none() {
            a.charset = Some(self.as_data_charset());
        }
        let charset = a.charset.clone().flatten()?;
        if !a.tables.contains_key(head.table) {
            let columns = self.columns(&head);
            a.tables.insert(head.table.to_string(), columns);
        }
        let columns = a.tables.get(head.table)?.as_ref()?;
        let (names, kinds): (Vec<String>, Vec<ColumnKind>) = match &head.columns {
            None => (columns.names.iter().map(|n| ddl::quote_ident(n)).collect(), columns.kinds.clone()),
            Some(list) => {
                let mut kinds = Vec::with_capacity(list.len());
                for ident in list {
                    let name = as_data::unquote(ident);
                    let at = columns.names.iter().position(|n| n.eq_ignore_ascii_case(&name))?;
                    kinds.push(columns.kinds[at]);
                }
                (list.iter().map(|s| s.to_string()).collect(), kinds)
            }
        };
        let session = as_data::Session { binary: charset.eq_ignore_ascii_case("binary") };
        self.rows_text.clear();
        let rows = as_data::rows_into(sql, head.rows_at, &kinds, session, &mut self.rows_text, &mut self.scratch)?;
        Some((as_data::statement(head.table, &charset, &names), rows))
    }

    /// The character set in which the session reads strings, or `None` if
    /// it reads them in a way LOAD DATA would not (different client and
    /// connection character sets, NO_BACKSLASH_ESCAPES, ANSI_QUOTES) or
    /// the server refuses LOAD DATA LOCAL.
    fn as_data_charset(&mut self) -> Option<String> {
        let q = "SELECT @@character_set_client, @@character_set_connection, @@sql_mode, @@local_infile";
        let (client, connection, mode, local): (String, String, String, i64) = self.conn.query_first(q).ok()??;
        let mode = mode.to_ascii_uppercase();
        let ok = client.eq_ignore_ascii_case(&connection)
            && local == 1
            && !mode.contains("NO_BACKSLASH_ESCAPES")
            && !mode.contains("ANSI_QUOTES")
            && client.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
        ok.then_some(client)
    }

    /// The columns `SELECT *` gives for the INSERT's table, if it is an
    /// InnoDB one: a rollback must undo a LOAD DATA that is to be redone
    /// as INSERTs, and in a MyISAM or Aria table it would stay.
    fn columns(&mut self, head: &as_data::Head<'_>) -> Option<Columns> {
        let schema = match head.schema {
            Some(s) => ddl::quote_str(&as_data::unquote(s)),
            None => "DATABASE()".to_string(),
        };
        let q = format!(
            "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = {schema} AND TABLE_NAME = {}",
            ddl::quote_str(&as_data::unquote(head.name))
        );
        let engine: Option<String> = self.conn.query_first(q).ok()??;
        if !engine.is_some_and(|e| e.eq_ignore_ascii_case("InnoDB")) {
            return None;
        }
        let result = self.conn.query_iter(format!("SELECT * FROM {} LIMIT 0", head.table)).ok()?;
        let cols = result.columns();
        let cols = cols.as_ref();
        let names = cols.iter().map(|c| c.name_str().into_owned()).collect();
        let kinds = cols.iter().map(|c| ColumnKind::of(c.column_type(), c.flags())).collect();
        drop(result);
        Some(Columns { names, kinds })
    }

    /// Sends a LOAD DATA made from an INSERT of `bytes` bytes, its `rows`
    /// rows served from `rows_text`; `Diverged` unless every row was
    /// stored without a warning.
    fn execute_rows(&mut self, sql: &str, rows: u64, bytes: usize) -> Result<Step, LoadError> {
        let text = std::mem::take(&mut self.rows_text);
        let (r, err) = self.query_infile(sql, as_data::INFILE_NAME.as_bytes(), "the rows", &mut |out| {
            out.write_all(&text).map_err(|e| e.to_string())
        });
        self.rows_text = text;
        if let Some(err) = err {
            return Ok(Step::Diverged(format!("sending rows as LOAD DATA: {err}")));
        }
        match r {
            Ok(done) => {
                let (stored, warnings) = (done.affected_rows, done.warnings);
                if stored != rows || warnings > 0 {
                    return Ok(Step::Diverged(format!("LOAD DATA stored {stored} of {rows} rows with {warnings} warnings")));
                }
                self.pending_rows += stored;
                self.pending_as_data += 1;
                self.shared.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
                Ok(Step::Ok)
            }
            Err(e) => Ok(Step::Diverged(format!("LOAD DATA failed ({})", server_message(&e)))),
        }
    }

    /// Whether `--ignore-errors` lists the error of the statement at `line`
    /// (then logged as skipped). Never for the errors that are retried (a
    /// deadlock undoes the whole transaction, not the statement alone).
    fn ignored(&self, path: &Path, line: u64, e: &mysql::Error) -> bool {
        let listed = !retryable(e) && error_code(e).is_some_and(|c| self.shared.settings.ignore_errors.contains(&c));
        if listed {
            log::warn!("{}, line {line}: {}; statement skipped (--ignore-errors)", display_name(path), server_message(e));
        }
        listed
    }

    fn commit(&mut self, path: &Path, line: u64) -> Result<(), LoadError> {
        self.conn.query_drop("COMMIT").map_err(|e| {
            let mut err = self.fail(path, line, &e);
            err.message = format!("COMMIT failed: {}", err.message);
            if line == 0 {
                err.line = None;
            }
            err
        })?;
        self.settle_rows();
        Ok(())
    }

    fn rollback(&mut self, transactional: bool) {
        if transactional {
            let _ = self.conn.query_drop("ROLLBACK");
            self.pending_rows = 0;
            self.pending_as_data = 0;
        }
    }

    /// Counts what was stored since the last commit as loaded.
    fn settle_rows(&mut self) {
        self.shared.rows.fetch_add(std::mem::take(&mut self.pending_rows), Ordering::Relaxed);
        self.shared.inserts_as_data.fetch_add(std::mem::take(&mut self.pending_as_data), Ordering::Relaxed);
    }
}

enum Existing {
    Create,
    CreateTolerant,
    Keep,
    KeepNoData,
}

/// The file a LOAD DATA of the dump names must be one of its `.dat` data
/// files (and so in its directory), never another path.
pub fn check_infile_name(name: &str) -> Result<(), String> {
    match DumpFile::parse(name) {
        Some(DumpFile::Data { ext: DataExt::Dat, .. }) => Ok(()),
        _ => Err(format!("LOAD DATA names {name:?}, which is not a dump data file")),
    }
}

/// A deadlock or lock wait timeout: the statement or transaction is worth
/// running again.
pub fn retryable(e: &mysql::Error) -> bool {
    matches!(error_code(e), Some(ER_LOCK_DEADLOCK) | Some(ER_LOCK_WAIT_TIMEOUT))
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100 * u64::from(attempt.min(20)))
}

/// Copies a (possibly compressed) data file to the server.
fn serve_file(path: &Path, out: &mut dyn Write) -> io::Result<()> {
    let mut r = common::compress::open(path)?;
    io::copy(&mut r, out)?;
    Ok(())
}
