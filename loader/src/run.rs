//! A whole load: connections, global variables, workers, the input (a
//! directory or the stream on stdin) and the scheduler.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use common::config::Config;
use common::conn::{server_message, ConnectionConfig};
use common::naming::DumpFile;
use common::pattern::TableFilter;
use crossbeam_channel::{bounded, unbounded, Sender};
use mysql::prelude::Queryable;

use crate::backlog::Backlog;
use crate::cli::Cli;
use crate::ddl;
use crate::exec::{Session, Settings, Shared};
use crate::files::Registry;
use crate::scheduler::{Input, Scheduler, Selection};

pub fn run(cli: Cli, config: Config) -> Result<()> {
    common::logging::init("rloader", cli.app.verbose, cli.app.debug, cli.app.machine_log_json, cli.app.logfile.as_deref())?;
    config.log_ignored();
    let load = &cli.load;
    common::compress::set_exec(load.exec_per_thread.as_deref(), load.exec_per_thread_extension.as_deref())?;
    if load.drop_database && (load.skip_create_database || load.no_schemas) {
        bail!("--drop-database would leave no database to load into with --skip-create-database or --no-schemas");
    }
    if load.drop_database && load.resume {
        log::info!("--drop-database: not with --resume, which loads the rest into the databases the interrupted load filled");
    }
    let mut selection = selection(&cli, &config)?;
    let conn = ConnectionConfig::from_args(&cli.conn)?;
    if load.mysqldump {
        return load_mysqldump(&cli, &conn);
    }
    let dry_run = cli.app.dry_run || load.stream == Some(crate::cli::StreamMode::Unpack);
    if load.stream == Some(crate::cli::StreamMode::Unpack) && load.directory.is_none() {
        bail!("--stream=UNPACK keeps the received files: give -d DIR to receive them into");
    }
    let mut control = if dry_run { None } else { Some(conn.connect()?) };
    if load.stream.is_none() && load.directory.is_none() {
        bail!("no dump to load: give -d/--directory DIR, or --stream to read one from stdin");
    }
    match (&load.stream, &load.directory) {
        (None, Some(dir)) => {
            selection.resume = resume_list(dir, load.resume)?;
            if !load.kill_at_once && !dry_run {
                selection.resume_file = Some(dir.join(RESUME));
            }
        }
        _ if load.resume => bail!("--resume loads files of a dump directory; it cannot go with --stream"),
        _ => {}
    }
    let workers = cli.app.worker_count().max(1);
    let server_mode: Option<String> = match control.as_mut() {
        Some(c) => c
            .query_first("SELECT @@SESSION.SQL_MODE")
            .map_err(|e| anyhow::anyhow!("cannot read the server's SQL_MODE: {}", server_message(&e)))?,
        None => None,
    };

    let receiving = match load.stream {
        Some(_) => Some(Receiving::new(load.directory.as_deref())?),
        None => None,
    };
    let delete_loaded = load.stream.is_some() && load.delete_streamed();
    let backlog = match &receiving {
        Some(r) if delete_loaded => Backlog::new(&r.base, load.stream_buffer),
        _ => Backlog::unbounded(),
    };
    let shared = Arc::new(Shared {
        settings: Settings {
            drop_mode: load.drop_mode(),
            retry_count: load.retry_count,
            queries_per_transaction: load.queries_per_transaction,
            definer: common::definer::Definer::from_options(load.skip_definer, load.replace_definer.as_deref())?,
            ignore_sets: load.ignored_sets(),
            delete_loaded,
            set_names: load.set_names.clone(),
            enable_binlog: load.enable_binlog,
            sql_mode: ddl::load_sql_mode(server_mode.as_deref().unwrap_or("")),
            inserts_as_data: !load.plain_inserts,
            ignore_errors: common::options::parse_error_codes(load.ignore_errors.as_deref().unwrap_or(""))?,
            raw_wire: conn.raw_wire(),
            // A resumed load keeps what the interrupted one loaded.
            drop_database: load.drop_database && !load.resume,
            skip_indexes: load.skip_indexes,
            append_if_not_exist: load.append_if_not_exist,
            show_warnings: load.show_warnings,
            throttle: load.throttle.as_deref().map(common::throttle::Throttle::parse).transpose()?,
            optimize_keys_engines: load.optimize_keys_engines.split(',').map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect(),
            max_transaction_bytes: load.max_transaction_size.saturating_mul(1 << 20).max(1),
            skip_constraints: load.skip_constraints,
        },
        registry: Registry::new(),
        backlog,
        abort: AtomicBool::new(false),
        rows: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        inserts_as_data: AtomicU64::new(0),
    });

    let Some(mut control) = control else {
        return check_only(&cli, shared, &selection, workers, receiving);
    };
    if load.disable_redo_log {
        disable_redo_log(&mut control, cli.app.server_version.as_deref())?;
    }
    let saved_globals = set_globals(&mut control, &config)?;
    let started = Instant::now();
    let result = load_with_workers(&cli, &conn, &mut control, shared.clone(), &selection, workers, receiving);
    restore_globals(&mut control, &saved_globals);
    if load.disable_redo_log {
        match control.query_drop("ALTER INSTANCE ENABLE INNODB REDO_LOG") {
            Ok(()) => log::info!("--disable-redo-log: InnoDB's redo log is on again"),
            Err(e) => log::error!(
                "--disable-redo-log: cannot turn InnoDB's redo log on again: {}; run ALTER INSTANCE ENABLE INNODB REDO_LOG",
                server_message(&e)
            ),
        }
    }
    let summary = result?;
    if selection.resume.is_some() {
        if let Some(dir) = &load.directory {
            let path = dir.join(RESUME);
            std::fs::remove_file(&path).with_context(|| format!("the load is complete; cannot remove {}", path.display()))?;
            log::info!("the interrupted load is complete: {} removed", path.display());
        }
    }
    let as_data = shared.inserts_as_data.load(Ordering::Relaxed);
    if as_data > 0 {
        log::info!("{as_data} INSERT statements were sent as LOAD DATA");
    }
    log::info!(
        "restore completed: {} dump(s), {} files, {} tables, {} rows, {} in {:.1}s",
        summary.dumps,
        summary.files,
        summary.tables,
        shared.rows.load(Ordering::Relaxed),
        common::progress::human_bytes(shared.bytes.load(Ordering::Relaxed)),
        started.elapsed().as_secs_f64()
    );
    if load.set_gtid_purged {
        set_gtid_purged(&mut control, &summary.gtids, cli.app.server_version.as_deref())?;
    }
    if load.source_data.is_some_and(|n| n > 0) {
        let mut ran = 0;
        for entries in &summary.sources {
            for q in crate::replication::statements(entries).context("--source-data")? {
                log::info!("--source-data: {q}");
                control.query_drop(&q).map_err(|e| anyhow::anyhow!("--source-data: `{q}`: {}", server_message(&e)))?;
                ran += 1;
            }
        }
        if ran == 0 {
            log::warn!("--source-data: the dump's metadata asks for no replication statement (dump it with --source-data)");
        }
    }
    Ok(())
}

