//! Reading a data query's rows straight from the connection's socket.
//!
//! The client library decodes every row into a vector of owned values: an
//! allocation per value and per row, and a socket read per 8 KiB. A dump
//! only copies each value's bytes into a file, so the data queries are sent
//! and their text result sets read here instead, on the same connection
//! (after the library has set it up: authentication, session, snapshot):
//! large reads into one buffer, and each row handed over as slices of it.
//!
//! The library's connections are plain (neither TLS nor compression), and
//! it negotiates the classic result set framing (column definitions, an EOF
//! packet, the rows, an EOF packet), which is what is read here. Between
//! two commands the library has nothing buffered, so the socket is ours
//! for the length of one query. Anything unexpected fails the query, and a
//! query left unfinished shuts the socket down so that no later command
//! can read its rest as an answer.

use std::fs::File;
use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd};

/// Payload length that means "continued in the next packet".
const MAX_PAYLOAD: usize = 0xff_ffff;
/// What one socket read asks for, at the least.
const READ_SIZE: usize = 256 * 1024;
const COM_QUERY: u8 = 0x03;
const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    /// The server's error, shown as the client library shows it.
    #[error("{0}")]
    Server(mysql::MySqlError),
    #[error("lost the connection to the server ({0})")]
    Io(io::Error),
    #[error("lost the connection to the server (the answer was cut off)")]
    CutOff,
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// The row handler stopped the query.
    #[error("{0}")]
    Stopped(anyhow::Error),
}

/// One row: its values as slices of the packet, `None` for NULL.
pub struct Row<'a> {
    data: &'a [u8],
    ranges: &'a [Option<(usize, usize)>],
}

impl<'a> Row<'a> {
    pub fn values(&self) -> impl Iterator<Item = Option<&'a [u8]>> + '_ {
        self.ranges.iter().map(|r| r.map(|(a, b)| &self.data[a..b]))
    }
}

/// Runs `sql` on `conn` and calls `on_row` for each row of its result set;
/// returns the number of rows. An error from `on_row` stops the query.
pub fn for_each_row(
    conn: &mut mysql::Conn,
    sql: &str,
    mut on_row: impl FnMut(Row<'_>) -> anyhow::Result<()>,
) -> Result<u64, RowsError> {
    // SAFETY: the descriptor belongs to `conn`, which the exclusive borrow
    // keeps open and unused for as long as `socket` lives; ManuallyDrop
    // leaves closing it to `conn`.
    let socket = ManuallyDrop::new(unsafe { File::from_raw_fd(conn.as_raw_fd()) });
    let mut r = Reader { socket: &socket, buf: vec![0; 2 * READ_SIZE], start: 0, end: 0, seq: 0, long: Vec::new() };
    let result = r.query(sql, &mut on_row);
    match &result {
        Ok(_) | Err(RowsError::Server(_)) => {}
        // The answer was not read to its end: nothing may read the rest.
        Err(_) => {
            // SAFETY: shutdown(2) on the connection's descriptor, still open.
            unsafe { libc::shutdown(socket.as_raw_fd(), libc::SHUT_RDWR) };
        }
    }
    result
}

struct Reader<'s> {
    socket: &'s File,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Sequence number of the next packet.
    seq: u8,
    /// A payload spread over several packets, joined.
    long: Vec<u8>,
}

/// Where a packet's payload is.
enum Payload {
    /// `buf[start..end]`.
    Buffered(usize, usize),
    /// In `long`.
    Long,
}

