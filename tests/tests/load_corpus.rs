//! rloader loads every dump and stream of the corpus written by mydumper
//! 1.0.1 and 0.10, and the copies match the source tables' row counts and
//! CHECKSUM TABLE values recorded in `checksums.tsv`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use integration_tests::*;
use mysql::prelude::Queryable;

/// `all_types` as the corpus dumps hold it: their INET6/UUID values are
/// already lost (see the corpus README).
const ALL_TYPES_SQL: u64 = 1958040424;
/// The CSV and LOAD_DATA dumps hold the same values as the SQL ones. myloader
/// loses more of them (CHECKSUM 847138800) because the server converts the
/// data files from the database's character set; rloader loads them as the
/// bytes mydumper wrote (`CHARACTER SET binary`), so they match SQL.
const ALL_TYPES_CSV: u64 = ALL_TYPES_SQL;
const ALL_TYPES_MYLOADER_CSV: u64 = 847138800;

fn corpus(rel: &str) -> PathBuf {
    shared_dir().join("corpus").join(rel)
}

/// Expected sums of the tables of `db` in the corpus, `all_types` replaced
/// by what the dump format keeps, `big` only when `with_big`.
fn expected(db: &str, all_types: u64, only: Option<&str>) -> BTreeMap<String, TableSum> {
    corpus_checksums()
        .into_iter()
        .filter(|((d, t), _)| d == db && only.is_none_or(|o| o == t) && (only.is_some() || t != "big"))
        .map(|((_, t), mut s)| {
            if t == "all_types" {
                s.checksum = all_types;
            }
            (t, s)
        })
        .collect()
}

fn assert_loaded(out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "rloader failed with {}: {err}", out.status);
    assert!(err.contains("restore completed"), "no completion report: {err}");
    // The definitions' checksums mydumper recorded agree with the load.
    assert!(!err.contains("checksum mismatch"), "{err}");
}

fn assert_tables(db: &str, want: &BTreeMap<String, TableSum>) {
    let mut c = server().conn();
    let got = table_sums(&mut c, db);
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "tables of {db}");
    for (t, w) in want {
        assert_eq!(got.get(t), Some(w), "table {t} of {db}");
    }
}

fn load_dir(dir: &Path, args: &[&str]) -> Output {
    let s = server();
    run(rloader().args(s.conn_args()).arg("-d").arg(dir).args(args).args(["-v", "3", "-t", "3"]))
}

fn load_stream(file: &Path, args: &[&str]) -> Output {
    let s = server();
    let input = std::fs::File::open(file).unwrap();
    rloader()
        .args(s.conn_args())
        .arg("--stream")
        .args(args)
        .args(["-v", "3", "-t", "3"])
        .stdin(Stdio::from(input))
        .output()
        .unwrap()
}

/// Views, triggers, routines, events and sequences of `db` are those of the
/// fixture database `source`.
fn assert_same_objects(source: &str, db: &str) {
    let mut c = server().conn();
    assert_eq!(object_names(&mut c, db), object_names(&mut c, source), "objects of {db} vs {source}");
}

/// Loads both databases of a torture dump (`-s` each, into new names) and
/// checks them.
fn torture_dir(rel: &str, all_types: u64) {
    let s = server();
    s.fixtures();
    let dir = corpus(rel);
    let one = s.unique_db("ld_torture");
    let two = s.unique_db("ld_torture2");
    assert_loaded(&load_dir(&dir, &["-s", "torture", "-B", &one.name]));
    assert_loaded(&load_dir(&dir, &["-s", "torture-2", "-B", &two.name]));
    assert_tables(&one.name, &expected("torture", all_types, None));
    assert_tables(&two.name, &expected("torture-2", all_types, None));
    assert_same_objects("torture", &one.name);
}

#[test]
fn md_1_0_1_torture_sql() {
    torture_dir("md-1.0.1/torture-sql", ALL_TYPES_SQL);
}

#[test]
fn md_1_0_1_torture_gz() {
    torture_dir("md-1.0.1/torture-gz", ALL_TYPES_SQL);
}

#[test]
fn md_1_0_1_torture_zstd() {
    torture_dir("md-1.0.1/torture-zstd", ALL_TYPES_SQL);
}

#[test]
fn md_1_0_1_torture_loaddata() {
    torture_dir("md-1.0.1/torture-loaddata", ALL_TYPES_CSV);
}

#[test]
fn md_1_0_1_torture_csv() {
    torture_dir("md-1.0.1/torture-csv", ALL_TYPES_CSV);
    assert_ne!(ALL_TYPES_CSV, ALL_TYPES_MYLOADER_CSV);
}

#[test]
fn md_0_10_torture_sql() {
    torture_dir("md-0.10/torture-sql", ALL_TYPES_SQL);
}

#[test]
fn md_1_0_1_big_chunked_zstd() {
    let s = server();
    let db = s.unique_db("ld_big");
    assert_loaded(&load_dir(&corpus("md-1.0.1/big-chunked-zstd"), &["-B", &db.name]));
    assert_tables(&db.name, &expected("torture", 0, Some("big")));
}

fn sakila_dir(rel: &str) {
    let s = server();
    // Sakila's views name `sakila.` tables: the fixture database must exist.
    s.fixtures();
    let db = s.unique_db("ld_sakila");
    assert_loaded(&load_dir(&corpus(rel), &["-s", "sakila", "-B", &db.name]));
    assert_tables(&db.name, &expected("sakila", 0, None));
    assert_same_objects("sakila", &db.name);
}

#[test]
fn md_1_0_1_sakila_sql() {
    sakila_dir("md-1.0.1/sakila-sql");
}

#[test]
fn md_0_10_sakila_sql() {
    sakila_dir("md-0.10/sakila-sql");
}

