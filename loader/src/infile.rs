//! LOAD DATA LOCAL sent on the connection's socket (see `common::wire`):
//! the client library sends the file in packets of 4 KiB, each a system
//! call here and a wake-up and a read for the server; here they go in
//! packets of up to [`PACKET`] bytes. A load of 8 x 500k sysbench rows at
//! 2 threads took 12.5-13.8 s this way against 13.3-14.3 s (three
//! alternating pairs), with half of rloader's system time and 0.5-1.2 s
//! less of the server's CPU.

use std::io::Write;

use common::wire::{self, Wire, WireError, COM_QUERY};

/// Largest payload of one data packet; smaller where the server's
/// `max_allowed_packet` asks for it (see [`packet_size`]).
pub const PACKET: usize = 256 * 1024;

/// Writes the file of the name the server asked for.
pub type Serve<'a> = dyn FnMut(&[u8], &mut dyn Write) -> Result<(), String> + 'a;

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
/// the protocol is shut down: every later command on it fails.
pub fn load_data_local(
    conn: &mut mysql::Conn,
    sql: &str,
    packet: usize,
    serve: &mut Serve<'_>,
) -> (Result<Done, mysql::Error>, Option<String>) {
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

fn done(ok: &[u8]) -> Result<Done, WireError> {
    let ok = wire::ok_packet(ok).ok_or_else(|| WireError::Protocol("a bad OK packet".into()))?;
    Ok(Done { affected_rows: ok.affected_rows, warnings: ok.warnings })
}
