//! Workers: one thread and one server connection each, all inside the same
//! snapshot, taking jobs (schema files, chunk plans, chunks, views,
//! triggers, sequences) from a shared queue. The first failure stops every
//! worker.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use common::checksum::DatabaseChecksums;
use common::escape::{ident, ValueKind};
use common::naming::{ChunkId, DataExt, DumpFile};
use crossbeam_channel::{Receiver, Sender};
use indicatif::ProgressBar;
use mysql::prelude::Queryable;

use crate::catalog::{text, Routine, Table};
use crate::chunk::{self, Chunk};
use crate::cli::Options;
use crate::output::Output;
use crate::rows::{self, RowsError};
use crate::schema;
use crate::writer::{ChunkWriter, Headers};

/// Stop flag and first error, shared by the workers, the stream thread and
/// the main thread.
#[derive(Default)]
pub struct Control {
    abort: AtomicBool,
    error: Mutex<Option<anyhow::Error>>,
}

impl Control {
    /// Records a failure (the first one is reported) and stops everything.
    pub fn fail(&self, e: anyhow::Error) {
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
        self.abort.store(true, Ordering::SeqCst);
    }

    /// Whether work must stop: something failed, or a signal asked to stop.
    pub fn aborted(&self) -> bool {
        if self.abort.load(Ordering::Relaxed) {
            return true;
        }
        if common::cancel::is_cancelled() {
            self.fail(anyhow!("interrupted by a signal; the dump is incomplete"));
            return true;
        }
        false
    }

    /// The error of work stopped because something else failed.
    pub fn aborted_error() -> anyhow::Error {
        anyhow!("stopped because another part of the dump failed")
    }

    pub fn take_error(&self) -> Option<anyhow::Error> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// A table's data being dumped: rows so far and chunks still to do.
pub struct TableTask {
    pub table: Table,
    pub rows: AtomicU64,
    pending: AtomicUsize,
    pub checksum: Mutex<Option<String>>,
    /// `--check-row-count`: the rows COUNT(*) found in the snapshot.
    counted: OnceLock<u64>,
    /// Workers dumping a chunk of it now (`--max-threads-per-table`).
    busy: AtomicUsize,
}

impl TableTask {
    pub fn new(table: Table) -> TableTask {
        TableTask {
            table,
            rows: AtomicU64::new(0),
            pending: AtomicUsize::new(0),
            checksum: Mutex::new(None),
            counted: OnceLock::new(),
            busy: AtomicUsize::new(0),
        }
    }
}

pub enum Job {
    SchemaCreate { db: String, form: String },
    TableSchema(Arc<TableTask>),
    Post { db: String, form: String, routines: Vec<Routine> },
    Sequence(Arc<TableTask>),
    PlanData(Arc<TableTask>),
    Chunk(Arc<TableTask>, Chunk),
    View(Arc<TableTask>),
    Triggers(Arc<TableTask>),
    /// The definitions' checksums of one database, for the metadata.
    Checksums { db: String, wanted: common::checksum::Wanted },
}

impl Job {
    fn describe(&self) -> String {
        match self {
            Job::SchemaCreate { db, .. } => format!("database {}", ident(db)),
            Job::TableSchema(t) => format!("schema of {}", t.table.display()),
            Job::Post { db, .. } => format!("routines and events of {}", ident(db)),
            Job::Sequence(t) => format!("sequence {}", t.table.display()),
            Job::PlanData(t) => format!("{} (planning chunks)", t.table.display()),
            Job::Chunk(t, c) => format!("{} {}", t.table.display(), c.describe(t.table.key.as_ref().map(|k| k.column.as_str()))),
            Job::View(t) => format!("view {}", t.table.display()),
            Job::Triggers(t) => format!("triggers of {}", t.table.display()),
            Job::Checksums { db, .. } => format!("checksums of the definitions in {}", ident(db)),
        }
    }
}

/// The job queue. Workers may add jobs (chunks of a planned table); the
/// main thread waits until every job of a phase is done.
pub struct Queue {
    tx: Mutex<Option<Sender<Job>>>,
    rx: Receiver<Job>,
    pending: Mutex<usize>,
    idle: Condvar,
}

impl Default for Queue {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Queue { tx: Mutex::new(Some(tx)), rx, pending: Mutex::new(0), idle: Condvar::new() }
    }
}

impl Queue {
    pub fn push(&self, job: Job) {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = tx.as_ref() {
            *self.pending.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            if tx.send(job).is_err() {
                self.done();
            }
        }
    }

