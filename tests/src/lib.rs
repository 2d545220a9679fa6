//! Test harness: the throwaway server started by `scripts/test-db.sh`, unique
//! databases per test, the shared fixtures (`torture`, `torture-2`,
//! `sakila`), the built binaries, and table-by-table comparisons.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// `../shared` beside the repository: test data and the mydumper corpus.
pub fn shared_dir() -> PathBuf {
    let p = repo_root().join("../shared");
    assert!(p.join("corpus").is_dir(), "test data not found at {} (../shared beside the repository)", p.display());
    p.canonicalize().unwrap()
}

/// The throwaway server described by the `RDUMP_TEST_*` variables.
#[derive(Debug, Clone)]
pub struct Server {
    pub socket: PathBuf,
    pub host: String,
    pub port: u16,
    pub user: String,
}

/// The server the tests run against. Panics with what to do when the
/// variables are missing (run the tests through `scripts/test.sh`).
pub fn server() -> Server {
    let var = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| {
            panic!("{k} is not set: run the tests with scripts/test.sh, or eval \"$(scripts/test-db.sh env)\" first")
        })
    };
    Server {
        socket: PathBuf::from(var("RDUMP_TEST_SOCKET")),
        host: var("RDUMP_TEST_HOST"),
        port: var("RDUMP_TEST_PORT").parse().expect("RDUMP_TEST_PORT is a port"),
        user: var("RDUMP_TEST_USER"),
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Server {
    pub fn conn(&self) -> mysql::Conn {
        let opts = mysql::OptsBuilder::new()
            .socket(Some(self.socket.to_string_lossy().into_owned()))
            .user(Some(self.user.clone()))
            .prefer_socket(true);
        mysql::Conn::new(opts).expect("connect to the test server")
    }

    /// Connection flags for rdumper/rloader (and mydumper/myloader): the socket.
    pub fn conn_args(&self) -> Vec<String> {
        vec!["-S".into(), self.socket.display().to_string(), "-u".into(), self.user.clone()]
    }

    /// Connection flags over TCP as one of the users `scripts/test-db.sh`
    /// creates with the password `rdump-secret` (rdump_pw, rdump_tls,
    /// rdump_x509).
    pub fn tcp_args_as(&self, user: &str) -> Vec<String> {
        vec!["-h".into(), self.host.clone(), "-P".into(), self.port.to_string(), "-u".into(), user.into(), "-p".into(), "rdump-secret".into()]
    }

    /// Connection flags over TCP.
    pub fn tcp_args(&self) -> Vec<String> {
        vec!["-h".into(), self.host.clone(), "-P".into(), self.port.to_string(), "-u".into(), self.user.clone()]
    }

    /// A database name no other test uses; dropped when the guard drops.
    pub fn unique_db(&self, prefix: &str) -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("{prefix}_{}_{n}", std::process::id());
        let mut c = self.conn();
        c.query_drop(format!("DROP DATABASE IF EXISTS `{name}`")).unwrap();
        TestDb { server: self.clone(), name }
    }

    /// A new database of [`Server::unique_db`], filled by `statements`, in
    /// which `{db}` stands for the database's quoted name.
    pub fn db_with(&self, prefix: &str, statements: &[&str]) -> TestDb {
        let db = self.unique_db(prefix);
        let quoted = format!("`{}`", db.name.replace('`', "``"));
        let mut c = self.conn();
        c.query_drop(format!("CREATE DATABASE {quoted}")).unwrap();
        for st in statements {
            let st = st.replace("{db}", &quoted);
            c.query_drop(&st).unwrap_or_else(|e| panic!("{st}: {e}"));
        }
        db
    }

    /// Runs SQL through the `mariadb` client (which understands DELIMITER).
    pub fn run_sql_file(&self, sql: &Path, db: Option<&str>) {
        let file = std::fs::File::open(sql).unwrap_or_else(|e| panic!("{}: {e}", sql.display()));
        let mut cmd = Command::new("mariadb");
        cmd.arg("--no-defaults").arg("-S").arg(&self.socket).arg("-u").arg(&self.user).arg("--binary-mode");
        if let Some(db) = db {
            cmd.arg(db);
        }
        let out = cmd.stdin(file).output().expect("run the mariadb client");
        assert!(out.status.success(), "mariadb < {}: {}", sql.display(), String::from_utf8_lossy(&out.stderr));
    }

    /// Loads the shared fixtures once per server: `torture`, `torture-2`
    /// (from `data/torture.sql`) and `sakila`. Tests treat them as read-only.
    pub fn fixtures(&self) {
        let mut c = self.conn();
        let got: Option<i64> = c.query_first("SELECT GET_LOCK('rdump_fixtures', 600)").unwrap();
        assert_eq!(got, Some(1), "fixture lock");
        let done: Option<String> = c
            .query_first("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='rdump_fixtures' AND TABLE_NAME='loaded'")
            .unwrap();
        if done.is_none() {
            let data = shared_dir().join("data");
            self.run_sql_file(&data.join("torture.sql"), None);
            self.run_sql_file(&data.join("sakila/sakila-schema.sql"), None);
            self.run_sql_file(&data.join("sakila/sakila-data.sql"), None);
            c.query_drop("CREATE DATABASE IF NOT EXISTS rdump_fixtures").unwrap();
            c.query_drop("CREATE TABLE rdump_fixtures.loaded (id INT)").unwrap();
        }
        c.query_drop("DO RELEASE_LOCK('rdump_fixtures')").unwrap();
    }
}

