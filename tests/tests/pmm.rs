//! `--pmm-path`: while a dump or a load runs, a Prometheus textfile of its
//! progress is in the directory, and it is gone at the end.

mod dump_support;

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use dump_support::*;
use integration_tests::*;

/// Waits for `file` to hold a line starting with `metric`; returns the file.
fn wait_for_metric(file: &Path, metric: &str) -> String {
    let mut text = String::new();
    wait_until(Duration::from_secs(30), &format!("{metric} in {}", file.display()), || {
        text = std::fs::read_to_string(file).unwrap_or_default();
        text.lines().any(|l| l.starts_with(metric))
    });
    text
}

#[test]
fn a_stream_dump_publishes_its_progress() {
    let s = server();
    s.fixtures();
    let tmp = tempdir();
    // The stream is not read until the metrics are: the dump waits, with
    // its buffer full, and its file stays.
    let mut child = rdumper_for(&s)
        .args(["-B", "sakila", "--stream", "--stream-buffer", "1M", "-t", "2", "--pmm-path"])
        .arg(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let file = tmp.path().join("mydumper.prom");
    let text = wait_for_metric(&file, "mydumper_rows{name=\"dumped\"}");
    assert!(text.contains("mydumper_object{name=\"all_tables\"} 23\n"), "{text}");
    assert!(text.lines().all(|l| l.starts_with("mydumper_") && l.split(' ').nth(1).is_some_and(|v| v.parse::<u64>().is_ok())), "{text}");
    let mut stream = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut stream).unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(60), "rdumper");
    assert!(status.success(), "{}", read_stderr(&mut child));
    assert!(!file.exists(), "the metrics file outlived the dump");
    let copy = s.unique_db("pmm_copy");
    let out = run_with_input(rloader().args(s.conn_args()).args(["--stream", "-B", &copy.name]), &stream);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(assert_same_data(&s, "sakila", &copy.name), 16);
}

#[test]
fn a_load_publishes_its_progress_and_bad_options_are_refused() {
    let s = server();
    let src = s.db_with(
        "pmm_src",
        &[
            "CREATE TABLE {db}.t (id INT PRIMARY KEY, c CHAR(50))",
            "INSERT INTO {db}.t SELECT seq, REPEAT('x', 50) FROM {db}.seq_1_to_20000",
        ],
    );
    let (_tmp, dir, script) = slow_dump_dir(&s, &["-B", &src.name, "-r", "2000"], 0.3);
    let metrics = tempdir();
    let copy = s.unique_db("pmm_load");
    let mut child = rloader()
        .args(s.conn_args())
        .arg("-d")
        .arg(&dir)
        .args(["-B", &copy.name, "-t", "2", "--exec-per-thread"])
        .arg(&script)
        .args(["--exec-per-thread-extension", ".slow", "--pmm-path"])
        .arg(metrics.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let file = metrics.path().join("myloader.prom");
    let text = wait_for_metric(&file, "myloader_rows{name=\"loaded\"}");
    assert!(text.contains("myloader_object{name=\"jobs\"}"), "{text}");
    let status = wait_exit(&mut child, Duration::from_secs(120), "rloader");
    assert!(status.success(), "{}", read_stderr(&mut child));
    assert!(!file.exists(), "the metrics file outlived the load");
    assert_same_data(&s, &src.name, &copy.name);

    let out = run(rdumper_for(&s).args(["-B", &src.name, "--pmm-resolution", "fast", "-o", "/nonexistent"]));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--pmm-resolution"));
    let out = run(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "--pmm-path", "/nonexistent/dir"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--pmm-path: cannot write /nonexistent/dir/myloader.prom"), "{err}");
}
