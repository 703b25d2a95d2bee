//! Credit ledger rules. Every change to `users.credits` is booked as a
//! `credit_history` entry, so `users.credits = sum(amount)` holds; these
//! functions decide whether a change or refund may be booked at all.

use std::fmt;
use std::str::FromStr;

use super::error::{InvalidInput, Refusal};

/// `credit_history_type` in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryType {
    Purchase,
    GiftCard,
    Coupon,
    Generation,
    Training,
    Refund,
    AdminAdjustment,
}

impl EntryType {
    pub const ALL: [EntryType; 7] = [
        EntryType::Purchase,
        EntryType::GiftCard,
        EntryType::Coupon,
        EntryType::Generation,
        EntryType::Training,
        EntryType::Refund,
        EntryType::AdminAdjustment,
    ];

    /// The database enum label.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryType::Purchase => "purchase",
            EntryType::GiftCard => "gift_card",
            EntryType::Coupon => "coupon",
            EntryType::Generation => "generation",
            EntryType::Training => "training",
            EntryType::Refund => "refund",
            EntryType::AdminAdjustment => "admin_adjustment",
        }
    }

    /// Parses a label in any case, with dashes or underscores (field "type").
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        let t = s.trim().replace('-', "_");
        EntryType::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(&t))
            .ok_or_else(|| {
                InvalidInput::new(
                    "type",
                    "choose purchase, gift_card, coupon, generation, training, refund or admin_adjustment",
                )
            })
    }
}

impl FromStr for EntryType {
    type Err = InvalidInput;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntryType::parse(s)
    }
}

impl fmt::Display for EntryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The balance after `change`. Balances are `integer` with `check (credits >=
/// 0)` in the database, so the result must be in `0..=i32::MAX`.
pub fn apply_change(balance: i64, change: i64) -> Result<i64, Refusal> {
    let overflow = Refusal::BalanceOverflow { balance, change };
    let next = balance.checked_add(change).ok_or_else(|| {
        if change < 0 {
            Refusal::InsufficientCredits { balance, change }
        } else {
            overflow.clone()
        }
    })?;
    if next < 0 {
        return Err(Refusal::InsufficientCredits { balance, change });
    }
    if next > i64::from(i32::MAX) {
        return Err(overflow);
    }
    Ok(next)
}

/// How many credits to give back for a batch that charged `charged` and has
/// had `already_refunded` given back; `requested` is `None` for "all of it".
///
/// A batch is refunded at most once (the database allows one refund entry per
/// batch), so any earlier refund ends it.
pub fn refundable(
    charged: i64,
    already_refunded: i64,
    requested: Option<i64>,
) -> Result<i64, Refusal> {
    if already_refunded > 0 {
        return Err(Refusal::BatchAlreadyRefunded);
    }
    if let Some(r) = requested
        && r <= 0
    {
        return Err(Refusal::RefundNotPositive { requested: r });
    }
    if charged <= 0 {
        return Err(Refusal::NothingToRefund);
    }
    match requested {
        None => Ok(charged),
        Some(r) if r <= charged => Ok(r),
        Some(r) => Err(Refusal::RefundExceedsCharge {
            charged,
            requested: r,
        }),
    }
}

/// `photo_generation_batches.status` (a text column with a check constraint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchStatus {
    Generating,
    Completed,
    Failed,
}

impl BatchStatus {
    pub const ALL: [BatchStatus; 3] = [
        BatchStatus::Generating,
        BatchStatus::Completed,
        BatchStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Generating => "generating",
            BatchStatus::Completed => "completed",
            BatchStatus::Failed => "failed",
        }
    }

    /// Parses a label in any case (field "status").
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        let t = s.trim();
        BatchStatus::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| InvalidInput::new("status", "choose generating, completed or failed"))
    }
}

impl FromStr for BatchStatus {
    type Err = InvalidInput;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BatchStatus::parse(s)
    }
}

