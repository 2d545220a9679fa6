//! Compression by file suffix: readers and writers that stream, so memory
//! stays bounded whatever the file's size.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

use crate::direct::{DirectFile, PooledReader};
use crate::naming::Compression;
use crate::spare::SpareFiles;

const BUF: usize = 256 * 1024;

/// `--exec-per-thread CMD --exec-per-thread-extension .EXT`: files whose
/// names end in the extension go through the program, one run per file
/// (rdumper's compresses its standard input to its standard output,
/// rloader's decompresses).
#[derive(Debug)]
pub struct ExecCompression {
    /// The program and its arguments (the option split at whitespace).
    pub command: Vec<String>,
    pub extension: String,
}

static EXEC: OnceLock<ExecCompression> = OnceLock::new();

/// The program of `--exec-per-thread`, once set.
pub fn exec() -> Option<&'static ExecCompression> {
    EXEC.get()
}

/// Sets the program of `--exec-per-thread` and its extension for this
/// process (both options are needed together).
pub fn set_exec(command: Option<&str>, extension: Option<&str>) -> anyhow::Result<()> {
    let (command, extension) = match (command, extension) {
        (None, None) => return Ok(()),
        (Some(c), Some(e)) => (c, e.trim()),
        _ => anyhow::bail!("--exec-per-thread and --exec-per-thread-extension go together"),
    };
    let argv: Vec<String> = command.split_whitespace().map(str::to_string).collect();
    if argv.is_empty() {
        anyhow::bail!("--exec-per-thread: no program given");
    }
    let ok = extension.len() > 1
        && extension.starts_with('.')
        && extension[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        && ![".sql", ".dat", ".gz", ".zst"].contains(&extension);
    if !ok {
        anyhow::bail!("--exec-per-thread-extension: {extension:?} is not a file extension of its own (e.g. .lz4)");
    }
    let spec = ExecCompression { command: argv, extension: extension.to_string() };
    if let Err(spec) = EXEC.set(spec) {
        if exec().map(|e| (&e.command, &e.extension)) != Some((&spec.command, &spec.extension)) {
            anyhow::bail!("--exec-per-thread is set already");
        }
    }
    Ok(())
}

impl ExecCompression {
    fn describe(&self) -> String {
        self.command.join(" ")
    }

    fn spawn(&self, stdin: Stdio, stdout: Stdio) -> io::Result<Child> {
        Command::new(&self.command[0])
            .args(&self.command[1..])
            .stdin(stdin)
            .stdout(stdout)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run `{}`: {e}", self.describe())))
    }

    /// Waits for `child` and turns a failed run into an error naming the
    /// program and the file.
    fn reap(&self, child: &mut Child, path: &Path) -> io::Result<()> {
        let status = child.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("`{}` failed on {} ({status})", self.describe(), path.display())))
        }
    }
}

/// A file read through the `--exec-per-thread` program; its end is an
/// error unless the program succeeded.
struct ExecReader {
    spec: &'static ExecCompression,
    child: Child,
    out: ChildStdout,
    path: PathBuf,
    ended: bool,
}

impl Read for ExecReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        let n = self.out.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.ended = true;
            self.spec.reap(&mut self.child, &self.path)?;
        }
        Ok(n)
    }
}