/// `--mysqldump`: the stream on stdin, in mysqldump's format (see
/// `mysqldump`). Options that choose files of a mydumper dump do not apply.
fn load_mysqldump(cli: &Cli, conn: &ConnectionConfig) -> Result<()> {
    let load = &cli.load;
    let refused = [
        (load.directory.is_some(), "-d"),
        (load.source_db.is_some(), "-s"),
        (!load.tables_list.is_empty(), "-T"),
        (!load.regex.is_empty(), "-x"),
        (load.omit_from_file.is_some(), "-O"),
        (load.resume, "--resume"),
        (load.stream.is_some_and(|m| m != crate::cli::StreamMode::Traditional), "--stream=MODE"),
        (load.no_schemas, "--no-schemas"),
        (load.skip_create_table, "--skip-create-table"),
        (load.skip_triggers, "--skip-triggers"),
        (load.skip_post, "--skip-post"),
    ];
    if let Some((_, opt)) = refused.iter().find(|(given, _)| *given) {
        bail!("--mysqldump loads the whole stream on stdin: {opt} does not apply to it");
    }
    let started = Instant::now();
    let plan = crate::mysqldump::Plan {
        conn,
        target: load.database.clone(),
        threads: cli.app.worker_count().max(1),
        retry_count: load.retry_count,
        dry_run: cli.app.dry_run,
        no_data: load.no_data,
        binlog: load.enable_binlog,
    };
    let stdin = std::io::stdin().as_fd().try_clone_to_owned().context("cannot read stdin")?;
    common::stream::widen_pipe(stdin.as_fd());
    let totals = crate::mysqldump::load(File::from(stdin), &plan)?;
    let what = if plan.dry_run { "read (dry run, nothing was executed)" } else { "loaded" };
    let summary = format!(
        "mysqldump stream {what}: {} statements, {} of them INSERTs, {} in {:.1}s",
        totals.statements,
        totals.inserts,
        common::progress::human_bytes(totals.bytes),
        started.elapsed().as_secs_f64()
    );
    if plan.dry_run {
        println!("{summary}");
    } else {
        log::info!("{summary}");
    }
    Ok(())
}

