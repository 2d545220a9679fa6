//! An interrupted directory load and `--resume`: the first SIGINT lets the
//! files being loaded finish, gives the tables created their deferred
//! indexes and lists the files not loaded in `DIR/resume`; `--resume` loads
//! just those, and the copy equals the source (`--drop-database`, given to
//! both runs, does not drop what the first loaded). `-k` stops at once
//! without a resume file; a stale or missing resume file is refused by name.

mod dump_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use dump_support::*;
use integration_tests::*;
use mysql::prelude::Queryable;

/// A source of four tables with a secondary index each, dumped in many
/// small files whose reading a script slows down, so that a load is still
/// running when the test interrupts it.
fn slow_dump(s: &Server) -> (TestDb, tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let mut statements = Vec::new();
    for i in 1..=4 {
        // t2..t4 refer to t1: foreign keys are deferred too.
        let fk = if i > 1 { ", FOREIGN KEY (p) REFERENCES t1 (id)" } else { "" };
        statements.push(format!(
            "CREATE TABLE {{db}}.t{i} (id INT PRIMARY KEY, k INT, p INT, c CHAR(100), KEY kk (k){fk}) ENGINE=InnoDB"
        ));
        statements.push(format!(
            "INSERT INTO {{db}}.t{i} SELECT seq, seq MOD 97, seq MOD 97 + 1, REPEAT('x', 100) FROM {{db}}.seq_1_to_15000"
        ));
    }
    let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
    let src = s.db_with("resume_src", &refs);
    let (tmp, dir, script) = slow_dump_dir(s, &["-B", &src.name, "-r", "2000"], 0.4);
    (src, tmp, dir, script)
}

fn load(s: &Server, dir: &Path, script: &Path, target: &str) -> Command {
    let mut c = rloader();
    c.args(s.conn_args())
        .arg("-d")
        .arg(dir)
        .args(["-B", target, "-t", "2", "--drop-database", "--exec-per-thread"])
        .arg(script)
        .args(["--exec-per-thread-extension", ".slow"]);
    c
}

/// Starts `cmd`, sends SIGINT after `after`, and returns its exit code and
/// stderr.
fn interrupt(cmd: &mut Command, after: Duration) -> (Option<i32>, String) {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(after);
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status = wait_exit(&mut child, Duration::from_secs(120), "the interrupted load");
    (status.code(), read_stderr(&mut child))
}

/// Indexes and foreign keys of each table.
fn indexes(s: &Server, db: &str) -> Vec<(String, String)> {
    s.conn()
        .exec(
            "SELECT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? \
             UNION ALL SELECT TABLE_NAME, CONCAT('FOREIGN KEY ', CONSTRAINT_NAME) FROM information_schema.TABLE_CONSTRAINTS \
             WHERE TABLE_SCHEMA = ? AND CONSTRAINT_TYPE = 'FOREIGN KEY' ORDER BY 1, 2",
            (db, db),
        )
        .unwrap()
}

#[test]
fn interrupted_load_resumes_where_it_stopped() {
    let s = server();
    let (src, _tmp, dir, script) = slow_dump(&s);
    let copy = s.unique_db("resume_copy");

    let (code, err) = interrupt(&mut load(&s, &dir, &script, &copy.name), Duration::from_millis(1500));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("stopping: the files being loaded finish"), "{err}");
    assert!(err.contains("were not loaded;") && err.contains("--resume"), "{err}");
    let listed = std::fs::read_to_string(dir.join("resume")).unwrap();
    let names: Vec<&str> = listed.lines().collect();
    assert!(!names.is_empty() && names.iter().all(|n| n.ends_with(".slow")), "{listed}");
    assert!(!dir.join("resume.partial").exists());
    // Tables created before the stop have all their indexes.
    let created: Vec<String> = s
        .conn()
        .exec("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", (&copy.name,))
        .unwrap();
    let whole = indexes(&s, &src.name);
    let now = indexes(&s, &copy.name);
    for t in &created {
        let want: Vec<_> = whole.iter().filter(|(n, _)| n == t).collect();
        let got: Vec<_> = now.iter().filter(|(n, _)| n == t).collect();
        assert_eq!(got, want, "{t}'s indexes and foreign keys after the stop");
    }

    // The same command again is refused: it would load everything twice.
    let out = run(&mut load(&s, &dir, &script, &copy.name));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("run with --resume"), "{}", String::from_utf8_lossy(&out.stderr));

    let out = run(load(&s, &dir, &script, &copy.name).args(["--resume", "--checksum", "-v", "3"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("--resume: {} files left", names.len())), "{err}");
    assert!(!dir.join("resume").exists(), "the resume file outlived the load");
    assert_eq!(assert_same_data(&s, &src.name, &copy.name), 4);
    assert_eq!(indexes(&s, &src.name), indexes(&s, &copy.name));
}

#[test]
fn kill_at_once_and_bad_resume_files() {
    let s = server();
    let (_src, _tmp, dir, script) = slow_dump(&s);
    let copy = s.unique_db("resume_k");
    let (code, err) = interrupt(load(&s, &dir, &script, &copy.name).arg("-k"), Duration::from_millis(1000));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("interrupted by a signal; the load is incomplete"), "{err}");
    assert!(!dir.join("resume").exists(), "-k writes no resume file");

    let again = s.unique_db("resume_none");
    let out = run(load(&s, &dir, &script, &again.name).arg("--resume"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("resume does not exist"), "{err}");

    std::fs::write(dir.join("resume"), "metadata\n").unwrap();
    let out = run(load(&s, &dir, &script, &again.name).arg("--resume"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("resume:1: \"metadata\" is not a file of the dump"), "{err}");

    std::fs::write(dir.join("resume.partial"), "").unwrap();
    let out = run(load(&s, &dir, &script, &again.name).arg("--resume"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("resume.partial: an interrupted load stopped while writing it"), "{err}");

    let out = run_with_input(rloader().args(s.conn_args()).args(["--stream", "--resume"]), b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("cannot go with --stream"), "{err}");
}
