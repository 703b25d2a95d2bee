//! Turning a database URL into a pool: TLS as the URL asks, read-only when
//! asked, and errors that never echo the password.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

use super::{Db, Mode};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

use crate::error::{Error, Result};

/// Where we connect, parsed once; `Display` is safe to show (no password).
#[derive(Clone)]
pub struct Target {
    options: PgConnectOptions,
    /// Kept only to scrub it from error text that might quote it.
    password: Option<String>,
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
    /// Parses a `postgres://` URL (libpq's forms, `sslmode`, `host=/socket/dir`).
    pub fn parse(url: &str) -> Result<Self> {
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid(
                "database-url",
                "no database given: set DATABASE_URL or pass --database-url",
            ));
        }
        if !(trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://")) {
            return Err(Error::invalid(
                "database-url",
                "malformed database URL: it must start with postgres:// or postgresql://",
            ));
        }
        let password = url::Url::parse(trimmed)
            .ok()
            .and_then(|u| u.password().map(str::to_owned))
            .filter(|p| !p.is_empty());
        let options = PgConnectOptions::from_str(trimmed).map_err(|e| {
            let message = scrub(&format!("malformed database URL: {e}"), password.as_deref());
            Error::invalid("database-url", message)
        })?;
        Ok(Self {
            options: options.application_name("creditdesk"),
            password,
        })
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
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, self.options.connect())
            .await
            .map_err(|_| self.connect_error(&sqlx::Error::PoolTimedOut))?
            .map_err(|e| self.connect_error(&e))?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(CONNECT_TIMEOUT)
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
            "",
            "mysql://x",
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
    fn socket_targets_show_the_directory() {
        let t = Target::parse("postgres://postgres@localhost:5432/demo?host=/tmp/pgdir")
            .expect("valid url");
        assert_eq!(t.to_string(), "/tmp/pgdir/demo");
    }
}
