//! Compression by file suffix: readers and writers that stream, so memory
//! stays bounded whatever the file's size.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::naming::Compression;

const BUF: usize = 256 * 1024;

/// A reader that decompresses `inner` as `compression` says.
pub fn reader(inner: impl Read + Send + 'static, compression: Compression) -> io::Result<Box<dyn BufRead + Send>> {
    Ok(match compression {
        Compression::None => Box::new(BufReader::with_capacity(BUF, inner)),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            BUF,
            flate2::read::MultiGzDecoder::new(BufReader::with_capacity(BUF, inner)),
        )),
        Compression::Zstd => Box::new(BufReader::with_capacity(BUF, zstd::stream::read::Decoder::new(inner)?)),
    })
}

/// Opens a file and decompresses it according to its name's suffix.
pub fn open(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let (_, compression) = Compression::split(name);
    reader(File::open(path)?, compression)
}

/// A writer that must be finished explicitly, so that trailers are written
/// and errors (a full disk) are seen rather than lost in a drop.
pub trait FinishWrite: Write + Send {
    fn finish(self: Box<Self>) -> io::Result<()>;
}

struct Plain(Sink);
struct Gzip(flate2::write::GzEncoder<Sink>);
struct Zstd(zstd::stream::write::Encoder<'static, Sink>);

/// How a new file's bytes reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Through the page cache: for files that are read back at once (the
    /// stream's files, which are sent and deleted).
    Buffered,
    /// Large aligned writes straight to the device (`O_DIRECT`) where the
    /// filesystem takes them, else through the page cache. A dump written
    /// this way needs no write-back of its data later: the sync before
    /// `metadata` has only the files' last partial blocks and the
    /// filesystem's own records left to write, and nothing is copied into
    /// the page cache on the way.
    Direct,
}

/// The file under the compressor.
enum Sink {
    Buffered(BufWriter<File>),
    Direct(DirectFile),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Buffered(w) => w.write(buf),
            Sink::Direct(w) => w.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Buffered(w) => w.write_all(buf),
            Sink::Direct(w) => w.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Buffered(w) => w.flush(),
            Sink::Direct(w) => w.flush(),
        }
    }
}

impl Sink {
    /// Writes out what is buffered and closes the file. Durability is left
    /// to [`sync_filesystem`], called once for a whole dump: a sync per
    /// file stalls every worker on the disk.
    fn close(self) -> io::Result<()> {
        match self {
            Sink::Buffered(mut w) => {
                w.flush()?;
                drop(w.into_inner().map_err(|e| e.into_error())?);
                Ok(())
            }
            Sink::Direct(w) => w.close(),
        }
    }
}

/// Alignment of direct writes: their memory, file offset and length. 4 KiB
/// covers the logical block size of the devices and filesystems in use.
const DIRECT_ALIGN: usize = 4096;
/// Bytes per direct write.
const DIRECT_BUF: usize = 1 << 20;
/// A file's buffer to begin with; it grows to `DIRECT_BUF` as needed.
const FIRST_BUF: usize = 16 * 1024;

#[repr(C, align(4096))]
#[derive(Clone, Copy)]
struct Block([u8; DIRECT_ALIGN]);

/// A buffer of whole blocks, aligned for `O_DIRECT`.
struct Blocks(Vec<Block>);

impl Blocks {
    /// A buffer of `bytes` (a multiple of the block size).
    fn new(bytes: usize) -> Blocks {
        Blocks(vec![Block([0; DIRECT_ALIGN]); bytes / DIRECT_ALIGN])
    }

    /// Grows the buffer, keeping its bytes, to hold at least `bytes` (at
    /// most [`DIRECT_BUF`]): small files never pay for a whole buffer.
    fn grow_to(&mut self, bytes: usize) {
        let blocks = bytes.min(DIRECT_BUF).div_ceil(DIRECT_ALIGN).next_power_of_two();
        if blocks > self.0.len() {
            self.0.resize(blocks, Block([0; DIRECT_ALIGN]));
        }
    }

    fn len(&self) -> usize {
        self.0.len() * DIRECT_ALIGN
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `Block` is plain bytes with no padding; the slice covers
        // exactly the vector's initialised elements.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), self.len()) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        let len = self.len();
        // SAFETY: as in `bytes`.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<u8>(), len) }
    }
}

