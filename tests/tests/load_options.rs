//! myloader's selection and execution options as rloader implements them.

use std::path::{Path, PathBuf};
use std::process::Output;

use integration_tests::*;
use mysql::prelude::Queryable;

fn torture_sql() -> PathBuf {
    shared_dir().join("corpus/md-1.0.1/torture-sql")
}

fn load(dir: &Path, args: &[&str]) -> Output {
    let s = server();
    let out = run(rloader().args(s.conn_args()).arg("-d").arg(dir).args(args).args(["-v", "3"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.contains("restore completed"), "{args:?}: {err}");
    out
}

fn tables(db: &str) -> Vec<String> {
    table_sums(&mut server().conn(), db).into_keys().collect()
}

#[test]
fn regex_selects_tables_and_their_triggers() {
    let s = server();
    let db = s.unique_db("lo_regex");
    load(&torture_sql(), &["-s", "torture", "-B", &db.name, "-x", r"^torture\.(parent|child)$"]);
    assert_eq!(tables(&db.name), ["child", "parent"]);
    let objects = object_names(&mut s.conn(), &db.name);
    assert_eq!(objects["trigger"], ["child_bi"]);
    assert!(objects["view"].is_empty() && objects["routine"].is_empty(), "{objects:?}");
    let sums = table_sums(&mut s.conn(), &db.name);
    assert_eq!(sums["parent"].rows, 1000);
}

#[test]
fn no_data_skip_triggers_skip_post() {
    let s = server();
    let db = s.unique_db("lo_nodata");
    load(&torture_sql(), &["-s", "torture", "-B", &db.name, "--no-data", "--skip-triggers", "--skip-post"]);
    let sums = table_sums(&mut s.conn(), &db.name);
    assert_eq!(sums.len(), 15, "{sums:?}");
    assert!(sums.values().all(|t| t.rows == 0), "{sums:?}");
    let objects = object_names(&mut s.conn(), &db.name);
    assert!(objects["trigger"].is_empty() && objects["routine"].is_empty() && objects["event"].is_empty(), "{objects:?}");
    assert_eq!(objects["view"], ["v_on_view", "v_parent"]);
}

#[test]
fn single_statement_transactions_load_the_same() {
    let s = server();
    s.fixtures();
    let db = s.unique_db("lo_q1");
    load(&torture_sql(), &["-s", "torture", "-B", &db.name, "-q", "1", "-t", "2"]);
    let mut c = s.conn();
    let source = table_sums(&mut c, "torture");
    let copy = table_sums(&mut c, &db.name);
    for t in ["string_pk", "composite_pk", "parent", "child", "partitioned"] {
        assert_eq!(source[t], copy[t], "{t}");
    }
}

#[test]
fn skip_definer_makes_the_loader_the_owner() {
    let s = server();
    let t = tempdir();
    let dir = t.path().join("dump");
    std::fs::create_dir(&dir).unwrap();
    for e in std::fs::read_dir(torture_sql()).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if name == "metadata" || name.starts_with("torture.parent") || name.starts_with("torture.v_parent") {
            let text = std::fs::read(e.path()).unwrap();
            let text = String::from_utf8(text).unwrap().replace("DEFINER=`root`@`localhost`", "DEFINER=`ghost`@`nowhere`");
            std::fs::write(dir.join(&name), text).unwrap();
        }
    }
    let mut c = s.conn();
    let definer = |c: &mut mysql::Conn, db: &str| -> String {
        c.exec_first("SELECT DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'v_parent'", (db,))
            .unwrap()
            .unwrap()
    };
    let kept = s.unique_db("lo_definer_kept");
    load(&dir, &["-s", "torture", "-B", &kept.name]);
    assert_eq!(definer(&mut c, &kept.name), "ghost@nowhere");
    let skipped = s.unique_db("lo_definer_skip");
    load(&dir, &["-s", "torture", "-B", &skipped.name, "--skip-definer"]);
    let me: String = c.query_first("SELECT CURRENT_USER()").unwrap().unwrap();
    assert_eq!(definer(&mut c, &skipped.name), me);
    // --replace-definer names the owner instead (the account need not
    // exist, as with a dump's own).
    let replaced = s.unique_db("lo_definer_replace");
    load(&dir, &["-s", "torture", "-B", &replaced.name, "--replace-definer", "'app''s'@'10.%'"]);
    assert_eq!(definer(&mut c, &replaced.name), "app's@10.%");
    let mut both = rloader();
    both.args(s.conn_args()).arg("-d").arg(&dir).args(["--skip-definer", "--replace-definer", "app"]);
    let out = run(&mut both);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("cannot be used together"));
}

