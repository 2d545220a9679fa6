//! Stream mode's received files that are not loaded yet. The stream thread
//! reads ahead of the workers only while these hold fewer bytes than a
//! budget (`--stream-buffer`), so that a stream faster than the load does
//! not pile the whole dump up in the receiving directory, and loaded files
//! are kept as spares (see `common::spare`) that the next received files
//! are written over, instead of every file taking fresh page-cache pages.
//!
//! Reading ahead must never wait for a load that cannot go on without more
//! of the stream. It waits only while some worker runs a job and no worker
//! waits for a file: a LOAD DATA waits for its `.dat`, which a stream sends
//! after the `.sql`, and another worker may wait on a lock that one holds.
//! Any other job ends without more input, and a worker that ends one frees
//! room or leaves none busy: either lets reading go on. Whether any worker
//! has a job is the scheduler's to say, after it has handed out the next
//! jobs, so that two workers between jobs at once do not let the stream
//! read past the budget. Idle workers do not
//! count: they are idle because the files received so far wait for a job
//! that runs (data for a table being created), and reading on for them
//! would take the whole stream in while one CREATE TABLE runs.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use common::spare::SpareFiles;

#[derive(Default)]
struct State {
    /// Received files not yet discarded, and their sizes.
    files: HashMap<PathBuf, u64>,
    bytes: u64,
    /// Whether any worker has a job (as the scheduler last said), and how
    /// many jobs wait for a file.
    busy: bool,
    waiting: usize,
    shut: bool,
}

pub struct Backlog {
    /// `None`: no budget (a directory load, or a stream whose files are kept).
    limit: Option<u64>,
    spares: Option<SpareFiles>,
    /// Files received over a spare.
    reused: AtomicU64,
    state: Mutex<State>,
    changed: Condvar,
}

impl Backlog {
    /// No budget and no spares.
    pub fn unbounded() -> Backlog {
        Backlog { limit: None, spares: None, reused: AtomicU64::new(0), state: Mutex::default(), changed: Condvar::new() }
    }

