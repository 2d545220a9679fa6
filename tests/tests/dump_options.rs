//! rdumper's options, spelled as mydumper's: object selection, statement
//! forms, headers, locking modes.

mod dump_support;

use std::collections::BTreeSet;

use dump_support::*;
use mysql::prelude::Queryable;
use integration_tests::*;

fn names(dir: &std::path::Path) -> BTreeSet<String> {
    files(dir).into_keys().collect()
}

#[test]
fn object_selection_options() {
    let s = server();
    s.fixtures();
    // -m: no schema files; -W: no views; -i: no MyISAM tables.
    let (_t, dir) = dump_dir(&s, &["-B", "torture", "-m", "-W", "-i", "MyISAM", "-x", r"^torture\.(?!big$)"]);
    let n = names(&dir);
    assert!(!n.iter().any(|f| f.contains("-schema")), "{n:?}");
    assert!(!n.iter().any(|f| f.contains("myisam_table")), "{n:?}");
    assert!(n.contains("torture.parent.00000.sql"), "{n:?}");
    // -d: schemas only, views included.
    let (_t, dir) = dump_dir(&s, &["-B", "torture", "-d", "-x", r"^torture\.(?!big$)"]);
    let n = names(&dir);
    assert!(!n.iter().any(|f| f.ends_with(".00000.sql")), "{n:?}");
    assert!(n.contains("torture.v_parent-schema-view.sql") && n.contains("torture.parent-schema.sql"), "{n:?}");
    // -O: omit a table and a whole database; -T without a database takes -B's.
    let tmp = tempdir();
    let omit = tmp.path().join("omit");
    std::fs::write(&omit, "torture.parent\ntorture-2\n").unwrap();
    let (_t, dir) = dump_dir(&s, &["-B", "torture,torture-2", "-T", "parent,child,t", "-O", omit.to_str().unwrap()]);
    let n = names(&dir);
    assert!(n.contains("torture.child.00000.sql"), "{n:?}");
    assert!(!n.iter().any(|f| f.starts_with("torture.parent") || f.starts_with("torture-2")), "{n:?}");
    // -G/-R/-E off by default: no triggers or post files.
    assert!(!n.iter().any(|f| f.contains("triggers") || f.contains("post")), "{n:?}");
}

#[test]
fn statement_options() {
    let s = server();
    s.fixtures();
    let (_t, dir) = dump_dir(&s, &["-B", "torture", "-T", "torture.dash-table", "--replace", "--complete-insert", "--skip-tz-utc", "--set-names", "utf8mb4,latin1"]);
    let schema = std::fs::read_to_string(dir.join("torture.dash-table-schema.sql")).unwrap();
    assert!(schema.starts_with("/*!40101 SET NAMES utf8mb4*/;\n"), "{schema}");
    assert!(!schema.contains("TIME_ZONE"), "{schema}");
    let data = std::fs::read_to_string(dir.join("torture.dash-table.00000.sql")).unwrap();
    assert!(data.starts_with("/*!40101 SET NAMES latin1*/;\n"), "{data}");
    assert!(data.contains("REPLACE INTO `dash-table` (`id`) VALUES("), "{data}");
    let (_t, dir) = dump_dir(&s, &["-B", "torture", "-T", "torture.dash-table", "-N", "-c"]);
    let n = names(&dir);
    assert!(n.contains("torture.dash-table.00000.sql.zst"), "bare -c is ZSTD: {n:?}");
    let data = read_text(&dir.join("torture.dash-table.00000.sql.zst"));
    assert!(data.contains("INSERT IGNORE INTO `dash-table` VALUES("), "{data}");
    // Bad values are refused with the option named.
    for (args, what) in [
        (vec!["--format", "XML"], "--format"),
        (vec!["-c", "LZ4"], "--compress"),
        (vec!["-r", "a:b"], "--rows"),
        (vec!["--stream", "sideways"], "--stream"),
        (vec!["-N", "--replace"], "--replace"),
    ] {
        let out = run(rdumper_for(&s).args(&args));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(what), "{args:?}: {err}");
    }
}

fn read_text(p: &std::path::Path) -> String {
    let mut s = String::new();
    std::io::Read::read_to_string(&mut common::compress::open(p).unwrap(), &mut s).unwrap();
    s
}

/// The rows in the INSERT data files of `table` in dump `dir`: a row
/// starts a statement (`VALUES(`) or follows one (`\n,(`).
fn insert_rows(dir: &std::path::Path, table: &str) -> usize {
    names(dir)
        .iter()
        .filter(|n| n.ends_with(".sql") && n.contains(&format!(".{table}.0")))
        .map(|n| read_text(&dir.join(n)))
        .map(|text| text.matches("\n,(").count() + text.matches("VALUES(").count())
        .sum()
}

#[test]
fn non_transactional_tables_are_dumped_under_the_lock() {
    let s = server();
    s.fixtures();
    let tmp = tempdir();
    let out = run_ok(
        rdumper_for(&s)
            .args(["-B", "torture", "-T", "torture.myisam_table,torture.parent", "-v", "3", "-t", "1"])
            .arg("-o")
            .arg(tmp.path().join("d")),
    );
    let log = String::from_utf8_lossy(&out.stderr);
    let at = |needle: &str| log.find(needle).unwrap_or_else(|| panic!("{needle} not logged:\n{log}"));
    assert!(at("`myisam_table` chunk") < at("global read lock released"), "{log}");
    assert!(at("global read lock released") < at("`parent` chunk"), "{log}");
    // --trx-consistency-only releases the lock before any data.
    let out = run_ok(
        rdumper_for(&s)
            .args(["-B", "torture", "-T", "torture.myisam_table", "-v", "3", "--trx-consistency-only"])
            .arg("-o")
            .arg(tmp.path().join("d2")),
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.find("global read lock released").unwrap() < log.find("`myisam_table` chunk").unwrap(), "{log}");
    // -k takes no lock and says so.
    let out = run_ok(rdumper_for(&s).args(["-B", "torture-2", "-k"]).arg("-o").arg(tmp.path().join("d3")));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-locks"));
    // --optimize-keys-engines names the engines read in the snapshot: with
    // MyISAM among them, its table waits for the lock's release.
    let out = run_ok(
        rdumper_for(&s)
            .args(["-B", "torture", "-T", "torture.myisam_table", "-v", "3", "--optimize-keys-engines", "InnoDB,MyISAM"])
            .arg("-o")
            .arg(tmp.path().join("d4")),
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.find("global read lock released").unwrap() < log.find("`myisam_table` chunk").unwrap(), "{log}");
}

