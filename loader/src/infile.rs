//! LOAD DATA LOCAL sent on the connection's socket (see `common::wire`):
//! the client library sends the file in packets of 4 KiB, each a system
//! call here and a wake-up and a read for the server; here they go in
//! packets of up to [`PACKET`] bytes. A load of 8 x 500k sysbench rows at
//! 2 threads took 12.5-13.8 s this way against 13.3-14.3 s (three
//! alternating pairs), with half of rloader's system time and 0.5-1.2 s
//! less of the server's CPU.
//!
//! An encrypted or compressed connection is not a plain socket: there the
//! library sends the file, which `serve` writes from a thread of its own
//! (the library's file handler must own everything it uses).

use std::io::{self, Write};

use common::wire::{self, Wire, WireError, COM_QUERY};

/// Largest payload of one data packet; smaller where the server's
/// `max_allowed_packet` asks for it (see [`packet_size`]).
pub const PACKET: usize = 256 * 1024;

/// Writes the file of the name the server asked for.
pub type Serve<'a> = dyn FnMut(&[u8], &mut dyn Write) -> Result<(), String> + Send + 'a;

/// What a LOAD DATA stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    pub affected_rows: u64,
    pub warnings: u16,
}

/// The payload size to send with a server whose session allows packets of
/// `max_allowed_packet` bytes: the server refuses a packet of that size.
pub fn packet_size(max_allowed_packet: u64) -> usize {
    (max_allowed_packet / 2).clamp(1024, PACKET as u64) as usize
}

/// Runs `sql`, a LOAD DATA LOCAL statement, on `conn`, and sends the file
/// the server asks for with `serve`, which gets the file's name and writes
/// its bytes (`packet` bytes a packet). An error from `serve` ends the file
/// where it stopped, so that the server still answers; it is returned
/// beside the statement's outcome, and the caller decides what the rows
/// stored so far are worth. A connection that breaks or answers out of
/// the protocol is shut down: every later command on it fails. `raw_wire`
/// says that the connection is a plain socket (see
/// `ConnectionConfig::raw_wire`).
pub fn load_data_local(
    conn: &mut mysql::Conn,
    raw_wire: bool,
    sql: &str,
    packet: usize,
    serve: &mut Serve<'_>,
) -> (Result<Done, mysql::Error>, Option<String>) {
    if !raw_wire {
        return load_data_library(conn, sql, serve);
    }
    let mut w = Wire::new(conn).short_answers();
    let mut served = None;
    let result = exchange(&mut w, sql, packet, serve, &mut served);
    if let Err(e) = &result {
        if !matches!(e, WireError::Server(_)) {
            w.shut_down();
        }
    }
    (result.map_err(WireError::into_mysql), served)
}

fn exchange(
    w: &mut Wire<'_>,
    sql: &str,
    packet: usize,
    serve: &mut Serve<'_>,
    served: &mut Option<String>,
) -> Result<Done, WireError> {
    w.send_command(COM_QUERY, sql.as_bytes())?;
    let p = w.packet()?;
    let first = w.payload(&p);
    match first.first() {
        Some(0xff) => return Err(wire::server_error(first)),
        // The server read no file from here (not a LOCAL statement).
        Some(0x00) => return done(first),
        Some(0xfb) => {}
        _ => return Err(WireError::Protocol("no LOCAL INFILE request after a LOAD DATA LOCAL".into())),
    }
    let name = first[1..].to_vec();
    let mut out = w.packets(packet);
    let failed = serve(&name, &mut out).err();
    // A packet that could not be sent fails the connection, whatever
    // `serve` made of it.
    out.finish()?;
    *served = failed;
    let p = w.packet()?;
    let answer = w.payload(&p);
    match answer.first() {
        Some(0xff) => Err(wire::server_error(answer)),
        Some(0x00) => done(answer),
        _ => Err(WireError::Protocol("no OK or error packet after a LOCAL INFILE file".into())),
    }
}

/// Pieces `serve` hands to the library's file handler.
const PIECE: usize = 64 * 1024;

fn load_data_library(conn: &mut mysql::Conn, sql: &str, serve: &mut Serve<'_>) -> (Result<Done, mysql::Error>, Option<String>) {
    use mysql::prelude::Queryable;
    let (name_tx, name_rx) = crossbeam_channel::bounded::<Vec<u8>>(1);
    let (piece_tx, piece_rx) = crossbeam_channel::bounded::<Vec<u8>>(4);
    std::thread::scope(|scope| {
        let server = scope.spawn(move || -> Option<String> {
            // No request: the statement failed first, or read no file.
            let name = name_rx.recv().ok()?;
            let mut out = Pieces { tx: piece_tx, buf: Vec::with_capacity(PIECE) };
            let failed = serve(&name, &mut out).err();
            failed.or_else(|| out.flush().err().map(|e| e.to_string()))
        });
        conn.set_local_infile_handler(Some(mysql::LocalInfileHandler::new(move |name, file| {
            name_tx.send(name.to_vec()).map_err(io::Error::other)?;
            // Until `serve` is done (or failed: the file ends there).
            for piece in piece_rx.iter() {
                file.write_all(&piece)?;
            }
            file.flush()
        })));
        let result = conn.query_drop(sql).map(|()| Done { affected_rows: conn.affected_rows(), warnings: conn.warnings() });
        // Dropping the handler ends both channels: `serve` stops at its
        // next write if the file was not read to its end.
        conn.set_local_infile_handler(None);
        let failed = server.join().unwrap_or_else(|_| Some("serving the file panicked".into()));
        // A connection that broke is the error, not the write it stopped.
        let failed = match &result {
            Err(e) if !matches!(e, mysql::Error::MySqlError(_)) => None,
            _ => failed,
        };
        (result, failed)
    })
}

/// `serve`'s output in pieces to the library's file handler.
struct Pieces {
    tx: crossbeam_channel::Sender<Vec<u8>>,
    buf: Vec<u8>,
}

impl Write for Pieces {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(PIECE - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == PIECE {
            self.flush()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE));
        self.tx.send(piece).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the server stopped reading the file"))
    }
}

fn done(ok: &[u8]) -> Result<Done, WireError> {
    let ok = wire::ok_packet(ok).ok_or_else(|| WireError::Protocol("a bad OK packet".into()))?;
    Ok(Done { affected_rows: ok.affected_rows, warnings: ok.warnings })
}
