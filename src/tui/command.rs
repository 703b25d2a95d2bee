//! What `update` asks the outside world to do, and what comes back.
//!
//! `update` never does IO: it returns [`Command`]s. The effect runner
//! ([`super::effects::Effects`]) runs each [`Request`] as its own task and
//! sends the result back as a [`Reply`] carrying the request's id, so a reply
//! nobody waits for any more (superseded, cancelled) is recognised and
//! dropped.

use std::path::PathBuf;
use std::time::Duration;

use crate::db::Change;
use crate::db::audit::{AuditEntry, AuditFilter};
use crate::db::batches::{BatchDetail, BatchFilter, BatchSummary, FailedBatch, Refund};
use crate::db::coupons::{Coupon, CouponDetail, CouponFilter, CouponRedemption};
use crate::db::credits::{Adjustment, HistoryPage, HistoryQuery, Overview};
use crate::db::gift_cards::{
    CardKey, CreditPack, GiftCard, GiftCardFilter, GiftCardRedemption, IssueRequest, IssuedCard,
};
use crate::db::users::User;
use crate::domain::coupon::NewCoupon;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};

use super::tabs::TabId;
use super::tabs::gift_cards::{CardRef, RevealedCode};

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
        )
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
    Adjusted(Result<Change<Adjustment>>),
    Audit(Result<Vec<AuditEntry>>),
    GiftCards(Result<Vec<GiftCard>>),
    GiftCardPacks(Result<Vec<CreditPack>>),
    /// The full codes: only the issue result dialog keeps them.
    GiftCardsIssued(Result<Change<Vec<IssuedCard>>>),
    /// Where the codes were written.
    GiftCardCodesSaved(Result<PathBuf>),
    GiftCard(Result<Box<GiftCard>>),
    /// The full code: only the reveal popup keeps it (`Debug` masks it).
    GiftCardRevealed(Result<RevealedCode>),
    GiftCardRevoked(Result<Box<GiftCard>>),
    GiftCardRedeemed(Result<Box<GiftCardRedemption>>),
    Coupons(Result<Vec<Coupon>>),
    Coupon(Result<CouponDetail>),
    CouponCreated(Result<Coupon>),
    CouponDeactivated(Result<Coupon>),
    CouponRedeemed(Result<CouponRedemption>),
    Batches(Result<Vec<BatchSummary>>),
    Batch(Result<Box<BatchDetail>>),
    BatchFailed(Result<FailedBatch>),
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
            Outcome::GiftCards(r) => r.as_ref().err(),
            Outcome::GiftCardPacks(r) => r.as_ref().err(),
            Outcome::GiftCardsIssued(r) => r.as_ref().err(),
            Outcome::GiftCardCodesSaved(r) => r.as_ref().err(),
            Outcome::GiftCard(r) => r.as_ref().err(),
            Outcome::GiftCardRevealed(r) => r.as_ref().err(),
            Outcome::GiftCardRevoked(r) => r.as_ref().err(),
            Outcome::GiftCardRedeemed(r) => r.as_ref().err(),
            Outcome::Coupons(r) => r.as_ref().err(),
            Outcome::Coupon(r) => r.as_ref().err(),
            Outcome::CouponCreated(r) => r.as_ref().err(),
            Outcome::CouponDeactivated(r) => r.as_ref().err(),
            Outcome::CouponRedeemed(r) => r.as_ref().err(),
            Outcome::Batches(r) => r.as_ref().err(),
            Outcome::Batch(r) => r.as_ref().err(),
            Outcome::BatchFailed(r) => r.as_ref().err(),
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
