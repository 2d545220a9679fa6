//! Server connections: where to connect, as whom, and clear errors when
//! that fails. The password never appears in messages.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::options::ConnectionArgs;
use crate::tls::{SslMode, Tls};

const DEFAULT_SOCKETS: &[&str] = &["/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock"];

/// Resolved connection settings.
#[derive(Clone)]
pub struct ConnectionConfig {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    password: Option<String>,
    pub socket: Option<PathBuf>,
    /// TLS on TCP connections (a Unix socket is never encrypted).
    pub tls: Option<Tls>,
    /// `-C`: the protocol's compression.
    pub compress: bool,
    /// `--default-connection-database`: the database connected to.
    pub database: Option<String>,
    /// `--enable-cleartext-plugin`: the password may go as clear text to a
    /// server that asks for it so (`mysql_clear_password`).
    pub cleartext: bool,
    /// PREFERRED met a server without TLS: later connections go plain at
    /// once.
    tls_refused: Arc<AtomicBool>,
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("socket", &self.socket)
            .field("tls", &self.tls.as_ref().map(|t| t.mode))
            .field("compress", &self.compress)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {target}: {message}")]
pub struct ConnectError {
    pub target: String,
    pub message: String,
}

impl ConnectionConfig {
    /// Settles the options: command line (already merged with option files),
    /// then `MYSQL_HOST`, `MYSQL_TCP_PORT`, `MYSQL_PWD`, `MYSQL_UNIX_PORT`;
    /// `--ask-password` prompts on the terminal without echo.
    pub fn from_args(args: &ConnectionArgs) -> Result<ConnectionConfig> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let host = args.host.clone().or_else(|| env("MYSQL_HOST")).unwrap_or_else(|| "localhost".into());
        let port = match args.port {
            Some(p) => p,
            None => match env("MYSQL_TCP_PORT") {
                Some(p) => p.parse().with_context(|| format!("MYSQL_TCP_PORT is not a port number: {p:?}"))?,
                None => 3306,
            },
        };
        let password = if args.ask_password {
            Some(rpassword::prompt_password("Enter MySQL Password: ").context("cannot read the password")?)
        } else {
            args.password.clone().or_else(|| env("MYSQL_PWD"))
        };
        let named_or_default = || {
            args.socket
                .clone()
                .or_else(|| env("MYSQL_UNIX_PORT").map(PathBuf::from))
                .or_else(|| DEFAULT_SOCKETS.iter().map(PathBuf::from).find(|p| p.exists()))
        };
        let socket = match args.protocol.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("tcp") => None,
            Some("socket") => Some(named_or_default().context("--protocol=socket: no socket (give -S/--socket)")?),
            Some(other) => bail!("--protocol: {other:?} is not tcp or socket"),
            // As the client library: the socket for "localhost" (with no
            // port, unless a socket is named), TCP for any other host.
            None if host == "localhost" && (args.port.is_none() || args.socket.is_some()) => named_or_default(),
            None => None,
        };
        let user = args.user.clone().or_else(|| env("USER"));
        let tls = Tls::from_args(args)?;
        if tls.is_some() && socket.is_some() {
            log::debug!("TLS options apply to TCP connections; the Unix socket is used unencrypted");
        }
        Ok(ConnectionConfig {
            host,
            port,
            user,
            password,
            socket,
            tls,
            compress: args.compress_protocol,
            database: args.default_connection_database.clone(),
            cleartext: args.enable_cleartext_plugin,
            tls_refused: Arc::default(),
        })
    }

    /// Whether the connections are plain sockets, neither encrypted nor
    /// compressed, so that `common::wire` may read and write them.
    pub fn raw_wire(&self) -> bool {
        !self.compress && self.tls_in_use().is_none()
    }

    /// The TLS settings connections are made with: none on a socket, or
    /// once PREFERRED met a server without TLS.
    fn tls_in_use(&self) -> Option<&Tls> {
        self.tls.as_ref().filter(|_| self.socket.is_none() && !self.tls_refused.load(Ordering::Relaxed))
    }

    /// Where the connection goes, for messages: `socket /x` or `host:port`.
    pub fn target(&self) -> String {
        let who = self.user.as_deref().map(|u| format!(" as {u}")).unwrap_or_default();
        match &self.socket {
            Some(s) => format!("socket {}{who}", s.display()),
            None => format!("{}:{}{who}", self.host, self.port),
        }
    }

    pub fn opts(&self) -> mysql::Opts {
        let host = if self.host == "localhost" && self.socket.is_none() { "127.0.0.1" } else { &self.host };
        let mut b = mysql::OptsBuilder::new()
            .ip_or_hostname(Some(host))
            .tcp_port(self.port)
            .user(self.user.clone())
            .pass(self.password.clone())
            .prefer_socket(false)
            .tcp_connect_timeout(Some(Duration::from_secs(10)))
            .stmt_cache_size(Some(0));
        if let Some(s) = &self.socket {
            b = b.socket(Some(s.to_string_lossy().into_owned()));
        }
        if self.compress {
            b = b.compress(Some(mysql::Compression::default()));
        }
        b = b.db_name(self.database.clone()).enable_cleartext_plugin(self.cleartext);
        b = b.ssl_opts(self.tls_in_use().map(Tls::ssl_opts));
        mysql::Opts::from(b)
    }

    /// Opens a connection, with the target and the server's message in the
    /// error.
    pub fn connect(&self) -> Result<mysql::Conn, ConnectError> {
        self.connect_with(self.opts())
    }

    /// As `connect`, with options the caller has extended from `opts()`.
    pub fn connect_with(&self, opts: mysql::Opts) -> Result<mysql::Conn, ConnectError> {
        let preferred = matches!(&self.tls, Some(t) if t.mode == SslMode::Preferred);
        match mysql::Conn::new(opts.clone()) {
            Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported)) if preferred => {
                log::info!("{} offers no TLS; connecting unencrypted (--ssl-mode=PREFERRED)", self.target());
                self.tls_refused.store(true, Ordering::Relaxed);
                let plain = mysql::OptsBuilder::from_opts(opts).ssl_opts(None);
                mysql::Conn::new(plain).map_err(|e| self.connect_error(&e))
            }
            r => r.map_err(|e| self.connect_error(&e)),
        }
    }

    fn connect_error(&self, e: &mysql::Error) -> ConnectError {
        let mut message = server_message(e);
        if matches!(e, mysql::Error::DriverError(mysql::DriverError::TlsNotSupported)) {
            message = format!("the server does not offer TLS, which --ssl/--ssl-mode ask for ({message})");
        } else if let Some(tls) = tls_failure(e) {
            message = format!("TLS failed: {tls}");
            if let rustls::Error::InvalidCertificate(c) = &tls {
                let hint = match c {
                    rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. } => {
                        "the server's certificate does not name the host (--ssl-mode=VERIFY_CA does not check the name)"
                    }
                    _ => "the server's certificate does not verify against --ca/--capath (--ssl-mode=REQUIRED does not check it)",
                };
                message = format!("{message}; {hint}");
            }
        } else if matches!(e, mysql::Error::TlsError(_)) {
            message = format!("TLS failed: {message}");
        }
        ConnectError { target: self.target(), message }
    }
}

