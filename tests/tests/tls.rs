//! TLS and protocol compression: rdumper and rloader over encrypted and
//! compressed connections (where rows and LOAD DATA files go through the
//! client library), with mydumper's options and `[client]` option-file
//! keys, and clear failures when the server's certificate, the client's or
//! the server's TLS is not what the options ask for.
//!
//! The test server (`scripts/test-db.sh`) has TLS with a CA of its own in
//! `<data dir>/tls`, and users that must use it: `rdump_tls` (REQUIRE SSL)
//! and `rdump_x509` (REQUIRE SUBJECT of the client certificate), so a
//! command that succeeds as them did encrypt.

mod dump_support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use dump_support::*;
use integration_tests::*;

const TORTURE: &str = r"^torture\.(?!big$)";

fn tls_file(s: &Server, name: &str) -> String {
    let p: PathBuf = s.socket.parent().expect("socket in the data dir").join("tls").join(name);
    assert!(p.exists(), "{} is missing: the test server is started by scripts/test-db.sh with TLS", p.display());
    p.display().to_string()
}

fn compare(s: &Server, source: &str, copy: &str) {
    let mut c = s.conn();
    let mut src = table_sums(&mut c, source);
    src.remove("big");
    assert!(!src.is_empty());
    assert_eq!(src, table_sums(&mut c, copy), "{source} vs {copy}");
    assert_eq!(object_names(&mut c, source), object_names(&mut c, copy));
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fails_with(cmd: &mut Command, want: &[&str]) -> String {
    let out = run(cmd);
    let err = stderr(&out);
    assert!(!out.status.success(), "{cmd:?} succeeded: {err}");
    for w in want {
        assert!(err.contains(w), "{cmd:?}: {w:?} not in: {err}");
    }
    err
}

/// A dump over TLS with the CA checked (VERIFY_CA from --ca alone) loads
/// over TLS with the host name checked as well, with compression: every
/// type of the torture database arrives equal, in both data formats.
#[test]
fn torture_round_trip_over_tls() {
    let s = server();
    s.fixtures();
    let ca = tls_file(&s, "ca.pem");
    for format in ["INSERT", "LOAD_DATA"] {
        let tmp = tempdir();
        let dir = tmp.path().join("dump");
        run_ok(
            rdumper()
                .args(s.tcp_args_as("rdump_tls"))
                .args(["--ca", &ca, "-B", "torture", "-G", "-E", "-R", "-x", TORTURE, "-t", "3", "-r", "500"])
                .args(["--format", format, "-o"])
                .arg(&dir),
        );
        let copy = s.unique_db("tls_copy");
        run_ok(
            rloader()
                .args(s.tcp_args_as("rdump_tls"))
                .args(["--ssl-mode", "VERIFY_IDENTITY", "--ca", &ca, "-C", "-t", "3", "-d"])
                .arg(&dir)
                .args(["-B", &copy.name, "-s", "torture"]),
        );
        compare(&s, "torture", &copy.name);
    }
}

/// `rdumper --stream | rloader --stream` over TLS, and a compressed dump
/// on the socket (compression alone also takes the library's path).
#[test]
fn stream_over_tls_and_compressed_socket_dump() {
    let s = server();
    s.fixtures();
    let copy = s.unique_db("tls_stream");
    let mut dumper = rdumper()
        .args(s.tcp_args_as("rdump_tls"))
        .args(["--ssl", "-B", "sakila", "-G", "-E", "-R", "--stream", "-t", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = dumper.stdout.take().unwrap();
    let loader = rloader()
        .args(s.tcp_args_as("rdump_tls"))
        .args(["--ssl", "--stream", "-B", &copy.name, "-s", "sakila"])
        .stdin(Stdio::from(pipe))
        .output()
        .unwrap();
    let dumped = dumper.wait_with_output().unwrap();
    assert!(dumped.status.success(), "rdumper: {}", stderr(&dumped));
    assert!(loader.status.success(), "rloader: {}", stderr(&loader));
    compare(&s, "sakila", &copy.name);

    let (_tmp, dir) = dump_dir(&s, &["-C", "-B", "torture", "-x", TORTURE, "-t", "2"]);
    let copy = s.unique_db("compressed");
    run_ok(rloader().args(s.conn_args()).arg("-C").arg("-d").arg(&dir).args(["-B", &copy.name, "-s", "torture"]));
    let mut c = s.conn();
    let mut src = table_sums(&mut c, "torture");
    src.remove("big");
    assert_eq!(src, table_sums(&mut c, &copy.name));
}

/// Client certificates (`--cert`/`--key`), and the same settings read from
/// an option file's `[client]` group under the MySQL client's key names.
#[test]
fn client_certificate_from_options_and_option_file() {
    let s = server();
    let src = s.db_with(
        "tls_x509",
        &["CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(40))", "INSERT INTO {db}.t SELECT seq, CONCAT('row ', seq) FROM {db}.seq_1_to_5000"],
    );
    let (ca, cert, key) = (tls_file(&s, "ca.pem"), tls_file(&s, "client-cert.pem"), tls_file(&s, "client-key.pem"));
    let tmp = tempdir();
    let dir = tmp.path().join("dump");
    run_ok(
        rdumper()
            .args(s.tcp_args_as("rdump_x509"))
            .args(["--ssl-mode", "VERIFY_CA", "--ca", &ca, "--cert", &cert, "--key", &key, "-B", &src.name, "-o"])
            .arg(&dir),
    );
    // Without the certificate the server refuses the user.
    fails_with(
        rdumper().args(s.tcp_args_as("rdump_x509")).args(["--ssl", "-B", &src.name, "-o"]).arg(tmp.path().join("nocert")),
        &["cannot connect to", "rdump_x509", "Access denied"],
    );

    let cnf = tmp.path().join("my.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[client]\nhost = {}\nport = {}\nuser = rdump_x509\npassword = rdump-secret\nssl-ca = {ca}\nssl-cert = {cert}\nssl-key = {key}\nssl-mode = VERIFY_IDENTITY\n",
            s.host, s.port
        ),
    )
    .unwrap();
    let copy = s.unique_db("tls_x509_copy");
    run_ok(rloader().arg(format!("--defaults-file={}", cnf.display())).arg("-d").arg(&dir).args(["-B", &copy.name, "-s", &src.name]));
    assert_same_data(&s, &src.name, &copy.name);
}

/// A server certificate that does not chain to `--ca`, a user that needs
/// TLS without it, and options that cannot work: each fails at once, with
/// the option or the target named.
#[test]
fn tls_failures_are_clear() {
    let s = server();
    let src = s.db_with("tls_fail", &["CREATE TABLE {db}.t (id INT PRIMARY KEY)", "INSERT INTO {db}.t VALUES (1), (2)"]);
    let tmp = tempdir();
    let out = tmp.path().join("never");
    // A CA of another name and key: the server's certificate is not its.
    let other = tmp.path().join("other-ca.pem");
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=another CA", "-keyout"])
        .arg(tmp.path().join("other-key.pem"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(made.status.success(), "openssl: {}", stderr(&made));
    let other = other.display().to_string();
    let err = fails_with(
        rdumper().args(s.tcp_args_as("rdump_tls")).args(["--ca", &other, "-B", &src.name, "-o"]).arg(&out),
        &["cannot connect to", "TLS failed"],
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // REQUIRED does not check the certificate: the same CA is no obstacle.
    let ok = tmp.path().join("required");
    run_ok(rdumper().args(s.tcp_args_as("rdump_tls")).args(["--ssl-mode", "REQUIRED", "--ca", &other, "-B", &src.name, "-o"]).arg(&ok));

    fails_with(rdumper().args(s.tcp_args_as("rdump_tls")).args(["-B", &src.name, "-o"]).arg(&out), &["rdump_tls", "Access denied"]);
    fails_with(rloader().args(s.tcp_args_as("rdump_tls")).args(["--ssl-mode", "DISABLED", "-d"]).arg(&ok), &["Access denied"]);
    fails_with(rdumper().args(s.tcp_args_as("rdump_tls")).args(["--ssl-mode", "sometimes", "-o"]).arg(&out), &["--ssl-mode", "sometimes"]);
    fails_with(
        rdumper().args(s.tcp_args_as("rdump_tls")).args(["--ca", "/nonexistent/ca.pem", "-o"]).arg(&out),
        &["--ca /nonexistent/ca.pem"],
    );
    fails_with(rloader().args(s.tcp_args_as("rdump_tls")).args(["--cert", &tls_file(&s, "client-cert.pem"), "-d"]).arg(&ok), &["--cert needs --key"]);
    fails_with(rdumper().args(s.tcp_args_as("rdump_tls")).args(["--tls-version", "TLSv1.1", "-o"]).arg(&out), &["--tls-version", "TLSv1.2"]);
    fails_with(rdumper().args(s.tcp_args_as("rdump_tls")).args(["--ssl", "--cipher", "RC4-MD5", "-o"]).arg(&out), &["--cipher", "RC4-MD5"]);
    // One TLS version, one cipher suite: still a working connection.
    run_ok(
        rdumper()
            .args(s.tcp_args_as("rdump_tls"))
            .args(["--ssl", "--tls-version", "TLSv1.2", "--cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", "-B", &src.name, "-o"])
            .arg(tmp.path().join("tls12")),
    );
    assert!(!out.exists(), "a failed run left {}", out.display());
}

/// A server without TLS: `--ssl` fails naming it, PREFERRED goes plain.
#[test]
fn server_without_tls() {
    let plain = PrivateServer::start_with_env(&[("RDUMP_TEST_NO_TLS", "1")]);
    let s = &plain.server;
    let src = s.db_with("no_tls", &["CREATE TABLE {db}.t (id INT PRIMARY KEY)", "INSERT INTO {db}.t SELECT seq FROM {db}.seq_1_to_3000"]);
    let tmp = tempdir();
    fails_with(
        rdumper().args(s.tcp_args()).args(["--ssl", "-B", &src.name, "-o"]).arg(tmp.path().join("never")),
        &["cannot connect to", "does not offer TLS"],
    );
    let dir = tmp.path().join("dump");
    run_ok(rdumper().args(s.tcp_args()).args(["--ssl-mode", "PREFERRED", "-B", &src.name, "-o"]).arg(&dir));
    let copy = s.unique_db("no_tls_copy");
    run_ok(rloader().args(s.tcp_args()).args(["--ssl-mode=preferred", "-d"]).arg(&dir).args(["-B", &copy.name, "-s", &src.name]));
    assert_same_data(s, &src.name, &copy.name);
}
