//! Numbers, prices, durations and times typed by the operator.
//!
//! Every parser trims its input, never panics, and answers with a message
//! that says what a good value looks like. Limits mirror the database:
//! balances and ledger amounts are `integer`, money is `numeric(10,2)`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use super::error::InvalidInput;

/// The most credits one action may move: large enough for any real grant,
/// small enough that a slipped key can't mint millions.
pub const MAX_CREDITS_AT_ONCE: i32 = 1_000_000;

/// `numeric(10,2)`: 8 digits before the point.
const MAX_PRICE_INT_DIGITS: usize = 8;

/// Ten years: longer than any coupon or gift card should run.
pub const MAX_DURATION_DAYS: i64 = 3650;

/// Longer input is refused before parsing; no valid value is this long.
const MAX_INPUT_BYTES: usize = 64;

/// A signed integer as typed, before range checks.
struct Int {
    negative: bool,
    /// `None` when it doesn't even fit in a u64.
    magnitude: Option<u64>,
}

enum IntError {
    Empty,
    /// Looks like "1.5" or "1,000": a number, but not a whole one.
    NotWhole,
    NotANumber,
}

fn parse_int(s: &str) -> Result<Int, IntError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(IntError::Empty);
    }
    let (negative, body) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        let numberish = body.bytes().any(|b| b.is_ascii_digit())
            && body
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b',');
        return Err(if numberish {
            IntError::NotWhole
        } else {
            IntError::NotANumber
        });
    }
    let magnitude = body.bytes().try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    });
    Ok(Int {
        negative,
        magnitude,
    })
}

/// A change to a balance, like "+50", "-20" or "7". Never zero: the ledger
/// refuses zero entries.
pub fn parse_credit_change(field: &'static str, s: &str) -> Result<i32, InvalidInput> {
    let too_big = || {
        InvalidInput::new(
            field,
            format!("at most {MAX_CREDITS_AT_ONCE} credits at once"),
        )
    };
    let n = parse_int(s).map_err(|e| match e {
        IntError::Empty => InvalidInput::new(field, "enter a number of credits, like +50 or -20"),
        IntError::NotWhole => InvalidInput::new(field, "must be a whole number of credits"),
        IntError::NotANumber => InvalidInput::new(
            field,
            "is not a number: give whole credits, like +50 or -20",
        ),
    })?;
    let m = n.magnitude.ok_or_else(too_big)?;
    if m == 0 {
        return Err(InvalidInput::new(field, "must not be zero"));
    }
    let m = i32::try_from(m)
        .ok()
        .filter(|&m| m <= MAX_CREDITS_AT_ONCE)
        .ok_or_else(too_big)?;
    Ok(if n.negative { -m } else { m })
}

/// A whole number in `1..=max`, with `noun` for messages.
fn parse_bounded(field: &'static str, s: &str, max: u64, noun: &str) -> Result<u64, InvalidInput> {
    let n = parse_int(s).map_err(|e| match e {
        IntError::Empty => InvalidInput::new(field, format!("enter a number of {noun}")),
        IntError::NotWhole => InvalidInput::new(field, "must be a whole number"),
        IntError::NotANumber => InvalidInput::new(field, "is not a number"),
    })?;
    match n.magnitude {
        Some(0) => Err(InvalidInput::new(field, "must be at least 1")),
        Some(_) if n.negative => Err(InvalidInput::new(field, "must be at least 1")),
        Some(m) if m <= max => Ok(m),
        _ => Err(InvalidInput::new(field, format!("must be at most {max}"))),
    }
}

/// A positive number of credits, 1 to 1,000,000 (a grant, a gift card).
pub fn parse_positive_credits(field: &'static str, s: &str) -> Result<i32, InvalidInput> {
    let max = MAX_CREDITS_AT_ONCE.unsigned_abs().into();
    let n = parse_bounded(field, s, max, "credits")?;
    i32::try_from(n).map_err(|_| InvalidInput::new(field, format!("must be at most {max}")))
}

