//! Faults and bad input: each ends in a clear message and a non-zero exit,
//! and leaves nothing that claims success (no finished `metadata`, no
//! "completed" load).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::*;
use mysql::prelude::Queryable;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A dump directory holds no `metadata` that says the dump finished.
fn assert_no_finished_metadata(dir: &Path) {
    let m = dir.join("metadata");
    if m.exists() {
        let text = std::fs::read_to_string(&m).unwrap();
        assert!(!text.contains("Finished dump at"), "failed dump left a finished metadata: {text}");
    }
}

/// Creates `db.big` with `rows` rows of ~200 bytes.
fn make_big(c: &mut mysql::Conn, db: &str, rows: u64) {
    c.query_drop(format!("CREATE DATABASE IF NOT EXISTS `{db}`")).unwrap();
    c.query_drop(format!("CREATE TABLE `{db}`.big (id INT PRIMARY KEY, k INT, c CHAR(120), pad CHAR(60)) ENGINE=InnoDB")).unwrap();
    c.query_drop(format!(
        "INSERT INTO `{db}`.big SELECT seq, seq % 1000, SHA2(seq, 256), MD5(seq) FROM `{db}`.seq_1_to_{rows}"
    ))
    .unwrap();
    let n: Option<u64> = c.query_first(format!("SELECT COUNT(*) FROM `{db}`.big")).unwrap();
    assert_eq!(n, Some(rows));
}

#[test]
fn full_disk_fails_the_dump_naming_the_table() {
    let s = server();
    let disk = match SmallDisk::mount("2m") {
        Ok(d) => d,
        Err(reason) => {
            eprintln!("SKIPPED full_disk_fails_the_dump_naming_the_table: {reason} (needs root)");
            return;
        }
    };
    let mnt = &disk.path;
    let db = s.unique_db("fault_disk");
    make_big(&mut s.conn(), &db.name, 60000);
    let out_dir = mnt.join("dump");
    let out = run(rdumper().args(s.conn_args()).args(["-B", &db.name, "-o"]).arg(&out_dir));
    let err = stderr_of(&out);
    assert!(!out.status.success(), "a full disk must fail the dump");
    assert!(err.contains("big"), "message must name the table: {err}");
    assert!(err.to_lowercase().contains("space"), "message must say the disk is full: {err}");
    assert_no_finished_metadata(&out_dir);
}

