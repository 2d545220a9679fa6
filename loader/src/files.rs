//! Which dump files have arrived. A LOAD DATA statement waits here for its
//! `.dat` file: in a stream the `.sql` comes before its data.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

#[derive(Default)]
struct State {
    present: HashSet<PathBuf>,
    /// Directories whose dump has announced all its files.
    closed: HashSet<PathBuf>,
    shut: bool,
}

#[derive(Default)]
pub struct Registry {
    state: Mutex<State>,
    changed: Condvar,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A complete file is in place.
    pub fn arrived(&self, path: &Path) {
        self.lock().present.insert(path.to_path_buf());
        self.changed.notify_all();
    }

    /// No more files will arrive in `dir`.
    pub fn close_dir(&self, dir: &Path) {
        self.lock().closed.insert(dir.to_path_buf());
        self.changed.notify_all();
    }

    /// Wakes every waiter for good (the load is stopping).
    pub fn shut(&self) {
        self.lock().shut = true;
        self.changed.notify_all();
    }

    /// Waits until `path` has arrived. `false` if it never will.
    pub fn wait_for(&self, path: &Path) -> bool {
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut st = self.lock();
        loop {
            if st.present.contains(path) {
                return true;
            }
            if st.shut || st.closed.contains(&dir) {
                return false;
            }
            st = self.changed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    pub fn forget(&self, path: &Path) {
        self.lock().present.remove(path);
    }
}
