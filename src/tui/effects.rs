//! The effect runner: each [`Request`] becomes a tokio task that calls the
//! `crate::db` function and sends its [`Reply`] back. The screen never
//! waits on the database.
//!
//! Cancelling stops a read on the server too: each read runs on
//! `Db::cancellable` with its own [`CancelSlot`], and a cancel sends
//! `pg_cancel_backend` for that one transaction (a search superseded by the
//! next key doesn't keep a server process busy). Then the task is aborted
//! (a delayed one never starts) and its id forgotten, so a reply already on
//! its way is dropped here; `update` checks ids as well. Changes are never
//! cancelled on the server: Esc only stops waiting for them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use super::app::Msg;
use super::command::{Command, Reply, Request, RequestId};
use crate::db::{CancelSlot, Db};
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
    running: HashMap<RequestId, Running>,
}

/// A request's task, and for a read the slot that cancels it on the server.
struct Running {
    task: JoinHandle<()>,
    slot: Option<CancelSlot>,
    /// Past its delay: it may be talking to the server.
    started: Arc<AtomicBool>,
    /// Stopped: its failure (cancelled) is no news for the log.
    stopped: Arc<AtomicBool>,
}

/// A cancelled read that hasn't ended is cancelled again this often...
const RECANCEL_EVERY: Duration = Duration::from_millis(5);
/// ...and aborted after this long (a server that doesn't answer at all).
const RECANCEL_FOR: Duration = Duration::from_secs(5);

impl Running {
    /// Stops it, on the server too for a read that has started. Aborting
    /// such a read would drop it between two awaits, perhaps just after its
    /// query went out and before anyone could cancel that: so it is left to
    /// end by itself, cancelled on the server until it does (a cancel
    /// before its query starts is a no-op, hence the repeats). Its reply is
    /// dropped, its id being forgotten.
    fn stop(self) {
        let Running {
            task,
            slot,
            started,
            stopped,
        } = self;
        stopped.store(true, Ordering::Release);
        let slot = match slot {
            Some(slot)
                if started.load(Ordering::Acquire)
                    && tokio::runtime::Handle::try_current().is_ok() =>
            {
                slot
            }
            _ => return task.abort(),
        };
        tokio::spawn(async move {
            let since = Instant::now();
            while !task.is_finished() {
                slot.cancel();
                if since.elapsed() > RECANCEL_FOR {
                    task.abort();
                    return;
                }
                tokio::time::sleep(RECANCEL_EVERY).await;
            }
        });
    }
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
                    if let Some(running) = self.running.remove(&id) {
                        tracing::debug!(id = id.0, "request cancelled");
                        running.stop();
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
        // Reads can be stopped on the server; a change runs to its end.
        let slot = (!job.is_change()).then(CancelSlot::new);
        let db = match &slot {
            Some(slot) => self.db.cancellable(slot),
            None => self.db.clone(),
        };
        let operator = self.operator.clone();
        let tx = self.tx.clone();
        let started = Arc::new(AtomicBool::new(false));
        let starting = started.clone();
        let stopped = Arc::new(AtomicBool::new(false));
        let stopping = stopped.clone();
        let task = tokio::spawn(async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            starting.store(true, Ordering::Release);
            let name = job.name();
            let change = job.is_change();
            let started = Instant::now();
            let outcome = job.perform(&db, &operator).await;
            let ms = started.elapsed().as_millis();
            match outcome.error() {
                Some(e) if stopping.load(Ordering::Acquire) => {
                    tracing::debug!(id = id.0, job = name, ms, error = %e, "cancelled request ended");
                }
                Some(e) => tracing::warn!(id = id.0, job = name, ms, error = %e, "request failed"),
                // Changes are worth a line at the default level.
                None if change => tracing::info!(id = id.0, job = name, ms, "change applied"),
                None => tracing::debug!(id = id.0, job = name, ms, "request done"),
            }
            // The receiver is gone only when the console is closing.
            let _ = tx.send(Reply { id, owner, outcome });
        });
        self.running.insert(
            id,
            Running {
                task,
                slot,
                started,
                stopped,
            },
        );
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
        for (_, running) in self.running.drain() {
            running.stop();
        }
    }
}

impl Drop for Effects {
    fn drop(&mut self) {
        self.abort_all();
    }
}
