//! Turning a connection string into a pool: resolved as libpq would
//! ([`super::conninfo`]), TLS as asked, named in `pg_stat_activity` after the
//! operator, and errors that never echo the password.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection};

use super::conninfo::{self, ConnInfo, Host, Origin, SslMode, Sys};
use super::{Db, Mode};
use crate::domain::operator::Operator;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

use crate::error::{Error, Result};

/// Where we connect, resolved once; `Display` is safe to show (no password).
#[derive(Clone)]
pub struct Target {
    options: PgConnectOptions,
    /// Kept only to scrub it from error text that might quote it.
    password: Option<String>,
    password_origin: Option<Origin>,
    /// The application_name the connection string asked for, if any.
    given_name: Option<String>,
    service: Option<String>,
    connect_timeout: Duration,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({self})")
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let db = self.options.get_database().unwrap_or("");
        match self.options.get_socket() {
            Some(socket) => write!(f, "{}/{db}", socket.display()),
            None => write!(
                f,
                "{}:{}/{db}",
                self.options.get_host(),
                self.options.get_port()
            ),
        }
    }
}

impl Target {
    /// Resolves a connection string (a `postgres://` URL or `key=value`
    /// pairs, possibly naming a service) against this machine's environment,
    /// service files and `.pgpass`, as libpq does.
    pub fn parse(spec: &str) -> Result<Self> {
        Self::resolve(spec, &conninfo::System)
    }

    /// [`Target::parse`] against the machine `sys` describes.
    pub fn resolve(spec: &str, sys: &dyn Sys) -> Result<Self> {
        let info = conninfo::resolve(spec, sys).map_err(|message| {
            // The resolver never quotes a password; scrub anyway.
            let password = conninfo::parse(spec).ok().and_then(|params| {
                params
                    .into_iter()
                    .find(|(k, _)| k == "password")
                    .map(|(_, v)| v)
            });
            Error::invalid("connection", scrub(&message, password.as_deref()))
        })?;
        Ok(Self::from_info(info))
    }

    fn from_info(info: ConnInfo) -> Self {
        // Every field is set from `info`, which already holds what the
        // environment says, so sqlx's own reading of it changes nothing.
        let mut options = PgConnectOptions::new_without_pgpass()
            .port(info.port)
            .username(&info.user)
            .database(&info.dbname)
            .ssl_mode(match info.sslmode {
                SslMode::Disable => PgSslMode::Disable,
                SslMode::Allow => PgSslMode::Allow,
                SslMode::Prefer => PgSslMode::Prefer,
                SslMode::Require => PgSslMode::Require,
                SslMode::VerifyCa => PgSslMode::VerifyCa,
                SslMode::VerifyFull => PgSslMode::VerifyFull,
            })
            .application_name(&default_name(None))
            // Not sent at startup: PgBouncer refuses a parameter it doesn't
            // track ("unsupported startup parameter: extra_float_digits")
            // unless told to ignore it, and PostgreSQL 12+ already prints
            // floats exactly by default.
            .extra_float_digits(None);
        options = match &info.host {
            Host::Tcp(host) => options.host(host),
            Host::Socket(dir) => options.host("localhost").socket(dir),
        };
        if let Some(pw) = &info.password {
            options = options.password(pw);
        }
        if let Some(ca) = &info.sslrootcert {
            options = options.ssl_root_cert(ca);
        }
        if let Some(cert) = &info.sslcert {
            options = options.ssl_client_cert(cert);
        }
        if let Some(key) = &info.sslkey {
            options = options.ssl_client_key(key);
        }
        if let Some(name) = &info.application_name {
            options = options.application_name(name);
        }
        Self {
            options,
            password: info.password.filter(|p| !p.is_empty()),
            password_origin: info.password_origin,
            given_name: info.application_name,
            service: info.service,
            connect_timeout: info.connect_timeout.unwrap_or(CONNECT_TIMEOUT),
            warnings: info.warnings,
        }
    }

    /// Names the connection `creditdesk/<version> (<operator>)` in
    /// `pg_stat_activity`, unless the connection string named it; without
    /// an operator name given, the login is the operator.
    pub fn named_for(mut self, operator: Option<&Operator>) -> Self {
        if self.given_name.is_none() {
            let login = Operator::parse(self.options.get_username()).ok();
            let name = default_name(operator.or(login.as_ref()));
            self.options = self.options.application_name(&name);
        }
        self
    }

