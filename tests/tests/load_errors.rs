//! Damaged input stops rloader with the file named, a non-zero exit and no
//! completion report; lock conflicts are retried; checksums are verified.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use integration_tests::*;
use mysql::prelude::Queryable;

fn corpus(rel: &str) -> PathBuf {
    shared_dir().join("corpus").join(rel)
}

fn load(dir: &Path, args: &[&str]) -> Output {
    let s = server();
    run(rloader().args(s.conn_args()).arg("-d").arg(dir).args(args).args(["-v", "3"]))
}

/// Fails, naming `what`, without claiming a finished restore.
fn assert_refused(out: &Output, what: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "rloader succeeded: {err}");
    assert_eq!(out.status.code(), Some(1), "{err}");
    for w in what {
        assert!(err.contains(w), "message lacks {w:?}: {err}");
    }
    assert!(!err.contains("completed"), "failure reported as complete: {err}");
    let last = err.lines().last().unwrap_or("");
    assert!(last.starts_with("rloader: "), "last line is not the error: {err}");
    err
}

#[test]
fn truncated_gz_names_the_file() {
    let (_t, dir) = copy_corpus_dump("md-1.0.1/torture-gz");
    let f = dir.join("torture.string_pk.00000.sql.gz");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    let db = server().unique_db("le_gz");
    assert_refused(&load(&dir, &["-s", "torture", "-B", &db.name]), &["torture.string_pk.00000.sql.gz"]);
}

#[test]
fn broken_statement_names_file_line_and_server_error() {
    let (_t, dir) = copy_corpus_dump("md-1.0.1/torture-sql");
    let f = dir.join("torture.parent.00000.sql");
    let mut text = std::fs::read(&f).unwrap();
    text.extend_from_slice(b"INSERT INTO `parent` VALUES(1,,2)\n;\n");
    let line = text.iter().filter(|&&b| b == b'\n').count() - 1;
    std::fs::write(&f, text).unwrap();
    let db = server().unique_db("le_stmt");
    let err = assert_refused(
        &load(&dir, &["-s", "torture", "-B", &db.name]),
        &["torture.parent.00000.sql", "ERROR 1064", "syntax"],
    );
    assert!(err.contains(&format!("line {line}:")), "line {line} not named: {err}");
}

#[test]
fn unterminated_statement_is_refused() {
    let (_t, dir) = copy_corpus_dump("md-1.0.1/torture-sql");
    let f = dir.join("torture.no_pk.00000.sql");
    let text = std::fs::read(&f).unwrap();
    std::fs::write(&f, &text[..text.len() - 10]).unwrap();
    let db = server().unique_db("le_cut");
    assert_refused(&load(&dir, &["-s", "torture", "-B", &db.name]), &["torture.no_pk.00000.sql", "ends inside"]);
}

#[test]
fn data_without_its_table_is_refused() {
    let (_t, dir) = copy_corpus_dump("md-1.0.1/torture-sql");
    std::fs::remove_file(dir.join("torture.sparse_ids-schema.sql")).unwrap();
    let db = server().unique_db("le_orphan");
    assert_refused(
        &load(&dir, &["-s", "torture", "-B", &db.name]),
        &["torture.sparse_ids.00000.sql", "no schema file"],
    );
}

#[test]
fn missing_or_incomplete_metadata_is_refused() {
    let (_t, dir) = copy_corpus_dump("md-1.0.1/torture-sql");
    let meta = std::fs::read_to_string(dir.join("metadata")).unwrap();
    std::fs::write(dir.join("metadata"), meta.replace("# Finished dump at", "# Unfinished")).unwrap();
    let db = server().unique_db("le_meta");
    assert_refused(&load(&dir, &["-s", "torture", "-B", &db.name]), &["metadata", "incomplete"]);
    std::fs::remove_file(dir.join("metadata")).unwrap();
    assert_refused(&load(&dir, &["-s", "torture", "-B", &db.name]), &["metadata"]);
}

