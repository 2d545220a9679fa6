//! Reading a data query's rows straight from the connection's socket (see
//! `common::wire`).
//!
//! The client library decodes every row into a vector of owned values: an
//! allocation per value and per row, and a socket read per 8 KiB. A dump
//! only copies each value's bytes into a file, so the data queries are sent
//! and their text result sets read here instead, on the same connection
//! (after the library has set it up: authentication, session, snapshot):
//! large reads into one buffer, and each row handed over as slices of it.
//! The library negotiates the classic result set framing (column
//! definitions, an EOF packet, the rows, an EOF packet), which is what is
//! read here. Anything unexpected fails the query, and a query left
//! unfinished shuts the socket down.
//!
//! An encrypted or compressed connection is not a plain socket: there the
//! library reads the rows.

use common::wire::{self, Wire, WireError, COM_QUERY, SERVER_MORE_RESULTS_EXISTS};

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("{}", common::conn::server_message(.0))]
    Library(mysql::Error),
    /// The row handler stopped the query.
    #[error("{0}")]
    Stopped(anyhow::Error),
}

impl RowsError {
    /// A server's or the connection's error as a failed query's, with the
    /// server's error code kept; a stop by the row handler as it is.
    pub fn into_query_error(self) -> anyhow::Error {
        let (code, message) = match self {
            RowsError::Stopped(e) => return e,
            RowsError::Wire(WireError::Server(m)) => (Some(m.code), format!("ERROR {} ({}): {}", m.code, m.state, m.message)),
            RowsError::Library(e) => (common::conn::error_code(&e), common::conn::server_message(&e)),
            RowsError::Wire(other) => (None, other.to_string()),
        };
        common::conn::QueryError { code, message: format!("reading rows: {message}") }.into()
    }
}

/// One row: its values as slices of the packet, `None` for NULL.
pub struct Row<'a> {
    inner: Inner<'a>,
}

#[derive(Clone, Copy)]
enum Inner<'a> {
    Wire { data: &'a [u8], ranges: &'a [Option<(usize, usize)>] },
    /// A row the library read; its values are all bytes or NULL (checked).
    Library(&'a mysql::Row),
}

impl<'a> Row<'a> {
    pub fn values(&self) -> impl Iterator<Item = Option<&'a [u8]>> + '_ {
        let inner = self.inner;
        let n = match inner {
            Inner::Wire { ranges, .. } => ranges.len(),
            Inner::Library(row) => row.len(),
        };
        (0..n).map(move |i| match inner {
            Inner::Wire { data, ranges } => ranges[i].map(|(a, b)| &data[a..b]),
            Inner::Library(row) => match row.as_ref(i) {
                Some(mysql::Value::Bytes(b)) => Some(b.as_slice()),
                _ => None,
            },
        })
    }
}

/// Runs `sql` on `conn` and calls `on_row` for each row of its result set;
/// returns the number of rows. An error from `on_row` stops the query.
/// `raw_wire` says that the connection is a plain socket (see
/// `ConnectionConfig::raw_wire`).
pub fn for_each_row(
    conn: &mut mysql::Conn,
    raw_wire: bool,
    sql: &str,
    mut on_row: impl FnMut(Row<'_>) -> anyhow::Result<()>,
) -> Result<u64, RowsError> {
    if !raw_wire {
        return query_library(conn, sql, &mut on_row);
    }
    let mut w = Wire::new(conn);
    let result = query(&mut w, sql, &mut on_row);
    match &result {
        Ok(_) | Err(RowsError::Wire(WireError::Server(_))) => {}
        // The answer was not read to its end: nothing may read the rest.
        Err(_) => w.shut_down(),
    }
    result
}

fn query_library(
    conn: &mut mysql::Conn,
    sql: &str,
    on_row: &mut dyn FnMut(Row<'_>) -> anyhow::Result<()>,
) -> Result<u64, RowsError> {
    use mysql::prelude::Queryable;
    let mut result = conn.query_iter(sql).map_err(RowsError::Library)?;
    let mut rows = 0u64;
    for row in result.by_ref() {
        let row = row.map_err(RowsError::Library)?;
        if let Some(i) = (0..row.len()).find(|&i| !matches!(row.as_ref(i), Some(mysql::Value::Bytes(_) | mysql::Value::NULL))) {
            return Err(protocol(format!("value {} of a text row is not text", i + 1)));
        }
        on_row(Row { inner: Inner::Library(&row) }).map_err(RowsError::Stopped)?;
        rows += 1;
    }
    Ok(rows)
}

fn query(w: &mut Wire<'_>, sql: &str, on_row: &mut dyn FnMut(Row<'_>) -> anyhow::Result<()>) -> Result<u64, RowsError> {
    w.send_command(COM_QUERY, sql.as_bytes())?;
    // The first packet: an error, or the column count.
    let p = w.packet()?;
    let first = w.payload(&p);
    match first.first() {
        Some(0xff) => return Err(RowsError::Wire(wire::server_error(first))),
        Some(0x00) => return Err(protocol("an OK packet instead of a result set")),
        Some(0xfb) => return Err(protocol("a LOCAL INFILE request instead of a result set")),
        None => return Err(protocol("an empty packet instead of a result set")),
        _ => {}
    }
    let mut at = 0;
    let columns = wire::lenenc(first, &mut at).ok_or_else(|| protocol("a bad column count"))? as usize;
    // With cached metadata (MariaDB) a 0 byte after the count says that
    // no column definitions follow.
    if first.get(at) != Some(&0) {
        for _ in 0..columns {
            w.packet()?;
        }
    }
    let p = w.packet()?;
    if !wire::is_eof(w.payload(&p)) {
        return Err(protocol("no EOF packet after the column definitions"));
    }
    let mut ranges: Vec<Option<(usize, usize)>> = Vec::with_capacity(columns);
    let mut rows = 0u64;
    loop {
        let p = w.packet()?;
        let data = w.payload(&p);
        match data.first() {
            Some(0xff) => return Err(RowsError::Wire(wire::server_error(data))),
            _ if wire::is_eof(data) => {
                let status = data.get(3..5).map(|s| u16::from_le_bytes([s[0], s[1]])).unwrap_or(0);
                if status & SERVER_MORE_RESULTS_EXISTS != 0 {
                    return Err(protocol("more than one result set"));
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
            let len = wire::lenenc(data, &mut at).ok_or_else(|| protocol("a bad row"))? as usize;
            let end = at.checked_add(len).filter(|&e| e <= data.len()).ok_or_else(|| protocol("a bad row"))?;
            ranges.push(Some((at, end)));
            at = end;
        }
        if ranges.len() != columns {
            return Err(protocol(format!("a row of {} values for {columns} columns", ranges.len())));
        }
        on_row(Row { inner: Inner::Wire { data, ranges: &ranges } }).map_err(RowsError::Stopped)?;
        rows += 1;
    }
}

fn protocol(what: impl Into<String>) -> RowsError {
    RowsError::Wire(WireError::Protocol(what.into()))
}
