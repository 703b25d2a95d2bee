//! What `update` asks the outside world to do, and what comes back.
//!
//! `update` never does IO: it returns [`Command`]s. The effect runner
//! ([`super::effects::Effects`]) runs each [`Request`] as its own task and
//! sends the result back as a [`Reply`] carrying the request's id, so a reply
//! nobody waits for any more (superseded, cancelled) is recognised and
//! dropped.

use std::path::PathBuf;
use std::time::Duration;

use crate::db::audit::{AuditEntry, AuditFilter};
use crate::db::batches::{BatchDetail, BatchFilter, BatchSummary, FailedBatch, Refund};
use crate::db::bulk::fail::RefundMode;
use crate::db::bulk::{adjust, fail};
use crate::db::coupons::{Coupon, CouponDetail, CouponFilter, CouponRedemption};
use crate::db::credits::{Adjustment, HistoryQuery, LedgerPage, Overview, Reversal};
use crate::db::gift_cards::{
    CardKey, CreditPack, GiftCard, GiftCardFilter, GiftCardRedemption, IssueRequest, IssuedCard,
};
use crate::db::reports::Dashboard;
use crate::db::users::User;
use crate::db::{self, Change, Db};
use crate::domain::coupon::NewCoupon;
use crate::domain::operator::Operator;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};

use super::approvals::{ApprovalDone, SessionStatus};
use super::export::{ExportJob, Exported};
use super::secret::{CardRef, RevealedCode};
use super::tabs::TabId;
use super::widgets::progress::BulkRun;
use crate::db::approvals::{Request as ApprovalRequest, RequestDetail, RequestFilter};

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
    /// Put this text on the operator's clipboard (OSC 52).
    Copy(String),
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
/// operation a tab needs, and its arm in [`Job::perform`].
#[derive(Debug, Clone)]
pub enum Job {
    /// Is the database reachable (a connection can be had)?
    Ping,
    FindUsers {
        text: String,
        limit: i64,
    },
    /// `users::get`: one user as they are now (a confirmation's balance).
    User {
        user: UserRef,
    },
    Overview {
        user: UserRef,
    },
    Adjust {
        user: UserRef,
        amount: i32,
        reason: Reason,
        idempotency_key: String,
    },
    Audit(AuditFilter),
    /// `gift_cards::list`: by status, code suffix or recipient, keyset.
    GiftCards(GiftCardFilter),
    /// `gift_cards::packs`, for the issue form's selector.
    GiftCardPacks,
    /// `gift_cards::issue`: the reply holds the full codes.
    IssueGiftCards(IssueRequest),
    /// `files::CodesFile`: the issued codes to a new file (mode 0600).
    SaveGiftCardCodes {
        path: PathBuf,
        cards: Vec<IssuedCard>,
    },
    /// `gift_cards::show`: one card (the tab asks by id, for a link).
    GiftCard {
        card: CardKey,
    },
    /// `gift_cards::reveal`: the full code, recorded in the audit log (the
    /// tab asks by the selected card's id).
    RevealGiftCard {
        card: CardKey,
    },
    /// `gift_cards::revoke` (the tab sends the selected card's id).
    RevokeGiftCard {
        card: CardKey,
        reason: Reason,
    },
    /// `gift_cards::redeem`, by the selected card's id or a typed code.
    RedeemGiftCard {
        card: CardRef,
        user: UserRef,
    },
    /// `coupons::list`.
    Coupons(CouponFilter),
    /// `coupons::show`: the coupon and its redemptions.
    Coupon {
        code: String,
    },
    /// `coupons::create`, or `coupons::create_generated` for a generated code.
    CreateCoupon {
        new: NewCoupon,
        generated: bool,
    },
    /// `coupons::deactivate`.
    DeactivateCoupon {
        code: String,
        reason: Reason,
    },
    /// `coupons::redeem` (credits coupons).
    RedeemCoupon {
        code: String,
        user: UserRef,
    },
    /// `batches::list`: by status, the stuck view, a user.
    Batches(BatchFilter),
    /// `batches::show`.
    Batch {
        id: i32,
    },
    /// `batches::fail`: mark failed and/or refund.
    FailBatch {
        id: i32,
        reason: Reason,
        refund: Refund,
    },
    // approvals and export
    /// `session::load` and `session::replica_lag`: the status line's login,
    /// role, pending requests and replica lag.
    Status,
    /// `approvals::list`: pending, or the recent ones.
    Approvals(RequestFilter),
    /// `approvals::show`: one request and its effect now.
    Approval {
        id: i64,
    },
    /// `approvals::approve`; issued gift-card codes go to a new file at
    /// `codes_to` (mode 0600) before the reply, so none is lost.
    Approve {
        id: i64,
        codes_to: PathBuf,
    },
    /// `approvals::reject`.
    Reject {
        id: i64,
        reason: Reason,
    },
    /// A whole list (all pages, the filter shown) to a new CSV file.
    Export(ExportJob),
    // bulk and dashboard
    /// `bulk::fail::preview` of exactly these ids (the stuck view's marks).
    FailManyPreview {
        ids: Vec<i32>,
        refund: RefundMode,
    },
    /// `bulk::fail::run` of that preview, reporting to `run` between chunks
    /// and stopping there when asked.
    FailMany {
        preview: Box<fail::Preview>,
        reason: Reason,
        run: BulkRun,
    },
    /// Reads the file and `bulk::adjust::check`s it (writes nothing).
    AdjustManyCheck {
        path: PathBuf,
        reason: Reason,
    },
    /// `bulk::adjust::run` of that check.
    AdjustMany {
        plan: Box<adjust::Plan>,
        run: BulkRun,
    },
    /// `credits::history_with_balances`: a ledger page with the balance
    /// after each entry and its reversal links.
    Ledger(HistoryQuery),
    /// `credits::reverse`: books the opposite of an entry, linked both ways.
    Reverse {
        entry: i32,
        reason: Reason,
    },
    /// `reports::dashboard`: what tab 6 draws.
    Dashboard,
}