#[test]
fn global_variables_are_set_and_restored() {
    let s = server();
    let mut c = s.conn();
    let before: u64 = c.query_first("SELECT @@GLOBAL.max_connections").unwrap().unwrap();
    let t = tempdir();
    let cnf = t.path().join("my.cnf");
    std::fs::write(&cnf, format!("[myloader_global_variables]\nmax_connections = {}\n", before + 7)).unwrap();
    let db = s.unique_db("lo_global");
    let out = run(rloader()
        .arg(format!("--defaults-file={}", cnf.display()))
        .args(s.conn_args())
        .arg("-d")
        .arg(torture_sql())
        .args(["-s", "torture-2", "-B", &db.name, "-v", "3"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("global variable max_connections set to {}", before + 7)), "{err}");
    let after: u64 = c.query_first("SELECT @@GLOBAL.max_connections").unwrap().unwrap();
    assert_eq!(after, before);
}

/// Without -B the databases come from the dump's `-schema-create.sql`.
#[test]
fn databases_come_from_schema_create_without_target() {
    let s = server();
    let src = s.unique_db("lo_nob_src");
    let keep = s.unique_db("lo_nob_keep");
    let mut c = s.conn();
    c.query_drop(format!("CREATE DATABASE `{}` DEFAULT CHARACTER SET latin1", src.name)).unwrap();
    c.query_drop(format!("CREATE TABLE `{}`.`t` (id INT PRIMARY KEY, s VARCHAR(10)) ENGINE=InnoDB", src.name)).unwrap();
    c.query_drop(format!("INSERT INTO `{}`.`t` VALUES (1,'a'),(2,'b'),(3,NULL)", src.name)).unwrap();
    c.query_drop(format!("CREATE DATABASE `{}`", keep.name)).unwrap();
    c.query_drop(format!("CREATE TABLE `{}`.`t` AS SELECT * FROM `{}`.`t`", keep.name, src.name)).unwrap();
    let t = tempdir();
    let dump = t.path().join("dump");
    run_ok(
        std::process::Command::new("mydumper")
            .args(["-S", &s.socket.display().to_string(), "-u", &s.user, "-B", &src.name, "-o"])
            .arg(&dump),
    );
    c.query_drop(format!("DROP DATABASE `{}`", src.name)).unwrap();
    load(&dump, &[]);
    assert_eq!(assert_same_data(&s, &keep.name, &src.name), 1);
    let cs: String = c
        .exec_first("SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", (&src.name,))
        .unwrap()
        .unwrap();
    assert_eq!(cs, "latin1");
}

#[test]
fn target_database_comes_from_its_own_schema_create() {
    let s = server();
    let src = s.unique_db("lo_tsc_src");
    let copy = s.unique_db("lo_tsc_copy");
    let plain = s.unique_db("lo_tsc_plain");
    let mut c = s.conn();
    c.query_drop(format!("CREATE DATABASE `{}` DEFAULT CHARACTER SET latin1", src.name)).unwrap();
    c.query_drop(format!("CREATE TABLE `{}`.`t` (id INT PRIMARY KEY, s VARCHAR(10)) ENGINE=InnoDB", src.name)).unwrap();
    c.query_drop(format!("INSERT INTO `{}`.`t` VALUES (1,'a'),(2,'b'),(3,NULL)", src.name)).unwrap();
    let t = tempdir();
    let dump = t.path().join("dump");
    run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "-o"]).arg(&dump));
    // The copy's own create statement, as a user may put it beside a dump.
    std::fs::write(
        dump.join(format!("{}-schema-create.sql", copy.name)),
        format!("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `{}` /*!40100 DEFAULT CHARACTER SET cp1251 */;\n", copy.name),
    )
    .unwrap();
    let charset = |c: &mut mysql::Conn, db: &str| -> String {
        c.exec_first("SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", (db,))
            .unwrap()
            .unwrap_or_else(|| panic!("database {db} was not created"))
    };
    load(&dump, &["-B", &copy.name]);
    assert_eq!(assert_same_data(&s, &src.name, &copy.name), 1);
    assert_eq!(charset(&mut c, &copy.name), "cp1251", "the target's own schema-create made it");
    // Without one, the target is created plainly: the source's statement,
    // which names another database, is not used for it.
    load(&dump, &["-B", &plain.name]);
    assert_eq!(assert_same_data(&s, &src.name, &plain.name), 1);
    let server_default: String = c.query_first("SELECT @@character_set_server").unwrap().unwrap();
    assert_eq!(charset(&mut c, &plain.name), server_default);
    // Loading into the source's own name uses its statement: latin1 again.
    c.query_drop(format!("DROP DATABASE `{}`", src.name)).unwrap();
    load(&dump, &["-B", &src.name]);
    assert_eq!(charset(&mut c, &src.name), "latin1");
    let n: Option<u64> = c.query_first(format!("SELECT COUNT(*) FROM `{}`.`t`", src.name)).unwrap();
    assert_eq!(n, Some(3));
}

