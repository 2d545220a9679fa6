//! Checksums of definitions in the metadata: rdumper records the values
//! mydumper 1.0.1 records of the same source (compared with the corpus),
//! rloader checks them after a load, mydumper's and its own, and a changed
//! definition is reported by name: a warning, or with `--checksum` (FAIL)
//! the load's error.

mod dump_support;

use std::path::Path;

use common::metadata::{Metadata, TableMeta};
use dump_support::*;
use integration_tests::*;
use mysql::prelude::Queryable;

fn metadata(dir: &Path) -> Metadata {
    Metadata::parse(&std::fs::read_to_string(dir.join("metadata")).unwrap()).unwrap()
}

fn by_real_name(m: &Metadata) -> std::collections::BTreeMap<(String, String), TableMeta> {
    m.tables
        .iter()
        .map(|t| ((t.db.clone(), t.real_table_name.clone().unwrap_or_else(|| t.table.clone())), t.clone()))
        .collect()
}

fn lower(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.to_ascii_lowercase())
}

fn db_entry(m: &Metadata, db: &str, key: &str) -> Option<String> {
    m.databases
        .iter()
        .find(|d| d.db == db)
        .and_then(|d| d.entries.iter().find(|(k, _)| k == key))
        .map(|(_, v)| v.to_ascii_lowercase())
}

/// Every table, view and sequence checksum mydumper recorded of `db` in
/// `corpus` is what rdumper records of the same source.
fn assert_same_table_checksums(corpus: &Metadata, ours: &Metadata, db: &str) -> usize {
    let ours = by_real_name(ours);
    let mut compared = 0;
    for ((d, name), theirs) in by_real_name(corpus).into_iter().filter(|((d, _), _)| d == db) {
        let mine = ours.get(&(d.clone(), name.clone())).unwrap_or_else(|| panic!("no section for {d}.{name}"));
        assert_eq!(lower(&mine.schema_checksum), lower(&theirs.schema_checksum), "schema_checksum of {d}.{name}");
        assert_eq!(lower(&mine.indexes_checksum), lower(&theirs.indexes_checksum), "indexes_checksum of {d}.{name}");
        compared += theirs.schema_checksum.is_some() as usize + theirs.indexes_checksum.is_some() as usize;
    }
    compared
}

/// The character set checksum of `db` as mydumper computes it.
fn database_schema_checksum(s: &Server, db: &str) -> String {
    let mut c = s.conn();
    let v: Option<String> = c
        .exec_first(
            "SELECT COALESCE(LOWER(CONV(BIT_XOR(CAST(CRC32(col) AS UNSIGNED)), 10, 16)), 0) FROM \
             (SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME) AS col \
              FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?) AS a",
            (db,),
        )
        .unwrap();
    v.unwrap().to_ascii_lowercase()
}

#[test]
fn rdumper_records_what_mydumper_records() {
    let s = server();
    s.fixtures();
    let (_t, dir) = dump_dir(&s, &["-B", "sakila", "-G", "-E", "-R", "-t", "2"]);
    let ours = metadata(&dir);
    let corpus = metadata(&shared_dir().join("corpus/md-1.0.1/sakila-sql"));
    // 16 tables and 7 views.
    assert_eq!(assert_same_table_checksums(&corpus, &ours, "sakila"), 16 * 2 + 7);
    for key in ["post_checksum", "events_checksum", "triggers_checksum"] {
        assert_eq!(db_entry(&ours, "sakila", key), db_entry(&corpus, "sakila", key), "{key} of sakila");
    }
    // The corpus' source database had another character set than the
    // fixture: the value is compared with the server's.
    assert_eq!(db_entry(&ours, "sakila", "schema_checksum"), Some(database_schema_checksum(&s, "sakila")));
    assert!(ours.tables.iter().all(|t| t.data_checksum.is_none() && t.triggers_checksum.is_none()));

    // The torture databases as the corpus dumped them: a sequence, views on
    // views, odd names; `big` left out, so no database trigger checksum.
    let (_t, dir) = dump_dir(&s, &["-G", "-E", "-R", "-x", r"^(torture|torture-2)\.(?!big$)", "-t", "2"]);
    let ours = metadata(&dir);
    let corpus = metadata(&shared_dir().join("corpus/md-1.0.1/torture-sql"));
    assert!(assert_same_table_checksums(&corpus, &ours, "torture") > 30);
    assert_same_table_checksums(&corpus, &ours, "torture-2");
    for key in ["post_checksum", "events_checksum"] {
        assert_eq!(db_entry(&ours, "torture", key), db_entry(&corpus, "torture", key), "{key} of torture");
    }
    assert_eq!(db_entry(&ours, "torture", "triggers_checksum"), None);
}

