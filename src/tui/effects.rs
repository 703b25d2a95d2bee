//! The effect runner: each [`Request`] becomes a tokio task that calls the
//! `crate::db` function and sends its [`Reply`] back. The screen never
//! waits on the database.
//!
//! Cancelling aborts the task (a delayed one never starts: that is the
//! search debounce) and forgets the id, so a reply that was already on its
//! way is dropped here; `update` checks ids as well.

use std::collections::HashMap;
use std::time::Instant;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use super::app::Msg;
use super::command::{Command, Reply, Request, RequestId};
use crate::db::Db;
use crate::domain::operator::Operator;

/// Where copied text goes: the terminal (OSC 52) in the console; nowhere
/// in tests.
pub type Clipboard = Box<dyn FnMut(&str) + Send>;

pub struct Effects {
    db: Db,
    clipboard: Option<Clipboard>,
    operator: Operator,
    tx: UnboundedSender<Reply>,
    rx: UnboundedReceiver<Reply>,
    running: HashMap<RequestId, JoinHandle<()>>,
}

impl Effects {
    pub fn new(db: Db, operator: Operator) -> Self {
        let (tx, rx) = unbounded_channel();
        Self {
            db,
            clipboard: None,
            operator,
            tx,
            rx,
            running: HashMap::new(),
        }
    }

    /// Copied text goes to `sink` (the console writes OSC 52 to the
    /// terminal).
    pub fn with_clipboard(mut self, sink: Clipboard) -> Self {
        self.clipboard = Some(sink);
        self
    }

    /// Starts or cancels; must be called inside a tokio runtime.
    pub fn apply(&mut self, commands: Vec<Command>) {
        for command in commands {
            match command {
                Command::Run(request) => self.spawn(request),
                Command::Cancel(id) => {
                    if let Some(task) = self.running.remove(&id) {
                        tracing::debug!(id = id.0, "request cancelled");
                        task.abort();
                    }
                }
                Command::Copy(text) => {
                    if let Some(sink) = &mut self.clipboard {
                        sink(&text);
                    }
                }
            }
        }
    }

    fn spawn(&mut self, request: Request) {
        let Request {
            id,
            owner,
            delay,
            job,
        } = request;
        let db = self.db.clone();
        let operator = self.operator.clone();
        let tx = self.tx.clone();
        let task = tokio::spawn(async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let name = job.name();
            let change = job.is_change();
            let started = Instant::now();
            let outcome = job.perform(&db, &operator).await;
            let ms = started.elapsed().as_millis();
            match outcome.error() {
                Some(e) => tracing::warn!(id = id.0, job = name, ms, error = %e, "request failed"),
                // Changes are worth a line at the default level.
                None if change => tracing::info!(id = id.0, job = name, ms, "change applied"),
                None => tracing::debug!(id = id.0, job = name, ms, "request done"),
            }
            // The receiver is gone only when the console is closing.
            let _ = tx.send(Reply { id, owner, outcome });
        });
        self.running.insert(id, task);
    }

    /// Requests started and not yet answered (or cancelled).
    pub fn pending(&self) -> usize {
        self.running.len()
    }

    /// The next reply to a request still wanted, as a message for `update`.
    /// Pending forever when nothing is running.
    pub async fn next(&mut self) -> Msg {
        loop {
            match self.rx.recv().await {
                Some(reply) => {
                    if self.running.remove(&reply.id).is_some() {
                        return Msg::Reply(reply);
                    }
                }
                // Never: we hold a sender ourselves.
                None => std::future::pending::<()>().await,
            }
        }
    }

    /// A reply already waiting, without waiting.
    pub fn try_next(&mut self) -> Option<Msg> {
        while let Ok(reply) = self.rx.try_recv() {
            if self.running.remove(&reply.id).is_some() {
                return Some(Msg::Reply(reply));
            }
        }
        None
    }

    pub fn abort_all(&mut self) {
        for (_, task) in self.running.drain() {
            task.abort();
        }
    }
}

impl Drop for Effects {
    fn drop(&mut self) {
        self.abort_all();
    }
}