/// `--skip-create-table` loads the data into a table that exists (its own
/// definition kept); `--skip-create-database` creates no database, so a
/// missing target fails the load with its name.
#[test]
fn skip_create_table_and_database() {
    let s = server();
    s.fixtures();
    let only_parent = ["-s", "torture", "-x", r"^torture\.parent$"];
    let db = s.unique_db("lo_skipct");
    let mut c = s.conn();
    c.query_drop(format!("CREATE DATABASE `{}`", db.name)).unwrap();
    c.query_drop(format!("CREATE TABLE `{}`.parent LIKE torture.parent", db.name)).unwrap();
    c.query_drop(format!("ALTER TABLE `{}`.parent COMMENT = 'kept'", db.name)).unwrap();
    load(&torture_sql(), &[&only_parent[..], &["-B", &db.name, "--skip-create-table"]].concat());
    assert_eq!(table_sums(&mut c, &db.name)["parent"], table_sums(&mut c, "torture")["parent"]);
    let comment: String = c
        .exec_first(
            "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'parent'",
            (&db.name,),
        )
        .unwrap()
        .unwrap();
    assert_eq!(comment, "kept", "the existing table was not created again");

    let absent = s.unique_db("lo_skipcd");
    let out = run(
        rloader()
            .args(s.conn_args())
            .arg("-d")
            .arg(torture_sql())
            .args(only_parent)
            .args(["-B", &absent.name, "--skip-create-database"]),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(&absent.name), "{err}");
    c.query_drop(format!("CREATE DATABASE `{}`", absent.name)).unwrap();
    load(&torture_sql(), &[&only_parent[..], &["-B", &absent.name, "--skip-create-database"]].concat());
    assert_eq!(table_sums(&mut c, &absent.name)["parent"], table_sums(&mut c, "torture")["parent"]);
}

/// `-T` (with `%`/`_` wildcards, and -s's database for bare names) and
/// `-O` select tables as rdumper's do.
#[test]
fn tables_list_and_omit_file() {
    let s = server();
    s.fixtures();
    let db = s.unique_db("lo_tlist");
    load(&torture_sql(), &["-s", "torture", "-B", &db.name, "-T", "parent,torture.child"]);
    assert_eq!(tables(&db.name), ["child", "parent"]);
    let (source, copy) = (table_sums(&mut s.conn(), "torture"), table_sums(&mut s.conn(), &db.name));
    for t in ["child", "parent"] {
        assert_eq!(copy[t], source[t], "{t}");
    }

    let db = s.unique_db("lo_tlike");
    load(&torture_sql(), &["-s", "torture", "-B", &db.name, "-T", "TORTURE.pa%"]);
    let loaded = tables(&db.name);
    assert!(loaded.contains(&"parent".to_string()) && loaded.iter().all(|t| t.starts_with("pa")), "{loaded:?}");

    let tmp = tempdir();
    let omit = tmp.path().join("omit");
    std::fs::write(&omit, "# not these\ntorture.parent\n").unwrap();
    let db = s.unique_db("lo_omit");
    let omit_arg = omit.to_str().unwrap();
    load(&torture_sql(), &["-s", "torture", "-B", &db.name, "-T", "parent,child", "-O", omit_arg]);
    assert_eq!(tables(&db.name), ["child"]);

    let out = run(rloader().args(s.conn_args()).arg("-d").arg(torture_sql()).args(["-T", "parent"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("-T/--tables-list"), "{err}");

    // A database left out, or outside -T, is not created either.
    let gone = s.db_with("lo_tl_gone", &["CREATE TABLE {db}.t (id INT PRIMARY KEY)"]);
    let dump = tmp.path().join("dump");
    run_ok(rdumper().args(s.conn_args()).args(["-B", &gone.name, "-o"]).arg(&dump));
    let mut c = s.conn();
    c.query_drop(format!("DROP DATABASE `{}`", gone.name)).unwrap();
    std::fs::write(&omit, format!("{}\n", gone.name)).unwrap();
    let exists = |c: &mut mysql::Conn| -> bool {
        c.exec_first::<String, _, _>("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", (&gone.name,))
            .unwrap()
            .is_some()
    };
    load(&dump, &["-O", omit_arg]);
    assert!(!exists(&mut c));
    load(&dump, &["-T", "elsewhere.t"]);
    assert!(!exists(&mut c));
    load(&dump, &["-T", &format!("{}.t", gone.name)]);
    assert!(exists(&mut c));
}

/// `--ignore-errors 1062`: an INSERT whose key is taken is skipped with a
/// warning (none of its rows stored) and the rest loads; without it the
/// load fails and names the file.
#[test]
fn ignore_errors_skips_the_statements_that_meet_them() {
    let s = server();
    let src = s.db_with(
        "lo_ign_src",
        &["CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB", "INSERT INTO {db}.t VALUES (1,'a'),(2,'b'),(3,'c')"],
    );
    let tmp = tempdir();
    let dump = tmp.path().join("dump");
    // One row per INSERT.
    run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "-s", "10", "-o"]).arg(&dump));
    let copy = s.db_with(
        "lo_ign_copy",
        &["CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB", "INSERT INTO {db}.t VALUES (2,'kept')"],
    );
    let args = ["-s", src.name.as_str(), "-B", copy.name.as_str(), "--drop-table", "NONE"];
    let out = run(rloader().args(s.conn_args()).arg("-d").arg(&dump).args(args));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("1062") && err.contains(".t."), "{err}");

    let out = load(&dump, &[&args[..], &["--ignore-errors", "1062"]].concat());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1062") && err.contains("skipped"), "{err}");
    let rows: Vec<(i32, String)> = s.conn().query(format!("SELECT id, v FROM `{}`.t ORDER BY id", copy.name)).unwrap();
    assert_eq!(rows, [(1, "a".to_string()), (2, "kept".to_string()), (3, "c".to_string())]);
}

