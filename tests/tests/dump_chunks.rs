//! Chunked dumps: a 300k-row table with `-r 10000 -t 4` becomes many chunk
//! files, written by several workers, and loads back identical.

mod dump_support;

use dump_support::*;
use integration_tests::*;
use mysql::prelude::Queryable;

fn big_table(s: &Server, prefix: &str) -> TestDb {
    let db = s.unique_db(prefix);
    let mut c = s.conn();
    c.query_drop(format!("CREATE DATABASE `{}`", db.name)).unwrap();
    c.query_drop(format!(
        "CREATE TABLE `{}`.big (id INT NOT NULL PRIMARY KEY, k INT, s VARCHAR(40), f FLOAT, d DOUBLE, b VARBINARY(8))",
        db.name
    ))
    .unwrap();
    c.query_drop(format!(
        "INSERT INTO `{}`.big SELECT seq, seq % 1000, CONCAT('row ', seq, IF(seq % 7 = 0, '\\n;\\n', '')), seq / 7, seq / 3, UNHEX(HEX(seq * 2654435761)) FROM `{}`.seq_1_to_300000",
        db.name, db.name
    ))
    .unwrap();
    db
}

#[test]
fn fixed_chunks_in_parallel_load_back_identical() {
    let s = server();
    let db = big_table(&s, "chunks");
    let (_tmp, dir) = dump_dir(&s, &["-B", &db.name, "-r", "10000", "-t", "4", "-v", "3"]);
    let data: Vec<String> = files(&dir).into_keys().filter(|n| n.starts_with(&format!("{}.big.", db.name))).collect();
    // ids 1..300000 in steps of 10000: parts 00001..00031 (the last holds 300000).
    assert_eq!(data.len(), 31, "{data:?}");
    assert!(data.contains(&format!("{}.big.00001.sql", db.name)));
    assert!(data.contains(&format!("{}.big.00031.sql", db.name)));
    let meta = common::metadata::Metadata::parse(&std::fs::read_to_string(dir.join("metadata")).unwrap()).unwrap();
    assert_eq!(meta.table(&db.name, "big").unwrap().rows, 300_000);
    let copy = s.unique_db("chunks_copy");
    load_with_client(&s, &dir, &db.name, &db.name, &copy.name);
    assert_same_data(&s, &db.name, &copy.name);
}

#[test]
fn chunks_are_written_by_several_workers_at_once() {
    // The log names the worker of each chunk: several workers took chunks
    // of the one table.
    let s = server();
    let db = big_table(&s, "chunks_par");
    let tmp = tempdir();
    let dir = tmp.path().join("d");
    let out = run_ok(rdumper_for(&s).args(["-B", &db.name, "-r", "10000", "-t", "4", "-v", "3"]).arg("-o").arg(&dir));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("31 chunk(s)"), "{log}");
    let workers: std::collections::BTreeSet<&str> = log
        .lines()
        .filter(|l| l.contains(".`big` chunk "))
        .filter_map(|l| l.rsplit(" by ").next())
        .collect();
    assert!(workers.len() >= 2, "chunks written by {workers:?}:\n{log}");
    assert_eq!(log.lines().filter(|l| l.contains(".`big` chunk ")).count(), 31);
    let copy = s.unique_db("chunks_par_copy");
    load_with_client(&s, &dir, &db.name, &db.name, &copy.name);
    assert_same_data(&s, &db.name, &copy.name);
}

#[test]
fn automatic_chunks_and_file_size_split() {
    let s = server();
    let db = big_table(&s, "chunks_auto");
    // Automatic chunking on 300k rows: several parts numbered from 0; -F 1
    // rotates files past 1 MB into sub-parts.
    let (_tmp, dir) = dump_dir(&s, &["-B", &db.name, "-t", "4", "-F", "1", "-c", "GZIP"]);
    let data: Vec<String> = files(&dir).into_keys().filter(|n| n.starts_with(&format!("{}.big.", db.name))).collect();
    assert!(data.contains(&format!("{}.big.00000.sql.gz", db.name)), "{data:?}");
    assert!(data.iter().any(|n| n.ends_with(".00001.sql.gz") && n.matches('.').count() >= 4), "sub-parts: {data:?}");
    assert!(data.len() >= 8, "{data:?}");
    let copy = s.unique_db("chunks_auto_copy");
    load_with_client(&s, &dir, &db.name, &db.name, &copy.name);
    assert_same_data(&s, &db.name, &copy.name);
}

