//! Stream framing, both directions. A stream is a sequence of files, each
//! announced by a header line `\n-- NAME SIZE\n` and followed by exactly
//! SIZE bytes. There is no end marker: EOF after a whole file ends it.
//! The older form without sizes (`\n-- NAME\n`) is read as a fallback.

use std::fs::File;
use std::io::{self, BufRead, Read, Write};
#[cfg(target_os = "linux")]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use crate::naming::DumpFile;

/// Longest header line accepted, in bytes.
const MAX_HEADER: usize = 4096;

/// Writes the header announcing a file of `size` bytes.
pub fn write_header<W: Write + ?Sized>(w: &mut W, name: &str, size: u64) -> io::Result<()> {
    write!(w, "\n-- {name} {size}\n")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHeader {
    /// The file name as announced.
    pub name: String,
    pub file: DumpFile,
    /// `None` for the older size-less form.
    pub size: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("stream read failed: {0}")]
    Io(#[from] io::Error),
    #[error("bad stream header {header:?} at byte {offset}: {reason}")]
    BadHeader { header: String, offset: u64, reason: String },
    #[error("stream truncated: file {name:?} announced {expected} bytes but the stream ended after {got}")]
    Truncated { name: String, expected: u64, got: u64 },
    #[error("unexpected bytes after file {name:?} at byte {offset}: expected the next header or the end of the stream")]
    TrailingBytes { name: String, offset: u64 },
}

/// Reads a stream: call [`next_header`](Self::next_header), then
/// [`copy_payload`](Self::copy_payload) for that header, and repeat.
pub struct StreamReader<R: Read> {
    inner: io::BufReader<R>,
    offset: u64,
    /// Whether the stream uses the size-less form (decided by its first header).
    sizeless: Option<bool>,
    /// In the size-less form, the header that ended the previous payload.
    pending: Option<StreamHeader>,
    at_eof: bool,
    /// How [`copy_payload_to_file`](Self::copy_payload_to_file) moves
    /// payloads, until the kernel refuses.
    kernel_copy: KernelCopy,
}

impl<R: Read> StreamReader<R> {
    pub fn new(reader: R) -> Self {
        StreamReader {
            inner: io::BufReader::with_capacity(1 << 20, reader),
            offset: 0,
            sizeless: None,
            pending: None,
            at_eof: false,
            kernel_copy: KernelCopy::Splice,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next header, or `None` at a clean end of the stream.
    pub fn next_header(&mut self) -> Result<Option<StreamHeader>, StreamError> {
        if let Some(h) = self.pending.take() {
            return Ok(Some(h));
        }
        if self.at_eof {
            return Ok(None);
        }
        let start = self.offset;
        let mut lead = [0u8; 4];
        let n = read_up_to(&mut self.inner, &mut lead)?;
        self.offset += n as u64;
        if n == 0 {
            return Ok(None);
        }
        if &lead[..n] != b"\n-- " {
            return Err(StreamError::BadHeader {
                header: String::from_utf8_lossy(&lead[..n]).into_owned(),
                offset: start,
                reason: "a header must start with a newline and \"-- \"".into(),
            });
        }
        let line = self.read_header_line(start)?;
        let header = self.parse_header(&line, start)?;
        Ok(Some(header))
    }

    fn read_header_line(&mut self, start: u64) -> Result<String, StreamError> {
        let mut line = Vec::new();
        let n = (&mut self.inner).take(MAX_HEADER as u64 + 1).read_until(b'\n', &mut line)?;
        self.offset += n as u64;
        if line.last() != Some(&b'\n') {
            let reason = if line.len() > MAX_HEADER { "header line too long" } else { "stream ended inside a header" };
            return Err(StreamError::BadHeader {
                header: String::from_utf8_lossy(&line).into_owned(),
                offset: start,
                reason: reason.into(),
            });
        }
        line.pop();
        String::from_utf8(line).map_err(|e| StreamError::BadHeader {
            header: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            offset: start,
            reason: "header is not valid UTF-8".into(),
        })
    }

    fn parse_header(&mut self, line: &str, offset: u64) -> Result<StreamHeader, StreamError> {
        let bad = |reason: String| StreamError::BadHeader { header: format!("-- {line}"), offset, reason };
        let sized = match line.rsplit_once(' ') {
            Some((name, size)) if !size.is_empty() && size.bytes().all(|b| b.is_ascii_digit()) => {
                let size: u64 = size.parse().map_err(|_| bad("size out of range".into()))?;
                Some((name, size))
            }
            _ => None,
        };
        let sizeless = *self.sizeless.get_or_insert(sized.is_none() && DumpFile::parse(line).is_some());
        let (name, size) = match (sized, sizeless) {
            (Some((name, size)), false) => (name, Some(size)),
            (None, true) => (line, None),
            (Some(_), true) => return Err(bad("a sized header in a stream that began without sizes".into())),
            (None, false) => {
                let tail = line.rsplit_once(' ').map(|(_, s)| s).unwrap_or("");
                return Err(bad(format!("size {tail:?} is not a number")));
            }
        };
        if name.contains('\0') || name.contains('/') || name.contains('\\') || name == "." || name == ".." {
            return Err(bad("unsafe file name".into()));
        }
        match DumpFile::parse(name) {
            Some(DumpFile::Resume) | None => Err(bad("not a mydumper file name".into())),
            Some(file) => Ok(StreamHeader { name: name.to_string(), file, size }),
        }
    }

    /// Copies the payload of `header` (just returned by `next_header`) to
    /// `out`, and returns its length. Fails if the stream ends early or if
    /// anything but a header or EOF follows the payload.
    pub fn copy_payload<W: Write + ?Sized>(&mut self, header: &StreamHeader, out: &mut W) -> Result<u64, StreamError> {
        match header.size {
            Some(size) => self.copy_sized(header, size, out),
            None => self.copy_sizeless(out),
        }
    }

    fn copy_sized<W: Write + ?Sized>(&mut self, header: &StreamHeader, size: u64, out: &mut W) -> Result<u64, StreamError> {
        self.copy_rest(header, size, size, out)?;
        self.end_sized(header)?;
        Ok(size)
    }

    /// Copies the last `left` of a payload of `size` bytes.
    fn copy_rest<W: Write + ?Sized>(&mut self, header: &StreamHeader, size: u64, mut left: u64, out: &mut W) -> Result<(), StreamError> {
        while left > 0 {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Err(StreamError::Truncated { name: header.name.clone(), expected: size, got: size - left });
            }
            let n = buf.len().min(left as usize);
            out.write_all(&buf[..n])?;
            self.inner.consume(n);
            left -= n as u64;
            self.offset += n as u64;
        }
        Ok(())
    }

    /// After a sized payload: the next header or the end of the stream.
    fn end_sized(&mut self, header: &StreamHeader) -> Result<(), StreamError> {
        let buf = self.inner.fill_buf()?;
        if buf.is_empty() {
            self.at_eof = true;
        } else if buf[0] != b'\n' {
            return Err(StreamError::TrailingBytes { name: header.name.clone(), offset: self.offset });
        }
        Ok(())
    }

    /// Size-less form: the payload runs to the next line that is a valid
    /// header (`-- NAME` with a mydumper file name) or to EOF. The newline
    /// before such a line belongs to the header.
    fn copy_sizeless<W: Write + ?Sized>(&mut self, out: &mut W) -> Result<u64, StreamError> {
        let mut written = 0u64;
        let mut held_newline = false;
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = self.inner.read_until(b'\n', &mut line)?;
            if n == 0 {
                if held_newline {
                    out.write_all(b"\n")?;
                    written += 1;
                }
                self.at_eof = true;
                return Ok(written);
            }
            let start = self.offset;
            self.offset += n as u64;
            if held_newline && line.ends_with(b"\n") {
                if let Some(rest) = line.strip_prefix(b"-- ") {
                    let name = &rest[..rest.len() - 1];
                    if let Some(file) = std::str::from_utf8(name).ok().and_then(DumpFile::parse) {
                        self.pending = Some(StreamHeader {
                            name: String::from_utf8_lossy(name).into_owned(),
                            file,
                            size: None,
                        });
                        let _ = start;
                        return Ok(written);
                    }
                }
            }
            if held_newline {
                out.write_all(b"\n")?;
                written += 1;
            }
            held_newline = line.ends_with(b"\n");
            let body = if held_newline { &line[..line.len() - 1] } else { &line[..] };
            out.write_all(body)?;
            written += body.len() as u64;
        }
    }
}

#[cfg(target_os = "linux")]
impl<R: Read + AsFd> StreamReader<R> {
    /// [`copy_payload`](Self::copy_payload) into a file (written from its
    /// current position). A sized payload is moved by the kernel where it
    /// can be, with splice(2) from a pipe or copy_file_range(2) from a file,
    /// instead of passing twice through this process's memory; the input
    /// must not be read through any other buffer than this reader's.
    pub fn copy_payload_to_file(&mut self, header: &StreamHeader, out: &mut File) -> Result<u64, StreamError> {
        let Some(size) = header.size else {
            let mut w = io::BufWriter::with_capacity(1 << 20, &mut *out);
            let n = self.copy_sizeless(&mut w)?;
            w.flush()?;
            return Ok(n);
        };
        // What the reader holds already goes first.
        let held = &self.inner.buffer()[..self.inner.buffer().len().min(size as usize)];
        out.write_all(held)?;
        let n = held.len();
        self.inner.consume(n);
        self.offset += n as u64;
        let mut left = size - n as u64;
        while left > 0 && self.kernel_copy != KernelCopy::None {
            match kernel_copy(self.kernel_copy, self.inner.get_ref().as_fd(), out.as_fd(), left) {
                Ok(0) => return Err(StreamError::Truncated { name: header.name.clone(), expected: size, got: size - left }),
                Ok(k) => {
                    left -= k as u64;
                    self.offset += k as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Not a pipe: try the file form; neither works: copy here.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS | libc::EXDEV | libc::EOPNOTSUPP | libc::EBADF)) => {
                    self.kernel_copy = match self.kernel_copy {
                        KernelCopy::Splice => KernelCopy::FileRange,
                        _ => KernelCopy::None,
                    };
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.copy_rest(header, size, left, out)?;
        self.end_sized(header)?;
        Ok(size)
    }
}

/// A pipe's buffer holds 1 MiB, where Linux allows that (its default limit
/// for unprivileged processes), so that the stream's writer and reader
/// wake each other once a MiB instead of once every 64 KiB. Anything that
/// is not a pipe, or a pipe already that large, is left as it is.
#[cfg(target_os = "linux")]
pub fn widen_pipe(fd: BorrowedFd<'_>) {
    const SIZE: libc::c_int = 1 << 20;
    // SAFETY: fcntl(2) on a descriptor borrowed for the call; on anything
    // but a pipe both calls fail and change nothing.
    unsafe {
        let now = libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ);
        if now > 0 && now < SIZE {
            libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, SIZE);
        }
    }
}

/// How a payload may move from the input to a file without this process
/// copying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KernelCopy {
    Splice,
    FileRange,
    None,
}