#[test]
fn positional_database_streams_to_stdout() {
    let s = server();
    s.fixtures();
    let out = run_ok(rdumper_for(&s).args(["torture", "torture.parent"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("\n-- metadata.header "), "{}", &text[..100.min(text.len())]);
    assert!(text.contains("\n-- torture.parent.00000.sql "));
    assert!(!text.contains("\n-- torture.child"));
}

#[test]
fn statement_size_bounds_each_insert() {
    let s = server();
    s.fixtures();
    let (_t, dir) = dump_dir(&s, &["-B", "torture", "-T", "torture.parent", "-s", "2000"]);
    let text = std::fs::read_to_string(dir.join("torture.parent.00000.sql")).unwrap();
    let statements: Vec<&str> = text.split_inclusive(";\n").collect();
    assert!(statements.len() > 8, "{} statements", statements.len());
    let mut rows = 0;
    for (i, st) in statements.iter().enumerate() {
        // The first statement carries the file header.
        assert!(st.len() <= 2000, "statement {i} has {} bytes", st.len());
        if st.starts_with("/*!") && i < 4 {
            continue;
        }
        let lines: Vec<&str> = st.lines().collect();
        assert!(lines[0].starts_with("INSERT INTO `parent` VALUES("), "{st}");
        assert!(lines[1..lines.len() - 1].iter().all(|l| l.starts_with(",(")), "{st}");
        assert_eq!(*lines.last().unwrap(), ";");
        rows += lines.len() - 1;
    }
    assert_eq!(rows, 1000);
    let meta = common::metadata::Metadata::parse(&std::fs::read_to_string(dir.join("metadata")).unwrap()).unwrap();
    let max = meta.max_statement_size.unwrap();
    assert!(max > 1000 && max <= 2000, "max-statement-size {max}");
}

#[test]
fn updated_since_skips_tables_not_changed_lately() {
    let s = server();
    let db = s.db_with(
        "upd",
        &[
            "CREATE TABLE {db}.fresh (id INT PRIMARY KEY) ENGINE=InnoDB",
            "INSERT INTO {db}.fresh VALUES (1), (2)",
            "CREATE TABLE {db}.stale (id INT PRIMARY KEY) ENGINE=MyISAM",
            "INSERT INTO {db}.stale VALUES (1)",
        ],
    );
    // MyISAM's UPDATE_TIME is its data file's modification time.
    let mut c = s.conn();
    c.query_drop("FLUSH TABLES").unwrap();
    let datadir: String = c.query_first("SELECT @@datadir").unwrap().unwrap();
    let data_file = std::path::Path::new(&datadir).join(&db.name).join("stale.MYD");
    run_ok(std::process::Command::new("touch").args(["-d", "10 days ago"]).arg(&data_file));

    let (_t, dir) = dump_dir(&s, &["-B", &db.name, "-U", "2"]);
    let n = names(&dir);
    let fresh = format!("{}.fresh.00000.sql", db.name);
    assert!(n.contains(&fresh) && n.contains(&format!("{}.fresh-schema.sql", db.name)), "{n:?}");
    assert!(!n.iter().any(|f| f.contains("stale")), "{n:?}");
    let listed = std::fs::read_to_string(dir.join("not_updated_tables")).unwrap();
    assert_eq!(listed, format!("{}.stale\n", db.name));
    // A window that reaches back past the change takes both tables, and the
    // list is written empty.
    let (_t, dir) = dump_dir(&s, &["-B", &db.name, "-U", "30"]);
    assert!(names(&dir).contains(&format!("{}.stale.00000.sql", db.name)));
    assert_eq!(std::fs::read_to_string(dir.join("not_updated_tables")).unwrap(), "");

    // rloader loads such a dump and passes over the list.
    let (_t, dir) = dump_dir(&s, &["-B", &db.name, "-U", "2"]);
    let copy = s.unique_db("upd_copy");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", &db.name]));
    let (src, dst) = (table_sums(&mut c, &db.name), table_sums(&mut c, &copy.name));
    assert_eq!(dst.keys().collect::<Vec<_>>(), vec!["fresh"], "{dst:?}");
    assert_eq!(src["fresh"], dst["fresh"]);
}

/// `--use-savepoints`: DDL on a table the dump has finished goes through
/// while the dump is still at work on another; without it the worker's
/// transaction keeps the table's metadata lock to the end.
#[test]
fn savepoints_release_finished_tables() {
    let s = server();
    let db = s.db_with(
        "svp",
        &[
            // Non-transactional: dumped first, under the global lock.
            &["CREATE TABLE {db}.small (id INT PRIMARY KEY) ENGINE=MyISAM", "INSERT INTO {db}.small VALUES (1), (2), (3)"][..],
            &BIG_TABLE[..],
        ]
        .concat(),
    );
    for savepoints in [true, false] {
        let mut args = vec!["-B", db.name.as_str()];
        if savepoints {
            args.push("--use-savepoints");
        }
        let child = stalled_stream_dump(&s, &args, &db.name, "big");
        let mut c = s.conn();
        c.query_drop("SET SESSION lock_wait_timeout = 1").unwrap();
        let alter = c.query_drop(format!("ALTER TABLE `{}`.small ADD COLUMN n INT", db.name));
        let files = finish_stalled(child);
        let small = files.iter().find(|(n, _)| *n == format!("{}.small.00000.sql", db.name)).expect("small's data");
        assert!(String::from_utf8_lossy(&small.1).contains("(3)"));
        assert!(files.iter().any(|(n, _)| *n == format!("{}.big.00000.sql", db.name)));
        if savepoints {
            alter.unwrap_or_else(|e| panic!("with --use-savepoints the ALTER should not wait: {e}"));
            c.query_drop(format!("ALTER TABLE `{}`.small DROP COLUMN n", db.name)).unwrap();
        } else {
            let e = alter.expect_err("without savepoints the worker holds small's metadata lock");
            assert!(e.to_string().contains("Lock wait timeout"), "{e}");
        }
    }
}

/// A table of 200,000 rows (about 40 MB of dump), for dumps that must stay
/// in one table a while.
const BIG_TABLE: [&str; 2] = [
    "CREATE TABLE {db}.big (id INT PRIMARY KEY, pad CHAR(200) NOT NULL) ENGINE=InnoDB",
    "INSERT INTO {db}.big SELECT seq, REPEAT('x', 200) FROM {db}.seq_1_to_200000",
];

/// Starts rdumper on `args` with `--stream` and a small stream buffer, and
/// returns once a worker reads `table`: the stream is not read yet, so the
/// dump stays in that table until `finish_stalled` reads it.
fn stalled_stream_dump(s: &Server, args: &[&str], db: &str, table: &str) -> std::process::Child {
    let mut child = rdumper_for(s)
        .args(args)
        .args(["-t", "1", "--stream", "--stream-buffer", "1M"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut c = s.conn();
    let reading = format!("INFO LIKE '%FROM `{db}`.`{table}`%'");
    wait_until(std::time::Duration::from_secs(60), "the dump reading the table", || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("rdumper ended early ({status}): {}", read_stderr(&mut child));
        }
        !process_ids(&mut c, &reading).is_empty()
    });
    child
}

/// Reads the stalled dump's stream to its end; the dump must succeed.
fn finish_stalled(mut child: std::process::Child) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut stream = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut stream).unwrap();
    let status = wait_exit(&mut child, std::time::Duration::from_secs(120), "rdumper");
    assert!(status.success(), "{}", read_stderr(&mut child));
    parse_stream(&stream[..])
}

