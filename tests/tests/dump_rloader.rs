//! rdumper → rloader: directory dumps and `rdumper --stream | rloader
//! --stream` copy torture and Sakila into databases equal to the source.

mod dump_support;

use std::process::Stdio;

use dump_support::*;
use integration_tests::*;

fn compare(s: &Server, source: &str, copy: &str) {
    let mut c = s.conn();
    let mut src = table_sums(&mut c, source);
    src.remove("big");
    assert_eq!(src, table_sums(&mut c, copy), "{source} vs {copy}");
    assert_eq!(object_names(&mut c, source), object_names(&mut c, copy));
}

#[test]
fn rloader_loads_rdumper_directories() {
    let s = server();
    s.fixtures();
    for (db, args) in [
        ("torture", vec!["-B", "torture", "-G", "-E", "-R", "-x", r"^torture\.(?!big$)", "--data-checksums"]),
        ("torture", vec!["-B", "torture", "-G", "-E", "-R", "-x", r"^torture\.(?!big$)", "--load-data", "-c", "ZSTD"]),
        ("sakila", vec!["-B", "sakila", "-G", "-E", "-R", "-c", "GZIP"]),
    ] {
        let (_tmp, dir) = dump_dir(&s, &args);
        let copy = s.unique_db("rl_copy");
        run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", db]));
        compare(&s, db, &copy.name);
    }
}

#[test]
fn rdumper_stream_into_rloader_stream() {
    let s = server();
    s.fixtures();
    for (db, args) in [
        ("torture", vec!["-B", "torture", "-G", "-E", "-R", "-x", r"^torture\.(?!big$)"]),
        ("sakila", vec!["-B", "sakila", "-G", "-E", "-R"]),
    ] {
        let copy = s.unique_db("rl_stream");
        let mut dumper = rdumper_for(&s).args(&args).arg("--stream").stdout(Stdio::piped()).spawn().unwrap();
        let pipe = dumper.stdout.take().unwrap();
        let loader = rloader()
            .args(s.conn_args())
            .args(["--stream", "-B", &copy.name, "-s", db])
            .stdin(Stdio::from(pipe))
            .output()
            .unwrap();
        let dumped = dumper.wait().unwrap();
        assert!(dumped.success());
        assert!(loader.status.success(), "rloader: {}", String::from_utf8_lossy(&loader.stderr));
        compare(&s, db, &copy.name);
    }
}

/// Statements of several megabytes, which rloader sends in pieces inside
/// a transaction, with values full of quotes, commas, parentheses,
/// backslashes, newlines and NULLs: the copy equals the source whether the
/// statements are cut (the default) or sent whole (`-q 1`, one statement
/// per transaction), and from a dump written by the mariadb client's own
/// multi-row INSERT layout as well.
#[test]
fn large_statements_load_equal_cut_or_whole() {
    let s = server();
    let src = s.db_with(
        "big_stmts",
        &[
            "CREATE TABLE {db}.t (id INT PRIMARY KEY, a VARCHAR(200), b BLOB, g POINT NULL, KEY (a)) ENGINE=InnoDB",
            "INSERT INTO {db}.t SELECT seq, CONCAT('it''s (', seq, '),(', REPEAT('\\\\', seq % 3), '\"\n\t,', seq), \
             IF(seq % 7 = 0, NULL, UNHEX(REPEAT(HEX(seq * 7919), 20))), IF(seq % 5 = 0, POINT(seq, -seq), NULL) FROM {db}.seq_1_to_60000",
        ],
    );
    let (_tmp, dir) = dump_dir(&s, &["-B", &src.name, "-s", "4000000"]);
    // Statements of megabytes: each data file holds one or two.
    let prefix = format!("{}.t.", src.name);
    let sizes: Vec<(usize, usize)> = files(&dir)
        .into_keys()
        .filter(|n| n.starts_with(&prefix))
        .map(|n| {
            let sql = std::fs::read_to_string(dir.join(&n)).unwrap();
            (sql.len(), sql.matches("INSERT INTO").count())
        })
        .collect();
    assert!(sizes.iter().map(|s| s.0).sum::<usize>() > 8_000_000, "{sizes:?}");
    assert!(sizes.iter().all(|&(len, n)| n >= 1 && len / n > 1_000_000), "{sizes:?}");
    for extra in [&[][..], &["-q", "1"][..]] {
        let copy = s.unique_db("big_stmts_copy");
        run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", &src.name]).args(extra));
        assert_eq!(assert_same_data(&s, &src.name, &copy.name), 1, "{extra:?}");
    }
}

