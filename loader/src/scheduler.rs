//! The scheduler: takes dump files as they arrive (a directory walk or a
//! stream) and hands jobs to the workers in an order that keeps every
//! dependency: databases, then tables and sequences, then each table's data
//! once its table exists, then deferred indexes, foreign keys, and last
//! routines, events, triggers and views, one at a time. Several dumps may
//! arrive one after another; each is finished before the next starts.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use common::checksum::{hex, same, DatabaseChecksums, Wanted};
use common::metadata::Metadata;
use common::naming::{ChunkId, Compression, DataExt, DumpFile};
use common::pattern::TableFilter;
use crossbeam_channel::{never, select, Receiver, Sender};
use mysql::prelude::Queryable;

use crate::cli::{ChecksumMode, OptimizeKeys};
use crate::ddl::{self, DeferredKeys};
use crate::exec::{display_name, FileOutcome, FileRole, LoadError, SessionVars, Shared};
use crate::worker::{Done, Job, Work};

/// Tables with at least this many rows (by the metadata) or bytes of data
/// files get their secondary indexes after the data.
const DEFER_KEYS_ROWS: u64 = 10_000;
const DEFER_KEYS_BYTES: u64 = 2 << 20;

/// Input messages handled in one go before jobs are dispatched.
const INPUT_BATCH: usize = 10_000;

/// What the directory walk or the stream thread reports.
pub enum Input {
    /// A complete file in `dir`.
    File { dir: PathBuf, name: String, kind: DumpFile },
    /// Every file of the dump in `dir` has been announced.
    EndOfDump { dir: PathBuf },
    /// The input broke (a bad stream).
    Failed(String),
}

/// Which files to load and how.
pub struct Selection {
    pub target_db: Option<String>,
    pub source_db: Option<String>,
    pub regex: Vec<fancy_regex::Regex>,
    /// `-T` and `-O`.
    pub tables: TableFilter,
    pub no_data: bool,
    pub no_schemas: bool,
    /// `--skip-create-table`: tables and sequences exist already.
    pub skip_create_table: bool,
    /// `--skip-create-database`: databases exist already.
    pub skip_create_database: bool,
    pub skip_triggers: bool,
    pub skip_post: bool,
    pub optimize_keys: OptimizeKeys,
    /// `--max-threads-for-post-actions`: view, trigger and routine files
    /// at once.
    pub max_threads_for_post_actions: usize,
    /// `--max-threads-for-schema-creation`: CREATE TABLE jobs at once (0:
    /// no limit).
    pub max_threads_for_schema_creation: usize,
    /// `--skip-table-sorting`: tables' data in name order, not largest first.
    pub skip_table_sorting: bool,
    /// `--max-threads-for-index-creation`: index jobs at once.
    pub max_threads_for_index_creation: usize,
    /// `--optimize-keys-batchsize`: indexes per ALTER TABLE (0: all).
    pub optimize_keys_batchsize: usize,
    pub checksum: ChecksumMode,
    /// Which recorded checksums are checked.
    pub checks: common::checksum::Kinds,
    /// `--skip-indexes`: the tables' indexes are not what was dumped.
    pub skip_indexes: bool,
    pub max_threads_per_table: usize,
    /// `SET SESSION` statements from the option files.
    pub config_session: Vec<String>,
    /// `--resume`: the files the interrupted load left (only they are
    /// announced).
    pub resume: Option<std::collections::BTreeSet<String>>,
    /// Where a load stopped by a signal lists the files it did not load
    /// (a directory's `resume`; none for a stream or with `-k`).
    pub resume_file: Option<PathBuf>,
}

impl Selection {
    /// Whether the files of `name` (`db.table` or `db`, file-name forms)
    /// are loaded: `-O` leaves it out, `-T` (when given) and `-x` (when
    /// given) must take it.
    pub fn selected(&self, name: &str) -> bool {
        let listed = match name.split_once('.') {
            Some((db, table)) => self.tables.database(db) && self.tables.object(db, table),
            None => self.tables.database(name),
        };
        if !listed {
            return false;
        }
        self.regex.is_empty() || self.regex.iter().any(|r| r.is_match(name).unwrap_or(false))
    }

    /// Whether a file of this kind is loaded, its database (file-name form)
    /// selected: `-m`, `--no-data`, `--skip-*` and the filters. A
    /// `-schema-create.sql` file is not loaded with `-B`.
    pub fn loads(&self, kind: &DumpFile) -> bool {
        let db = kind.db().unwrap_or("");
        let object = |table: &str| self.selected(&format!("{db}.{table}"));
        match kind {
            DumpFile::SchemaCreate { .. } => {
                self.tables.database(db) && self.target_db.is_none() && !self.no_schemas && !self.skip_create_database
            }
            DumpFile::TableSchema { table, .. } | DumpFile::SequenceSchema { table, .. } => {
                !self.no_schemas && !self.skip_create_table && object(table)
            }
            DumpFile::Data { table, .. } => !self.no_data && object(table),
            DumpFile::ViewSchema { table, .. } => !self.no_schemas && object(table),
            DumpFile::Triggers { table, .. } => {
                !self.no_schemas && !self.skip_triggers && table.as_deref().map_or_else(|| self.selected(db), object)
            }
            DumpFile::Post { .. } => !self.no_schemas && !self.skip_post && self.selected(db),
            _ => false,
        }
    }
}

/// Totals of a finished load.
#[derive(Debug, Default)]
pub struct Summary {
    pub dumps: usize,
    pub files: u64,
    pub tables: usize,
    /// The live keys of each dump's [source] section (for `--source-data`).
    pub sources: Vec<Vec<(String, String)>>,
    /// Each dump's GTIDs executed (for `--set-gtid-purged`).
    pub gtids: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TableStatus {
    /// Its database is not ready, or no schema file was seen yet.
    Waiting,
    /// CREATE TABLE queued or running.
    Creating,
    /// The table exists: data may load.
    Ready,
    /// Left alone (an existing table under --drop-table=SKIP).
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    NotYet,
    Running,
    Done,
}

struct Table {
    schema: Option<PathBuf>,
    status: TableStatus,
    real_name: Option<String>,
    waiting: Vec<(ChunkId, PathBuf)>,
    ready: Vec<(ChunkId, PathBuf)>,
    running: usize,
    deferred: Option<DeferredKeys>,
    indexes: Stage,
    loaded_files: usize,
    /// Rows the metadata announces: bigger tables load first.
    rows: u64,
    /// Bytes of the data files announced so far.
    bytes: u64,
}

impl Table {
    fn new(rows: u64) -> Self {
        Table {
            schema: None,
            status: TableStatus::Waiting,
            real_name: None,
            waiting: Vec::new(),
            ready: Vec::new(),
            running: 0,
            deferred: None,
            indexes: Stage::NotYet,
            loaded_files: 0,
            rows,
            bytes: 0,
        }
    }

