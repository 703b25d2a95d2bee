//! What the status line polls: the login, its role, the pending count and
//! the replica's lag.

use std::time::Duration;

use crate::db::Db;
use crate::error::Result;

/// What the status line shows about the session, read every few seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    /// The login that connected (PostgreSQL's `session_user`).
    pub login: String,
    /// `support`, `finance+oncall`, `owner`.
    pub role: String,
    /// In a creditdesk group; otherwise a shared login.
    pub personal: bool,
    /// Requests waiting for a second person, not expired.
    pub pending: i64,
    /// How far the replica is behind, when reads go to one.
    pub lag: Option<Duration>,
}

impl SessionStatus {
    /// From the session read at connect time (no lag known yet).
    pub fn of(session: &crate::db::Session) -> Self {
        Self {
            login: session.login.clone(),
            role: session.permissions.label(),
            personal: session.is_personal(),
            pending: session.pending_approvals,
            lag: None,
        }
    }
}

/// Reads the session again, and the replica's lag (a replica that doesn't
/// answer is no reason to fail the rest: its lag is then unknown).
pub async fn status(db: &Db) -> Result<SessionStatus> {
    let session = crate::db::session::load(db).await?;
    let lag = crate::db::session::replica_lag(db).await.unwrap_or(None);
    Ok(SessionStatus {
        lag,
        ..SessionStatus::of(&session)
    })
}
