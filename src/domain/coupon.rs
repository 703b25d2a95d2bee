//! Coupon rules, mirroring the checks on `public.coupons` so a bad coupon is
//! refused with a readable message before the database sees it.
//!
//! Validity is the half-open interval `[valid_from, valid_until)`: at the
//! `valid_until` instant the coupon has expired.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::amounts::{MAX_CREDITS_AT_ONCE, parse_count, parse_price, parse_time};
use super::codes::CouponCode;
use super::error::{InvalidInput, Refusal};
use super::text::check_free_text;

/// `coupon_discount_type` in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiscountType {
    Percentage,
    FixedAmount,
    Credits,
}

impl DiscountType {
    pub const ALL: [DiscountType; 3] = [
        DiscountType::Percentage,
        DiscountType::FixedAmount,
        DiscountType::Credits,
    ];

    /// The database enum label.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscountType::Percentage => "percentage",
            DiscountType::FixedAmount => "fixed_amount",
            DiscountType::Credits => "credits",
        }
    }

    /// Accepts the database labels and the short forms an operator types:
    /// "percent", "%", "fixed", "fixed-amount", any case.
    pub fn parse(field: &'static str, s: &str) -> Result<Self, InvalidInput> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "percentage" | "percent" | "%" => Ok(DiscountType::Percentage),
            "fixed_amount" | "fixed" => Ok(DiscountType::FixedAmount),
            "credits" | "credit" => Ok(DiscountType::Credits),
            _ => Err(InvalidInput::new(
                field,
                "choose percentage, fixed_amount or credits",
            )),
        }
    }
}

impl FromStr for DiscountType {
    type Err = InvalidInput;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DiscountType::parse("type", s)
    }
}

impl fmt::Display for DiscountType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A coupon to be created, as filled in on the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCoupon {
    pub code: CouponCode,
    pub description: Option<String>,
    pub discount_type: DiscountType,
    pub value: Decimal,
    pub max_uses: Option<i32>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
}

/// `discountValue` is `numeric(10,2)`.
const MAX_MONEY_EXCLUSIVE: i64 = 100_000_000;

impl NewCoupon {
    pub const DESCRIPTION_MAX_LEN: usize = 500;

    /// Checks every field and returns all problems at once, so a form can
    /// show each next to its field. On success the description is trimmed
    /// (and `None` when blank).
    pub fn validate(mut self) -> Result<NewCoupon, Vec<InvalidInput>> {
        let mut errors = Vec::new();

        if let Some(d) = self.description.take() {
            match check_free_text("description", &d, Self::DESCRIPTION_MAX_LEN) {
                Ok(t) if t.is_empty() => {}
                Ok(t) => self.description = Some(t),
                Err(e) => errors.push(e),
            }
        }

        if let Err(e) = check_value(self.discount_type, self.value) {
            errors.push(e);
        }

        if let Some(m) = self.max_uses
            && m < 1
        {
            errors.push(InvalidInput::new(
                "max_uses",
                "must be at least 1 (leave it empty for no limit)",
            ));
        }

        if let Some(until) = self.valid_until
            && until <= self.valid_from
        {
            errors.push(InvalidInput::new(
                "valid_until",
                "must be after the start of validity",
            ));
        }

        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }
}

/// A new coupon's fields as the operator typed them: the arguments of
/// `coupons create` or the console's form. Both parse them here, so they
/// accept and refuse the same things with the same messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct CouponFields<'a> {
    /// `None`: generate one.
    pub code: Option<&'a str>,
    pub kind: &'a str,
    pub value: &'a str,
    /// `None`: no limit.
    pub max_uses: Option<&'a str>,
    /// `None`: now.
    pub valid_from: Option<&'a str>,
    /// `None`: never ends.
    pub valid_until: Option<&'a str>,
    pub description: Option<&'a str>,
}