    fn done(&self) {
        let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        *p = p.saturating_sub(1);
        if *p == 0 {
            self.idle.notify_all();
        }
    }

    /// Waits up to `timeout` for every queued job (and the jobs they
    /// queued) to be done; returns whether they are.
    pub fn wait_idle_for(&self, timeout: Duration) -> bool {
        let p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let p = match self.idle.wait_timeout_while(p, timeout, |n| *n > 0) {
            Ok((g, _)) => g,
            Err(e) => e.into_inner().0,
        };
        *p == 0
    }

    /// Jobs queued or running.
    pub fn pending(&self) -> usize {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// No more jobs: workers finish once the queue is empty.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// What the workers share.
pub struct Ctx<'a> {
    pub opts: &'a Options,
    pub out: &'a Output,
    pub headers: &'a Headers,
    pub control: &'a Control,
    pub queue: &'a Queue,
    pub progress: &'a ProgressBar,
    pub rows: AtomicU64,
    pub max_statement: AtomicU64,
    /// The estimated rows of every table whose data is dumped, for chunk
    /// sizing.
    pub total_rows_estimate: u64,
    /// The connections are plain sockets: rows are read from them directly.
    pub raw_wire: bool,
    /// `--disk-limits`.
    pub disk: Option<crate::disk::DiskGuard>,
    /// Checksums of the databases' definitions, by database.
    pub schema_sums: Mutex<HashMap<String, DatabaseChecksums>>,
}

impl Ctx<'_> {
    fn show_progress(&self) {
        let bytes = self.out.bytes.load(Ordering::Relaxed);
        let secs = self.progress.elapsed().as_secs_f64().max(0.001);
        self.progress.set_message(format!(
            "{} rows, {} ({}/s)",
            self.rows.load(Ordering::Relaxed),
            common::progress::human_bytes(bytes),
            common::progress::human_bytes((bytes as f64 / secs) as u64)
        ));
    }
}

