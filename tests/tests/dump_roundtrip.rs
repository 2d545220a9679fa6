//! rdumper dumps of the torture and Sakila databases load back (through
//! the `mariadb` client) into copies equal to the source, in every format.

mod dump_support;

use dump_support::*;
use integration_tests::*;

/// Dumps torture + torture-2 with `extra` options, loads both into fresh
/// databases, and compares them with the source.
fn torture_round_trip(extra: &[&str]) {
    let s = server();
    s.fixtures();
    let mut args = vec!["-G", "-E", "-R", "-x", r"^(torture|torture-2)\.(?!big$)", "-t", "3"];
    args.extend_from_slice(extra);
    let (_tmp, dir) = dump_dir(&s, &args);
    let copy = s.unique_db("rt_torture");
    let copy2 = s.unique_db("rt_torture2");
    load_with_client(&s, &dir, "torture", "torture", &copy.name);
    load_with_client(&s, &dir, "torture-2", "torture-2", &copy2.name);

    // `big` is excluded by the regex: compare everything else.
    let mut c = s.conn();
    let mut src = table_sums(&mut c, "torture");
    src.remove("big");
    let got = table_sums(&mut c, &copy.name);
    assert_eq!(src, got, "options {extra:?}");
    assert_eq!(got["all_types"].checksum, ALL_TYPES_CHECKSUM, "all_types must round-trip exactly");
    assert_same_data(&s, "torture-2", &copy2.name);
    // Views, the trigger, routines, the event and the sequence came along.
    assert_eq!(object_names(&mut c, "torture"), object_names(&mut c, &copy.name));
    let next: Option<i64> = mysql::prelude::Queryable::query_first(
        &mut c,
        format!("SELECT NEXTVAL(`{}`.`order_seq`)", copy.name),
    )
    .unwrap();
    assert_eq!(next, Some(5100));
}

#[test]
fn torture_round_trip_insert() {
    torture_round_trip(&[]);
}

#[test]
fn torture_round_trip_small_statements_and_files() {
    // Tiny statements and 1 MB files: many statements, sub-part files.
    torture_round_trip(&["-s", "2000", "-F", "1", "-r", "1000", "--complete-insert"]);
}

#[test]
fn torture_round_trip_hex_blob_insert_ignore() {
    torture_round_trip(&["--hex-blob", "-N", "--order-by-primary"]);
}

#[test]
fn torture_round_trip_load_data() {
    torture_round_trip(&["--format", "LOAD_DATA"]);
}

#[test]
fn torture_round_trip_csv() {
    torture_round_trip(&["--csv", "--hex-blob"]);
}

#[test]
fn torture_round_trip_gzip() {
    torture_round_trip(&["-c", "GZIP"]);
}

#[test]
fn torture_round_trip_zstd() {
    torture_round_trip(&["-c", "ZSTD", "--format", "LOAD_DATA", "-F", "1"]);
}

/// Dumps Sakila with `extra` options, loads it with the client and compares.
fn sakila_round_trip(extra: &[&str]) {
    let s = server();
    s.fixtures();
    let mut args = vec!["-B", "sakila", "-G", "-E", "-R", "-t", "4"];
    args.extend_from_slice(extra);
    let (_tmp, dir) = dump_dir(&s, &args);
    assert!(dir.join("sakila-schema-create.sql").exists());
    let copy = s.unique_db("rt_sakila");
    load_with_client(&s, &dir, "sakila", "sakila", &copy.name);
    let n = assert_same_data(&s, "sakila", &copy.name);
    assert!(n >= 16, "only {n} tables compared");
    let mut c = s.conn();
    assert_eq!(object_names(&mut c, "sakila"), object_names(&mut c, &copy.name));
    // Metadata rows match the source.
    let meta = common::metadata::Metadata::parse(&std::fs::read_to_string(dir.join("metadata")).unwrap()).unwrap();
    assert!(meta.is_complete());
    let sums = table_sums(&mut c, "sakila");
    for (t, sum) in sums {
        assert_eq!(meta.table("sakila", &t).map(|m| m.rows), Some(sum.rows), "rows of {t} in metadata");
    }
    // Some files take more than one write through the page cache (256 KiB).
    let largest = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).max().unwrap();
    assert!(largest > 256 << 10, "largest file only {largest} bytes");
}

#[test]
fn sakila_round_trip_synced() {
    sakila_round_trip(&[]);
}

