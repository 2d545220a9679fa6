//! Helpers shared by the rdumper tests: run rdumper against the test
//! server, and load a dump directory with the `mariadb` client (no rloader
//! needed), into a database of another name.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::naming::{DataExt, DumpFile};
use integration_tests::*;
use mysql::prelude::Queryable;

/// rdumper with the test server's connection options.
pub fn rdumper_for(s: &Server) -> Command {
    let mut c = rdumper();
    c.args(s.conn_args());
    c
}

/// The files of a dump directory, by name.
pub fn files(dir: &Path) -> BTreeMap<String, DumpFile> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|n| {
            let f = DumpFile::parse(&n).unwrap_or_else(|| panic!("{n}: not a mydumper file name"));
            (n, f)
        })
        .collect()
}

fn read(path: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    common::compress::open(path).unwrap().read_to_end(&mut v).unwrap();
    v
}

/// Statements of a dump file, cut at `;\n` as myloader cuts them.
fn statements(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b';' && bytes[i + 1] == b'\n' {
            out.push(&bytes[start..i]);
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    if bytes[start..].iter().any(|b| !b.is_ascii_whitespace()) {
        out.push(&bytes[start..]);
    }
    out
}

/// Loads the objects of database `source_form` (file-name form) from a
/// dump directory into database `target`, through the `mariadb` client:
/// tables and view placeholders, sequences, data, views, triggers, then
/// routines and events. The target is created with the source's charset.
pub fn load_with_client(s: &Server, dir: &Path, source_db: &str, source_form: &str, target: &str) {
    let mut c = s.conn();
    let (cs, coll): (String, String) = c
        .exec_first(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (source_db,),
        )
        .unwrap()
        .unwrap_or(("utf8mb4".into(), "utf8mb4_general_ci".into()));
    c.query_drop(format!("CREATE DATABASE `{target}` CHARACTER SET {cs} COLLATE {coll}")).unwrap();

    let all: BTreeMap<String, DumpFile> =
        files(dir).into_iter().filter(|(n, _)| !(n.ends_with(".dat") && dir.join(format!("{n}.zst")).exists())).collect();
    let mine: Vec<(&String, &DumpFile)> = all.iter().filter(|(_, f)| f.db() == Some(source_form)).collect();
    let rank = |f: &DumpFile| match f {
        DumpFile::TableSchema { .. } => 0,
        DumpFile::SequenceSchema { .. } => 1,
        DumpFile::Data { ext: DataExt::Sql, .. } => 2,
        DumpFile::ViewSchema { .. } => 3,
        DumpFile::Triggers { .. } => 4,
        DumpFile::Post { .. } => 5,
        _ => 9,
    };
    let mut order: Vec<(&String, &DumpFile)> = mine.into_iter().filter(|(_, f)| rank(f) < 9).collect();
    order.sort_by_key(|(n, f)| (rank(f), (*n).clone()));

    // LOAD DATA names compressed `.dat` files: give the client plain copies.
    for (name, f) in &all {
        if let DumpFile::Data { ext: DataExt::Dat, compression, .. } = f {
            if *compression != common::naming::Compression::None {
                let plain = name.strip_suffix(compression.suffix()).unwrap();
                std::fs::write(dir.join(plain), read(&dir.join(name))).unwrap();
            }
        }
    }
    let mut script = Vec::new();
    script.extend_from_slice(format!("USE `{target}`;\nDELIMITER ;;\n").as_bytes());
    for (name, _) in order {
        let bytes = read(&dir.join(name));
        for st in statements(&bytes) {
            let st = if st.starts_with(b"LOAD DATA") {
                String::from_utf8(st.to_vec()).unwrap().replacen(".dat.zst'", ".dat'", 1).replacen(".dat.gz'", ".dat'", 1).into_bytes()
            } else {
                st.to_vec()
            };
            script.extend_from_slice(&st);
            script.extend_from_slice(b";;\n");
        }
    }
    run_client(s, dir, &script);
}

/// Feeds SQL to the `mariadb` client, in `cwd` (for LOAD DATA LOCAL).
pub fn run_client(s: &Server, cwd: &Path, script: &[u8]) {
    let out = run_with_input(
        Command::new("mariadb")
            .args(["--no-defaults", "--binary-mode", "--local-infile=1", "-S"])
            .arg(&s.socket)
            .args(["-u", &s.user])
            .current_dir(cwd),
        script,
    );
    assert!(out.status.success(), "mariadb client failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A dump of `args` into a fresh temporary directory.
pub fn dump_dir(s: &Server, args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(rdumper_for(s).args(args).arg("-o").arg(&dir));
    (tmp, dir)
}

/// A dump of `args` whose files a load reads slowly: they are written
/// through `cat` with the extension `.slow`, and the returned script
/// (`--exec-per-thread SCRIPT --exec-per-thread-extension .slow`) takes
/// `pause` seconds before each, so that a load is still running when a
/// test looks at it.
pub fn slow_dump_dir(s: &Server, args: &[&str], pause: f64) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (tmp, dir) = dump_dir(s, &[args, &["--exec-per-thread", "cat", "--exec-per-thread-extension", ".slow"][..]].concat());
    let script = tmp.path().join("slowcat");
    std::fs::write(&script, format!("#!/bin/sh\nsleep {pause}\nexec cat\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (tmp, dir, script)
}

/// The `CHECKSUM TABLE` of torture.all_types in the source.
pub const ALL_TYPES_CHECKSUM: u64 = 3919181209;

/// Waits for a child, killing it and failing the test after `limit`.
pub fn wait_with_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("rdumper did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