/// `--dry-run`: the input read and checked as a load would read it (see
/// `dry_run`); a summary on stdout.
fn check_only(cli: &Cli, shared: Arc<Shared>, selection: &Selection, workers: usize, receiving: Option<Receiving>) -> Result<()> {
    let started = Instant::now();
    let (in_tx, in_rx) = unbounded::<Input>();
    let input = match &receiving {
        Some(r) => {
            let fd = std::io::stdin().as_fd().try_clone_to_owned().context("cannot read stdin")?;
            common::stream::widen_pipe(fd.as_fd());
            Some(crate::stream::spawn(File::from(fd), r.base.clone(), in_tx, shared.clone()).context("cannot start the stream thread")?)
        }
        None => {
            walk(cli.load.directory.as_deref().expect("checked"), &in_tx, selection.resume.as_ref())?;
            drop(in_tx);
            None
        }
    };
    let totals = crate::dry_run::run(in_rx, selection, &shared, workers).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(h) = input {
        let _ = h.join();
    }
    if let Some(r) = receiving {
        if let Some(t) = r.temp {
            drop(t);
        } else {
            log::info!("received files are in {}", r.base.display());
        }
    }
    println!(
        "dry run: {} dump(s) read in {:.1}s: {} databases, {} tables, {} views to create; {} files read ({} statements, {}), {} passed over; nothing was executed",
        totals.dumps,
        started.elapsed().as_secs_f64(),
        totals.databases.len(),
        totals.tables.len(),
        totals.views.len(),
        totals.files,
        totals.statements,
        common::progress::human_bytes(totals.bytes),
        totals.skipped
    );
    Ok(())
}

/// `--disable-redo-log`: InnoDB keeps no redo log while the load runs
/// (MySQL 8.0.21 and later; a crash meanwhile loses the server's data, as
/// MySQL documents), and it is turned on again at the end, failed or not.
/// Other servers are refused before anything is loaded.
fn disable_redo_log(control: &mut mysql::Conn, given: Option<&str>) -> Result<()> {
    let version = common::options::server_version(given, control)?;
    if !redo_log_switch(&version) {
        bail!("--disable-redo-log needs MySQL 8.0.21 or later; the server is {version}");
    }
    control
        .query_drop("ALTER INSTANCE DISABLE INNODB REDO_LOG")
        .map_err(|e| anyhow::anyhow!("--disable-redo-log: {}", server_message(&e)))?;
    log::warn!("--disable-redo-log: InnoDB's redo log is off until the load ends; a crash meanwhile loses the server's data");
    Ok(())
}

/// Whether a server of `version` (`SELECT VERSION()`) can turn InnoDB's
/// redo log off: MySQL 8.0.21 and later, not MariaDB.
fn redo_log_switch(version: &str) -> bool {
    if version.to_ascii_lowercase().contains("mariadb") {
        return false;
    }
    let nums: Vec<u64> = version
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    matches!(nums.as_slice(), [major, minor, patch] if (*major, *minor, *patch) >= (8, 0, 21))
}