    /// At most about `limit` bytes of received files not loaded yet while
    /// workers are busy, in `dir`, where loaded files are kept as spares (up
    /// to `limit` / 4 bytes of them).
    pub fn new(dir: &Path, limit: u64) -> Backlog {
        Backlog {
            limit: Some(limit),
            spares: Some(SpareFiles::new(dir, limit / 4)),
            reused: AtomicU64::new(0),
            state: Mutex::default(),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a file to receive into, over a spare if there is one (the
    /// caller cuts it where its bytes end).
    pub fn create(&self, path: &Path) -> io::Result<File> {
        if let Some(spares) = &self.spares {
            if let Some(f) = spares.take(path)? {
                self.reused.fetch_add(1, Ordering::Relaxed);
                return Ok(f);
            }
        }
        File::options().write(true).create_new(true).open(path)
    }

    /// `path`, of `size` bytes, is received in full. Without a budget
    /// nothing is counted: its files are kept, never discarded.
    pub fn received(&self, path: &Path, size: u64) {
        if self.limit.is_none() {
            return;
        }
        let mut st = self.lock();
        if let Some(old) = st.files.insert(path.to_path_buf(), size) {
            st.bytes -= old;
        }
        st.bytes += size;
    }

    /// Is done with `path`: deletes it, or keeps it as a spare.
    pub fn discard(&self, path: &Path) {
        let _ = match &self.spares {
            Some(spares) => spares.retire(path),
            None => std::fs::remove_file(path),
        };
        let mut st = self.lock();
        if let Some(size) = st.files.remove(path) {
            st.bytes -= size;
            self.changed.notify_all();
        }
    }

    /// Files received over a spare so far.
    pub fn reused(&self) -> u64 {
        self.reused.load(Ordering::Relaxed)
    }

    /// Bytes of received files not yet discarded.
    #[cfg(test)]
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// Whether any worker has a job: the scheduler says so once it has
    /// handed out what it could, so that a worker between two jobs is not
    /// taken for an idle one.
    pub fn set_busy(&self, busy: bool) {
        let mut st = self.lock();
        if st.busy != busy {
            st.busy = busy;
            self.changed.notify_all();
        }
    }

    /// Marks a job as waiting for a file while the guard lives.
    pub fn waiting(&self) -> Waiting<'_> {
        self.lock().waiting += 1;
        self.changed.notify_all();
        Waiting(self)
    }

    /// Stops every wait for good (the load is stopping).
    pub fn shut(&self) {
        self.lock().shut = true;
        self.changed.notify_all();
    }

    /// Waits until another file may be received: the budget has room, no
    /// worker is busy, or one waits for a file.
    pub fn wait_room(&self) {
        let Some(limit) = self.limit else { return };
        let mut st = self.lock();
        while !st.shut && st.bytes >= limit && st.busy && st.waiting == 0 && !common::cancel::is_cancelled() {
            // Now and then, to notice a signal.
            st = self.changed.wait_timeout(st, Duration::from_millis(200)).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Deletes the spares.
    pub fn clear_spares(&self) {
        if let Some(spares) = &self.spares {
            spares.clear();
        }
    }
}

pub struct Waiting<'a>(&'a Backlog);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.lock().waiting -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Instant;

    fn receive(b: &Backlog, path: &Path, size: usize) {
        let mut f = b.create(path).unwrap();
        f.write_all(&vec![b'x'; size]).unwrap();
        f.set_len(size as u64).unwrap();
        b.received(path, size as u64);
    }

    #[test]
    fn counts_received_files_until_discarded_and_keeps_spares() {
        let dir = tempfile::tempdir().unwrap();
        let b = Backlog::new(dir.path(), 16 << 20);
        let (a, c) = (dir.path().join("a.sql"), dir.path().join("c.sql"));
        receive(&b, &a, 2 << 20);
        receive(&b, &c, 1000);
        assert_eq!(b.bytes(), (2 << 20) + 1000);
        b.discard(&a);
        assert_eq!(b.bytes(), 1000);
        assert!(!a.exists());
        // The large one is a spare now; the next file takes it over.
        assert_eq!(b.spares.as_ref().unwrap().count(), 1);
        let d = dir.path().join("d.sql");
        receive(&b, &d, 10);
        assert_eq!(std::fs::read(&d).unwrap(), b"xxxxxxxxxx");
        assert_eq!(b.spares.as_ref().unwrap().count(), 0);
        assert_eq!(b.reused(), 1);
        b.discard(&c);
        b.discard(&d);
        assert_eq!(b.bytes(), 0);
        b.clear_spares();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn waits_for_room_while_a_worker_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let b = Backlog::new(dir.path(), 1000);
        let a = dir.path().join("a.sql");
        receive(&b, &a, 2000);
        // Over the budget, but no worker busy.
        let started = Instant::now();
        b.wait_room();
        assert!(started.elapsed() < Duration::from_millis(100));
        let pause = Duration::from_millis(300);
        let waited = |b: &Backlog| {
            let started = Instant::now();
            b.wait_room();
            let waited = started.elapsed();
            assert!(waited >= pause / 2 && waited < Duration::from_secs(3), "waited {waited:?}");
        };
        // A busy worker: the wait lasts until a file is discarded.
        b.set_busy(true);
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(pause);
                b.discard(&a);
            });
            waited(&b);
        });
        // Over the budget again: the last job ending ends the wait.
        receive(&b, &a, 2000);
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(pause);
                b.set_busy(false);
            });
            waited(&b);
        });
        // And a job that starts waiting for a file.
        b.set_busy(true);
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(pause);
                let _waiting = b.waiting();
                std::thread::sleep(pause);
            });
            waited(&b);
        });
        assert_eq!(b.lock().waiting, 0);
    }

    #[test]
    fn a_worker_waiting_for_a_file_does_not_hold_reading_up() {
        let dir = tempfile::tempdir().unwrap();
        let b = Backlog::new(dir.path(), 1000);
        receive(&b, &dir.path().join("a.sql"), 2000);
        b.set_busy(true);
        let waiting = b.waiting();
        let started = Instant::now();
        b.wait_room();
        assert!(started.elapsed() < Duration::from_millis(100));
        drop(waiting);
        // Stopping ends every wait.
        b.shut();
        b.wait_room();
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn unbounded_never_waits() {
        let dir = tempfile::tempdir().unwrap();
        let b = Backlog::unbounded();
        let a = dir.path().join("a.sql");
        receive(&b, &a, 2 << 20);
        assert_eq!(b.bytes(), 0, "nothing counted without a budget");
        b.set_busy(true);
        let started = Instant::now();
        b.wait_room();
        assert!(started.elapsed() < Duration::from_millis(100));
        b.discard(&a);
        assert!(!a.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