#[test]
fn md_1_0_1_torture_stream() {
    for file in ["md-1.0.1/torture.stream", "md-1.0.1/torture-zstd.stream"] {
        let s = server();
        s.fixtures();
        let one = s.unique_db("ls_torture");
        let two = s.unique_db("ls_torture2");
        assert_loaded(&load_stream(&corpus(file), &["-s", "torture", "-B", &one.name]));
        assert_loaded(&load_stream(&corpus(file), &["-s", "torture-2", "-B", &two.name]));
        assert_tables(&one.name, &expected("torture", ALL_TYPES_SQL, None));
        assert_tables(&two.name, &expected("torture-2", ALL_TYPES_SQL, None));
        assert_same_objects("torture", &one.name);
    }
}

#[test]
fn md_1_0_1_sakila_gz_stream() {
    let s = server();
    s.fixtures();
    let db = s.unique_db("ls_sakila");
    assert_loaded(&load_stream(&corpus("md-1.0.1/sakila-gz.stream"), &["-B", &db.name]));
    assert_tables(&db.name, &expected("sakila", 0, None));
    assert_same_objects("sakila", &db.name);
}

/// Two dumps one after another on one stdin load one after the other.
#[test]
fn two_streams_on_one_stdin() {
    let s = server();
    s.fixtures();
    let dir = tempdir();
    let both = dir.path().join("both.stream");
    let mut bytes = std::fs::read(corpus("md-1.0.1/torture.stream")).unwrap();
    bytes.extend(std::fs::read(corpus("md-1.0.1/torture-zstd.stream")).unwrap());
    std::fs::write(&both, bytes).unwrap();
    let db = s.unique_db("ls_twice");
    let out = load_stream(&both, &["-s", "torture-2", "-B", &db.name, "-o"]);
    assert_loaded(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("restore completed: 2 dump(s)"));
    assert_tables(&db.name, &expected("torture-2", ALL_TYPES_SQL, None));
}

/// Deferred indexes and foreign keys come back exactly as dumped.
#[test]
fn optimize_keys_keeps_table_definitions() {
    let s = server();
    s.fixtures();
    for mode in ["AFTER_IMPORT_PER_TABLE", "AFTER_IMPORT_ALL_TABLES", "SKIP"] {
        let db = s.unique_db("ld_keys");
        assert_loaded(&load_dir(
            &corpus("md-1.0.1/torture-sql"),
            &["-s", "torture", "-B", &db.name, &format!("--optimize-keys={mode}")],
        ));
        let mut c = s.conn();
        for t in ["child", "string_pk", "partitioned", "composite_pk", "all_types", "sparse_ids"] {
            let q = |db: &str| format!("SHOW CREATE TABLE `{db}`.`{t}`");
            let a: (String, String) = c.query_first(q("torture")).unwrap().unwrap();
            let b: (String, String) = c.query_first(q(&db.name)).unwrap().unwrap();
            let strip = |s: &str| s.split(' ').filter(|w| !w.starts_with("AUTO_INCREMENT=")).collect::<Vec<_>>().join(" ");
            assert_eq!(strip(&a.1), strip(&b.1), "{mode}: definition of {t}");
        }
    }
}

/// A dump written by Debian's mydumper 0.10 during the test loads back equal.
#[test]
fn dump_written_by_mydumper_0_10_loads_equal() {
    if !have("mydumper") {
        panic!("mydumper (Debian's 0.10) is not installed: scripts/test-db.sh installs it");
    }
    let s = server();
    let src = s.unique_db("ld_md010_src");
    let copy = s.unique_db("ld_md010_copy");
    let mut c = s.conn();
    let n = &src.name;
    for q in [
        format!("CREATE DATABASE `{n}` DEFAULT CHARACTER SET utf8mb4"),
        format!("CREATE TABLE `{n}`.`items` (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50), price DECIMAL(10,2), note TEXT, KEY (name)) ENGINE=InnoDB"),
        format!("CREATE TABLE `{n}`.`bin` (id INT PRIMARY KEY, b VARBINARY(16), l VARCHAR(20) CHARACTER SET latin1) ENGINE=InnoDB"),
        format!("CREATE TABLE `{n}`.`zero` (id INT PRIMARY KEY AUTO_INCREMENT, v INT) ENGINE=InnoDB"),
        format!("INSERT INTO `{n}`.`items` (name, price, note) SELECT CONCAT('item ', seq), seq / 7, IF(seq % 3 = 0, NULL, 'a \"quoted\" ''text''\\\\ with ; and\nnewline') FROM `{n}`.seq_1_to_2500"),
        format!("INSERT INTO `{n}`.`bin` VALUES (1, 0x00FF10275C22, 'caf\u{e9}'), (2, '', NULL), (3, 0xC3, 'x;\\n')"),
        format!("INSERT INTO `{n}`.`zero` VALUES (0, 1), (5, 2)"),
        format!("CREATE VIEW `{n}`.`cheap` AS SELECT id, name FROM `{n}`.`items` WHERE price < 10"),
    ] {
        c.query_drop(&q).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
    let out_dir = tempdir();
    let dump = out_dir.path().join("dump");
    run_ok(
        std::process::Command::new("mydumper")
            .args(["-S", &s.socket.display().to_string(), "-u", &s.user, "-B", n, "-o"])
            .arg(&dump)
            .args(["-G", "-E", "-R", "-t", "2"]),
    );
    assert_loaded(&load_dir(&dump, &["-s", n, "-B", &copy.name]));
    assert_eq!(assert_same_data(&s, n, &copy.name), 3);
    let views: Vec<String> = c
        .exec("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?", (&copy.name,))
        .unwrap();
    assert_eq!(views, vec!["cheap".to_string()]);
}
