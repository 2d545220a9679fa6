//! Large INSERTs that rloader sends as LOAD DATA: the rows stored must be
//! exactly those the INSERTs store, and whatever LOAD DATA would store
//! differently (or only with warnings) must go as the INSERTs.

use std::fmt::Write;
use std::path::Path;
use std::process::Output;

use integration_tests::*;
use mysql::prelude::Queryable;

const HEADER: &str = "/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n\
    /*!40101 SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO,STRICT_TRANS_TABLES'*/;\n/*!40103 SET TIME_ZONE='+00:00' */;\n";

const TYPES: &str = "CREATE TABLE `types` (\n  `id` INT NOT NULL PRIMARY KEY,\n  `i` BIGINT,\n  `u` BIGINT UNSIGNED,\n  \
    `d` DECIMAL(65,30),\n  `f` FLOAT,\n  `g` DOUBLE,\n  `s` VARCHAR(200) CHARACTER SET utf8mb4,\n  `l` VARCHAR(50) CHARACTER SET latin1,\n  \
    `b` VARBINARY(100),\n  `e` ENUM('a','b','c d'),\n  `dt` DATETIME(6),\n  `t` TEXT\n) ENGINE=InnoDB;\n";

/// The header with a non-strict SQL_MODE: a bad value is stored with a
/// warning, by INSERT and LOAD DATA alike.
fn loose_header() -> String {
    HEADER.replace("NO_AUTO_VALUE_ON_ZERO,STRICT_TRANS_TABLES", "NO_AUTO_VALUE_ON_ZERO")
}

/// Rows whose every value is of a form sent as LOAD DATA: strings with
/// every escape, hex and `_binary` strings for the binary column, numbers
/// where the column reads them alike, NULLs.
fn types_rows(from: u32, count: u32) -> String {
    let mut sql = String::from("INSERT INTO `types` VALUES");
    for n in from..from + count {
        let sep = if n == from { "" } else { "," };
        let i = match n % 4 {
            0 => "-9223372036854775808".to_string(),
            1 => "9223372036854775807".to_string(),
            2 => "NULL".to_string(),
            _ => format!("-{n}"),
        };
        let u = if n % 3 == 0 { "18446744073709551615".to_string() } else { format!("{n}") };
        let d = match n % 3 {
            0 => format!("-{n}.000000000000000000000000000001"),
            1 => "99999999999999999999999999999999999.999999999999999999999999999999".to_string(),
            _ => format!("{n}"),
        };
        let f = ["1e-45", "3.4028e38", "0.1", "-1.5"][n as usize % 4];
        let g = ["4.9e-324", "-1.7976931348623157e308", "0.1", "123"][n as usize % 4];
        let s = [
            r#"'it''s \"quoted\" and \\ back'"#,
            r#""tab\tnew\nline\r\0nul\Zz""#,
            r"'\\N'",
            "'NULL'",
            "'emoji 😀 é ü'",
            "''",
            r"'per\%cent\_under'",
        ][n as usize % 7];
        let l = ["'café'", "'plain'", "NULL"][n as usize % 3];
        let b = ["0x00FF5C0A09", "X'DEADBEEF'", "_binary 'raw\\0bytes'", "_binary\"x\"", "0xABC", "''"][n as usize % 6];
        let e = ["'a'", "'c d'", "NULL"][n as usize % 3];
        let dt = ["'2020-02-29 23:59:59.999999'", "_binary '1000-01-01 00:00:00'", "NULL"][n as usize % 3];
        let _ = write!(sql, "{sep}\n({n},{i},{u},{d},{f},{g},{s},{l},{b},{e},{dt},'{}')", "x".repeat((n % 50) as usize));
    }
    sql.push_str(";\n");
    sql
}

/// Rows with values LOAD DATA would store differently: numbers for YEAR,
/// BIT and ENUM columns, an expression. They stay INSERTs.
const OTHERS: &str = "CREATE TABLE `others` (`id` INT NOT NULL PRIMARY KEY, `y` YEAR, `bits` BIT(8), `e` ENUM('x','y'), `v` VARCHAR(20)) ENGINE=InnoDB;\n";

fn others_rows(count: u32) -> String {
    let mut sql = String::from("INSERT INTO `others` VALUES");
    for n in 0..count {
        let sep = if n == 0 { "" } else { "," };
        let _ = write!(sql, "{sep}\n({n},{},0x{:02X},{},CONCAT('v',{n}))", n % 100, n % 256, 1 + n % 2);
    }
    sql.push_str(";\n");
    sql
}

fn write_types_dump(dir: &Path, rows_sql: &[String]) {
    let mut files: Vec<(String, String)> = vec![("d-schema-create.sql".into(), "CREATE DATABASE `d`;\n".into())];
    files.push(("d.types-schema.sql".into(), format!("{HEADER}{TYPES}")));
    files.push(("d.others-schema.sql".into(), format!("{HEADER}{OTHERS}")));
    for (k, sql) in rows_sql.iter().enumerate() {
        files.push((format!("d.types.{k:05}.sql"), format!("{HEADER}{sql}")));
    }
    files.push(("d.others.00000.sql".into(), format!("{HEADER}{}", others_rows(400))));
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    write_dump(dir, &refs);
}