/// Moves up to `len` bytes from `from` to `to`; 0 at the input's end.
#[cfg(target_os = "linux")]
fn kernel_copy(how: KernelCopy, from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: u64) -> io::Result<usize> {
    let len = len.min(1 << 30) as usize;
    // SAFETY: two open descriptors borrowed for the call, no offsets (the
    // descriptors' own positions are used and advanced).
    let r = unsafe {
        match how {
            KernelCopy::Splice => libc::splice(from.as_raw_fd(), std::ptr::null_mut(), to.as_raw_fd(), std::ptr::null_mut(), len, libc::SPLICE_F_MOVE),
            KernelCopy::FileRange => libc::copy_file_range(from.as_raw_fd(), std::ptr::null_mut(), to.as_raw_fd(), std::ptr::null_mut(), len, 0),
            KernelCopy::None => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
        }
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        for (name, body) in files {
            write_header(&mut v, name, body.len() as u64).unwrap();
            v.extend_from_slice(body);
        }
        v
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, StreamError> {
        let mut r = StreamReader::new(bytes);
        let mut out = Vec::new();
        while let Some(h) = r.next_header()? {
            let mut body = Vec::new();
            r.copy_payload(&h, &mut body)?;
            out.push((h.name, body));
        }
        Ok(out)
    }

    #[test]
    fn round_trip_with_header_lookalikes_in_data() {
        let body: &[u8] = b"INSERT INTO t VALUES(1)\n\n-- metadata 5\nxx;\n";
        let s = frame(&[("metadata.header", b"[config]\n"), ("db.weird name.00000.sql", body), ("metadata", b"")]);
        assert!(s.starts_with(b"\n-- metadata.header 9\n"));
        let files = read_all(&s).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(files[1].0, "db.weird name.00000.sql");
        assert_eq!(files[1].1, body);
    }

    #[test]
    fn truncated_payload_is_an_error() {
        let mut s = frame(&[("db.t.00000.sql", b"0123456789")]);
        s.truncate(s.len() - 3);
        assert!(matches!(read_all(&s), Err(StreamError::Truncated { expected: 10, got: 7, .. })));
    }

    #[test]
    fn refuses_bad_headers() {
        for h in [
            "\n-- ../../x.sql 1\nx",
            "\n-- /etc/passwd 1\nx",
            "\n-- db/t.00000.sql 1\nx",
            "\n-- notes.txt 1\nx",
            "\n-- db.t.00000.sql abc\nx",
            "\n-- db.t.00000.sql 99999999999999999999999\nx",
            "\n-- db.t.00000.sql\0 1\nx",
            "junk",
            "\n-- resume 1\nx",
        ] {
            let e = read_all(h.as_bytes()).unwrap_err();
            assert!(matches!(e, StreamError::BadHeader { .. }), "{h:?}: {e}");
        }
    }

    #[test]
    fn more_bytes_than_announced_is_an_error() {
        let s = b"\n-- db.t.00000.sql 2\nabcdef";
        assert!(matches!(read_all(s), Err(StreamError::TrailingBytes { .. })));
    }

    #[test]
    fn reads_sizeless_form() {
        let s = b"\n-- metadata.header\n[config]\nx = 1\n\n-- db.t.00000.sql\nINSERT 1;\n-- not a header\n\n-- metadata\nend";
        let files = read_all(s).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(names, ["metadata.header", "db.t.00000.sql", "metadata"]);
        assert_eq!(files[0].1, b"[config]\nx = 1\n");
        assert_eq!(files[1].1, b"INSERT 1;\n-- not a header\n");
        assert_eq!(files[2].1, b"end");
    }

    #[test]
    fn empty_stream_is_empty() {
        assert!(read_all(b"").unwrap().is_empty());
    }

    /// Every input kind: a pipe (splice), a file (copy_file_range) and
    /// anything else (a socket: copied here), each with a sized file longer than the
    /// reader's buffer, a size-less stream, and the same errors as
    /// `copy_payload`.
    #[cfg(target_os = "linux")]
    #[test]
    fn payloads_move_into_files_from_pipes_files_and_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let sized = frame(&[("metadata.header", b"[config]\n"), ("db.t.00000.sql", &big), ("db.t-schema.sql", b"x"), ("metadata", b"")]);
        let mut sizeless = Vec::new();
        for (name, body) in [("metadata.header", &b"[config]\n"[..]), ("db.t.00000.sql", b"a\n-- b\nc"), ("metadata", b"")] {
            sizeless.extend_from_slice(format!("\n-- {name}\n").as_bytes());
            sizeless.extend_from_slice(body);
        }
        let expect = |bytes: &[u8]| read_all(bytes).unwrap();
        let receive = |input: File, tag: &str, how: KernelCopy| -> Result<Vec<(String, Vec<u8>)>, StreamError> {
            let mut r = StreamReader::new(input);
            let mut out = Vec::new();
            let mut n = 0;
            while let Some(h) = r.next_header()? {
                n += 1;
                let path = dir.path().join(format!("{tag}.{n}"));
                let mut f = File::create(&path)?;
                let len = r.copy_payload_to_file(&h, &mut f)?;
                let body = std::fs::read(&path)?;
                assert_eq!(len, body.len() as u64);
                out.push((h.name, body));
                if h.size.is_some() && len > 2 << 20 {
                    assert_eq!(r.kernel_copy, how, "{tag}");
                }
            }
            Ok(out)
        };
        let from_file = |bytes: &[u8], tag: &str| {
            let path = dir.path().join(format!("{tag}.in"));
            std::fs::write(&path, bytes).unwrap();
            receive(File::open(&path).unwrap(), tag, KernelCopy::FileRange)
        };
        // Reads what a thread writes into `tx` through `rx`.
        let through = |rx: std::os::fd::OwnedFd, mut tx: Box<dyn Write + Send>, bytes: &[u8], tag: &str, how| {
            let bytes = bytes.to_vec();
            let writer = std::thread::spawn(move || {
                let _ = tx.write_all(&bytes);
            });
            let got = receive(File::from(rx), tag, how);
            writer.join().unwrap();
            got
        };
        let from_pipe = |bytes: &[u8], tag: &str| {
            let (rx, tx) = std::io::pipe().unwrap();
            through(rx.into(), Box::new(tx), bytes, tag, KernelCopy::Splice)
        };
        let from_socket = |bytes: &[u8], tag: &str| {
            let (rx, tx) = std::os::unix::net::UnixStream::pair().unwrap();
            through(rx.into(), Box::new(tx), bytes, tag, KernelCopy::None)
        };
        for (bytes, what) in [(&sized, "sized"), (&sizeless, "sizeless")] {
            assert_eq!(from_file(bytes, &format!("f-{what}")).unwrap(), expect(bytes), "{what} from a file");
            assert_eq!(from_pipe(bytes, &format!("p-{what}")).unwrap(), expect(bytes), "{what} from a pipe");
            assert_eq!(from_socket(bytes, &format!("s-{what}")).unwrap(), expect(bytes), "{what} from a socket");
        }
        // Cut inside the large payload, and bytes after it.
        let cut_big = &sized[..2_000_000];
        for got in [from_file(cut_big, "f-cutbig"), from_pipe(cut_big, "p-cutbig"), from_socket(cut_big, "s-cutbig")] {
            assert!(matches!(got, Err(StreamError::Truncated { ref name, expected: 3_000_000, .. }) if name == "db.t.00000.sql"), "{got:?}");
        }
        let mut trailing = frame(&[("metadata.header", b"[config]\n"), ("db.t.00000.sql", &big)]);
        trailing.extend_from_slice(b"junk");
        for got in [from_file(&trailing, "f-trail"), from_pipe(&trailing, "p-trail"), from_socket(&trailing, "s-trail")] {
            assert!(matches!(got, Err(StreamError::TrailingBytes { ref name, .. }) if name == "db.t.00000.sql"), "{got:?}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn pipes_are_widened_and_the_rest_left_alone() {
        let (rx, _tx) = std::io::pipe().unwrap();
        let size = |fd: BorrowedFd<'_>| unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ) };
        assert!(size(rx.as_fd()) < 1 << 20);
        widen_pipe(rx.as_fd());
        assert_eq!(size(rx.as_fd()), 1 << 20);
        let f = tempfile::tempfile().unwrap();
        widen_pipe(f.as_fd());
        assert_eq!(f.metadata().unwrap().len(), 0);
    }
}