/// A database owned by one test, dropped at the end of it.
pub struct TestDb {
    pub server: Server,
    pub name: String,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var_os("RDUMP_KEEP_TEST_DBS").is_some() {
            return;
        }
        if let Ok(mut c) = mysql::Conn::new(
            mysql::OptsBuilder::new()
                .socket(Some(self.server.socket.to_string_lossy().into_owned()))
                .user(Some(self.server.user.clone()))
                .prefer_socket(true),
        ) {
            let _ = c.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name));
        }
    }
}

fn bin(name: &str) -> PathBuf {
    // Integration tests live in the `integration-tests` package, so cargo does
    // not set CARGO_BIN_EXE_*; the binaries sit beside the test executable's
    // deps directory.
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target profile dir");
    let p = dir.join(name);
    assert!(p.exists(), "{} not built: run `cargo build` (scripts/test.sh does)", p.display());
    p
}

pub fn rdumper() -> Command {
    Command::new(bin("rdumper"))
}

pub fn rloader() -> Command {
    Command::new(bin("rloader"))
}

/// Runs a command, returning its output; panics if it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs a command that must succeed; returns its output.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().map(|o| o.status.success()).unwrap_or(false)
}

/// Row count and `CHECKSUM TABLE` of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSum {
    pub rows: u64,
    pub checksum: u64,
}

/// Rows and checksums of every base table of `db`.
pub fn table_sums(c: &mut mysql::Conn, db: &str) -> BTreeMap<String, TableSum> {
    let tables: Vec<String> = c
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            (db,),
        )
        .unwrap();
    let mut out = BTreeMap::new();
    for t in tables {
        let q = format!("`{}`.`{}`", db.replace('`', "``"), t.replace('`', "``"));
        let rows: u64 = c.query_first(format!("SELECT COUNT(*) FROM {q}")).unwrap().unwrap();
        let row: mysql::Row = c.query_first(format!("CHECKSUM TABLE {q}")).unwrap().unwrap();
        let checksum: Option<u64> = row.get(1).unwrap();
        out.insert(t, TableSum { rows, checksum: checksum.unwrap_or(0) });
    }
    out
}

/// Asserts that `copy` holds the same tables with the same rows and
/// checksums as `source`, and returns the number of tables compared.
pub fn assert_same_data(server: &Server, source: &str, copy: &str) -> usize {
    let mut c = server.conn();
    let a = table_sums(&mut c, source);
    let b = table_sums(&mut c, copy);
    assert!(!a.is_empty(), "source database {source} has no tables");
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "tables of {copy} differ from {source}"
    );
    for (t, sa) in &a {
        assert_eq!(Some(sa), b.get(t), "table {t}: {source} vs {copy}");
    }
    a.len()
}

/// Names of views, triggers, routines and events of a database, by kind,
/// for checking that a copy has every object.
pub fn object_names(c: &mut mysql::Conn, db: &str) -> BTreeMap<&'static str, Vec<String>> {
    let mut m = BTreeMap::new();
    for (kind, q) in [
        ("view", "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY 1"),
        ("trigger", "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1"),
        ("routine", "SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1"),
        ("event", "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY 1"),
        ("sequence", "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'SEQUENCE' ORDER BY 1"),
    ] {
        m.insert(kind, c.exec(q, (db,)).unwrap());
    }
    m
}

/// The expected rows and checksums of the corpus's source tables
/// (`../shared/corpus/checksums.tsv`), keyed by (database, table).
pub fn corpus_checksums() -> BTreeMap<(String, String), TableSum> {
    let text = std::fs::read_to_string(shared_dir().join("corpus/checksums.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            ((f[0].to_string(), f[1].to_string()), TableSum { rows: f[2].parse().unwrap(), checksum: f[3].parse().unwrap() })
        })
        .collect()
}