fn load(dir: &Path, db: &str, extra: &[&str]) -> Output {
    let s = server();
    run(rloader().env("RUST_LOG", "debug").args(s.conn_args()).arg("-d").arg(dir).args(["-B", db, "-t", "2", "-v", "3"]).args(extra))
}

fn loaded(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success() && err.contains("restore completed"), "{err}");
    err
}

/// Every column of every row of `table` in `a` and `b`, as text (hex for
/// bytes), compared in primary key order.
fn assert_same_rows(c: &mut mysql::Conn, a: &str, b: &str, table: &str) -> usize {
    let cols: Vec<String> = c
        .query(format!(
            "SELECT CONCAT('HEX(`', COLUMN_NAME, '`)') FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = '{a}' AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION"
        ))
        .unwrap();
    let q = |db: &str| format!("SELECT CONCAT_WS('|', {}) FROM `{db}`.`{table}` ORDER BY 1", cols.join(", "));
    let left: Vec<Option<String>> = c.query(q(a)).unwrap();
    let right: Vec<Option<String>> = c.query(q(b)).unwrap();
    assert_eq!(left.len(), right.len(), "{table}: row counts");
    for (l, r) in left.iter().zip(&right) {
        assert_eq!(l, r, "{table}");
    }
    left.len()
}

#[test]
fn inserts_sent_as_load_data_store_what_the_inserts_store() {
    let s = server();
    let t = tempdir();
    let dir = t.path().join("dump");
    write_types_dump(&dir, &[types_rows(0, 300), types_rows(300, 300)]);
    let fast = s.unique_db("ad_fast");
    let plain = s.unique_db("ad_plain");
    let err = loaded(&load(&dir, &fast.name, &[]));
    assert!(err.contains("2 INSERT statements were sent as LOAD DATA"), "{err}");
    assert!(!err.contains("as written"), "{err}");
    let err = loaded(&load(&dir, &plain.name, &["--plain-inserts"]));
    assert!(!err.contains("sent as LOAD DATA"), "{err}");

    let mut c = s.conn();
    assert_eq!(assert_same_rows(&mut c, &fast.name, &plain.name, "types"), 600);
    assert_eq!(assert_same_rows(&mut c, &fast.name, &plain.name, "others"), 400);
    assert_eq!(table_sums(&mut c, &fast.name), table_sums(&mut c, &plain.name));
    // The values themselves, not only their agreement.
    let (s1, b1, d1): (Vec<u8>, Vec<u8>, String) =
        c.query_first(format!("SELECT s, b, CAST(d AS CHAR) FROM `{}`.types WHERE id = 1", fast.name)).unwrap().unwrap();
    assert_eq!(s1, b"tab\tnew\nline\r\0nul\x1az");
    assert_eq!(b1, b"\xde\xad\xbe\xef");
    assert_eq!(d1, "99999999999999999999999999999999999.999999999999999999999999999999");
    let s6: Vec<u8> = c.query_first(format!("SELECT s FROM `{}`.types WHERE id = 6", fast.name)).unwrap().unwrap();
    assert_eq!(s6, br"per\%cent\_under");
    let b4: Vec<u8> = c.query_first(format!("SELECT b FROM `{}`.types WHERE id = 4", fast.name)).unwrap().unwrap();
    assert_eq!(b4, b"\n\xbc");
    let (y, bits): (u32, u8) = c.query_first(format!("SELECT y, bits + 0 FROM `{}`.others WHERE id = 5", fast.name)).unwrap().unwrap();
    assert_eq!((y, bits), (2005, 5));
}

#[test]
fn load_data_with_warnings_is_redone_as_inserts() {
    let s = server();
    let t = tempdir();
    let dir = t.path().join("dump");
    // Without strict mode an overlong string is cut with a warning, by
    // INSERT and LOAD DATA alike; the warning sends the file as INSERTs.
    let loose = loose_header();
    let mut rows = types_rows(0, 300);
    rows = rows.replacen("(150,", &format!("(150,1,1,1,1,1,'{}',NULL,NULL,NULL,NULL,''),\n(1150,", "y".repeat(300)), 1);
    write_dump(
        &dir,
        &[
            ("d-schema-create.sql", "CREATE DATABASE `d`;\n"),
            ("d.types-schema.sql", &format!("{HEADER}{TYPES}")),
            ("d.types.00000.sql", &format!("{loose}{}{}", types_rows(1000, 100), rows)),
        ],
    );
    let fast = s.unique_db("ad_warn");
    let plain = s.unique_db("ad_warn_plain");
    let err = loaded(&load(&dir, &fast.name, &[]));
    assert!(err.contains("with 1 warnings; loading its INSERTs as written"), "{err}");
    // The rolled-back attempt is not counted.
    assert!(err.contains("1 tables, 401 rows,") && !err.contains("sent as LOAD DATA"), "{err}");
    loaded(&load(&dir, &plain.name, &["--plain-inserts"]));
    let mut c = s.conn();
    assert_eq!(assert_same_rows(&mut c, &fast.name, &plain.name, "types"), 401);
    let len: u32 = c.query_first(format!("SELECT CHAR_LENGTH(s) FROM `{}`.types WHERE id = 150", fast.name)).unwrap().unwrap();
    assert_eq!(len, 200);
}

