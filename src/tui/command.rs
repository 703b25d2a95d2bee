//! What `update` asks the outside world to do, and what comes back.
//!
//! `update` never does IO: it returns [`Command`]s. The effect runner
//! ([`super::effects::Effects`]) runs each [`Request`] as its own task and
//! sends the result back as a [`Reply`] carrying the request's id, so a reply
//! nobody waits for any more (superseded, cancelled) is recognised and
//! dropped.

use std::time::Duration;

use crate::db::audit::{AuditEntry, AuditFilter};
use crate::db::credits::{Adjustment, HistoryPage, HistoryQuery, Overview};
use crate::db::users::User;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};

use super::tabs::TabId;

/// Identifies one request for its whole life; never reused in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// Who gets the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The app itself (the database health check).
    App,
    Tab(TabId),
}

#[derive(Debug, Clone)]
pub enum Command {
    Run(Request),
    /// Abort the task if it still runs; its reply, if any, is dropped.
    Cancel(RequestId),
}

#[derive(Debug, Clone)]
pub struct Request {
    pub id: RequestId,
    pub owner: Owner,
    /// Wait this long before starting; cancelling in the meantime means the
    /// query never runs (that is the search debounce).
    pub delay: Option<Duration>,
    pub job: Job,
}

/// One call into `crate::db`. Add a variant (and its [`Outcome`]) per
/// operation a tab needs, and its arm in `effects::perform`.
#[derive(Debug, Clone)]
pub enum Job {
    /// Is the database reachable (a connection can be had)?
    Ping,
    FindUsers {
        text: String,
        limit: i64,
    },
    Overview {
        user: UserRef,
    },
    History(HistoryQuery),
    Adjust {
        user: UserRef,
        amount: i32,
        reason: Reason,
        idempotency_key: String,
    },
    Audit(AuditFilter),
}

impl Job {
    /// Changes are never retried on their own: the operator decides.
    pub fn is_change(&self) -> bool {
        matches!(self, Job::Adjust { .. })
    }

    /// For the log.
    pub fn name(&self) -> &'static str {
        match self {
            Job::Ping => "ping",
            Job::FindUsers { .. } => "users.find",
            Job::Overview { .. } => "credits.overview",
            Job::History(_) => "credits.history",
            Job::Adjust { .. } => "credits.adjust",
            Job::Audit(_) => "audit.list",
        }
    }
}

/// The result of a [`Job`], one variant per job.
#[derive(Debug)]
pub enum Outcome {
    Ping(Result<()>),
    Users(Result<Vec<User>>),
    Overview(Result<Overview>),
    History(Result<HistoryPage>),
    Adjusted(Result<Adjustment>),
    Audit(Result<Vec<AuditEntry>>),
}

impl Outcome {
    pub fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Ping(r) => r.as_ref().err(),
            Outcome::Users(r) => r.as_ref().err(),
            Outcome::Overview(r) => r.as_ref().err(),
            Outcome::History(r) => r.as_ref().err(),
            Outcome::Adjusted(r) => r.as_ref().err(),
            Outcome::Audit(r) => r.as_ref().err(),
        }
    }

    /// A broken connection or server, as opposed to a refusal or bad input.
    pub fn is_infrastructure_error(&self) -> bool {
        matches!(self.error(), Some(Error::Infrastructure(_)))
    }
}

#[derive(Debug)]
pub struct Reply {
    pub id: RequestId,
    pub owner: Owner,
    pub outcome: Outcome,
}
