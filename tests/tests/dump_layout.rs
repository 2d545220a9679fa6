//! The file names and metadata of rdumper dumps match, kind for kind, those
//! mydumper 1.0.1 wrote of the same databases (`../shared/corpus/`).

mod dump_support;

use std::collections::{BTreeMap, BTreeSet};

use common::keyfile::KeyFile;
use dump_support::*;
use integration_tests::*;

/// `mydumper_N` forms depend on the run; compare them as `mydumper_*`.
fn normalise(name: &str) -> String {
    let mut out = String::new();
    let mut rest = name;
    while let Some(i) = rest.find("mydumper_") {
        out.push_str(&rest[..i + 9]);
        rest = &rest[i + 9..];
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 {
            out.push('*');
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

fn names(dir: &std::path::Path) -> BTreeSet<String> {
    files(dir).into_keys().map(|n| normalise(&n)).collect()
}

/// Sections and their keys, without checksum keys (rdumper writes none
/// by default) and without `[source]` (the corpus server had no binary log).
fn sections(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let kf = KeyFile::parse(text).unwrap();
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for g in kf.groups {
        if g.name == "source" {
            continue;
        }
        let keys: BTreeSet<String> = g.entries.iter().map(|(k, _)| k.clone()).filter(|k| !k.ends_with("_checksum")).collect();
        if keys.is_empty() && g.name.starts_with('`') && !g.name.contains("`.`") {
            continue; // a database section holding only checksums
        }
        m.entry(normalise(&g.name)).or_default().extend(keys);
    }
    m
}

#[test]
fn torture_files_and_metadata_match_mydumper() {
    let s = server();
    s.fixtures();
    let (_tmp, dir) = dump_dir(&s, &["-t", "2", "-G", "-E", "-R", "--no-trx-tables", "-x", r"^(torture|torture-2)\.(?!big$)"]);
    let corpus = shared_dir().join("corpus/md-1.0.1/torture-sql");

    let mut expected = names(&corpus);
    // mydumper 1.0.1 missed the sequence on MariaDB 10.11 and dumped it as a
    // table with one row; rdumper writes the sequence file the format defines.
    assert!(expected.remove("torture.order_seq-schema.sql"));
    assert!(expected.remove("torture.order_seq.00000.sql"));
    expected.insert("torture.order_seq-schema-sequence.sql".into());
    assert_eq!(names(&dir), expected);

    let mine = std::fs::read_to_string(dir.join("metadata")).unwrap();
    let theirs = std::fs::read_to_string(corpus.join("metadata")).unwrap();
    let mut want = sections(&theirs);
    want.get_mut("`torture`.`order_seq`").unwrap().insert("is_sequence".into());
    assert_eq!(sections(&mine), want);
    assert!(mine.starts_with("# Started dump at: "));
    assert!(mine.trim_end().lines().last().unwrap().starts_with("# Finished dump at: "));
    assert!(mine.contains("[source]\n# Channel_Name"), "binary log position recorded:\n{mine}");

    // Every .sql file starts with the same header as mydumper's.
    let corpus_head: Vec<String> = std::fs::read_to_string(corpus.join("torture.parent-schema.sql")).unwrap().lines().take(4).map(String::from).collect();
    for n in files(&dir).into_keys().filter(|n| n.ends_with(".sql")) {
        let text = std::fs::read_to_string(dir.join(&n)).unwrap();
        let head: Vec<String> = text.lines().take(4).map(String::from).collect();
        assert_eq!(head, corpus_head, "{n}");
    }
    // Same INSERT layout as mydumper: one row per line.
    let mine = std::fs::read_to_string(dir.join("torture.generated_cols.00000.sql")).unwrap();
    let theirs = std::fs::read_to_string(corpus.join("torture.generated_cols.00000.sql")).unwrap();
    assert_eq!(mine, theirs);
    // Trigger and routine files: same statements as mydumper.
    for f in ["torture.child-schema-triggers.sql", "torture-schema-post.sql", "torture.v_on_view-schema-view.sql", "torture.v_on_view-schema.sql"] {
        assert_eq!(std::fs::read_to_string(dir.join(f)).unwrap(), std::fs::read_to_string(corpus.join(f)).unwrap(), "{f}");
    }
}

#[test]
fn fixed_rows_chunks_are_named_as_mydumper() {
    let s = server();
    s.fixtures();
    let (_tmp, dir) = dump_dir(&s, &["-t", "2", "-B", "torture", "-T", "torture.big", "-r", "20000", "-c", "ZSTD"]);
    let corpus = shared_dir().join("corpus/md-1.0.1/big-chunked-zstd");
    assert_eq!(names(&dir), names(&corpus));
    let meta = common::metadata::Metadata::parse(&std::fs::read_to_string(dir.join("metadata")).unwrap()).unwrap();
    let theirs = common::metadata::Metadata::parse(&std::fs::read_to_string(corpus.join("metadata")).unwrap()).unwrap();
    assert_eq!(meta.table("torture", "big").unwrap().rows, theirs.table("torture", "big").unwrap().rows);
}

#[test]
fn odd_names_get_mydumper_forms() {
    let s = server();
    let db = s.unique_db("odd names");
    let mut c = s.conn();
    use mysql::prelude::Queryable;
    c.query_drop(format!("CREATE DATABASE `{}`", db.name)).unwrap();
    for t in ["a.b", "back`tick", "ünï", "mydumper_x", "plain-name ok"] {
        c.query_drop(format!("CREATE TABLE `{}`.`{}` (id INT PRIMARY KEY, v VARCHAR(5))", db.name, t.replace('`', "``"))).unwrap();
        c.query_drop(format!("INSERT INTO `{}`.`{}` VALUES (1, 'x')", db.name, t.replace('`', "``"))).unwrap();
    }
    let (_tmp, dir) = dump_dir(&s, &["-B", &db.name]);
    let all = names(&dir);
    assert!(all.contains(&format!("{}.plain-name ok.00000.sql", db.name)), "{all:?}");
    assert_eq!(all.iter().filter(|n| n.contains(".mydumper_*-schema.sql")).count(), 1, "forms collapse to one pattern: {all:?}");
    let meta = common::metadata::Metadata::parse(&std::fs::read_to_string(dir.join("metadata")).unwrap()).unwrap();
    let real: BTreeSet<String> = meta.tables.iter().filter_map(|t| t.real_table_name.clone()).collect();
    for t in ["a.b", "back`tick", "ünï", "mydumper_x", "plain-name ok"] {
        assert!(real.contains(t), "{t} missing from {real:?}");
    }
    let copy = s.unique_db("odd_copy");
    load_with_client(&s, &dir, &db.name, &db.name, &copy.name);
    assert_eq!(assert_same_data(&s, &db.name, &copy.name), 5);
}