/// `--exec-per-thread CMD --exec-per-thread-extension .EXT`: rdumper writes
/// every file but `metadata` through CMD (here `gzip -c`, under a suffix
/// of its own so that nothing else reads it), rloader reads them through
/// its own (`gzip -dc`): directories in both data formats and a stream
/// load equal to the source. A program that fails fails the run, naming
/// it and the file.
#[test]
fn exec_per_thread_compression_round_trips() {
    let s = server();
    s.fixtures();
    let dump_exec = ["--exec-per-thread", "gzip -c", "--exec-per-thread-extension", ".gzx"];
    let load_exec = ["--exec-per-thread", "gzip -dc", "--exec-per-thread-extension", ".gzx"];
    let torture = ["-B", "torture", "-G", "-E", "-R", "-x", r"^torture\.(?!big$)"];
    for format in ["INSERT", "LOAD_DATA"] {
        let (_tmp, dir) = dump_dir(&s, &[&torture[..], &dump_exec[..], &["--format", format]].concat());
        let names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert!(names.len() > 10, "{names:?}");
        assert!(names.iter().all(|n| n == "metadata" || n.ends_with(".gzx")), "{names:?}");
        let data = std::process::Command::new("gzip").arg("-dc").arg(dir.join("torture.parent.00000.sql.gzx")).output().unwrap();
        assert!(data.status.success() && String::from_utf8_lossy(&data.stdout).contains("parent"));
        let copy = s.unique_db("exec_copy");
        run_ok(rloader().args(s.conn_args()).args(load_exec).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", "torture"]));
        compare(&s, "torture", &copy.name);
    }

    let copy = s.unique_db("exec_stream");
    let mut dumper = rdumper_for(&s).args(torture).args(dump_exec).arg("--stream").stdout(Stdio::piped()).spawn().unwrap();
    let pipe = dumper.stdout.take().unwrap();
    let loader = rloader()
        .args(s.conn_args())
        .args(load_exec)
        .args(["--stream", "-B", &copy.name, "-s", "torture"])
        .stdin(Stdio::from(pipe))
        .output()
        .unwrap();
    assert!(dumper.wait().unwrap().success());
    assert!(loader.status.success(), "rloader: {}", String::from_utf8_lossy(&loader.stderr));
    compare(&s, "torture", &copy.name);

    let tmp = tempdir();
    let out = run(rdumper_for(&s).args(["-B", "torture", "-T", "torture.parent"]).args(["--exec-per-thread", "false", "--exec-per-thread-extension", ".x", "-o"]).arg(tmp.path().join("f")));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("`false` failed on") && err.contains(".x"), "{err}");
    assert!(!tmp.path().join("f/metadata").exists());
    let (_t, dir) = dump_dir(&s, &[&["-B", "torture", "-T", "torture.parent"][..], &dump_exec[..]].concat());
    let out = run(rloader().args(s.conn_args()).args(["--exec-per-thread", "false", "--exec-per-thread-extension", ".gzx", "-d"]).arg(&dir).args(["-B", &s.unique_db("exec_fail").name, "-s", "torture"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("`false` failed on") && err.contains(".gzx"), "{err}");
    let out = run(rdumper_for(&s).args(["-B", "torture", "--exec-per-thread", "gzip -c", "-o"]).arg(tmp.path().join("g")));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("go together"));
    let out = run(rdumper_for(&s).args(["-B", "torture", "-c"]).args(dump_exec).arg("-o").arg(tmp.path().join("h")));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("exclude each other"));
}

/// `--fields-*`, `--lines-*` and `--include-header`: LOAD_DATA and CSV
/// files of an odd layout (escape `#`, enclosure `'`, lines `>…\r\n`, a
/// header line) load back equal, every type of the torture database.
#[test]
fn custom_field_layouts_round_trip() {
    let s = server();
    s.fixtures();
    let torture = ["-B", "torture", "-G", "-E", "-R", "-x", r"^torture\.(?!big$)"];
    let layouts: [&[&str]; 3] = [
        &["--format", "CSV", "--fields-terminated-by", "|", "--fields-enclosed-by", "'", "--fields-escaped-by", "#", "--lines-starting-by", ">", "--lines-terminated-by", "\\r\\n", "--include-header"],
        &["--format", "LOAD_DATA", "--fields-terminated-by", ";", "--include-header"],
        &["--format", "CSV", "--fields-enclosed-by", "", "--lines-terminated-by", "$$\\n"],
    ];
    for layout in layouts {
        let (_tmp, dir) = dump_dir(&s, &[&torture[..], layout].concat());
        let copy = s.unique_db("layout_copy");
        run_ok(rloader().args(s.conn_args()).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", "torture"]));
        compare(&s, "torture", &copy.name);
        if layout == layouts[1] {
            let dat = std::fs::read_to_string(dir.join("torture.parent.00000.dat")).unwrap();
            assert_eq!(dat.lines().next(), Some("id;name"));
        }
    }
    let dat = {
        let (_tmp, dir) = dump_dir(&s, &[&torture[..], layouts[0]].concat());
        std::fs::read(dir.join("torture.parent.00000.dat")).unwrap()
    };
    assert!(dat.starts_with(b">'id'|") && dat.windows(3).any(|w| w == b"'\r\n"), "{}", String::from_utf8_lossy(&dat[..80]));
    // Layouts that cannot be read back are refused.
    for bad in [&["--format", "CSV", "--fields-escaped-by", "n"][..], &["--fields-terminated-by", "|"][..], &["--format", "CSV", "--fields-terminated-by", "ab"][..]] {
        let out = run(rdumper_for(&s).args(torture).args(bad).arg("-o").arg(tempdir().path().join("x")));
        assert!(!out.status.success(), "{bad:?}");
    }
}