/// `--split-string-pk`: tables keyed by a case-insensitive utf8mb4 VARCHAR
/// (values differing only in case and accents), a VARBINARY and a unique
/// latin1 CHAR holding NULLs are cut into ranges; `--check-row-count` shows
/// every row dumped once, and the copies are identical. Without the option
/// such tables stay whole.
#[test]
fn string_keys_split_into_ranges() {
    let s = server();
    let db = s.db_with(
        "string_pk",
        &[
            "CREATE TABLE {db}.s (k VARCHAR(40) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT)",
            "INSERT INTO {db}.s SELECT CONCAT(CHAR(65 + seq % 26), IF(seq % 3 = 0, 'é', 'e'), LOWER(HEX(seq * 7919))), seq FROM {db}.seq_1_to_30000",
            "CREATE TABLE {db}.b (k VARBINARY(20) PRIMARY KEY, v INT)",
            "INSERT INTO {db}.b SELECT UNHEX(HEX(seq * 31)), seq FROM {db}.seq_1_to_20000",
            "CREATE TABLE {db}.u (k CHAR(10) CHARACTER SET latin1 NULL, v INT, UNIQUE KEY (k))",
            "INSERT INTO {db}.u SELECT IF(seq % 10 = 0, NULL, CONCAT('x', seq)), seq FROM {db}.seq_1_to_20000",
        ],
    );
    let (_t, dir) = dump_dir(&s, &["-B", &db.name, "--split-string-pk", "-r", "4000", "--check-row-count", "-t", "3"]);
    let names: Vec<String> = files(&dir).into_keys().collect();
    for (t, at_least) in [("s", 7), ("b", 5), ("u", 4)] {
        let n = names.iter().filter(|f| f.starts_with(&format!("{}.{t}.", db.name))).count();
        assert!(n >= at_least, "{t}: {n} files: {names:?}");
    }
    let copy = s.unique_db("string_pk_copy");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name]));
    assert_eq!(assert_same_data(&s, &db.name, &copy.name), 3);

    let (_t, dir) = dump_dir(&s, &["-B", &db.name, "-r", "4000"]);
    let names: Vec<String> = files(&dir).into_keys().collect();
    assert!(names.contains(&format!("{}.s.00000.sql", db.name)) && !names.contains(&format!("{}.s.00001.sql", db.name)), "{names:?}");
}

/// `--rows-hard MIN:MAX` bounds the chunks rdumper sizes itself: alone, one
/// table of 300k rows stays in two chunks per worker; at most 20k rows a
/// chunk it takes about 15. A bad value is refused.
#[test]
fn rows_hard_bounds_automatic_chunks() {
    let s = server();
    let db = big_table(&s, "rows_hard");
    let count = |extra: &[&str]| {
        let (_t, dir) = dump_dir(&s, &[&["-B", db.name.as_str(), "-t", "2", "--check-row-count"][..], extra].concat());
        files(&dir).into_keys().filter(|n| n.starts_with(&format!("{}.big.", db.name))).count()
    };
    let plain = count(&[]);
    let bounded = count(&["--rows-hard", "0:20000"]);
    assert!(plain <= 4, "{plain} chunks");
    assert!((14..=17).contains(&bounded), "{bounded} chunks");
    let (_t, dir) = dump_dir(&s, &["-B", &db.name, "--rows-hard", "0:20000"]);
    let copy = s.unique_db("rows_hard_copy");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name]));
    assert_same_data(&s, &db.name, &copy.name);
    let out = run(rdumper_for(&s).args(["-B", &db.name, "--rows-hard", "9:3", "-o", "/nonexistent"]));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--rows-hard"));
}