    fn has_deferred_indexes(&self) -> bool {
        self.deferred.as_ref().is_some_and(|k| !k.indexes.is_empty())
    }

    fn data_outstanding(&self) -> bool {
        !self.waiting.is_empty() || !self.ready.is_empty() || self.running > 0
    }

    /// Nothing more will happen to this table's schema and data.
    fn settled(&self) -> bool {
        match self.status {
            TableStatus::Skipped => true,
            TableStatus::Ready => !self.data_outstanding(),
            TableStatus::Creating => false,
            TableStatus::Waiting => self.schema.is_none() && !self.data_outstanding(),
        }
    }
}

#[derive(Debug, Clone)]
enum Tag {
    Database(String),
    Table((String, String)),
    Data((String, String)),
    Indexes((String, String)),
    ForeignKeys,
    /// A view, trigger or routine file, of this kind (0 routines and
    /// events, 1 triggers, 2 views).
    Post(u8),
}

/// One dump's progress.
struct Dump {
    dir: PathBuf,
    metadata: Metadata,
    seen_metadata: bool,
    vars: Arc<SessionVars>,
    input_done: bool,
    /// Databases by file-name form: real name, and whether it is created.
    dbs: HashMap<String, (String, bool)>,
    target_ready: bool,
    tables: BTreeMap<(String, String), Table>,
    /// Views, triggers, routines: (order, path, db form).
    post: Vec<(u8, PathBuf, String)>,
    /// The views loaded: (db form, view form).
    views: Vec<(String, String)>,
    /// Files to load not loaded yet (for the `resume` file).
    pending: std::collections::BTreeSet<PathBuf>,
    foreign_keys: Stage,
    fk_running: usize,
    post_stage: Stage,
    orphans_checked: bool,
    started: Instant,
}

pub struct Scheduler<'a> {
    shared: Arc<Shared>,
    sel: &'a Selection,
    control: &'a mut mysql::Conn,
    jobs: Sender<Job>,
    done: Receiver<Done>,
    workers: usize,
    idle: usize,
    next_id: usize,
    running: HashMap<usize, Tag>,
    schema_queue: Vec<Job>,
    generated_queue: Vec<Job>,
    vars_version: u64,
    progress: indicatif::ProgressBar,
    summary: Summary,
    error: Option<LoadError>,
    /// The file each running file job loads.
    job_files: HashMap<usize, PathBuf>,
    /// Stopping after a signal (see [`Scheduler::stop`]).
    stop: Option<StopStep>,
}

/// A stop after a signal: the running files finish, then tables created
/// with deferred keys get them, then the `resume` file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopStep {
    Files,
    Indexes,
    ForeignKeys,
}

impl<'a> Scheduler<'a> {
    pub fn new(
        shared: Arc<Shared>,
        sel: &'a Selection,
        control: &'a mut mysql::Conn,
        jobs: Sender<Job>,
        done: Receiver<Done>,
        workers: usize,
        progress: indicatif::ProgressBar,
    ) -> Self {
        Scheduler {
            shared,
            sel,
            control,
            jobs,
            done,
            workers,
            idle: workers,
            next_id: 0,
            running: HashMap::new(),
            schema_queue: Vec::new(),
            generated_queue: Vec::new(),
            vars_version: 0,
            progress,
            summary: Summary::default(),
            error: None,
            job_files: HashMap::new(),
            stop: None,
        }
    }

    /// Runs until the input ends and every dump in it is loaded, or until
    /// the first error.
    pub fn run(mut self, input: Receiver<Input>) -> Result<Summary, LoadError> {
        let mut dump: Option<Dump> = None;
        let mut input_open = true;
        let never_input = never::<Input>();
        loop {
            if self.error.is_none() && self.stop.is_none() && common::cancel::is_cancelled() {
                match dump.as_mut() {
                    Some(d) if self.sel.resume_file.is_some() => self.stop(d),
                    _ => self.fail(LoadError::new("interrupted by a signal; the load is incomplete")),
                }
            }
            if self.error.is_none() {
                if let Some(d) = dump.as_mut() {
                    if let Err(e) = self.advance(d) {
                        self.fail(e);
                    }
                }
            }
            if self.error.is_none() {
                if let Some(d) = dump.as_ref() {
                    if d.input_done && self.running.is_empty() && d.post_stage == Stage::Done {
                        let d = dump.take().expect("dump present");
                        match self.finish_dump(d) {
                            Ok(()) => continue,
                            Err(e) => self.fail(e),
                        }
                    }
                }
            }
            if self.error.is_some() {
                if self.running.is_empty() {
                    break;
                }
            } else if !input_open && dump.is_none() {
                break;
            } else if !input_open {
                // The input ended inside a dump.
                let d = dump.as_ref().expect("dump present");
                if !d.input_done {
                    self.fail(LoadError::new("the input ended before the dump's final metadata: the dump is incomplete"));
                    continue;
                }
            }
            let accept_input = input_open && self.error.is_none() && !dump.as_ref().is_some_and(|d| d.input_done);
            let in_rx = if accept_input { &input } else { &never_input };
            if !accept_input && self.running.is_empty() {
                if self.error.is_some() || dump.is_none() {
                    break;
                }
                // advance() found nothing to do, yet the dump is not done.
                self.fail(LoadError::new("internal: the load cannot make progress"));
                continue;
            }
            // Told here, after this round's jobs went out, so that a worker
            // between two jobs does not count as idle for the stream.
            self.shared.backlog.set_busy(self.idle < self.workers);
            select! {
                recv(in_rx) -> msg => match msg {
                    Ok(i) => {
                        // Take what else has arrived before dispatching, so
                        // that decisions see as much of the dump as there
                        // is (a directory is announced all at once).
                        let mut next = Some(i);
                        let mut n = 0;
                        while let Some(i) = next.take() {
                            if let Err(e) = self.on_input(&mut dump, i) {
                                self.fail(e);
                                break;
                            }
                            n += 1;
                            if n < INPUT_BATCH && !dump.as_ref().is_some_and(|d| d.input_done) {
                                match in_rx.try_recv() {
                                    Ok(i) => next = Some(i),
                                    Err(crossbeam_channel::TryRecvError::Disconnected) => input_open = false,
                                    Err(crossbeam_channel::TryRecvError::Empty) => {}
                                }
                            }
                        }
                    }
                    Err(_) => input_open = false,
                },
                recv(self.done) -> msg => match msg {
                    Ok(d) => self.on_done(&mut dump, d),
                    Err(_) => {
                        self.fail(LoadError::new("all workers stopped"));
                        break;
                    }
                },
                // Wake up now and then to notice a signal.
                default(std::time::Duration::from_millis(200)) => {}
            }
        }
        self.progress.finish_and_clear();
        match self.error {
            Some(e) => Err(e),
            None if self.summary.dumps == 0 => Err(LoadError::new("the input held no dump")),
            None => Ok(self.summary),
        }
    }