#[test]
fn existing_tables_fail_unless_overwritten() {
    let dir = corpus("md-1.0.1/torture-sql");
    let db = server().unique_db("le_exists");
    let ok = load(&dir, &["-s", "torture-2", "-B", &db.name]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_refused(&load(&dir, &["-s", "torture-2", "-B", &db.name]), &["torture-2.t-schema.sql", "already exists"]);
    for args in [vec!["-o"], vec!["--drop-table"], vec!["--drop-table=TRUNCATE"], vec!["--drop-table", "DELETE"]] {
        let mut a = vec!["-s", "torture-2", "-B", &db.name];
        a.extend(args.iter().copied());
        let out = load(&dir, &a);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let mut c = server().conn();
        let n: u64 = c.query_first(format!("SELECT COUNT(*) FROM `{}`.`t`", db.name)).unwrap().unwrap();
        assert_eq!(n, 2, "{args:?}");
    }
    // SKIP leaves the existing table and its rows alone.
    server().conn().query_drop(format!("DELETE FROM `{}`.`t` LIMIT 1", db.name)).unwrap();
    let out = load(&dir, &["-s", "torture-2", "-B", &db.name, "--drop-table=SKIP"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let n: u64 = server().conn().query_first(format!("SELECT COUNT(*) FROM `{}`.`t`", db.name)).unwrap().unwrap();
    assert_eq!(n, 1);
}

/// Adds `data_checksum` for `torture`.`parent` to a copy's metadata.
fn with_checksum(dir: &Path, value: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(dir.join("metadata")).unwrap();
    write!(f, "[`torture`.`parent`]\ndata_checksum = {value}\n").unwrap();
}

#[test]
fn checksums_are_verified() {
    let s = server();
    let (_t, dir) = copy_corpus_dump("md-1.0.1/torture-sql");
    with_checksum(&dir, "925597795");
    let db = s.unique_db("le_sum_ok");
    let out = load(&dir, &["-s", "torture", "-B", &db.name]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("checksum of `") && err.contains("`.`parent` verified"), "{err}");

    let (_t2, bad) = copy_corpus_dump("md-1.0.1/torture-sql");
    with_checksum(&bad, "12345");
    let db = s.unique_db("le_sum_fail");
    assert_refused(&load(&bad, &["-s", "torture", "-B", &db.name, "--checksum"]), &["checksum mismatch", "parent", "12345"]);
    let db = s.unique_db("le_sum_warn");
    let out = load(&bad, &["-s", "torture", "-B", &db.name]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.contains("checksum mismatch"), "{err}");
    let db = s.unique_db("le_sum_skip");
    let out = load(&bad, &["-s", "torture", "-B", &db.name, "--checksum=SKIP"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("checksum mismatch"), "{err}");
}

/// A dump of one row into a table whose row another session holds locked:
/// the insert hits the lock wait timeout (1 s from
/// `[myloader_session_variables]`) and is retried until the lock goes.
fn lock_wait_case(retries: &str, hold: Duration) -> (Output, u64) {
    let s = server();
    let db = s.unique_db("le_retry");
    let mut c = s.conn();
    c.query_drop(format!("CREATE DATABASE `{}`", db.name)).unwrap();
    c.query_drop(format!("CREATE TABLE `{}`.`t` (id INT PRIMARY KEY, v INT) ENGINE=InnoDB", db.name)).unwrap();
    c.query_drop(format!("INSERT INTO `{}`.`t` VALUES (1, 0)", db.name)).unwrap();
    let t = tempdir();
    let dir = t.path().join("dump");
    write_dump(&dir, &[("d.t.00000.sql", "INSERT INTO `t` VALUES(1,42)\n;\n")]);
    let cnf = t.path().join("my.cnf");
    std::fs::write(&cnf, "[myloader_session_variables]\ninnodb_lock_wait_timeout = 1\n").unwrap();

    let mut holder = s.conn();
    holder.query_drop("START TRANSACTION").unwrap();
    holder.query_drop(format!("DELETE FROM `{}`.`t` WHERE id = 1", db.name)).unwrap();
    let child = rloader()
        .arg(format!("--defaults-file={}", cnf.display()))
        .args(s.conn_args())
        .arg("-d")
        .arg(&dir)
        .args(["-B", &db.name, "--no-schemas", "--retry-count", retries, "-v", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(hold);
    holder.query_drop("COMMIT").unwrap();
    let out = child.wait_with_output().unwrap();
    let v: Option<u64> = c.query_first(format!("SELECT v FROM `{}`.`t` WHERE id = 1", db.name)).unwrap();
    (out, v.unwrap_or(0))
}

#[test]
fn lock_wait_timeout_is_retried() {
    let (out, v) = lock_wait_case("10", Duration::from_millis(2500));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("ERROR 1205") && err.contains("retrying the transaction"), "{err}");
    assert!(err.contains("restore completed"), "{err}");
    assert_eq!(v, 42);
}

#[test]
fn lock_wait_timeout_without_retries_fails() {
    let (out, _) = lock_wait_case("0", Duration::from_millis(2500));
    assert_refused(&out, &["d.t.00000.sql", "line 1", "ERROR 1205"]);
}
