//! One dump from start to end: connect, lock, snapshot, catalog, the job
//! phases, the `metadata` file, and the stream.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use common::compress::WriteMode;
use common::conn::ConnectionConfig;
use common::checksum::{hex, DatabaseChecksums, Wanted};
use common::metadata::{DatabaseMeta, Metadata, QuoteChar, TableMeta};
use common::naming::{DumpFile, FileNameMapper};
use common::spare::SpareFiles;
use mysql::prelude::Queryable;

use crate::catalog::{self, ObjectKind};
use crate::cli::{Format, LockMode, Options};
use crate::output::Output;
use crate::snapshot;
use crate::worker::{self, Control, Ctx, Job, Queue, TableTask};
use crate::writer::{file_header, Headers};

/// Sent stream files kept for new ones to be written over, in pieces of
/// `-F` MB (see `common::spare`).
const SPARE_PIECES: u64 = 4;

fn now() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `-o`'s default, as mydumper names it: `export-YYYYMMDD-HHMMSS`.
pub fn default_outputdir() -> PathBuf {
    PathBuf::from(chrono::Local::now().format("export-%Y%m%d-%H%M%S").to_string())
}

/// The directory files are written to, the temporary directory that owns
/// it when the dump only streams, and with `--merge` the metadata of the
/// dump already there.
fn prepare_dir(opts: &Options) -> Result<(PathBuf, Option<tempfile::TempDir>, Option<Metadata>)> {
    if opts.stream.is_some() && opts.outputdir.is_none() {
        let tmp = tempfile::Builder::new()
            .prefix("rdumper-stream-")
            .tempdir()
            .context("cannot create a temporary directory for the stream's files")?;
        return Ok((tmp.path().to_path_buf(), Some(tmp), None));
    }
    let mut earlier = None;
    let dir = opts.outputdir.clone().unwrap_or_else(default_outputdir);
    if dir.exists() {
        if !dir.is_dir() {
            bail!("output directory {} exists and is not a directory", dir.display());
        }
        let mut entries = std::fs::read_dir(&dir).with_context(|| format!("cannot read output directory {}", dir.display()))?;
        if entries.next().is_some() {
            if opts.clear {
                clear_dir(&dir)?;
            } else if opts.merge {
                // Read, then removed as with --dirty: the metadata written
                // at the end holds its sections too.
                let old = dir.join("metadata");
                if old.exists() {
                    let text = std::fs::read_to_string(&old).with_context(|| format!("--merge: cannot read {}", old.display()))?;
                    let m = Metadata::parse(&text).map_err(|e| anyhow::anyhow!("--merge: {}: {e}", old.display()))?;
                    if !m.is_complete() {
                        bail!("--merge: {} is of a dump that did not finish", old.display());
                    }
                    std::fs::remove_file(&old).with_context(|| format!("--merge: cannot remove {}", old.display()))?;
                    earlier = Some(m);
                }
            } else if opts.dirty {
                // An earlier dump's metadata must not outlive a failure of this one.
                let old = dir.join("metadata");
                if old.exists() {
                    std::fs::remove_file(&old).with_context(|| format!("--dirty: cannot remove {}", old.display()))?;
                }
            } else {
                bail!("output directory {} is not empty: use --clear to empty it or --dirty to write into it", dir.display());
            }
        }
    } else {
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create output directory {}", dir.display()))?;
    }
    Ok((dir, None, earlier))
}

fn clear_dir(dir: &Path) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let p = e?.path();
        let r = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        r.with_context(|| format!("--clear: cannot remove {}", p.display()))?;
    }
    Ok(())
}