/// Writes `data` at the file's position, directly while `direct` holds.
/// A refused direct write (`EINVAL`: other alignment rules) or a short one
/// (which leaves an unaligned rest) turns `O_DIRECT` off for the rest of
/// the file, so the bytes are always written whole, one way or the other.
fn write_at_position(file: &File, data: &[u8], direct: &mut bool) -> io::Result<()> {
    let mut done = 0;
    while done < data.len() {
        match (&*file).write(&data[done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(k) => done += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if *direct && e.raw_os_error() == Some(libc::EINVAL) => stop_direct(file, direct)?,
            Err(e) => return Err(e),
        }
        if *direct && done < data.len() && done % DIRECT_ALIGN != 0 {
            stop_direct(file, direct)?;
        }
    }
    Ok(())
}

/// Turns `O_DIRECT` off for a file's remaining writes.
fn stop_direct(file: &File, direct: &mut bool) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl(2) on a descriptor that `file` keeps open.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    *direct = false;
    Ok(())
}

/// The thread that writes a file's full buffers while the caller fills the
/// next one, so that the caller never waits for the device unless it is
/// a whole buffer ahead.
struct BackgroundWrites {
    full: Option<crossbeam_channel::Sender<Blocks>>,
    written: crossbeam_channel::Receiver<io::Result<(Blocks, bool)>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// A buffer is with the thread.
    busy: bool,
}

impl BackgroundWrites {
    fn start(file: std::sync::Arc<File>, mut direct: bool) -> io::Result<BackgroundWrites> {
        let (full_tx, full_rx) = crossbeam_channel::bounded::<Blocks>(1);
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        let thread = std::thread::Builder::new().name("direct-writer".into()).spawn(move || {
            for blocks in full_rx {
                let r = write_at_position(&file, blocks.bytes(), &mut direct).map(|()| (blocks, direct));
                let failed = r.is_err();
                if done_tx.send(r).is_err() || failed {
                    return;
                }
            }
        })?;
        Ok(BackgroundWrites { full: Some(full_tx), written: done_rx, thread: Some(thread), busy: false })
    }

    /// Waits for the buffer with the thread; returns it and whether the
    /// file is still written directly.
    fn wait(&mut self) -> io::Result<Option<(Blocks, bool)>> {
        if !self.busy {
            return Ok(None);
        }
        self.busy = false;
        match self.written.recv() {
            Ok(r) => r.map(Some),
            Err(_) => Err(io::Error::other("the file's writer thread stopped")),
        }
    }
}

