//! The consistent snapshot: session settings, the long-query guard, the
//! global read lock, the binary log position, and the transactions every
//! worker reads in.

use anyhow::{bail, Context, Result};
use common::conn::{server_message, ConnectionConfig, QueryError};
use common::metadata::SourcePosition;
use mysql::prelude::Queryable;

use crate::catalog::{rows, text, Catalog, ObjectKind};
use crate::cli::Options;

/// Runs one statement, with the statement in the error.
pub fn exec(conn: &mut mysql::Conn, q: &str) -> Result<()> {
    Ok(conn.query_drop(q).map_err(|e| QueryError::during(&e, &format!("while running {q}")))?)
}

/// The SQL_MODE written into every file's header and the metadata: the
/// server's, with `NO_AUTO_VALUE_ON_ZERO` added and the modes that change
/// how the files read (quoting, escaping, strictness, table options) removed.
pub fn file_sql_mode(server_mode: &str) -> String {
    const DROP: &[&str] = &[
        "NO_BACKSLASH_ESCAPES",
        "PIPES_AS_CONCAT",
        "NO_KEY_OPTIONS",
        "NO_TABLE_OPTIONS",
        "NO_FIELD_OPTIONS",
        "STRICT_TRANS_TABLES",
        "STRICT_ALL_TABLES",
        "ANSI_QUOTES",
        "ANSI",
        "ORACLE",
        "MSSQL",
        "DB2",
        "POSTGRESQL",
        "MAXDB",
        "SIMULTANEOUS_ASSIGNMENT",
        "EMPTY_STRING_IS_NULL",
    ];
    let mut modes: Vec<&str> = server_mode
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty() && !DROP.iter().any(|d| d.eq_ignore_ascii_case(m)))
        .collect();
    if !modes.iter().any(|m| m.eq_ignore_ascii_case("NO_AUTO_VALUE_ON_ZERO")) {
        modes.insert(0, "NO_AUTO_VALUE_ON_ZERO");
    }
    modes.join(",")
}

/// Settings every dump connection runs with.
pub fn setup_session(conn: &mut mysql::Conn, opts: &Options, sql_mode: &str) -> Result<()> {
    exec(conn, "SET NAMES binary")?;
    exec(conn, "SET SESSION WAIT_TIMEOUT = 2147483")?;
    exec(conn, "SET SESSION NET_WRITE_TIMEOUT = 2147483")?;
    exec(conn, &format!("SET SESSION SQL_MODE = {}", common::escape::string_literal(sql_mode)))?;
    if opts.tz_utc {
        exec(conn, "SET TIME_ZONE = '+00:00'")?;
    }
    if let Some(t) = opts.lock_wait_timeout {
        exec(conn, &format!("SET SESSION lock_wait_timeout = {t}"))?;
    }
    if let Some(n) = opts.sync_wait {
        exec(conn, &format!("SET SESSION wsrep_sync_wait = {n}")).context("--sync-wait (a Galera cluster's wsrep_sync_wait)")?;
    }
    Ok(())
}

/// Opens a connection set up for dumping.
pub fn connect(cfg: &ConnectionConfig, opts: &Options, sql_mode: &str) -> Result<mysql::Conn> {
    let mut conn = cfg.connect()?;
    setup_session(&mut conn, opts, sql_mode)?;
    Ok(conn)
}

/// `--use-savepoints`: the server releases the metadata locks taken after a
/// savepoint on ROLLBACK TO SAVEPOINT only in a session that writes no binary
/// log, so a worker (which only reads) turns its logging off before its
/// transaction starts. Without the privilege for that (SUPER or BINLOG
/// ADMIN) the savepoints still run but the locks stay; false says so.
pub fn savepoint_session(conn: &mut mysql::Conn) -> bool {
    exec(conn, "SET SESSION sql_log_bin = 0").is_ok()
}