impl Job {
    /// Changes are never retried on their own: the operator decides.
    pub fn is_change(&self) -> bool {
        matches!(
            self,
            Job::Adjust { .. }
                | Job::IssueGiftCards(_)
                | Job::SaveGiftCardCodes { .. }
                | Job::RevealGiftCard { .. }
                | Job::RevokeGiftCard { .. }
                | Job::RedeemGiftCard { .. }
                | Job::CreateCoupon { .. }
                | Job::DeactivateCoupon { .. }
                | Job::RedeemCoupon { .. }
                | Job::FailBatch { .. }
                | Job::Approve { .. }
                | Job::Reject { .. }
                // bulk and dashboard
                | Job::FailMany { .. }
                | Job::AdjustMany { .. }
                | Job::Reverse { .. }
        )
    }

    /// For the log.
    pub fn name(&self) -> &'static str {
        match self {
            Job::Ping => "ping",
            Job::FindUsers { .. } => "users.find",
            Job::User { .. } => "users.get",
            Job::Overview { .. } => "credits.overview",
            Job::Adjust { .. } => "credits.adjust",
            Job::Audit(_) => "audit.list",
            Job::GiftCards(_) => "gift_cards.list",
            Job::GiftCardPacks => "gift_cards.packs",
            Job::IssueGiftCards(_) => "gift_cards.issue",
            Job::SaveGiftCardCodes { .. } => "gift_cards.save_codes",
            Job::GiftCard { .. } => "gift_cards.show",
            Job::RevealGiftCard { .. } => "gift_cards.reveal",
            Job::RevokeGiftCard { .. } => "gift_cards.revoke",
            Job::RedeemGiftCard { .. } => "gift_cards.redeem",
            Job::Coupons(_) => "coupons.list",
            Job::Coupon { .. } => "coupons.show",
            Job::CreateCoupon { .. } => "coupons.create",
            Job::DeactivateCoupon { .. } => "coupons.deactivate",
            Job::RedeemCoupon { .. } => "coupons.redeem",
            Job::Batches(_) => "batches.list",
            Job::Batch { .. } => "batches.show",
            Job::FailBatch { .. } => "batches.fail",
            Job::Status => "session.status",
            Job::Approvals(_) => "approvals.list",
            Job::Approval { .. } => "approvals.show",
            Job::Approve { .. } => "approvals.approve",
            Job::Reject { .. } => "approvals.reject",
            Job::Export(_) => "export",
            // bulk and dashboard
            Job::FailManyPreview { .. } => "bulk.fail.preview",
            Job::FailMany { .. } => "bulk.fail.run",
            Job::AdjustManyCheck { .. } => "bulk.adjust.check",
            Job::AdjustMany { .. } => "bulk.adjust.run",
            Job::Ledger(_) => "credits.history_with_balances",
            Job::Reverse { .. } => "credits.reverse",
            Job::Dashboard => "reports.dashboard",
        }
    }
}