/// `--lock-all-tables`: while the lock is held (here during a MyISAM
/// table's data), writes to the selected tables wait and writes elsewhere
/// go on; the global read lock of the default blocks both. On a server of
/// its own, as that global lock would make other tests' writes wait.
#[test]
fn lock_all_tables_locks_only_the_selection() {
    let private = PrivateServer::start();
    let s = &private.server;
    let db = s.db_with(
        "lat",
        &[
            "CREATE TABLE {db}.slow (id INT PRIMARY KEY, pad CHAR(200) NOT NULL) ENGINE=MyISAM",
            "INSERT INTO {db}.slow SELECT seq, REPEAT('x', 200) FROM {db}.seq_1_to_200000",
            "CREATE TABLE {db}.inno (id INT PRIMARY KEY) ENGINE=InnoDB",
            "INSERT INTO {db}.inno VALUES (1)",
        ],
    );
    let other = s.db_with("lat_other", &["CREATE TABLE {db}.w (id INT PRIMARY KEY) ENGINE=InnoDB"]);
    let mut c = s.conn();
    c.query_drop("SET SESSION lock_wait_timeout = 1").unwrap();
    let timed_out = |r: Result<(), mysql::Error>| match r {
        Err(e) => assert!(e.to_string().contains("Lock wait timeout"), "{e}"),
        Ok(()) => panic!("the write should have waited for the dump's lock"),
    };
    for (n, lock_all) in [(1, true), (2, false)] {
        let mut args = vec!["-B", db.name.as_str()];
        if lock_all {
            args.push("--lock-all-tables");
        }
        let child = stalled_stream_dump(s, &args, &db.name, "slow");
        let elsewhere = c.query_drop(format!("INSERT INTO `{}`.w VALUES ({n})", other.name));
        timed_out(c.query_drop(format!("INSERT INTO `{}`.inno VALUES (100 + {n})", db.name)));
        if lock_all {
            elsewhere.unwrap();
        } else {
            timed_out(elsewhere);
        }
        let files = finish_stalled(child);
        let inno = files.iter().find(|(f, _)| *f == format!("{}.inno.00000.sql", db.name)).expect("inno's data");
        assert!(String::from_utf8_lossy(&inno.1).contains("(1)"));
        assert!(files.iter().any(|(f, _)| *f == format!("{}.slow.00000.sql", db.name)));
    }
    // A directory dump with it loads back to the same data.
    let (_t, dir) = dump_dir(s, &["-B", &db.name, "--lock-all-tables"]);
    let copy = s.unique_db("lat_copy");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", &db.name]));
    assert_eq!(assert_same_data(s, &db.name, &copy.name), 2);
}

/// A table dropped while the dump runs (here after its schema was dumped,
/// which `--use-savepoints` lets DDL do): the dump fails and names it, or
/// with `--success-on-1146` skips it with a warning and finishes.
#[test]
fn table_dropped_during_the_dump() {
    let s = server();
    let db = s.db_with("gone", &BIG_TABLE);
    let mut c = s.conn();
    for skip in [false, true] {
        c.query_drop(format!("CREATE TABLE `{}`.small (id INT PRIMARY KEY) ENGINE=InnoDB", db.name)).unwrap();
        c.query_drop(format!("INSERT INTO `{}`.small VALUES (1)", db.name)).unwrap();
        let mut args = vec!["-B", db.name.as_str(), "--use-savepoints"];
        if skip {
            args.push("--success-on-1146");
        }
        // Largest first: `small`'s data comes after `big`'s.
        let mut child = stalled_stream_dump(&s, &args, &db.name, "big");
        c.query_drop(format!("DROP TABLE `{}`.small", db.name)).unwrap();
        let mut stream = Vec::new();
        std::io::Read::read_to_end(&mut child.stdout.take().unwrap(), &mut stream).unwrap();
        let status = wait_exit(&mut child, std::time::Duration::from_secs(120), "rdumper");
        let log = read_stderr(&mut child);
        assert!(log.contains("small") && log.contains("1146"), "{log}");
        if skip {
            assert!(status.success(), "{log}");
            let files = parse_stream(&stream[..]);
            let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
            assert!(names.contains(&format!("{}.big.00000.sql", db.name).as_str()), "{names:?}");
            assert!(!names.contains(&format!("{}.small.00000.sql", db.name).as_str()), "{names:?}");
            assert_eq!(names.last(), Some(&"metadata"));
        } else {
            assert!(!status.success(), "a vanished table must fail the dump: {log}");
        }
    }
}

/// `--skip-definer`: views, triggers, routines and events are written
/// without their DEFINER clause, and load as before; `--replace-definer`
/// writes another account in it.
#[test]
fn skip_definer_leaves_the_definer_out() {
    let s = server();
    s.fixtures();
    let with_definer = |dir: &std::path::Path| -> Vec<String> {
        names(dir)
            .into_iter()
            .filter(|n| n.contains("-schema-view") || n.contains("-schema-triggers") || n.contains("-schema-post"))
            .filter(|n| read_text(&dir.join(n)).contains("DEFINER="))
            .collect()
    };
    let objects = ["-B", "torture", "-G", "-R", "-E", "-x", r"^torture\.(?!big$)"];
    let (_t, dir) = dump_dir(&s, &objects);
    let kept = with_definer(&dir);
    assert!(kept.iter().any(|n| n.contains("-schema-view")) && kept.iter().any(|n| n.contains("-schema-post")), "{kept:?}");
    let (_t, replaced) = dump_dir(&s, &[&objects[..], &["--replace-definer", "rdump_pw@localhost"]].concat());
    let written = with_definer(&replaced);
    assert_eq!(written, kept);
    for n in &written {
        let text = read_text(&replaced.join(n));
        assert!(text.contains("DEFINER=`rdump_pw`@`localhost`") && !text.contains("DEFINER=`root`"), "{n}: {text}");
    }
    let copy = s.unique_db("repldef_copy");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&replaced).args(["-B", &copy.name, "-s", "torture"]));
    let mut c = s.conn();
    let definers: Vec<String> =
        c.exec("SELECT DISTINCT DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?", (&copy.name,)).unwrap();
    assert_eq!(definers, vec!["rdump_pw@localhost".to_string()]);
    let (_t, dir) = dump_dir(&s, &[&objects[..], &["--skip-definer"]].concat());
    assert_eq!(with_definer(&dir), Vec::<String>::new());
    let copy = s.unique_db("skipdef_copy");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", "torture"]));
    let mut c = s.conn();
    assert_eq!(object_names(&mut c, &copy.name), object_names(&mut c, "torture"));
    let mut source = table_sums(&mut c, "torture");
    source.remove("big");
    assert_eq!(table_sums(&mut c, &copy.name), source);
}