pub fn run(opts: &Options, conn_cfg: &ConnectionConfig) -> Result<()> {
    let started = now();
    let mut main = conn_cfg.connect()?;
    let server_mode: Option<String> = main
        .query_first("SELECT @@SESSION.SQL_MODE")
        .map_err(|e| common::conn::QueryError::new(&e))?;
    let sql_mode = snapshot::file_sql_mode(&server_mode.unwrap_or_default());
    snapshot::setup_session(&mut main, opts, &sql_mode)?;
    if opts.dry_run {
        return dry_run(opts, &mut main);
    }

    let (dir, tmp, earlier) = prepare_dir(opts)?;
    let control = Arc::new(Control::default());
    let mut meta = Metadata {
        started: Some(started),
        quote_character: QuoteChar::Backtick,
        local_infile: opts.format != Format::Insert,
        session_variables: vec![("SQL_MODE".into(), format!("'{sql_mode}' /*!40101"))],
        ..Metadata::default()
    };
    if opts.stream.is_none() {
        // Written first, so an unwritable directory fails before any lock.
        std::fs::write(dir.join("metadata.partial"), meta.header_text())
            .with_context(|| format!("cannot write into output directory {}", dir.display()))?;
    }

    // Files the stream has sent and would delete are kept as spares for
    // the next ones to be written over: a few pieces' worth (whole tables
    // without `-F` are too large to keep).
    let spares = match opts.stream {
        Some(mode) if mode.delete && opts.chunk_filesize_mb > 0 => {
            Some(Arc::new(SpareFiles::new(&dir, (SPARE_PIECES * (opts.chunk_filesize_mb + 1)) << 20)))
        }
        _ => None,
    };
    let (stream_tx, stream_thread) = match opts.stream {
        Some(mode) => {
            let (tx, _gate, handle) = crate::stream::start(mode, opts.stream_buffer, control.clone(), spares.clone())?;
            (Some(tx), Some(handle))
        }
        None => (None, None),
    };
    let write_mode = if stream_tx.is_some() || opts.no_sync { WriteMode::Buffered } else { WriteMode::Direct };
    let out = Output {
        dir: dir.clone(),
        compression: opts.compression,
        stream: stream_tx,
        bytes: AtomicU64::new(0),
        replace: opts.dirty || opts.merge,
        write_mode,
        sync: !opts.no_sync,
        spares,
        exec: match &opts.exec {
            Some(cmd) => Some(crate::exec::ExecPool::start(cmd, opts.exec_threads, control.clone())?),
            None => None,
        },
    };
    // `--merge`: the metadata starts with the earlier dump's sections.
    if let Some(old) = earlier {
        meta.tables = old.tables;
        meta.databases = old.databases;
    }
    let result = dump(opts, conn_cfg, &mut main, &sql_mode, &out, &control, &mut meta);

    // Closing the queue of the stream thread lets it finish.
    drop(out);
    if let Some(h) = stream_thread {
        if h.join().is_err() {
            control.fail(anyhow::anyhow!("the stream thread panicked"));
        }
    }
    let outcome = match (result, control.take_error()) {
        (Err(e), _) if !is_abort(&e) => Err(e),
        (_, Some(e)) => Err(e),
        (r, None) => r,
    };
    if outcome.is_ok() && opts.stream.is_none() {
        log::info!("dump finished in {}", dir.display());
    }
    drop(tmp);
    outcome
}

/// `--dry-run`: the objects a dump would take and the files it would
/// write of each, from the catalog alone: no lock, no snapshot, no output
/// directory. The list goes to stdout (stderr with `--stream`, whose stdout
/// stays empty).
fn dry_run(opts: &Options, main: &mut mysql::Conn) -> Result<()> {
    let cat = catalog::load(main, opts, &FileNameMapper::new(opts.masquerade_filename))?;
    let mut text = String::new();
    let (mut tables, mut rows) = (0usize, 0u64);
    for db in &cat.databases {
        text.push_str(&format!("database {}", common::escape::ident(&db.name)));
        if db.schema_create {
            text.push_str(" (CREATE DATABASE)");
        }
        text.push('\n');
        for t in &db.tables {
            let mut what: Vec<String> = Vec::new();
            if !opts.no_schemas {
                what.push("schema".into());
            }
            match t.kind {
                ObjectKind::Table if !t.skip_data => {
                    tables += 1;
                    rows += t.rows_estimate;
                    what.push(format!("data, about {} rows", t.rows_estimate));
                }
                ObjectKind::Table => tables += 1,
                _ => {}
            }
            if opts.triggers && !t.triggers.is_empty() && !opts.no_schemas {
                what.push(format!("{} triggers", t.triggers.len()));
            }
            let kind = match t.kind {
                ObjectKind::Table if t.from_view => "view as table",
                ObjectKind::Table => "table",
                ObjectKind::View => "view",
                ObjectKind::Sequence => "sequence",
            };
            let engine = if t.engine.is_empty() { String::new() } else { format!(" {}", t.engine) };
            text.push_str(&format!("  {kind} {}{engine}: {}\n", t.display(), what.join(", ")));
        }
        for r in &db.post {
            text.push_str(&format!("  {} {}\n", r.kind.to_ascii_lowercase(), common::escape::ident(&r.name)));
        }
    }
    text.push_str(&format!(
        "dry run: {} databases, {tables} tables (about {rows} rows) would be dumped; nothing was locked or written\n",
        cat.databases.len()
    ));
    use std::io::Write;
    let written = if opts.stream.is_some() {
        std::io::stderr().write_all(text.as_bytes())
    } else {
        std::io::stdout().write_all(text.as_bytes())
    };
    written.context("cannot write the list")
}