impl CouponFields<'_> {
    /// Parses every field and applies [`NewCoupon::validate`], reporting
    /// every problem at once: a field that doesn't parse gets a stand-in so
    /// the rules still check the others (and the rules that depend on it are
    /// left out). Field names: `code`, `type`, `value`, `max_uses`,
    /// `valid_from`, `valid_until`, `description`.
    pub fn parse(&self, now: DateTime<Utc>) -> Result<NewCoupon, Vec<InvalidInput>> {
        let mut errors = Vec::new();
        let code = match self.code {
            Some(c) => keep(&mut errors, CouponCode::parse(c)),
            None => Some(CouponCode::generate()),
        };
        let kind = keep(&mut errors, DiscountType::parse("type", self.kind));
        let value = keep(&mut errors, parse_value(self.value));
        let max_uses = self.max_uses.and_then(|m| {
            keep(
                &mut errors,
                parse_count("max_uses", m, i32::MAX.unsigned_abs())
                    .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            )
        });
        let valid_from = self
            .valid_from
            .map(|t| keep(&mut errors, parse_time("valid_from", t, now)));
        let valid_until = self
            .valid_until
            .and_then(|t| keep(&mut errors, parse_time("valid_until", t, now)));
        let draft = NewCoupon {
            code: code.unwrap_or_else(CouponCode::generate),
            description: self.description.map(str::to_owned),
            discount_type: kind.unwrap_or(DiscountType::Credits),
            value: value.unwrap_or(Decimal::ONE),
            max_uses,
            valid_from: valid_from.flatten().unwrap_or(now),
            valid_until,
        };
        let rules = match draft.validate() {
            Ok(new) if errors.is_empty() => return Ok(new),
            Ok(_) => Vec::new(),
            Err(rules) => rules,
        };
        // Rules about a field that didn't parse, or that compare with one.
        let mut moot: Vec<&str> = errors.iter().map(|e| e.field).collect();
        if kind.is_none() {
            moot.push("value");
        }
        if matches!(valid_from, Some(None)) {
            moot.push("valid_until");
        }
        errors.extend(rules.into_iter().filter(|e| !moot.contains(&e.field)));
        Err(errors)
    }
}

/// The value, or `None` with its error added to `errors`.
fn keep<T>(errors: &mut Vec<InvalidInput>, r: Result<T, InvalidInput>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// A coupon value: percent, money or credits; the type's own limits are
/// checked by `NewCoupon::validate`.
pub fn parse_value(s: &str) -> Result<Decimal, InvalidInput> {
    parse_price("value", s).map_err(|e| {
        if e.message.starts_with("is not a price") {
            InvalidInput::new(
                "value",
                "is not a number: use digits and a '.', like 25 or 9.99",
            )
        } else if e.message.starts_with("enter a price") {
            InvalidInput::new("value", "enter a value, like 25 or 9.99")
        } else {
            e
        }
    })
}

/// `coupons_discountValue_check`, plus what `numeric(10,2)` would otherwise
/// silently round.
fn check_value(kind: DiscountType, value: Decimal) -> Result<(), InvalidInput> {
    const F: &str = "value";
    if value <= Decimal::ZERO {
        return Err(InvalidInput::new(F, "must be greater than zero"));
    }
    let decimals = value.normalize().scale();
    match kind {
        DiscountType::Percentage => {
            if value > Decimal::ONE_HUNDRED {
                return Err(InvalidInput::new(F, "a percentage is at most 100"));
            }
            if decimals > 2 {
                return Err(InvalidInput::new(F, "must have at most 2 decimal places"));
            }
        }
        DiscountType::Credits => {
            if decimals > 0 {
                return Err(InvalidInput::new(F, "must be a whole number of credits"));
            }
            if value > Decimal::from(MAX_CREDITS_AT_ONCE) {
                return Err(InvalidInput::new(
                    F,
                    format!("at most {MAX_CREDITS_AT_ONCE} credits"),
                ));
            }
        }
        DiscountType::FixedAmount => {
            if decimals > 2 {
                return Err(InvalidInput::new(F, "must have at most 2 decimal places"));
            }
            if value >= Decimal::from(MAX_MONEY_EXCLUSIVE) {
                return Err(InvalidInput::new(F, "must be less than 100000000"));
            }
        }
    }
    Ok(())
}

/// What redemption needs to know about a stored coupon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponState {
    pub discount_type: DiscountType,
    pub is_active: bool,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub max_uses: Option<i32>,
    pub used_count: i32,
}

/// Whether a coupon can be redeemed here at `now`, checked in the order an
/// operator would want to hear about it. Only credits coupons are redeemed in
/// this tool; the others are discounts at checkout. (Whether this user
/// already redeemed it is a separate lookup: `Refusal::CouponAlreadyRedeemed`.)
pub fn check_redeemable(c: &CouponState, now: DateTime<Utc>) -> Result<(), Refusal> {
    if !c.is_active {
        return Err(Refusal::CouponInactive);
    }
    if now < c.valid_from {
        return Err(Refusal::CouponNotYetValid {
            valid_from: c.valid_from,
        });
    }
    if let Some(until) = c.valid_until
        && now >= until
    {
        return Err(Refusal::CouponExpired { valid_until: until });
    }
    if let Some(max) = c.max_uses
        && c.used_count >= max
    {
        return Err(Refusal::CouponExhausted { max_uses: max });
    }
    if c.discount_type != DiscountType::Credits {
        return Err(Refusal::CouponAppliesAtCheckout {
            discount_type: c.discount_type.as_str().to_owned(),
        });
    }
    Ok(())
}

