//! `rloader --stream` never trusts a header: unsafe or unknown names, bad
//! sizes and truncated payloads are refused with the header quoted, a
//! non-zero exit, and nothing written outside rloader's own temporary
//! directory.

use std::path::Path;
use std::process::Output;

use integration_tests::*;

const HEADER_FILE: &[u8] = b"# Started dump at: 2026-01-01 00:00:00\n[config]\nquote-character = BACKTICK\n";

fn frame(name: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!("\n-- {name} {}\n", body.len()).into_bytes();
    v.extend_from_slice(body);
    v
}

/// Runs `rloader --stream` on `input` in a scratch working directory with
/// its own TMPDIR; returns the output and the scratch root.
fn stream_into(input: &[u8], args: &[&str]) -> (Output, tempfile::TempDir) {
    let s = server();
    let root = tempdir();
    let work = root.path().join("work");
    let tmp = root.path().join("tmp");
    std::fs::create_dir(&work).unwrap();
    std::fs::create_dir(&tmp).unwrap();
    // rloader may stop reading at the bad header: run_with_input allows that.
    let out = run_with_input(
        rloader().args(s.conn_args()).arg("--stream").args(args).args(["-v", "3"]).current_dir(&work).env("TMPDIR", &tmp),
        input,
    );
    (out, root)
}

/// Every file under `dir`, relative.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out
}

fn assert_refused(out: &Output, root: &Path, quoted: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(quoted), "header {quoted:?} not quoted: {err}");
    assert!(!err.contains("completed"), "{err}");
    assert_eq!(files_under(root), Vec::<String>::new(), "files left behind: {err}");
}

#[test]
fn refuses_each_bad_header() {
    let db = server().unique_db("lst_bad");
    for (header, quoted) in [
        ("\n-- ../escape.sql 3\nabc", "\"-- ../escape.sql 3\""),
        ("\n-- ../../x.txt 3\nabc", "\"-- ../../x.txt 3\""),
        ("\n-- .. 3\nabc", "\"-- .. 3\""),
        ("\n-- /tmp/abs.sql 3\nabc", "\"-- /tmp/abs.sql 3\""),
        ("\n-- db/t.00000.sql 3\nabc", "\"-- db/t.00000.sql 3\""),
        ("\n-- db.t.00000.sql\0 3\nabc", "\"-- db.t.00000.sql\\0 3\""),
        ("\n-- notes.txt 3\nabc", "\"-- notes.txt 3\""),
        ("\n-- db.t.00000.sql 3x\nabc", "\"-- db.t.00000.sql 3x\""),
        ("\n-- db.t.00000.sql -3\nabc", "\"-- db.t.00000.sql -3\""),
    ] {
        let mut input = frame("metadata.header", HEADER_FILE);
        input.extend_from_slice(header.as_bytes());
        let (out, root) = stream_into(&input, &["-B", &db.name]);
        assert_refused(&out, root.path(), quoted);
    }
}

#[test]
fn refuses_truncated_payload() {
    let db = server().unique_db("lst_trunc");
    let mut input = frame("metadata.header", HEADER_FILE);
    input.extend_from_slice(b"\n-- db.t-schema.sql 500\nCREATE TABLE `t` (id int);\n");
    let (out, root) = stream_into(&input, &["-B", &db.name]);
    assert_refused(&out, root.path(), "\"-- db.t-schema.sql 500\"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
}

#[test]
fn refuses_stream_cut_before_final_metadata() {
    let s = server();
    s.fixtures();
    let db = s.unique_db("lst_cut");
    let full = std::fs::read(shared_dir().join("corpus/md-1.0.1/torture.stream")).unwrap();
    // Cut right before the header of the final `metadata` file.
    let at = full.windows(13).rposition(|w| w == b"\n-- metadata ").unwrap();
    let (out, root) = stream_into(&full[..at], &["-s", "torture-2", "-B", &db.name]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("final metadata"), "{err}");
    assert!(!err.contains("completed"), "{err}");
    assert_eq!(files_under(root.path()), Vec::<String>::new());
}

#[test]
fn refuses_stream_not_starting_with_metadata() {
    let db = server().unique_db("lst_first");
    let input = frame("db.t-schema.sql", b"CREATE TABLE `t` (id int);\n");
    let (out, root) = stream_into(&input, &["-B", &db.name]);
    assert_refused(&out, root.path(), "\"-- db.t-schema.sql 27\"");
}

/// Header look-alikes inside a file's bytes are data, and `--no-delete`
/// keeps the received files in `-d`.
#[test]
fn header_lookalikes_in_data_and_no_delete() {
    let s = server();
    let db = s.unique_db("lst_look");
    let mut input = frame("metadata.header", HEADER_FILE);
    input.extend(frame("d.t-schema.sql", b"CREATE TABLE `t` (id int, s text);\n"));
    input.extend(frame("d.t.00000.sql", b"INSERT INTO `t` VALUES(1,\"\n-- metadata 5\n\")\n,(2,\"x\")\n;\n"));
    input.extend(frame("metadata", b"[config]\nmax-statement-size = 10\n# Finished dump at: 2026-01-01 00:00:01\n"));
    let keep = tempdir();
    let dir = keep.path().join("received");
    let (out, _root) = stream_into(&input, &["-B", &db.name, "--no-delete", "-d", &dir.display().to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.contains("restore completed"), "{err}");
    let mut c = s.conn();
    let sums = table_sums(&mut c, &db.name);
    assert_eq!(sums["t"].rows, 2);
    let mut kept = files_under(&dir);
    kept.sort();
    assert_eq!(kept, ["d.t-schema.sql", "d.t.00000.sql", "metadata", "metadata.header"]);
}
