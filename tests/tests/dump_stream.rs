//! `rdumper --stream`: the stream holds the same files as a directory dump,
//! `--stream-buffer` bounds the disk used while the reader is slow, and a
//! reader that goes away stops the dump with an error, without a hang.

mod dump_support;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dump_support::*;
use integration_tests::*;

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

/// Starts `rdumper ARGS --stream -o DIR` with stdout and stderr piped.
fn spawn_stream(s: &Server, args: &[&str], dir: &Path) -> std::process::Child {
    rdumper_for(s).args(args).arg("--stream").arg("-o").arg(dir).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Looks at a directory every `every` on a thread of its own until stopped.
struct Watch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Watch {
    fn start(dir: &Path, every: Duration, mut look: impl FnMut(&Path) + Send + 'static) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, dir) = (stop.clone(), dir.to_path_buf());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                look(&dir);
                std::thread::sleep(every);
            }
        });
        Watch { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap();
    }
}

#[test]
fn stream_holds_the_files_of_a_directory_dump() {
    let s = server();
    s.fixtures();
    let args = ["-B", "torture", "-G", "-E", "-R", "-t", "2"];
    let (_tmp, dir) = dump_dir(&s, &args);
    let out = run_ok(rdumper_for(&s).args(args).arg("--stream"));
    let streamed = parse_stream(&out.stdout[..]);

    assert_eq!(streamed.first().map(|f| f.0.as_str()), Some("metadata.header"));
    assert_eq!(streamed.last().map(|f| f.0.as_str()), Some("metadata"));
    let header = String::from_utf8(streamed[0].1.clone()).unwrap();
    assert!(header.starts_with("# Started dump at: ") && header.contains("[config]\nquote-character = BACKTICK"), "{header}");
    // Schema files come before data files.
    let pos = |pred: &dyn Fn(&str) -> bool| streamed.iter().position(|(n, _)| pred(n)).unwrap();
    assert!(pos(&|n: &str| n.ends_with("-schema.sql")) < pos(&|n: &str| n.ends_with(".00000.sql") || n.ends_with(".00001.sql")));

    let from_stream: BTreeMap<String, Vec<u8>> =
        streamed.iter().filter(|(n, _)| !n.starts_with("metadata")).cloned().collect();
    let from_dir: BTreeMap<String, Vec<u8>> = files(&dir)
        .into_keys()
        .filter(|n| !n.starts_with("metadata"))
        .map(|n| {
            let b = std::fs::read(dir.join(&n)).unwrap();
            (n, b)
        })
        .collect();
    assert_eq!(from_stream.keys().collect::<Vec<_>>(), from_dir.keys().collect::<Vec<_>>());
    for (n, b) in &from_dir {
        assert!(from_stream[n] == *b, "{n} differs between stream and directory");
    }
    let m1 = common::metadata::Metadata::parse(&String::from_utf8(streamed.last().unwrap().1.clone()).unwrap()).unwrap();
    let m2 = common::metadata::Metadata::parse(&std::fs::read_to_string(dir.join("metadata")).unwrap()).unwrap();
    assert!(m1.is_complete());
    assert_eq!(m1.tables, m2.tables);
    // Nothing but the stream on stdout, and the temporary directory is gone.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("rdumper-stream-"));
}

#[test]
fn stream_buffer_bounds_the_disk_used_by_a_slow_reader() {
    let s = server();
    s.fixtures();
    let tmp = tempdir();
    let buf = tmp.path().join("buffer");
    let limit: u64 = 2 << 20;
    // torture.big in 40 chunks of about 450 kB.
    let mut child = spawn_stream(&s, &["-B", "torture", "-T", "torture.big", "-r", "2500", "-t", "2", "--stream-buffer", "2M"], &buf);
    let peak = Arc::new(AtomicU64::new(0));
    let watch = {
        let peak = peak.clone();
        Watch::start(&buf, Duration::from_millis(5), move |dir| {
            peak.fetch_max(dir_bytes(dir), Ordering::SeqCst);
        })
    };
    // A slow reader: 64 kB every 10 ms.
    struct Slow<R>(R);
    impl<R: Read> Read for Slow<R> {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            std::thread::sleep(Duration::from_millis(10));
            let n = b.len().min(64 << 10);
            self.0.read(&mut b[..n])
        }
    }
    let stdout = child.stdout.take().unwrap();
    let files = parse_stream(Slow(stdout));
    let status = wait_with_timeout(&mut child, Duration::from_secs(120));
    watch.stop();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "{err}");

    let total: u64 = files.iter().map(|f| f.1.len() as u64).sum();
    let largest = files.iter().map(|f| f.1.len() as u64).max().unwrap();
    let peak = peak.load(Ordering::SeqCst);
    assert!(files.iter().filter(|f| f.0.starts_with("torture.big.")).count() >= 30);
    assert!(total > 4 * limit, "the dump ({total} bytes) must be much larger than the buffer");
    // The limit, plus per worker one finished file it waits with and one
    // being written.
    let bound = limit + 4 * largest;
    assert!(peak > 0 && peak <= bound, "buffer directory peaked at {peak} bytes (limit {limit}, bound {bound}, total {total})");
    eprintln!("buffer peak {peak} bytes, limit {limit}, largest file {largest}, total {total}");
    // Sent files are deleted.
    assert_eq!(dir_bytes(&buf), 0);
}

