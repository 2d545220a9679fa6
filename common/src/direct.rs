//! Dump files written with `O_DIRECT`: large aligned transfers from this
//! process to the device that skip the page cache. A dump written this way
//! needs no write-back of its data later (the sync before `metadata` has
//! only the files' last partial blocks and the filesystem's own records
//! left to write), and nothing is copied into the page cache on the way.
//! Small files, the streams' files (read back at once; rdumper's are sent
//! with `sendfile` and written over the cached pages of files already sent:
//! [`crate::spare`]), dumps with `--no-sync` and filesystems without
//! `O_DIRECT` (tmpfs on older kernels) go through the page cache instead; a
//! file's bytes are the same either way. Files are read through the page
//! cache, into the same pooled buffers.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Alignment of direct transfers: their memory, file offset and length.
/// 4 KiB covers the logical block size of the devices and filesystems in use.
const DIRECT_ALIGN: usize = 4096;
/// Bytes per write. A file turns direct once it reaches this size.
const DIRECT_BUF: usize = 1 << 20;
/// A file's buffer to begin with; it grows to `DIRECT_BUF` as needed.
const FIRST_BUF: usize = 16 * 1024;
/// Full-size buffers kept between files, so that a dump of many large
/// files (a stream's pieces) does not map, fault in and zero fresh memory
/// for every file. At most this many are kept (each `DIRECT_BUF`).
const POOLED: usize = 16;