/// What the dump locks with, for the log.
fn lock_name(opts: &Options) -> &'static str {
    if opts.lock_all_tables {
        "table locks (--lock-all-tables)"
    } else {
        "global read lock"
    }
}

fn is_abort(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.to_string() == Control::aborted_error().to_string())
}

fn dump(
    opts: &Options,
    cfg: &ConnectionConfig,
    main: &mut mysql::Conn,
    sql_mode: &str,
    out: &Output,
    control: &Control,
    meta: &mut Metadata,
) -> Result<()> {
    let mut locked = false;
    // `--replica-data`: on a replica, its SQL thread stays stopped until the
    // workers have their snapshots.
    let mut replica = None;
    if opts.replica_data {
        match snapshot::replica_status(main)? {
            Some(status) => replica = Some(snapshot::ReplicaPause::stop(main, cfg, &status)?),
            None => log::warn!("--replica-data: the server is no replica; the metadata has no [replication] section"),
        }
    }
    match opts.lock {
        LockMode::None => {
            log::warn!("-k/--no-locks: no global read lock is taken; tables are read in each worker's own snapshot and may not be consistent with each other or with the binary log position");
        }
        LockMode::Full | LockMode::TrxOnly => {
            snapshot::long_query_guard(main, opts)?;
            if opts.lock_all_tables {
                // The tables to lock are listed before the lock; the catalog
                // the dump works from is read again under it.
                let selected = catalog::load(main, opts, &FileNameMapper::new(opts.masquerade_filename))?;
                snapshot::lock_tables(main, &selected)?;
            } else {
                snapshot::lock(main, opts)?;
            }
            locked = true;
        }
    }
    meta.source = snapshot::source_position(main)?;
    meta.source_data = opts.source_data;
    meta.source_host = cfg.host.clone();
    if replica.is_some() {
        meta.replication = snapshot::replica_status(main)?.map(|s| snapshot::replica_position(&s));
    }

    let mut conns = Vec::with_capacity(opts.threads);
    for i in 0..opts.threads {
        let mut c = snapshot::connect(cfg, opts, sql_mode).with_context(|| format!("worker {i}"))?;
        if opts.use_savepoints && !snapshot::savepoint_session(&mut c) && i == 0 {
            log::warn!("--use-savepoints: cannot turn off the binary log of the workers' sessions (it needs SUPER or BINLOG ADMIN); with it on, the server keeps each table's metadata lock to the end of the dump");
        }
        snapshot::start_transaction(&mut c).with_context(|| format!("worker {i}"))?;
        conns.push(c);
    }
    if opts.lock == LockMode::None {
        // Without a lock only an unmoved binary log shows that the workers'
        // snapshots are of one moment.
        let now = snapshot::source_position(main)?;
        if now != meta.source {
            let show = |p: &Option<common::metadata::SourcePosition>| {
                p.as_ref().map(|p| format!("{}:{} (GTID {})", p.log_file, p.log_pos, p.gtid)).unwrap_or_else(|| "none".into())
            };
            let moved = format!("the binary log moved from {} to {} while the workers took their snapshots", show(&meta.source), show(&now));
            if opts.safe_no_lock {
                anyhow::bail!("{moved}: their snapshots may differ (--sync-thread-lock-mode=SAFE_NO_LOCK); dump again, or with a lock");
            }
            log::warn!("{moved}: tables may not be consistent with each other");
        }
    }
    if let Some(r) = replica.as_mut() {
        r.resume()?;
    }
    let worker_ids: Vec<u32> = conns.iter().map(|c| c.connection_id()).collect();
    let names = FileNameMapper::new(opts.masquerade_filename);
    let cat = catalog::load(main, opts, &names)?;
    if locked && opts.lock == LockMode::TrxOnly {
        snapshot::unlock(main)?;
        locked = false;
        log::info!("{} released", lock_name(opts));
    }

    if out.stream.is_some() {
        let path = out.write_plain(&DumpFile::MetadataHeader.file_name(), &meta.header_text())?;
        out.publish(&path)?;
    }
    if opts.updated_since.is_some() {
        let list: String = cat.not_updated.iter().map(|t| format!("{t}\n")).collect();
        let path = out.write_plain(&DumpFile::NotUpdatedTables.file_name(), &list)?;
        out.publish(&path)?;
    }

    let headers = Headers {
        schema: file_header(&opts.set_names_schema, sql_mode, opts.tz_utc, opts.compact),
        other: file_header(&opts.set_names_other, sql_mode, opts.tz_utc, opts.compact),
    };

    // Every object, in catalog order.
    let mut tasks: Vec<Arc<TableTask>> = Vec::new();
    for db in &cat.databases {
        for t in &db.tables {
            tasks.push(Arc::new(TableTask::new(t.clone())));
        }
    }
    let mut data_tasks: Vec<&Arc<TableTask>> =
        tasks.iter().filter(|t| t.table.kind == ObjectKind::Table && !t.table.skip_data).collect();
    // Largest tables first, so that the workers finish close together.
    data_tasks.sort_by_key(|t| std::cmp::Reverse(t.table.rows_estimate));
    let progress = common::progress::bar(data_tasks.len() as u64, "tables");
    let queue = Queue::default();
    let ctx = Ctx {
        opts,
        out,
        headers: &headers,
        control,
        queue: &queue,
        progress: &progress,
        rows: AtomicU64::new(0),
        max_statement: AtomicU64::new(0),
        total_rows_estimate: data_tasks.iter().map(|t| t.table.rows_estimate).sum(),
        raw_wire: cfg.raw_wire(),
        disk: opts.disk_limits.map(|l| crate::disk::DiskGuard::new(&out.dir, l)),
        schema_sums: Default::default(),
    };

    // `--pmm-path`: the dump's progress for a textfile collector.
    let samples = || {
        let n = common::pmm::Sample::new;
        vec![
            n("object", "all_tables", tasks.len() as u64),
            n("object", "tables_done", ctx.progress.position()),
            n("queue", "jobs", queue.pending() as u64),
            n("rows", "dumped", ctx.rows.load(Ordering::Relaxed)),
            n("bytes", "written", out.bytes.load(Ordering::Relaxed)),
        ]
    };
    let pmm = match &opts.pmm_dir {
        Some(dir) => Some(common::pmm::MetricsFile::create(dir, "mydumper.prom", "mydumper", &samples())?),
        None => None,
    };
    let pmm_stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| -> Result<()> {
        for (i, conn) in conns.iter_mut().enumerate() {
            let ctx = &ctx;
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn_scoped(s, move || worker::run(conn, ctx))
                .context("cannot start a worker thread")?;
        }
        if let Some(m) = &pmm {
            let (stop, samples) = (&pmm_stop, &samples);
            std::thread::Builder::new()
                .name("pmm".into())
                .spawn_scoped(s, move || m.run(stop, samples))
                .context("cannot start the --pmm-path thread")?;
        }
        let mut jobs = Jobs { queue: &queue, control, worker_ids: &worker_ids, killed: false };
        let result = phases(opts, main, &cat, &tasks, &data_tasks, &mut jobs, &mut locked);
        queue.close();
        pmm_stop.store(true, Ordering::Relaxed);
        result
    })?;
    drop(pmm);
    progress.finish_and_clear();
    if control.aborted() {
        return Err(Control::aborted_error());
    }
    if locked {
        snapshot::unlock(main)?;
    }

    // The metadata: sections sorted by the real `db`.`table`.
    let sums = std::mem::take(&mut *ctx.schema_sums.lock().unwrap_or_else(|p| p.into_inner()));
    let mut sections: Vec<(String, TableMeta)> = tasks
        .iter()
        .map(|t| {
            let tb = &t.table;
            let key = format!("{}.{}", common::escape::ident(&tb.db), common::escape::ident(&tb.name));
            let (schema_checksum, indexes_checksum, triggers_checksum) =
                sums.get(&tb.db).map(|s| table_checksums(opts, tb, s)).unwrap_or_default();
            let meta = TableMeta {
                db: tb.db_form.clone(),
                table: tb.name_form.clone(),
                real_table_name: Some(tb.name.clone()),
                rows: t.rows.load(Ordering::SeqCst),
                is_view: tb.kind == ObjectKind::View,
                is_sequence: tb.kind == ObjectKind::Sequence,
                data_checksum: t.checksum.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                schema_checksum,
                indexes_checksum,
                triggers_checksum,
            };
            (key, meta)
        })
        .collect();
    // `--merge`: the earlier dump's tables not dumped again.
    for t in std::mem::take(&mut meta.tables) {
        if !sections.iter().any(|(_, m)| m.db == t.db && m.table == t.table) {
            let real = t.real_table_name.as_deref().unwrap_or(&t.table);
            sections.push((format!("{}.{}", common::escape::ident(&t.db), common::escape::ident(real)), t));
        }
    }
    if !opts.skip_metadata_sorting {
        sections.sort_by(|a, b| a.0.cmp(&b.0));
    }
    meta.tables = sections.into_iter().map(|(_, m)| m).collect();
    let earlier_databases = std::mem::take(&mut meta.databases);
    meta.databases = cat
        .databases
        .iter()
        .filter_map(|db| {
            let entries = database_checksums(opts, db, sums.get(&db.name)?);
            (!entries.is_empty()).then(|| DatabaseMeta { db: db.name.clone(), entries })
        })
        .collect();
    for d in earlier_databases {
        if !cat.databases.iter().any(|x| x.name == d.db) {
            meta.databases.push(d);
        }
    }
    meta.max_statement_size = Some(ctx.max_statement.load(Ordering::SeqCst));
    meta.num_sequences = Some(tasks.iter().filter(|t| t.table.kind == ObjectKind::Sequence).count() as u64);
    meta.finished = Some(now());

    if out.stream.is_some() {
        let path = out.write_plain(&DumpFile::Metadata.file_name(), &meta.to_text())?;
        out.publish(&path)?;
    } else {
        // The data reaches the disk before a metadata says the dump finished
        // (unless `--no-sync` leaves both to the kernel).
        let sync = |what: &str| {
            if !out.sync {
                return Ok(());
            }
            common::compress::sync_filesystem(&out.dir)
                .with_context(|| format!("cannot write the dump to disk in {} ({what})", out.dir.display()))
        };
        sync("data files")?;
        // Every file's --exec run succeeded before a metadata says the
        // dump finished.
        if let Some(exec) = &out.exec {
            exec.wait();
            if let Some(e) = control.take_error() {
                return Err(e);
            }
        }
        out.write_plain("metadata.partial", &meta.to_text())?;
        std::fs::rename(out.dir.join("metadata.partial"), out.dir.join("metadata"))
            .with_context(|| format!("cannot rename metadata.partial to metadata in {}", out.dir.display()))?;
        sync("metadata")?;
        if let Some(exec) = &out.exec {
            exec.run_now(&out.dir.join("metadata")).context("the dump is complete; its metadata's --exec run failed")?;
        }
    }
    log::info!(
        "dumped {} rows of {} tables, {}",
        ctx.rows.load(Ordering::SeqCst),
        data_tasks.len(),
        common::progress::human_bytes(out.bytes.load(Ordering::SeqCst))
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn phases(
    opts: &Options,
    main: &mut mysql::Conn,
    cat: &catalog::Catalog,
    tasks: &[Arc<TableTask>],
    data_tasks: &[&Arc<TableTask>],
    jobs: &mut Jobs,
    locked: &mut bool,
) -> Result<()> {
    let queue = jobs.queue;
    // Phase 1, under the lock: schemas, routines, sequences, and the data of
    // tables without transactions; the definitions' checksums first, as
    // they were when the schemas were written.
    for db in &cat.databases {
        let wanted = checksums_wanted(opts, db);
        if wanted.any() {
            queue.push(Job::Checksums { db: db.name.clone(), wanted });
        }
    }
    for db in &cat.databases {
        if db.schema_create {
            queue.push(Job::SchemaCreate { db: db.name.clone(), form: db.form.clone() });
        }
    }
    for t in tasks {
        match t.table.kind {
            ObjectKind::Table if !opts.no_schemas => queue.push(Job::TableSchema(t.clone())),
            ObjectKind::Sequence if !opts.no_schemas => queue.push(Job::Sequence(t.clone())),
            _ => {}
        }
    }
    for db in &cat.databases {
        if !db.post.is_empty() {
            queue.push(Job::Post { db: db.name.clone(), form: db.form.clone(), routines: db.post.clone() });
        }
    }
    let hold_lock = *locked && opts.lock == LockMode::Full;
    for t in data_tasks {
        if hold_lock && !t.table.transactional(&opts.trx_engines) {
            queue.push(Job::PlanData((*t).clone()));
        }
    }
    jobs.wait(main);
    if jobs.control.aborted() {
        return Ok(());
    }
    if *locked {
        snapshot::unlock(main)?;
        *locked = false;
        log::info!("{} released", lock_name(opts));
    }

    // Phase 2: the other data, then views and triggers.
    for t in data_tasks {
        if !hold_lock || t.table.transactional(&opts.trx_engines) {
            queue.push(Job::PlanData((*t).clone()));
        }
    }
    for t in tasks {
        if opts.no_schemas {
            break;
        }
        if t.table.kind == ObjectKind::View {
            queue.push(Job::View(t.clone()));
        }
        if t.table.kind == ObjectKind::Table && !t.table.triggers.is_empty() {
            queue.push(Job::Triggers(t.clone()));
        }
    }
    jobs.wait(main);
    Ok(())
}

/// Which of a table's (view's, sequence's) checksums the metadata records.
#[derive(Debug, Clone, Copy, Default)]
struct TableRecords {
    columns: bool,
    indexes: bool,
    view: bool,
    triggers: bool,
}

fn table_records(opts: &Options, t: &catalog::Table) -> TableRecords {
    let k = opts.checksums;
    if opts.no_schemas {
        return TableRecords::default();
    }
    let indexes = k.index && !opts.skip_indexes && !t.from_view;
    match t.kind {
        // A view dumped as a table is created from its columns.
        ObjectKind::Table => {
            TableRecords { columns: k.table, indexes, triggers: k.table_triggers && opts.triggers && !t.from_view, view: false }
        }
        ObjectKind::View => TableRecords { view: k.view, ..TableRecords::default() },
        // A sequence's columns and (no) indexes, as mydumper records them.
        ObjectKind::Sequence => TableRecords { columns: k.table, indexes, ..TableRecords::default() },
    }
}

/// Which of a database's own checksums the metadata records.
struct DatabaseRecords {
    schema: bool,
    routines: bool,
    events: bool,
    triggers: bool,
}

fn database_records(opts: &Options, db: &catalog::Database) -> DatabaseRecords {
    let k = opts.checksums;
    DatabaseRecords {
        schema: k.database && db.schema_create,
        routines: k.routines && opts.routines,
        events: k.events && opts.events,
        triggers: k.triggers && opts.triggers && db.all_tables && !opts.no_schemas,
    }
}

/// What to read of a database: what the metadata records of it and of
/// its tables.
fn checksums_wanted(opts: &Options, db: &catalog::Database) -> Wanted {
    let d = database_records(opts, db);
    let mut w = Wanted { schema: d.schema, routines: d.routines, events: d.events, triggers: d.triggers, ..Wanted::default() };
    for t in &db.tables {
        let r = table_records(opts, t);
        w.columns |= r.columns;
        w.indexes |= r.indexes;
        w.views |= r.view;
        w.triggers |= r.triggers;
    }
    w
}

/// A table's or view's `schema_checksum`, `indexes_checksum` and
/// `triggers_checksum`.
fn table_checksums(
    opts: &Options,
    t: &catalog::Table,
    sums: &DatabaseChecksums,
) -> (Option<String>, Option<String>, Option<String>) {
    let r = table_records(opts, t);
    let schema = if t.kind == ObjectKind::View { r.view.then(|| sums.view(&t.name)) } else { r.columns.then(|| sums.table(&t.name)) };
    (schema, r.indexes.then(|| sums.indexes(&t.name)), r.triggers.then(|| sums.table_triggers(&t.name)))
}

/// A database section's checksums, in mydumper's order.
fn database_checksums(opts: &Options, db: &catalog::Database, sums: &DatabaseChecksums) -> Vec<(String, String)> {
    let d = database_records(opts, db);
    [
        ("schema_checksum", d.schema, hex(sums.schema)),
        ("post_checksum", d.routines, hex(sums.routines)),
        ("events_checksum", d.events, hex(sums.events)),
        ("triggers_checksum", d.triggers, sums.all_triggers()),
    ]
    .into_iter()
    .filter(|(_, on, _)| *on)
    .map(|(key, _, value)| (key.to_string(), value))
    .collect()
}

/// The main thread's view of the workers.
struct Jobs<'a> {
    queue: &'a Queue,
    control: &'a Control,
    worker_ids: &'a [u32],
    killed: bool,
}

impl Jobs<'_> {
    /// Waits for the queued jobs. Once anything failed, the workers'
    /// running queries are killed, so that they stop at once rather than
    /// read their chunks to the end.
    fn wait(&mut self, main: &mut mysql::Conn) {
        while !self.queue.wait_idle_for(std::time::Duration::from_millis(100)) {
            if self.control.aborted() && !self.killed {
                self.killed = true;
                for id in self.worker_ids {
                    let _ = main.query_drop(format!("KILL QUERY {id}"));
                }
            }
        }
    }
}