/// The TLS library's error under a connection error, if that is its cause.
fn tls_failure(e: &mysql::Error) -> Option<rustls::Error> {
    // The client library's error gives no source of its own.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = match e {
        mysql::Error::CodecError(c) => Some(c),
        mysql::Error::IoError(io) => Some(io),
        other => Some(other),
    };
    while let Some(c) = cause {
        if let Some(t) = c.downcast_ref::<rustls::Error>() {
            return Some(t.clone());
        }
        if let Some(t) = c.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()).and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return Some(t.clone());
        }
        cause = c.source();
    }
    None
}

/// A one-line description of a client error: for server errors the code
/// and message, as the mysql client prints them.
pub fn server_message(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(m) => format!("ERROR {} ({}): {}", m.code, m.state, m.message),
        other => other.to_string().lines().next().unwrap_or("").to_string(),
    }
}

/// A failed query as one line (see [`server_message`]), keeping the
/// server's error code for callers that act on it (`--ignore-errors`).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub code: Option<u16>,
    pub message: String,
}

impl QueryError {
    pub fn new(e: &mysql::Error) -> QueryError {
        QueryError { code: error_code(e), message: server_message(e) }
    }

    /// With what failed after the message: `ERROR … (while running …)`.
    pub fn during(e: &mysql::Error, what: &str) -> QueryError {
        QueryError { code: error_code(e), message: format!("{} ({what})", server_message(e)) }
    }
}