/// How many of something (e.g. gift cards to issue), 1 to `max`.
pub fn parse_count(field: &'static str, s: &str, max: u32) -> Result<u32, InvalidInput> {
    let n = parse_bounded(field, s, max.into(), "items")?;
    u32::try_from(n).map_err(|_| InvalidInput::new(field, format!("must be at most {max}")))
}

/// A price for a `numeric(10,2)` column: not negative, at most two decimal
/// places, below 100,000,000. Only plain digits with an optional '.': no
/// exponent, NaN or infinity, which a float parser would let through.
pub fn parse_price(field: &'static str, s: &str) -> Result<Decimal, InvalidInput> {
    let shape = || InvalidInput::new(field, "is not a price: use digits and a '.', like 9.99");
    let t = s.trim();
    if t.is_empty() {
        return Err(InvalidInput::new(field, "enter a price, like 9.99"));
    }
    if t.len() > MAX_INPUT_BYTES {
        return Err(shape());
    }
    let (negative, body) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    let digits_only = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(shape());
    }
    if !digits_only(int_part) || !digits_only(frac_part) {
        let comma = body.contains(',') && body.bytes().all(|b| b.is_ascii_digit() || b == b',');
        return Err(if comma {
            InvalidInput::new(field, "use '.' for decimals, like 9.99")
        } else {
            shape()
        });
    }
    let int_part = int_part.trim_start_matches('0');
    let frac_part = frac_part.trim_end_matches('0');
    if frac_part.len() > 2 {
        return Err(InvalidInput::new(
            field,
            "must have at most 2 decimal places",
        ));
    }
    if int_part.len() > MAX_PRICE_INT_DIGITS {
        return Err(InvalidInput::new(field, "must be less than 100000000"));
    }
    // At most 10 digits: fits an i64 mantissa with scale 2.
    let mut cents: i64 = 0;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        cents = cents * 10 + i64::from(b - b'0');
    }
    for _ in frac_part.len()..2 {
        cents *= 10;
    }
    if negative && cents != 0 {
        return Err(InvalidInput::new(field, "must not be negative"));
    }
    Ok(Decimal::new(cents, 2))
}

/// A duration like "90s", "15m", "2h", "7d" or "1w" (also "7 days", "2 hours").
/// Positive and at most ten years.
pub fn parse_duration(field: &'static str, s: &str) -> Result<Duration, InvalidInput> {
    const FORMS: &str = "use a whole number and a unit, like 90s, 15m, 2h, 7d or 1w";
    let t = s.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Err(InvalidInput::new(
            field,
            "enter a duration, like 90s, 15m, 2h, 7d or 1w",
        ));
    }
    if t.len() > MAX_INPUT_BYTES {
        return Err(InvalidInput::new(field, FORMS));
    }
    let (negative, body) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t.as_str()),
    };
    let digits_end = body
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(body.len());
    let (number, unit) = body.split_at(digits_end);
    if number.is_empty() {
        return Err(InvalidInput::new(field, FORMS));
    }
    let unit_secs: i64 = match unit.trim() {
        "" => return Err(InvalidInput::new(field, "add a unit: s, m, h, d or w")),
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "wk" | "wks" | "week" | "weeks" => 7 * 86_400,
        _ => return Err(InvalidInput::new(field, FORMS)),
    };
    let too_long = || InvalidInput::new(field, format!("must be at most {MAX_DURATION_DAYS} days"));
    let n: i64 = number.parse().map_err(|_| too_long())?;
    if n == 0 || negative {
        return Err(InvalidInput::new(field, "must be longer than zero"));
    }
    let secs = n.checked_mul(unit_secs).ok_or_else(too_long)?;
    if secs > MAX_DURATION_DAYS * 86_400 {
        return Err(too_long());
    }
    Duration::try_seconds(secs).ok_or_else(too_long)
}