/// `--no-sync` writes through the page cache and leaves write-back to the
/// kernel: the same files, equally complete.
#[test]
fn sakila_round_trip_no_sync() {
    sakila_round_trip(&["--no-sync"]);
}

#[test]
fn data_checksums_and_where_and_empty_files() {
    let s = server();
    s.fixtures();
    let (_tmp, dir) = dump_dir(&s, &["-B", "torture", "-T", "torture.parent,torture.empty_table", "--data-checksums", "-e", "--where", "id <= 10"]);
    let names: Vec<String> = files(&dir).into_keys().collect();
    assert!(names.contains(&"torture.empty_table.00000.sql".to_string()), "{names:?}");
    assert_eq!(std::fs::metadata(dir.join("torture.empty_table.00000.sql")).unwrap().len(), 0);
    assert!(!names.iter().any(|n| n.starts_with("torture.child")), "{names:?}");
    let meta = common::metadata::Metadata::parse(&std::fs::read_to_string(dir.join("metadata")).unwrap()).unwrap();
    let parent = meta.table("torture", "parent").unwrap();
    assert_eq!(parent.rows, 10);
    let mut c = s.conn();
    let row: mysql::Row = mysql::prelude::Queryable::query_first(&mut c, "CHECKSUM TABLE torture.parent").unwrap().unwrap();
    let sum: u64 = row.get(1).unwrap();
    assert_eq!(parent.data_checksum.as_deref(), Some(sum.to_string().as_str()));
}

#[test]
fn debian_myloader_loads_rdumper_dumps() {
    assert!(have("myloader"), "Debian's myloader is needed for this compatibility test");
    let s = server();
    s.fixtures();
    for (db, args) in [("sakila", vec!["-B", "sakila"]), ("torture", vec!["-B", "torture", "-x", r"^torture\.(?!big$)"])] {
        let (_tmp, dir) = dump_dir(&s, &args);
        let copy = s.unique_db("myloader_copy");
        run_ok(
            std::process::Command::new("myloader")
                .args(s.conn_args())
                .arg("-d")
                .arg(&dir)
                .args(["-B", &copy.name, "-s", db, "-t", "2"]),
        );
        let mut c = s.conn();
        let mut src = table_sums(&mut c, db);
        src.remove("big");
        assert_eq!(src, table_sums(&mut c, &copy.name), "{db} loaded by myloader");
    }
}

/// Rows larger than one protocol packet (16 MB), NULLs and empty values,
/// read over the socket and over TCP, load back byte for byte.
#[test]
fn rows_larger_than_a_packet_round_trip() {
    let s = server();
    let src = s.unique_db("big_values");
    let mut c = s.conn();
    use mysql::prelude::Queryable;
    c.query_drop(format!("CREATE DATABASE `{}`", src.name)).unwrap();
    c.query_drop(format!(
        "CREATE TABLE `{}`.t (id INT PRIMARY KEY, b LONGBLOB, t LONGTEXT CHARACTER SET utf8mb4, n INT) ENGINE=InnoDB",
        src.name
    ))
    .unwrap();
    // Row 2 alone is about 36 MB: three packets. Row 3 holds a value of
    // exactly 16 MB - 1 bytes, the largest that fits one packet.
    c.query_drop(format!(
        "INSERT INTO `{0}`.t VALUES (1, '', '', NULL), (2, REPEAT(_binary 0x00ff0a27, 4500000), REPEAT('é\"', 6000000), 7),
         (3, REPEAT('a', 16777215), NULL, 0), (4, NULL, 'x', -1)",
        src.name
    ))
    .unwrap();
    for (how, conn) in [("socket", s.conn_args()), ("tcp", s.tcp_args())] {
        let tmp = tempdir();
        let dir = tmp.path().join("d");
        run_ok(rdumper().args(&conn).args(["-B", &src.name, "-t", "2", "-o"]).arg(&dir));
        let copy = s.unique_db("big_values_copy");
        run_ok(rloader().args(&conn).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", &src.name]));
        assert_eq!(assert_same_data(&s, &src.name, &copy.name), 1, "over {how}");
        let lens: Vec<(i32, Option<u64>, Option<u64>)> =
            c.query(format!("SELECT id, LENGTH(b), LENGTH(t) FROM `{}`.t ORDER BY id", copy.name)).unwrap();
        assert_eq!(
            lens,
            vec![(1, Some(0), Some(0)), (2, Some(18_000_000), Some(18_000_000)), (3, Some(16_777_215), None), (4, None, Some(1))],
            "over {how}"
        );
    }
}