#[test]
fn closed_reader_stops_the_dump_with_an_error() {
    let s = server();
    s.fixtures();
    let mut child = rdumper_for(&s)
        .args(["-B", "torture", "-t", "2", "--stream"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1000];
    stdout.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"\n-- metadata.header "));
    drop(stdout);
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("closed stdout"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with("rdumper: ")).count(), 1, "{err}");
}

#[test]
fn no_stream_mode_announces_files_kept_in_the_directory() {
    let s = server();
    s.fixtures();
    let tmp = tempdir();
    let dir = tmp.path().join("shared");
    let out = run_ok(
        rdumper_for(&s).args(["-B", "torture-2", "--stream=NO_STREAM_AND_NO_DELETE"]).arg("-o").arg(&dir),
    );
    let files = parse_stream(&out.stdout[..]);
    assert!(files.iter().all(|f| f.1.is_empty()));
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names.first(), Some(&"metadata.header"));
    assert_eq!(names.last(), Some(&"metadata"));
    for n in names {
        assert!(dir.join(n).exists(), "{n} kept");
    }
}

/// Sent files are kept as spares that later files are written over
/// (`common::spare`): the stream still holds exactly the bytes of a
/// directory dump, and no spare is left behind.
#[test]
fn files_written_over_sent_ones_hold_only_their_own_bytes() {
    let s = server();
    s.fixtures();
    // torture.big in pieces of a little over 1 MiB, the smallest kept.
    let args = ["-B", "torture", "-T", "torture.big", "-F", "1", "-t", "2"];
    let (_tmp, dir) = dump_dir(&s, &args);
    let pieces = files(&dir).into_keys().filter(|n| std::fs::metadata(dir.join(n)).unwrap().len() >= 1 << 20).count();
    assert!(pieces >= 6, "the table must make several pieces of 1 MiB ({pieces})");

    let tmp = tempdir();
    let buf = tmp.path().join("buffer");
    let mut child = spawn_stream(&s, &args, &buf);
    let saw_spare = Arc::new(AtomicBool::new(false));
    let watch = {
        let saw = saw_spare.clone();
        Watch::start(&buf, Duration::from_millis(1), move |dir| {
            let Ok(rd) = std::fs::read_dir(dir) else { return };
            if rd.filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().starts_with(common::spare::SPARE_PREFIX)) {
                saw.store(true, Ordering::SeqCst);
            }
        })
    };
    let streamed = parse_stream(child.stdout.take().unwrap());
    let status = wait_with_timeout(&mut child, Duration::from_secs(120));
    watch.stop();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "{err}");
    assert!(saw_spare.load(Ordering::SeqCst), "sent pieces were kept as spares");

    let from_stream: BTreeMap<String, Vec<u8>> =
        streamed.into_iter().filter(|(n, _)| !n.starts_with("metadata")).collect();
    let names: Vec<String> = files(&dir).into_keys().filter(|n| !n.starts_with("metadata")).collect();
    assert_eq!(from_stream.keys().collect::<Vec<_>>(), names.iter().collect::<Vec<_>>());
    for n in &names {
        assert!(from_stream[n] == std::fs::read(dir.join(n)).unwrap(), "{n} differs between stream and directory");
    }
    let left: Vec<_> = std::fs::read_dir(&buf).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "left in the directory: {left:?}");
}