/// `--drop-database`: the target (-B) or the dump's own database is dropped
/// before it is created, so tables the dump does not hold go and those it
/// does are created afresh (no `-o` needed); with `--skip-create-database`
/// it is refused.
#[test]
fn drop_database_replaces_the_whole_database() {
    let s = server();
    let src = s.db_with(
        "lo_dropdb",
        &["CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO {db}.t SELECT seq, CONCAT('v', seq) FROM {db}.seq_1_to_500"],
    );
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "-o"]).arg(&dir));
    let mut c = s.conn();

    let copy = s.unique_db("lo_dropdb_copy");
    c.query_drop(format!("CREATE DATABASE `{}`", copy.name)).unwrap();
    c.query_drop(format!("CREATE TABLE `{}`.t (id INT PRIMARY KEY, v VARCHAR(20))", copy.name)).unwrap();
    c.query_drop(format!("INSERT INTO `{}`.t VALUES (9999, 'stale')", copy.name)).unwrap();
    c.query_drop(format!("CREATE TABLE `{}`.leftover (id INT)", copy.name)).unwrap();
    load(&dir, &["-s", &src.name, "-B", &copy.name, "--drop-database"]);
    assert_eq!(assert_same_data(&s, &src.name, &copy.name), 1);

    // Without -B: the dump's own database, restored as it was dumped.
    c.query_drop(format!("INSERT INTO `{}`.t VALUES (9999, 'later')", src.name)).unwrap();
    c.query_drop(format!("CREATE TABLE `{}`.leftover (id INT)", src.name)).unwrap();
    load(&dir, &["--drop-database"]);
    assert_eq!(tables(&src.name), ["t"]);
    let rows: u64 = c.query_first(format!("SELECT COUNT(*) FROM `{}`.t WHERE id <= 500", src.name)).unwrap().unwrap();
    let all: u64 = c.query_first(format!("SELECT COUNT(*) FROM `{}`.t", src.name)).unwrap().unwrap();
    assert_eq!((rows, all), (500, 500));
    assert_eq!(assert_same_data(&s, &src.name, &copy.name), 1);

    let out = run(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "--drop-database", "--skip-create-database"]));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--drop-database"));
    assert_eq!(tables(&copy.name), ["t"], "a refused load must leave the database alone");
}

/// `--skip-indexes` and `--skip-constraints`: tables are created without
/// their secondary indexes, or without their foreign keys and CHECK
/// constraints, and hold the same rows.
#[test]
fn skip_indexes_and_constraints() {
    let s = server();
    s.fixtures();
    let mut c = s.conn();
    let secondary = |c: &mut mysql::Conn, db: &str| -> Vec<String> {
        c.exec("SELECT DISTINCT CONCAT(TABLE_NAME, '.', INDEX_NAME) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND INDEX_NAME <> 'PRIMARY' ORDER BY 1", (db,))
            .unwrap()
    };
    let constraints = |c: &mut mysql::Conn, db: &str| -> Vec<String> {
        c.exec("SELECT CONCAT(TABLE_NAME, '.', CONSTRAINT_NAME) FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = ? AND CONSTRAINT_TYPE IN ('FOREIGN KEY', 'CHECK') ORDER BY 1", (db,))
            .unwrap()
    };
    assert!(!secondary(&mut c, "torture").is_empty() && !constraints(&mut c, "torture").is_empty());
    // The same dump loaded as it is: the rows to compare with.
    let plain = s.unique_db("lo_skip_plain");
    load(&torture_sql(), &["-s", "torture", "-B", &plain.name]);
    let compare = |copy: &str| {
        assert_eq!(table_sums(&mut server().conn(), copy), table_sums(&mut server().conn(), &plain.name));
    };
    let no_idx = s.unique_db("lo_skipidx");
    load(&torture_sql(), &["-s", "torture", "-B", &no_idx.name, "--skip-indexes"]);
    // Only the index InnoDB makes for a foreign key on its own is left.
    assert_eq!(secondary(&mut c, &no_idx.name), vec!["child.child_ibfk_1".to_string()]);
    assert!(secondary(&mut c, "torture").contains(&"child.parent_id".to_string()));
    assert_eq!(constraints(&mut c, &no_idx.name), constraints(&mut c, "torture"));
    compare(&no_idx.name);
    let no_con = s.unique_db("lo_skipcon");
    load(&torture_sql(), &["-s", "torture", "-B", &no_con.name, "--skip-constraints"]);
    // A column's own CHECK (a JSON column's) is part of the column.
    assert_eq!(constraints(&mut c, &no_con.name), vec!["all_types.c_json".to_string()]);
    assert!(constraints(&mut c, &plain.name).contains(&"child.child_ibfk_1".to_string()));
    assert!(secondary(&mut c, &no_con.name).contains(&"child.parent_id".to_string()));
    compare(&no_con.name);
}