    fn fail(&mut self, e: LoadError) {
        if self.error.is_none() {
            self.shared.abort.store(true, Ordering::Relaxed);
            self.shared.registry.shut();
            self.shared.backlog.shut();
            self.error = Some(e);
        }
        // Queued jobs will not run now.
        for job in self.schema_queue.drain(..).chain(self.generated_queue.drain(..)) {
            self.running.remove(&job.id);
        }
    }

    fn new_dump(&mut self, dir: PathBuf) -> Dump {
        let mut d = Dump {
            dir,
            metadata: Metadata::default(),
            seen_metadata: false,
            vars: Arc::new(SessionVars::default()),
            input_done: false,
            dbs: HashMap::new(),
            target_ready: false,
            tables: BTreeMap::new(),
            post: Vec::new(),
            views: Vec::new(),
            pending: Default::default(),
            foreign_keys: Stage::NotYet,
            fk_running: 0,
            post_stage: Stage::NotYet,
            orphans_checked: false,
            started: Instant::now(),
        };
        self.refresh_vars(&mut d);
        if self.sel.target_db.is_some() && self.sel.skip_create_database {
            d.target_ready = true;
        } else if let Some(t) = &self.sel.target_db {
            // As myloader: the target's own `NEW-schema-create.sql`, when the
            // dump holds one, creates it (with its character set), else a
            // plain CREATE DATABASE IF NOT EXISTS.
            let work = match target_schema_create(&d.dir, t) {
                Some(path) => Work::File { path, role: FileRole::Database, db: None },
                None => Work::CreateDatabase { db: t.clone() },
            };
            let job = self.job(work, &d);
            self.running_tag_later(job, Tag::Database(String::new()), true);
        } else {
            d.target_ready = true;
        }
        d
    }

    fn refresh_vars(&mut self, d: &mut Dump) {
        self.vars_version += 1;
        let mut statements = self.sel.config_session.clone();
        for (k, v) in &d.metadata.session_variables {
            statements.push(ddl::session_statement(k, v));
        }
        d.vars = Arc::new(SessionVars { version: self.vars_version, statements });
    }

    fn job(&mut self, work: Work, d: &Dump) -> Job {
        self.next_id += 1;
        self.progress.inc_length(1);
        if let Work::File { path, .. } = &work {
            self.job_files.insert(self.next_id, path.clone());
        }
        Job { id: self.next_id, work, vars: d.vars.clone() }
    }

    /// Queues a job; `schema` jobs go before data.
    fn running_tag_later(&mut self, job: Job, tag: Tag, schema: bool) {
        if self.error.is_some() {
            return;
        }
        // Stopping: only the deferred keys of created tables are added.
        if self.stop.is_some() && !matches!(tag, Tag::Indexes(_) | Tag::ForeignKeys) {
            self.job_files.remove(&job.id);
            return;
        }
        self.running.insert(job.id, tag);
        // Not running yet: the id is reserved; dispatch happens in advance().
        if schema {
            self.schema_queue.push(job);
        } else {
            self.generated_queue.push(job);
        }
    }

    fn delete_unused(&self, path: &Path) {
        if self.shared.settings.delete_loaded {
            self.shared.backlog.discard(path);
        }
    }

    /// Whether files of database `db` (file-name form) are selected.
    fn db_selected(&self, d: &Dump, db: &str) -> bool {
        match &self.sel.source_db {
            None => true,
            Some(s) => db == s || d.dbs.get(db).is_some_and(|(real, _)| real == s),
        }
    }

    fn on_input(&mut self, dump: &mut Option<Dump>, input: Input) -> Result<(), LoadError> {
        match input {
            Input::Failed(msg) => Err(LoadError::new(msg)),
            Input::EndOfDump { dir } => {
                let d = dump.get_or_insert_with(|| self.new_dump(dir.clone()));
                if !d.seen_metadata {
                    return Err(LoadError::new(format!("{}: the dump has no metadata file", d.dir.display())));
                }
                d.input_done = true;
                self.shared.registry.close_dir(&d.dir);
                Ok(())
            }
            Input::File { dir, name, kind } => {
                if dump.is_none() {
                    *dump = Some(self.new_dump(dir.clone()));
                }
                let d = dump.as_mut().expect("dump present");
                let path = dir.join(&name);
                self.on_file(d, path, kind)
            }
        }
    }