/// Calls `ready` every 20 ms until it returns true, for tests that must act
/// only once a process has reached some state; panics with `what` after
/// `limit`.
pub fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "{what} (waited {limit:?})");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for `child` to exit and returns its status; panics with `what`
/// after `limit`.
pub fn wait_exit(child: &mut std::process::Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let mut status = None;
    wait_until(limit, what, || {
        status = child.try_wait().expect("poll the child");
        status.is_some()
    });
    status.expect("exited")
}

/// All the child's stderr (a piped one), read to its end.
pub fn read_stderr(child: &mut std::process::Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut s).expect("read stderr");
    }
    s
}

/// Writes a small hand-made dump into `dir` (created): a `metadata` that
/// says the dump finished, and `files` as (name, content).
pub fn write_dump(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).expect("create the dump dir");
    std::fs::write(
        dir.join("metadata"),
        "# Started dump at: 2026-01-01 00:00:00\n[config]\nquote-character = BACKTICK\n# Finished dump at: 2026-01-01 00:00:01\n",
    )
    .expect("write metadata");
    for (name, content) in files {
        std::fs::write(dir.join(name), content).expect("write a dump file");
    }
}

/// The ids of the server's connections whose process list row matches
/// `cond` (SQL over the columns of `information_schema.PROCESSLIST`), the
/// asking connection left out.
pub fn process_ids(c: &mut mysql::Conn, cond: &str) -> Vec<u64> {
    c.query(format!("SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND ({cond})"))
        .expect("read the process list")
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// A server of a test's own (for tests that stop or break it), started with
/// `scripts/test-db.sh` under a private state file and stopped on drop.
pub struct PrivateServer {
    pub server: Server,
    state: tempfile::TempDir,
}

impl PrivateServer {
    pub fn start() -> PrivateServer {
        PrivateServer::start_with_env(&[])
    }

    /// As [`PrivateServer::start`], with variables for `test-db.sh start`
    /// (e.g. `RDUMP_TEST_NO_TLS=1`).
    pub fn start_with_env(vars: &[(&str, &str)]) -> PrivateServer {
        let state = tempfile::tempdir().expect("temp dir");
        let state_file = state.path().join("db.state");
        let script = repo_root().join("scripts/test-db.sh");
        let out = Command::new(&script)
            .arg("start")
            .env("RDUMP_TEST_STATE", &state_file)
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        assert!(out.status.success(), "private server: {}", String::from_utf8_lossy(&out.stderr));
        let env = Command::new(&script).arg("env").env("RDUMP_TEST_STATE", &state_file).output().unwrap();
        let text = String::from_utf8_lossy(&env.stdout).into_owned();
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("export {k}=")))
                .unwrap_or_else(|| panic!("{k} missing from test-db.sh env: {text}"))
                .to_string()
        };
        let server = Server {
            socket: PathBuf::from(get("RDUMP_TEST_SOCKET")),
            host: get("RDUMP_TEST_HOST"),
            port: get("RDUMP_TEST_PORT").parse().unwrap(),
            user: get("RDUMP_TEST_USER"),
        };
        PrivateServer { server, state }
    }

    /// Stops the server now (it stays stopped).
    pub fn stop(&self) {
        let _ = Command::new(repo_root().join("scripts/test-db.sh"))
            .arg("stop")
            .env("RDUMP_TEST_STATE", self.state.path().join("db.state"))
            .output();
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a command with `input` on its stdin (written from another thread,
/// so a command that stops reading cannot deadlock the test) and returns
/// its output. A command that stops reading early is not an error here.
pub fn run_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for the command");
    writer.join().expect("stdin writer");
    out
}

/// A private, writable copy of a dump directory of `../shared/corpus`
/// (`rel` like `md-1.0.1/torture-sql`), at `<temp>/dump`.
pub fn copy_corpus_dump(rel: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempdir();
    let dst = t.path().join("dump");
    std::fs::create_dir(&dst).unwrap();
    for e in std::fs::read_dir(shared_dir().join("corpus").join(rel)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
    (t, dst)
}

/// A small tmpfs mounted on a fresh directory, for full-disk tests;
/// unmounted on drop. Needs root: `Err` says why it cannot be had.
pub struct SmallDisk {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(size: &str) -> Result<SmallDisk, String> {
        let dir = tempdir();
        let path = dir.path().join("small");
        std::fs::create_dir(&path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!("mount tmpfs: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(SmallDisk { path, _dir: dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).output();
    }
}

/// Splits a stream into its files, in order.
pub fn parse_stream<R: std::io::Read>(r: R) -> Vec<(String, Vec<u8>)> {
    let mut reader = common::stream::StreamReader::new(r);
    let mut out = Vec::new();
    while let Some(h) = reader.next_header().unwrap() {
        let mut body = Vec::new();
        reader.copy_payload(&h, &mut body).unwrap();
        out.push((h.name, body));
    }
    out
}