/// A moment in time: "now", "+7d" (from now), "-7d" (ago), RFC 3339 ("2026-01-02T03:04:05Z",
/// or with an offset), "2026-01-02 03:04" (UTC) or "2026-01-02" (UTC midnight).
/// `now` is passed in so callers and tests agree on it.
pub fn parse_time(
    field: &'static str,
    s: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, InvalidInput> {
    const FORMS: &str = "use 2026-01-02, 2026-01-02 03:04 (UTC), \
         2026-01-02T03:04:05Z or +01:00, +7d (from now), or now";
    let t = s.trim();
    if t.is_empty() {
        return Err(InvalidInput::new(field, format!("enter a time: {FORMS}")));
    }
    if t.len() > MAX_INPUT_BYTES {
        return Err(InvalidInput::new(field, FORMS));
    }
    if t.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(rest) = t.strip_prefix('+') {
        let d = parse_duration(field, rest)?;
        return now
            .checked_add_signed(d)
            .ok_or_else(|| InvalidInput::new(field, "is too far in the future"));
    }
    if let Some(rest) = t.strip_prefix('-') {
        let d = parse_duration(field, rest)?;
        return now
            .checked_sub_signed(d)
            .filter(|t| t.year() >= 1970)
            .ok_or_else(|| InvalidInput::new(field, "is too far in the past"));
    }
    let parsed = parse_absolute(t).ok_or_else(|| InvalidInput::new(field, FORMS))?;
    if !(1970..=9999).contains(&parsed.year()) {
        return Err(InvalidInput::new(
            field,
            "must be between the years 1970 and 9999",
        ));
    }
    Ok(parsed)
}

fn parse_absolute(t: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(naive.and_utc());
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// A short age, as on-call reads it at a glance: `45s`, `12m`, `3h 05m`,
/// `2d 04h`. Negative ages (clock skew) read as `0s`.
pub fn short_age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 6, 7, 8, 9).unwrap()
    }

    fn msg<T: std::fmt::Debug>(r: Result<T, InvalidInput>) -> String {
        let e = r.unwrap_err();
        assert_eq!(e.field, "f");
        e.message
    }

    #[test]
    fn credit_change_accepts_signed_integers() {
        assert_eq!(parse_credit_change("f", "+50"), Ok(50));
        assert_eq!(parse_credit_change("f", "-20"), Ok(-20));
        assert_eq!(parse_credit_change("f", "7"), Ok(7));
        assert_eq!(parse_credit_change("f", "  007 "), Ok(7));
        assert_eq!(parse_credit_change("f", "1000000"), Ok(1_000_000));
        assert_eq!(parse_credit_change("f", "-1000000"), Ok(-1_000_000));
    }

    #[test]
    fn credit_change_refuses() {
        assert_eq!(msg(parse_credit_change("f", "0")), "must not be zero");
        assert_eq!(msg(parse_credit_change("f", "-0")), "must not be zero");
        assert_eq!(msg(parse_credit_change("f", "+000")), "must not be zero");
        let big = "at most 1000000 credits at once";
        for s in [
            "1000001",
            "-1000001",
            "2147483648",
            "-2147483648",
            "99999999999999999999",
            &"9".repeat(10_000),
        ] {
            assert_eq!(msg(parse_credit_change("f", s)), big, "{s}");
        }
        for s in ["1.5", "-2.0", "1,000", "+3."] {
            assert_eq!(
                msg(parse_credit_change("f", s)),
                "must be a whole number of credits"
            );
        }
        for s in [
            "abc", "+", "-", "--5", "+-5", "5-", "1e5", "NaN", "５", "5 0", "0x10", "\u{1b}5",
        ] {
            assert!(
                msg(parse_credit_change("f", s)).starts_with("is not a number"),
                "{s:?}"
            );
        }
        assert!(msg(parse_credit_change("f", "")).starts_with("enter"));
        assert!(msg(parse_credit_change("f", "   ")).starts_with("enter"));
    }

    #[test]
    fn positive_credits() {
        assert_eq!(parse_positive_credits("f", "1"), Ok(1));
        assert_eq!(parse_positive_credits("f", "+1000000"), Ok(1_000_000));
        assert_eq!(msg(parse_positive_credits("f", "0")), "must be at least 1");
        assert_eq!(msg(parse_positive_credits("f", "-5")), "must be at least 1");
        assert_eq!(
            msg(parse_positive_credits("f", "1000001")),
            "must be at most 1000000"
        );
        assert_eq!(
            msg(parse_positive_credits("f", "99999999999999999999999")),
            "must be at most 1000000"
        );
        assert_eq!(
            msg(parse_positive_credits("f", "2.5")),
            "must be a whole number"
        );
        assert_eq!(msg(parse_positive_credits("f", "lots")), "is not a number");
        assert_eq!(
            msg(parse_positive_credits("f", "")),
            "enter a number of credits"
        );
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("f", "1", 100), Ok(1));
        assert_eq!(parse_count("f", "100", 100), Ok(100));
        assert_eq!(parse_count("f", "4294967295", u32::MAX), Ok(u32::MAX));
        assert_eq!(msg(parse_count("f", "101", 100)), "must be at most 100");
        assert_eq!(msg(parse_count("f", "0", 100)), "must be at least 1");
        assert_eq!(msg(parse_count("f", "-3", 100)), "must be at least 1");
        assert_eq!(msg(parse_count("f", "1", 0)), "must be at most 0");
        assert_eq!(
            msg(parse_count("f", "4294967296", u32::MAX)),
            "must be at most 4294967295"
        );
        assert_eq!(msg(parse_count("f", "x", 10)), "is not a number");
    }

    #[test]
    fn prices_accepted() {
        assert_eq!(parse_price("f", "9.99"), Ok(dec("9.99")));
        assert_eq!(parse_price("f", "10"), Ok(dec("10")));
        assert_eq!(parse_price("f", "0"), Ok(Decimal::ZERO));
        assert_eq!(parse_price("f", "-0"), Ok(Decimal::ZERO));
        assert_eq!(parse_price("f", "0.5"), Ok(dec("0.5")));
        assert_eq!(parse_price("f", ".5"), Ok(dec("0.5")));
        assert_eq!(parse_price("f", "5."), Ok(dec("5")));
        assert_eq!(parse_price("f", "1.230"), Ok(dec("1.23")));
        assert_eq!(parse_price("f", " 0099999999.99 "), Ok(dec("99999999.99")));
        assert_eq!(parse_price("f", "+3"), Ok(dec("3")));
        assert_eq!(parse_price("f", "10").unwrap().scale(), 2);
    }

    #[test]
    fn prices_refused() {
        assert_eq!(msg(parse_price("f", "-1")), "must not be negative");
        assert_eq!(
            msg(parse_price("f", "1.234")),
            "must have at most 2 decimal places"
        );
        assert_eq!(
            msg(parse_price("f", "0.0000000000000000000000000000001")),
            "must have at most 2 decimal places"
        );
        assert_eq!(
            msg(parse_price("f", "100000000")),
            "must be less than 100000000"
        );
        assert_eq!(
            msg(parse_price("f", "9,99")),
            "use '.' for decimals, like 9.99"
        );
        for s in [
            "abc",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "1e5",
            "1E5",
            ".",
            "-",
            "+",
            "1.2.3",
            "$5",
            "5 00",
            "١٢",
            &"9".repeat(100),
        ] {
            assert!(
                msg(parse_price("f", s)).starts_with("is not a price"),
                "{s:?}"
            );
        }
        assert!(msg(parse_price("f", "")).starts_with("enter a price"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("f", "90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("f", "15m"), Ok(Duration::minutes(15)));
        assert_eq!(parse_duration("f", "2h"), Ok(Duration::hours(2)));
        assert_eq!(parse_duration("f", "7d"), Ok(Duration::days(7)));
        assert_eq!(parse_duration("f", "1w"), Ok(Duration::weeks(1)));
        assert_eq!(parse_duration("f", " 7 Days "), Ok(Duration::days(7)));
        assert_eq!(parse_duration("f", "3650d"), Ok(Duration::days(3650)));
        assert_eq!(parse_duration("f", "+1H"), Ok(Duration::hours(1)));
    }

    #[test]
    fn durations_refused() {
        let too_long = "must be at most 3650 days";
        assert_eq!(msg(parse_duration("f", "3651d")), too_long);
        assert_eq!(msg(parse_duration("f", "522w")), too_long);
        assert_eq!(msg(parse_duration("f", "99999999999999999999s")), too_long);
        assert_eq!(msg(parse_duration("f", "9223372036854775807w")), too_long);
        assert_eq!(msg(parse_duration("f", "0s")), "must be longer than zero");
        assert_eq!(msg(parse_duration("f", "-5d")), "must be longer than zero");
        assert_eq!(msg(parse_duration("f", "5")), "add a unit: s, m, h, d or w");
        for s in [
            "d",
            "1.5h",
            "5y",
            "5 fortnights",
            "abc",
            "5d5h",
            "５d",
            "5\u{1b}d",
            &"5".repeat(1000),
        ] {
            assert!(
                msg(parse_duration("f", s)).starts_with("use a whole number"),
                "{s:?}"
            );
        }
        assert!(msg(parse_duration("f", "")).starts_with("enter a duration"));
    }

    #[test]
    fn times_accepted() {
        let expect = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(parse_time("f", "2026-01-02T03:04:05Z", now()), Ok(expect));
        assert_eq!(
            parse_time("f", "2026-01-02T04:04:05+01:00", now()),
            Ok(expect)
        );
        assert_eq!(parse_time("f", "2026-01-02 03:04:05", now()), Ok(expect));
        assert_eq!(
            parse_time("f", "2026-01-02 03:04", now()),
            Ok(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 0).unwrap())
        );
        assert_eq!(
            parse_time("f", "2026-01-02T03:04", now()),
            Ok(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 0).unwrap())
        );
        assert_eq!(
            parse_time("f", " 2026-01-02 ", now()),
            Ok(Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap())
        );
        assert_eq!(parse_time("f", "now", now()), Ok(now()));
        assert_eq!(parse_time("f", "NOW", now()), Ok(now()));
        assert_eq!(parse_time("f", "+7d", now()), Ok(now() + Duration::days(7)));
        assert_eq!(parse_time("f", "-7d", now()), Ok(now() - Duration::days(7)));
        assert_eq!(
            parse_time("f", " -12h ", now()),
            Ok(now() - Duration::hours(12))
        );
        assert_eq!(
            msg(parse_time("f", "-0d", now())),
            "must be longer than zero"
        );
        assert!(parse_time("f", "--7d", now()).is_err());
        assert_eq!(
            msg(parse_time("f", "-3650d", DateTime::<Utc>::MIN_UTC)),
            "is too far in the past"
        );
    }

    #[test]
    fn times_refused() {
        for s in [
            "tomorrow",
            "2026-13-01",
            "2026-02-30",
            "2026-01-02 25:00",
            "02/01/2026",
            "2026-01-02T03:04:05+25:00",
            "1767322800",
            "now\u{1b}",
            &"2".repeat(10_000),
        ] {
            assert!(
                msg(parse_time("f", s, now())).starts_with("use 2026-01-02"),
                "{s:?}"
            );
        }
        assert!(msg(parse_time("f", "", now())).starts_with("enter a time"));
        assert_eq!(
            msg(parse_time("f", "+0d", now())),
            "must be longer than zero"
        );
        assert_eq!(
            msg(parse_time("f", "1969-12-31", now())),
            "must be between the years 1970 and 9999"
        );
        assert!(parse_time("f", "+262143-01-01T00:00:00Z", now()).is_err());
    }

    #[test]
    fn time_near_the_end_of_chrono_range_does_not_panic() {
        let end = DateTime::<Utc>::MAX_UTC;
        assert!(parse_time("f", "+3650d", end).is_err());
    }

    #[test]
    fn short_ages_read_at_a_glance() {
        assert_eq!(short_age(-3), "0s");
        assert_eq!(short_age(59), "59s");
        assert_eq!(short_age(60 * 14), "14m");
        assert_eq!(short_age(3 * 3600 + 5 * 60), "3h 05m");
        assert_eq!(short_age(2 * 86_400 + 4 * 3600 + 59), "2d 04h");
    }
}