/// rloader checks every checksum of mydumper's sakila dump; all agree.
#[test]
fn rloader_checks_mydumpers_checksums() {
    let s = server();
    let dir = shared_dir().join("corpus/md-1.0.1/sakila-sql");
    let recorded = metadata(&dir);
    let per_table: usize = recorded
        .tables
        .iter()
        .map(|t| t.schema_checksum.is_some() as usize + t.indexes_checksum.is_some() as usize)
        .sum();
    // Into another name: all but the database's character set, which a
    // renamed database does not take from the dump.
    let per_db = recorded.databases[0].entries.len() - 1;
    let copy = s.unique_db("ck_corpus");
    let out = run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "--checksum", "-v", "3"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{} checksums verified", per_table + per_db)), "{err}");
    assert!(err.contains(&format!("view checksum of `{}`.`actor_info` verified", copy.name)), "{err}");
    assert!(err.contains(&format!("trigger checksum of database `{}` verified", copy.name)), "{err}");
    assert!(!err.contains("mismatch"), "{err}");
}

/// rdumper's dump through a stream: rloader checks all it recorded, data
/// included (`-M`), and the copy holds the same data.
#[test]
fn checksum_all_round_trip_through_a_stream() {
    let s = server();
    s.fixtures();
    let out = run_ok(rdumper_for(&s).args(["-B", "sakila", "-G", "-E", "-R", "-M", "--stream", "-t", "2"]));
    let copy = s.unique_db("ck_stream");
    let load = run_with_input(
        rloader().args(s.conn_args()).args(["--stream", "-B", &copy.name, "--checksum", "-v", "3"]),
        &out.stdout,
    );
    let err = String::from_utf8_lossy(&load.stderr);
    assert!(load.status.success(), "{err}");
    assert!(err.contains(&format!("data checksum of `{}`.`film` verified", copy.name)), "{err}");
    assert!(err.contains(&format!("trigger checksum of `{}`.`film` verified", copy.name)), "{err}");
    assert!(err.contains(&format!("routine checksum of database `{}` verified", copy.name)), "{err}");
    assert!(!err.contains("mismatch"), "{err}");
    assert_eq!(assert_same_data(&s, "sakila", &copy.name), 16);
}