/// Declares [`Outcome`] (one variant per job, each a `Result`) and its
/// `error()`: adding a job's outcome is one line here.
macro_rules! outcomes {
    ($( $(#[$doc:meta])* $name:ident($t:ty), )*) => {
        /// The result of a [`Job`], one variant per job.
        #[derive(Debug)]
        pub enum Outcome {
            $( $(#[$doc])* $name(Result<$t>), )*
        }

        impl Outcome {
            pub fn error(&self) -> Option<&Error> {
                match self {
                    $( Outcome::$name(r) => r.as_ref().err(), )*
                }
            }
        }
    };
}

outcomes! {
    Ping(()),
    Users(Vec<User>),
    User(User),
    Overview(Overview),
    Adjusted(Change<Adjustment>),
    Audit(Vec<AuditEntry>),
    GiftCards(Vec<GiftCard>),
    GiftCardPacks(Vec<CreditPack>),
    /// The full codes: only the issue result dialog keeps them.
    GiftCardsIssued(Change<Vec<IssuedCard>>),
    /// Where the codes were written.
    GiftCardCodesSaved(PathBuf),
    GiftCard(Box<GiftCard>),
    /// The full code: only the reveal popup keeps it (`Debug` masks it).
    GiftCardRevealed(RevealedCode),
    GiftCardRevoked(Box<GiftCard>),
    GiftCardRedeemed(Box<GiftCardRedemption>),
    Coupons(Vec<Coupon>),
    Coupon(CouponDetail),
    CouponCreated(Coupon),
    CouponDeactivated(Coupon),
    CouponRedeemed(CouponRedemption),
    Batches(Vec<BatchSummary>),
    Batch(Box<BatchDetail>),
    BatchFailed(FailedBatch),
    // approvals and export
    Status(SessionStatus),
    Approvals(Vec<ApprovalRequest>),
    Approval(Box<RequestDetail>),
    Approved(Box<ApprovalDone>),
    Rejected(Box<ApprovalRequest>),
    Exported(Exported),
    // bulk and dashboard
    FailManyPreviewed(Box<fail::Preview>),
    FailedMany(Box<Change<fail::Report>>),
    AdjustManyChecked(Box<adjust::Plan>),
    AdjustedMany(Box<Change<adjust::Report>>),
    Ledger(LedgerPage),
    Reversed(Box<Change<Reversal>>),
    Dashboard(Box<Dashboard>),
}

impl Outcome {
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

/// A health check that takes longer than this counts as a failure.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

impl Job {
    /// Runs the job against the database.
    pub async fn perform(self, db: &Db, operator: &Operator) -> Outcome {
        match self {
            Job::Ping => Outcome::Ping(
                match tokio::time::timeout(PING_TIMEOUT, db.pool().acquire()).await {
                    Ok(Ok(_connection)) => Ok(()),
                    Ok(Err(e)) => Err(Error::Infrastructure(format!("database unreachable: {e}"))),
                    Err(_) => Err(Error::Infrastructure(
                        "database unreachable: timed out".into(),
                    )),
                },
            ),
            Job::FindUsers { text, limit } => {
                Outcome::Users(db::users::find(db, &text, limit).await)
            }
            Job::User { user } => Outcome::User(db::users::get(db, &user).await),
            Job::Overview { user } => Outcome::Overview(db::credits::overview(db, &user, 1).await),
            Job::Adjust {
                user,
                amount,
                reason,
                idempotency_key,
            } => Outcome::Adjusted(
                db::credits::adjust(db, operator, &user, amount, &reason, Some(&idempotency_key))
                    .await,
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
                    .unwrap_or_else(|e| {
                        Err(Error::Infrastructure(format!("saving the codes: {e}")))
                    }),
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
            Job::DeactivateCoupon { code, reason } => Outcome::CouponDeactivated(
                db::coupons::deactivate(db, operator, &code, &reason).await,
            ),
            Job::RedeemCoupon { code, user } => {
                Outcome::CouponRedeemed(db::coupons::redeem(db, operator, &code, &user).await)
            }
            Job::Batches(filter) => Outcome::Batches(db::batches::list(db, &filter).await),
            Job::Batch { id } => Outcome::Batch(db::batches::show(db, id).await.map(Box::new)),
            Job::FailBatch { id, reason, refund } => {
                Outcome::BatchFailed(db::batches::fail(db, operator, id, &reason, refund).await)
            }
            // approvals and export
            Job::Status => Outcome::Status(super::approvals::status(db).await),
            Job::Approvals(filter) => Outcome::Approvals(db::approvals::list(db, &filter).await),
            Job::Approval { id } => {
                Outcome::Approval(db::approvals::show(db, id).await.map(Box::new))
            }
            Job::Approve { id, codes_to } => Outcome::Approved(
                super::approvals::approve(db, operator, id, codes_to)
                    .await
                    .map(Box::new),
            ),
            Job::Reject { id, reason } => Outcome::Rejected(
                db::approvals::reject(db, operator, id, &reason)
                    .await
                    .map(Box::new),
            ),
            Job::Export(job) => Outcome::Exported(super::export::run(db, job).await),
            // bulk and dashboard
            Job::FailManyPreview { ids, refund } => Outcome::FailManyPreviewed(
                fail::preview(db, &fail::Selection::Ids(ids), refund)
                    .await
                    .map(Box::new),
            ),
            Job::FailMany {
                preview,
                reason,
                run,
            } => {
                let on_progress = |p| run.report(p);
                Outcome::FailedMany(
                    fail::run(
                        db,
                        operator,
                        &preview,
                        &reason,
                        &on_progress,
                        run.stop_handle(),
                    )
                    .await
                    .map(Box::new),
                )
            }
            Job::AdjustManyCheck { path, reason } => {
                Outcome::AdjustManyChecked(check_adjust_file(db, path, &reason).await)
            }
            Job::AdjustMany { plan, run } => {
                let on_progress = |p| run.report(p);
                Outcome::AdjustedMany(
                    adjust::run(db, operator, &plan, false, &on_progress, run.stop_handle())
                        .await
                        .map(Box::new),
                )
            }
            Job::Ledger(query) => {
                Outcome::Ledger(db::credits::history_with_balances(db, &query).await)
            }
            Job::Reverse { entry, reason } => Outcome::Reversed(
                db::credits::reverse(db, operator, entry, &reason, None)
                    .await
                    .map(Box::new),
            ),
            Job::Dashboard => Outcome::Dashboard(db::reports::dashboard(db).await.map(Box::new)),
        }
    }
}

/// Reads an adjustments file (off the async threads) and checks it.
async fn check_adjust_file(db: &Db, path: PathBuf, reason: &Reason) -> Result<Box<adjust::Plan>> {
    let name = path.to_string_lossy().into_owned();
    let bytes = tokio::task::spawn_blocking(move || read_adjust_file(&path))
        .await
        .unwrap_or_else(|e| Err(Error::Infrastructure(format!("reading the file: {e}"))))?;
    let parsed = crate::domain::adjust_file::parse(&bytes)?;
    adjust::check(db, &name, &parsed, reason)
        .await
        .map(Box::new)
}

/// A file's bytes, at most `adjust_file::MAX_FILE_BYTES`.
fn read_adjust_file(path: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let max = crate::domain::adjust_file::MAX_FILE_BYTES;
    let shown = crate::domain::text::sanitize(&path.to_string_lossy());
    let mut bytes = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX) + 1;
    std::fs::File::open(path)
        .and_then(|f| f.take(limit).read_to_end(&mut bytes))
        .map_err(|e| Error::invalid("file", format!("cannot read {shown}: {e}")))?;
    if bytes.len() > max {
        return Err(Error::invalid(
            "file",
            format!("is larger than {} MB", max / 1024 / 1024),
        ));
    }
    Ok(bytes)
}

/// The issued codes to a new file readable by its owner only, as
/// `gift-cards issue --output` writes them; returns where (absolute when it
/// can tell).
pub(super) fn save_gift_card_codes(
    path: &std::path::Path,
    cards: &[db::gift_cards::IssuedCard],
) -> crate::error::Result<std::path::PathBuf> {
    let file = crate::files::CodesFile::create(path)?;
    file.write(cards)?;
    Ok(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()))
}
