//! Stream framing, both directions. A stream is a sequence of files, each
//! announced by a header line `\n-- NAME SIZE\n` and followed by exactly
//! SIZE bytes. There is no end marker: EOF after a whole file ends it.
//! The older form without sizes (`\n-- NAME\n`) is read as a fallback.

use std::io::{self, BufRead, Read, Write};

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
}

impl<R: Read> StreamReader<R> {
    pub fn new(reader: R) -> Self {
        StreamReader {
            inner: io::BufReader::with_capacity(1 << 20, reader),
            offset: 0,
            sizeless: None,
            pending: None,
            at_eof: false,
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
        let mut left = size;
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
        let buf = self.inner.fill_buf()?;
        if buf.is_empty() {
            self.at_eof = true;
        } else if buf[0] != b'\n' {
            return Err(StreamError::TrailingBytes { name: header.name.clone(), offset: self.offset });
        }
        Ok(size)
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
}
