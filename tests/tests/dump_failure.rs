//! Failures end the dump with a non-zero exit, a message naming what
//! failed, and no `metadata` that claims the dump finished.

mod dump_support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use dump_support::*;
use integration_tests::*;
use mysql::prelude::Queryable;

#[test]
fn unwritable_output_directory_is_named() {
    let s = server();
    let tmp = tempdir();
    let file = tmp.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let dir = file.join("dump");
    let out = run(rdumper_for(&s).args(["-B", "torture-2"]).arg("-o").arg(&dir));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&dir.display().to_string()), "{err}");
    assert!(!dir.exists());
}

#[test]
fn non_empty_output_directory_needs_clear_or_dirty() {
    let s = server();
    s.fixtures();
    let tmp = tempdir();
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("stale.sql"), b"x").unwrap();
    let out = run(rdumper_for(&s).args(["-B", "torture-2"]).arg("-o").arg(&dir));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not empty") && err.contains(&dir.display().to_string()), "{err}");
    assert_eq!(std::fs::read(dir.join("stale.sql")).unwrap(), b"x");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "nothing may be written into a refused directory");
    run_ok(rdumper_for(&s).args(["-B", "torture-2", "--clear"]).arg("-o").arg(&dir));
    assert!(!dir.join("stale.sql").exists());
    assert!(dir.join("metadata").exists());
    // --dirty writes over an earlier dump, file by file.
    std::fs::write(dir.join("stale.sql"), b"x").unwrap();
    run_ok(rdumper_for(&s).args(["-B", "torture-2", "--dirty"]).arg("-o").arg(&dir));
    assert!(dir.join("stale.sql").exists() && dir.join("metadata").exists());
    assert!(dir.join("torture-2.t.00000.sql").exists());
}

/// The process list condition for a data query on `torture.big` that
/// contains `marker`.
fn big_query_with(marker: &str) -> String {
    format!("INFO LIKE '%{marker}%' AND INFO LIKE 'SELECT%FROM `torture`.`big`%'")
}

/// Kills the server connection running a query that contains `marker`.
fn kill_query_with(s: &Server, marker: &str) {
    let mut c = s.conn();
    let mut victim = None;
    wait_until(Duration::from_secs(30), &format!("query {marker} never showed up"), || {
        victim = process_ids(&mut c, &big_query_with(marker)).first().copied();
        victim.is_some()
    });
    c.query_drop(format!("KILL CONNECTION {}", victim.unwrap())).unwrap();
}

#[test]
fn lost_connection_names_table_and_chunk_and_leaves_no_metadata() {
    let s = server();
    s.fixtures();
    lost_connection_case(&s, s.conn_args(), "rdumper-kill-me");
    // Over TLS, where the client library reads the rows.
    let mut tls = s.tcp_args_as("rdump_tls");
    tls.push("--ssl".into());
    lost_connection_case(&s, tls, "rdumper-kill-tls");
}

fn lost_connection_case(s: &Server, conn_args: Vec<String>, marker: &str) {
    let tmp = tempdir();
    let dir = tmp.path().join("d");
    // Every row of torture.big sleeps a little: the query runs long enough
    // to be killed.
    let child = rdumper()
        .args(conn_args)
        .args(["-B", "torture", "-T", "torture.big", "-t", "2", "--where"])
        .arg(format!("SLEEP(0.0002) = 0 /* {marker} */"))
        .arg("-o")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    kill_query_with(s, marker);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let line = err.lines().find(|l| l.starts_with("rdumper: ")).unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("`torture`.`big`") && line.contains("chunk 0000"), "{line}");
    assert!(!dir.join("metadata").exists(), "a failed dump must not leave a finished metadata");
    let partial = std::fs::read_to_string(dir.join("metadata.partial")).unwrap();
    assert!(!partial.contains("Finished dump"), "{partial}");
}

#[test]
fn failed_stream_ends_without_final_metadata() {
    let s = server();
    s.fixtures();
    let mut child = rdumper_for(&s)
        .args(["-B", "torture", "-T", "torture.big", "-t", "1", "--stream", "--where", "SLEEP(0.0002) = 0 /* rdumper-kill-stream */"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut r = common::stream::StreamReader::new(stdout);
        let mut names = Vec::new();
        while let Ok(Some(h)) = r.next_header() {
            let _ = r.copy_payload(&h, &mut std::io::sink());
            names.push(h.name);
        }
        names
    });
    kill_query_with(&s, "rdumper-kill-stream */");
    let out = child.wait_with_output().unwrap();
    let names = reader.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(names.contains(&"metadata.header".to_string()), "{names:?}");
    assert!(!names.contains(&"metadata".to_string()), "{names:?}");
}

#[test]
fn interrupt_stops_the_dump_without_metadata() {
    let s = server();
    s.fixtures();
    let tmp = tempdir();
    let dir = tmp.path().join("d");
    let child = rdumper_for(&s)
        .args(["-B", "torture", "-T", "torture.big", "-t", "2", "--where", "SLEEP(0.0002) = 0 /* rdumper-interrupt-me */"])
        .arg("-o")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the data queries run, then send SIGINT.
    let mut c = s.conn();
    wait_until(Duration::from_secs(30), "the data query never showed up", || {
        !process_ids(&mut c, &big_query_with("rdumper-interrupt-me")).is_empty()
    });
    run_ok(std::process::Command::new("kill").args(["-INT", &child.id().to_string()]));
    let start = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?} to stop", start.elapsed());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(!dir.join("metadata").exists());
}
