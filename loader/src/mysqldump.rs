//! `--mysqldump`: a mysqldump or mariadb-dump stream on stdin, loaded with
//! parallel workers. Statements run in the stream's order on one
//! connection, except the INSERTs, which the workers run at the same time:
//! any other statement waits until the INSERTs before it are done, but for
//! those that cannot touch them (session settings, the next table's DROP
//! and CREATE TABLE), so the next table is created while the last one
//! loads, and a trigger never fires on a row of the dump. LOCK TABLES and
//! UNLOCK TABLES are left out (the workers are other sessions). The
//! stream's session settings before its first other statement (character
//! set, time zone, checks off, SQL mode) are every worker's too. The stream
//! must end with mysqldump's `-- Dump completed` line, so that a truncated
//! one is never taken for a whole. As any rloader load, it is not written
//! to the binary log unless `-e`.

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use common::conn::{server_message, ConnectionConfig};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use mysql::prelude::Queryable;

use crate::ddl::quote_ident;

/// One statement of the stream, without its delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpStatement {
    pub text: Vec<u8>,
    /// The line it starts on (1-based).
    pub line: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    Quote(u8),
    Escape(u8),
    LineComment,
    BlockComment,
}

/// Splits a stream as the `mysql` client does: statements end at the
/// delimiter (`;`, or what a `DELIMITER` line sets) outside quotes and
/// comments. Comment-only text between statements is dropped; comments
/// inside a statement, and `/*! … */` hints, stay in its text.
pub struct DumpSplitter<R: BufRead> {
    input: R,
    delimiter: Vec<u8>,
    state: State,
    buf: Vec<u8>,
    /// The statement so far holds more than comments and blanks.
    code: bool,
    start_line: u64,
    line_no: u64,
    line: Vec<u8>,
    pos: usize,
    /// Saw `-- Dump completed`.
    pub completed: bool,
    done: bool,
}

impl<R: BufRead> DumpSplitter<R> {
    pub fn new(input: R) -> Self {
        DumpSplitter {
            input,
            delimiter: b";".to_vec(),
            state: State::Code,
            buf: Vec::new(),
            code: false,
            start_line: 1,
            line_no: 0,
            line: Vec::new(),
            pos: 0,
            completed: false,
            done: false,
        }
    }

    /// The next statement; `None` at the end of the input. Input that ends
    /// inside a statement, quote or comment is an error naming its line.
    pub fn next_statement(&mut self) -> Result<Option<DumpStatement>> {
        loop {
            if self.pos >= self.line.len() {
                if self.done {
                    return Ok(None);
                }
                self.line.clear();
                self.pos = 0;
                let n = self.input.read_until(b'\n', &mut self.line).context("cannot read the stream")?;
                if n == 0 {
                    self.done = true;
                    if self.code || self.state != State::Code && self.state != State::LineComment {
                        bail!("line {}: the stream ends inside a statement that starts there: truncated", self.start_line);
                    }
                    return Ok(None);
                }
                self.line_no += 1;
                if !self.code && self.state == State::Code {
                    if self.line.starts_with(b"-- Dump completed") {
                        self.completed = true;
                    }
                    let text = String::from_utf8_lossy(&self.line);
                    let trimmed = text.trim_start();
                    if trimmed.len() > 10 && trimmed[..10].eq_ignore_ascii_case("DELIMITER ") {
                        let d = trimmed[10..].split_whitespace().next().unwrap_or("");
                        if d.is_empty() {
                            bail!("line {}: DELIMITER without a delimiter", self.line_no);
                        }
                        self.delimiter = d.as_bytes().to_vec();
                        self.buf.clear();
                        self.pos = self.line.len();
                        continue;
                    }
                    if self.buf.iter().all(u8::is_ascii_whitespace) {
                        self.buf.clear();
                        self.start_line = self.line_no;
                    }
                }
            }
            if let Some(st) = self.scan() {
                return Ok(Some(st));
            }
        }
    }