impl Reader<'_> {
    fn query(&mut self, sql: &str, on_row: &mut dyn FnMut(Row<'_>) -> anyhow::Result<()>) -> Result<u64, RowsError> {
        self.send_query(sql.as_bytes())?;
        // The first packet: an error, or the column count.
        let p = self.packet()?;
        let first = self.payload(&p);
        match first.first() {
            Some(0xff) => return Err(server_error(first)),
            Some(0x00) => return Err(RowsError::Protocol("an OK packet instead of a result set".into())),
            Some(0xfb) => return Err(RowsError::Protocol("a LOCAL INFILE request instead of a result set".into())),
            None => return Err(RowsError::Protocol("an empty packet instead of a result set".into())),
            _ => {}
        }
        let mut at = 0;
        let columns = lenenc(first, &mut at).ok_or_else(|| RowsError::Protocol("a bad column count".into()))? as usize;
        // With cached metadata (MariaDB) a 0 byte after the count says that
        // no column definitions follow.
        if first.get(at) != Some(&0) {
            for _ in 0..columns {
                self.packet()?;
            }
        }
        let p = self.packet()?;
        if !is_eof(self.payload(&p)) {
            return Err(RowsError::Protocol("no EOF packet after the column definitions".into()));
        }
        let mut ranges: Vec<Option<(usize, usize)>> = Vec::with_capacity(columns);
        let mut rows = 0u64;
        loop {
            let p = self.packet()?;
            let data = self.payload(&p);
            match data.first() {
                Some(0xff) => return Err(server_error(data)),
                Some(0xfe) if data.len() < 9 => {
                    let status = data.get(3..5).map(|s| u16::from_le_bytes([s[0], s[1]])).unwrap_or(0);
                    if status & SERVER_MORE_RESULTS_EXISTS != 0 {
                        return Err(RowsError::Protocol("more than one result set".into()));
                    }
                    return Ok(rows);
                }
                _ => {}
            }
            ranges.clear();
            let mut at = 0;
            while at < data.len() {
                if data[at] == 0xfb {
                    ranges.push(None);
                    at += 1;
                    continue;
                }
                let len = lenenc(data, &mut at).ok_or_else(|| RowsError::Protocol("a bad row".into()))? as usize;
                let end = at.checked_add(len).filter(|&e| e <= data.len()).ok_or_else(|| RowsError::Protocol("a bad row".into()))?;
                ranges.push(Some((at, end)));
                at = end;
            }
            if ranges.len() != columns {
                return Err(RowsError::Protocol(format!("a row of {} values for {columns} columns", ranges.len())));
            }
            on_row(Row { data, ranges: &ranges }).map_err(RowsError::Stopped)?;
            rows += 1;
        }
    }

    fn payload(&self, p: &Payload) -> &[u8] {
        match *p {
            Payload::Buffered(a, b) => &self.buf[a..b],
            Payload::Long => &self.long,
        }
    }

    /// Sends COM_QUERY, in as many packets as its length needs.
    fn send_query(&mut self, sql: &[u8]) -> Result<(), RowsError> {
        let mut payload = Vec::with_capacity(sql.len() + 1);
        payload.push(COM_QUERY);
        payload.extend_from_slice(sql);
        let mut out = Vec::with_capacity(payload.len() + 8);
        let mut seq = 0u8;
        let mut rest = &payload[..];
        loop {
            let n = rest.len().min(MAX_PAYLOAD);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
            out.push(seq);
            out.extend_from_slice(&rest[..n]);
            seq = seq.wrapping_add(1);
            rest = &rest[n..];
            // A payload of exactly the maximum ends with an empty packet.
            if n < MAX_PAYLOAD {
                break;
            }
        }
        self.seq = seq;
        self.socket.write_all(&out).map_err(RowsError::Io)
    }

    /// Makes `n` bytes from `start` available in the buffer.
    fn fill(&mut self, n: usize) -> Result<(), RowsError> {
        if self.end - self.start >= n {
            return Ok(());
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < n.max(READ_SIZE) + READ_SIZE {
            self.buf.resize(n.max(READ_SIZE) + READ_SIZE, 0);
        }
        while self.end < n {
            match self.socket.read(&mut self.buf[self.end..]) {
                Ok(0) => return Err(RowsError::CutOff),
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RowsError::Io(e)),
            }
        }
        Ok(())
    }

    /// The next packet's payload, joined with its continuations.
    fn packet(&mut self) -> Result<Payload, RowsError> {
        let (a, b) = self.one_packet()?;
        if b - a < MAX_PAYLOAD {
            return Ok(Payload::Buffered(a, b));
        }
        let mut long = std::mem::take(&mut self.long);
        long.clear();
        long.extend_from_slice(&self.buf[a..b]);
        loop {
            let (a, b) = self.one_packet()?;
            long.extend_from_slice(&self.buf[a..b]);
            if b - a < MAX_PAYLOAD {
                break;
            }
        }
        self.long = long;
        Ok(Payload::Long)
    }

    /// The next physical packet: its payload's place in the buffer, valid
    /// until the next read.
    fn one_packet(&mut self) -> Result<(usize, usize), RowsError> {
        self.fill(4)?;
        let h = &self.buf[self.start..self.start + 4];
        let len = u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize;
        let seq = h[3];
        if seq != self.seq {
            return Err(RowsError::Protocol(format!("packet number {seq} where {} was due", self.seq)));
        }
        self.seq = self.seq.wrapping_add(1);
        self.fill(4 + len)?;
        let a = self.start + 4;
        self.start = a + len;
        Ok((a, a + len))
    }
}

fn is_eof(p: &[u8]) -> bool {
    p.first() == Some(&0xfe) && p.len() < 9
}

/// A length-encoded integer at `*at`, moving `*at` past it.
fn lenenc(p: &[u8], at: &mut usize) -> Option<u64> {
    let first = *p.get(*at)?;
    let width = match first {
        0..=0xfa => {
            *at += 1;
            return Some(first as u64);
        }
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        _ => return None,
    };
    let bytes = p.get(*at + 1..*at + 1 + width)?;
    let v = bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | b as u64);
    *at += 1 + width;
    Some(v)
}

/// An ERR packet as the error it reports.
fn server_error(p: &[u8]) -> RowsError {
    let code = p.get(1..3).map(|c| u16::from_le_bytes([c[0], c[1]])).unwrap_or(0);
    let rest = p.get(3..).unwrap_or(&[]);
    let (state, message) = match rest.first() {
        Some(b'#') if rest.len() >= 6 => (String::from_utf8_lossy(&rest[1..6]).into_owned(), &rest[6..]),
        _ => ("HY000".to_string(), rest),
    };
    RowsError::Server(mysql::MySqlError { code, state, message: String::from_utf8_lossy(message).into_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_encoded_integers() {
        let mut at = 0;
        assert_eq!(lenenc(&[0xfa], &mut at), Some(250));
        assert_eq!(at, 1);
        let mut at = 0;
        assert_eq!(lenenc(&[0xfc, 0x34, 0x12], &mut at), Some(0x1234));
        assert_eq!(at, 3);
        let mut at = 1;
        assert_eq!(lenenc(&[0, 0xfd, 1, 2, 3], &mut at), Some(0x030201));
        assert_eq!(at, 5);
        let mut at = 0;
        assert_eq!(lenenc(&[0xfe, 1, 0, 0, 0, 0, 0, 0, 1], &mut at), Some((1u64 << 56) + 1));
        let mut at = 0;
        assert_eq!(lenenc(&[0xfc, 1], &mut at), None, "cut off");
        assert_eq!(lenenc(&[0xff], &mut 0), None);
    }

    #[test]
    fn error_packets() {
        let mut p = vec![0xff, 0x25, 0x05, b'#'];
        p.extend_from_slice(b"70100Query execution was interrupted");
        assert_eq!(server_error(&p).to_string(), "ERROR 1317 (70100): Query execution was interrupted");
    }
}
