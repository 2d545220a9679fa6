//! `--stream`: one thread sends finished files to stdout, each behind
//! mydumper's header line `\n-- NAME SIZE\n`, and deletes them once sent.
//! Workers hand over files through a bounded queue; a gate makes them wait
//! while the bytes of finished-but-unsent files exceed `--stream-buffer`,
//! so a slow reader slows the dump instead of filling the disk. Sent files
//! the dump's own writers can take over are kept as spares rather than
//! deleted (see `common::spare`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{anyhow, Result};
use common::spare::SpareFiles;
use crossbeam_channel::{Receiver, Sender};

use crate::cli::StreamMode;
use crate::worker::Control;

/// Bytes and number of finished files not yet sent.
#[derive(Default)]
struct Pending {
    bytes: u64,
    files: usize,
}

pub struct Gate {
    pending: Mutex<Pending>,
    cv: Condvar,
    limit: u64,
}

impl Gate {
    pub fn new(limit: u64) -> Gate {
        Gate { pending: Mutex::new(Pending::default()), cv: Condvar::new(), limit }
    }

    fn add(&self, bytes: u64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.bytes += bytes;
        p.files += 1;
    }

    fn remove(&self, bytes: u64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.bytes = p.bytes.saturating_sub(bytes);
        p.files = p.files.saturating_sub(1);
        self.cv.notify_all();
    }

    /// Waits while the pending bytes exceed the limit. One pending file is
    /// always allowed, so a file larger than the limit cannot deadlock.
    fn wait(&self, control: &Control) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        while p.bytes > self.limit && p.files > 1 && !control.aborted() {
            p = match self.cv.wait_timeout(p, Duration::from_millis(100)) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    pub fn wake(&self) {
        self.cv.notify_all();
    }
}

/// The workers' end of the stream queue.
pub struct StreamSender {
    tx: Sender<(PathBuf, u64)>,
    gate: Arc<Gate>,
    control: Arc<Control>,
}

impl StreamSender {
    /// Queues a finished file, then waits while the buffer is over its limit.
    pub fn send(&self, path: PathBuf) -> Result<()> {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        self.gate.add(size);
        if self.tx.send((path, size)).is_err() {
            self.gate.remove(size);
            return Err(anyhow!("the stream to stdout has stopped"));
        }
        self.gate.wait(&self.control);
        if self.control.aborted() {
            return Err(Control::aborted_error());
        }
        Ok(())
    }
}

/// What the stream thread did.
#[derive(Debug, Default)]
pub struct StreamStats {
    pub files: u64,
    pub bytes: u64,
}

/// Starts the stream thread. Returns the senders' end and the thread.
pub fn start(
    mode: StreamMode,
    buffer: u64,
    control: Arc<Control>,
    spares: Option<Arc<SpareFiles>>,
) -> Result<(StreamSender, Arc<Gate>, JoinHandle<StreamStats>)> {
    let (tx, rx) = crossbeam_channel::bounded::<(PathBuf, u64)>(4096);
    let gate = Arc::new(Gate::new(buffer));
    let thread_gate = gate.clone();
    let thread_control = control.clone();
    let handle = std::thread::Builder::new()
        .name("stream".into())
        .spawn(move || run(rx, mode, &thread_gate, &thread_control, spares))
        .map_err(|e| anyhow!("cannot start the stream thread: {e}"))?;
    Ok((StreamSender { tx, gate: gate.clone(), control }, gate, handle))
}

/// Sends each file, then deletes it or (with `spares`) keeps it as a spare.
fn run(rx: Receiver<(PathBuf, u64)>, mode: StreamMode, gate: &Gate, control: &Control, spares: Option<Arc<SpareFiles>>) -> StreamStats {
    let stdout = io::stdout();
    common::stream::widen_pipe(stdout.as_fd());
    let mut out = BufWriter::with_capacity(4 << 20, stdout.lock());
    let mut stats = StreamStats::default();
    let mut failed = false;
    for (path, size) in rx.iter() {
        if !failed {
            if let Err(e) = send_file(&mut out, &path, mode) {
                failed = true;
                control.fail(e);
                gate.wake();
            } else {
                stats.files += 1;
                stats.bytes += size;
            }
        }
        if mode.delete || failed {
            let _ = match &spares {
                Some(spares) if !failed => spares.retire(&path),
                _ => std::fs::remove_file(&path),
            };
        }
        gate.remove(size);
    }
    if !failed {
        if let Err(e) = out.flush() {
            control.fail(stdout_error(e));
        }
    }
    stats
}

fn stdout_error(e: io::Error) -> anyhow::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        anyhow!("the stream's reader closed stdout (broken pipe); dump stopped")
    } else {
        anyhow!("cannot write the stream to stdout: {e}")
    }
}

fn send_file<W: Write>(out: &mut W, path: &std::path::Path, mode: StreamMode) -> Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("file name {} is not valid UTF-8", path.display()))?;
    if !mode.send {
        common::stream::write_header(out, name, 0).map_err(stdout_error)?;
        return out.flush().map_err(stdout_error);
    }
    let mut f = File::open(path).map_err(|e| anyhow!("cannot open {} to stream it: {e}", path.display()))?;
    let size = f.metadata().map_err(|e| anyhow!("cannot stat {}: {e}", path.display()))?.len();
    common::stream::write_header(out, name, size).map_err(stdout_error)?;
    let copied = copy(&mut f, out, path)?;
    if copied != size {
        return Err(anyhow!("{} changed while it was streamed ({size} bytes announced, {copied} sent)", path.display()));
    }
    out.flush().map_err(stdout_error)
}

/// Copies a file into the stream. `io::copy` lets the kernel move the bytes
/// (sendfile or splice to a pipe, copy_file_range to a file) after
/// flushing what is buffered, so the file's bytes never pass through this
/// process. Errors name the file; a closed reader is said to be one.
fn copy<W: Write>(f: &mut File, out: &mut W, path: &std::path::Path) -> Result<u64> {
    io::copy(f, out).map_err(|e| match e.kind() {
        io::ErrorKind::BrokenPipe => stdout_error(e),
        _ => anyhow!("cannot copy {} to stdout: {e}", path.display()),
    })
}