    fn on_file(&mut self, d: &mut Dump, path: PathBuf, kind: DumpFile) -> Result<(), LoadError> {
        let sel = self.sel;
        if kind.is_metadata() {
            merge_metadata(&mut d.metadata, &path, &kind)?;
            d.seen_metadata = true;
            if !d.tables.is_empty() {
                let rows: HashMap<(&str, &str), u64> =
                    d.metadata.tables.iter().map(|t| ((t.db.as_str(), t.table.as_str()), t.rows)).collect();
                for ((db, table), t) in d.tables.iter_mut() {
                    t.rows = rows.get(&(db.as_str(), table.as_str())).copied().unwrap_or(t.rows);
                }
            }
            self.refresh_vars(d);
            self.delete_unused(&path);
            return Ok(());
        }
        if !d.seen_metadata {
            return Err(LoadError::new(format!("{}: arrived before the dump's metadata", display_name(&path))));
        }
        self.summary.files += 1;
        let db = kind.db().unwrap_or("").to_string();
        if !db.is_empty() && !matches!(kind, DumpFile::SchemaCreate { .. }) && !self.db_selected(d, &db) {
            self.delete_unused(&path);
            return Ok(());
        }
        let loads = sel.loads(&kind);
        match kind {
            DumpFile::SchemaCreate { .. } => {
                let real = read_created_database(&path)?.unwrap_or_else(|| db.clone());
                let selected = match &sel.source_db {
                    None => true,
                    Some(s) => *s == db || *s == real,
                } && sel.tables.database(&db);
                if !selected || sel.target_db.is_some() || sel.no_schemas || sel.skip_create_database {
                    d.dbs.insert(db, (real, true));
                    self.delete_unused(&path);
                    return Ok(());
                }
                d.dbs.insert(db.clone(), (real, false));
                d.pending.insert(path.clone());
                let job = self.job(Work::File { path, role: FileRole::Database, db: None }, d);
                self.running_tag_later(job, Tag::Database(db), true);
            }
            DumpFile::TableSchema { table, .. } | DumpFile::SequenceSchema { table, .. } => {
                if !loads {
                    self.delete_unused(&path);
                    return Ok(());
                }
                let rows = table_rows(&d.metadata, &db, &table);
                d.pending.insert(path.clone());
                let t = d.tables.entry((db.clone(), table.clone())).or_insert_with(|| Table::new(rows));
                t.schema = Some(path);
                self.try_create(d, &(db, table));
            }
            DumpFile::Data { table, chunk, ext, .. } => {
                if ext == DataExt::Dat {
                    // Served to a LOAD DATA statement of its `.sql` companion.
                    if !loads {
                        self.delete_unused(&path);
                    } else {
                        d.pending.insert(path.clone());
                        self.shared.registry.arrived(&path);
                    }
                    return Ok(());
                }
                if !loads {
                    self.delete_unused(&path);
                    return Ok(());
                }
                let no_schemas = sel.no_schemas || sel.skip_create_table;
                let rows = table_rows(&d.metadata, &db, &table);
                let t = d.tables.entry((db, table)).or_insert_with(|| Table::new(rows));
                t.bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                if no_schemas && t.status == TableStatus::Waiting {
                    t.status = TableStatus::Ready;
                }
                match t.status {
                    TableStatus::Skipped => self.delete_unused(&path),
                    status => {
                        d.pending.insert(path.clone());
                        if status == TableStatus::Ready {
                            t.ready.push((chunk, path));
                        } else {
                            t.waiting.push((chunk, path));
                        }
                    }
                }
            }
            DumpFile::ViewSchema { table, .. } => {
                if !loads {
                    self.delete_unused(&path);
                } else {
                    d.views.push((db.clone(), table));
                    d.pending.insert(path.clone());
                    d.post.push((2, path, db));
                }
            }
            DumpFile::Triggers { .. } => {
                if !loads {
                    self.delete_unused(&path);
                } else {
                    d.pending.insert(path.clone());
                    d.post.push((1, path, db));
                }
            }
            DumpFile::Post { .. } => {
                if !loads {
                    self.delete_unused(&path);
                } else {
                    d.pending.insert(path.clone());
                    d.post.push((0, path, db));
                }
            }
            DumpFile::Tablespace { .. } => {
                log::warn!("{}: tablespaces are not restored", display_name(&path));
                self.delete_unused(&path);
            }
            _ => {
                log::debug!("{}: nothing to load", display_name(&path));
                self.delete_unused(&path);
            }
        }
        Ok(())
    }

    /// The database to run a file of `db_form` in.
    fn target(&self, d: &Dump, db_form: &str) -> String {
        if let Some(t) = &self.sel.target_db {
            return t.clone();
        }
        d.dbs.get(db_form).map(|(real, _)| real.clone()).unwrap_or_else(|| db_form.to_string())
    }

    fn db_ready(&self, d: &Dump, db_form: &str) -> bool {
        if self.sel.target_db.is_some() {
            return d.target_ready;
        }
        d.dbs.get(db_form).is_none_or(|(_, ready)| *ready)
    }

    fn try_create(&mut self, d: &mut Dump, key: &(String, String)) {
        if !self.db_ready(d, &key.0) {
            return;
        }
        // `--max-threads-for-schema-creation`: CREATE TABLE jobs queued or
        // running at once; the others wait for a later pass.
        let cap = self.sel.max_threads_for_schema_creation;
        if cap > 0 && self.running.values().filter(|t| matches!(t, Tag::Table(_))).count() >= cap {
            return;
        }
        let db = self.target(d, &key.0);
        let Some(t) = d.tables.get_mut(key) else { return };
        if t.status != TableStatus::Waiting {
            return;
        }
        let Some(path) = t.schema.clone() else { return };
        t.status = TableStatus::Creating;
        // Whether to defer its keys is decided when the job is dispatched:
        // by then more of the table's data files may be known.
        let job = self.job(Work::File { path, role: FileRole::Table { defer_keys: true }, db: Some(db) }, d);
        self.running_tag_later(job, Tag::Table(key.clone()), true);
    }

    fn on_done(&mut self, dump: &mut Option<Dump>, done: Done) {
        self.idle += 1;
        let Some(tag) = self.running.remove(&done.id) else { return };
        let file = self.job_files.remove(&done.id);
        if let (Ok(_), Some(path), Some(d)) = (&done.result, &file, dump.as_mut()) {
            d.pending.remove(path);
        }
        let outcome = match done.result {
            Ok(o) => o,
            Err(e) => {
                if !e.aborted {
                    self.fail(e);
                }
                return;
            }
        };
        self.progress.inc(1);
        self.update_progress_message();
        if self.error.is_some() {
            // Stopping: nothing new is started.
            return;
        }
        let Some(d) = dump.as_mut() else { return };
        match tag {
            Tag::Database(form) if form.is_empty() => {
                d.target_ready = true;
                let keys: Vec<_> = d.tables.keys().cloned().collect();
                for k in keys {
                    self.try_create(d, &k);
                }
            }
            Tag::Database(form) => {
                if let Some(e) = d.dbs.get_mut(&form) {
                    if let Some(real) = outcome.database {
                        e.0 = real;
                    }
                    e.1 = true;
                }
                let keys: Vec<_> = d.tables.keys().filter(|k| k.0 == form).cloned().collect();
                for k in keys {
                    self.try_create(d, &k);
                }
            }
            Tag::Table(key) => self.table_created(d, &key, outcome),
            Tag::Data(key) => {
                if let Some(t) = d.tables.get_mut(&key) {
                    t.running -= 1;
                    t.loaded_files += 1;
                }
            }
            Tag::Indexes(key) => {
                if let Some(t) = d.tables.get_mut(&key) {
                    t.indexes = Stage::Done;
                }
            }
            Tag::ForeignKeys => d.fk_running -= 1,
            Tag::Post(_) => {}
        }
    }

    fn table_created(&mut self, d: &mut Dump, key: &(String, String), outcome: FileOutcome) {
        let Some(t) = d.tables.get_mut(key) else { return };
        if outcome.table.is_some() {
            t.real_name = outcome.table;
        }
        if outcome.skip_data {
            t.status = TableStatus::Skipped;
            for (_, p) in t.waiting.drain(..) {
                d.pending.remove(&p);
                if self.shared.settings.delete_loaded {
                    self.shared.backlog.discard(&p);
                }
            }
            return;
        }
        t.status = TableStatus::Ready;
        t.deferred = outcome.deferred;
        let w: Vec<_> = t.waiting.drain(..).collect();
        t.ready.extend(w);
    }