#[test]
fn options_choose_what_is_recorded() {
    let s = server();
    let db = s.db_with(
        "ck_opts",
        &[
            "CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT, KEY ka (a))",
            "CREATE TABLE {db}.u (id INT PRIMARY KEY)",
            "CREATE TRIGGER {db}.tr BEFORE INSERT ON {db}.t FOR EACH ROW SET NEW.a = NEW.a + 1",
            "INSERT INTO {db}.t VALUES (1, 1), (2, 2)",
        ],
    );
    let name = db.name.as_str();
    let dump = |extra: &[&str]| {
        let (t, dir) = dump_dir(&s, &[&["-B", name][..], extra].concat());
        let m = metadata(&dir);
        drop(t);
        m
    };
    let t = |m: &Metadata| m.table(name, "t").unwrap().clone();

    let m = dump(&[]);
    assert!(t(&m).schema_checksum.is_some() && t(&m).indexes_checksum.is_some());
    assert!(t(&m).data_checksum.is_none() && t(&m).triggers_checksum.is_none());
    assert_eq!(db_entry(&m, name, "schema_checksum"), Some(database_schema_checksum(&s, name)));
    assert_eq!(db_entry(&m, name, "triggers_checksum"), None, "triggers are not dumped without -G");

    let m = dump(&["--no-schema-checksums"]);
    assert!(t(&m).schema_checksum.is_none() && t(&m).indexes_checksum.is_none());
    assert_eq!(db_entry(&m, name, "schema_checksum"), None);

    let m = dump(&["--skip-index-checksums", "--data-checksums"]);
    assert!(t(&m).schema_checksum.is_some() && t(&m).indexes_checksum.is_none());
    let mut c = s.conn();
    let row: mysql::Row = c.query_first(format!("CHECKSUM TABLE `{name}`.t")).unwrap().unwrap();
    assert_eq!(t(&m).data_checksum, Some(row.get::<u64, _>(1).unwrap().to_string()));

    // A table's own trigger checksum only with --routine-checksums; the
    // database's whenever all its tables' triggers are dumped.
    let m = dump(&["-G", "--routine-checksums"]);
    let own = t(&m).triggers_checksum.expect("a table trigger checksum");
    assert_ne!(own, "0");
    assert_eq!(db_entry(&m, name, "triggers_checksum"), Some(own));
    let m = dump(&["-G", "-T", &format!("{name}.t")]);
    assert_eq!(db_entry(&m, name, "triggers_checksum"), None, "not every table is dumped");

    // Indexes left out of the dump are not checksummed.
    let m = dump(&["--skip-indexes"]);
    assert!(t(&m).indexes_checksum.is_none());

    let mut dumper = rdumper_for(&s);
    dumper.args(["-B", name, "-o", "/nonexistent"]);
    let mut loader = rloader();
    loader.args(s.conn_args()).args(["-d", "/nonexistent"]);
    for mut cmd in [dumper, loader] {
        let out = run(cmd.args(["--data-checksums", "--skip-data-checksums"]));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("contradict"), "{err}");
    }
}

/// A load into a table whose indexes differ from the dumped one, and a
/// routine checksum that does not match: warnings by default, the load's
/// error with `--checksum`, nothing with `--checksum=SKIP` or the kind
/// skipped.
#[test]
fn a_changed_definition_warns_or_fails() {
    let s = server();
    let src = s.db_with(
        "ck_src",
        &[
            "CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT, KEY ka (a))",
            "CREATE PROCEDURE {db}.p() SELECT 1",
            "INSERT INTO {db}.t VALUES (1, 1), (2, 2), (3, 3)",
        ],
    );
    let (_t, dir) = dump_dir(&s, &["-B", &src.name, "-R"]);
    let load = |target: &str, extra: &[&str]| {
        run(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", target, "--drop-table=NONE"]).args(extra))
    };
    let target = |tag: &str| {
        s.db_with(tag, &["CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT, KEY ka (a), KEY extra (a, id))"])
    };

    let warned = target("ck_warn");
    let out = load(&warned.name, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("index checksum mismatch for `{}`.`t`", warned.name)), "{err}");
    assert!(!err.contains("structure checksum mismatch"), "{err}");
    assert_eq!(assert_same_data(&s, &src.name, &warned.name), 1);

    let failed = target("ck_fail");
    let out = load(&failed.name, &["--checksum"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("index checksum mismatch for `{}`.`t`: the dump recorded", failed.name)), "{err}");
    assert!(!err.contains("restore completed"), "{err}");

    for extra in [&["--checksum=SKIP"][..], &["--checksum", "--skip-index-checksums"]] {
        let quiet = target("ck_quiet");
        let out = load(&quiet.name, extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && !err.contains("mismatch"), "{extra:?}: {err}");
        assert_eq!(assert_same_data(&s, &src.name, &quiet.name), 1);
    }

    // The routines' checksum as a dump of another source would record it.
    let text = std::fs::read_to_string(dir.join("metadata")).unwrap();
    let post = metadata(&dir).databases[0].entries.iter().find(|(k, _)| k == "post_checksum").unwrap().1.clone();
    std::fs::write(dir.join("metadata"), text.replace(&format!("post_checksum = {post}"), "post_checksum = 1234abcd"))
        .unwrap();
    let plain = s.unique_db("ck_post");
    let out = run(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &plain.name, "--checksum"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("routine checksum mismatch for database `{}`: the dump recorded 1234abcd", plain.name)),
        "{err}"
    );
}