    /// Scans the current line from `pos`; a statement once its delimiter
    /// is reached.
    fn scan(&mut self) -> Option<DumpStatement> {
        let line = &self.line;
        while self.pos < line.len() {
            let i = self.pos;
            let b = line[i];
            let next = line.get(i + 1).copied();
            match self.state {
                State::Code => {
                    if line[i..].starts_with(&self.delimiter) {
                        self.pos += self.delimiter.len();
                        let text = std::mem::take(&mut self.buf);
                        let had_code = std::mem::replace(&mut self.code, false);
                        let line_no = self.start_line;
                        self.start_line = self.line_no;
                        if had_code {
                            return Some(DumpStatement { text, line: line_no });
                        }
                        continue;
                    }
                    match b {
                        b'\'' | b'"' | b'`' => {
                            self.state = State::Quote(b);
                            self.code = true;
                        }
                        b'-' if next == Some(b'-') && line.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) => {
                            self.state = State::LineComment
                        }
                        b'#' => self.state = State::LineComment,
                        b'/' if next == Some(b'*') => {
                            // `/*!…` and `/*+…` are statement text for the
                            // server; `/*M!999999` (mariadb-dump's line for
                            // its client) is for no server.
                            let rest = &line[i + 2..];
                            let hint = (rest.starts_with(b"!") || rest.starts_with(b"+") || rest.starts_with(b"M!"))
                                && !rest.starts_with(b"M!999999");
                            if hint {
                                self.code = true;
                            }
                            self.state = State::BlockComment;
                            self.buf.extend_from_slice(b"/*");
                            self.pos += 2;
                            continue;
                        }
                        c if !c.is_ascii_whitespace() => self.code = true,
                        _ => {}
                    }
                }
                State::Quote(q) => {
                    if b == b'\\' && q != b'`' {
                        self.state = State::Escape(q);
                    } else if b == q {
                        self.state = State::Code;
                    }
                }
                State::Escape(q) => self.state = State::Quote(q),
                State::LineComment => {
                    if b == b'\n' {
                        self.state = State::Code;
                    }
                }
                State::BlockComment => {
                    if b == b'*' && next == Some(b'/') {
                        self.buf.extend_from_slice(b"*/");
                        self.pos += 2;
                        self.state = State::Code;
                        continue;
                    }
                }
            }
            self.buf.push(b);
            self.pos += 1;
        }
        None
    }
}

/// What a statement is, for the order it runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// INSERT or REPLACE: a worker runs it.
    Data,
    /// LOCK TABLES, UNLOCK TABLES: left out.
    Lock,
    Use(String),
    CreateDatabase,
    /// Cannot touch the rows being inserted: runs without waiting for them.
    Independent,
    /// SET: independent, and before the first other statement, every
    /// worker's session setting too.
    Set,
    /// Anything else: runs once the INSERTs before it are done.
    Ordered,
}

/// The statement's first words, comments and hint markers skipped, upper
/// case.
fn head(text: &[u8]) -> String {
    let s = String::from_utf8_lossy(&text[..text.len().min(4096)]);
    code_start(&s).chars().take(200).collect::<String>().to_ascii_uppercase()
}