/// The processes whose command line has `arg` as one of its words.
fn processes_with_arg(arg: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            cmdline.split(|b| *b == 0).any(|w| w == arg.as_bytes()).then_some(pid)
        })
        .collect()
}

/// `-D`: the command returns at once and a process in the background dumps
/// into DIR/0 and points DIR/last_dump at it; a daemon started again goes
/// on with DIR/1, then DIR/0 (`-X 2`); SIGTERM stops it.
#[test]
fn daemon_dumps_into_numbered_directories_in_turn() {
    let s = server();
    let db = s.db_with("dmn", &["CREATE TABLE {db}.t (id INT PRIMARY KEY)", "INSERT INTO {db}.t VALUES (1), (2)"]);
    let tmp = tempdir();
    let base = tmp.path().join("daemon");
    let base_arg = base.to_str().unwrap().to_string();
    let last_dump = || std::fs::read_link(base.join("last_dump")).ok();
    for expected in ["0", "1", "0"] {
        let status = rdumper_for(&s)
            .args(["-B", &db.name, "-D", "-I", "60", "-X", "2", "-v", "3", "-L"])
            .arg(tmp.path().join("log"))
            .args(["-o", &base_arg])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        wait_until(std::time::Duration::from_secs(60), "the daemon's dump", || {
            last_dump().is_some_and(|t| t == std::path::Path::new(expected))
        });
        let dump = base.join(expected);
        assert!(dump.join("metadata").exists() && dump.join(format!("{}.t.00000.sql", db.name)).exists());
        // It waits for its next dump, until told to stop.
        let pids = processes_with_arg(&base_arg);
        assert_eq!(pids.len(), 1, "{pids:?}");
        run_ok(std::process::Command::new("kill").args(["-TERM", &pids[0].to_string()]));
        wait_until(std::time::Duration::from_secs(30), "the daemon to stop", || processes_with_arg(&base_arg).is_empty());
    }
    let log = std::fs::read_to_string(tmp.path().join("log")).unwrap();
    assert!(log.contains("daemon: stopped"), "{log}");
    let copy = s.unique_db("dmn_copy");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(base.join("0")).args(["-B", &copy.name, "-s", &db.name]));
    assert_eq!(assert_same_data(&s, &db.name, &copy.name), 1);
}

/// `--skip-indexes` and `--skip-constraints`: schema files without the
/// secondary indexes, or without the foreign keys and table CHECKs; the
/// dump loads into tables holding the same rows.
#[test]
fn skip_indexes_and_constraints_in_schema_files() {
    let s = server();
    s.fixtures();
    let objects = ["-B", "torture", "-x", r"^torture\.(?!big$)"];
    let child = "torture.child-schema.sql";
    let (_t, full) = dump_dir(&s, &objects);
    let text = read_text(&full.join(child));
    assert!(text.contains("  KEY `parent_id`") && text.contains("  CONSTRAINT `child_ibfk_1` FOREIGN KEY"), "{text}");
    for (option, gone, kept) in [
        ("--skip-indexes", "  KEY `parent_id`", "  CONSTRAINT `child_ibfk_1` FOREIGN KEY"),
        ("--skip-constraints", "  CONSTRAINT `child_ibfk_1`", "  KEY `parent_id`"),
    ] {
        let (_t, dir) = dump_dir(&s, &[&objects[..], &[option]].concat());
        let text = read_text(&dir.join(child));
        assert!(!text.contains(gone) && text.contains(kept) && text.contains("PRIMARY KEY"), "{option}: {text}");
        let copy = s.unique_db("skipkeys_copy");
        run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", "torture"]));
        let mut c = s.conn();
        let mut source = table_sums(&mut c, "torture");
        source.remove("big");
        assert_eq!(table_sums(&mut c, &copy.name), source, "{option}");
    }
}

/// `--check-row-count`: each table's rows are counted in the dump's
/// snapshot and the dump fails, naming the table, when it wrote another
/// number. A `--where` that counts its calls in a session variable gives
/// the first query of a session every row (the variable is still NULL when
/// the query is planned) and the next one 99: alone, the data query writes
/// all 500; after the COUNT(*) on the same connection (`-t 1`) it writes
/// 99, and the check fails the dump.
#[test]
fn check_row_count_catches_rows_the_data_query_missed() {
    let s = server();
    s.fixtures();
    let db = s.db_with("rowcount", &["CREATE TABLE {db}.t (id INT PRIMARY KEY)", "INSERT INTO {db}.t SELECT seq FROM {db}.seq_1_to_500"]);
    let tmp = tempdir();
    let (_t, ok) = dump_dir(&s, &["-B", "torture", "-x", r"^torture\.(?!big$)", "-r", "1000", "--check-row-count", "-v", "3"]);
    assert!(ok.join("metadata").exists());
    let quirky = "(@n := COALESCE(@n, 0) + 1) <= 100";
    let plain = tmp.path().join("plain");
    run_ok(rdumper_for(&s).args(["-B", &db.name, "-t", "1", "--where", quirky, "-o"]).arg(&plain));
    let data = std::fs::read_to_string(plain.join(format!("{}.t.00000.sql", db.name))).unwrap_or_default();
    assert!(data.contains("(1)") && data.contains("(500)"), "{data}");
    let checked = tmp.path().join("checked");
    let out = run(rdumper_for(&s).args(["-B", &db.name, "-t", "1", "--check-row-count", "--where", quirky, "-o"]).arg(&checked));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("`{}`.`t`", db.name)) && err.contains("99 rows written") && err.contains("COUNT(*) counts 500"), "{err}");
    assert!(!checked.join("metadata").exists());
}

