//! `-D/--daemon`, as mydumper's: in the background, a dump at once and then
//! every `-I` minutes, into `OUT/0`, `OUT/1` … `OUT/<X-1>` in turn (each
//! emptied first), with `OUT/last_dump`, a symbolic link, naming the last
//! one that finished. A new daemon goes on after the dump `last_dump`
//! names. SIGINT or SIGTERM stops it (a dump under way is abandoned and
//! `last_dump` keeps naming the one before).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use common::conn::ConnectionConfig;

use crate::cli::{DaemonMode, Options};

const LAST_DUMP: &str = "last_dump";

/// The dump number after `n`, of `count` in turn.
fn after(n: u32, count: u32) -> u32 {
    if n + 1 >= count {
        0
    } else {
        n + 1
    }
}

/// The number of the dump after the one `last_dump` names (0 without one).
fn next_number(base: &Path, count: u32) -> u32 {
    std::fs::read_link(base.join(LAST_DUMP))
        .ok()
        .and_then(|t| t.to_str()?.parse::<u32>().ok())
        .map_or(0, |n| after(n, count))
}

fn point_last_dump(base: &Path, n: u32) -> Result<()> {
    let link = base.join(LAST_DUMP);
    let fresh = base.join(format!(".{LAST_DUMP}.new"));
    let _ = std::fs::remove_file(&fresh);
    std::os::unix::fs::symlink(n.to_string(), &fresh)
        .and_then(|()| std::fs::rename(&fresh, &link))
        .with_context(|| format!("cannot point {} at {n}", link.display()))
}

pub fn run(mut opts: Options, conn: ConnectionConfig, mode: DaemonMode) -> Result<()> {
    let base: PathBuf = opts.outputdir.clone().unwrap_or_else(crate::dump::default_outputdir);
    // Set up in the foreground, so that a bad directory or a refused
    // connection is reported there.
    drop(conn.connect()?);
    for n in 0..mode.count {
        let d = base.join(n.to_string());
        std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let mut n = next_number(&base, mode.count);
    common::daemon::detach().context("cannot go to the background")?;
    log::info!("daemon: a dump every {} minutes into {}/0..{}", mode.interval_minutes, base.display(), mode.count - 1);

    let interval = Duration::from_secs(mode.interval_minutes.max(1) * 60);
    let mut next = Instant::now();
    opts.clear = true;
    loop {
        let dir = base.join(n.to_string());
        opts.outputdir = Some(dir.clone());
        match crate::dump::run(&opts, &conn) {
            Ok(()) => {
                point_last_dump(&base, n)?;
                log::info!("daemon: dump {n} finished in {}", dir.display());
                n = after(n, mode.count);
            }
            Err(_) if common::cancel::is_cancelled() => {}
            // The next dump tries the same directory again.
            Err(e) => log::error!("daemon: the dump into {} failed: {e:#}", dir.display()),
        }
        next = (next + interval).max(Instant::now());
        while Instant::now() < next {
            if common::cancel::is_cancelled() {
                log::info!("daemon: stopped");
                return Ok(());
            }
            std::thread::sleep((next - Instant::now()).min(Duration::from_millis(200)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_go_round() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(next_number(t.path(), 2), 0);
        point_last_dump(t.path(), 0).unwrap();
        assert_eq!(next_number(t.path(), 2), 1);
        point_last_dump(t.path(), 1).unwrap();
        assert_eq!(next_number(t.path(), 2), 0);
        assert_eq!(next_number(t.path(), 3), 2);
        assert_eq!(std::fs::read_link(t.path().join(LAST_DUMP)).unwrap(), Path::new("1"));
    }
}
