//! Where finished files go: the dump directory, and with `--stream` the
//! queue of the stream thread as soon as each file is complete.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use common::compress::{self, FinishWrite};
use common::naming::{Compression, DumpFile};
use common::spare::SpareFiles;

use crate::stream::StreamSender;

pub struct Output {
    pub dir: PathBuf,
    pub compression: Compression,
    pub stream: Option<StreamSender>,
    /// Bytes written into files (as stored, before compression).
    pub bytes: AtomicU64,
    /// `--dirty`: files of an earlier dump may be replaced.
    pub replace: bool,
    /// Direct writes for a dump that stays on disk, the page cache for the
    /// stream's files, which are read back and deleted at once, and for a
    /// dump with `--no-sync`.
    pub write_mode: compress::WriteMode,
    /// Files written in place reach the disk before they are used, and the
    /// dump before its `metadata` (off with `--no-sync`).
    pub sync: bool,
    /// The stream's files already sent, for new files to be written over
    /// (see `common::spare`).
    pub spares: Option<Arc<SpareFiles>>,
    /// `--exec`: the program run on each finished file.
    pub exec: Option<crate::exec::ExecPool>,
}

/// A file being written. Finish it with [`Output::finish`]; a file dropped
/// unfinished stays incomplete on disk and is never announced.
pub struct FileOut {
    pub file: DumpFile,
    pub path: PathBuf,
    w: Box<dyn FinishWrite>,
    pub bytes: u64,
}

impl FileOut {
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.w.write_all(data).with_context(|| format!("cannot write {}", self.path.display()))?;
        self.bytes += data.len() as u64;
        Ok(())
    }
}

impl Output {
    pub fn path(&self, file: &DumpFile) -> PathBuf {
        self.dir.join(file.file_name())
    }

    /// Creates a file (it must not exist yet).
    pub fn create(&self, file: DumpFile) -> Result<FileOut> {
        let path = self.path(&file);
        if self.replace && path.exists() {
            std::fs::remove_file(&path).with_context(|| format!("cannot replace {}", path.display()))?;
        }
        let w = match &self.spares {
            Some(spares) => compress::create_over(&path, file.compression(), spares),
            None => compress::create(&path, file.compression(), self.write_mode),
        }
        .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(FileOut { file, path, w, bytes: 0 })
    }

    /// Completes a file and hands it to the stream, if any.
    pub fn finish(&self, f: FileOut) -> Result<()> {
        let path = self.finish_unannounced(f)?;
        self.publish(&path)
    }

    /// Completes a file without announcing it; returns its path.
    pub fn finish_unannounced(&self, f: FileOut) -> Result<PathBuf> {
        let FileOut { path, w, bytes, .. } = f;
        w.finish().with_context(|| format!("cannot write {}", path.display()))?;
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        Ok(path)
    }

    /// Writes a whole small file at once.
    pub fn write_file(&self, file: DumpFile, content: &[u8]) -> Result<()> {
        let mut f = self.create(file)?;
        f.write(content)?;
        self.finish(f)
    }

    /// Writes an uncompressed file in place (metadata), replacing it.
    pub fn write_plain(&self, name: &str, content: &str) -> Result<PathBuf> {
        let path = self.dir.join(name);
        let mut f = std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(content.as_bytes())
            .and_then(|_| if self.sync { f.sync_data() } else { Ok(()) })
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    /// Announces a finished file to the stream (nothing without `--stream`)
    /// and to `--exec`.
    pub fn publish(&self, path: &Path) -> Result<()> {
        if let Some(exec) = &self.exec {
            exec.submit(path);
        }
        match &self.stream {
            Some(s) => s.send(path.to_path_buf()),
            None => Ok(()),
        }
    }
}