/// `--append-if-not-exist`: a table that exists keeps its rows and its
/// indexes and gets the dump's rows too; one that does not is created.
#[test]
fn append_if_not_exist_adds_rows_to_existing_tables() {
    let s = server();
    let src = s.db_with(
        "lo_append",
        &[
            "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20), KEY (v)) ENGINE=InnoDB",
            "INSERT INTO {db}.t SELECT seq, CONCAT('v', seq) FROM {db}.seq_1_to_500",
            "CREATE TABLE {db}.u (id INT PRIMARY KEY) ENGINE=InnoDB",
            "INSERT INTO {db}.u VALUES (1), (2)",
        ],
    );
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "-o"]).arg(&dir));
    let copy = s.unique_db("lo_append_copy");
    let mut c = s.conn();
    c.query_drop(format!("CREATE DATABASE `{}`", copy.name)).unwrap();
    c.query_drop(format!("CREATE TABLE `{}`.t (id INT PRIMARY KEY, v VARCHAR(20), KEY (v)) ENGINE=InnoDB", copy.name)).unwrap();
    c.query_drop(format!("INSERT INTO `{}`.t VALUES (9001, 'mine'), (9002, 'mine')", copy.name)).unwrap();
    let refused = run(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-s", &src.name, "-B", &copy.name]));
    assert!(!refused.status.success(), "an existing table without the option must fail the load");
    load(&dir, &["-s", &src.name, "-B", &copy.name, "--append-if-not-exist"]);
    let count = |c: &mut mysql::Conn, q: String| -> u64 { c.query_first(q).unwrap().unwrap() };
    assert_eq!(count(&mut c, format!("SELECT COUNT(*) FROM `{}`.t", copy.name)), 502);
    assert_eq!(count(&mut c, format!("SELECT COUNT(*) FROM `{}`.t WHERE v = 'mine'", copy.name)), 2);
    let same: u64 = count(
        &mut c,
        format!("SELECT COUNT(*) FROM `{}`.t a JOIN `{}`.t b USING (id) WHERE a.v = b.v", src.name, copy.name),
    );
    assert_eq!(same, 500);
    assert_eq!(table_sums(&mut c, &src.name)["u"], table_sums(&mut c, &copy.name)["u"]);
}

/// `--show-warnings`: a statement's warnings are logged with its file and
/// line (here a value out of range, which the dump's non-strict SQL mode
/// stores clipped).
#[test]
fn show_warnings_names_file_and_line() {
    let s = server();
    let db = s.unique_db("lo_warnings");
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    let header = "/*!40101 SET NAMES binary*/;\n/*!40101 SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO'*/;\n";
    write_dump(
        &dir,
        &[
            ("d-schema-create.sql", "CREATE DATABASE IF NOT EXISTS `d`;\n"),
            ("d.t-schema.sql", &format!("{header}CREATE TABLE `t` (\n  `id` int NOT NULL,\n  `v` tinyint,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n")),
            ("d.t.00000.sql", &format!("{header}INSERT INTO `t` VALUES(1,7)\n,(2,8)\n;\nINSERT INTO `t` VALUES(3,300)\n;\n")),
        ],
    );
    let quiet = load(&dir, &["-s", "d", "-B", &db.name]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("1264"));
    s.conn().query_drop(format!("DROP DATABASE `{}`", db.name)).unwrap();
    let out = load(&dir, &["-s", "d", "-B", &db.name, "--show-warnings"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("d.t.00000.sql:6: Warning 1264: Out of range value for column 'v'"), "{err}");
    let v: Option<i64> = s.conn().query_first(format!("SELECT v FROM `{}`.t WHERE id = 3", db.name)).unwrap();
    assert_eq!(v, Some(127));
}

/// `--optimize-keys-batchsize N`: deferred indexes are added N per ALTER
/// TABLE (the log at -v 3 shows each statement), and the table ends with
/// all of them.
#[test]
fn optimize_keys_batchsize_splits_the_alter() {
    let s = server();
    let src = s.db_with(
        "lo_batch",
        &[
            "CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT, b INT, c INT, KEY ka (a), KEY kb (b), KEY kc (c)) ENGINE=InnoDB",
            "INSERT INTO {db}.t SELECT seq, seq % 7, seq % 11, seq % 13 FROM {db}.seq_1_to_20000",
        ],
    );
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "-o"]).arg(&dir));
    for (batch, alters) in [("0", 1), ("2", 2), ("1", 3)] {
        let copy = s.unique_db("lo_batch_copy");
        let out = load(&dir, &["-s", &src.name, "-B", &copy.name, "--optimize-keys-batchsize", batch]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches("ALTER TABLE `t` ADD KEY").count(), alters, "batch {batch}: {err}");
        let keys: Vec<String> = s
            .conn()
            .exec("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't' ORDER BY 1", (&copy.name,))
            .unwrap();
        assert_eq!(keys, ["ka", "kb", "kc", "PRIMARY"]);
        assert_same_data(&s, &src.name, &copy.name);
    }
}