/// `--set-gtid-purged`: the server loaded counts the dump's GTIDs as its
/// own history (MariaDB: `gtid_slave_pos`; MySQL: `gtid_purged`), so that a
/// replica set up from it starts after them.
fn set_gtid_purged(control: &mut mysql::Conn, gtids: &[String], given: Option<&str>) -> Result<()> {
    let [gtid] = gtids else {
        bail!("--set-gtid-purged: {} dumps with GTIDs loaded; one is needed", gtids.len());
    };
    let version = common::options::server_version(given, control)?;
    let q = if version.to_ascii_lowercase().contains("mariadb") {
        format!("SET GLOBAL gtid_slave_pos = {}", common::escape::string_literal(gtid))
    } else {
        format!("SET @@GLOBAL.GTID_PURGED = {}", common::escape::string_literal(gtid))
    };
    log::info!("--set-gtid-purged: {q}");
    control.query_drop(&q).map_err(|e| anyhow::anyhow!("--set-gtid-purged: `{q}`: {}", server_message(&e)))
}

fn selection(cli: &Cli, config: &Config) -> Result<Selection> {
    let load = &cli.load;
    if !common::escape::is_word(&load.set_names) {
        bail!("--set-names {:?}: not a character set name", load.set_names);
    }
    let regex = load
        .regex
        .iter()
        .map(|r| fancy_regex::Regex::new(&format!("(?i){r}")).with_context(|| format!("bad --regex {r:?}")))
        .collect::<Result<Vec<_>>>()?;
    let tables =
        TableFilter::new(&load.tables_list, load.source_db.as_slice(), "-s", load.omit_from_file.as_deref())?;
    let config_session = config
        .section("myloader_session_variables")
        .iter()
        .map(|(k, v)| ddl::session_statement(k, v))
        .collect();
    Ok(Selection {
        target_db: load.database.clone(),
        source_db: load.source_db.clone(),
        regex,
        tables,
        no_data: load.no_data,
        no_schemas: load.no_schemas,
        skip_create_table: load.skip_create_table,
        skip_create_database: load.skip_create_database,
        skip_triggers: load.skip_triggers,
        skip_post: load.skip_post,
        optimize_keys: load.optimize_keys_mode(),
        optimize_keys_batchsize: load.optimize_keys_batchsize,
        max_threads_for_index_creation: load.max_threads_for_index_creation,
        skip_table_sorting: load.skip_table_sorting,
        max_threads_for_schema_creation: load.max_threads_for_schema_creation,
        max_threads_for_post_actions: load.max_threads_for_post_actions,
        checksum: load.checksum,
        checks: cli.checksums.checks().map_err(anyhow::Error::msg)?,
        skip_indexes: load.skip_indexes,
        max_threads_per_table: load.max_threads_per_table,
        config_session,
        resume: None,
        resume_file: None,
    })
}