/// A view whose table is gone is dumped with a warning naming it;
/// `--exit-if-broken-table-found` fails the dump instead.
#[test]
fn broken_view_warns_or_fails_the_dump() {
    let s = server();
    let db = s.db_with(
        "broken",
        &[
            "CREATE TABLE {db}.gone (a INT)",
            "CREATE VIEW {db}.v AS SELECT a FROM {db}.gone",
            "DROP TABLE {db}.gone",
            "CREATE TABLE {db}.ok (a INT)",
            "INSERT INTO {db}.ok VALUES (5)",
        ],
    );
    let tmp = tempdir();
    let warned = tmp.path().join("warned");
    let out = run_ok(rdumper_for(&s).args(["-B", &db.name, "-o"]).arg(&warned));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("`{}`.`v` is broken", db.name)) && err.contains("1356"), "{err}");
    assert!(warned.join("metadata").exists() && warned.join(format!("{}.ok.00000.sql", db.name)).exists());
    let failed = tmp.path().join("failed");
    let out = run(rdumper_for(&s).args(["-B", &db.name, "--exit-if-broken-table-found", "-o"]).arg(&failed));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("`{}`.`v` is broken", db.name)) && err.contains("--exit-if-broken-table-found"), "{err}");
    assert!(!failed.join("metadata").exists());
}

/// `--views-as-tables`: each view is dumped as a table of its columns with
/// its rows, and loads as one holding exactly the rows the view shows.
#[test]
fn views_as_tables_hold_the_views_rows() {
    let s = server();
    s.fixtures();
    let (_t, dir) = dump_dir(&s, &["-B", "sakila", "--views-as-tables"]);
    let all = names(&dir);
    let mut c = s.conn();
    let views: Vec<String> =
        c.query("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'sakila' ORDER BY 1").unwrap();
    assert!(views.len() >= 5, "{views:?}");
    for v in &views {
        assert!(all.contains(&format!("sakila.{v}-schema.sql")) && all.contains(&format!("sakila.{v}.00000.sql")), "{v}: {all:?}");
        assert!(!all.contains(&format!("sakila.{v}-schema-view.sql")), "{v}");
    }
    let copy = s.unique_db("vat_copy");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", "sakila"]));
    for v in &views {
        let kind: String = c
            .exec_first("SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", (&copy.name, v))
            .unwrap()
            .unwrap();
        assert_eq!(kind, "BASE TABLE", "{v}");
        let count = |c: &mut mysql::Conn, q: String| -> u64 { c.query_first(q).unwrap().unwrap() };
        let src_rows = count(&mut c, format!("SELECT COUNT(*) FROM sakila.`{v}`"));
        assert!(src_rows > 0, "{v}");
        assert_eq!(count(&mut c, format!("SELECT COUNT(*) FROM `{}`.`{v}`", copy.name)), src_rows, "{v}");
        for (a, b) in [("sakila", copy.name.as_str()), (copy.name.as_str(), "sakila")] {
            let only = count(&mut c, format!("SELECT COUNT(*) FROM (SELECT * FROM `{a}`.`{v}` EXCEPT SELECT * FROM `{b}`.`{v}`) x"));
            assert_eq!(only, 0, "{v}: rows in {a} and not in {b}");
        }
    }
    // Base tables came along as ever.
    let mut src = table_sums(&mut c, "sakila");
    let got = table_sums(&mut c, &copy.name);
    src.retain(|t, _| !views.contains(t));
    let got: std::collections::BTreeMap<_, _> = got.into_iter().filter(|(t, _)| !views.contains(t)).collect();
    assert_eq!(src, got);
}

