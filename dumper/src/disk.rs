//! `--disk-limits PAUSE:RESUME`: workers start no new job while the output
//! directory's filesystem has less than PAUSE MB free, until it has RESUME
//! MB free again.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::worker::Control;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskLimits {
    pub pause_mb: u64,
    pub resume_mb: u64,
}

impl DiskLimits {
    pub fn parse(s: &str) -> Result<DiskLimits> {
        let (a, b) = s.split_once(':').with_context(|| format!("--disk-limits {s:?}: expected PAUSE:RESUME in MB"))?;
        let num = |v: &str| v.trim().parse::<u64>().with_context(|| format!("--disk-limits {s:?}: {v:?} is not a number of MB"));
        let (pause_mb, resume_mb) = (num(a)?, num(b)?);
        if pause_mb >= resume_mb {
            bail!("--disk-limits {s:?}: PAUSE ({pause_mb} MB) must be below RESUME ({resume_mb} MB)");
        }
        Ok(DiskLimits { pause_mb, resume_mb })
    }
}

/// Free megabytes of the filesystem holding `dir`.
fn free_mb(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: statvfs(3) fills the struct it is given; the path is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64) >> 20)
}

pub struct DiskGuard {
    dir: PathBuf,
    limits: DiskLimits,
    /// Held by the worker that watches the free space while the others wait.
    watch: Mutex<()>,
}

impl DiskGuard {
    pub fn new(dir: &Path, limits: DiskLimits) -> DiskGuard {
        DiskGuard { dir: dir.to_path_buf(), limits, watch: Mutex::new(()) }
    }

    /// Returns when a job may start: at once with PAUSE MB free, else once
    /// RESUME MB are (or the dump stops).
    pub fn wait_for_space(&self, control: &Control) {
        let _watching = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        let free = match free_mb(&self.dir) {
            Ok(f) => f,
            Err(e) => {
                log::warn!("--disk-limits: cannot read the free space of {}: {e}", self.dir.display());
                return;
            }
        };
        if free >= self.limits.pause_mb {
            return;
        }
        log::warn!(
            "only {free} MB free on {}: pausing until {} MB are (--disk-limits)",
            self.dir.display(),
            self.limits.resume_mb
        );
        while !control.aborted() {
            std::thread::sleep(Duration::from_millis(500));
            match free_mb(&self.dir) {
                Ok(f) if f >= self.limits.resume_mb => {
                    log::warn!("{f} MB free on {}: resuming", self.dir.display());
                    return;
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(DiskLimits::parse("100:500").unwrap(), DiskLimits { pause_mb: 100, resume_mb: 500 });
        assert!(DiskLimits::parse("500:100").is_err());
        assert!(DiskLimits::parse("100").is_err());
        assert!(DiskLimits::parse("a:b").is_err());
        assert!(free_mb(Path::new("/")).unwrap() > 0);
    }
}