fn load_with_workers(
    cli: &Cli,
    conn: &ConnectionConfig,
    control: &mut mysql::Conn,
    shared: Arc<Shared>,
    selection: &Selection,
    workers: usize,
    receiving: Option<Receiving>,
) -> Result<crate::scheduler::Summary> {
    let mut sessions = Vec::with_capacity(workers);
    for _ in 0..workers {
        let c = conn.connect()?;
        sessions.push(Session::new(c, shared.clone()).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let (job_tx, job_rx) = bounded(workers);
    let (done_tx, done_rx) = unbounded();
    let mut handles = Vec::new();
    for (i, s) in sessions.into_iter().enumerate() {
        let rx = job_rx.clone();
        let tx = done_tx.clone();
        handles.push(
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || crate::worker::run(s, rx, tx))
                .context("cannot start a worker thread")?,
        );
    }
    drop(done_tx);
    drop(job_rx);

    // A stream is throttled by the scheduler; a directory listing is small.
    let (in_tx, in_rx) = if cli.load.stream.is_some() { bounded::<Input>(4096) } else { unbounded::<Input>() };
    let mut stream_thread = None;
    let progress;
    if let Some(r) = &receiving {
        progress = common::progress::bar(0, "jobs");
        // Read through a descriptor of its own, bypassing Stdin's buffer.
        let input = std::io::stdin().as_fd().try_clone_to_owned().context("cannot read stdin")?;
        common::stream::widen_pipe(input.as_fd());
        stream_thread = Some(
            crate::stream::spawn(File::from(input), r.base.clone(), in_tx, shared.clone()).context("cannot start the stream thread")?,
        );
    } else {
        let dir = cli.load.directory.clone().expect("checked");
        progress = common::progress::bar(0, "jobs");
        walk(&dir, &in_tx, selection.resume.as_ref())?;
        drop(in_tx);
    }

    // `--pmm-path`: the load's progress for a textfile collector.
    let samples = || {
        let n = common::pmm::Sample::new;
        vec![
            n("object", "jobs", progress.length().unwrap_or(0)),
            n("object", "jobs_done", progress.position()),
            n("rows", "loaded", shared.rows.load(Ordering::Relaxed)),
            n("bytes", "loaded", shared.bytes.load(Ordering::Relaxed)),
        ]
    };
    let pmm = match cli.pmm.directory().map_err(anyhow::Error::msg)? {
        Some(dir) => Some(common::pmm::MetricsFile::create(&dir, "myloader.prom", "myloader", &samples())?),
        None => None,
    };
    let pmm_stop = AtomicBool::new(false);
    let scheduler = Scheduler::new(shared.clone(), selection, control, job_tx, done_rx, workers, progress.clone());
    let result = std::thread::scope(|s| {
        if let Some(m) = &pmm {
            let (stop, samples) = (&pmm_stop, &samples);
            s.spawn(move || m.run(stop, samples));
        }
        let r = scheduler.run(in_rx);
        pmm_stop.store(true, Ordering::Relaxed);
        r
    });
    drop(pmm);
    // The scheduler owned the job sender: the workers end now.
    for h in handles {
        let _ = h.join();
    }
    if result.is_err() {
        // The stream thread may be blocked on a full channel or on stdin; it
        // is not waited for.
        drop(stream_thread);
    } else if let Some(h) = stream_thread {
        let _ = h.join();
    }
    shared.backlog.clear_spares();
    let reused = shared.backlog.reused();
    if reused > 0 {
        log::info!("stream: {reused} received files were written over loaded ones");
    }
    if let Some(r) = receiving {
        match r.temp {
            Some(t) if !shared.settings.delete_loaded => {
                let kept = t.keep();
                log::warn!("received files kept in {}", kept.display());
            }
            Some(_) => {}
            None => log::info!("received files are in {}", r.base.display()),
        }
    }
    result.map_err(|e| anyhow::anyhow!("{e}"))
}

/// Where a stream is received: `-d`, or a temporary directory.
struct Receiving {
    base: PathBuf,
    /// Removed when dropped.
    temp: Option<tempfile::TempDir>,
}

impl Receiving {
    fn new(directory: Option<&Path>) -> Result<Receiving> {
        match directory {
            Some(d) => {
                prepare_stream_dir(d)?;
                Ok(Receiving { base: d.to_path_buf(), temp: None })
            }
            None => {
                let t = tempfile::Builder::new().prefix("rloader-").tempdir().context("cannot create a temporary directory")?;
                Ok(Receiving { base: t.path().to_path_buf(), temp: Some(t) })
            }
        }
    }
}

/// `-d` with `--stream`: the directory to receive into; it must not hold
/// files already.
fn prepare_stream_dir(d: &Path) -> Result<()> {
    if d.exists() {
        let mut entries = std::fs::read_dir(d).with_context(|| format!("cannot read {}", d.display()))?;
        if entries.next().is_some() {
            bail!("{} is not empty: stream mode receives into a new or empty directory", d.display());
        }
    } else {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    Ok(())
}

/// The file an interrupted load writes into the dump directory: the names
/// of the files it did not load, one per line.
pub const RESUME: &str = "resume";

/// `DIR/resume`: the files `--resume` loads. An interrupted load's file
/// without `--resume`, `--resume` without one, or a `resume.partial` left
/// half written, is an error: loading everything again, or nothing, would
/// not be what the interrupted load left to do.
fn resume_list(dir: &Path, resume: bool) -> Result<Option<std::collections::BTreeSet<String>>> {
    let path = dir.join(RESUME);
    let partial = dir.join("resume.partial");
    if partial.exists() {
        bail!(
            "{}: an interrupted load stopped while writing it; check the loaded databases and delete it (and {}) before loading again",
            partial.display(),
            path.display()
        );
    }
    if !path.exists() {
        if resume {
            bail!("--resume: {} does not exist: no interrupted load of this dump to resume", path.display());
        }
        return Ok(None);
    }
    if !resume {
        bail!(
            "{} lists the files an interrupted load did not load: run with --resume to load them, or delete it to load the whole dump",
            path.display()
        );
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut names = std::collections::BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let name = line.trim();
        if name.is_empty() {
            continue;
        }
        let ok = DumpFile::parse(name).is_some_and(|k| !k.is_metadata()) && !name.contains('/');
        if !ok {
            bail!("{}:{}: {name:?} is not a file of the dump", path.display(), i + 1);
        }
        if !dir.join(name).is_file() {
            bail!("{}:{}: {name} is not in {}", path.display(), i + 1, dir.display());
        }
        names.insert(name.to_string());
    }
    log::info!("--resume: {} files left by the interrupted load", names.len());
    Ok(Some(names))
}

/// Announces a dump directory's files: `metadata` first, then database
/// files, then the rest by name; with `--resume` only the files listed.
fn walk(dir: &Path, tx: &Sender<Input>, only: Option<&std::collections::BTreeSet<String>>) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read the dump directory {}", dir.display()))?;
    let mut files: Vec<(u8, String, DumpFile)> = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("cannot read the dump directory {}", dir.display()))?;
        if !e.file_type().map(|t| t.is_file()).unwrap_or(false) {
            continue;
        }
        let name = match e.file_name().into_string() {
            Ok(n) => n,
            Err(n) => {
                log::warn!("{}: not a UTF-8 file name; skipped", PathBuf::from(n).display());
                continue;
            }
        };
        let Some(kind) = DumpFile::parse(&name) else {
            log::debug!("{name}: not a dump file; skipped");
            continue;
        };
        let order = match kind {
            DumpFile::Metadata => 0,
            DumpFile::MetadataHeader | DumpFile::MetadataPartial(_) | DumpFile::MetadataPartialFile => continue,
            DumpFile::SchemaCreate { .. } => 1,
            _ => 2,
        };
        if order > 0 && only.is_some_and(|o| !o.contains(&name)) {
            continue;
        }
        files.push((order, name, kind));
    }
    if !files.iter().any(|f| f.2 == DumpFile::Metadata) {
        bail!(
            "{}: no metadata file: not a mydumper dump, or the dump did not finish",
            dir.join("metadata").display()
        );
    }
    files.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (_, name, kind) in files {
        tx.send(Input::File { dir: dir.to_path_buf(), name, kind }).context("scheduler gone")?;
    }
    tx.send(Input::EndOfDump { dir: dir.to_path_buf() }).context("scheduler gone")?;
    Ok(())
}