/// The credits a credits coupon of this value gives, or `None` when the value
/// isn't a whole number in `1..=1_000_000` (stored data that breaks the rules
/// is not paid out).
pub fn credits_awarded(value: Decimal) -> Option<i32> {
    if value <= Decimal::ZERO || !value.fract().is_zero() {
        return None;
    }
    value
        .to_i32()
        .filter(|&n| (1..=MAX_CREDITS_AT_ONCE).contains(&n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn coupon(kind: DiscountType, value: &str) -> NewCoupon {
        NewCoupon {
            code: CouponCode::parse("WELCOME").unwrap(),
            description: None,
            discount_type: kind,
            value: dec(value),
            max_uses: None,
            valid_from: t0(),
            valid_until: None,
        }
    }

    fn fields(r: Result<NewCoupon, Vec<InvalidInput>>) -> Vec<&'static str> {
        r.unwrap_err().iter().map(|e| e.field).collect()
    }

    #[test]
    fn discount_type_round_trips() {
        for t in DiscountType::ALL {
            assert_eq!(DiscountType::parse("type", t.as_str()), Ok(t));
            assert_eq!(t.to_string().parse::<DiscountType>(), Ok(t));
        }
        assert_eq!(DiscountType::Percentage.as_str(), "percentage");
        assert_eq!(DiscountType::FixedAmount.as_str(), "fixed_amount");
        assert_eq!(DiscountType::Credits.as_str(), "credits");
    }

    #[test]
    fn discount_type_aliases() {
        use DiscountType::*;
        for (s, t) in [
            ("PERCENT", Percentage),
            ("%", Percentage),
            (" Percentage ", Percentage),
            ("fixed-amount", FixedAmount),
            ("Fixed", FixedAmount),
            ("FIXED_AMOUNT", FixedAmount),
            ("Credits", Credits),
        ] {
            assert_eq!(DiscountType::parse("type", s), Ok(t), "{s}");
        }
        for s in ["", "free", "percentages", "\u{1b}", "fixed amount"] {
            let e = DiscountType::parse("type", s).unwrap_err();
            assert_eq!(e.field, "type");
            assert_eq!(e.message, "choose percentage, fixed_amount or credits");
        }
        assert_eq!("nope".parse::<DiscountType>().unwrap_err().field, "type");
    }

    #[test]
    fn valid_coupons_pass() {
        use DiscountType::*;
        for (k, v) in [
            (Percentage, "100"),
            (Percentage, "12.5"),
            (Percentage, "0.01"),
            (FixedAmount, "9.99"),
            (FixedAmount, "99999999.99"),
            (Credits, "50"),
            (Credits, "50.00"),
            (Credits, "1000000"),
        ] {
            assert!(coupon(k, v).validate().is_ok(), "{k} {v}");
        }
        let mut c = coupon(Credits, "10");
        c.max_uses = Some(1);
        c.valid_until = Some(t0() + Duration::seconds(1));
        c.description = Some("  launch promo ".into());
        let ok = c.validate().unwrap();
        assert_eq!(ok.description.as_deref(), Some("launch promo"));
    }

    #[test]
    fn blank_description_becomes_none() {
        let mut c = coupon(DiscountType::Credits, "10");
        c.description = Some("   ".into());
        assert_eq!(c.validate().unwrap().description, None);
    }

    #[test]
    fn value_rules() {
        use DiscountType::*;
        let cases = [
            (Percentage, "0", "must be greater than zero"),
            (Credits, "-5", "must be greater than zero"),
            (FixedAmount, "0.00", "must be greater than zero"),
            (Percentage, "100.01", "a percentage is at most 100"),
            (Percentage, "10.125", "must have at most 2 decimal places"),
            (Credits, "1.5", "must be a whole number of credits"),
            (Credits, "1000001", "at most 1000000 credits"),
            (FixedAmount, "1.001", "must have at most 2 decimal places"),
            (FixedAmount, "100000000", "must be less than 100000000"),
        ];
        for (k, v, m) in cases {
            let errs = coupon(k, v).validate().unwrap_err();
            assert_eq!(errs.len(), 1, "{k} {v}");
            assert_eq!(
                (errs[0].field, errs[0].message.as_str()),
                ("value", m),
                "{k} {v}"
            );
        }
        let huge = NewCoupon {
            value: Decimal::MAX,
            ..coupon(Credits, "1")
        };
        assert_eq!(fields(huge.validate()), ["value"]);
    }

    #[test]
    fn max_uses_and_validity() {
        for m in [0, -1, i32::MIN] {
            let mut c = coupon(DiscountType::Credits, "5");
            c.max_uses = Some(m);
            assert_eq!(fields(c.validate()), ["max_uses"]);
        }
        for until in [t0(), t0() - Duration::days(1)] {
            let mut c = coupon(DiscountType::Credits, "5");
            c.valid_until = Some(until);
            assert_eq!(fields(c.validate()), ["valid_until"]);
        }
    }

    #[test]
    fn all_errors_are_reported_together() {
        let c = NewCoupon {
            description: Some("bad\u{7}text".into()),
            max_uses: Some(0),
            valid_until: Some(t0()),
            ..coupon(DiscountType::Percentage, "150")
        };
        assert_eq!(
            fields(c.validate()),
            ["description", "value", "max_uses", "valid_until"]
        );
        let c = NewCoupon {
            description: Some("x".repeat(501)),
            ..coupon(DiscountType::Credits, "1")
        };
        assert_eq!(fields(c.validate()), ["description"]);
    }

    fn state() -> CouponState {
        CouponState {
            discount_type: DiscountType::Credits,
            is_active: true,
            valid_from: t0(),
            valid_until: Some(t0() + Duration::days(30)),
            max_uses: Some(10),
            used_count: 3,
        }
    }

    #[test]
    fn redeemable_coupon() {
        let now = t0() + Duration::days(1);
        assert_eq!(check_redeemable(&state(), now), Ok(()));
        assert_eq!(check_redeemable(&state(), t0()), Ok(()));
        let open = CouponState {
            valid_until: None,
            max_uses: None,
            used_count: i32::MAX,
            ..state()
        };
        assert_eq!(
            check_redeemable(&open, now + Duration::days(10_000)),
            Ok(())
        );
    }

    #[test]
    fn each_refusal() {
        let now = t0() + Duration::days(1);
        let inactive = CouponState {
            is_active: false,
            ..state()
        };
        assert_eq!(
            check_redeemable(&inactive, now),
            Err(Refusal::CouponInactive)
        );
        assert_eq!(
            check_redeemable(&state(), t0() - Duration::seconds(1)),
            Err(Refusal::CouponNotYetValid { valid_from: t0() })
        );
        let end = t0() + Duration::days(30);
        assert_eq!(
            check_redeemable(&state(), end),
            Err(Refusal::CouponExpired { valid_until: end })
        );
        let used_up = CouponState {
            used_count: 10,
            ..state()
        };
        assert_eq!(
            check_redeemable(&used_up, now),
            Err(Refusal::CouponExhausted { max_uses: 10 })
        );
        let pct = CouponState {
            discount_type: DiscountType::Percentage,
            ..state()
        };
        assert_eq!(
            check_redeemable(&pct, now),
            Err(Refusal::CouponAppliesAtCheckout {
                discount_type: "percentage".into()
            })
        );
    }

    #[test]
    fn refusal_order() {
        // Everything wrong at once: inactive is reported first, then timing,
        // then usage, then type.
        let worst = CouponState {
            discount_type: DiscountType::FixedAmount,
            is_active: false,
            valid_from: t0(),
            valid_until: Some(t0() + Duration::days(1)),
            max_uses: Some(1),
            used_count: 5,
        };
        let late = t0() + Duration::days(2);
        assert_eq!(check_redeemable(&worst, late), Err(Refusal::CouponInactive));
        let active = CouponState {
            is_active: true,
            ..worst.clone()
        };
        assert!(matches!(
            check_redeemable(&active, t0() - Duration::days(1)),
            Err(Refusal::CouponNotYetValid { .. })
        ));
        assert!(matches!(
            check_redeemable(&active, late),
            Err(Refusal::CouponExpired { .. })
        ));
        assert!(matches!(
            check_redeemable(&active, t0()),
            Err(Refusal::CouponExhausted { .. })
        ));
    }

    #[test]
    fn awarded_credits() {
        assert_eq!(credits_awarded(dec("50")), Some(50));
        assert_eq!(credits_awarded(dec("50.00")), Some(50));
        assert_eq!(credits_awarded(dec("1000000")), Some(1_000_000));
        assert_eq!(credits_awarded(dec("1000001")), None);
        assert_eq!(credits_awarded(dec("0")), None);
        assert_eq!(credits_awarded(dec("-5")), None);
        assert_eq!(credits_awarded(dec("1.5")), None);
        assert_eq!(credits_awarded(Decimal::MAX), None);
        assert_eq!(credits_awarded(Decimal::MIN), None);
    }
}