/// `--sync-thread-lock-mode=SAFE_NO_LOCK`: no lock is taken, and a dump
/// whose workers took their snapshots while the binary log moved fails;
/// NO_LOCK warns of it instead. On a server of the test's own, so that only
/// its writer moves the binary log.
#[test]
fn safe_no_lock_fails_when_the_binary_log_moves() {
    let private = PrivateServer::start();
    let s = &private.server;
    let db = s.db_with("safe", &["CREATE TABLE {db}.t (id INT PRIMARY KEY)", "INSERT INTO {db}.t VALUES (1), (2)", "CREATE TABLE {db}.w (id INT AUTO_INCREMENT PRIMARY KEY)"]);
    let tmp = tempdir();
    let dump = |mode: &str, n: usize| {
        let dir = tmp.path().join(format!("{mode}{n}"));
        let out = run(rdumper().args(s.conn_args()).args(["-B", &db.name, "-T", &format!("{}.t", db.name), "-t", "8", "--sync-thread-lock-mode", mode, "-o"]).arg(&dir));
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned(), dir)
    };
    let (ok, err, dir) = dump("SAFE_NO_LOCK", 0);
    assert!(ok && dir.join("metadata").exists(), "{err}");
    assert!(!err.contains("moved"), "{err}");

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let (s, table) = (s.clone(), format!("`{}`.w", db.name));
        std::thread::spawn(move || {
            let mut c = s.conn();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                c.query_drop(format!("INSERT INTO {table} VALUES ()")).unwrap();
            }
        })
    };
    let mut failed = None;
    for n in 1..=20 {
        let (ok, err, dir) = dump("SAFE_NO_LOCK", n);
        if !ok {
            assert!(!dir.join("metadata").exists());
            failed = Some(err);
            break;
        }
    }
    let mut warned = None;
    for n in 1..=20 {
        let (ok, err, _) = dump("NO_LOCK", n);
        assert!(ok, "{err}");
        if err.contains("binary log moved") {
            warned = Some(err);
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    let failed = failed.expect("SAFE_NO_LOCK never saw the binary log move in 20 dumps under writes");
    assert!(failed.contains("binary log moved") && failed.contains("SAFE_NO_LOCK"), "{failed}");
    assert!(warned.is_some(), "NO_LOCK never warned in 20 dumps under writes");
}

/// `--table-engine-for-view-dependency`: the table standing in for a view
/// until it is created has that engine (MEMORY by default), and the dump
/// loads; a name that is not one is refused.
#[test]
fn view_placeholder_engine() {
    let s = server();
    s.fixtures();
    let placeholder = |dir: &std::path::Path| read_text(&dir.join("torture.v_parent-schema.sql"));
    let objects = ["-B", "torture", "-x", r"^torture\.(?!big$)"];
    let (_t, plain) = dump_dir(&s, &objects);
    assert!(placeholder(&plain).contains(") ENGINE=MEMORY;"), "{}", placeholder(&plain));
    let (_t, dir) = dump_dir(&s, &[&objects[..], &["--table-engine-for-view-dependency", "InnoDB"]].concat());
    assert!(placeholder(&dir).contains(") ENGINE=InnoDB;"), "{}", placeholder(&dir));
    let copy = s.unique_db("view_engine");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", "torture"]));
    let mut c = s.conn();
    assert_eq!(object_names(&mut c, &copy.name)["view"], object_names(&mut c, "torture")["view"]);
    let out = run(rdumper_for(&s).args(["-B", "torture", "--table-engine-for-view-dependency", "x; DROP", "-o"]).arg(tempdir().path().join("no")));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not an engine name"));
}

/// `--exec CMD`: CMD runs on every file of the dump, its path the last
/// argument, `metadata` last; a run that fails fails the dump before its
/// metadata; with `--stream` it is refused.
#[test]
fn exec_runs_on_every_file() {
    use std::os::unix::fs::PermissionsExt;
    let s = server();
    s.fixtures();
    let tmp = tempdir();
    let copies = tmp.path().join("copies");
    std::fs::create_dir(&copies).unwrap();
    let script = tmp.path().join("copy.sh");
    std::fs::write(&script, "#!/bin/sh\ncp \"$1\" \"$COPY_TO/\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = tmp.path().join("dump");
    run_ok(
        rdumper_for(&s)
            .args(["-B", "torture", "-G", "-R", "-E", "-x", r"^torture\.(?!big$)", "--exec-threads", "3", "--exec"])
            .arg(&script)
            .arg("-o")
            .arg(&dir)
            .env("COPY_TO", &copies),
    );
    let dumped = names(&dir);
    assert!(dumped.contains("metadata") && dumped.len() > 20);
    assert_eq!(names(&copies), dumped);
    for n in &dumped {
        assert_eq!(std::fs::read(dir.join(n)).unwrap(), std::fs::read(copies.join(n)).unwrap(), "{n}");
    }

    let failed = tmp.path().join("failed");
    let out = run(rdumper_for(&s).args(["-B", "torture", "-T", "torture.parent", "--exec", "false", "-o"]).arg(&failed));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--exec `false` failed on"), "{err}");
    assert!(!failed.join("metadata").exists());
    let out = run(rdumper_for(&s).args(["-B", "torture", "--exec", "true", "--stream"]));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--exec"));
}

/// The metadata's table sections are sorted by `db`.`table` (byte order:
/// `B` before `a`); `--skip-metadata-sorting` keeps the catalog's order.
#[test]
fn metadata_sections_sorted_unless_told() {
    let s = server();
    let db = s.db_with("mdsort", &["CREATE TABLE {db}.a (id INT)", "CREATE TABLE {db}.B (id INT)"]);
    let order = |extra: &[&str]| -> Vec<String> {
        let (_t, dir) = dump_dir(&s, &[&["-B", db.name.as_str()][..], extra].concat());
        read_text(&dir.join("metadata"))
            .lines()
            .filter(|l| l.starts_with("[`") && l.contains("`.`"))
            .map(str::to_string)
            .collect()
    };
    let a = format!("[`{}`.`a`]", db.name);
    let b = format!("[`{}`.`B`]", db.name);
    assert_eq!(order(&[]), vec![b.clone(), a.clone()]);
    assert_eq!(order(&["--skip-metadata-sorting"]), vec![a, b]);
}

/// `--max-threads-per-table 1`: however many workers, one table's chunks
/// are read one at a time (the process list never shows two of its data
/// queries at once; without the option it does), and all rows arrive.
#[test]
fn max_threads_per_table_caps_one_tables_readers() {
    let s = server();
    let db = s.db_with("perTable", &["CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)", "INSERT INTO {db}.t SELECT seq, seq FROM {db}.seq_1_to_4000"]);
    let most_at_once = |extra: &[&str]| -> usize {
        let tmp = tempdir();
        let marker = format!("perTable-{}", extra.len());
        let mut child = rdumper_for(&s)
            .args(["-B", &db.name, "-t", "4", "-r", "500", "--where"])
            .arg(format!("SLEEP(0.0004) = 0 /* {marker} */"))
            .args(extra)
            .arg("-o")
            .arg(tmp.path().join("d"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut watch = s.conn();
        let mut most = 0;
        while child.try_wait().unwrap().is_none() {
            let n = process_ids(&mut watch, &format!("INFO LIKE 'SELECT%{marker}%'")).len();
            most = most.max(n);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(child.wait().unwrap().success());
        assert_eq!(insert_rows(&tmp.path().join("d"), "t"), 4000);
        most
    };
    assert_eq!(most_at_once(&["--max-threads-per-table", "1"]), 1);
    assert!(most_at_once(&[]) > 1, "the chunks of one table ran one at a time without the option too");
}

/// `--sync-wait N` sets wsrep_sync_wait on every dump connection: a
/// `--where` that reads it back lets the rows through only then.
#[test]
fn sync_wait_is_set_on_every_connection() {
    let s = server();
    let db = s.db_with("syncwait", &["CREATE TABLE {db}.t (id INT PRIMARY KEY)", "INSERT INTO {db}.t SELECT seq FROM {db}.seq_1_to_100"]);
    let rows = |extra: &[&str]| -> usize {
        let (_t, dir) = dump_dir(&s, &[&["-B", db.name.as_str(), "-t", "3", "-r", "10", "--where", "@@wsrep_sync_wait = 1"][..], extra].concat());
        insert_rows(&dir, "t")
    };
    assert_eq!(rows(&[]), 0);
    assert_eq!(rows(&["--sync-wait", "1"]), 100);
}

/// `--replica-data` on a replica (a second server of the test's own,
/// replicating from the first): the metadata's [replication] section holds
/// the source's binary log position the dumped rows correspond to, and the
/// replica's SQL thread runs again after the dump. On a server that is no
/// replica it warns and writes no section.
#[test]
fn replica_data_records_the_sources_position() {
    let source = PrivateServer::start();
    let replica = PrivateServer::start();
    let (a, b) = (&source.server, &replica.server);
    let mut ca = a.conn();
    let (file, pos): (String, u64) = {
        let r: mysql::Row = ca.query_first("SHOW MASTER STATUS").unwrap().unwrap();
        (r.get(0).unwrap(), r.get(1).unwrap())
    };
    let mut cb = b.conn();
    cb.query_drop("SET GLOBAL server_id = 2").unwrap();
    cb.query_drop(format!(
        "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {}, MASTER_USER = 'root', MASTER_LOG_FILE = '{file}', MASTER_LOG_POS = {pos}",
        a.port
    ))
    .unwrap();
    cb.query_drop("START SLAVE").unwrap();
    ca.query_drop("CREATE DATABASE repl; CREATE TABLE repl.t (id INT PRIMARY KEY); INSERT INTO repl.t SELECT seq FROM repl.seq_1_to_1000").unwrap();
    let (file, pos): (String, u64) = {
        let r: mysql::Row = ca.query_first("SHOW MASTER STATUS").unwrap().unwrap();
        (r.get(0).unwrap(), r.get(1).unwrap())
    };
    let waited: Option<i64> = cb.query_first(format!("SELECT MASTER_POS_WAIT('{file}', {pos}, 60)")).unwrap();
    assert!(waited.is_some_and(|w| w >= 0), "the replica did not catch up: {waited:?}");

    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    let out = run_ok(rdumper().args(b.conn_args()).args(["-B", "repl", "--replica-data", "-v", "3", "-o"]).arg(&dir));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SQL thread is stopped") && err.contains("SQL thread runs again"), "{err}");
    let meta = read_text(&dir.join("metadata"));
    assert!(meta.contains("\n[replication]\n"), "{meta}");
    assert!(meta.contains(&format!("SOURCE_LOG_FILE = \"{file}\"\nSOURCE_LOG_POS = {pos}\n")), "{meta}");
    assert!(meta.contains("# Master_Port = '") && meta.contains("myloader_exec_change_source = 0"), "{meta}");
    let sql: String = {
        let r: mysql::Row = cb.query_first("SHOW SLAVE STATUS").unwrap().unwrap();
        r.get("Slave_SQL_Running").unwrap()
    };
    assert_eq!(sql, "Yes");
    // The dump loads, and rloader reads past the section.
    let copy = a.unique_db("repl_copy");
    run_ok(rloader().args(a.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", "repl"]));
    assert_same_data(a, "repl", &copy.name);

    let out = run_ok(rdumper().args(a.conn_args()).args(["-B", "repl", "--replica-data", "-o"]).arg(tmp.path().join("not")));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no replica"));
    assert!(!read_text(&tmp.path().join("not/metadata")).contains("[replication"));
    cb.query_drop("STOP SLAVE").unwrap();
}

/// `--source-data` end to end: a dump of one server, loaded into a second
/// one with rloader's `--source-data`, makes the second a replica that
/// goes on from where the dump's rows end: rows written to the first after
/// the dump arrive, none twice, none lost.
#[test]
fn source_data_sets_up_a_replica_from_the_dump() {
    let source = PrivateServer::start();
    let target = PrivateServer::start();
    let (a, b) = (&source.server, &target.server);
    let mut ca = a.conn();
    ca.query_drop("CREATE DATABASE sd; CREATE TABLE sd.t (id INT PRIMARY KEY, v INT); INSERT INTO sd.t SELECT seq, seq FROM sd.seq_1_to_2000").unwrap();
    let mut cb = b.conn();
    cb.query_drop("SET GLOBAL server_id = 2").unwrap();
    // Where the source is: the dump says from which position.
    cb.query_drop(format!("CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {}, MASTER_USER = 'root'", a.port)).unwrap();

    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(rdumper().args(a.conn_args()).args(["-B", "sd", "--source-data", "exec_reset_replica,exec_change_source,exec_start_replica", "-o"]).arg(&dir));
    let meta = read_text(&dir.join("metadata"));
    assert!(meta.contains("myloader_exec_change_source = 1") && meta.contains("\nSOURCE_LOG_POS = "), "{meta}");
    // Written after the dump: must come through replication.
    ca.query_drop("INSERT INTO sd.t SELECT seq, -seq FROM sd.seq_2001_to_2500; UPDATE sd.t SET v = 0 WHERE id <= 10").unwrap();

    let out = run_ok(rloader().args(b.conn_args()).arg("-d").arg(&dir).args(["--source-data", "-v", "3"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--source-data: CHANGE MASTER TO MASTER_LOG_FILE") && err.contains("--source-data: START SLAVE"), "{err}");
    let (file, pos): (String, u64) = {
        let r: mysql::Row = ca.query_first("SHOW MASTER STATUS").unwrap().unwrap();
        (r.get(0).unwrap(), r.get(1).unwrap())
    };
    let waited: Option<i64> = cb.query_first(format!("SELECT MASTER_POS_WAIT('{file}', {pos}, 60)")).unwrap();
    assert!(waited.is_some_and(|w| w >= 0), "the new replica did not catch up: {waited:?}");
    assert_eq!(table_sums(&mut ca, "sd"), table_sums(&mut cb, "sd"));
    let n: u64 = cb.query_first("SELECT COUNT(*) FROM sd.t").unwrap().unwrap();
    assert_eq!(n, 2500);
    cb.query_drop("STOP SLAVE").unwrap();

    // Without the option rloader leaves replication alone; a dump without
    // --source-data asks for nothing.
    let plain = tmp.path().join("plain");
    run_ok(rdumper().args(a.conn_args()).args(["-B", "sd", "-o"]).arg(&plain));
    assert!(!read_text(&plain.join("metadata")).contains("myloader_exec_"));
    let out = run(rdumper().args(a.conn_args()).args(["-B", "sd", "--source-data", "start_everything", "-o"]).arg(tmp.path().join("bad")));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("start_everything"));
}

/// `--split-partitions`: one file per partition, each with that partition's
/// rows; `--partition-regex` dumps only the partitions it matches (and
/// `--check-row-count` counts those); other tables are dumped as usual. The
/// copies hold the same rows.
#[test]
fn partitions_as_chunks() {
    let s = server();
    s.fixtures();
    let mut c = s.conn();
    let count = |c: &mut mysql::Conn, from: &str| -> u64 { c.query_first(format!("SELECT COUNT(*) FROM {from}")).unwrap().unwrap() };
    let (_t, dir) =
        dump_dir(&s, &["-B", "torture", "-T", "torture.partitioned,torture.parent", "--split-partitions", "--check-row-count"]);
    for (part, p) in ["p0", "p1", "pmax"].iter().enumerate() {
        let text = read_text(&dir.join(format!("torture.partitioned.{part:05}.sql")));
        let rows = (text.matches("\n,(").count() + text.matches("VALUES(").count()) as u64;
        assert_eq!(rows, count(&mut c, &format!("torture.partitioned PARTITION ({p})")), "partition {p}");
    }
    assert!(!dir.join("torture.partitioned.00003.sql").exists());
    assert!(dir.join("torture.parent.00000.sql").exists() && !dir.join("torture.parent.00001.sql").exists());
    let copy = s.unique_db("parts_all");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name]));
    let src = table_sums(&mut c, "torture");
    let got = table_sums(&mut c, &copy.name);
    assert_eq!(got.get("partitioned"), src.get("partitioned"));
    assert_eq!(got.get("parent"), src.get("parent"));

    let (_t, dir) = dump_dir(&s, &["-B", "torture", "-T", "torture.partitioned", "--partition-regex", "^P(0|MAX)$", "--check-row-count"]);
    let meta = common::metadata::Metadata::parse(&read_text(&dir.join("metadata"))).unwrap();
    let want = count(&mut c, "torture.partitioned PARTITION (p0, pmax)");
    assert_eq!(meta.table("torture", "partitioned").unwrap().rows, want);
    let copy = s.unique_db("parts_some");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name]));
    let q = |db: &str| format!("SELECT COUNT(*), SUM(id), SUM(y) FROM `{db}`.partitioned WHERE y < 2000 OR y >= 2020");
    let a: (u64, u64, u64) = c.query_first(q("torture")).unwrap().unwrap();
    let b: (u64, u64, u64) = c.query_first(q(&copy.name)).unwrap().unwrap();
    assert_eq!((a, count(&mut c, &format!("`{}`.partitioned", copy.name))), (b, want));
    let out = run(rdumper_for(&s).args(["-B", "torture", "--partition-regex", "(", "-o", "/nonexistent"]));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--partition-regex"));
}

/// `--compact` leaves the SQL_MODE line out of the headers;
/// `--load-data-character-set` names the LOAD DATA statements' character
/// set; `--masquerade-filename` numbers every file name. Each dump loads
/// back equal.
#[test]
fn compact_charset_and_masqueraded_names() {
    let s = server();
    s.fixtures();
    let (_t, dir) = dump_dir(&s, &["-B", "sakila", "-T", "sakila.actor", "--compact"]);
    let text = read_text(&dir.join("sakila.actor.00000.sql"));
    assert!(text.starts_with("/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n/*!40103 SET TIME_ZONE"), "{text}");
    assert!(!text.contains("SQL_MODE"));

    let (_t, dir) = dump_dir(&s, &["-B", "sakila", "-T", "sakila.actor", "--format", "LOAD_DATA", "--load-data-character-set", "utf8mb4"]);
    let text = read_text(&dir.join("sakila.actor.00000.sql"));
    assert!(text.contains("INTO TABLE `actor` CHARACTER SET utf8mb4 FIELDS"), "{text}");
    let copy = s.unique_db("ld_charset");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name]));
    let mut c = s.conn();
    assert_eq!(table_sums(&mut c, &copy.name).get("actor"), table_sums(&mut c, "sakila").get("actor"));
    let out = run(rdumper_for(&s).args(["-B", "sakila", "--load-data-character-set", "x;y", "-o", "/nonexistent"]));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--load-data-character-set"));

    let (_t, dir) = dump_dir(&s, &["-B", "sakila", "--masquerade-filename", "-G", "-R"]);
    let names: Vec<String> = files(&dir).into_keys().collect();
    assert!(names.iter().all(|n| n == "metadata" || n.starts_with("mydumper_")), "{names:?}");
    let copy = s.unique_db("masked");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "--checksum"]));
    assert_eq!(assert_same_data(&s, "sakila", &copy.name), 16);
    assert_eq!(object_names(&mut c, &copy.name), object_names(&mut c, "sakila"));
}