    fn update_progress_message(&self) {
        let rows = self.shared.rows.load(Ordering::Relaxed);
        let bytes = self.shared.bytes.load(Ordering::Relaxed);
        let secs = self.progress.elapsed().as_secs_f64().max(0.001);
        self.progress.set_message(format!(
            "{rows} rows, {} ({}/s)",
            common::progress::human_bytes(bytes),
            common::progress::human_bytes((bytes as f64 / secs) as u64)
        ));
    }

    /// Moves the dump forward: checks what became possible, dispatches.
    fn advance(&mut self, d: &mut Dump) -> Result<(), LoadError> {
        if self.stop.is_some() {
            return self.advance_stop(d);
        }
        if d.input_done && !d.orphans_checked {
            d.orphans_checked = true;
            self.check_orphans(d)?;
        }
        if d.input_done {
            self.queue_deferred(d);
        }
        if self.sel.max_threads_for_schema_creation > 0 {
            // Tables held back by the cap on CREATE TABLE jobs.
            let waiting: Vec<_> =
                d.tables.iter().filter(|(_, t)| t.status == TableStatus::Waiting && t.schema.is_some()).map(|(k, _)| k.clone()).collect();
            for key in waiting {
                self.try_create(d, &key);
            }
        }
        self.dispatch(d);
        Ok(())
    }

    /// Data files whose table has no schema in the dump load only into a
    /// table that already exists.
    fn check_orphans(&mut self, d: &mut Dump) -> Result<(), LoadError> {
        let keys: Vec<_> = d
            .tables
            .iter()
            .filter(|(_, t)| t.schema.is_none() && t.status == TableStatus::Waiting && !t.waiting.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let db = self.target(d, &key.0);
            let real = d
                .metadata
                .table(&key.0, &key.1)
                .and_then(|m| m.real_table_name.clone())
                .unwrap_or_else(|| key.1.clone());
            let q = format!(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {}",
                ddl::quote_str(&db),
                ddl::quote_str(&real)
            );
            let n: Option<u64> = self.control.query_first(&q).map_err(|e| LoadError::new(common::conn::server_message(&e)))?;
            let t = d.tables.get_mut(&key).expect("table present");
            if n.unwrap_or(0) == 0 {
                let file = t.waiting.first().map(|(_, p)| display_name(p)).unwrap_or_default();
                return Err(LoadError::new(format!(
                    "{file}: data for table `{db}`.`{real}`, which has no schema file in the dump and does not exist"
                )));
            }
            if self.sel.resume.is_some() {
                log::info!("table `{db}`.`{real}`: loading the rest of its data (--resume)");
            } else {
                log::warn!("table `{db}`.`{real}` has no schema file in the dump; loading into the existing table");
            }
            t.status = TableStatus::Ready;
            let w: Vec<_> = t.waiting.drain(..).collect();
            t.ready.extend(w);
        }
        Ok(())
    }

    /// Index, foreign-key and post jobs once their time has come.
    fn queue_deferred(&mut self, d: &mut Dump) {
        let all_settled = d.tables.values().all(Table::settled)
            && !self.running.values().any(|t| matches!(t, Tag::Database(_) | Tag::Table(_)));
        let per_table = self.sel.optimize_keys == OptimizeKeys::PerTable;
        let keys: Vec<_> = d
            .tables
            .iter()
            .filter(|(_, t)| {
                t.status == TableStatus::Ready
                    && t.indexes == Stage::NotYet
                    && !t.data_outstanding()
                    && t.has_deferred_indexes()
            })
            .map(|(k, _)| k.clone())
            .collect();
        if per_table || all_settled {
            // `--max-threads-for-index-creation`: index jobs queued or
            // running at once; the others wait for a later pass.
            let busy = self.running.values().filter(|t| matches!(t, Tag::Indexes(_))).count();
            let room = self.sel.max_threads_for_index_creation.max(1).saturating_sub(busy);
            for key in keys.into_iter().take(room) {
                self.queue_indexes(d, key);
            }
        }
        let indexes_done = d
            .tables
            .values()
            .all(|t| t.indexes == Stage::Done || t.status != TableStatus::Ready || !t.has_deferred_indexes());
        if all_settled && indexes_done && d.foreign_keys == Stage::NotYet {
            self.queue_foreign_keys(d);
        }
        if d.foreign_keys == Stage::Running && d.fk_running == 0 {
            d.foreign_keys = Stage::Done;
        }
        if d.foreign_keys == Stage::Done && d.post_stage != Stage::Done {
            d.post_stage = Stage::Running;
            // Routines and events, then triggers, then views (a view may
            // call a routine), in the order they arrived within each kind;
            // routine and trigger files `--max-threads-for-post-actions` at
            // once (1), views one at a time (a view file drops the
            // placeholder table that another view may be reading).
            let running: Vec<u8> = self.running.values().filter_map(|t| if let Tag::Post(k) = t { Some(*k) } else { None }).collect();
            if running.is_empty() && d.post.is_empty() {
                d.post_stage = Stage::Done;
            }
            let mut started = running.len();
            let mut current = running.first().copied();
            while let Some(pos) = (0..d.post.len()).min_by_key(|&i| d.post[i].0) {
                let kind = d.post[pos].0;
                let cap = if kind == 2 { 1 } else { self.sel.max_threads_for_post_actions.max(1) };
                if started >= cap || current.is_some_and(|k| k != kind) {
                    break;
                }
                started += 1;
                current = Some(kind);
                let (_, path, db_form) = d.post.remove(pos);
                let db = self.target(d, &db_form);
                let job = self.job(Work::File { path, role: FileRole::Post, db: Some(db) }, d);
                self.running_tag_later(job, Tag::Post(kind), false);
            }
        }
    }

    /// Queues the job adding a table's deferred indexes.
    fn queue_indexes(&mut self, d: &mut Dump, key: (String, String)) {
        let db = self.target(d, &key.0);
        let t = d.tables.get_mut(&key).expect("table present");
        t.indexes = Stage::Running;
        let name = t.real_name.clone().unwrap_or_else(|| key.1.clone());
        let statements = t.deferred.as_ref().map(|k| k.index_statements(&name, self.sel.optimize_keys_batchsize)).unwrap_or_default();
        let what = format!("indexes of `{db}`.`{name}`");
        let job = self.job(Work::Generated { db, what, statements }, d);
        self.running_tag_later(job, Tag::Indexes(key), false);
    }