/// `--max-transaction-size MB`: a data file's transaction commits whenever
/// its statements reach that size, before `-q` statements do. Commits are
/// counted on a server of the test's own.
#[test]
fn max_transaction_size_commits_early() {
    let private = PrivateServer::start();
    let s = &private.server;
    let src = s.db_with(
        "lo_txsize",
        &[
            "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(250)) ENGINE=InnoDB",
            "INSERT INTO {db}.t SELECT seq, REPEAT(CHAR(65 + seq % 26), 200) FROM {db}.seq_1_to_25000",
        ],
    );
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "-s", "100000", "-r", "1000000", "-o"]).arg(&dir));
    let commits = |c: &mut mysql::Conn| -> u64 {
        let r: Option<(String, u64)> = c.query_first("SHOW GLOBAL STATUS LIKE 'Com_commit'").unwrap();
        r.unwrap().1
    };
    let mut c = s.conn();
    let mut load_counting = |extra: &[&str]| -> u64 {
        let copy = s.unique_db("lo_txsize_copy");
        let before = commits(&mut c);
        run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", &src.name, "--plain-inserts"]).args(extra));
        let n = commits(&mut c) - before;
        assert_same_data(s, &src.name, &copy.name);
        n
    };
    let whole = load_counting(&[]);
    let small = load_counting(&["--max-transaction-size", "1"]);
    // About 5 MB of statements: four or more commits more than in one
    // transaction.
    assert!(small >= whole + 4, "{small} commits with 1 MB transactions, {whole} without");
}

/// `--max-threads-for-index-creation 1`: the deferred indexes of several
/// tables are built one table at a time (in the log at -v 3, each index
/// job ends before the next starts), and every index is there at the end.
#[test]
fn index_creation_threads_are_capped() {
    let s = server();
    let tables = ["a", "b", "c", "d"];
    let mut statements = Vec::new();
    for t in tables {
        statements.push(format!("CREATE TABLE {{db}}.{t} (id INT PRIMARY KEY, x INT, y INT, KEY kx (x), KEY ky (y)) ENGINE=InnoDB"));
        statements.push(format!("INSERT INTO {{db}}.{t} SELECT seq, seq % 97, seq % 89 FROM {{db}}.seq_1_to_15000"));
    }
    let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
    let src = s.db_with("lo_idxcap", &refs);
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "-o"]).arg(&dir));
    let copy = s.unique_db("lo_idxcap_copy");
    let out = load(&dir, &["-s", &src.name, "-B", &copy.name, "-t", "4", "--max-threads-for-index-creation", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let mut open: Option<String> = None;
    let mut built = 0;
    for line in err.lines() {
        let Some(at) = line.find("indexes of ") else { continue };
        let rest = &line[at..];
        if let Some((what, _)) = rest.split_once(": ALTER TABLE") {
            assert!(open.is_none(), "{what} started while {open:?} ran:\n{err}");
            open = Some(what.to_string());
        } else if let Some((what, _)) = rest.split_once(" done in ") {
            assert_eq!(open.as_deref(), Some(what), "{err}");
            open = None;
            built += 1;
        }
    }
    assert_eq!(built, tables.len(), "{err}");
    assert_same_data(&s, &src.name, &copy.name);
    let keys: u64 = s
        .conn()
        .exec_first("SELECT COUNT(DISTINCT TABLE_NAME, INDEX_NAME) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?", (&copy.name,))
        .unwrap()
        .unwrap();
    assert_eq!(keys, 12);
}

/// `--optimize-keys-engines`: only tables of the listed engines get their
/// indexes after the data (InnoDB's by default); rdumper's 0.10 name
/// `--table-checksums` writes data checksums, which rloader checks.
#[test]
fn optimize_keys_engines_and_table_checksums() {
    let s = server();
    let src = s.db_with(
        "lo_engines",
        &[
            "CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT, KEY ka (a)) ENGINE=InnoDB",
            "INSERT INTO {db}.t SELECT seq, seq % 7 FROM {db}.seq_1_to_20000",
        ],
    );
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "--table-checksums", "-o"]).arg(&dir));
    assert!(std::fs::read_to_string(dir.join("metadata")).unwrap().contains("data_checksum"));
    for (engines, deferred) in [(None, true), (Some("MyISAM,Aria"), false)] {
        let copy = s.unique_db("lo_engines_copy");
        let mut args = vec!["-s", src.name.as_str(), "-B", copy.name.as_str(), "--checksum", "FAIL"];
        if let Some(e) = engines {
            args.extend(["--optimize-keys-engines", e]);
        }
        let out = load(&dir, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.contains("ALTER TABLE `t` ADD KEY `ka`"), deferred, "{engines:?}: {err}");
        assert_same_data(&s, &src.name, &copy.name);
    }
}

