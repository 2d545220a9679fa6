//! `rloader --stream --stream-buffer`: the received files waiting to be
//! loaded stay within the budget while every worker is busy, files written
//! over spares load the same rows, and a budget never stops a load whose
//! workers wait for files further on in the stream.

mod dump_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::stream::write_header;
use dump_support::*;
use integration_tests::*;

fn frame(files: &[&(String, Vec<u8>)]) -> Vec<u8> {
    let mut v = Vec::new();
    for (name, body) in files {
        write_header(&mut v, name, body.len() as u64).unwrap();
        v.extend_from_slice(body);
    }
    v
}

/// A table of `rows` rows of about 250 bytes each, in a new database.
fn source(s: &Server, prefix: &str, rows: u32) -> TestDb {
    s.db_with(
        prefix,
        &[
            "CREATE TABLE {db}.t (id INT PRIMARY KEY, k INT, c CHAR(200), KEY (k)) ENGINE=InnoDB",
            &format!(
                "INSERT INTO {{db}}.t SELECT seq, seq * 7 % 1000, CONCAT(REPEAT(CHAR(97 + seq % 26), 150), seq) FROM {{db}}.seq_1_to_{rows}"
            ),
        ],
    )
}

fn dump_stream(s: &Server, db: &str, extra: &[&str]) -> Vec<u8> {
    let out = run_ok(rdumper_for(s).args(["-B", db, "--stream"]).args(extra));
    out.stdout
}

/// Bytes of the dump files (not spares, whose names start with a dot) in
/// `dir`, and of the spares.
fn received_bytes(dir: &Path) -> (u64, u64) {
    let (mut files, mut spares) = (0, 0);
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let len = e.metadata().map(|m| m.len()).unwrap_or(0);
        if e.file_name().to_string_lossy().starts_with('.') {
            spares += len;
        } else {
            files += len;
        }
    }
    (files, spares)
}

#[test]
fn received_files_stay_within_the_stream_buffer_and_spares_load_the_same_rows() {
    let s = server();
    let src = source(&s, "lsb_src", 200_000);
    // Chunk files of about 1.5 MB: above the smallest spare kept (1 MB).
    let stream = dump_stream(&s, &src.name, &["-F", "1", "-t", "2"]);
    let files = parse_stream(&stream[..]);
    let largest = files.iter().map(|(_, b)| b.len() as u64).max().unwrap();
    let data_files = files.iter().filter(|(n, _)| n.ends_with(".sql") && !n.contains("schema")).count();
    assert!(largest > 1 << 20 && data_files >= 8, "{data_files} data files, largest {largest}");
    let limit: u64 = 8 << 20;
    let workers = 2u64;
    // Files being loaded, the one received past the budget, the budget.
    let bound = limit + (workers + 1) * largest;
    assert!((stream.len() as u64) > 2 * bound, "the stream ({}) must not fit the bound ({bound})", stream.len());

    let copy = s.unique_db("lsb_copy");
    let root = tempdir();
    let dir = root.path().join("received");
    let input = root.path().join("stream");
    std::fs::write(&input, &stream).unwrap();
    let mut child = rloader()
        .args(s.conn_args())
        .args(["--stream", "--stream-buffer", "8M", "-t", "2", "-v", "3", "-B", &copy.name, "-d"])
        .arg(&dir)
        .stdin(Stdio::from(std::fs::File::open(&input).unwrap()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = AtomicBool::new(false);
    let (most, most_spares) = std::thread::scope(|sc| {
        let watcher = sc.spawn(|| {
            let (mut most, mut most_spares) = (0, 0);
            while !done.load(Ordering::Relaxed) {
                let (f, sp) = received_bytes(&dir);
                most = most.max(f);
                most_spares = most_spares.max(sp);
                std::thread::sleep(Duration::from_millis(1));
            }
            (most, most_spares)
        });
        let status = wait_exit(&mut child, Duration::from_secs(120), "rloader --stream did not finish");
        done.store(true, Ordering::Relaxed);
        let err = read_stderr(&mut child);
        assert!(status.success() && err.contains("restore completed"), "{err}");
        assert!(err.contains("received files were written over loaded ones"), "no spare was taken: {err}");
        watcher.join().unwrap()
    });
    assert!(most > 0 && most <= bound, "at most {most} bytes of received files, bound {bound}");
    assert!(most_spares <= limit / 4, "{most_spares} bytes of spares");
    assert_eq!(received_bytes(&dir), (0, 0), "loaded files and spares are deleted");
    assert_eq!(assert_same_data(&s, &src.name, &copy.name), 1);
}

/// Loads `files` framed in this order with a one-byte budget; it must end,
/// and copy the data.
fn load_reordered(s: &Server, src: &str, files: Vec<&(String, Vec<u8>)>, what: &str) {
    let copy = s.unique_db("lsb_copy");
    let mut child = rloader()
        .args(s.conn_args())
        .args(["--stream", "--stream-buffer", "1", "-t", "2", "-v", "3", "-B", &copy.name])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let bytes = frame(&files);
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &bytes));
    let status = wait_exit(&mut child, Duration::from_secs(120), &format!("{what}: the load hung"));
    let err = read_stderr(&mut child);
    assert!(status.success() && err.contains("restore completed"), "{what}: {status}: {err}");
    writer.join().unwrap().unwrap();
    assert_eq!(assert_same_data(s, src, &copy.name), 2, "{what}");
}

#[test]
fn a_budget_never_holds_up_workers_that_wait_for_later_files() {
    let s = server();
    let src = source(&s, "lsb_order", 20_000);
    let mut c = s.conn();
    mysql::prelude::Queryable::query_drop(&mut c, format!("CREATE TABLE `{}`.u LIKE `{}`.t", src.name, src.name)).unwrap();
    mysql::prelude::Queryable::query_drop(&mut c, format!("INSERT INTO `{}`.u SELECT * FROM `{}`.t", src.name, src.name)).unwrap();
    // LOAD DATA files: each `.sql` names a `.dat` that a worker waits for.
    let stream = dump_stream(&s, &src.name, &["--load-data", "-r", "2000", "-t", "2"]);
    let files = parse_stream(&stream[..]);
    let by_kind = |f: &dyn Fn(&str) -> bool| files.iter().filter(|(n, _)| f(n)).collect::<Vec<_>>();
    let header = by_kind(&|n| n == "metadata.header");
    let last = by_kind(&|n| n == "metadata");
    let schemas = by_kind(&|n| n.contains("-schema"));
    let sql = by_kind(&|n| n.ends_with(".sql") && !n.contains("-schema"));
    let dat = by_kind(&|n| n.ends_with(".dat"));
    assert!(header.len() == 1 && last.len() == 1 && sql.len() >= 10 && sql.len() == dat.len(), "{:?}", files.iter().map(|f| &f.0).collect::<Vec<_>>());
    let names: BTreeMap<_, _> = files.iter().map(|(n, _)| (n.as_str(), ())).collect();
    assert_eq!(names.len(), files.len());

    // Every `.sql` before any `.dat`: the workers take the first two
    // `.sql` files and wait for their data.
    let order = [&header[..], &schemas, &sql, &dat, &last].concat();
    load_reordered(&s, &src.name, order, "statements before their data");
    // Data before the schemas: nothing can run until the schemas arrive.
    let order = [&header[..], &sql, &dat, &schemas, &last].concat();
    load_reordered(&s, &src.name, order, "data before the schemas");
}