impl Drop for BackgroundWrites {
    fn drop(&mut self) {
        self.full.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A file written in `DIRECT_BUF` pieces from aligned buffers with
/// `O_DIRECT`, the full pieces by a thread of the file's own (from its
/// second piece on) while the next is filled. The last partial block goes
/// through the page cache.
struct DirectFile {
    file: std::sync::Arc<File>,
    buf: Blocks,
    len: usize,
    direct: bool,
    /// Started when the first piece is full: small files need no thread.
    background: Option<BackgroundWrites>,
    /// A second buffer, once one is back from the thread.
    spare: Option<Blocks>,
}

impl DirectFile {
    /// Creates `path` (which must not exist) for direct writes, or `None`
    /// when the filesystem refuses `O_DIRECT` (tmpfs on older kernels).
    #[cfg(target_os = "linux")]
    fn create(path: &Path) -> io::Result<Option<DirectFile>> {
        use std::os::unix::fs::OpenOptionsExt;
        match File::options().write(true).create_new(true).custom_flags(libc::O_DIRECT).open(path) {
            Ok(file) => Ok(Some(DirectFile {
                file: std::sync::Arc::new(file),
                buf: Blocks::new(FIRST_BUF),
                len: 0,
                direct: true,
                background: None,
                spare: None,
            })),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(None),
            Err(e) => Err(e),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn create(_path: &Path) -> io::Result<Option<DirectFile>> {
        Ok(None)
    }

    /// Waits until no buffer is with the thread.
    fn settle(&mut self) -> io::Result<()> {
        if let Some(bg) = self.background.as_mut() {
            if let Some((blocks, direct)) = bg.wait()? {
                self.spare = Some(blocks);
                self.direct = direct;
            }
        }
        Ok(())
    }

    /// Hands the full buffer to the thread and goes on with the other.
    fn send_full(&mut self) -> io::Result<()> {
        if self.background.is_none() {
            self.background = Some(BackgroundWrites::start(self.file.clone(), self.direct)?);
        }
        self.settle()?;
        let next = self.spare.take().unwrap_or_else(|| Blocks::new(DIRECT_BUF));
        let full = std::mem::replace(&mut self.buf, next);
        self.len = 0;
        let bg = self.background.as_mut().expect("started above");
        match bg.full.as_ref().map(|tx| tx.send(full)) {
            Some(Ok(())) => {
                bg.busy = true;
                Ok(())
            }
            _ => Err(io::Error::other("the file's writer thread stopped")),
        }
    }

    /// Writes the whole aligned blocks buffered, here and now, and keeps
    /// the rest.
    fn write_blocks(&mut self) -> io::Result<()> {
        self.settle()?;
        let whole = self.len / DIRECT_ALIGN * DIRECT_ALIGN;
        if whole == 0 {
            return Ok(());
        }
        write_at_position(&self.file, &self.buf.bytes()[..whole], &mut self.direct)?;
        let len = self.len;
        self.buf.bytes_mut().copy_within(whole..len, 0);
        self.len -= whole;
        Ok(())
    }

    fn close(mut self) -> io::Result<()> {
        self.write_blocks()?;
        if self.len > 0 {
            if self.direct {
                stop_direct(&self.file, &mut self.direct)?;
            }
            write_at_position(&self.file, &self.buf.bytes()[..self.len], &mut self.direct)?;
            self.len = 0;
        }
        Ok(())
    }
}

impl Write for DirectFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let len = self.len;
        if len + data.len() > self.buf.len() {
            self.buf.grow_to(len + data.len());
        }
        let n = data.len().min(self.buf.len() - len);
        self.buf.bytes_mut()[len..len + n].copy_from_slice(&data[..n]);
        self.len += n;
        if self.len == DIRECT_BUF {
            self.send_full()?;
        }
        Ok(n)
    }

    /// Writes whole blocks only: a partial block written directly would
    /// leave the next write unaligned. [`DirectFile::close`] writes the rest.
    fn flush(&mut self) -> io::Result<()> {
        self.write_blocks()
    }
}

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
    let direct = match mode {
        WriteMode::Direct => DirectFile::create(path)?,
        WriteMode::Buffered => None,
    };
    let out = match direct {
        Some(d) => Sink::Direct(d),
        None => Sink::Buffered(BufWriter::with_capacity(BUF, File::options().write(true).create_new(true).open(path)?)),
    };
    Ok(match compression {
        Compression::None => Box::new(Plain(out)),
        Compression::Gzip => Box::new(Gzip(flate2::write::GzEncoder::new(out, flate2::Compression::fast()))),
        Compression::Zstd => Box::new(Zstd(zstd::stream::write::Encoder::new(out, 3)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Direct writes keep every byte whatever the sizes of the pieces and
    /// the file, with flushes in between, on disk and on tmpfs.
    #[test]
    fn direct_writes_keep_every_byte() {
        let disk = tempfile::tempdir().unwrap();
        let shm = tempfile::tempdir_in("/dev/shm").ok();
        let dirs: Vec<&Path> = std::iter::once(disk.path()).chain(shm.as_ref().map(|d| d.path())).collect();
        for dir in dirs {
            for size in [0usize, 1, 4095, 4096, 4097, DIRECT_BUF, DIRECT_BUF + 4097, 3 * DIRECT_BUF + 12345] {
                let data: Vec<u8> = (0..size).map(|i| (i * 7 + i / 4093) as u8).collect();
                let path = dir.join(format!("f{size}.sql"));
                let mut w = create(&path, Compression::None, WriteMode::Direct).unwrap();
                // Pieces small and large, so that some straddle the end of
                // the buffer, and an unaligned flush now and then.
                let (mut at, mut i) = (0, 0);
                while at < data.len() {
                    let n = [7919, 300_007, 1][i % 3].min(data.len() - at);
                    w.write_all(&data[at..at + n]).unwrap();
                    at += n;
                    i += 1;
                    if i % 40 == 7 {
                        w.flush().unwrap();
                    }
                }
                w.finish().unwrap();
                assert_eq!(std::fs::read(&path).unwrap(), data, "{} bytes in {}", size, dir.display());
            }
        }
    }
}
