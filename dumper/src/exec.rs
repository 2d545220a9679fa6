//! `--exec CMD`: a program run on every finished file of a directory dump,
//! with the file's path as its last argument (to copy it away, upload or
//! check it), by `--exec-threads` threads while the dump goes on. A run
//! that fails fails the dump; `metadata` gets its run last, once written.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{anyhow, bail, Result};
use crossbeam_channel::{Receiver, Sender};

use crate::worker::Control;

pub struct ExecPool {
    argv: Arc<Vec<String>>,
    tx: Mutex<Option<Sender<PathBuf>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl ExecPool {
    pub fn start(command: &str, threads: usize, control: Arc<Control>) -> Result<ExecPool> {
        let argv: Vec<String> = command.split_whitespace().map(str::to_string).collect();
        if argv.is_empty() {
            bail!("--exec: no program given");
        }
        let argv = Arc::new(argv);
        let (tx, rx): (Sender<PathBuf>, Receiver<PathBuf>) = crossbeam_channel::unbounded();
        let handles = (0..threads.max(1))
            .map(|i| {
                let (rx, argv, control) = (rx.clone(), argv.clone(), control.clone());
                std::thread::Builder::new()
                    .name(format!("exec-{i}"))
                    .spawn(move || {
                        for path in rx {
                            if control.aborted() {
                                continue;
                            }
                            if let Err(e) = run(&argv, &path) {
                                control.fail(e);
                            }
                        }
                    })
                    .map_err(|e| anyhow!("cannot start an --exec thread: {e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ExecPool { argv, tx: Mutex::new(Some(tx)), threads: Mutex::new(handles) })
    }

    /// Queues a finished file.
    pub fn submit(&self, path: &Path) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let _ = tx.send(path.to_path_buf());
        }
    }

    /// Waits for the runs of every file queued.
    pub fn wait(&self) {
        drop(self.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
        for h in self.threads.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            let _ = h.join();
        }
    }

    /// Runs the program on `path` now.
    pub fn run_now(&self, path: &Path) -> Result<()> {
        run(&self.argv, path)
    }
}

impl Drop for ExecPool {
    fn drop(&mut self) {
        self.wait();
    }
}

fn run(argv: &[String], path: &Path) -> Result<()> {
    let describe = argv.join(" ");
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .arg(path)
        .status()
        .map_err(|e| anyhow!("--exec: cannot run `{describe}`: {e}"))?;
    if !status.success() {
        bail!("--exec `{describe}` failed on {} ({status})", path.display());
    }
    Ok(())
}
