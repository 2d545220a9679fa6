//! The client/server protocol spoken directly on a connection's socket, for
//! the two commands where the client library costs the most: a dump's data
//! queries (the library decodes every value into an owned one and reads
//! the socket 8 KiB at a time) and a load's LOAD DATA LOCAL (the library
//! sends the file in 4 KiB packets, a system call and a server wake-up
//! each).
//!
//! The library still opens the connection (authentication, session) and
//! runs every other command. Only a plain connection (neither TLS nor
//! compression, see `ConnectionConfig::raw_wire`) is read and written
//! here; between two commands the library has nothing buffered, so the
//! socket is ours for the length of one command. A command whose answer
//! was not read to its end must be given up with [`Wire::shut_down`], so
//! that no later command can read its rest as an answer.

use std::fs::File;
use std::io::{self, Read, Write};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd};

/// Payload length that means "continued in the next packet".
pub const MAX_PAYLOAD: usize = 0xff_ffff;
/// What one socket read asks for, at the least, unless the wire is made
/// for short answers ([`Wire::short_answers`]).
const READ_SIZE: usize = 256 * 1024;
pub const COM_QUERY: u8 = 0x03;
pub const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The server's error, shown as the client library shows it.
    #[error("{0}")]
    Server(mysql::MySqlError),
    #[error("lost the connection to the server ({0})")]
    Io(io::Error),
    #[error("lost the connection to the server (the answer was cut off)")]
    CutOff,
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

impl WireError {
    /// The error as the client library would have reported it, so that
    /// callers handle both paths' errors alike.
    pub fn into_mysql(self) -> mysql::Error {
        match self {
            WireError::Server(e) => mysql::Error::MySqlError(e),
            WireError::Io(ref e) => mysql::Error::IoError(io::Error::new(e.kind(), self.to_string())),
            other => mysql::Error::IoError(io::Error::other(other.to_string())),
        }
    }
}

/// Where a packet's payload is.
pub enum Payload {
    /// `buf[start..end]`.
    Buffered(usize, usize),
    /// In `long`.
    Long,
}

/// A connection's socket, borrowed from the client library for one
/// command.
pub struct Wire<'c> {
    socket: ManuallyDrop<File>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Sequence number of the next packet.
    seq: u8,
    /// A payload spread over several packets, joined.
    long: Vec<u8>,
    read_size: usize,
    _conn: PhantomData<&'c mut mysql::Conn>,
}