/// Starts the worker's snapshot transaction.
pub fn start_transaction(conn: &mut mysql::Conn) -> Result<()> {
    exec(conn, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")?;
    exec(conn, "START TRANSACTION /*!40108 WITH CONSISTENT SNAPSHOT */")
}

/// Refuses to lock while queries older than `-l` seconds run (they would
/// make FLUSH TABLES WITH READ LOCK wait and block every writer); with
/// `-K` kills them instead.
pub fn long_query_guard(conn: &mut mysql::Conn, opts: &Options) -> Result<()> {
    let q = format!(
        "SELECT ID, TIME, IFNULL(USER, ''), LEFT(IFNULL(INFO, ''), 100) FROM information_schema.PROCESSLIST \
         WHERE COMMAND = 'Query' AND TIME > {} AND ID <> CONNECTION_ID()",
        opts.long_query_guard
    );
    let mut check = 0;
    let (long, describe) = loop {
        let long = rows(conn, &q)?;
        if long.is_empty() {
            return Ok(());
        }
        let describe: Vec<String> =
            long.iter().map(|r| format!("id {} ({} s, {}): {}", text(&r[0]), text(&r[1]), text(&r[2]), text(&r[3]))).collect();
        if check == opts.long_query_retries {
            break (long, describe);
        }
        check += 1;
        log::warn!(
            "queries running longer than {} s (-l): {}; checking again in {} s ({check}/{})",
            opts.long_query_guard,
            describe.join("; "),
            opts.long_query_retry_interval,
            opts.long_query_retries
        );
        std::thread::sleep(std::time::Duration::from_secs(opts.long_query_retry_interval));
    };
    if opts.kill_long_queries {
        for r in &long {
            let id = text(&r[0]);
            log::warn!("killing long query {id}");
            if let Err(e) = conn.query_drop(format!("KILL QUERY {id}")) {
                log::warn!("cannot kill query {id}: {}", server_message(&e));
            }
        }
        Ok(())
    } else {
        bail!(
            "queries running longer than {} s (-l): {}; wait, kill them (-K) or raise -l",
            opts.long_query_guard,
            describe.join("; ")
        )
    }
}

/// Takes the global read lock. With `--ftwrl-max-wait-time` each try
/// waits that long (the session's lock_wait_timeout) and is made again
/// `--ftwrl-timeout-retries` times, or until it succeeds.
pub fn lock(conn: &mut mysql::Conn, opts: &Options) -> Result<()> {
    let Some((wait, retries)) = opts.ftwrl_wait else {
        exec(conn, "FLUSH NO_WRITE_TO_BINLOG TABLES").context("cannot flush tables before locking")?;
        return exec(conn, "FLUSH TABLES WITH READ LOCK").context("cannot take the global read lock");
    };
    exec(conn, &format!("SET SESSION lock_wait_timeout = {wait}"))?;
    let mut attempt = 0u32;
    loop {
        let r = conn
            .query_drop("FLUSH NO_WRITE_TO_BINLOG TABLES")
            .and_then(|()| conn.query_drop("FLUSH TABLES WITH READ LOCK"));
        match r {
            Ok(()) => break,
            Err(e) if common::conn::error_code(&e) == Some(1205) && (retries == 0 || attempt < retries) => {
                attempt += 1;
                let of = if retries == 0 { String::new() } else { format!("/{retries}") };
                log::warn!("no global read lock within {wait} s (--ftwrl-max-wait-time); trying again ({attempt}{of})");
            }
            Err(e) => {
                return Err(anyhow::Error::from(common::conn::QueryError::new(&e)))
                    .with_context(|| format!("cannot take the global read lock ({} tries of {wait} s)", attempt + 1));
            }
        }
    }
    let restore = match opts.lock_wait_timeout {
        Some(t) => format!("SET SESSION lock_wait_timeout = {t}"),
        None => "SET SESSION lock_wait_timeout = DEFAULT".to_string(),
    };
    exec(conn, &restore)
}

/// `--lock-all-tables`: LOCK TABLES … READ on every base table of the
/// catalog, in one statement, in place of the global read lock. Writes to
/// these tables wait as they would for the global lock; other tables stay
/// writable.
pub fn lock_tables(conn: &mut mysql::Conn, cat: &Catalog) -> Result<()> {
    let tables: Vec<String> = cat
        .databases
        .iter()
        .flat_map(|db| db.tables.iter())
        .filter(|t| t.kind == ObjectKind::Table)
        .map(|t| format!("{} READ", t.qualified()))
        .collect();
    if tables.is_empty() {
        return Ok(());
    }
    exec(conn, &format!("LOCK TABLES {}", tables.join(", ")))
        .with_context(|| format!("cannot lock the {} selected tables (--lock-all-tables)", tables.len()))
}

/// Releases the global read lock, or the table locks of `--lock-all-tables`.
pub fn unlock(conn: &mut mysql::Conn) -> Result<()> {
    exec(conn, "UNLOCK TABLES").context("cannot release the dump's lock")
}

/// The binary log position and GTID set of the snapshot, if the server
/// writes a binary log.
pub fn source_position(conn: &mut mysql::Conn) -> Result<Option<SourcePosition>> {
    let status = match common::conn::first_parsed(conn, &["SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"], |c, q| {
        c.query::<mysql::Row, _>(q)
    }) {
        Ok(r) => r,
        Err(e) => {
            log::warn!("cannot read the binary log position: {}", server_message(&e));
            return Ok(None);
        }
    };
    let Some(r) = status.first() else {
        return Ok(None);
    };
    let mut pos = SourcePosition {
        log_file: text(&r[0]),
        log_pos: text(&r[1]).trim().parse().unwrap_or(0),
        gtid: if r.len() > 4 { text(&r[4]) } else { String::new() },
    };
    if pos.gtid.is_empty() {
        if let Ok(Some(g)) = conn.query_first::<mysql::Value, _>("SELECT @@gtid_binlog_pos") {
            pos.gtid = text(&g);
        }
    }
    Ok(Some(pos))
}

/// `SHOW SLAVE STATUS` (MySQL 8.4: `SHOW REPLICA STATUS`) of a replica (its
/// first replication connection), or `None` when the server replicates
/// from nothing.
pub fn replica_status(conn: &mut mysql::Conn) -> Result<Option<Vec<(String, String)>>> {
    let (columns, row) = common::conn::first_parsed(conn, &["SHOW SLAVE STATUS", "SHOW REPLICA STATUS"], |c, q| {
        let mut result = c.query_iter(q)?;
        let columns: Vec<String> = result.columns().as_ref().iter().map(|c| c.name_str().into_owned()).collect();
        let row = result.next().transpose()?;
        Ok((columns, row))
    })
    .map_err(|e| QueryError::during(&e, "while reading the replica's status"))?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(columns.into_iter().enumerate().map(|(i, c)| (c, text(&row[i]))).collect()))
}