/// mydumper's and myloader's tuning options that rdumper and rloader take
/// without needing them: a script passing them gets the same copy.
#[test]
fn accepted_tuning_options_change_nothing() {
    let s = server();
    s.fixtures();
    let (_t, dir) = dump_dir(
        &s,
        &[
            "-B", "torture", "-x", r"^torture\.(?!big$)", "--use-defer", "--use-single-column", "--bulk-metadata-prefetch",
            "--skip-ddl-locks", "--no-check-generated-fields",
        ],
    );
    let tmp = tempdir();
    let copy = s.unique_db("accepted");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "--fifodir"]).arg(tmp.path()).arg("--load-data-tmp-dir").arg(tmp.path()).args([
        "--max-statement-size", "100", "--num-sequences", "1", "--metadata-refresh-interval", "5",
    ]));
    let mut c = s.conn();
    let mut src = table_sums(&mut c, "torture");
    src.remove("big");
    assert_eq!(table_sums(&mut c, &copy.name), src);
}

/// `--merge` adds to a dump: the metadata keeps the earlier dump's
/// sections, a table dumped again replaces its files, and the directory
/// loads as one dump holding both.
#[test]
fn merge_adds_to_a_dump() {
    let s = server();
    s.fixtures();
    let tmp = tempdir();
    let dir = tmp.path().join("d");
    run_ok(rdumper_for(&s).args(["-B", "sakila", "-T", "sakila.actor,sakila.city"]).arg("-o").arg(&dir));
    run_ok(rdumper_for(&s).args(["-B", "torture-2", "--merge"]).arg("-o").arg(&dir));
    run_ok(rdumper_for(&s).args(["-B", "sakila", "-T", "sakila.actor", "--merge"]).arg("-o").arg(&dir));
    let meta = common::metadata::Metadata::parse(&read_text(&dir.join("metadata"))).unwrap();
    let sections: Vec<(String, String)> = meta.tables.iter().map(|t| (t.db.clone(), t.table.clone())).collect();
    let want = [("sakila", "actor"), ("sakila", "city"), ("torture-2", "t")].map(|(d, t)| (d.to_string(), t.to_string()));
    assert_eq!(sections, want.to_vec());
    let one = s.unique_db("merged_sakila");
    let two = s.unique_db("merged_t2");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-s", "sakila", "-B", &one.name, "--checksum"]));
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-s", "torture-2", "-B", &two.name, "--checksum"]));
    let mut c = s.conn();
    let src = table_sums(&mut c, "sakila");
    let got = table_sums(&mut c, &one.name);
    assert_eq!(got.len(), 2);
    assert_eq!((got.get("actor"), got.get("city")), (src.get("actor"), src.get("city")));
    assert_same_data(&s, "torture-2", &two.name);

    let out = run(rdumper_for(&s).args(["-B", "sakila", "--merge", "--clear"]).arg("-o").arg(&dir));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--merge"));
    let text = read_text(&dir.join("metadata")).replace("# Finished dump at", "# Not finished at");
    std::fs::write(dir.join("metadata"), text).unwrap();
    let out = run(rdumper_for(&s).args(["-B", "sakila", "-T", "sakila.actor", "--merge"]).arg("-o").arg(&dir));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("is of a dump that did not finish"), "{err}");
}