impl<'c> Wire<'c> {
    pub fn new(conn: &'c mut mysql::Conn) -> Wire<'c> {
        // SAFETY: the descriptor belongs to `conn`, which the exclusive
        // borrow keeps open and unused for as long as the wire lives;
        // ManuallyDrop leaves closing it to `conn`.
        let socket = ManuallyDrop::new(unsafe { File::from_raw_fd(conn.as_raw_fd()) });
        Wire { socket, buf: Vec::new(), start: 0, end: 0, seq: 0, long: Vec::new(), read_size: READ_SIZE, _conn: PhantomData }
    }

    /// Reads in small pieces: for commands whose answers are a packet or
    /// two, so that each does not allocate a large buffer.
    pub fn short_answers(mut self) -> Self {
        self.read_size = 16 * 1024;
        self
    }

    /// Gives the connection up after a command not finished: every later
    /// command on it fails instead of reading the rest of this one's answer.
    pub fn shut_down(&self) {
        // SAFETY: shutdown(2) on the connection's descriptor, still open.
        unsafe { libc::shutdown(self.socket.as_raw_fd(), libc::SHUT_RDWR) };
    }

    /// Sends a command, in as many packets as its length needs.
    pub fn send_command(&mut self, command: u8, body: &[u8]) -> Result<(), WireError> {
        let mut payload = Vec::with_capacity(body.len() + 1);
        payload.push(command);
        payload.extend_from_slice(body);
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
        (&*self.socket).write_all(&out).map_err(WireError::Io)
    }

    pub fn payload(&self, p: &Payload) -> &[u8] {
        match *p {
            Payload::Buffered(a, b) => &self.buf[a..b],
            Payload::Long => &self.long,
        }
    }

    /// Makes `n` bytes from `start` available in the buffer.
    fn fill(&mut self, n: usize) -> Result<(), WireError> {
        if self.end - self.start >= n {
            return Ok(());
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let want = n.max(self.read_size) + self.read_size;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        while self.end < n {
            match (&*self.socket).read(&mut self.buf[self.end..]) {
                Ok(0) => return Err(WireError::CutOff),
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(WireError::Io(e)),
            }
        }
        Ok(())
    }

    /// The next packet's payload, joined with its continuations.
    pub fn packet(&mut self) -> Result<Payload, WireError> {
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
    fn one_packet(&mut self) -> Result<(usize, usize), WireError> {
        self.fill(4)?;
        let h = &self.buf[self.start..self.start + 4];
        let len = u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize;
        let seq = h[3];
        if seq != self.seq {
            return Err(WireError::Protocol(format!("packet number {seq} where {} was due", self.seq)));
        }
        self.seq = self.seq.wrapping_add(1);
        self.fill(4 + len)?;
        let a = self.start + 4;
        self.start = a + len;
        Ok((a, a + len))
    }

    /// Packets of at most `size` bytes of payload, each written with one
    /// system call, numbered on from the last packet read; end them with
    /// [`Packets::finish`], which sends the empty packet that closes them.
    pub fn packets(&mut self, size: usize) -> Packets<'_, 'c> {
        let size = size.clamp(1, MAX_PAYLOAD - 1);
        let mut buf = Vec::with_capacity(4 + size);
        buf.resize(4, 0);
        Packets { wire: self, buf, size, broken: None }
    }
}

/// A run of data packets (a LOAD DATA LOCAL file's bytes).
pub struct Packets<'w, 'c> {
    wire: &'w mut Wire<'c>,
    /// The next packet: four bytes for its header, then its payload.
    buf: Vec<u8>,
    size: usize,
    /// The first failed write to the socket. Whoever writes the packets
    /// may take that error for its own; [`Packets::finish`] reports it as
    /// the connection's.
    broken: Option<io::Error>,
}

impl Packets<'_, '_> {
    /// Sends the packet being filled, if it holds anything.
    fn send(&mut self) -> io::Result<()> {
        let n = self.buf.len() - 4;
        if n == 0 {
            return Ok(());
        }
        self.buf[..3].copy_from_slice(&(n as u32).to_le_bytes()[..3]);
        self.buf[3] = self.wire.seq;
        self.wire.seq = self.wire.seq.wrapping_add(1);
        (&*self.wire.socket).write_all(&self.buf)?;
        self.buf.truncate(4);
        Ok(())
    }

    /// Sends what is left and the empty packet that ends the run; fails
    /// if any packet could not be sent.
    pub fn finish(mut self) -> Result<(), WireError> {
        if let Some(e) = self.broken.take() {
            return Err(WireError::Io(e));
        }
        self.send().map_err(WireError::Io)?;
        let end = [0, 0, 0, self.wire.seq];
        self.wire.seq = self.wire.seq.wrapping_add(1);
        (&*self.wire.socket).write_all(&end).map_err(WireError::Io)
    }
}

impl Write for Packets<'_, '_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() - 4 == self.size {
            if let Err(e) = self.send() {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.broken.get_or_insert(e);
                return Err(copy);
            }
        }
        let n = data.len().min(self.size - (self.buf.len() - 4));
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    /// Packets go out as they fill: a flush sends nothing early.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What an OK packet reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OkPacket {
    pub affected_rows: u64,
    pub status: u16,
    pub warnings: u16,
}

/// An OK packet's counts; `None` if `p` is not one.
pub fn ok_packet(p: &[u8]) -> Option<OkPacket> {
    if p.first() != Some(&0x00) {
        return None;
    }
    let mut at = 1;
    let affected_rows = lenenc(p, &mut at)?;
    lenenc(p, &mut at)?; // last insert id
    let status = p.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))?;
    let warnings = p.get(at + 2..at + 4).map(|s| u16::from_le_bytes([s[0], s[1]]))?;
    Some(OkPacket { affected_rows, status, warnings })
}

