//! `--dry-run`: a dump is read as a load reads it, with no server. Every
//! file the load would run is opened, decompressed and split into
//! statements, and every data file a LOAD DATA names must be in the dump,
//! so that a truncated or corrupt file, an incomplete dump or a bad stream
//! is found before a load, with the same error a load would give. Nothing
//! is executed. A stream is received as for a load (`--stream=UNPACK`
//! keeps its files in `-d`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use common::metadata::Metadata;
use common::naming::{DataExt, DumpFile};
use crossbeam_channel::Receiver;

use crate::exec::{display_name, LoadError, Shared};
use crate::scheduler::{Input, Selection};
use crate::statement::StatementReader;

/// What a dry run found.
#[derive(Debug, Default)]
pub struct Totals {
    pub dumps: usize,
    /// Files read in full, and those the load would pass over.
    pub files: u64,
    pub skipped: u64,
    pub statements: u64,
    /// Bytes after decompression.
    pub bytes: u64,
    pub databases: BTreeSet<String>,
    pub tables: BTreeSet<String>,
    pub views: BTreeSet<String>,
}

/// One file's reading.
struct Checked {
    statements: u64,
    bytes: u64,
    /// Data files its LOAD DATA statements name, with the line of each.
    infiles: Vec<(String, u64)>,
}

/// One dump's state while its files arrive.
#[derive(Default)]
struct DumpState {
    metadata: Metadata,
    seen_metadata: bool,
    /// File names of the dump.
    names: BTreeSet<String>,
    /// LOAD DATA files named: (data file, the file and line naming it).
    infiles: Vec<(String, String, u64)>,
    /// Tables with a schema file, and tables with data (`db.table`).
    schemas: BTreeSet<String>,
    data: BTreeMap<String, String>,
}

