//! `rloader --mysqldump`: a mariadb-dump stream on stdin loads with
//! parallel workers into the same tables, rows and objects as the `mariadb`
//! client loads from it; a stream without a database needs `-B`, a
//! truncated one or a failing statement fails naming the line, and
//! `--dry-run` reads it without a server.

use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::*;

/// mariadb-dump of `db` with its routines, events and triggers into a file.
fn mariadb_dump(s: &Server, dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = Command::new("mariadb-dump")
        .arg("--no-defaults")
        .arg("-S")
        .arg(&s.socket)
        .arg("-u")
        .arg(&s.user)
        .args(["--routines", "--events", "--triggers", "--single-transaction"])
        .args(args)
        .output()
        .expect("run mariadb-dump");
    assert!(out.status.success(), "mariadb-dump: {}", String::from_utf8_lossy(&out.stderr));
    let path = dir.join(name);
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

fn load(s: &Server, dump: &Path, args: &[&str]) -> std::process::Output {
    run_with_input(rloader().args(s.conn_args()).arg("--mysqldump").args(args), &std::fs::read(dump).unwrap())
}

#[test]
fn mysqldump_stream_loads_as_the_client_loads_it() {
    let s = server();
    s.fixtures();
    let tmp = tempdir();
    let with_db = mariadb_dump(&s, tmp.path(), "with-db.sql", &["--databases", "torture"]);
    let plain = mariadb_dump(&s, tmp.path(), "plain.sql", &["torture"]);

    // The reference: the client's load of the same data.
    let reference = s.unique_db("md_client");
    let mut c = s.conn();
    mysql::prelude::Queryable::query_drop(&mut c, format!("CREATE DATABASE `{}`", reference.name)).unwrap();
    s.run_sql_file(&plain, Some(&reference.name));

    let copy = s.unique_db("md_rloader");
    let out = load(&s, &with_db, &["-B", &copy.name, "-t", "3", "-v", "3"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("mysqldump stream loaded:") && err.contains("of them INSERTs"), "{err}");
    let ours = table_sums(&mut c, &copy.name);
    assert_eq!(ours, table_sums(&mut c, &reference.name), "rloader's load vs the client's");
    // mariadb-dump itself loses some values of all_types (FLOAT digits);
    // every other table equals the source.
    let mut source = table_sums(&mut c, "torture");
    source.remove("all_types");
    let mut ours_but = ours.clone();
    ours_but.remove("all_types");
    assert_eq!(ours_but, source);
    assert_eq!(object_names(&mut c, &copy.name), object_names(&mut c, "torture"));

    // Into the database the stream names, without -B: the plain dump has
    // none, and says so.
    let out = load(&s, &plain, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("give -B"), "{err}");
}

#[test]
fn broken_streams_fail_and_dry_runs_need_no_server() {
    let s = server();
    s.fixtures();
    let tmp = tempdir();
    let dump = mariadb_dump(&s, tmp.path(), "sakila.sql", &["sakila"]);
    let bytes = std::fs::read(&dump).unwrap();

    let out = run_with_input(
        rloader().args(["-h", "127.0.0.1", "-P", "9", "--mysqldump", "--dry-run"]),
        &bytes,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("mysqldump stream read (dry run, nothing was executed):"), "{text}");

    // Cut inside a statement, and cut between two.
    let target = s.unique_db("md_cut");
    let inside = &bytes[..bytes.len() / 2];
    let out = run_with_input(rloader().args(s.conn_args()).args(["--mysqldump", "-B", &target.name]), inside);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("truncated"), "{err}");
    let text = String::from_utf8_lossy(&bytes);
    let between = &text[..text.find("-- Dump completed").unwrap()];
    let out = run_with_input(rloader().args(s.conn_args()).args(["--mysqldump", "-B", &target.name]), between.as_bytes());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no '-- Dump completed' line"), "{err}");

    // A statement the server refuses names its line.
    let mut bad = text.replacen("INSERT INTO `actor` VALUES", "INSERT INTO `no_such_table` VALUES", 1);
    let line = bad[..bad.find("`no_such_table`").unwrap()].matches('\n').count() + 1;
    bad.push('\n');
    let failed = s.unique_db("md_bad");
    let out = run_with_input(rloader().args(s.conn_args()).args(["--mysqldump", "-B", &failed.name]), bad.as_bytes());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("line {line}:")) && err.contains("no_such_table"), "{err}");

    let out = run_with_input(rloader().args(s.conn_args()).args(["--mysqldump", "-d", "/tmp"]), &bytes);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("-d does not apply"));
}

/// Statements in the binary log since `from` (file, position) that name
/// `db`.
fn binlogged(s: &Server, from: &(String, u64), db: &str) -> usize {
    let mut c = s.conn();
    let events: Vec<mysql::Row> =
        mysql::prelude::Queryable::query(&mut c, format!("SHOW BINLOG EVENTS IN '{}' FROM {}", from.0, from.1)).unwrap();
    events.iter().filter(|r| r.get::<String, _>(5).unwrap_or_default().contains(db)).count()
}

fn binlog_position(s: &Server) -> (String, u64) {
    let row: mysql::Row = mysql::prelude::Queryable::query_first(&mut s.conn(), "SHOW MASTER STATUS").unwrap().unwrap();
    (row.get(0).unwrap(), row.get(1).unwrap())
}

/// `--no-data` creates the tables and loads no row; the load is not in the
/// binary log unless `-e`.
#[test]
fn no_data_and_the_binary_log() {
    let s = server();
    s.fixtures();
    let tmp = tempdir();
    let dump = mariadb_dump(&s, tmp.path(), "t2.sql", &["torture-2"]);
    let empty = s.unique_db("md_nodata");
    let from = binlog_position(&s);
    let out = load(&s, &dump, &["-B", &empty.name, "--no-data"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut c = s.conn();
    let sums = table_sums(&mut c, &empty.name);
    assert_eq!(sums.keys().collect::<Vec<_>>(), table_sums(&mut c, "torture-2").keys().collect::<Vec<_>>());
    assert!(sums.values().all(|t| t.rows == 0), "{sums:?}");
    assert_eq!(binlogged(&s, &from, &empty.name), 0, "a load without -e reached the binary log");

    let logged = s.unique_db("md_binlog");
    let from = binlog_position(&s);
    let out = load(&s, &dump, &["-B", &logged.name, "-e"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_same_data(&s, "torture-2", &logged.name);
    assert!(binlogged(&s, &from, &logged.name) > 0, "-e: the load is not in the binary log");
}