    /// Queues the jobs adding the deferred foreign keys of the tables
    /// created.
    fn queue_foreign_keys(&mut self, d: &mut Dump) {
        d.foreign_keys = Stage::Running;
        let fks: Vec<_> = d
            .tables
            .iter()
            .filter(|(_, t)| t.status == TableStatus::Ready)
            .filter_map(|(k, t)| {
                let name = t.real_name.clone().unwrap_or_else(|| k.1.clone());
                t.deferred.as_ref().and_then(|dk| dk.foreign_key_statement(&name)).map(|s| (k.clone(), name, s))
            })
            .collect();
        for (key, name, stmt) in fks {
            let db = self.target(d, &key.0);
            let what = format!("foreign keys of `{db}`.`{name}`");
            let job = self.job(Work::Generated { db, what, statements: vec![stmt] }, d);
            d.fk_running += 1;
            self.running_tag_later(job, Tag::ForeignKeys, false);
        }
    }

    /// Hands jobs to idle workers: schema first, then data (tables with the
    /// fewest workers first, largest first among those), then generated
    /// statements and post files.
    fn dispatch(&mut self, d: &mut Dump) {
        while self.idle > 0 {
            let job = if !self.schema_queue.is_empty() {
                let mut job = self.schema_queue.remove(0);
                self.decide_keys(d, &mut job);
                Some(job)
            } else if let Some(job) = self.next_data(d) {
                Some(job)
            } else if !self.generated_queue.is_empty() {
                Some(self.generated_queue.remove(0))
            } else {
                None
            };
            let Some(job) = job else { break };
            self.idle -= 1;
            if self.jobs.send(job).is_err() {
                self.fail(LoadError::new("all workers stopped"));
                break;
            }
        }
    }

    /// Whether a CREATE TABLE job takes the secondary indexes out, to add
    /// them after the data. That pays for itself only on tables with more
    /// than a few thousand rows: each later ALTER TABLE costs about as much
    /// as loading that many rows into the indexes directly. A table is
    /// small when the metadata or its data files say so; while that is not
    /// known (a stream sends schemas first), its keys are deferred.
    fn decide_keys(&self, d: &Dump, job: &mut Job) {
        let Work::File { role: FileRole::Table { defer_keys }, .. } = &mut job.work else { return };
        let Some(Tag::Table(key)) = self.running.get(&job.id) else { return };
        *defer_keys = match (self.sel.optimize_keys, d.tables.get(key)) {
            (OptimizeKeys::Skip, _) => false,
            (_, Some(t)) if t.rows >= DEFER_KEYS_ROWS || t.bytes >= DEFER_KEYS_BYTES => true,
            (_, Some(_)) => !d.input_done,
            (_, None) => true,
        };
    }

    fn next_data(&mut self, d: &mut Dump) -> Option<Job> {
        if self.stop.is_some() {
            return None;
        }
        let limit = self.sel.max_threads_per_table.max(1);
        let key = d
            .tables
            .iter()
            .filter(|(_, t)| t.status == TableStatus::Ready && !t.ready.is_empty() && t.running < limit)
            // Spread workers over tables before doubling up on one: rows
            // inserted into one table contend for the same index pages.
            // Then the largest first, or with --skip-table-sorting the
            // tables in name order.
            .max_by_key(|(k, t)| {
                let rows = if self.sel.skip_table_sorting { 0 } else { t.rows };
                (std::cmp::Reverse(t.running), rows, std::cmp::Reverse(*k))
            })
            .map(|(k, _)| k.clone())?;
        let db = self.target(d, &key.0);
        let t = d.tables.get_mut(&key).expect("table present");
        let pos = (0..t.ready.len()).min_by_key(|&i| t.ready[i].0).expect("non-empty");
        let (_, path) = t.ready.remove(pos);
        t.running += 1;
        let job = self.job(Work::File { path, role: FileRole::Data, db: Some(db) }, d);
        self.running.insert(job.id, Tag::Data(key));
        Some(job)
    }

    /// The first signal of a directory load: no file is started any more,
    /// the running ones finish (a data file is never left half loaded), and
    /// [`Scheduler::advance_stop`] takes it from there. A second signal
    /// exits at once (`common::cancel`).
    fn stop(&mut self, d: &mut Dump) {
        log::warn!(
            "stopping: the files being loaded finish ({} now), then the tables created get their deferred indexes, and the files not loaded are listed for --resume; a second signal stops at once",
            self.running.values().filter(|t| matches!(t, Tag::Data(_) | Tag::Table(_) | Tag::Database(_) | Tag::Post(_))).count()
        );
        self.stop = Some(StopStep::Files);
        // Queued jobs have not started: their files stay to do.
        for job in self.schema_queue.drain(..) {
            self.job_files.remove(&job.id);
            if let Some(Tag::Table(key)) = self.running.remove(&job.id) {
                if let Some(t) = d.tables.get_mut(&key) {
                    t.status = TableStatus::Waiting;
                }
            }
        }
        let queued: Vec<Job> = self.generated_queue.drain(..).collect();
        for job in queued {
            match self.running.get(&job.id) {
                Some(Tag::Indexes(_)) | Some(Tag::ForeignKeys) => self.generated_queue.push(job),
                _ => {
                    self.job_files.remove(&job.id);
                    self.running.remove(&job.id);
                }
            }
        }
    }

    /// Moves a stop on: once no file is loading, the indexes deferred by
    /// `--optimize-keys` are added to the tables created (whatever part of
    /// their data is in), then their foreign keys, so that the tables
    /// `--resume` loads into are whole; then the `resume` file is written
    /// and the load fails as interrupted.
    fn advance_stop(&mut self, d: &mut Dump) -> Result<(), LoadError> {
        // Steps with nothing to run follow one another at once.
        loop {
            let step = self.stop;
            self.stop_step(d)?;
            if self.stop == step || !self.running.is_empty() {
                break;
            }
        }
        self.dispatch(d);
        Ok(())
    }

    fn stop_step(&mut self, d: &mut Dump) -> Result<(), LoadError> {
        let keys_only = self.running.values().all(|t| matches!(t, Tag::Indexes(_) | Tag::ForeignKeys));
        match self.stop {
            Some(StopStep::Files) if keys_only => {
                self.stop = Some(StopStep::Indexes);
                let keys: Vec<_> = d
                    .tables
                    .iter()
                    .filter(|(_, t)| t.status == TableStatus::Ready && t.indexes == Stage::NotYet && t.has_deferred_indexes())
                    .map(|(k, _)| k.clone())
                    .collect();
                for key in keys {
                    self.queue_indexes(d, key);
                }
            }
            Some(StopStep::Indexes) if self.running.is_empty() => {
                self.stop = Some(StopStep::ForeignKeys);
                if d.foreign_keys == Stage::NotYet {
                    self.queue_foreign_keys(d);
                }
            }
            Some(StopStep::ForeignKeys) if self.running.is_empty() => {
                let path = self.sel.resume_file.clone().expect("a stop has a resume file");
                let n = write_resume(&path, d)?;
                return Err(LoadError::new(format!(
                    "interrupted by a signal: {n} files were not loaded; {} lists them: run the same command with --resume to load them",
                    path.display()
                )));
            }
            _ => {}
        }
        Ok(())
    }