impl Drop for ExecReader {
    fn drop(&mut self) {
        if !self.ended {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A reader that decompresses `inner` (already buffered) as `compression`
/// says; a plain file is read from `inner`'s own buffer. Not for
/// `Compression::Exec`, whose program reads the file itself (see [`open`]).
pub fn reader(inner: impl BufRead + Send + 'static, compression: Compression) -> io::Result<Box<dyn BufRead + Send>> {
    Ok(match compression {
        Compression::None => Box::new(inner),
        Compression::Gzip => Box::new(BufReader::with_capacity(BUF, flate2::bufread::MultiGzDecoder::new(inner))),
        Compression::Zstd => Box::new(BufReader::with_capacity(BUF, zstd::stream::read::Decoder::with_buffer(inner)?)),
        Compression::Exec => return Err(io::Error::other("a file of --exec-per-thread-extension is read through its program")),
    })
}

/// Opens a file and decompresses it according to its name's suffix.
pub fn open(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let (_, compression) = Compression::split(name);
    if compression == Compression::Exec {
        let spec = exec().ok_or_else(|| io::Error::other("no --exec-per-thread program"))?;
        let mut child = spec.spawn(Stdio::from(File::open(path)?), Stdio::piped())?;
        let out = child.stdout.take().expect("piped stdout");
        let r = ExecReader { spec, child, out, path: path.to_path_buf(), ended: false };
        return Ok(Box::new(BufReader::with_capacity(BUF, r)));
    }
    reader(PooledReader::open(path)?, compression)
}

/// A writer that must be finished explicitly, so that trailers are written
/// and errors (a full disk) are seen rather than lost in a drop.
pub trait FinishWrite: Write + Send {
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// How a new file's bytes reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Through the page cache: for files that are read back at once and
    /// deleted (the stream's), which then never reach the disk, and files
    /// whose write-back is left to the kernel.
    Buffered,
    /// With `O_DIRECT` once a file passes 1 MiB (see [`crate::direct`]):
    /// for a dump that stays on disk.
    Direct,
}

struct Plain(DirectFile);
struct Gzip(flate2::write::GzEncoder<DirectFile>);
struct Zstd(zstd::stream::write::Encoder<'static, DirectFile>);

macro_rules! delegate_write {
    ($t:ty) => {
        impl Write for $t {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.write(buf)
            }
            fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
                self.0.write_all(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                self.0.flush()
            }
        }
    };
}
delegate_write!(Plain);
delegate_write!(Gzip);
delegate_write!(Zstd);

/// Writes everything written so far on the filesystem holding `dir` to
/// disk, and the directory entries of `dir`, reporting any write-back error
/// (a full disk or an I/O error seen only now).
pub fn sync_filesystem(dir: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let d = File::open(dir)?;
    // SAFETY: syncfs(2) on a descriptor we own for the duration of the call.
    #[cfg(target_os = "linux")]
    if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    d.sync_all()
}

impl FinishWrite for Plain {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0.close()
    }
}
impl FinishWrite for Gzip {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0.finish()?.close()
    }
}
impl FinishWrite for Zstd {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0.finish()?.close()
    }
}

/// Creates `path` (which must not exist) and returns a compressing writer.
pub fn create(path: &Path, compression: Compression, mode: WriteMode) -> io::Result<Box<dyn FinishWrite>> {
    if compression == Compression::Exec {
        return ExecWriter::create(path);
    }
    writer(DirectFile::create(path, mode == WriteMode::Direct)?, compression)
}

/// [`create`] through the page cache, over one of `spares` when there is
/// one: for files that are read back at once and then retired to `spares`.
pub fn create_over(path: &Path, compression: Compression, spares: &SpareFiles) -> io::Result<Box<dyn FinishWrite>> {
    if compression == Compression::Exec {
        return ExecWriter::create(path);
    }
    writer(DirectFile::create_over(path, spares)?, compression)
}

/// A file written by the `--exec-per-thread` program from what is written
/// to its standard input.
struct ExecWriter {
    spec: &'static ExecCompression,
    child: Child,
    input: Option<ChildStdin>,
    path: PathBuf,
    /// The program was waited for.
    reaped: bool,
}

impl ExecWriter {
    fn create(path: &Path) -> io::Result<Box<dyn FinishWrite>> {
        let spec = exec().ok_or_else(|| io::Error::other("no --exec-per-thread program"))?;
        let file = File::options().write(true).create_new(true).open(path)?;
        let mut child = spec.spawn(Stdio::piped(), Stdio::from(file))?;
        let input = child.stdin.take();
        Ok(Box::new(ExecWriter { spec, child, input, path: path.to_path_buf(), reaped: false }))
    }

    /// The program stopped reading: its exit, if it failed, is the error.
    fn broken(&mut self, e: io::Error) -> io::Error {
        drop(self.input.take());
        self.reaped = true;
        match self.spec.reap(&mut self.child, &self.path) {
            Err(failed) => failed,
            Ok(()) => io::Error::new(e.kind(), format!("`{}` stopped reading {} ({e})", self.spec.describe(), self.path.display())),
        }
    }
}