#[test]
fn server_stopped_mid_dump_and_mid_load_fails() {
    let p = PrivateServer::start();
    let s = &p.server;
    let mut c = s.conn();
    make_big(&mut c, "victim", 300000);
    // A dump that completes, for the load half.
    let dir = tempdir();
    let good = dir.path().join("good");
    run_ok(rdumper().args(s.conn_args()).args(["-B", "victim", "-o"]).arg(&good));
    // The load must still be inserting when the server stops, however fast
    // the rest of it goes: one data file ends with an INSERT that takes a
    // minute.
    let first_data = std::fs::read_dir(&good)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("victim.big.0"))
        .min()
        .expect("a data file");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&first_data)
        .unwrap()
        .write_all(b"INSERT INTO `big` SELECT 0, SLEEP(60), '', '';\n")
        .unwrap();

    let out_dir = dir.path().join("dump");
    // Each row of the dump costs the server a millisecond, so the dump is
    // still reading when the server goes away.
    let mut dumper = rdumper()
        .args(s.conn_args())
        .args(["-B", "victim", "-t", "2", "-r", "20000", "--where", "SLEEP(0.001) = 0", "-o"])
        .arg(&out_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut loader = rloader()
        .args(s.conn_args())
        .args(["-d"])
        .arg(&good)
        .args(["-B", "victim_copy", "-t", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stop the server once both are at work: the dump's SELECT and the
    // load's INSERT are in the process list.
    wait_until(Duration::from_secs(60), "the dump and the load never ran at the same time", || {
        assert!(dumper.try_wait().unwrap().is_none(), "the dump ended before the server was stopped");
        assert!(loader.try_wait().unwrap().is_none(), "the load ended before the server was stopped");
        !process_ids(&mut c, "INFO LIKE 'SELECT%SLEEP(0.001)%'").is_empty()
            && !process_ids(&mut c, "DB = 'victim_copy' AND INFO LIKE 'INSERT%'").is_empty()
    });
    p.stop();
    let ds = wait_exit(&mut dumper, Duration::from_secs(120), "the dump did not exit after the server stopped");
    let derr = read_stderr(&mut dumper);
    let ls = wait_exit(&mut loader, Duration::from_secs(120), "the load did not exit after the server stopped");
    let lerr = read_stderr(&mut loader);
    assert!(!ds.success(), "dump must fail when the server goes away: {derr}");
    assert_no_finished_metadata(&out_dir);
    assert!(!ls.success(), "load must fail when the server goes away: {lerr}");
    assert!(!lerr.to_lowercase().contains("completed"), "a failed load must not report completion: {lerr}");
}

#[test]
fn sigint_stops_the_dump_and_cleans_up() {
    let s = server();
    let db = s.unique_db("fault_sigint");
    make_big(&mut s.conn(), &db.name, 200000);
    let cwd = tempdir();
    let tmp = tempdir();
    let mut child = rdumper()
        .args(s.conn_args())
        // A slow read (each row costs the server 0.2 ms) keeps the dump
        // running until the signal comes, however fast the machine.
        .args(["-B", &db.name, "-t", "2", "-r", "5000", "--where", "SLEEP(0.0002) = 0", "--stream"])
        .current_dir(cwd.path())
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read a little so the dump is under way, keep reading in the background.
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 4096];
    out.read_exact(&mut buf).unwrap();
    let drain = std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = out.read_to_end(&mut sink);
    });
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_exit(&mut child, Duration::from_secs(60), "the interrupted dump did not exit");
    let err = read_stderr(&mut child);
    drain.join().unwrap();
    assert!(!status.success(), "an interrupted dump must exit non-zero: {err}");
    assert!(err.to_lowercase().contains("interrupt") || err.to_lowercase().contains("signal"), "{err}");
    let left: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().chain(std::fs::read_dir(tmp.path()).unwrap()).collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
    // The server holds no lock of ours.
    let mut c = s.conn();
    let r: Vec<String> = c.query("SELECT STATE FROM information_schema.PROCESSLIST WHERE STATE LIKE '%global read lock%'").unwrap();
    assert!(r.is_empty(), "a global read lock is still held or waited for: {r:?}");
}


