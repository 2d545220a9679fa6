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
