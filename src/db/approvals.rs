//! Four-eyes approval: a change above a threshold is stored as a pending
//! request and waits for a second person (security.md §3).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What a change that may need a second person did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Change<T> {
    /// Done, in this call's transaction.
    Applied(T),
    /// Above the approval threshold: nothing moved; the request waits.
    Pending(PendingRequest),
}

impl<T> Change<T> {
    /// The applied value, if the change was applied.
    pub fn applied(self) -> Option<T> {
        match self {
            Change::Applied(v) => Some(v),
            Change::Pending(_) => None,
        }
    }
}

/// A stored request that waits for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingRequest {
    pub id: i64,
    /// `credits.adjust`, `gift_card.issue`.
    pub kind: String,
    /// One line, e.g. `adjust user #12 by -800 credits`.
    pub summary: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}