    /// The name the server will show for our connections.
    pub fn application_name(&self) -> Option<&str> {
        self.options.get_application_name()
    }

    /// The service the connection came from, if any.
    pub fn service(&self) -> Option<&str> {
        self.service.as_deref()
    }

    /// Where the password came from (`None`: no password).
    pub fn password_origin(&self) -> Option<&Origin> {
        self.password_origin.as_ref()
    }

    /// What resolving found worth telling the operator (a password file
    /// others can read, say); the caller prints them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The options to open a connection of one's own with (e.g. for
    /// migrations, which must not share a pooled one).
    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// The database name, for display.
    pub fn database(&self) -> &str {
        self.options.get_database().unwrap_or("")
    }

    /// Opens a pool used as `mode` says (see [`super::handle`]).
    pub async fn connect(&self, mode: Mode, max_connections: u32) -> Result<Db> {
        // One direct attempt first: a pool retries until its timeout and
        // then only says "timed out"; this says "refused" or "password
        // authentication failed" at once.
        let probe = tokio::time::timeout(self.connect_timeout, self.options.connect())
            .await
            .map_err(|_| self.connect_error(&sqlx::Error::PoolTimedOut))?
            .map_err(|e| self.connect_error(&e))?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(self.connect_timeout)
            .connect_with(self.options.clone())
            .await
            .map_err(|e| self.connect_error(&e))?;
        Ok(Db::new(pool, mode))
    }

    /// An error that says where and why, never how we authenticated.
    pub fn connect_error(&self, e: &sqlx::Error) -> Error {
        let why = match e {
            sqlx::Error::PoolTimedOut => "timed out".to_owned(),
            other => other.to_string(),
        };
        Error::Infrastructure(scrub(
            &format!("cannot connect to the database at {self}: {why}"),
            self.password.as_deref(),
        ))
    }
}

/// `creditdesk/0.1.0 (ana)`: who holds a lock, for the DBA.
fn default_name(operator: Option<&Operator>) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match operator {
        Some(op) => format!("creditdesk/{version} ({op})"),
        None => format!("creditdesk/{version}"),
    }
}

/// Removes the password from a message, however it got there.
fn scrub(message: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if p.len() >= 2 => message.replace(p, "********"),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_never_shows_the_password() {
        let t = Target::parse("postgres://app:s3cret-pw@db.example.com:6543/prod?sslmode=require")
            .expect("valid url");
        let shown = format!("{t} {t:?}");
        assert_eq!(t.to_string(), "db.example.com:6543/prod");
        assert!(!shown.contains("s3cret"));
    }

    #[test]
    fn malformed_urls_are_invalid_input_without_the_password() {
        for url in [
            "mysql://x",
            "postgres:///?service=no-such-service-anywhere",
            "postgres://u:hunter22@host:notaport/db",
            "postgres://u:hunter22@host/db?sslmode=bogus",
        ] {
            let err = Target::parse(url).expect_err(url);
            assert_eq!(
                err.exit_code(),
                crate::error::exit_code::INVALID_INPUT,
                "{url}"
            );
            assert!(!err.to_string().contains("hunter22"), "{err}");
        }
    }

    #[test]
    fn connections_are_named_after_the_operator_unless_named() {
        let ana = Operator::parse("ana").expect("operator");
        let t = Target::parse("postgres://u@h/db")
            .expect("url")
            .named_for(Some(&ana));
        assert_eq!(
            t.application_name(),
            Some(format!("creditdesk/{} (ana)", env!("CARGO_PKG_VERSION")).as_str())
        );
        let t = Target::parse("postgres://u@h/db?application_name=mine")
            .expect("url")
            .named_for(Some(&ana));
        assert_eq!(t.application_name(), Some("mine"));
    }

    #[test]
    fn socket_targets_show_the_directory() {
        let t = Target::parse("postgres://postgres@localhost:5432/demo?host=/tmp/pgdir")
            .expect("valid url");
        assert_eq!(t.to_string(), "/tmp/pgdir/demo");
    }
}
