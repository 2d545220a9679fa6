//! The shared options of both programs: help, option files, connection errors.

use integration_tests::*;

#[test]
fn help_lists_connection_options() {
    for mut cmd in [rdumper(), rloader()] {
        let out = run_ok(cmd.arg("--help"));
        let text = String::from_utf8_lossy(&out.stdout);
        for opt in [
            "-h, --host", "-P, --port", "-u, --user", "-p, --password", "-a, --ask-password", "-S, --socket",
            "--defaults-file", "--defaults-extra-file", "-C, --compress-protocol", "--ssl", "--ssl-mode", "--ca", "--capath",
            "--cert", "--key", "--cipher", "--tls-version", "--protocol", "--default-connection-database",
            "--enable-cleartext-plugin", "-t, --threads", "-v, --verbose", "-L, --logfile", "-V, --version",
        ] {
            assert!(text.contains(opt), "{cmd:?} --help lacks {opt}:\n{text}");
        }
    }
}

#[test]
fn wrong_password_is_one_line_naming_the_target() {
    let s = server();
    for mut cmd in [rdumper(), rloader()] {
        let out = run(cmd
            .args(["-h", &s.host, "-P", &s.port.to_string(), "-u", "rdump_pw", "-p", "not-the-password"])
            .env_remove("MYSQL_PWD"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {err}");
        let line = err.lines().last().unwrap_or("");
        assert!(line.contains(&format!("127.0.0.1:{}", s.port)), "{err}");
        assert!(line.contains("Access denied"), "{err}");
        assert!(!err.contains("not-the-password"), "password leaked: {err}");
    }
}

#[test]
fn unreachable_host_is_one_line_naming_the_target() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for mut cmd in [rdumper(), rloader()] {
        let out = run(cmd.args(["-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root"]));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
        let missing_socket = run(rdumper().args(["-S", "/nonexistent/dir/mysql.sock", "-u", "root"]));
        let err2 = String::from_utf8_lossy(&missing_socket.stderr);
        assert_eq!(missing_socket.status.code(), Some(1));
        assert!(err2.contains("/nonexistent/dir/mysql.sock"), "{err2}");
    }
}

#[test]
fn option_file_client_and_program_sections_are_honoured() {
    let s = server();
    let dir = tempdir();
    let cnf = dir.path().join("my.cnf");
    // [client] gives a wrong password; the CLI does not name one, so the
    // connection must fail with the user from [client].
    std::fs::write(
        &cnf,
        format!("[client]\nuser = rdump_pw\npassword = wrong\nhost = 127.0.0.1\nport = {}\n[mydumper]\nthreads = 3\n", s.port),
    )
    .unwrap();
    let out = run(rdumper().arg(format!("--defaults-file={}", cnf.display())).env_remove("MYSQL_PWD"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("rdump_pw") && err.contains("Access denied"), "{err}");
    // With the right password in [client], it connects.
    std::fs::write(
        &cnf,
        format!("[client]\nuser = rdump_pw\npassword = rdump-secret\nhost = 127.0.0.1\nport = {}\n[myloader]\nthreads = 3\n", s.port),
    )
    .unwrap();
    let out = run(rloader().arg(format!("--defaults-file={}", cnf.display())).arg("--help"));
    assert!(out.status.success());
    // A command-line flag wins over the file: the wrong user on the CLI fails.
    let out = run(rdumper().arg(format!("--defaults-file={}", cnf.display())).args(["-u", "nobody_here"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("nobody_here"), "{err}");
    // An explicit defaults file that does not exist is an error naming it.
    let out = run(rdumper().arg("--defaults-file=/nonexistent/x.cnf"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.cnf"));
}

#[test]
fn option_file_values_reach_the_parser() {
    // `threads` in [mydumper] is parsed like --threads; an invalid value
    // is reported with the file named.
    let dir = tempdir();
    let cnf = dir.path().join("bad.cnf");
    std::fs::write(&cnf, "[mydumper]\nthreads = many\n").unwrap();
    let out = run(rdumper().arg(format!("--defaults-file={}", cnf.display())));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("many") && err.contains("bad.cnf"), "{err}");
}

#[test]
fn password_is_hidden_from_the_process_list() {
    // A listener that accepts but never greets keeps the program waiting in
    // its connection handshake long enough to read its command line.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for (mut cmd, args) in [
        (rdumper(), vec!["-p", "hunter2-secret"]),
        (rloader(), vec!["--password=hunter2-secret"]),
        (rdumper(), vec!["-phunter2-secret"]),
    ] {
        let mut child = cmd
            .args(["-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root"])
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let cmdline_path = format!("/proc/{}/cmdline", child.id());
        let mut seen = String::new();
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            seen = String::from_utf8_lossy(&std::fs::read(&cmdline_path).unwrap_or_default()).replace('\0', " ");
            if seen.contains("xxxxxxx") {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(!seen.contains("hunter2"), "password visible in {cmdline_path}: {seen}");
        assert!(seen.contains("xxxxxxx"), "password not blanked: {seen}");
    }
    drop(listener);
}

#[test]
fn ask_password_reads_from_the_terminal_without_echo() {
    if !have("script") {
        eprintln!("SKIPPED ask_password_reads_from_the_terminal_without_echo: `script` (util-linux) is not installed");
        return;
    }
    let s = server();
    s.fixtures();
    let dir = tempdir();
    let out_dir = dir.path().join("dump");
    // `script` gives the program a terminal; what it echoes is captured.
    let inner = format!(
        "{} -a -u rdump_pw -h 127.0.0.1 -P {} -B torture-2 -o {}",
        rdumper().get_program().to_string_lossy(),
        s.port,
        out_dir.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
        stdin.write_all(b"rdump-secret\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen} {}", String::from_utf8_lossy(&out.stderr));
    assert!(screen.contains("Password"), "no prompt shown: {screen}");
    assert!(!screen.contains("rdump-secret"), "password echoed: {screen}");
    assert!(out_dir.join("metadata").exists(), "the dump did not run with the password read");
}

#[test]
fn program_sections_drive_a_real_dump_and_load() {
    let s = server();
    s.fixtures();
    let dir = tempdir();
    let out_dir = dir.path().join("dump");
    let copy = s.unique_db("cnf_copy");
    let cnf = dir.path().join("backup.cnf");
    // Everything but the socket comes from the file: what to dump, where,
    // with which options; and for the loader, what to load and where to.
    std::fs::write(
        &cnf,
        format!(
            "[client]\nuser = root\nsocket = {sock}\n\n[mydumper]\ndatabase = torture-2\noutputdir = {out}\nthreads = 2\nbuild-empty-files\ncompress = GZIP\n\n[myloader]\ndirectory = {out}\ndatabase = {copy}\nthreads = 2\n",
            sock = s.socket.display(),
            out = out_dir.display(),
            copy = copy.name
        ),
    )
    .unwrap();
    run_ok(rdumper().arg(format!("--defaults-file={}", cnf.display())));
    let names: Vec<String> =
        std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().any(|n| n == "torture-2.t-schema.sql.gz"), "[mydumper] database/compress not applied: {names:?}");
    assert!(!names.iter().any(|n| n.starts_with("torture.")), "dumped more than [mydumper] database: {names:?}");
    run_ok(rloader().arg(format!("--defaults-extra-file={}", cnf.display())));
    assert_same_data(&s, "torture-2", &copy.name);
}

#[test]
fn password_never_reaches_logs_or_dump_files() {
    let s = server();
    s.fixtures();
    let dir = tempdir();
    let dump = dir.path().join("dump");
    let log = dir.path().join("run.log");
    let copy = s.unique_db("pw_copy");
    let conn = ["-h", "127.0.0.1", "-P", &s.port.to_string(), "-u", "rdump_pw", "-p", "rdump-secret", "-v", "3"];
    let d = run_ok(rdumper().args(conn).args(["-B", "torture-2", "-o"]).arg(&dump).arg("-L").arg(&log).env("RUST_LOG", "trace"));
    let l = run_ok(rloader().args(conn).arg("-d").arg(&dump).args(["-B", &copy.name]).arg("-L").arg(&log).env("RUST_LOG", "trace"));
    assert!(std::fs::metadata(&log).unwrap().len() > 0, "nothing was logged");
    let mut seen = vec![("log", std::fs::read(&log).unwrap()), ("stderr", [d.stderr, l.stderr].concat())];
    for e in std::fs::read_dir(&dump).unwrap() {
        let e = e.unwrap();
        seen.push(("dump file", std::fs::read(e.path()).unwrap()));
    }
    for (what, bytes) in seen {
        assert!(!String::from_utf8_lossy(&bytes).contains("rdump-secret"), "password found in {what}");
    }
}

/// Which way the connection goes: a named socket is used for "localhost"
/// only (another host gets TCP, as with the client library), and
/// `--protocol` forces one way; `--default-connection-database` names the
/// database the connections start in.
#[test]
fn protocol_socket_rule_and_connection_database() {
    let s = server();
    let src = s.db_with("proto", &["CREATE TABLE {db}.t (id INT PRIMARY KEY)", "INSERT INTO {db}.t VALUES (1), (2), (3)"]);
    let tmp = tempdir();
    let sock = s.socket.display().to_string();
    let port = s.port.to_string();
    let dump = |name: &str, conn: &[&str]| {
        let out = run(rdumper().args(conn).args(["-u", "root", "-B", &src.name, "-o"]).arg(tmp.path().join(name)));
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // A socket that does not exist is not used for another host...
    let (ok, err) = dump("tcp_host", &["-h", "127.0.0.1", "-P", &port, "-S", "/nonexistent/mysql.sock"]);
    assert!(ok, "{err}");
    // ...nor with --protocol=tcp, even for "localhost".
    let (ok, err) = dump("tcp_forced", &["--protocol", "tcp", "-h", "localhost", "-P", &port, "-S", "/nonexistent/mysql.sock"]);
    assert!(ok, "{err}");
    // --protocol=socket uses the socket whatever host and port say.
    let (ok, err) = dump("socket_forced", &["--protocol=SOCKET", "-h", "192.0.2.1", "-P", "1", "-S", &sock]);
    assert!(ok, "{err}");
    let (ok, err) = dump("bad_protocol", &["--protocol", "pipe", "-S", &sock]);
    assert!(!ok && err.contains("--protocol") && err.contains("pipe"), "{err}");
    let dumped = std::fs::read_to_string(tmp.path().join("socket_forced").join(format!("{}.t.00000.sql", src.name))).unwrap();
    assert!(dumped.contains("(1),") || dumped.contains("(1)\n"), "{dumped}");

    let (ok, err) = dump("db", &["-S", &sock, "--default-connection-database", "information_schema"]);
    assert!(ok, "{err}");
    let (ok, err) = dump("no_db", &["-S", &sock, "--default-connection-database", "no_such_db_here"]);
    assert!(!ok && err.contains("no_such_db_here") && err.contains(&sock), "{err}");
    let out = run(rloader().args(["-S", &sock, "-u", "root", "--default-connection-database", "no_such_db_here", "-d"]).arg(tmp.path().join("db")));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no_such_db_here"));
}

/// `--machine-log-json`: every line on stderr is a JSON object with time,
/// level, program and message, the final error included; `--debug` logs
/// what -v 3 leaves out (here an option file key that is not an option).
#[test]
fn json_and_debug_logs() {
    let s = server();
    let tmp = tempdir();
    let db = s.db_with("jsonlog", &["CREATE TABLE {db}.t (id INT PRIMARY KEY)", "INSERT INTO {db}.t VALUES (1)"]);
    let out = run_ok(rdumper().args(s.conn_args()).args(["-B", &db.name, "-v", "3", "--machine-log-json", "-o"]).arg(tmp.path().join("d")));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = err.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert!(lines.len() > 3, "{err}");
    assert!(lines.iter().all(|v| v["program"] == "rdumper" && v["time"].is_string() && v["level"].is_string()));
    assert!(lines.iter().any(|v| v["message"].as_str().unwrap_or("").contains("dump finished")), "{err}");

    let out = run(rloader().args(["-h", &s.host, "-P", &s.port.to_string(), "-u", "rdump_pw", "-p", "wrong", "--machine-log-json", "-d"]).arg(tmp.path().join("d")));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    let last: serde_json::Value = serde_json::from_str(err.lines().last().unwrap()).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(last["level"], "ERROR");
    assert!(last["message"].as_str().unwrap().contains("Access denied"), "{err}");

    // A debugging message: TLS options that a socket connection does not use.
    let dump = |extra: &str, dir: &str| {
        let out = run_ok(rdumper().args(s.conn_args()).args(["-B", &db.name, "--ssl", extra, "-o"]).arg(tmp.path().join(dir)));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(!dump("-v3", "e").contains("the Unix socket is used unencrypted"));
    assert!(dump("--debug", "f").contains("the Unix socket is used unencrypted"));

    // Another: a key of the program's option-file section that is none of
    // its options, read before the logger exists.
    let cnf = tmp.path().join("extra.cnf");
    std::fs::write(&cnf, "[mydumper]\nfoo-bar = 1\n[myloader]\nbaz = 2\n").unwrap();
    let ignored = |debug: &str, dir: &str| {
        let out = run_ok(rdumper().arg(format!("--defaults-extra-file={}", cnf.display())).args(s.conn_args()).args(["-B", &db.name, debug, "-o"]).arg(tmp.path().join(dir)));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = ignored("--debug", "g");
    assert!(err.contains("option file key \"foo-bar\" is not an option of this program; ignored"), "{err}");
    assert!(!err.contains("\"baz\""), "{err}");
    assert!(!ignored("-v3", "h").contains("foo-bar"));
}

/// Statements MySQL 8.4 renamed are tried in the server's syntax: the next
/// spelling only after a syntax error, any other error as it is. MariaDB
/// does not know MySQL 8.4's `SHOW BINARY LOG STATUS`.
#[test]
fn first_parsed_falls_back_on_syntax_errors_only() {
    let s = server();
    let mut c = s.conn();
    let rows = common::conn::first_parsed(&mut c, &["SHOW BINARY LOG STATUS", "SHOW MASTER STATUS"], |c, q| {
        mysql::prelude::Queryable::query::<mysql::Row, _>(c, q)
    })
    .unwrap();
    assert_eq!(rows.len(), 1, "the test server writes a binary log");
    let e = common::conn::first_parsed(&mut c, &["SELECT * FROM no_such_db_x.t", "SELECT 1"], |c, q| {
        mysql::prelude::Queryable::query_drop(c, q)
    })
    .unwrap_err();
    assert_eq!(common::conn::error_code(&e), Some(1146), "{e}");
    let e = common::conn::first_parsed(&mut c, &["SHOW NOTHING AT ALL", "SHOW EITHER"], |c, q| mysql::prelude::Queryable::query_drop(c, q))
        .unwrap_err();
    assert_eq!(common::conn::error_code(&e), Some(1064), "{e}");
}