#[test]
fn soak_pipe_with_random_table_selections() {
    let s = server();
    s.fixtures();
    let tables = ["actor", "address", "category", "city", "country", "customer", "film", "film_actor", "film_category",
        "inventory", "language", "payment", "rental", "staff", "store"];
    let deadline = Instant::now() + Duration::from_secs(std::env::var("RDUMP_SOAK_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(45));
    let mut seed: u64 = 0x9E3779B97F4A7C15 ^ std::process::id() as u64;
    let mut rounds = 0;
    while Instant::now() < deadline && rounds < 30 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let picked: Vec<&str> = tables.iter().enumerate().filter(|(i, _)| seed >> i & 1 == 1).map(|(_, t)| *t).collect();
        if picked.is_empty() {
            continue;
        }
        let list = picked.iter().map(|t| format!("sakila.{t}")).collect::<Vec<_>>().join(",");
        let copy = s.unique_db("soak");
        let threads = 1 + (seed % 4) as usize;
        let cmd = format!(
            "{} {} -T {list} -t {threads} --stream | {} {} --stream -B {} -t {threads}",
            rdumper().get_program().to_string_lossy(),
            s.conn_args().join(" "),
            rloader().get_program().to_string_lossy(),
            s.conn_args().join(" "),
            copy.name
        );
        let out = run(Command::new("bash").args(["-o", "pipefail", "-c", &cmd]));
        assert!(out.status.success(), "round {rounds} ({list}): {}", stderr_of(&out));
        let mut c = s.conn();
        let src = table_sums(&mut c, "sakila");
        let dst = table_sums(&mut c, &copy.name);
        assert_eq!(dst.len(), picked.len(), "round {rounds}: tables copied {:?} vs picked {picked:?}", dst.keys());
        for t in &picked {
            assert_eq!(src.get(*t), dst.get(*t), "round {rounds}: table {t}");
        }
        rounds += 1;
    }
    assert!(rounds >= 3, "soak ran only {rounds} rounds");
}

#[test]
fn sigint_stops_a_stream_load_waiting_for_input_and_cleans_up() {
    let s = server();
    s.fixtures();
    let copy = s.unique_db("fault_sigint_load");
    let cwd = tempdir();
    let tmp = tempdir();
    let mut child = rloader()
        .args(s.conn_args())
        .args(["--stream", "-B", &copy.name])
        .current_dir(cwd.path())
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first part of a real stream, then nothing more: the loader waits.
    let stream = std::fs::read(shared_dir().join("corpus/md-1.0.1/torture.stream")).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    use std::io::Write;
    stdin.write_all(&stream[..stream.len() / 3]).unwrap();
    stdin.flush().unwrap();
    // Interrupt once the loader is at work on what it got: a table exists.
    let mut c = s.conn();
    wait_until(Duration::from_secs(60), "the loader created no table from the first part of the stream", || {
        assert!(child.try_wait().unwrap().is_none(), "the loader ended before it was interrupted");
        let n: Option<u64> = c
            .query_first(format!("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}'", copy.name))
            .unwrap();
        n.unwrap_or(0) > 0
    });
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_exit(&mut child, Duration::from_secs(30), "the interrupted load did not exit");
    drop(stdin);
    let err = read_stderr(&mut child);
    assert_eq!(status.code(), Some(1), "an interrupted load exits 1: {err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(!err.to_lowercase().contains("completed"), "{err}");
    let left: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().chain(std::fs::read_dir(tmp.path()).unwrap()).collect();
    assert!(left.is_empty(), "received files left behind: {left:?}");
}

#[test]
fn a_second_signal_exits_at_once() {
    let s = server();
    let db = s.unique_db("fault_sig2");
    let mut c = s.conn();
    c.query_drop(format!("CREATE DATABASE `{0}`; CREATE TABLE `{0}`.t (id INT PRIMARY KEY)", db.name)).unwrap();
    let t = tempdir();
    let dir = t.path().join("dump");
    // A statement the server takes 30 s over: after the first signal the
    // loader waits for it before it stops; a second signal must not wait.
    write_dump(&dir, &[("d.t.00000.sql", "INSERT INTO `t` VALUES(1 + SLEEP(30))\n;\n")]);
    let mut child = rloader()
        .args(s.conn_args())
        .arg("-d")
        .arg(&dir)
        .args(["-B", &db.name, "--no-schemas", "-t", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cond = format!("DB = '{}' AND INFO LIKE 'INSERT%SLEEP(30)%'", db.name);
    wait_until(Duration::from_secs(60), "the load's statement never showed in the process list", || {
        assert!(child.try_wait().unwrap().is_none(), "the load ended before it was interrupted");
        !process_ids(&mut c, &cond).is_empty()
    });
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "after one signal the loader waits for its statement");
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_exit(&mut child, Duration::from_secs(15), "the loader did not exit on the second signal");
    let err = read_stderr(&mut child);
    assert_eq!(status.code(), Some(130), "a second signal exits with 130 at once: {err}");
    assert!(!err.contains("completed"), "{err}");
}

/// Runs `SELECT SLEEP(secs)` on its own connection in the background, and
/// waits until the server shows it running.
fn long_query(s: &Server, secs: u32) -> (std::thread::JoinHandle<()>, u64) {
    let mut c = s.conn();
    let id: u64 = c.query_first("SELECT CONNECTION_ID()").unwrap().unwrap();
    let h = std::thread::spawn(move || {
        let _ = c.query_drop(format!("SELECT SLEEP({secs}) /* rdump long query */"));
    });
    let mut watch = s.conn();
    let cond = format!("ID = {id} AND INFO LIKE 'SELECT SLEEP%' AND TIME >= 2");
    wait_until(Duration::from_secs(10), "the long query did not start", || !process_ids(&mut watch, &cond).is_empty());
    (h, id)
}

#[test]
fn long_query_guard_aborts_or_kills() {
    // A private server: -K kills any long query, other tests' included.
    let p = PrivateServer::start();
    let s = p.server.clone();
    s.conn().query_drop("CREATE DATABASE small; CREATE TABLE small.t (id INT PRIMARY KEY); INSERT INTO small.t VALUES (1)").unwrap();
    let dir = tempdir();
    let (h, id) = long_query(&s, 30);
    let out = run(rdumper().args(s.conn_args()).args(["-B", "small", "-l", "1", "-o"]).arg(dir.path().join("a")));
    let err = stderr_of(&out);
    assert!(!out.status.success(), "a query older than -l must abort the dump: {err}");
    assert!(err.contains("long") || err.contains(&id.to_string()), "{err}");
    assert_no_finished_metadata(&dir.path().join("a"));
    // -K kills it and the dump goes on.
    let out = run(rdumper().args(s.conn_args()).args(["-B", "small", "-l", "1", "-K", "-o"]).arg(dir.path().join("b")));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(dir.path().join("b/metadata").exists());
    let still: Option<u64> = s.conn().query_first(format!("SELECT ID FROM information_schema.PROCESSLIST WHERE ID = {id} AND INFO LIKE 'SELECT SLEEP%'")).unwrap();
    assert_eq!(still, None, "-K must kill the long query");
    h.join().unwrap();
}

#[test]
fn global_lock_wait_times_out() {
    // A private server: a pending global read lock stalls every writer.
    let p = PrivateServer::start();
    let s = p.server.clone();
    let db = s.unique_db("fault_lockwait");
    let mut holder = s.conn();
    holder.query_drop(format!("CREATE DATABASE `{}`", db.name)).unwrap();
    holder.query_drop(format!("CREATE TABLE `{}`.t (id INT PRIMARY KEY) ENGINE=InnoDB", db.name)).unwrap();
    holder.query_drop(format!("LOCK TABLES `{}`.t WRITE", db.name)).unwrap();
    let dir = tempdir();
    let started = Instant::now();
    let out = run(rdumper().args(s.conn_args()).args(["-B", &db.name, "--lock-wait-timeout", "2", "-o"]).arg(dir.path().join("d")));
    let err = stderr_of(&out);
    holder.query_drop("UNLOCK TABLES").unwrap();
    assert!(!out.status.success(), "the dump must give up waiting for the global lock: {err}");
    assert!(started.elapsed() < Duration::from_secs(30), "it waited {:?}", started.elapsed());
    assert!(err.contains("1205") || err.to_lowercase().contains("lock wait"), "{err}");
    assert_no_finished_metadata(&dir.path().join("d"));
}

#[test]
fn truncated_and_corrupt_zstd_files_are_refused() {
    let s = server();
    s.fixtures();
    let name = "torture.string_pk.00000.sql.zst";
    for damage in ["truncated", "corrupt"] {
        let (_t, dir) = copy_corpus_dump("md-1.0.1/torture-zstd");
        let f = dir.join(name);
        let mut bytes = std::fs::read(&f).unwrap();
        if damage == "truncated" {
            bytes.truncate(bytes.len() / 2);
        } else {
            let mid = bytes.len() / 2;
            for b in &mut bytes[mid..mid + 64] {
                *b ^= 0x5A;
            }
        }
        std::fs::write(&f, &bytes).unwrap();
        let db = s.unique_db("fault_zst");
        let out = run(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-s", "torture", "-B", &db.name]));
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{damage} .zst: {err}");
        assert!(err.contains(name), "{damage} .zst: the file must be named: {err}");
        assert!(!err.contains("completed"), "{err}");
    }
}

#[test]
fn full_disk_fails_a_stream_load() {
    let s = server();
    s.fixtures();
    let disk = match SmallDisk::mount("1m") {
        Ok(d) => d,
        Err(reason) => {
            eprintln!("SKIPPED full_disk_fails_a_stream_load: {reason} (needs root)");
            return;
        }
    };
    let db = s.unique_db("fault_disk_load");
    let stream = std::fs::File::open(shared_dir().join("corpus/md-1.0.1/torture.stream")).unwrap();
    let out = rloader()
        .args(s.conn_args())
        .args(["--stream", "-s", "torture", "-B", &db.name])
        .env("TMPDIR", &disk.path)
        .stdin(stream)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.to_lowercase().contains("space"), "the message must say the disk is full: {err}");
    assert!(!err.contains("completed"), "{err}");
}

#[test]
fn deadlock_during_load_is_retried() {
    // A server of its own: a dump's FLUSH TABLES WITH READ LOCK from a test
    // running beside this one would queue behind the loader's insert and hold
    // up the other transaction, a wait the server cannot see as a deadlock.
    let p = PrivateServer::start();
    let s = &p.server;
    let db = s.unique_db("fault_deadlock");
    let mut c = s.conn();
    c.query_drop(format!("CREATE DATABASE `{}`", db.name)).unwrap();
    c.query_drop(format!("CREATE TABLE `{}`.t (id INT PRIMARY KEY) ENGINE=InnoDB", db.name)).unwrap();
    c.query_drop(format!("CREATE TABLE `{}`.weight (id INT PRIMARY KEY) ENGINE=InnoDB", db.name)).unwrap();
    let t = tempdir();
    let dir = t.path().join("dump");
    write_dump(&dir, &[("d.t.00000.sql", "INSERT INTO `t` VALUES(1)\n,(2)\n;\n")]);

    // The other transaction is the heavier one, so the server picks the
    // loader as the deadlock victim. It holds row 2 first.
    let mut other = s.conn();
    other.query_drop("START TRANSACTION").unwrap();
    other.query_drop(format!("INSERT INTO `{0}`.weight SELECT seq FROM `{0}`.seq_1_to_5000", db.name)).unwrap();
    other.query_drop(format!("INSERT INTO `{}`.t VALUES (2)", db.name)).unwrap();
    let mut child = rloader()
        .args(s.conn_args())
        .arg("-d")
        .arg(&dir)
        .args(["-B", &db.name, "--no-schemas", "-t", "1", "-v", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the loader holds row 1 and waits for row 2.
    let cond = format!("DB = '{}' AND INFO LIKE 'INSERT INTO `t`%' AND TIME >= 1", db.name);
    wait_until(Duration::from_secs(30), "the loader never waited for the lock", || {
        assert!(child.try_wait().unwrap().is_none(), "the loader ended before the deadlock");
        !process_ids(&mut c, &cond).is_empty()
    });
    // Now take row 1: a deadlock, which the server resolves by rolling the
    // loader back; this insert then goes through.
    other.query_drop(format!("INSERT INTO `{}`.t VALUES (1)", db.name)).expect("the loader must be the deadlock victim");
    other.query_drop("ROLLBACK").unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(60), "the loader did not exit after the deadlock");
    let err = read_stderr(&mut child);
    assert!(status.success(), "a deadlock must be retried: {err}");
    assert!(err.contains("1213") && err.contains("retrying"), "the retry must be logged: {err}");
    let ids: Vec<u32> = c.query(format!("SELECT id FROM `{}`.t ORDER BY id", db.name)).unwrap();
    assert_eq!(ids, vec![1, 2], "the retried transaction loaded both rows once");
    let w: Option<u64> = c.query_first(format!("SELECT COUNT(*) FROM `{}`.weight", db.name)).unwrap();
    assert_eq!(w, Some(0));
}

/// `--long-query-retries`/`--long-query-retry-interval` wait a long query
/// out instead of aborting at once; `--ftwrl-max-wait-time` gives up a
/// wait for the global read lock and tries again, `--ftwrl-timeout-retries`
/// times (0: until it is taken). A private server: the pending lock stalls
/// every writer.
#[test]
fn long_queries_and_the_global_lock_are_waited_for_in_rounds() {
    let p = PrivateServer::start();
    let s = p.server.clone();
    s.conn().query_drop("CREATE DATABASE small; CREATE TABLE small.t (id INT PRIMARY KEY); INSERT INTO small.t VALUES (1)").unwrap();
    let dir = tempdir();
    let dump = |name: &str, args: &[&str]| run(rdumper().args(s.conn_args()).args(["-B", "small"]).args(args).arg("-o").arg(dir.path().join(name)));

    // A query of 5 s against -l 1: one more check a second later is not
    // enough, ten are.
    let (h, _) = long_query(&s, 5);
    let out = dump("few", &["-l", "1", "--long-query-retries", "1", "--long-query-retry-interval", "1"]);
    let err = stderr_of(&out);
    assert!(!out.status.success() && err.contains("checking again in 1 s (1/1)"), "{err}");
    let out = dump("enough", &["-l", "1", "--long-query-retries", "10", "--long-query-retry-interval", "1"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(dir.path().join("enough/metadata").exists());
    h.join().unwrap();

    // A table locked for writing holds up the global read lock.
    let mut holder = s.conn();
    holder.query_drop("LOCK TABLES small.t WRITE").unwrap();
    let started = Instant::now();
    let out = dump("gave_up", &["--ftwrl-max-wait-time", "1", "--ftwrl-timeout-retries", "2"]);
    let err = stderr_of(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("trying again (2/2)") && err.contains("3 tries of 1 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert_no_finished_metadata(&dir.path().join("gave_up"));
    // Released after about 2.5 s: tries without end take the lock then.
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(2500));
        holder.query_drop("UNLOCK TABLES").unwrap();
    });
    let out = dump("waited", &["--ftwrl-max-wait-time", "1"]);
    release.join().unwrap();
    let err = stderr_of(&out);
    assert!(out.status.success() && err.contains("trying again (1)"), "{err}");
    assert!(dir.path().join("waited/metadata").exists());
}

/// `--disk-limits PAUSE:RESUME`: with less than PAUSE MB free the workers
/// wait (the log says so) and the dump finishes once RESUME MB are free.
#[test]
fn disk_limits_pause_the_dump_until_space_returns() {
    let s = server();
    s.fixtures();
    let disk = match SmallDisk::mount("64m") {
        Ok(d) => d,
        Err(reason) => {
            eprintln!("SKIPPED disk_limits_pause_the_dump_until_space_returns: {reason} (needs root)");
            return;
        }
    };
    // Leave about 10 MB free: below PAUSE (20), and 40 MB free once the
    // filler goes is above RESUME (30).
    let filler = disk.path.join("filler");
    std::fs::write(&filler, vec![7u8; 54 << 20]).unwrap();
    let dir = disk.path.join("dump");
    let mut child = rdumper()
        .args(s.conn_args())
        .args(["-B", "torture", "-T", "torture.parent,torture.child", "--disk-limits", "20:30", "-o"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let (log, mut err) = (log.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut err, &mut buf) {
                if n == 0 {
                    break;
                }
                log.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    wait_until(Duration::from_secs(30), "the dump never paused", || log.lock().unwrap().contains("pausing until 30 MB"));
    std::thread::sleep(Duration::from_secs(1));
    assert!(child.try_wait().unwrap().is_none(), "the dump went on: {}", log.lock().unwrap());
    assert!(!dir.join("metadata").exists());
    std::fs::remove_file(&filler).unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(60), "rdumper");
    reader.join().unwrap();
    let log = log.lock().unwrap().clone();
    assert!(status.success() && log.contains("resuming"), "{log}");
    assert!(dir.join("metadata").exists() && dir.join("torture.child.00000.sql").exists());
}

/// `--throttle VAR=N`: while the server runs more than N queries (four
/// sleeping ones here), rdumper's and rloader's workers wait before their
/// next job, and go on once they end. A private server: only its own
/// queries count.
#[test]
fn throttle_waits_while_the_server_is_busy() {
    let p = PrivateServer::start();
    let s = p.server.clone();
    s.conn().query_drop("CREATE DATABASE small; CREATE TABLE small.t (id INT PRIMARY KEY); INSERT INTO small.t VALUES (1), (2)").unwrap();
    let busy = |secs: u32| -> Vec<std::thread::JoinHandle<()>> {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let mut c = s.conn();
                std::thread::spawn(move || c.query_drop(format!("SELECT SLEEP({secs})")).unwrap())
            })
            .collect();
        let mut watch = s.conn();
        wait_until(Duration::from_secs(10), "the sleepers did not start", || {
            process_ids(&mut watch, "INFO LIKE 'SELECT SLEEP%'").len() == 4
        });
        handles
    };
    let dir = tempdir();
    let sleepers = busy(3);
    let started = Instant::now();
    let out = run(rdumper().args(s.conn_args()).args(["-B", "small", "-t", "1", "--throttle", "50000:Threads_running=3", "-o"]).arg(dir.path().join("d")));
    let err = stderr_of(&out);
    assert!(out.status.success() && err.contains("throttling: Threads_running ="), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(1500), "{:?}", started.elapsed());
    sleepers.into_iter().for_each(|h| h.join().unwrap());

    let sleepers = busy(3);
    let started = Instant::now();
    let out = run(rloader().args(s.conn_args()).args(["-d"]).arg(dir.path().join("d")).args(["-B", "copy", "-s", "small", "--throttle", "Threads_running=3"]));
    let err = stderr_of(&out);
    assert!(out.status.success() && err.contains("throttling"), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(1500), "{:?}", started.elapsed());
    sleepers.into_iter().for_each(|h| h.join().unwrap());
    let rows: u64 = s.conn().query_first("SELECT COUNT(*) FROM copy.t").unwrap().unwrap();
    assert_eq!(rows, 2);

    let out = run(rdumper().args(s.conn_args()).args(["-B", "small", "--throttle", "No_such_status=1", "-o"]).arg(dir.path().join("e")));
    let err = stderr_of(&out);
    assert!(!out.status.success() && err.contains("No_such_status"), "{err}");
}
