//! `--dry-run`: rdumper lists what it would dump and writes nothing;
//! rloader reads and checks a whole dump or stream without a server, and
//! finds what a load would fail on. `--stream=UNPACK` receives a stream into
//! a directory without loading it.

mod dump_support;

use dump_support::*;
use integration_tests::*;
use mysql::prelude::Queryable;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// rloader options that point at no server: a dry run must not need one.
fn no_server() -> [&'static str; 4] {
    ["-h", "127.0.0.1", "-P", "9"]
}

#[test]
fn rdumper_lists_and_writes_nothing() {
    let s = server();
    s.fixtures();
    let tmp = tempdir();
    let dir = tmp.path().join("never");
    let out = run_ok(rdumper_for(&s).args(["-B", "sakila", "-G", "-R", "--dry-run", "-o"]).arg(&dir));
    let list = stdout(&out);
    assert!(!dir.exists(), "--dry-run created {}", dir.display());
    let mut c = s.conn();
    let tables: Vec<String> = c
        .query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'sakila' AND TABLE_TYPE = 'BASE TABLE'")
        .unwrap();
    for t in &tables {
        assert!(list.contains(&format!("table `sakila`.`{t}` InnoDB: schema, data, about ")), "{t}: {list}");
    }
    assert!(list.contains("view `sakila`.`actor_info`: schema"), "{list}");
    assert!(list.contains("procedure `rewards_report`"), "{list}");
    assert!(list.contains("3 triggers"), "film's triggers with -G: {list}");
    assert!(list.contains(&format!("dry run: 1 databases, {} tables", tables.len())), "{list}");
    let out = run_ok(rdumper_for(&s).args(["-B", "sakila", "--stream", "--dry-run"]));
    assert!(out.stdout.is_empty(), "a stream's stdout stays empty");
    assert!(stderr(&out).contains("dry run: 1 databases"), "{}", stderr(&out));
}

#[test]
fn rloader_checks_a_dump_without_a_server() {
    let s = server();
    let dir = shared_dir().join("corpus/md-1.0.1/sakila-sql");
    let out = run_ok(rloader().args(no_server()).arg("-d").arg(&dir).args(["--dry-run", "-t", "2"]));
    let summary = stdout(&out);
    assert!(
        summary.contains("1 dump(s) read") && summary.contains("1 databases, 16 tables, 7 views to create"),
        "{summary}"
    );
    assert!(summary.contains("nothing was executed"), "{summary}");
    // Filters count as in a load: one table, its schema and data.
    let out = run_ok(rloader().args(no_server()).arg("-d").arg(&dir).args(["--dry-run", "-T", "sakila.actor"]));
    assert!(stdout(&out).contains("1 databases, 1 tables, 0 views to create"), "{}", stdout(&out));
    // Nothing reached the server.
    let mut c = s.conn();
    let n: Option<u64> = c
        .query_first("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'dry_never'")
        .unwrap();
    assert_eq!(n, Some(0));
    let out = run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["--dry-run", "-B", "dry_never"]));
    assert!(stdout(&out).contains("0 databases, 16 tables"), "-B creates no database of the dump's: {}", stdout(&out));
    let n: Option<u64> = c
        .query_first("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'dry_never'")
        .unwrap();
    assert_eq!(n, Some(0), "a dry run created the target");
}

/// What a load would fail on, a dry run fails on, naming the file.
#[test]
fn rloader_dry_run_finds_broken_dumps() {
    type Damage = fn(&std::path::Path);
    let cases: [(&str, Damage, &str); 4] = [
        (
            "md-1.0.1/torture-loaddata",
            |d| std::fs::remove_file(d.join("torture.parent.00000.dat")).unwrap(),
            "torture.parent.00000.sql:5: LOAD DATA names \"torture.parent.00000.dat\", which is not in the dump",
        ),
        (
            "md-1.0.1/torture-sql",
            |d| {
                let f = d.join("torture.parent.00000.sql");
                let len = std::fs::metadata(&f).unwrap().len();
                std::fs::OpenOptions::new().write(true).open(&f).unwrap().set_len(len - 20).unwrap();
            },
            "torture.parent.00000.sql: line 5: the file ends inside a statement",
        ),
        (
            "md-1.0.1/torture-gz",
            |d| {
                let f = d.join("torture.parent.00000.sql.gz");
                let bytes = std::fs::read(&f).unwrap();
                std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
            },
            "torture.parent.00000.sql.gz: ",
        ),
        (
            "md-1.0.1/torture-sql",
            |d| {
                let text = std::fs::read_to_string(d.join("metadata")).unwrap();
                let cut: String = text.lines().filter(|l| !l.contains("Finished dump")).map(|l| format!("{l}\n")).collect();
                std::fs::write(d.join("metadata"), cut).unwrap();
            },
            "metadata: the dump is incomplete",
        ),
    ];
    for (rel, damage, message) in cases {
        let (_t, dir) = copy_corpus_dump(rel);
        run_ok(rloader().args(no_server()).arg("-d").arg(&dir).args(["--dry-run", "-s", "torture"]));
        damage(&dir);
        let out = run(rloader().args(no_server()).arg("-d").arg(&dir).args(["--dry-run", "-s", "torture"]));
        assert_eq!(out.status.code(), Some(1), "{rel}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{rel}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{rel}: no summary after a failure");
    }
}

/// A stream checked on the fly, a truncated one refused; `--stream=UNPACK`
/// keeps the received files, which then load into a copy equal to the
/// source.
#[test]
fn streams_checked_and_unpacked() {
    let s = server();
    s.fixtures();
    let dump = run_ok(rdumper_for(&s).args(["-B", "sakila", "-G", "-R", "-E", "--stream", "-t", "2"]));
    let out = run_with_input(rloader().args(no_server()).args(["--stream", "--dry-run"]), &dump.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 databases, 16 tables, 7 views to create"), "{}", stdout(&out));
    let cut = &dump.stdout[..dump.stdout.len() * 2 / 3];
    let out = run_with_input(rloader().args(no_server()).args(["--stream", "--dry-run"]), cut);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("stream"), "{}", stderr(&out));

    let tmp = tempdir();
    let unpacked = tmp.path().join("unpacked");
    let out = run_with_input(rloader().args(no_server()).arg("--stream=UNPACK").arg("-d").arg(&unpacked), &dump.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(unpacked.join("metadata").is_file() && unpacked.join("sakila.actor-schema.sql").is_file());
    let copy = s.unique_db("dry_unpacked");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&unpacked).args(["-B", &copy.name, "--checksum"]));
    assert_eq!(assert_same_data(&s, "sakila", &copy.name), 16);
    let out = run_with_input(rloader().args(no_server()).arg("--stream=UNPACK"), &dump.stdout);
    assert!(!out.status.success() && stderr(&out).contains("-d"), "{}", stderr(&out));
}