/// Whether `p` is an EOF packet.
pub fn is_eof(p: &[u8]) -> bool {
    p.first() == Some(&0xfe) && p.len() < 9
}

/// A length-encoded integer at `*at`, moving `*at` past it.
pub fn lenenc(p: &[u8], at: &mut usize) -> Option<u64> {
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
pub fn server_error(p: &[u8]) -> WireError {
    let code = p.get(1..3).map(|c| u16::from_le_bytes([c[0], c[1]])).unwrap_or(0);
    let rest = p.get(3..).unwrap_or(&[]);
    let (state, message) = match rest.first() {
        Some(b'#') if rest.len() >= 6 => (String::from_utf8_lossy(&rest[1..6]).into_owned(), &rest[6..]),
        _ => ("HY000".to_string(), rest),
    };
    WireError::Server(mysql::MySqlError { code, state, message: String::from_utf8_lossy(message).into_owned() })
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

    /// Data packets: at most the size asked, numbered on from the last
    /// packet, each sent whole, and an empty packet at the end.
    #[test]
    fn data_packets_are_framed_and_numbered() {
        use std::os::unix::net::UnixStream;
        let (ours, server) = UnixStream::pair().unwrap();
        // SAFETY: `ours` stays open for the wire's life; ManuallyDrop
        // leaves closing it to `ours`.
        let socket = ManuallyDrop::new(unsafe { File::from_raw_fd(ours.as_raw_fd()) });
        let mut w = Wire { socket, buf: Vec::new(), start: 0, end: 0, seq: 2, long: Vec::new(), read_size: 64, _conn: PhantomData };
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut p = w.packets(4096);
        for piece in data.chunks(777) {
            p.write_all(piece).unwrap();
        }
        p.finish().unwrap();
        assert_eq!(w.seq, 6);
        drop(w);
        drop(ours);
        let mut sent = Vec::new();
        (&server).read_to_end(&mut sent).unwrap();
        let mut at = 0;
        let mut got = Vec::new();
        let mut frames = Vec::new();
        while at < sent.len() {
            let len = u32::from_le_bytes([sent[at], sent[at + 1], sent[at + 2], 0]) as usize;
            frames.push((len, sent[at + 3]));
            got.extend_from_slice(&sent[at + 4..at + 4 + len]);
            at += 4 + len;
        }
        assert_eq!(frames, [(4096, 2), (4096, 3), (1808, 4), (0, 5)]);
        assert!(got == data);
    }

    /// A packet the socket refused fails the write that sent it and the
    /// run's end, even if the writer made light of the first.
    #[test]
    fn a_refused_packet_fails_the_run() {
        use std::os::unix::net::UnixStream;
        let (ours, server) = UnixStream::pair().unwrap();
        drop(server);
        // SAFETY: as in the test above.
        let socket = ManuallyDrop::new(unsafe { File::from_raw_fd(ours.as_raw_fd()) });
        let mut w = Wire { socket, buf: Vec::new(), start: 0, end: 0, seq: 2, long: Vec::new(), read_size: 64, _conn: PhantomData };
        let mut p = w.packets(16);
        assert!(p.write_all(&[7; 40]).is_err());
        assert!(matches!(p.finish(), Err(WireError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe));
    }

    #[test]
    fn ok_packets() {
        // 300 rows, insert id 0, in a transaction (status 1), 2 warnings.
        let p = [0x00, 0xfc, 0x2c, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, b'R'];
        assert_eq!(ok_packet(&p), Some(OkPacket { affected_rows: 300, status: 1, warnings: 2 }));
        assert_eq!(ok_packet(&p[..6]), None, "cut off");
        assert_eq!(ok_packet(&[0xff, 0, 0]), None);
    }
}