/// `s` from its first word of code: leading comments (mysqldump's `--`
/// lines before each statement) and hint markers skipped.
fn code_start(s: &str) -> &str {
    let mut rest: &str = s;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("--").filter(|r| r.is_empty() || r.starts_with(char::is_whitespace)) {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix('#') {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("/*M!999999") {
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("/*!").or_else(|| rest.strip_prefix("/*M!")) {
            rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return rest;
        }
    }
}

fn classify(text: &[u8]) -> Kind {
    let h = head(text);
    let words: Vec<&str> = h.split_whitespace().take(3).collect();
    match words.as_slice() {
        ["INSERT", ..] | ["REPLACE", ..] => Kind::Data,
        ["LOCK", "TABLES", ..] | ["LOCK", "TABLE", ..] | ["UNLOCK", "TABLES", ..] => Kind::Lock,
        ["USE", ..] => Kind::Use(use_database(text).unwrap_or_default()),
        ["CREATE", "DATABASE", ..] | ["CREATE", "SCHEMA", ..] => Kind::CreateDatabase,
        ["SET", ..] => Kind::Set,
        ["DROP", "TABLE", ..] | ["CREATE", "TABLE", ..] => Kind::Independent,
        ["ALTER", "TABLE", ..] if h.contains("DISABLE KEYS") => Kind::Independent,
        _ => Kind::Ordered,
    }
}

/// The database a `USE` statement names.
fn use_database(text: &[u8]) -> Option<String> {
    crate::ddl::used_database(code_start(&String::from_utf8_lossy(text)))
}

/// A statement for a worker, and the database it runs in.
struct DataJob {
    db: Option<String>,
    text: Arc<Vec<u8>>,
    line: u64,
}

/// What a mysqldump load did.
#[derive(Debug, Default)]
pub struct Totals {
    pub statements: u64,
    pub inserts: u64,
    pub bytes: u64,
}

/// Options of the load that apply to a mysqldump stream.
pub struct Plan<'a> {
    pub conn: &'a ConnectionConfig,
    pub target: Option<String>,
    pub threads: usize,
    pub retry_count: u32,
    /// `--dry-run`: split and check the stream, run nothing.
    pub dry_run: bool,
    /// `--no-data`: the INSERTs are left out.
    pub no_data: bool,
    /// `-e/--enable-binlog`: the load is written to the binary log (as
    /// any rloader load, it is not by default).
    pub binlog: bool,
}

/// Connects, with the binary log off for the session unless `-e`.
fn connect(plan: &Plan) -> Result<mysql::Conn> {
    let mut conn = plan.conn.connect()?;
    if !plan.binlog {
        if let Err(e) = conn.query_drop("SET SQL_LOG_BIN = 0") {
            log::warn!("cannot turn off binary logging for the load ({}); the restore will be binlogged", server_message(&e));
        }
    }
    Ok(conn)
}

/// A reader that counts what passes (for the progress bar).
struct Counting<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn excerpt(text: &[u8]) -> String {
    let s = String::from_utf8_lossy(&text[..text.len().min(120)]).replace('\n', " ");
    if text.len() > 120 {
        format!("{}…", s.trim())
    } else {
        s.trim().to_string()
    }
}

/// Loads the stream `input`.
pub fn load(input: impl Read, plan: &Plan) -> Result<Totals> {
    let bytes = Arc::new(AtomicU64::new(0));
    let progress = common::progress::spinner("mysqldump stream");
    let mut split = DumpSplitter::new(BufReader::with_capacity(1 << 20, Counting { inner: input, bytes: bytes.clone() }));
    let mut totals = Totals::default();
    if plan.dry_run {
        while let Some(st) = split.next_statement()? {
            totals.statements += 1;
            totals.inserts += (classify(&st.text) == Kind::Data) as u64;
            progress.set_message(common::progress::human_bytes(bytes.load(Ordering::Relaxed)));
        }
        progress.finish_and_clear();
        totals.bytes = bytes.load(Ordering::Relaxed);
        return finished(&split, totals);
    }

    let mut control = connect(plan)?;
    let mut current: Option<String> = None;
    if let Some(t) = &plan.target {
        control
            .query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(t)))
            .map_err(|e| anyhow!("cannot create database `{t}`: {}", server_message(&e)))?;
        control.query_drop(format!("USE {}", quote_ident(t))).map_err(|e| anyhow!("USE `{t}`: {}", server_message(&e)))?;
        current = Some(t.clone());
    }

    // The workers start with the first INSERT, with the session settings
    // the stream made before its first other statement.
    let mut prologue: Vec<Arc<Vec<u8>>> = Vec::new();
    let mut in_prologue = true;
    let mut workers: Option<Workers> = None;
    let result = (|| -> Result<()> {
        while let Some(st) = split.next_statement()? {
            totals.statements += 1;
            progress.set_message(format!(
                "{} statements, {}",
                totals.statements,
                common::progress::human_bytes(bytes.load(Ordering::Relaxed))
            ));
            if let Some(w) = workers.as_mut() {
                w.check()?;
            }
            let kind = classify(&st.text);
            if in_prologue && kind != Kind::Set {
                in_prologue = false;
            }
            let text = Arc::new(st.text);
            match kind {
                Kind::Data if plan.no_data => continue,
                Kind::Data => {
                    totals.inserts += 1;
                    if current.is_none() {
                        bail!("line {}: an INSERT before any database is chosen: the dump has no USE (dumped without --databases); give -B", st.line);
                    }
                    if workers.is_none() {
                        workers = Some(Workers::start(plan, &prologue)?);
                    }
                    let w = workers.as_mut().expect("started");
                    w.send(DataJob { db: current.clone(), text, line: st.line })?;
                    continue;
                }
                Kind::Lock => continue,
                Kind::Use(db) => {
                    let db = plan.target.clone().unwrap_or(db);
                    control.query_drop(format!("USE {}", quote_ident(&db))).map_err(|e| {
                        anyhow!("line {}: USE `{db}`: {}", st.line, server_message(&e))
                    })?;
                    current = Some(db);
                    continue;
                }
                Kind::CreateDatabase if plan.target.is_some() => continue,
                Kind::Set if in_prologue => prologue.push(text.clone()),
                Kind::Ordered => {
                    if let Some(w) = workers.as_mut() {
                        w.wait()?;
                    }
                }
                Kind::CreateDatabase | Kind::Set | Kind::Independent => {}
            }
            let sql = crate::sqltext::to_query(&text).map_err(|e| anyhow!("line {}: {e}: {}", st.line, excerpt(&text)))?;
            control.query_drop(sql.as_ref()).map_err(|e| {
                let hint = if current.is_none() && common::conn::error_code(&e) == Some(1046) {
                    "; the dump has no USE (dumped without --databases): give -B"
                } else {
                    ""
                };
                anyhow!("line {}: {}: {}{hint}", st.line, server_message(&e), excerpt(&text))
            })?;
        }
        if let Some(w) = workers.as_mut() {
            w.wait()?;
        }
        Ok(())
    })();
    if let Some(w) = workers.take() {
        w.stop();
    }
    progress.finish_and_clear();
    result?;
    totals.bytes = bytes.load(Ordering::Relaxed);
    finished(&split, totals)
}

