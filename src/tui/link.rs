//! Where a row points: a ledger entry to its coupon, gift card or batch, an
//! audit row to what it changed. Following one is `Msg::Open(link)`: the app
//! switches to the tab that shows that kind of thing and hands it the link.

use std::fmt;

use crate::db::audit::AuditEntry;
use crate::db::credits::LedgerEntry;
use crate::domain::text::sanitize_cow;

use super::tabs::TabId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    User(i32),
    /// The code when known (from the ledger), else only the id (audit).
    Coupon {
        id: i32,
        code: Option<String>,
    },
    /// Gift-card codes are secrets: only the masked form travels.
    GiftCard {
        id: i32,
        masked_code: Option<String>,
    },
    Batch(i32),
}

impl Link {
    /// The tab that shows this kind of thing.
    pub fn tab(&self) -> TabId {
        match self {
            Link::User(_) => TabId::Users,
            Link::Coupon { .. } => TabId::Coupons,
            Link::GiftCard { .. } => TabId::GiftCards,
            Link::Batch(_) => TabId::Batches,
        }
    }

    /// Every link of a ledger entry, in the order the detail shows them.
    pub fn from_ledger(e: &LedgerEntry) -> Vec<Link> {
        let mut links = Vec::new();
        if let Some(id) = e.coupon_id {
            links.push(Link::Coupon {
                id,
                code: e.coupon_code.clone(),
            });
        }
        if let Some(id) = e.gift_card_id {
            links.push(Link::GiftCard {
                id,
                masked_code: e.gift_card_code.clone(),
            });
        }
        if let Some(id) = e.batch_id {
            links.push(Link::Batch(id));
        }
        links
    }

    /// What an audit row changed, when it is something a tab shows.
    pub fn from_audit(e: &AuditEntry) -> Option<Link> {
        let id = e.entity_id.as_deref()?.trim();
        match e.entity_type.as_str() {
            "user" => id.parse().ok().map(Link::User),
            "coupon" => id.parse().ok().map(|id| Link::Coupon {
                id,
                code: e
                    .details
                    .get("code")
                    .and_then(|c| c.as_str())
                    .map(str::to_owned),
            }),
            // Revocations, redemptions and reveals record the masked code.
            "gift_card" => id.parse().ok().map(|id| Link::GiftCard {
                id,
                masked_code: e
                    .details
                    .get("code_masked")
                    .and_then(|c| c.as_str())
                    .map(str::to_owned),
            }),
            "batch" => id.parse().ok().map(Link::Batch),
            _ => None,
        }
    }
}

/// Human text, sanitised (codes come from the database).
impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Link::User(id) => write!(f, "user #{id}"),
            Link::Coupon { id, code: Some(c) } => {
                write!(f, "coupon {} (#{id})", sanitize_cow(c))
            }
            Link::Coupon { id, code: None } => write!(f, "coupon #{id}"),
            Link::GiftCard {
                id,
                masked_code: Some(c),
            } => write!(f, "gift card {} (#{id})", sanitize_cow(c)),
            Link::GiftCard {
                id,
                masked_code: None,
            } => write!(f, "gift card #{id}"),
            Link::Batch(id) => write!(f, "batch #{id}"),
        }
    }
}