/// Reads every input file with `threads` readers; returns the totals, or
/// the first error.
pub fn run(input: Receiver<Input>, sel: &Selection, shared: &Shared, threads: usize) -> Result<Totals, LoadError> {
    let totals = Mutex::new(Totals::default());
    let first_error: Mutex<Option<LoadError>> = Mutex::new(None);
    let progress = common::progress::bar(0, "files");
    let (jobs_tx, jobs_rx) = crossbeam_channel::bounded::<(PathBuf, DumpFile)>(threads * 2);
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<(PathBuf, Result<Checked, LoadError>)>();
    let fail = |e: LoadError| {
        let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
    };
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            let rx = jobs_rx.clone();
            let tx = done_tx.clone();
            s.spawn(move || {
                for (path, kind) in rx {
                    let r = check(&path, &kind);
                    if tx.send((path, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        drop(jobs_rx);
        let mut dump: Option<DumpState> = None;
        let mut pending: BTreeSet<PathBuf> = BTreeSet::new();
        let absorb = |done: (PathBuf, Result<Checked, LoadError>), dump: &mut Option<DumpState>, pending: &mut BTreeSet<PathBuf>| {
            let (path, r) = done;
            pending.remove(&path);
            match r {
                Ok(c) => {
                    let mut t = totals.lock().unwrap_or_else(|p| p.into_inner());
                    t.files += 1;
                    t.statements += c.statements;
                    t.bytes += c.bytes;
                    if let Some(d) = dump.as_mut() {
                        let name = display_name(&path);
                        d.infiles.extend(c.infiles.into_iter().map(|(f, line)| (f, name.clone(), line)));
                    }
                }
                Err(e) => fail(e),
            }
            progress.inc(1);
            if shared.settings.delete_loaded {
                shared.backlog.discard(&path);
            }
        };
        for i in input.iter() {
            while let Ok(done) = done_rx.try_recv() {
                absorb(done, &mut dump, &mut pending);
            }
            if first_error.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
                break;
            }
            match i {
                Input::Failed(msg) => {
                    fail(LoadError::new(msg));
                    break;
                }
                Input::File { dir, name, kind } => {
                    let d = dump.get_or_insert_with(DumpState::default);
                    let path = dir.join(&name);
                    match on_file(d, sel, &path, &name, &kind) {
                        Err(e) => {
                            fail(e);
                            break;
                        }
                        Ok(false) => {
                            totals.lock().unwrap_or_else(|p| p.into_inner()).skipped += 1;
                            if shared.settings.delete_loaded {
                                shared.backlog.discard(&path);
                            }
                        }
                        Ok(true) => {
                            record(&mut totals.lock().unwrap_or_else(|p| p.into_inner()), &kind);
                            progress.inc_length(1);
                            pending.insert(path.clone());
                            // Results are taken while waiting for room.
                            let mut job = Some((path, kind));
                            while let Some(j) = job.take() {
                                match jobs_tx.try_send(j) {
                                    Ok(()) => {}
                                    Err(crossbeam_channel::TrySendError::Full(j)) => {
                                        job = Some(j);
                                        if let Ok(done) = done_rx.recv_timeout(std::time::Duration::from_millis(50)) {
                                            absorb(done, &mut dump, &mut pending);
                                        }
                                    }
                                    Err(crossbeam_channel::TrySendError::Disconnected(_)) => break,
                                }
                            }
                        }
                    }
                }
                Input::EndOfDump { dir } => {
                    // The dump's files are all read before it is judged.
                    while !pending.is_empty() {
                        match done_rx.recv() {
                            Ok(done) => absorb(done, &mut dump, &mut pending),
                            Err(_) => break,
                        }
                    }
                    let d = dump.take().unwrap_or_default();
                    if let Err(e) = finish_dump(&dir, d) {
                        fail(e);
                        break;
                    }
                    totals.lock().unwrap_or_else(|p| p.into_inner()).dumps += 1;
                }
            }
        }
        drop(jobs_tx);
        for done in done_rx.iter() {
            absorb(done, &mut dump, &mut pending);
        }
    });
    progress.finish_and_clear();
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut t = totals.into_inner().unwrap_or_else(|p| p.into_inner());
    // A view's stand-in table is no table of its own.
    let views = t.views.clone();
    t.tables.retain(|n| !views.contains(n));
    if t.dumps == 0 {
        return Err(LoadError::new("the input held no dump"));
    }
    Ok(t)
}

/// Takes a file into the dump's state; whether the load would read it.
fn on_file(d: &mut DumpState, sel: &Selection, path: &Path, name: &str, kind: &DumpFile) -> Result<bool, LoadError> {
    d.names.insert(name.to_string());
    if kind.is_metadata() {
        crate::scheduler::merge_metadata(&mut d.metadata, path, kind)?;
        d.seen_metadata = true;
        return Ok(false);
    }
    if !d.seen_metadata {
        return Err(LoadError::new(format!("{}: arrived before the dump's metadata", display_name(path))));
    }
    let db = kind.db().unwrap_or("");
    if !db.is_empty() && sel.source_db.as_deref().is_some_and(|s| s != db) {
        return Ok(false);
    }
    if !sel.loads(kind) {
        return Ok(false);
    }
    match kind {
        DumpFile::TableSchema { table, .. } | DumpFile::SequenceSchema { table, .. } => {
            d.schemas.insert(format!("{db}.{table}"));
        }
        DumpFile::Data { table, .. } => {
            d.data.entry(format!("{db}.{table}")).or_insert_with(|| name.to_string());
        }
        _ => {}
    }
    Ok(true)
}

fn record(t: &mut Totals, kind: &DumpFile) {
    match kind {
        DumpFile::SchemaCreate { db, .. } => {
            t.databases.insert(db.clone());
        }
        DumpFile::TableSchema { db, table, .. } | DumpFile::SequenceSchema { db, table, .. } => {
            t.tables.insert(format!("{db}.{table}"));
        }
        DumpFile::ViewSchema { db, table, .. } => {
            t.views.insert(format!("{db}.{table}"));
        }
        _ => {}
    }
}

/// The checks of a whole dump: every LOAD DATA file is in it; data without
/// a schema file needs a table that already exists.
fn finish_dump(dir: &Path, d: DumpState) -> Result<(), LoadError> {
    if !d.seen_metadata {
        return Err(LoadError::new(format!("{}: the dump has no metadata file", dir.display())));
    }
    for (infile, file, line) in &d.infiles {
        crate::exec::check_infile_name(infile).map_err(|msg| LoadError::new(format!("{file}:{line}: {msg}")))?;
        if !d.names.contains(infile) {
            return Err(LoadError::new(format!("{file}:{line}: LOAD DATA names {infile:?}, which is not in the dump")));
        }
    }
    for (table, file) in &d.data {
        if !d.schemas.contains(table) {
            log::warn!("{file}: table {table} has no schema file in the dump; a load needs it to exist already");
        }
    }
    Ok(())
}

/// Reads one file to its end: statements (SQL) or bytes (LOAD DATA files).
fn check(path: &Path, kind: &DumpFile) -> Result<Checked, LoadError> {
    let name = display_name(path);
    let mut r = common::compress::open(path).map_err(|e| LoadError::new(format!("{name}: cannot open: {e}")))?;
    if matches!(kind, DumpFile::Data { ext: DataExt::Dat, .. }) {
        let bytes = std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| LoadError::new(format!("{name}: cannot read: {e}")))?;
        return Ok(Checked { statements: 0, bytes, infiles: Vec::new() });
    }
    let mut c = Checked { statements: 0, bytes: 0, infiles: Vec::new() };
    for st in StatementReader::new(r) {
        let st = st.map_err(|e| LoadError::new(format!("{name}: {e}")))?;
        c.statements += 1;
        c.bytes += st.text.len() as u64;
        if matches!(kind, DumpFile::Data { .. }) {
            let text = String::from_utf8_lossy(&st.text);
            if let Some(f) = crate::ddl::load_data_file(text.trim_start()) {
                c.infiles.push((f, st.line));
            }
        }
    }
    Ok(c)
}