fn finished<R: BufRead>(split: &DumpSplitter<R>, totals: Totals) -> Result<Totals> {
    if !split.completed {
        bail!(
            "the stream has no '-- Dump completed' line: it is truncated (or was dumped with --skip-comments); {} statements were read",
            totals.statements
        );
    }
    Ok(totals)
}

/// The pool that runs INSERTs.
struct Workers {
    jobs: Option<Sender<DataJob>>,
    done: Receiver<Result<(), String>>,
    in_flight: usize,
    failed: Arc<AtomicBool>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Workers {
    fn start(plan: &Plan, prologue: &[Arc<Vec<u8>>]) -> Result<Workers> {
        let threads = plan.threads.max(1);
        let (jobs_tx, jobs_rx) = bounded::<DataJob>(threads * 2);
        let (done_tx, done_rx) = unbounded();
        let failed = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for i in 0..threads {
            let mut conn = connect(plan)?;
            for p in prologue {
                let sql = crate::sqltext::to_query(p).map_err(|e| anyhow!("worker {i}: {e}: {}", excerpt(p)))?;
                conn.query_drop(sql.as_ref())
                    .map_err(|e| anyhow!("worker {i}: {}: {}", server_message(&e), excerpt(p)))?;
            }
            let rx = jobs_rx.clone();
            let tx = done_tx.clone();
            let failed = failed.clone();
            let retries = plan.retry_count;
            handles.push(
                std::thread::Builder::new()
                    .name(format!("worker-{i}"))
                    .spawn(move || run_worker(conn, rx, tx, failed, retries))
                    .context("cannot start a worker thread")?,
            );
        }
        Ok(Workers { jobs: Some(jobs_tx), done: done_rx, in_flight: 0, failed, handles })
    }

    fn take(&mut self, r: Result<(), String>) -> Result<()> {
        self.in_flight -= 1;
        r.map_err(|e| anyhow!("{e}"))
    }

    /// Hands a statement over, taking finished ones while the queue is full.
    fn send(&mut self, job: DataJob) -> Result<()> {
        let tx = self.jobs.clone().expect("open");
        let mut job = Some(job);
        while let Some(j) = job.take() {
            match tx.try_send(j) {
                Ok(()) => self.in_flight += 1,
                Err(crossbeam_channel::TrySendError::Full(j)) => {
                    job = Some(j);
                    let r = self.done.recv().map_err(|_| anyhow!("the workers stopped"))?;
                    self.take(r)?;
                }
                Err(crossbeam_channel::TrySendError::Disconnected(_)) => bail!("the workers stopped"),
            }
        }
        Ok(())
    }

    /// The first failure of a finished statement, without waiting.
    fn check(&mut self) -> Result<()> {
        while let Ok(r) = self.done.try_recv() {
            self.take(r)?;
        }
        Ok(())
    }

    /// Waits for every statement handed over.
    fn wait(&mut self) -> Result<()> {
        while self.in_flight > 0 {
            let r = self.done.recv().map_err(|_| anyhow!("the workers stopped"))?;
            self.take(r)?;
        }
        Ok(())
    }

    fn stop(mut self) {
        self.failed.store(true, Ordering::Relaxed);
        self.jobs = None;
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

fn run_worker(mut conn: mysql::Conn, jobs: Receiver<DataJob>, done: Sender<Result<(), String>>, failed: Arc<AtomicBool>, retries: u32) {
    let mut db: Option<String> = None;
    for job in jobs {
        if failed.load(Ordering::Relaxed) {
            let _ = done.send(Err("stopped".into()));
            continue;
        }
        let r = (|| -> Result<(), String> {
            if job.db != db {
                if let Some(d) = &job.db {
                    conn.query_drop(format!("USE {}", quote_ident(d)))
                        .map_err(|e| format!("line {}: USE `{d}`: {}", job.line, server_message(&e)))?;
                }
                db = job.db.clone();
            }
            // Raw bytes in string literals (binary columns) are sent as
            // hex literals of the same bytes.
            let sql = crate::sqltext::to_query(&job.text).map_err(|e| format!("line {}: {e}: {}", job.line, excerpt(&job.text)))?;
            let mut attempt = 0;
            loop {
                match conn.query_drop(sql.as_ref()) {
                    Ok(()) => return Ok(()),
                    Err(e) if crate::exec::retryable(&e) && attempt < retries => {
                        attempt += 1;
                        log::warn!("line {}: {}; retry {attempt}", job.line, server_message(&e));
                    }
                    Err(e) => return Err(format!("line {}: {}: {}", job.line, server_message(&e), excerpt(&job.text))),
                }
            }
        })();
        // The failure is reported before the others are told to stop, so
        // that it comes first.
        let is_err = r.is_err();
        if done.send(r).is_err() {
            break;
        }
        if is_err {
            failed.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> (Vec<(String, u64)>, bool) {
        let mut s = DumpSplitter::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some(st) = s.next_statement().unwrap() {
            out.push((String::from_utf8(st.text).unwrap(), st.line));
        }
        (out, s.completed)
    }

    #[test]
    fn statements_delimiters_quotes_and_comments() {
        let text = "/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump\n--\n/*!40101 SET NAMES utf8mb4 */;\n\
            INSERT INTO `t;` VALUES (1,'a;\\'b'),(2,\"--;\");\n\
            DELIMITER ;;\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1; -- x;\nEND\n;;\nDELIMITER ;\n\
            /*!50003 CREATE*/ /*!50003 TRIGGER x BEGIN SET a = 1; END */;\n-- Dump completed on 2026-01-01\n";
        let (got, completed) = split(text);
        assert!(completed);
        let texts: Vec<&str> = got.iter().map(|(t, _)| t.trim()).collect();
        assert_eq!(texts.len(), 4, "{texts:?}");
        assert!(texts[0].starts_with("/*M!999999") && texts[0].ends_with("SET NAMES utf8mb4 */"), "{}", texts[0]);
        assert_eq!(texts[1], "INSERT INTO `t;` VALUES (1,'a;\\'b'),(2,\"--;\")");
        assert_eq!(texts[2], "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1; -- x;\nEND");
        assert!(texts[3].ends_with("SET a = 1; END */"));
        assert_eq!(got[1].1, 5);
        assert_eq!(got[2].1, 7);
    }

    #[test]
    fn truncated_streams_are_errors() {
        let mut s = DumpSplitter::new(&b"INSERT INTO t VALUES (1),\n(2"[..]);
        let e = s.next_statement().unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("truncated"), "{e}");
        let (got, completed) = split("SET a = 1;\n");
        assert_eq!(got.len(), 1);
        assert!(!completed);
    }

    #[test]
    fn kinds() {
        assert_eq!(classify(b"INSERT INTO `t` VALUES (1)"), Kind::Data);
        assert_eq!(classify(b"\n-- c\nREPLACE INTO t VALUES (1)"), Kind::Data);
        assert_eq!(classify(b"LOCK TABLES `t` WRITE"), Kind::Lock);
        assert_eq!(classify(b"USE `a``b`"), Kind::Use("a`b".into()));
        assert_eq!(classify(b"--\n-- Current Database: `museum`\n--\nUSE `museum`"), Kind::Use("museum".into()));
        assert_eq!(classify(b"/*!40101 SET NAMES utf8mb4 */"), Kind::Set);
        assert_eq!(classify(b"/*M!999999\\- enable the sandbox mode */ \n/*!40101 SET @A=1 */"), Kind::Set);
        assert_eq!(classify(b"/*!40000 ALTER TABLE `t` DISABLE KEYS */"), Kind::Independent);
        assert_eq!(classify(b"/*!40000 ALTER TABLE `t` ENABLE KEYS */"), Kind::Ordered);
        assert_eq!(classify(b"CREATE TABLE `t` (a int)"), Kind::Independent);
        assert_eq!(classify(b"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `x`"), Kind::CreateDatabase);
        assert_eq!(classify(b"/*!50003 CREATE*/ /*!50017 DEFINER=`r`@`l`*/ /*!50003 TRIGGER x"), Kind::Ordered);
    }
}