/// The server error code behind `e`: a [`QueryError`]'s or a client
/// library error's, anywhere in its chain.
pub fn server_code(e: &anyhow::Error) -> Option<u16> {
    e.chain().find_map(|c| {
        c.downcast_ref::<QueryError>().and_then(|q| q.code).or_else(|| c.downcast_ref::<mysql::Error>().and_then(error_code))
    })
}

/// Runs the first of `queries` the server's parser knows: each next one
/// only after the one before failed with a syntax error (1064). MySQL 8.4
/// dropped statements that MariaDB and older MySQL know and the other way
/// round (`SHOW MASTER STATUS` is `SHOW BINARY LOG STATUS` there, `SLAVE`
/// is `REPLICA`); any other error is returned as it is.
pub fn first_parsed<T>(
    conn: &mut mysql::Conn,
    queries: &[&str],
    mut run: impl FnMut(&mut mysql::Conn, &str) -> Result<T, mysql::Error>,
) -> Result<T, mysql::Error> {
    let mut last = None;
    for q in queries {
        match run(conn, q) {
            Err(e) if error_code(&e) == Some(1064) => last = Some(e),
            r => return r,
        }
    }
    Err(last.unwrap_or_else(|| mysql::Error::DriverError(mysql::DriverError::SetupError)))
}

/// The server error code of `e`, if it is a server error.
pub fn error_code(e: &mysql::Error) -> Option<u16> {
    match e {
        mysql::Error::MySqlError(m) => Some(m.code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: ConnectionArgs) -> ConnectionConfig {
        ConnectionConfig::from_args(&args).unwrap()
    }

    #[test]
    fn server_codes_come_from_the_error_not_its_text() {
        let server = mysql::Error::MySqlError(mysql::MySqlError { state: "42S02".into(), message: "Table 'a.b' doesn't exist".into(), code: 1146 });
        let e = anyhow::Error::from(QueryError::during(&server, "while running SELECT 1")).context("dumping `a`.`b`");
        assert_eq!(server_code(&e), Some(1146));
        assert!(format!("{e:#}").contains("ERROR 1146 (42S02): Table 'a.b' doesn't exist (while running SELECT 1)"));
        assert_eq!(server_code(&anyhow::Error::from(server).context("x")), Some(1146));
        // A message that quotes a server error is not one.
        assert_eq!(server_code(&anyhow::anyhow!("table `ERROR 1146 (x` is odd")), None);
    }

    #[test]
    fn socket_only_for_localhost_unless_forced() {
        let sock = Some(PathBuf::from("/x/mysql.sock"));
        let c = config(ConnectionArgs { host: Some("db.example".into()), socket: sock.clone(), ..Default::default() });
        assert_eq!(c.socket, None);
        let c = config(ConnectionArgs { host: Some("localhost".into()), port: Some(3307), socket: sock.clone(), ..Default::default() });
        assert_eq!(c.socket, sock);
        let c = config(ConnectionArgs { host: Some("localhost".into()), socket: sock.clone(), protocol: Some("TCP".into()), ..Default::default() });
        assert_eq!(c.socket, None);
        let c = config(ConnectionArgs { host: Some("db.example".into()), socket: sock.clone(), protocol: Some("socket".into()), ..Default::default() });
        assert_eq!(c.socket, sock);
    }

    #[test]
    fn session_options_reach_the_library() {
        let c = config(ConnectionArgs {
            host: Some("127.0.0.1".into()),
            default_connection_database: Some("information_schema".into()),
            enable_cleartext_plugin: true,
            compress_protocol: true,
            ..Default::default()
        });
        let o = c.opts();
        assert_eq!(o.get_db_name(), Some("information_schema"));
        assert!(o.get_enable_cleartext_plugin());
        assert!(o.get_compress().is_some());
        assert!(!c.raw_wire(), "a compressed connection is not a plain socket");
        let plain = config(ConnectionArgs { host: Some("127.0.0.1".into()), ..Default::default() });
        assert!(plain.raw_wire() && plain.opts().get_ssl_opts().is_none());
        let tls = config(ConnectionArgs { host: Some("127.0.0.1".into()), ssl: true, ..Default::default() });
        assert!(!tls.raw_wire() && tls.opts().get_ssl_opts().is_some());
    }
}