/// Runs a replica statement in the syntax the server knows: `SLAVE`, or
/// MySQL 8.4's `REPLICA`.
fn replica_statement(conn: &mut mysql::Conn, slave: &str) -> Result<()> {
    let replica = slave.replace("SLAVE", "REPLICA");
    common::conn::first_parsed(conn, &[slave, &replica], |c, q| c.query_drop(q))
        .map_err(|e| QueryError::during(&e, &format!("while running {slave}")))?;
    Ok(())
}

/// The replica's place in its source's binary log, from its status.
pub fn replica_position(status: &[(String, String)]) -> common::metadata::ReplicaPosition {
    // MariaDB's and older MySQL's column names, then MySQL 8.4's.
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|k| status.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone()))
            .unwrap_or_default()
    };
    let gtid = match get(&["Gtid_Slave_Pos"]) {
        g if !g.is_empty() => g,
        _ => get(&["Executed_Gtid_Set"]),
    };
    common::metadata::ReplicaPosition {
        channel: get(&["Connection_name", "Channel_Name"]),
        log_file: get(&["Relay_Master_Log_File", "Relay_Source_Log_File"]),
        log_pos: get(&["Exec_Master_Log_Pos", "Exec_Source_Log_Pos"]).trim().parse().unwrap_or(0),
        gtid: gtid.replace('\n', ""),
        status: status.to_vec(),
    }
}

/// `--replica-data`: the replica's SQL thread stopped while the snapshot is
/// taken, so that its position matches the dumped rows; started again by
/// [`ReplicaPause::resume`], or on drop whatever happened meanwhile.
pub struct ReplicaPause {
    cfg: ConnectionConfig,
    stopped: bool,
}

impl ReplicaPause {
    /// Stops the SQL thread if it runs.
    pub fn stop(conn: &mut mysql::Conn, cfg: &ConnectionConfig, status: &[(String, String)]) -> Result<ReplicaPause> {
        let running = status.iter().any(|(k, v)| {
            (k.eq_ignore_ascii_case("Slave_SQL_Running") || k.eq_ignore_ascii_case("Replica_SQL_Running")) && v.eq_ignore_ascii_case("Yes")
        });
        if running {
            replica_statement(conn, "STOP SLAVE SQL_THREAD").context("--replica-data: cannot stop the replica's SQL thread")?;
            log::info!("--replica-data: the replica's SQL thread is stopped while the snapshot is taken");
        }
        Ok(ReplicaPause { cfg: cfg.clone(), stopped: running })
    }

    /// Starts the SQL thread again, if it was stopped.
    pub fn resume(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.stopped) {
            return Ok(());
        }
        let mut conn = self.cfg.connect()?;
        replica_statement(&mut conn, "START SLAVE SQL_THREAD").context("--replica-data: cannot start the replica's SQL thread again")?;
        log::info!("--replica-data: the replica's SQL thread runs again");
        Ok(())
    }
}

impl Drop for ReplicaPause {
    fn drop(&mut self) {
        if let Err(e) = self.resume() {
            log::error!("{e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_mode_for_files() {
        assert_eq!(
            file_sql_mode("STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION"),
            "NO_AUTO_VALUE_ON_ZERO,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION"
        );
        assert_eq!(file_sql_mode("ANSI_QUOTES,NO_AUTO_VALUE_ON_ZERO"), "NO_AUTO_VALUE_ON_ZERO");
        assert_eq!(file_sql_mode(""), "NO_AUTO_VALUE_ON_ZERO");
    }
}
