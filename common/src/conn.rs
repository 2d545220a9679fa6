//! Server connections: where to connect, as whom, and clear errors when
//! that fails. The password never appears in messages.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::options::ConnectionArgs;

const DEFAULT_SOCKETS: &[&str] = &["/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock"];

/// Resolved connection settings.
#[derive(Clone)]
pub struct ConnectionConfig {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    password: Option<String>,
    pub socket: Option<PathBuf>,
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("socket", &self.socket)
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
        let socket = args.socket.clone().or_else(|| {
            // Like the C client: "localhost" without a port means the socket.
            if host == "localhost" && args.port.is_none() {
                env("MYSQL_UNIX_PORT")
                    .map(PathBuf::from)
                    .or_else(|| DEFAULT_SOCKETS.iter().map(PathBuf::from).find(|p| p.exists()))
            } else {
                None
            }
        });
        let user = args.user.clone().or_else(|| env("USER"));
        Ok(ConnectionConfig { host, port, user, password, socket })
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
        mysql::Opts::from(b)
    }

    /// Opens a connection, with the target and the server's message in the
    /// error.
    pub fn connect(&self) -> Result<mysql::Conn, ConnectError> {
        self.connect_with(self.opts())
    }

    /// As `connect`, with options the caller has extended from `opts()`.
    pub fn connect_with(&self, opts: mysql::Opts) -> Result<mysql::Conn, ConnectError> {
        mysql::Conn::new(opts).map_err(|e| ConnectError { target: self.target(), message: server_message(&e) })
    }
}

/// A one-line description of a client error: for server errors the code
/// and message, as the mysql client prints them.
pub fn server_message(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(m) => format!("ERROR {} ({}): {}", m.code, m.state, m.message),
        other => other.to_string().lines().next().unwrap_or("").to_string(),
    }
}

/// The server error code of `e`, if it is a server error.
pub fn error_code(e: &mysql::Error) -> Option<u16> {
    match e {
        mysql::Error::MySqlError(m) => Some(m.code),
        _ => None,
    }
}