/// The largest table's data loads first; `--skip-table-sorting` loads the
/// tables in name order (one worker, so the log shows the order).
#[test]
fn table_sorting_by_size_unless_skipped() {
    let s = server();
    let src = s.db_with(
        "lo_sorting",
        &[
            "CREATE TABLE {db}.a_small (id INT PRIMARY KEY)",
            "INSERT INTO {db}.a_small SELECT seq FROM {db}.seq_1_to_100",
            "CREATE TABLE {db}.b_large (id INT PRIMARY KEY)",
            "INSERT INTO {db}.b_large SELECT seq FROM {db}.seq_1_to_50000",
        ],
    );
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "-o"]).arg(&dir));
    let first_data = |extra: &[&str]| -> String {
        let copy = s.unique_db("lo_sorting_copy");
        let out = load(&dir, &[&["-s", src.name.as_str(), "-B", copy.name.as_str(), "-t", "1"][..], extra].concat());
        assert_same_data(&s, &src.name, &copy.name);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let line = err.lines().find(|l| l.contains(".00000.sql done in")).unwrap_or_else(|| panic!("{err}"));
        if line.contains("a_small") { "a_small".into() } else { "b_large".into() }
    };
    assert_eq!(first_data(&[]), "b_large");
    assert_eq!(first_data(&["--skip-table-sorting"]), "a_small");
}

/// `--max-threads-for-schema-creation 1`: tables are created one at a time
/// (at --debug the log shows each CREATE TABLE file end before the next
/// starts), and all load.
#[test]
fn schema_creation_threads_are_capped() {
    let s = server();
    let mut statements = Vec::new();
    for t in ["t1", "t2", "t3", "t4", "t5", "t6"] {
        statements.push(format!("CREATE TABLE {{db}}.{t} (id INT PRIMARY KEY, v VARCHAR(10), KEY (v))"));
        statements.push(format!("INSERT INTO {{db}}.{t} SELECT seq, seq FROM {{db}}.seq_1_to_300"));
    }
    let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
    let src = s.db_with("lo_schemacap", &refs);
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "-o"]).arg(&dir));
    let copy = s.unique_db("lo_schemacap_copy");
    let out = load(&dir, &["-s", &src.name, "-B", &copy.name, "-t", "4", "--max-threads-for-schema-creation", "1", "--debug"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let mut open: Option<String> = None;
    let mut created = 0;
    for line in err.lines().filter(|l| l.contains("-schema.sql ")) {
        let file = line.split_whitespace().find(|w| w.ends_with("-schema.sql")).unwrap().to_string();
        if line.ends_with(" started") {
            assert!(open.is_none(), "{file} started while {open:?} ran:\n{err}");
            open = Some(file);
        } else if line.contains(" done in ") {
            assert_eq!(open.as_ref(), Some(&file), "{err}");
            open = None;
            created += 1;
        }
    }
    assert_eq!(created, 6, "{err}");
    assert_same_data(&s, &src.name, &copy.name);
}

/// Post files (routines, triggers, views): `--max-threads-for-post-actions
/// N` loads trigger and routine files N at once, but never a later kind
/// while an earlier one runs (a view may call a function), and views one
/// at a time; everything arrives. At --debug the log shows starts and ends.
#[test]
fn post_actions_in_parallel_by_kind() {
    let s = server();
    // Created from inside the database: the dump's statements then name
    // no database and load into another.
    let src = s.unique_db("lo_post");
    let mut c = s.conn();
    c.query_drop(format!("CREATE DATABASE `{}`", src.name)).unwrap();
    c.query_drop(format!("USE `{}`", src.name)).unwrap();
    c.query_drop("CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2").unwrap();
    for t in ["t1", "t2", "t3", "t4", "t5", "t6"] {
        c.query_drop(format!("CREATE TABLE {t} (id INT PRIMARY KEY, v INT)")).unwrap();
        c.query_drop(format!("INSERT INTO {t} VALUES (1, 1)")).unwrap();
        for (when, what) in [("BEFORE", "INSERT"), ("AFTER", "INSERT"), ("BEFORE", "UPDATE"), ("AFTER", "UPDATE"), ("BEFORE", "DELETE"), ("AFTER", "DELETE")] {
            c.query_drop(format!("CREATE TRIGGER {t}_{when}_{what} {when} {what} ON {t} FOR EACH ROW SET @x = 1")).unwrap();
        }
        c.query_drop(format!("CREATE VIEW v_{t} AS SELECT id, twice(v) AS w FROM {t}")).unwrap();
    }
    drop(c);
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "-G", "-R", "-o"]).arg(&dir));
    let kind = |file: &str| if file.contains("-schema-post") { 0 } else if file.contains("-schema-triggers") { 1 } else { 2 };
    for threads in ["1", "4"] {
        let copy = s.unique_db("lo_post_copy");
        let out = load(&dir, &["-s", &src.name, "-B", &copy.name, "-t", "4", "--max-threads-for-post-actions", threads, "--debug"]);
        let err = String::from_utf8_lossy(&out.stderr);
        let mut open: Vec<String> = Vec::new();
        let mut most_triggers = 0;
        for line in err.lines().filter(|l| l.contains("-schema-post.sql") || l.contains("-schema-triggers.sql") || l.contains("-schema-view.sql")) {
            let file = line.split_whitespace().find(|w| w.ends_with(".sql")).unwrap().to_string();
            if line.ends_with(" started") {
                assert!(open.iter().all(|o| kind(o) == kind(&file)), "{file} started beside {open:?}:\n{err}");
                open.push(file.clone());
                assert!(open.len() <= if kind(&file) == 2 { 1 } else { threads.parse().unwrap() }, "{open:?}\n{err}");
                if kind(&file) == 1 {
                    most_triggers = most_triggers.max(open.len());
                }
            } else if line.contains(" done in ") {
                open.retain(|o| o != &file);
            }
        }
        if threads == "4" {
            assert!(most_triggers > 1, "trigger files never loaded side by side:\n{err}");
        }
        let mut c = s.conn();
        assert_eq!(object_names(&mut c, &copy.name), object_names(&mut c, &src.name));
        assert_same_data(&s, &src.name, &copy.name);
        let w: Option<i64> = c.query_first(format!("SELECT w FROM `{}`.v_t3", copy.name)).unwrap();
        assert_eq!(w, Some(2));
    }
}