    /// Verifies checksums and reports the dump.
    fn finish_dump(&mut self, d: Dump) -> Result<(), LoadError> {
        if self.sel.checksum != ChecksumMode::Skip {
            self.verify_checksums(&d)?;
        }
        self.summary.dumps += 1;
        self.summary.tables += d.tables.values().filter(|t| t.status == TableStatus::Ready).count();
        if !d.metadata.source_entries.is_empty() {
            self.summary.sources.push(d.metadata.source_entries.clone());
        }
        if let Some(g) = d.metadata.source.as_ref().map(|s| s.gtid.trim()).filter(|g| !g.is_empty()) {
            self.summary.gtids.push(g.to_string());
        }
        log::info!(
            "dump {} loaded: {} tables in {:.1}s",
            d.dir.display(),
            d.tables.len(),
            d.started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Checks the checksums the metadata records of what was loaded: each
    /// table's data (CHECKSUM TABLE), columns, indexes and triggers, each
    /// view's definition, and each database's character set, routines,
    /// events and triggers. A mismatch is a warning, or with FAIL the load's
    /// error once every checksum was checked.
    fn verify_checksums(&mut self, d: &Dump) -> Result<(), LoadError> {
        let k = self.sel.checks;
        let schemas = !self.sel.no_schemas;
        let mut checks: Vec<Check> = Vec::new();
        for ((db_form, form), t) in &d.tables {
            if t.status != TableStatus::Ready {
                continue;
            }
            // A view's stand-in table is checked as the view.
            let Some(meta) = d.metadata.table(db_form, form).filter(|m| !m.is_view) else { continue };
            let db = self.target(d, db_form);
            let name = t.real_name.clone().or_else(|| meta.real_table_name.clone()).unwrap_or_else(|| form.clone());
            let mut add = |what: What, on: bool, recorded: &Option<String>| {
                if let Some(r) = recorded.as_deref().filter(|_| on) {
                    checks.push(Check { db: db.clone(), name: name.clone(), what, recorded: r.trim().to_string() });
                }
            };
            add(What::Columns, schemas && k.table, &meta.schema_checksum);
            add(What::Indexes, schemas && k.index && !self.sel.skip_indexes, &meta.indexes_checksum);
            add(What::TableTriggers, schemas && k.table_triggers && !self.sel.skip_triggers, &meta.triggers_checksum);
            add(What::Data, k.data && !self.sel.no_data, &meta.data_checksum);
        }
        for (db_form, form) in &d.views {
            let Some(meta) = d.metadata.table(db_form, form) else { continue };
            if let Some(r) = meta.schema_checksum.as_deref().filter(|_| schemas && k.view) {
                let name = meta.real_table_name.clone().unwrap_or_else(|| form.clone());
                checks.push(Check { db: self.target(d, db_form), name, what: What::View, recorded: r.trim().to_string() });
            }
        }
        // A database's own checksums, when what is loaded into its target is
        // all of it: not several databases into one (-B), nor some of its
        // tables' triggers (-T, -O, -x).
        let forms: std::collections::BTreeSet<&String> = d
            .dbs
            .keys()
            .chain(d.tables.keys().map(|(db, _)| db))
            .chain(d.views.iter().map(|(db, _)| db))
            .chain(d.post.iter().map(|(_, _, db)| db))
            .filter(|form| self.db_selected(d, form) && self.sel.tables.database(form))
            .collect();
        let selected: Vec<(&String, &String)> =
            forms.into_iter().map(|form| (form, d.dbs.get(form).map(|(real, _)| real).unwrap_or(form))).collect();
        let whole_tables = self.sel.tables.is_empty() && self.sel.regex.is_empty();
        for dm in &d.metadata.databases {
            let Some((form, real)) = selected.iter().find(|(f, r)| **r == dm.db || **f == dm.db) else { continue };
            let db = self.target(d, form);
            if self.sel.target_db.is_some() && selected.len() > 1 {
                continue;
            }
            for (key, value) in &dm.entries {
                let what = match key.as_str() {
                    "schema_checksum" if k.database && schema_ok(self.sel, real) => What::Database,
                    "post_checksum" if k.routines && schemas && !self.sel.skip_post => What::Routines,
                    "events_checksum" if k.events && schemas && !self.sel.skip_post => What::Events,
                    "triggers_checksum" if k.triggers && schemas && !self.sel.skip_triggers && whole_tables => What::Triggers,
                    _ => continue,
                };
                checks.push(Check { db: db.clone(), name: String::new(), what, recorded: value.trim().to_string() });
            }
        }
        if checks.is_empty() {
            return Ok(());
        }

        let mut wanted: HashMap<&str, Wanted> = HashMap::new();
        for c in &checks {
            let w = wanted.entry(c.db.as_str()).or_default();
            match c.what {
                What::Columns => w.columns = true,
                What::Indexes => w.indexes = true,
                What::View => w.views = true,
                What::TableTriggers | What::Triggers => w.triggers = true,
                What::Database => w.schema = true,
                What::Routines => w.routines = true,
                What::Events => w.events = true,
                What::Data => {}
            }
        }
        let mut sums: HashMap<&str, DatabaseChecksums> = HashMap::new();
        for (db, w) in wanted.into_iter().filter(|(_, w)| w.any()) {
            let s = DatabaseChecksums::read(self.control, db, w).map_err(|e| {
                LoadError::new(format!("reading the checksums of `{db}`: {}", common::conn::server_message(&e)))
            })?;
            sums.insert(db, s);
        }

        let mut mismatches: Vec<String> = Vec::new();
        for c in &checks {
            let now = match c.what {
                What::Data => {
                    let q = format!("CHECKSUM TABLE {}.{}", ddl::quote_ident(&c.db), ddl::quote_ident(&c.name));
                    let row: Option<mysql::Row> = self
                        .control
                        .query_first(&q)
                        .map_err(|e| LoadError::new(format!("`{q}`: {}", common::conn::server_message(&e))))?;
                    let got: Option<u64> = row.and_then(|r| r.get::<Option<u64>, _>(1)).flatten();
                    got.unwrap_or(0).to_string()
                }
                _ => {
                    let s = &sums[c.db.as_str()];
                    match c.what {
                        What::Columns => s.table(&c.name),
                        What::Indexes => s.indexes(&c.name),
                        What::View => s.view(&c.name),
                        What::TableTriggers => s.table_triggers(&c.name),
                        What::Database => hex(s.schema),
                        What::Routines => hex(s.routines),
                        What::Events => hex(s.events),
                        What::Triggers => s.all_triggers(),
                        What::Data => unreachable!("handled above"),
                    }
                }
            };
            let object = if c.name.is_empty() {
                format!("database `{}`", c.db)
            } else {
                format!("`{}`.`{}`", c.db, c.name)
            };
            if same(&c.recorded, &now) {
                log::info!("{} checksum of {object} verified", c.what.label());
                continue;
            }
            let msg = match c.what {
                What::Data => format!(
                    "checksum mismatch for {object}: the dump recorded {}, the loaded table has {now}",
                    c.recorded
                ),
                _ => format!(
                    "{} checksum mismatch for {object}: the dump recorded {}, the load has {now}",
                    c.what.label(),
                    c.recorded
                ),
            };
            if self.sel.checksum == ChecksumMode::Fail {
                log::error!("{msg}");
            } else {
                log::warn!("{msg}");
            }
            mismatches.push(msg);
        }
        match mismatches.len() {
            0 => {
                log::info!("{} checksums verified", checks.len());
                Ok(())
            }
            n if self.sel.checksum == ChecksumMode::Fail => {
                let more = if n > 1 { format!(" (and {} more mismatches)", n - 1) } else { String::new() };
                Err(LoadError::new(format!("{}{more}", mismatches[0])))
            }
            n => {
                log::warn!("{n} of {} checksums did not match", checks.len());
                Ok(())
            }
        }
    }
}

/// A checksum the metadata records, to check against the load.
struct Check {
    /// The target database.
    db: String,
    /// The table or view (empty for a database's own).
    name: String,
    what: What,
    recorded: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Data,
    Columns,
    Indexes,
    TableTriggers,
    View,
    Database,
    Routines,
    Events,
    Triggers,
}

impl What {
    fn label(self) -> &'static str {
        match self {
            What::Data => "data",
            What::Columns => "structure",
            What::Indexes => "index",
            What::TableTriggers | What::Triggers => "trigger",
            What::View => "view",
            What::Database => "database character set",
            What::Routines => "routine",
            What::Events => "event",
        }
    }
}

/// Whether the target of database `real` was created as the dump created
/// it (its own name, so its own `-schema-create.sql`), so that its
/// character set and collation are the dumped ones.
fn schema_ok(sel: &Selection, real: &str) -> bool {
    sel.target_db.as_deref().is_none_or(|t| t == real)
}

/// Writes the names of the files `d` did not load to `path` (by way of
/// `resume.partial`, so that a `resume` is never half written): a LOAD DATA
/// file goes with its statement file. Returns how many.
fn write_resume(path: &Path, d: &Dump) -> Result<usize, LoadError> {
    let chunk_of = |kind: &DumpFile| match kind {
        DumpFile::Data { db, table, chunk, .. } => Some((db.clone(), table.clone(), *chunk)),
        _ => None,
    };
    let kinds: Vec<(String, DumpFile)> = d
        .pending
        .iter()
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
        .filter_map(|n| DumpFile::parse(&n).map(|k| (n, k)))
        .collect();
    let statements: std::collections::BTreeSet<_> = kinds
        .iter()
        .filter(|(_, k)| matches!(k, DumpFile::Data { ext: DataExt::Sql, .. }))
        .filter_map(|(_, k)| chunk_of(k))
        .collect();
    let names: Vec<&str> = kinds
        .iter()
        .filter(|(_, k)| match k {
            DumpFile::Data { ext: DataExt::Dat, .. } => chunk_of(k).is_some_and(|c| statements.contains(&c)),
            _ => true,
        })
        .map(|(n, _)| n.as_str())
        .collect();
    let partial = path.with_file_name("resume.partial");
    let text: String = names.iter().map(|n| format!("{n}\n")).collect();
    std::fs::write(&partial, text)
        .and_then(|_| std::fs::rename(&partial, path))
        .map_err(|e| LoadError::new(format!("cannot write {}: {e}", path.display())))?;
    Ok(names.len())
}

/// Reads a metadata file (`metadata`, `metadata.header`, a partial one)
/// into the dump's metadata; the final `metadata` of a dump must say the
/// dump finished, unless an earlier one of the stream did.
pub fn merge_metadata(into: &mut Metadata, path: &Path, kind: &DumpFile) -> Result<(), LoadError> {
    let text = std::fs::read(path).map_err(|e| LoadError::new(format!("{}: cannot read: {e}", display_name(path))))?;
    let m = Metadata::parse(&String::from_utf8_lossy(&text)).map_err(|e| LoadError::new(format!("{}: {e}", display_name(path))))?;
    if *kind == DumpFile::Metadata && !m.is_complete() && into.finished.is_none() {
        return Err(LoadError::new(format!(
            "{}: the dump is incomplete (its metadata has no 'Finished dump at' line)",
            display_name(path)
        )));
    }
    into.merge(m);
    Ok(())
}

fn table_rows(m: &Metadata, db: &str, table: &str) -> u64 {
    m.table(db, table).map(|t| t.rows).unwrap_or(0)
}

/// `TARGET-schema-create.sql` (any compression) in `dir`, when it creates
/// `target`; one that creates another database is passed over with a
/// warning.
fn target_schema_create(dir: &Path, target: &str) -> Option<PathBuf> {
    if !common::naming::is_verbatim_name(target) {
        return None;
    }
    [Compression::None, Compression::Gzip, Compression::Zstd]
        .into_iter()
        .map(|compression| dir.join(DumpFile::SchemaCreate { db: target.to_string(), compression }.file_name()))
        .find(|p| p.is_file())
        .and_then(|p| match read_created_database(&p) {
            Ok(Some(db)) if db == target => Some(p),
            Ok(other) => {
                let what = other.map(|db| format!("creates `{db}`")).unwrap_or_else(|| "creates no database".into());
                log::warn!("{} {what}, not `{target}`; creating `{target}` without it", display_name(&p));
                None
            }
            Err(e) => {
                log::warn!("{e}; creating `{target}` without it");
                None
            }
        })
}

/// The name a `-schema-create.sql` file creates (its first CREATE DATABASE).
fn read_created_database(path: &Path) -> Result<Option<String>, LoadError> {
    let r = common::compress::open(path).map_err(|e| LoadError::new(format!("{}: cannot open: {e}", display_name(path))))?;
    for st in crate::statement::StatementReader::new(r) {
        let st = st.map_err(|e| LoadError::new(format!("{}: cannot read: {e}", display_name(path))))?;
        let text = String::from_utf8_lossy(&st.text);
        if let Some(db) = ddl::created_database(&text) {
            return Ok(Some(db));
        }
    }
    Ok(None)
}