#[test]
fn a_duplicate_key_fails_the_load_as_the_insert_does() {
    let s = server();
    let t = tempdir();
    let dir = t.path().join("dump");
    write_types_dump(&dir, &[types_rows(0, 300)]);
    let db = s.unique_db("ad_dup");
    let mut c = s.conn();
    c.query_drop(format!("CREATE DATABASE `{}`", db.name)).unwrap();
    c.query_drop(format!("CREATE TABLE `{}`.types {}", db.name, &TYPES["CREATE TABLE `types` ".len()..].trim_end().trim_end_matches(';')))
        .unwrap();
    c.query_drop(format!("INSERT INTO `{}`.types (id, s) VALUES (250, 'kept')", db.name)).unwrap();
    // LOAD DATA LOCAL skips a duplicate with a warning; the INSERT fails.
    let out = load(&dir, &db.name, &["--drop-table=NONE"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("d.types.00000.sql") && err.contains("Duplicate entry '250'"), "{err}");
    let rows: Vec<(u32, Option<String>)> = c.query(format!("SELECT id, s FROM `{}`.types", db.name)).unwrap();
    assert_eq!(rows, [(250, Some("kept".to_string()))]);
}

#[test]
fn a_table_that_cannot_roll_back_gets_its_inserts_as_written() {
    let s = server();
    let t = tempdir();
    let dir = t.path().join("dump");
    // A rollback would leave a MyISAM table's rows of a LOAD DATA that had
    // to be redone as INSERTs: they would be there twice.
    let loose = loose_header();
    let mut rows = String::from("INSERT INTO `m` VALUES");
    for n in 0..1000 {
        let v = if n == 500 { "z".repeat(30) } else { format!("value {n}") };
        let _ = write!(rows, "{}\n({n},'{v}')", if n == 0 { "" } else { "," });
    }
    rows.push_str(";\n");
    write_dump(
        &dir,
        &[
            ("d-schema-create.sql", "CREATE DATABASE `d`;\n"),
            ("d.m-schema.sql", &format!("{HEADER}CREATE TABLE `m` (`id` INT, `v` VARCHAR(20)) ENGINE=MyISAM;\n")),
            ("d.m.00000.sql", &format!("{loose}{rows}")),
        ],
    );
    let fast = s.unique_db("ad_myisam");
    let plain = s.unique_db("ad_myisam_plain");
    let err = loaded(&load(&dir, &fast.name, &[]));
    assert!(!err.contains("sent as LOAD DATA") && err.contains("1 tables, 1000 rows,"), "{err}");
    loaded(&load(&dir, &plain.name, &["--plain-inserts"]));
    let mut c = s.conn();
    assert_eq!(assert_same_rows(&mut c, &fast.name, &plain.name, "m"), 1000);
}

/// A LOAD DATA LOCAL file goes in packets the server takes: with a
/// `max_allowed_packet` of 64 KiB, `.dat` files of megabytes and INSERTs
/// sent as LOAD DATA load whole.
#[test]
fn load_data_packets_stay_within_max_allowed_packet() {
    // A server of its own: the limit is global, and would refuse the
    // statements of tests running beside this one.
    let p = PrivateServer::start();
    let s = &p.server;
    let mut c = s.conn();
    c.query_drop("SET GLOBAL max_allowed_packet = 65536").unwrap();
    let src = s.db_with(
        "as_data_packets",
        &[
            "CREATE TABLE {db}.t (id INT NOT NULL PRIMARY KEY, v VARCHAR(200) NOT NULL, n BIGINT) ENGINE=InnoDB",
            "INSERT INTO {db}.t SELECT seq, CONCAT(seq, ':', REPEAT('a\\'b\"c\\\\d\\te', 14)), IF(seq % 7 = 0, NULL, seq * 1000003) FROM {db}.seq_1_to_30000",
        ],
    );
    for (format, as_data) in [(&["--load-data"][..], false), (&["-s", "30000"][..], true)] {
        let t = tempdir();
        let dir = t.path().join("dump");
        run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "-o"]).arg(&dir).args(format));
        let bytes: u64 = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
        assert!(bytes > 4_000_000, "{format:?}: a dump of {bytes} bytes is too small to need many packets");
        let copy = s.unique_db("as_data_packets_copy");
        let out = run(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "-t", "2", "-v", "3"]));
        let err = loaded(&out);
        if as_data {
            assert!(err.contains("were sent as LOAD DATA"), "{format:?}: the INSERTs must go as LOAD DATA: {err}");
        }
        assert_eq!(assert_same_data(s, &src.name, &copy.name), 1, "{format:?}");
    }
}
