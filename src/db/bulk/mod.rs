//! Bulk work: fail and refund many batches ([`fail`]), adjust many balances
//! from a file ([`adjust`]). Each is one library operation in two steps, so
//! the CLI and a console flow do the same thing:
//!
//! 1. a preview (`fail::preview`, `adjust::check`): a read that lists the
//!    exact items, what each would do, and the totals; nothing is written;
//! 2. the run (`fail::run`, `adjust::run`) of exactly that preview, sent in
//!    chunks of [`CHUNK`] items, each chunk one transaction of one
//!    `creditdesk` function call (every item in it is all-or-nothing, and
//!    audited), reporting [`Progress`] after each chunk and stopping
//!    between chunks when asked ([`Stop`]). A run cut short keeps what its
//!    committed chunks did; running the same preview again does the rest
//!    and books nothing twice (batches are refunded at most once; file rows
//!    carry idempotency keys).
//!
//! A run whose total is above its approval threshold is not chunked: it is
//! sent whole and becomes one pending request ([`crate::db::Change::Pending`]),
//! which the approver's transaction runs as one.

pub mod adjust;
pub mod fail;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Items per chunk: one `creditdesk` call and one transaction each.
pub const CHUNK: usize = 500;

/// How far a run is, after each chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Items the database has answered for (done, skipped or failed).
    pub done: usize,
    pub total: usize,
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_millis())
}

impl Progress {
    /// Items a second so far.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.done as f64 / secs
        } else {
            0.0
        }
    }
}

/// Where a run reports its progress: called after each chunk, from the
/// task that runs it (a console flow sends it on to its channel).
pub type OnProgress<'a> = &'a (dyn Fn(Progress) + Send + Sync);

/// Asks a run to stop after the chunk in flight (a write is never cut off
/// half-way: what the database did is reported). Cheap to clone; every
/// clone stops the same run.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Counts progress and calls back.
pub(crate) struct Tracker<'a> {
    started: Instant,
    total: usize,
    done: usize,
    on_progress: OnProgress<'a>,
}

impl<'a> Tracker<'a> {
    pub(crate) fn new(total: usize, on_progress: OnProgress<'a>) -> Self {
        let t = Self {
            started: Instant::now(),
            total,
            done: 0,
            on_progress,
        };
        t.report();
        t
    }

    pub(crate) fn add(&mut self, n: usize) {
        self.done += n;
        self.report();
    }

    fn report(&self) {
        (self.on_progress)(Progress {
            done: self.done,
            total: self.total,
            elapsed: self.started.elapsed(),
        });
    }

    pub(crate) fn elapsed_ms(&self) -> u128 {
        self.started.elapsed().as_millis()
    }
}

/// A run's id, for its audit rows (`details.bulk.run`): 16 random hex digits.
pub(crate) fn run_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// An error of a whole chunk: one that trying the items one at a time may
/// get past (another session's lock, a rule that an item broke unexpectedly)
/// rather than one that stops the run (the connection, the session).
fn item_by_item(e: &crate::error::Error) -> bool {
    matches!(
        e,
        crate::error::Error::Refused(_) | crate::error::Error::Busy(_)
    )
}

/// What a run's report takes in, chunk by chunk.
pub(crate) trait Sink {
    /// The database's answer for a chunk (or a single item).
    fn absorb(&mut self, answer: &serde_json::Value) -> crate::error::Result<()>;
    /// An item the database refused on its own.
    fn failed(&mut self, item: &serde_json::Value, error: String);
    /// Items not tried.
    fn not_run(&mut self, items: &[serde_json::Value]);
}

/// How a chunked run ended.
pub(crate) enum Ended {
    Done,
    /// [`Stop`] was set: the rest is not tried.
    Stopped,
    /// The connection or the session failed: the chunk in flight may or may
    /// not have been applied, the rest is not tried.
    Aborted(String),
}

/// Sends `items` in chunks of [`CHUNK`] through `call` (one transaction
/// each), into `sink`. A chunk that fails with an error one of its items
/// may cause is tried again item by item, so only that item fails.
pub(crate) async fn in_chunks<F, Fut>(
    items: &[serde_json::Value],
    sink: &mut impl Sink,
    tracker: &mut Tracker<'_>,
    stop: &Stop,
    call: F,
) -> crate::error::Result<Ended>
where
    // (an owned chunk: the future then borrows nothing of the loop's, and
    // is Send for a console that spawns the run)
    F: Fn(Vec<serde_json::Value>) -> Fut,
    Fut: std::future::Future<Output = crate::error::Result<serde_json::Value>>,
{
    let chunks: Vec<&[serde_json::Value]> = items.chunks(CHUNK).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let rest = || {
            chunks[i + 1..]
                .iter()
                .flat_map(|c| c.iter())
                .cloned()
                .collect::<Vec<_>>()
        };
        if stop.is_stopped() {
            sink.not_run(chunk);
            sink.not_run(&rest());
            return Ok(Ended::Stopped);
        }
        let outcome = match call(chunk.to_vec()).await {
            Ok(answer) => sink.absorb(&answer),
            Err(e) if item_by_item(&e) => {
                let mut outcome = Ok(());
                for (j, item) in chunk.iter().enumerate() {
                    match call(vec![item.clone()]).await {
                        Ok(answer) => sink.absorb(&answer)?,
                        Err(e) if item_by_item(&e) => sink.failed(item, e.to_string()),
                        Err(e) => {
                            sink.not_run(&chunk[j..]);
                            outcome = Err(e);
                            break;
                        }
                    }
                }
                outcome
            }
            Err(e) => {
                sink.not_run(chunk);
                Err(e)
            }
        };
        if let Err(e) = outcome {
            sink.not_run(&rest());
            return Ok(Ended::Aborted(e.to_string()));
        }
        tracker.add(chunk.len());
    }
    Ok(Ended::Done)
}