impl Write for ExecWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let input = self.input.as_mut().ok_or_else(|| io::Error::other("file finished"))?;
        match input.write(buf) {
            Ok(n) => Ok(n),
            Err(e) => Err(self.broken(e)),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl FinishWrite for ExecWriter {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        // The end of its input ends the program's output.
        drop(self.input.take());
        self.reaped = true;
        self.spec.reap(&mut self.child, &self.path)
    }
}

impl Drop for ExecWriter {
    fn drop(&mut self) {
        // Unfinished (an error elsewhere): the program goes, its file stays
        // incomplete, as any unfinished file of a failed dump.
        if !self.reaped {
            drop(self.input.take());
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn writer(out: DirectFile, compression: Compression) -> io::Result<Box<dyn FinishWrite>> {
    Ok(match compression {
        Compression::None => Box::new(Plain(out)),
        Compression::Gzip => Box::new(Gzip(flate2::write::GzEncoder::new(out, flate2::Compression::fast()))),
        Compression::Zstd => Box::new(Zstd(zstd::stream::write::Encoder::new(out, 3)?)),
        Compression::Exec => return Err(io::Error::other("a file of --exec-per-thread-extension is written by its program")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn round_trips_and_detects_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        for (c, name, mode) in [
            (Compression::None, "a.sql", WriteMode::Buffered),
            (Compression::Gzip, "a.sql.gz", WriteMode::Buffered),
            (Compression::Zstd, "a.sql.zst", WriteMode::Buffered),
            (Compression::None, "d.sql", WriteMode::Direct),
            (Compression::Gzip, "d.sql.gz", WriteMode::Direct),
            (Compression::Zstd, "d.sql.zst", WriteMode::Direct),
        ] {
            let path = dir.path().join(name);
            let mut w = create(&path, c, mode).unwrap();
            w.write_all(&data).unwrap();
            w.finish().unwrap();
            sync_filesystem(dir.path()).unwrap();
            let mut back = Vec::new();
            open(&path).unwrap().read_to_end(&mut back).unwrap();
            assert_eq!(back, data, "{name}");
            if c != Compression::None {
                let bytes = std::fs::read(&path).unwrap();
                std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
                let mut back = Vec::new();
                assert!(open(&path).unwrap().read_to_end(&mut back).is_err(), "truncated {name} must fail");
            }
        }
    }

    /// A file written over a spare holds its own bytes only, whether the
    /// spare was longer or shorter, and whether it is finished or dropped.
    #[test]
    fn files_written_over_spares_hold_only_their_own_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let spares = SpareFiles::new(dir.path(), 64 << 20);
        let data: Vec<u8> = (0..900_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut n = 0;
        for (c, ext) in [(Compression::None, "sql"), (Compression::Gzip, "sql.gz"), (Compression::Zstd, "sql.zst")] {
            for (spare_len, len) in [(8 << 20, data.len()), (2 << 20, data.len()), (3 << 20, 5000), (1 << 20, 0)] {
                n += 1;
                let old = dir.path().join(format!("old{n}.sql"));
                std::fs::write(&old, vec![b'#'; spare_len]).unwrap();
                spares.retire(&old).unwrap();
                assert_eq!(spares.count(), 1);
                let path = dir.path().join(format!("new{n}.{ext}"));
                let mut w = create_over(&path, c, &spares).unwrap();
                assert_eq!(spares.count(), 0, "the spare was taken");
                w.write_all(&data[..len]).unwrap();
                w.finish().unwrap();
                let mut back = Vec::new();
                open(&path).unwrap().read_to_end(&mut back).unwrap();
                assert!(back == data[..len], "{path:?} over a spare of {spare_len} bytes");
                spares.retire(&path).unwrap();
                spares.clear();
            }
        }
        // Dropped unfinished: cut where its written bytes end.
        let old = dir.path().join("old.sql");
        std::fs::write(&old, vec![b'#'; 8 << 20]).unwrap();
        spares.retire(&old).unwrap();
        let path = dir.path().join("dropped.sql");
        let mut w = create_over(&path, Compression::None, &spares).unwrap();
        w.write_all(&data).unwrap();
        drop(w);
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        assert!(len <= data.len(), "no older bytes after the written ones ({len})");
        assert!(std::fs::read(&path).unwrap() == data[..len]);
    }
}
