//! Spare files: files a stream has sent, kept under hidden names in their
//! directory so that the next file written there takes one over and writes
//! over its pages in the page cache, instead of deleting one file's pages
//! and taking fresh ones for the next. On virtual machines that hand free
//! memory back to the host, a fresh page costs more than copying into it;
//! a stream sends each file and deletes it at once, so its files keep
//! asking for fresh pages. Only files of at least [`MIN_SPARE`] bytes are
//! kept, and no more than a budget of bytes in all; the rest are deleted.
//! The spares are deleted when the set is dropped (or [`SpareFiles::clear`]).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Smaller files are deleted: taking one over saves too little.
pub const MIN_SPARE: u64 = 1 << 20;

/// Prefix of the spares' names: hidden, so no dump reader takes them for
/// dump files (those never start with a dot).
pub const SPARE_PREFIX: &str = ".rdump-spare.";

pub struct SpareFiles {
    dir: PathBuf,
    /// Spares and their sizes.
    free: Mutex<Vec<(PathBuf, u64)>>,
    next: AtomicU64,
    budget: u64,
}

impl SpareFiles {
    /// Spares in `dir`, at most `budget` bytes of them.
    pub fn new(dir: &Path, budget: u64) -> SpareFiles {
        SpareFiles { dir: dir.to_path_buf(), free: Mutex::new(Vec::new()), next: AtomicU64::new(0), budget }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(PathBuf, u64)>> {
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Spare files kept now.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Is done with `path` (a file in the set's directory): keeps it as a
    /// spare while the budget allows, else deletes it.
    pub fn retire(&self, path: &Path) -> io::Result<()> {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if size >= MIN_SPARE && path.parent() == Some(self.dir.as_path()) {
            let mut free = self.lock();
            let kept: u64 = free.iter().map(|(_, s)| s).sum();
            if kept + size <= self.budget {
                let n = self.next.fetch_add(1, Ordering::Relaxed);
                let spare = self.dir.join(format!("{SPARE_PREFIX}{}.{n}", std::process::id()));
                if std::fs::rename(path, &spare).is_ok() {
                    free.push((spare, size));
                    return Ok(());
                }
            }
        }
        std::fs::remove_file(path)
    }

    /// Creates `path`, which must not exist, from a spare if there is one:
    /// the spare is renamed to `path` and opened for writing over its bytes
    /// (the caller truncates it where its own bytes end). `None` when no
    /// spare can be taken; the caller creates the file anew.
    pub fn take(&self, path: &Path) -> io::Result<Option<File>> {
        let Some((spare, _)) = self.lock().pop() else { return Ok(None) };
        match rename_no_replace(&spare, path) {
            Ok(()) => File::options().write(true).open(path).map(Some),
            Err(e) => {
                let _ = std::fs::remove_file(&spare);
                if e.kind() == io::ErrorKind::AlreadyExists {
                    Err(e)
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// Deletes every spare.
    pub fn clear(&self) {
        for (spare, _) in self.lock().drain(..) {
            let _ = std::fs::remove_file(spare);
        }
    }
}

impl Drop for SpareFiles {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Renames `from` to `to`, failing with `AlreadyExists` if `to` exists.
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let f = CString::new(from.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let t = CString::new(to.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: renameat2(2) with two NUL-terminated paths that live
        // through the call.
        let r = unsafe { libc::renameat2(libc::AT_FDCWD, f.as_ptr(), libc::AT_FDCWD, t.as_ptr(), libc::RENAME_NOREPLACE) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        // Filesystems without the flag: check, then rename.
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
            return Err(e);
        }
    }
    if to.symlink_metadata().is_ok() {
        return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists", to.display())));
    }
    std::fs::rename(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &Path, size: usize) {
        std::fs::write(path, vec![b'x'; size]).unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn keeps_large_files_within_the_budget_and_deletes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let spares = SpareFiles::new(dir.path(), 3 << 20);
        let (small, a, b) = (dir.path().join("small.sql"), dir.path().join("a.sql"), dir.path().join("b.sql"));
        file(&small, 1000);
        file(&a, 2 << 20);
        file(&b, 2 << 20);
        spares.retire(&small).unwrap();
        spares.retire(&a).unwrap();
        spares.retire(&b).unwrap();
        assert_eq!(spares.count(), 1, "the second large file is over the budget");
        let left = names(dir.path());
        assert_eq!(left.len(), 1);
        assert!(left[0].starts_with(SPARE_PREFIX), "{left:?}");

        // Taken over: renamed, its old bytes there until overwritten.
        let c = dir.path().join("c.sql");
        let f = spares.take(&c).unwrap().expect("a spare");
        assert_eq!(f.metadata().unwrap().len(), 2 << 20);
        assert_eq!(names(dir.path()), vec!["c.sql".to_string()]);
        assert!(spares.take(&dir.path().join("d.sql")).unwrap().is_none());

        spares.retire(&c).unwrap();
        drop(spares);
        assert!(names(dir.path()).is_empty(), "spares are deleted with the set");
    }

    #[test]
    fn never_takes_over_an_existing_name() {
        let dir = tempfile::tempdir().unwrap();
        let spares = SpareFiles::new(dir.path(), 8 << 20);
        let (a, b) = (dir.path().join("a.sql"), dir.path().join("b.sql"));
        file(&a, 1 << 20);
        file(&b, 5);
        spares.retire(&a).unwrap();
        let e = spares.take(&b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&b).unwrap(), b"xxxxx", "the existing file is untouched");
        assert_eq!(names(dir.path()), vec!["b.sql".to_string()], "the spare is gone");
    }
}
