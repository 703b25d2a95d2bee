//! The effect runner: each [`Request`] becomes a tokio task that calls the
//! `crate::db` function and sends its [`Reply`] back. The screen never
//! waits on the database.
//!
//! Cancelling aborts the task (a delayed one never starts: that is the
//! search debounce) and forgets the id, so a reply that was already on its
//! way is dropped here; `update` checks ids as well.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use super::app::Msg;
use super::command::{Command, Job, Outcome, Reply, Request, RequestId};
use super::tabs::gift_cards::RevealedCode;
use crate::db::{self, Db};
use crate::domain::operator::Operator;
use crate::error::Error;

/// A health check that takes longer than this counts as a failure.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

pub struct Effects {
    db: Db,
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
            operator,
            tx,
            rx,
            running: HashMap::new(),
        }
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
            let outcome = perform(&db, &operator, job).await;
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

/// Runs one job against the database.
pub async fn perform(db: &Db, operator: &Operator, job: Job) -> Outcome {
    match job {
        Job::Ping => Outcome::Ping(
            match tokio::time::timeout(PING_TIMEOUT, db.pool().acquire()).await {
                Ok(Ok(_connection)) => Ok(()),
                Ok(Err(e)) => Err(Error::Infrastructure(format!("database unreachable: {e}"))),
                Err(_) => Err(Error::Infrastructure(
                    "database unreachable: timed out".into(),
                )),
            },
        ),
        Job::FindUsers { text, limit } => Outcome::Users(db::users::find(db, &text, limit).await),
        Job::Overview { user } => Outcome::Overview(db::credits::overview(db, &user, 1).await),
        Job::History(query) => Outcome::History(db::credits::history(db, &query).await),
        Job::Adjust {
            user,
            amount,
            reason,
            idempotency_key,
        } => Outcome::Adjusted(
            db::credits::adjust(db, operator, &user, amount, &reason, Some(&idempotency_key)).await,
        ),
        Job::Audit(filter) => Outcome::Audit(db::audit::list(db, &filter).await),
        Job::GiftCards(filter) => Outcome::GiftCards(db::gift_cards::list(db, &filter).await),
        Job::GiftCardPacks => Outcome::GiftCardPacks(db::gift_cards::packs(db).await),
        Job::IssueGiftCards(req) => {
            Outcome::GiftCardsIssued(db::gift_cards::issue(db, operator, &req).await)
        }
        Job::SaveGiftCardCodes { path, cards } => Outcome::GiftCardCodesSaved(
            // Creating, writing and syncing a file: off the async threads.
            tokio::task::spawn_blocking(move || save_gift_card_codes(&path, &cards))
                .await
                .unwrap_or_else(|e| Err(Error::Infrastructure(format!("saving the codes: {e}")))),
        ),
        Job::GiftCard { card } => {
            Outcome::GiftCard(db::gift_cards::show(db, card).await.map(Box::new))
        }
        Job::RevealGiftCard { card } => Outcome::GiftCardRevealed(
            db::gift_cards::reveal(db, operator, card)
                .await
                .map(RevealedCode::new),
        ),
        Job::RevokeGiftCard { card, reason } => Outcome::GiftCardRevoked(
            db::gift_cards::revoke(db, operator, card, &reason)
                .await
                .map(Box::new),
        ),
        Job::RedeemGiftCard { card, user } => Outcome::GiftCardRedeemed(
            db::gift_cards::redeem(db, operator, card, &user)
                .await
                .map(Box::new),
        ),
        Job::Coupons(filter) => Outcome::Coupons(db::coupons::list(db, &filter).await),
        Job::Coupon { code } => Outcome::Coupon(db::coupons::show(db, &code).await),
        Job::CreateCoupon { new, generated } => Outcome::CouponCreated(if generated {
            db::coupons::create_generated(db, operator, new).await
        } else {
            db::coupons::create(db, operator, new).await
        }),
        Job::DeactivateCoupon { code, reason } => {
            Outcome::CouponDeactivated(db::coupons::deactivate(db, operator, &code, &reason).await)
        }
        Job::RedeemCoupon { code, user } => {
            Outcome::CouponRedeemed(db::coupons::redeem(db, operator, &code, &user).await)
        }
        Job::Batches(filter) => Outcome::Batches(db::batches::list(db, &filter).await),
        Job::Batch { id } => Outcome::Batch(db::batches::show(db, id).await.map(Box::new)),
        Job::FailBatch { id, reason, refund } => {
            Outcome::BatchFailed(db::batches::fail(db, operator, id, &reason, refund).await)
        }
    }
}

/// The issued codes to a new file readable by its owner only, as
/// `gift-cards issue --output` writes them; returns where (absolute when it
/// can tell).
fn save_gift_card_codes(
    path: &std::path::Path,
    cards: &[db::gift_cards::IssuedCard],
) -> crate::error::Result<std::path::PathBuf> {
    let file = crate::files::CodesFile::create(path)?;
    file.write(cards)?;
    Ok(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()))
}