/// `--set-gtid-purged`: after the load, the server loaded has the dump's
/// GTIDs as its replication position (MariaDB's gtid_slave_pos). Into a
/// server of the test's own, since the setting is global.
#[test]
fn set_gtid_purged_takes_the_dumps_gtids() {
    let s = server();
    let src = s.db_with("lo_gtid", &["CREATE TABLE {db}.t (id INT PRIMARY KEY)", "INSERT INTO {db}.t VALUES (1), (2)"]);
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(rdumper().args(s.conn_args()).args(["-B", &src.name, "-o"]).arg(&dir));
    let meta = std::fs::read_to_string(dir.join("metadata")).unwrap();
    let gtid = meta
        .lines()
        .find_map(|l| l.strip_prefix("# executed_gtid_set = \""))
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{meta}"))
        .to_string();
    assert!(!gtid.is_empty(), "{meta}");
    let target = PrivateServer::start();
    let t = &target.server;
    let out = run_ok(rloader().args(t.conn_args()).arg("-d").arg(&dir).args(["--set-gtid-purged", "-v", "3"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gtid_slave_pos"));
    let pos: String = t.conn().query_first("SELECT @@GLOBAL.gtid_slave_pos").unwrap().unwrap();
    assert_eq!(pos, gtid);
    assert_eq!(table_sums(&mut t.conn(), &src.name), table_sums(&mut s.conn(), &src.name));
}

/// `--disable-redo-log` needs MySQL 8.0.21 or later: against MariaDB the
/// load is refused, naming the server, before anything is created.
#[test]
fn disable_redo_log_is_refused_where_the_server_cannot() {
    let s = server();
    let target = s.unique_db("redo_off");
    let dir = shared_dir().join("corpus/md-1.0.1/sakila-sql");
    let out = run(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &target.name, "--disable-redo-log"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--disable-redo-log needs MySQL 8.0.21 or later; the server is 10."), "{err}");
    let n: Option<u64> = s
        .conn()
        .exec_first("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", (&target.name,))
        .unwrap();
    assert_eq!(n, Some(0), "the target was created");
}

/// `--server-version` stands in for the server's own: told MySQL 8.0.30,
/// rloader goes on to turn the redo log off (which MariaDB refuses, an
/// error naming the statement); told MariaDB, it refuses first. A bad value
/// is refused by both programs.
#[test]
fn server_version_replaces_detection() {
    let s = server();
    s.fixtures();
    let dir = shared_dir().join("corpus/md-1.0.1/sakila-sql");
    let target = s.unique_db("server_version");
    let attempt = |version: &str| {
        let out = run(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &target.name, "--disable-redo-log", "--server-version", version]));
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = attempt("mysql-8.0.30");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--disable-redo-log: ERROR 1064"), "{err}");
    let (code, err) = attempt("mariadb-10.11.2");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("needs MySQL 8.0.21 or later; the server is 10.11.2-MariaDB"), "{err}");
    for mut cmd in [rloader(), rdumper()] {
        let out = run(cmd.args(["--server-version", "8.0.30"]));
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("PRODUCT-X.Y.Z"));
    }
    let tmp = tempdir();
    run_ok(rdumper().args(s.conn_args()).args(["-B", "sakila", "-T", "sakila.actor", "--server-version", "mysql-8.4.2", "-o"]).arg(tmp.path().join("d")));
    assert!(tmp.path().join("d/sakila.actor.00000.sql").exists());

    // --source-control-command: TRADITIONAL is what both do; AWS (RDS's
    // procedures) is refused, not ignored.
    run_ok(rdumper().args(s.conn_args()).args(["-B", "sakila", "-T", "sakila.actor", "--source-control-command", "TRADITIONAL", "-o"]).arg(tmp.path().join("e")));
    let copy = s.unique_db("source_control");
    run_ok(rloader().args(s.conn_args()).arg("-d").arg(tmp.path().join("e")).args(["-B", &copy.name, "--source-control-command", "traditional"]));
    for mut cmd in [rloader(), rdumper()] {
        let out = run(cmd.args(["--source-control-command", "AWS"]));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("not supported; only TRADITIONAL"), "{err}");
    }
}