impl fmt::Display for BatchStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Only a batch still `generating` (i.e. stuck) can be marked failed; a
/// finished batch's outcome is not rewritten.
pub fn check_failable(status: BatchStatus) -> Result<(), Refusal> {
    match status {
        BatchStatus::Generating => Ok(()),
        other => Err(Refusal::BatchNotFailable {
            status: other.as_str().to_owned(),
        }),
    }
}

/// What a reversal of an entry of `kind` needs the right to do: the action
/// that books such entries (`None`: not reversible; purchases are refunded
/// by the payment system, generation charges by failing their batch, the
/// rest with an adjustment). The database's `creditdesk.reverse_action`.
pub fn reversal_action(kind: EntryType) -> Option<super::role::Action> {
    use super::role::Action;
    match kind {
        EntryType::AdminAdjustment => Some(Action::CreditsAdjust),
        EntryType::Refund => Some(Action::BatchFail),
        EntryType::Coupon => Some(Action::CouponRedeem),
        EntryType::GiftCard => Some(Action::GiftCardRedeem),
        EntryType::Purchase | EntryType::Generation | EntryType::Training => None,
    }
}

/// The signed amount that reverses an entry of `original` credits:
/// everything, or `part` of it (1 to the original's size; only admin
/// adjustments and refunds can be reversed in part).
pub fn reversal_amount(
    kind: EntryType,
    entry: i32,
    original: i32,
    part: Option<i32>,
) -> Result<i32, crate::error::Error> {
    let Some(part) = part else {
        return Ok(-original);
    };
    if !matches!(kind, EntryType::AdminAdjustment | EntryType::Refund) {
        return Err(InvalidInput::new(
            "amount",
            "a coupon or gift card redemption is reversed whole",
        )
        .into());
    }
    if part < 1 || part > original.saturating_abs() {
        return Err(Refusal::ReversalExceedsOriginal {
            entry,
            original: original.into(),
            requested: part.into(),
        }
        .into());
    }
    Ok(-original.signum() * part)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: i64 = i32::MAX as i64;

    #[test]
    fn reversals() {
        use crate::domain::role::Action;
        assert_eq!(reversal_action(EntryType::Refund), Some(Action::BatchFail));
        assert_eq!(reversal_action(EntryType::Purchase), None);
        let a = EntryType::AdminAdjustment;
        assert_eq!(reversal_amount(a, 1, 50, None).unwrap(), -50);
        assert_eq!(reversal_amount(a, 1, -20, None).unwrap(), 20);
        assert_eq!(reversal_amount(a, 1, 50, Some(20)).unwrap(), -20);
        assert_eq!(reversal_amount(a, 1, -20, Some(5)).unwrap(), 5);
        assert!(matches!(
            reversal_amount(a, 1, 50, Some(51)),
            Err(crate::error::Error::Refused(
                Refusal::ReversalExceedsOriginal { .. }
            ))
        ));
        assert!(reversal_amount(a, 1, 50, Some(0)).is_err());
        assert!(matches!(
            reversal_amount(EntryType::Coupon, 1, 50, Some(5)),
            Err(crate::error::Error::Invalid(_))
        ));
    }

    #[test]
    fn entry_types_round_trip() {
        let labels: Vec<&str> = EntryType::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(
            labels,
            [
                "purchase",
                "gift_card",
                "coupon",
                "generation",
                "training",
                "refund",
                "admin_adjustment"
            ]
        );
        for e in EntryType::ALL {
            assert_eq!(EntryType::parse(e.as_str()), Ok(e));
            assert_eq!(e.to_string().parse::<EntryType>(), Ok(e));
        }
    }

    #[test]
    fn entry_type_spellings() {
        assert_eq!(EntryType::parse("gift-card"), Ok(EntryType::GiftCard));
        assert_eq!(
            EntryType::parse(" Admin-Adjustment "),
            Ok(EntryType::AdminAdjustment)
        );
        assert_eq!(EntryType::parse("REFUND"), Ok(EntryType::Refund));
        for s in [
            "",
            "giftcard",
            "gift card",
            "refunds",
            "\u{1b}",
            "ｒｅｆｕｎｄ",
        ] {
            let e = EntryType::parse(s).unwrap_err();
            assert_eq!(e.field, "type");
            assert!(e.message.starts_with("choose"), "{s:?}");
        }
    }

    #[test]
    fn changes_within_range() {
        assert_eq!(apply_change(100, -30), Ok(70));
        assert_eq!(apply_change(100, -100), Ok(0));
        assert_eq!(apply_change(0, 50), Ok(50));
        assert_eq!(apply_change(0, 0), Ok(0));
        assert_eq!(apply_change(MAX - 1, 1), Ok(MAX));
    }

    #[test]
    fn changes_below_zero_are_refused() {
        assert_eq!(
            apply_change(10, -11),
            Err(Refusal::InsufficientCredits {
                balance: 10,
                change: -11
            })
        );
        assert_eq!(
            apply_change(0, i64::MIN),
            Err(Refusal::InsufficientCredits {
                balance: 0,
                change: i64::MIN
            })
        );
        assert!(matches!(
            apply_change(i64::MIN, -1),
            Err(Refusal::InsufficientCredits { .. })
        ));
        assert!(matches!(
            apply_change(-5, 1),
            Err(Refusal::InsufficientCredits { .. })
        ));
    }

    #[test]
    fn changes_above_i32_are_refused() {
        assert_eq!(
            apply_change(MAX, 1),
            Err(Refusal::BalanceOverflow {
                balance: MAX,
                change: 1
            })
        );
        assert!(matches!(
            apply_change(i64::MAX, 1),
            Err(Refusal::BalanceOverflow { .. })
        ));
        assert!(matches!(
            apply_change(1, i64::MAX),
            Err(Refusal::BalanceOverflow { .. })
        ));
    }

    #[test]
    fn full_and_partial_refunds() {
        assert_eq!(refundable(40, 0, None), Ok(40));
        assert_eq!(refundable(40, 0, Some(40)), Ok(40));
        assert_eq!(refundable(40, 0, Some(1)), Ok(1));
        assert_eq!(refundable(40, -3, None), Ok(40));
    }

    #[test]
    fn refund_refusals() {
        assert_eq!(refundable(40, 40, None), Err(Refusal::BatchAlreadyRefunded));
        assert_eq!(
            refundable(40, 1, Some(5)),
            Err(Refusal::BatchAlreadyRefunded)
        );
        assert_eq!(
            refundable(40, 0, Some(41)),
            Err(Refusal::RefundExceedsCharge {
                charged: 40,
                requested: 41
            })
        );
        assert!(matches!(
            refundable(40, 0, Some(i64::MAX)),
            Err(Refusal::RefundExceedsCharge { .. })
        ));
        for r in [0, -1, i64::MIN] {
            assert_eq!(
                refundable(40, 0, Some(r)),
                Err(Refusal::RefundNotPositive { requested: r })
            );
        }
        assert_eq!(refundable(0, 0, None), Err(Refusal::NothingToRefund));
        assert_eq!(refundable(-5, 0, Some(1)), Err(Refusal::NothingToRefund));
    }

    #[test]
    fn batch_status_and_failing() {
        for b in BatchStatus::ALL {
            assert_eq!(BatchStatus::parse(b.as_str()), Ok(b));
            assert_eq!(b.to_string().parse::<BatchStatus>(), Ok(b));
        }
        assert_eq!(BatchStatus::parse("bogus").unwrap_err().field, "status");
        assert_eq!(check_failable(BatchStatus::Generating), Ok(()));
        for b in [BatchStatus::Completed, BatchStatus::Failed] {
            assert_eq!(
                check_failable(b),
                Err(Refusal::BatchNotFailable {
                    status: b.as_str().into()
                })
            );
        }
    }
}