/// Saves and sets `[myloader_global_variables]`.
fn set_globals(control: &mut mysql::Conn, config: &Config) -> Result<Vec<(String, String)>> {
    let mut saved = Vec::new();
    for (k, v) in config.section("myloader_global_variables") {
        let key = k.trim().to_string();
        if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("[myloader_global_variables]: bad variable name {key:?}");
        }
        let old: Option<Option<String>> = control
            .query_first(format!("SELECT @@GLOBAL.{key}"))
            .map_err(|e| anyhow::anyhow!("global variable {key}: {}", server_message(&e)))?;
        control
            .query_drop(format!("SET GLOBAL {key} = {}", v.trim()))
            .map_err(|e| anyhow::anyhow!("SET GLOBAL {key}: {}", server_message(&e)))?;
        log::info!("global variable {key} set to {} for the load", v.trim());
        if let Some(Some(old)) = old {
            saved.push((key, old));
        }
    }
    Ok(saved)
}

fn restore_globals(control: &mut mysql::Conn, saved: &[(String, String)]) {
    for (k, v) in saved {
        if let Err(e) = control.query_drop(format!("SET GLOBAL {k} = {}", ddl::restore_value(v))) {
            log::warn!("cannot restore global variable {k} to {v}: {}", server_message(&e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redo_log_switch_needs_mysql_8_0_21() {
        assert!(redo_log_switch("8.0.21"));
        assert!(redo_log_switch("8.4.3-log"));
        assert!(redo_log_switch("9.1.0"));
        assert!(!redo_log_switch("8.0.20"));
        assert!(!redo_log_switch("5.7.44-log"));
        assert!(!redo_log_switch("10.11.19-MariaDB-0+deb12u1"));
        assert!(!redo_log_switch("11.4.2-MariaDB"));
    }
}
