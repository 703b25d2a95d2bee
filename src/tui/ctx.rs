//! What a tab may do while handling a message: ask for requests, cancel
//! them, and send the app a message (e.g. `Msg::Open`). All of it is
//! collected and returned by `update`; nothing happens here.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::app::Msg;
use super::command::{Command, Job, Owner, Request, RequestId};
use super::keymap::Allow;
use crate::domain::role::Action;

/// Hands out request ids and idempotency keys, unique in the session.
#[derive(Debug, Clone)]
pub struct Ids {
    next: u64,
    /// Random per run (fixed in tests), so keys from two sessions differ.
    session: String,
}

impl Ids {
    pub fn new(session: impl Into<String>) -> Self {
        Self {
            next: 1,
            session: session.into(),
        }
    }

    fn request(&mut self) -> RequestId {
        let id = RequestId(self.next);
        self.next += 1;
        id
    }

    /// A key for one opened form: submitting it twice can't book twice.
    fn idempotency_key(&mut self) -> String {
        let n = self.next;
        self.next += 1;
        format!("creditdesk-console:{}:{n}", self.session)
    }
}

/// What `update` collects: commands for the effect runner and messages the
/// app handles next, in order.
#[derive(Debug, Default)]
pub struct Outbox {
    pub commands: Vec<Command>,
    pub msgs: Vec<Msg>,
}

pub struct Ctx<'a> {
    pub now: DateTime<Utc>,
    /// What the session and the operator's role may do.
    pub allow: &'a Allow,
    owner: Owner,
    ids: &'a mut Ids,
    out: &'a mut Outbox,
}

impl<'a> Ctx<'a> {
    pub fn new(
        owner: Owner,
        now: DateTime<Utc>,
        allow: &'a Allow,
        ids: &'a mut Ids,
        out: &'a mut Outbox,
    ) -> Self {
        Self {
            now,
            allow,
            owner,
            ids,
            out,
        }
    }

    /// Whether `action` may be done in this session (read-only mode and the
    /// operator's role).
    pub fn permits(&self, action: Action) -> bool {
        self.allow.permits(action)
    }

    /// Runs `job` now; the reply comes back to this tab with the returned id.
    pub fn request(&mut self, job: Job) -> RequestId {
        self.schedule(None, job)
    }

    /// Runs `job` after `delay` unless cancelled first.
    pub fn request_after(&mut self, delay: Duration, job: Job) -> RequestId {
        self.schedule(Some(delay), job)
    }

    /// Runs `job` after `delay` if any (a debounced list), else now.
    pub fn request_in(&mut self, delay: Option<Duration>, job: Job) -> RequestId {
        self.schedule(delay, job)
    }

    fn schedule(&mut self, delay: Option<Duration>, job: Job) -> RequestId {
        let id = self.ids.request();
        self.out.commands.push(Command::Run(Request {
            id,
            owner: self.owner,
            delay,
            job,
        }));
        id
    }

    /// Stops a request; `None` is a no-op so callers can pass `pending.take()`.
    pub fn cancel(&mut self, id: Option<RequestId>) {
        if let Some(id) = id {
            self.out.commands.push(Command::Cancel(id));
        }
    }

    /// A message the app handles right after this one.
    pub fn emit(&mut self, msg: Msg) {
        self.out.msgs.push(msg);
    }

    pub fn idempotency_key(&mut self) -> String {
        self.ids.idempotency_key()
    }
}