/// A worker's life: take jobs until the queue closes.
pub fn run(conn: &mut mysql::Conn, ctx: &Ctx) {
    while let Ok(job) = ctx.queue.rx.recv() {
        // `--max-threads-per-table`: a chunk of a table that has its share
        // of workers goes back to the end of the queue.
        let table = match &job {
            Job::Chunk(t, _) => Some(t.clone()),
            _ => None,
        };
        if let Some(t) = &table {
            let limit = match ctx.opts.max_threads_per_table {
                0 => usize::MAX,
                n => n,
            };
            if t.busy.fetch_add(1, Ordering::SeqCst) >= limit {
                t.busy.fetch_sub(1, Ordering::SeqCst);
                ctx.queue.push(job);
                ctx.queue.done();
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        }
        if let Some(disk) = &ctx.disk {
            disk.wait_for_space(ctx.control);
        }
        if let Some(t) = &ctx.opts.throttle {
            if let Err(e) = t.wait(conn, &|| ctx.control.aborted()) {
                ctx.control.fail(e);
            }
        }
        if !ctx.control.aborted() {
            // A panic fails the dump like an error: the job is still
            // counted as done, so the phase that waits for it ends.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_job_in_savepoint(conn, ctx, &job)))
                .unwrap_or_else(|p| Err(anyhow!("internal error: {}", panic_text(&p))));
            if let Err(e) = r {
                match common::conn::server_code(&e).filter(|c| ctx.opts.ignore_errors.contains(c)) {
                    Some(code) => log::warn!("{}: {e:#}; skipped (--ignore-errors {code})", job.describe()),
                    None if !ctx.control.aborted() => ctx.control.fail(e.context(job.describe())),
                    None => {}
                }
            }
        }
        if let Some(t) = &table {
            t.busy.fetch_sub(1, Ordering::SeqCst);
        }
        ctx.queue.done();
    }
    // Ends the snapshot; the connection closes when dropped.
    let _ = conn.query_drop("ROLLBACK");
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> &str {
    p.downcast_ref::<&str>().copied().or_else(|| p.downcast_ref::<String>().map(String::as_str)).unwrap_or("a worker panicked")
}

/// With `--use-savepoints` a job runs after a savepoint, and the transaction
/// rolls back to it when the job is done: that releases the metadata locks
/// the job's queries took, while the snapshot stays the same.
fn run_job_in_savepoint(conn: &mut mysql::Conn, ctx: &Ctx, job: &Job) -> Result<()> {
    if !ctx.opts.use_savepoints {
        return run_job(conn, ctx, job);
    }
    crate::snapshot::exec(conn, "SAVEPOINT rdumper")?;
    run_job(conn, ctx, job)?;
    crate::snapshot::exec(conn, "ROLLBACK TO SAVEPOINT rdumper")
}

fn run_job(conn: &mut mysql::Conn, ctx: &Ctx, job: &Job) -> Result<()> {
    let out = ctx.out;
    let comp = out.compression;
    let schema_file = |file: DumpFile, body: String| -> Result<()> {
        let mut content = ctx.headers.schema.clone();
        content.push_str(&body);
        out.write_file(file, content.as_bytes())
    };
    let other_file = |file: DumpFile, body: String| -> Result<()> {
        let mut content = ctx.headers.other.clone();
        content.push_str(&body);
        out.write_file(file, content.as_bytes())
    };
    match job {
        Job::SchemaCreate { db, form } => {
            other_file(DumpFile::SchemaCreate { db: form.clone(), compression: comp }, schema::database_create(conn, db)?)
        }
        Job::TableSchema(t) => {
            let tb = &t.table;
            schema_file(
                DumpFile::TableSchema { db: tb.db_form.clone(), table: tb.name_form.clone(), compression: comp },
                schema::table_create(conn, tb, ctx.opts)?,
            )
        }
        Job::Post { db, form, routines } => {
            other_file(DumpFile::Post { db: form.clone(), compression: comp }, schema::post(conn, db, routines, &ctx.opts.definer)?)
        }
        Job::Sequence(t) => {
            let tb = &t.table;
            other_file(
                DumpFile::SequenceSchema { db: tb.db_form.clone(), table: tb.name_form.clone(), compression: comp },
                schema::sequence(conn, tb)?,
            )
        }
        Job::View(t) => {
            let tb = &t.table;
            let placeholder = schema::view_placeholder(conn, tb, &ctx.opts.view_placeholder_engine)?;
            let view = schema::view_create(conn, tb, &ctx.opts.definer)?;
            other_file(
                DumpFile::TableSchema { db: tb.db_form.clone(), table: tb.name_form.clone(), compression: comp },
                placeholder,
            )?;
            other_file(DumpFile::ViewSchema { db: tb.db_form.clone(), table: tb.name_form.clone(), compression: comp }, view)
        }
        Job::Triggers(t) => {
            let tb = &t.table;
            other_file(
                DumpFile::Triggers { db: tb.db_form.clone(), table: Some(tb.name_form.clone()), compression: comp },
                schema::triggers(conn, tb, &ctx.opts.definer)?,
            )
        }
        Job::PlanData(t) => plan_table(conn, ctx, t),
        Job::Chunk(t, c) => dump_chunk(conn, ctx, t, c),
        Job::Checksums { db, wanted } => {
            let sums = DatabaseChecksums::read(conn, db, *wanted)
                .map_err(|e| common::conn::QueryError::during(&e, "reading the definitions' checksums"))?;
            ctx.schema_sums.lock().unwrap_or_else(|p| p.into_inner()).insert(db.clone(), sums);
            Ok(())
        }
    }
}

fn plan_table(conn: &mut mysql::Conn, ctx: &Ctx, t: &Arc<TableTask>) -> Result<()> {
    if ctx.opts.checksums.data {
        let r: Option<mysql::Row> = conn
            .query_first(format!("CHECKSUM TABLE {}", t.table.qualified()))
            .map_err(|e| common::conn::QueryError::during(&e, "CHECKSUM TABLE"))?;
        let sum = r.map(|r| text(&r[1])).filter(|s| !s.is_empty());
        *t.checksum.lock().unwrap_or_else(|p| p.into_inner()) = sum;
    }
    let partitioned = match &ctx.opts.partitions {
        Some(regex) => chunk::partitions(conn, &t.table, regex.as_ref())?,
        None => None,
    };
    let chunks = match partitioned {
        Some(chunks) => chunks,
        None => {
            let sizing = chunk::Sizing {
                rows: ctx.opts.rows,
                threads: ctx.opts.threads,
                total_rows: ctx.total_rows_estimate,
                split_string: ctx.opts.split_string_pk,
                hard: ctx.opts.rows_hard,
            };
            chunk::plan(conn, &t.table, &sizing)?
        }
    };
    if ctx.opts.check_row_count {
        // The rows of the chunks' partitions when they read partitions.
        let names: Vec<String> = chunks.iter().filter_map(|c| c.partition.as_deref()).map(ident).collect();
        let n = if chunks.is_empty() {
            Some(0)
        } else {
            let from = if names.is_empty() { String::new() } else { format!(" PARTITION ({})", names.join(", ")) };
            let mut q = format!("SELECT COUNT(*) FROM {}{from}", t.table.qualified());
            if let Some(w) = &ctx.opts.where_clause {
                q.push_str(&format!(" WHERE ({w})"));
            }
            conn.query_first(&q).map_err(|e| common::conn::QueryError::during(&e, &format!("while running {q}")))?
        };
        let _ = t.counted.set(n.unwrap_or(0));
    }
    if chunks.is_empty() {
        log::info!("{}: no partition matches --partition-regex", t.table.display());
        return table_done(ctx, t).with_context(|| format!("finishing {}", t.table.display()));
    }
    log::info!("{}: {} chunk(s)", t.table.display(), chunks.len());
    t.pending.store(chunks.len(), Ordering::SeqCst);
    for c in chunks {
        ctx.queue.push(Job::Chunk(t.clone(), c));
    }
    Ok(())
}

fn dump_chunk(conn: &mut mysql::Conn, ctx: &Ctx, t: &Arc<TableTask>, c: &Chunk) -> Result<()> {
    let tb = &t.table;
    let cols: Vec<String> = tb
        .data_columns()
        .map(|col| if col.kind == ValueKind::Float { format!("{} + 0e0", ident(&col.name)) } else { ident(&col.name) })
        .collect();
    let mut conds = Vec::new();
    if let Some(cond) = tb.key.as_ref().and_then(|k| c.condition(&k.column)) {
        conds.push(cond);
    }
    if let Some(w) = &ctx.opts.where_clause {
        conds.push(format!("({w})"));
    }
    let mut q = format!("SELECT /*!40001 SQL_NO_CACHE */ {} FROM {}{}", cols.join(", "), tb.qualified(), c.partition_clause());
    if !conds.is_empty() {
        q.push_str(&format!(" WHERE {}", conds.join(" AND ")));
    }
    if ctx.opts.order_by_primary && !tb.key_columns.is_empty() {
        let order: Vec<String> = tb.key_columns.iter().map(|k| ident(k)).collect();
        q.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }
    let mut w = ChunkWriter::new(ctx.out, ctx.opts, ctx.headers, tb, c.part);
    let mut since_update = 0u64;
    let read = rows::for_each_row(conn, ctx.raw_wire, &q, |row| {
        if ctx.control.aborted() {
            return Err(Control::aborted_error());
        }
        w.row(row.values())?;
        since_update += 1;
        if since_update == 20_000 {
            ctx.rows.fetch_add(since_update, Ordering::Relaxed);
            since_update = 0;
            ctx.show_progress();
        }
        Ok(())
    });
    read.map_err(RowsError::into_query_error)?;
    let (rows, max_statement) = w.finish()?;
    log::info!(
        "{} {}: {rows} rows by {}",
        tb.display(),
        c.describe(tb.key.as_ref().map(|k| k.column.as_str())),
        std::thread::current().name().unwrap_or("worker")
    );
    ctx.rows.fetch_add(since_update, Ordering::Relaxed);
    ctx.max_statement.fetch_max(max_statement, Ordering::Relaxed);
    t.rows.fetch_add(rows, Ordering::Relaxed);
    if t.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
        table_done(ctx, t).with_context(|| format!("finishing {}", tb.display()))?;
    }
    ctx.show_progress();
    Ok(())
}

/// All chunks of a table are written.
fn table_done(ctx: &Ctx, t: &TableTask) -> Result<()> {
    if let Some(&counted) = t.counted.get() {
        let written = t.rows.load(Ordering::SeqCst);
        if written != counted {
            bail!("{written} rows written, but COUNT(*) counts {counted} in the same snapshot (--check-row-count)");
        }
        log::info!("{}: {written} rows, as COUNT(*) counts (--check-row-count)", t.table.display());
    }
    if t.rows.load(Ordering::SeqCst) == 0 && ctx.opts.build_empty_files {
        let f = DumpFile::Data {
            db: t.table.db_form.clone(),
            table: t.table.name_form.clone(),
            chunk: ChunkId::new(0, 0),
            ext: DataExt::Sql,
            compression: ctx.out.compression,
        };
        // An empty table's file is empty: no header, no statement.
        let file = ctx.out.create(f)?;
        ctx.out.finish(file)?;
    }
    ctx.progress.inc(1);
    Ok(())
}