/// The full-size buffers no file is using.
static POOL: Mutex<Vec<Blocks>> = Mutex::new(Vec::new());

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

    /// A full-size buffer: one from the pool, else a new one.
    fn full_size() -> Blocks {
        let pooled = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop();
        pooled.unwrap_or_else(|| Blocks::new(DIRECT_BUF))
    }

    /// Gives a buffer no longer used to the pool, if it is full-size and
    /// the pool has room; otherwise frees it.
    fn recycle(self) {
        if self.len() == DIRECT_BUF {
            let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
            if pool.len() < POOLED {
                pool.push(self);
            }
        }
    }

    /// Grows the buffer, keeping its bytes, to hold at least `bytes` (at
    /// most [`DIRECT_BUF`]): small files never pay for a whole buffer.
    fn grow_to(&mut self, bytes: usize) {
        let blocks = bytes.min(DIRECT_BUF).div_ceil(DIRECT_ALIGN).next_power_of_two();
        if blocks * DIRECT_ALIGN == DIRECT_BUF && self.len() < DIRECT_BUF {
            let mut full = Blocks::full_size();
            let len = self.len();
            full.bytes_mut()[..len].copy_from_slice(self.bytes());
            std::mem::replace(self, full).recycle();
        } else if blocks > self.0.len() {
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

/// Bytes per write through the page cache. The kernel sizes the cache
/// pages (folios) it allocates for a write by the write's length; from
/// 512 KiB on, a virtual machine that hands free memory back to its host
/// pays a fault on the host for the fresh large blocks, which made 1 MiB
/// writes cost four times the system time of 256 KiB ones (800 MB: 1.1-1.5 s
/// against 0.3 s) on the machine the benchmarks ran on.
const CACHED_WRITE: usize = 256 * 1024;

/// Writes `data` at the file's position, directly while `direct` holds.
/// A refused direct write (`EINVAL`: other alignment rules) or a short one
/// (which leaves an unaligned rest) turns `O_DIRECT` off for the rest of
/// the file, so the bytes are always written whole, one way or the other.
fn write_at_position(file: &File, data: &[u8], direct: &mut bool) -> io::Result<()> {
    let mut done = 0;
    while done < data.len() {
        let end = if *direct { data.len() } else { data.len().min(done + CACHED_WRITE) };
        match (&*file).write(&data[done..end]) {
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

/// Sets or clears `O_DIRECT` on an open file.
fn set_o_direct(file: &File, on: bool) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl(2) on a descriptor that `file` keeps open.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        let flags = if on { flags | libc::O_DIRECT } else { flags & !libc::O_DIRECT };
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    // Elsewhere files are never direct: turning it on is refused.
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        if on {
            Err(io::Error::from_raw_os_error(libc::EINVAL))
        } else {
            Ok(())
        }
    }
}

/// Turns `O_DIRECT` off for a file's remaining writes.
fn stop_direct(file: &File, direct: &mut bool) -> io::Result<()> {
    set_o_direct(file, false)?;
    *direct = false;
    Ok(())
}

/// Turns `O_DIRECT` on for a file's next writes, if the filesystem takes it.
fn start_direct(file: &File) -> io::Result<bool> {
    match set_o_direct(file, true) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Full buffers a file may have with its writer thread: more than one, so
/// that a write the device is slow to finish (while other files are read
/// or written) does not stall the caller at once.
const IN_FLIGHT: usize = 2;

/// The thread that writes a file's full buffers, in order, while the caller
/// fills the next one: the caller waits for the device only when it is
/// [`IN_FLIGHT`] buffers ahead.
struct BackgroundWrites {
    full: Option<crossbeam_channel::Sender<Blocks>>,
    written: crossbeam_channel::Receiver<io::Result<(Blocks, bool)>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Buffers with the thread.
    busy: usize,
}

impl BackgroundWrites {
    fn start(file: Arc<File>, mut direct: bool) -> io::Result<BackgroundWrites> {
        let (full_tx, full_rx) = crossbeam_channel::bounded::<Blocks>(IN_FLIGHT);
        let (done_tx, done_rx) = crossbeam_channel::bounded(IN_FLIGHT);
        let thread = std::thread::Builder::new().name("direct-writer".into()).spawn(move || {
            for blocks in full_rx {
                let r = write_at_position(&file, blocks.bytes(), &mut direct).map(|()| (blocks, direct));
                let failed = r.is_err();
                if done_tx.send(r).is_err() || failed {
                    return;
                }
            }
        })?;
        Ok(BackgroundWrites { full: Some(full_tx), written: done_rx, thread: Some(thread), busy: 0 })
    }

    /// Waits for the oldest buffer with the thread; returns it and whether
    /// the file is still written directly.
    fn wait(&mut self) -> io::Result<Option<(Blocks, bool)>> {
        if self.busy == 0 {
            return Ok(None);
        }
        self.busy -= 1;
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

/// A new file written in `DIRECT_BUF` pieces from aligned buffers: through
/// the page cache until its first piece is full, then (if the file is
/// created `direct`) with `O_DIRECT`, the full pieces by a thread of the
/// file's own while the next are filled. The last partial block goes
/// through the page cache. Finish it with [`DirectFile::close`], which
/// reports what a drop would lose.
pub(crate) struct DirectFile {
    file: Arc<File>,
    buf: Blocks,
    len: usize,
    direct: bool,
    /// `O_DIRECT` is still to be asked for (with the first full piece).
    try_direct: bool,
    /// Started with the first full piece: small files need no thread.
    background: Option<BackgroundWrites>,
    /// Buffers back from the thread, to fill again.
    spare: Vec<Blocks>,
    /// Written over an existing file's bytes (a spare file taken over):
    /// cut where the new bytes end.
    over: bool,
}

impl DirectFile {
    /// Creates `path`, which must not exist, to be written directly once
    /// it is large, or (`direct` false) always through the page cache.
    pub(crate) fn create(path: &Path, direct: bool) -> io::Result<DirectFile> {
        let file = File::options().write(true).create_new(true).open(path)?;
        Ok(DirectFile::new(file, direct, false))
    }

    /// Creates `path`, which must not exist, through the page cache, over
    /// a spare file when `spares` has one (see [`crate::spare`]).
    pub(crate) fn create_over(path: &Path, spares: &crate::spare::SpareFiles) -> io::Result<DirectFile> {
        match spares.take(path)? {
            Some(file) => Ok(DirectFile::new(file, false, true)),
            None => DirectFile::create(path, false),
        }
    }

    fn new(file: File, direct: bool, over: bool) -> DirectFile {
        DirectFile {
            file: Arc::new(file),
            buf: Blocks::new(FIRST_BUF),
            len: 0,
            direct: false,
            try_direct: direct,
            background: None,
            spare: Vec::new(),
            over,
        }
    }

    /// Cuts a file written over older bytes where the new ones end.
    fn cut(&mut self) -> io::Result<()> {
        if self.over {
            self.over = false;
            let end = io::Seek::stream_position(&mut &*self.file)?;
            self.file.set_len(end)?;
        }
        Ok(())
    }

    /// Waits until at most `busy` buffers are with the thread.
    fn wait_until(&mut self, busy: usize) -> io::Result<()> {
        if let Some(bg) = self.background.as_mut() {
            while bg.busy > busy {
                if let Some((blocks, direct)) = bg.wait()? {
                    self.spare.push(blocks);
                    self.direct = direct;
                }
            }
        }
        Ok(())
    }

    /// Waits until no buffer is with the thread.
    fn settle(&mut self) -> io::Result<()> {
        self.wait_until(0)
    }

    /// Hands the full buffer to the thread and goes on with the other.
    fn send_full(&mut self) -> io::Result<()> {
        if self.try_direct {
            self.try_direct = false;
            self.direct = start_direct(&self.file)?;
        }
        if self.background.is_none() {
            self.background = Some(BackgroundWrites::start(self.file.clone(), self.direct)?);
        }
        self.wait_until(IN_FLIGHT - 1)?;
        let next = self.spare.pop().unwrap_or_else(Blocks::full_size);
        let full = std::mem::replace(&mut self.buf, next);
        self.len = 0;
        let bg = self.background.as_mut().expect("started above");
        match bg.full.as_ref().map(|tx| tx.send(full)) {
            Some(Ok(())) => {
                bg.busy += 1;
                Ok(())
            }
            _ => Err(io::Error::other("the file's writer thread stopped")),
        }
    }

    /// Writes the whole aligned blocks, here and now, and keeps the rest.
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

    /// Writes what is buffered and closes the file. Durability is left to
    /// [`crate::compress::sync_filesystem`], called once for a whole dump:
    /// a sync per file stalls every worker on the disk.
    pub(crate) fn close(mut self) -> io::Result<()> {
        self.write_blocks()?;
        if self.len > 0 {
            if self.direct {
                stop_direct(&self.file, &mut self.direct)?;
            }
            write_at_position(&self.file, &self.buf.bytes()[..self.len], &mut self.direct)?;
            self.len = 0;
        }
        self.cut()
    }
}

impl Drop for DirectFile {
    /// Cuts a file written over a spare's bytes where its own end, and
    /// returns the file's buffers to the pool (those with its writer thread
    /// after a failed write are freed with it).
    fn drop(&mut self) {
        // An unfinished file holds none of a spare's older bytes either.
        if self.over && self.settle().is_ok() {
            let _ = self.cut();
        }
        std::mem::replace(&mut self.buf, Blocks(Vec::new())).recycle();
        for b in self.spare.drain(..) {
            b.recycle();
        }
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

/// Reads the next piece of `file` into `buf`; returns its length (0 at the
/// end).
fn read_block(file: &File, buf: &mut Blocks) -> io::Result<usize> {
    loop {
        match (&*file).read(buf.bytes_mut()) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A file read through the page cache in pieces of up to `DIRECT_BUF`, a
/// large file's into one of the pooled full-size buffers, so that reading
/// many large files (a stream's pieces) maps and faults in no fresh memory
/// for each.
pub(crate) struct PooledReader {
    file: File,
    buf: Blocks,
    pos: usize,
    len: usize,
}

impl PooledReader {
    pub(crate) fn open(path: &Path) -> io::Result<PooledReader> {
        let file = File::open(path)?;
        let large = file.metadata()?.len() >= DIRECT_BUF as u64;
        let buf = if large { Blocks::full_size() } else { Blocks::new(FIRST_BUF) };
        Ok(PooledReader { file, buf, pos: 0, len: 0 })
    }
}

impl io::BufRead for PooledReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.len {
            self.pos = 0;
            self.len = 0;
            self.len = read_block(&self.file, &mut self.buf)?;
        }
        Ok(&self.buf.bytes()[self.pos..self.len])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.len);
    }
}

impl io::Read for PooledReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let have = io::BufRead::fill_buf(self)?;
            let n = have.len().min(out.len());
            out[..n].copy_from_slice(&have[..n]);
            n
        };
        io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl Drop for PooledReader {
    fn drop(&mut self) {
        std::mem::replace(&mut self.buf, Blocks(Vec::new())).recycle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Disk, and tmpfs where there is one (no `O_DIRECT` on older kernels).
    fn dirs() -> Vec<tempfile::TempDir> {
        std::iter::once(tempfile::tempdir().unwrap()).chain(tempfile::tempdir_in("/dev/shm").ok()).collect()
    }

    const SIZES: [usize; 8] = [0, 1, 4095, 4096, 4097, DIRECT_BUF, DIRECT_BUF + 4097, 3 * DIRECT_BUF + 12345];

    fn pattern(size: usize) -> Vec<u8> {
        (0..size).map(|i| (i * 7 + i / 4093) as u8).collect()
    }

    /// Direct writes keep every byte whatever the sizes of the pieces and
    /// the file, with flushes in between, on disk and on tmpfs.
    #[test]
    fn direct_writes_keep_every_byte() {
        for (dir, direct) in dirs().iter().flat_map(|d| [(d.path(), true), (d.path(), false)]) {
            for size in SIZES {
                let data = pattern(size);
                let path = dir.join(format!("f{size}-{direct}.sql"));
                let mut w = DirectFile::create(&path, direct).unwrap();
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
                w.close().unwrap();
                assert_eq!(std::fs::read(&path).unwrap(), data, "{} bytes in {}", size, dir.display());
                let mut back = Vec::new();
                PooledReader::open(&path).unwrap().read_to_end(&mut back).unwrap();
                assert!(back == data, "{} bytes read back from {}", size, dir.display());
            }
        }
    }
}
