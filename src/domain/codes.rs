//! Coupon and gift-card codes: parsing what the operator types, generating
//! new ones, and the normalised form the database matches on.
//!
//! The database stores codes upper-case and matches them by
//! `replace(replace(code, '-', ''), ' ', '')`, because people read codes aloud
//! and retype them with or without dashes and spaces.

use std::collections::HashSet;
use std::fmt;

use rand::Rng;

use super::error::InvalidInput;
use super::text::sanitize_cow;

/// Crockford base32: no I, L, O or U, so nothing reads like 1, 0 or V.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Typed input longer than this is refused before any other work: no real
/// code comes close, and it keeps messages and allocations small.
const MAX_INPUT_BYTES: usize = 256;

fn is_dash(c: char) -> bool {
    // '-' plus the dashes and minus sign that copy-paste from documents or
    // email clients tends to produce.
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// The form the database matches codes on: upper-case, without spaces and
/// dashes. Use it to look up any stored code, including old ones that don't
/// follow today's format.
pub fn lookup_key(input: &str) -> String {
    input
        .chars()
        .filter(|&c| !c.is_whitespace() && !is_dash(c))
        .flat_map(char::to_uppercase)
        .collect()
}

/// `n` random Crockford base32 symbols from the thread-local CSPRNG
/// (`rand::rng()`: ChaCha12 seeded and periodically reseeded from the OS).
fn random_symbols(n: usize) -> Vec<u8> {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| CROCKFORD[rng.random_range(0..CROCKFORD.len())])
        .collect()
}

/// Joins symbols in groups of `group` with dashes, e.g. `ABCD-EFGH`.
fn grouped(symbols: &[u8], group: usize) -> String {
    let mut out = String::with_capacity(symbols.len() + symbols.len() / group.max(1));
    for (i, chunk) in symbols.chunks(group.max(1)).enumerate() {
        if i > 0 {
            out.push('-');
        }
        out.extend(chunk.iter().map(|&b| char::from(b)));
    }
    out
}

/// Describes a character for an error message without letting control or
/// bidi characters through.
fn describe(c: char) -> String {
    if c.is_control() || super::text::is_bidi_control(c) || c.is_whitespace() {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("'{c}'")
    }
}

/// A coupon code as stored: upper-case, 3 to 32 of A–Z, 0–9, '-' and '_'.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CouponCode(String);

impl CouponCode {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 32;

    /// Parses a code the operator typed for a new coupon. Upper-cases it so
    /// "summer25" and "SUMMER25" are the same code, as in the database.
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        const F: &str = "code";
        let t = s.trim();
        if t.is_empty() {
            return Err(InvalidInput::new(F, "enter a code"));
        }
        let code = t.to_ascii_uppercase();
        if let Some(bad) = code
            .chars()
            .find(|&c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_'))
        {
            return Err(InvalidInput::new(
                F,
                format!(
                    "may contain only letters A-Z, digits, '-' and '_' (found {})",
                    describe(bad)
                ),
            ));
        }
        // All ASCII from here, so len() counts characters.
        if code.len() < Self::MIN_LEN || code.len() > Self::MAX_LEN {
            return Err(InvalidInput::new(
                F,
                format!(
                    "must be {} to {} characters long (got {})",
                    Self::MIN_LEN,
                    Self::MAX_LEN,
                    code.len()
                ),
            ));
        }
        if !code.chars().any(|c| c.is_ascii_alphanumeric()) {
            return Err(InvalidInput::new(F, "must contain a letter or a digit"));
        }
        Ok(CouponCode(code))
    }

    /// A fresh random code like `7KQ2M-XF9AB` (50 bits; coupons are handed
    /// out, not secret, so uniqueness matters more than strength).
    pub fn generate() -> CouponCode {
        CouponCode(grouped(&random_symbols(10), 5))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn lookup_key(&self) -> String {
        lookup_key(&self.0)
    }
}

impl fmt::Display for CouponCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A gift-card code in canonical form: 20 Crockford base32 symbols (100 bits)
/// in groups of four, e.g. `K7QF-9XM2-ABCD-EFGH-JKMN`. A gift card is a
/// bearer credential, so codes must not be guessable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GiftCardCode(String);

impl GiftCardCode {
    /// Symbols in a code (5 bits each).
    pub const SYMBOLS: usize = 20;
    const GROUP: usize = 4;

    pub fn generate() -> Self {
        GiftCardCode(grouped(&random_symbols(Self::SYMBOLS), Self::GROUP))
    }

    /// Parses a gift-card code as a person might type it: any case, spaces
    /// and dashes anywhere, and the Crockford look-alikes O for 0 and I or L
    /// for 1. Returns the canonical grouped form.
    ///
    /// Only codes in today's format parse; to find a stored code whatever its
    /// format, use [`lookup_key`].
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        const F: &str = "code";
        if s.len() > MAX_INPUT_BYTES {
            return Err(InvalidInput::new(
                F,
                "is too long for a gift card code (20 letters and digits)",
            ));
        }
        let mut symbols = Vec::with_capacity(Self::SYMBOLS);
        for c in s.chars() {
            if c.is_whitespace() || is_dash(c) {
                continue;
            }
            let sym = match c.to_ascii_uppercase() {
                'O' => b'0',
                'I' | 'L' => b'1',
                'U' => {
                    return Err(InvalidInput::new(
                        F,
                        "gift card codes never contain the letter U",
                    ));
                }
                u if u.is_ascii_alphanumeric() => u as u8,
                _ => {
                    return Err(InvalidInput::new(
                        F,
                        format!(
                            "may contain only letters and digits (found {})",
                            describe(c)
                        ),
                    ));
                }
            };
            symbols.push(sym);
        }
        if symbols.is_empty() {
            return Err(InvalidInput::new(F, "enter a gift card code"));
        }
        if symbols.len() != Self::SYMBOLS {
            return Err(InvalidInput::new(
                F,
                format!(
                    "a gift card code has {} letters and digits, this has {}",
                    Self::SYMBOLS,
                    symbols.len()
                ),
            ));
        }
        Ok(GiftCardCode(grouped(&symbols, Self::GROUP)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn lookup_key(&self) -> String {
        lookup_key(&self.0)
    }
}

impl fmt::Display for GiftCardCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `n` distinct new codes, for issuing a batch of cards in one go. (A clash
/// at 100 bits is astronomically unlikely, but a batch with a duplicate would
/// fail on the unique index as a whole.) Callers bound `n` (see
/// `amounts::parse_count`).
pub fn generate_many(n: usize) -> Vec<GiftCardCode> {
    let mut seen = HashSet::with_capacity(n.min(10_000));
    let mut out = Vec::with_capacity(n.min(10_000));
    while out.len() < n {
        let code = GiftCardCode::generate();
        if seen.insert(code.lookup_key()) {
            out.push(code);
        }
    }
    out
}

/// Hides a code for lists and logs: every letter or digit but the last four
/// becomes '•', separators stay, e.g. `••••-••••-••••-••••-JKMN`. Codes with
/// four or fewer letters/digits are hidden entirely (the tail would be all of
/// it).
pub fn mask_code(code: &str) -> String {
    let total = code.chars().filter(|c| c.is_alphanumeric()).count();
    let keep_from = if total > 4 { total - 4 } else { total };
    let mut seen = 0usize;
    let masked: String = code
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                seen += 1;
                if seen > keep_from { c } else { '•' }
            } else {
                c
            }
        })
        .collect();
    // Stored codes are untrusted text; the result goes to a terminal.
    sanitize_cow(&masked).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_key_matches_the_database_form() {
        assert_eq!(lookup_key("k7qf-9xm2 abcd"), "K7QF9XM2ABCD");
        assert_eq!(lookup_key("  summer-25 "), "SUMMER25");
        assert_eq!(lookup_key("A\u{2013}B"), "AB");
        assert_eq!(lookup_key(""), "");
        assert_eq!(lookup_key("- -"), "");
        assert_eq!(lookup_key("a_b"), "A_B");
        assert_eq!(lookup_key("straße"), "STRASSE");
    }

    #[test]
    fn coupon_code_parse_accepts_and_normalises() {
        let c = CouponCode::parse("  summer-25_x ").unwrap();
        assert_eq!(c.as_str(), "SUMMER-25_X");
        assert_eq!(c.to_string(), "SUMMER-25_X");
        assert_eq!(c.lookup_key(), "SUMMER25_X");
        assert!(CouponCode::parse("ab1").is_ok());
        assert!(CouponCode::parse(&"A".repeat(32)).is_ok());
        assert!(CouponCode::parse("-A-").is_ok());
    }

    #[test]
    fn coupon_code_parse_refuses() {
        let cases = [
            ("", "enter a code"),
            ("   ", "enter a code"),
            ("ab", "must be 3 to 32 characters long (got 2)"),
            ("---", "must contain a letter or a digit"),
            ("_-_", "must contain a letter or a digit"),
        ];
        for (input, msg) in cases {
            let e = CouponCode::parse(input).unwrap_err();
            assert_eq!(e.field, "code");
            assert_eq!(e.message, msg, "{input:?}");
        }
        assert!(
            CouponCode::parse(&"A".repeat(33))
                .unwrap_err()
                .message
                .contains("3 to 32")
        );
        assert!(CouponCode::parse(&"A".repeat(100_000)).is_err());
        for bad in [
            "SUM MER",
            "SUMMÉR",
            "ab\u{1b}c",
            "a.b.c",
            "日本語",
            "abc\u{202e}",
        ] {
            let e = CouponCode::parse(bad).unwrap_err();
            assert!(e.message.starts_with("may contain only"), "{bad:?}: {e}");
            assert!(!e.message.chars().any(|c| c.is_control() || c == '\u{202e}'));
        }
    }

    #[test]
    fn generated_coupon_codes_parse_back() {
        for _ in 0..200 {
            let c = CouponCode::generate();
            assert_eq!(c.as_str().len(), 11);
            assert_eq!(c.as_str().as_bytes()[5], b'-');
            assert_eq!(CouponCode::parse(c.as_str()).unwrap(), c);
        }
    }

    #[test]
    fn generated_gift_card_codes_have_the_right_shape() {
        for _ in 0..200 {
            let g = GiftCardCode::generate();
            let s = g.as_str();
            assert_eq!(s.len(), 24);
            let groups: Vec<&str> = s.split('-').collect();
            assert_eq!(groups.len(), 5);
            assert!(groups.iter().all(|g| g.len() == 4));
            assert!(s.bytes().all(|b| b == b'-' || CROCKFORD.contains(&b)));
            assert!(!s.contains(['I', 'L', 'O', 'U']));
            assert_eq!(GiftCardCode::parse(s).unwrap(), g);
        }
    }

    #[test]
    fn generation_uses_the_whole_alphabet() {
        let seen: HashSet<u8> = (0..200).flat_map(|_| random_symbols(20)).collect();
        assert_eq!(seen.len(), 32);
    }

    #[test]
    fn gift_card_parse_is_forgiving() {
        let canonical = "K7QF-9XM2-ABCD-EFGH-JKMN";
        for input in [
            canonical,
            "k7qf9xm2abcdefghjkmn",
            "  K7QF 9XM2 ABCD EFGH JKMN ",
            "K-7-Q-F9XM2ABCD--EFGH JKMN",
            "K7QF\u{2013}9XM2\u{2013}ABCD\u{2013}EFGH\u{2013}JKMN",
        ] {
            let g = GiftCardCode::parse(input).unwrap();
            assert_eq!(g.as_str(), canonical, "{input:?}");
            assert_eq!(g.to_string(), canonical);
            assert_eq!(g.lookup_key(), "K7QF9XM2ABCDEFGHJKMN");
        }
        let g = GiftCardCode::parse("oOiI-lL00-1111-0000-AAAA").unwrap();
        assert_eq!(g.as_str(), "0011-1100-1111-0000-AAAA");
    }

    #[test]
    fn gift_card_parse_refuses() {
        let e = GiftCardCode::parse("").unwrap_err();
        assert_eq!(
            (e.field, e.message.as_str()),
            ("code", "enter a gift card code")
        );
        assert_eq!(
            GiftCardCode::parse(" - - ").unwrap_err().message,
            "enter a gift card code"
        );
        assert_eq!(
            GiftCardCode::parse("K7QF-9XM2").unwrap_err().message,
            "a gift card code has 20 letters and digits, this has 8"
        );
        assert!(
            GiftCardCode::parse("K7QF-9XM2-ABCD-EFGH-JKMN-A")
                .unwrap_err()
                .message
                .contains("this has 21")
        );
        assert!(
            GiftCardCode::parse("UUUU-9XM2-ABCD-EFGH-JKMN")
                .unwrap_err()
                .message
                .contains("letter U")
        );
        for bad in [
            "K7QF.9XM2.ABCD.EFGH.JKMN",
            "K7QF-9XM2-ABCD-EFGH-JKM\u{1b}",
            "K7QF-9XM2-ABCD-EFGH-JKMÉ",
            "K7QF-9XM2-ABCD-EFGH-JKM\u{202e}",
            "K7QF-9XM2-ABCD-EFGH-JKM５",
        ] {
            let e = GiftCardCode::parse(bad).unwrap_err();
            assert!(e.message.starts_with("may contain only"), "{bad:?}: {e}");
            assert!(!e.message.chars().any(|c| c.is_control() || c == '\u{202e}'));
        }
        assert!(GiftCardCode::parse(&"A".repeat(1_000_000)).is_err());
    }

    #[test]
    fn generate_many_has_no_duplicates() {
        assert!(generate_many(0).is_empty());
        let codes = generate_many(1000);
        assert_eq!(codes.len(), 1000);
        let keys: HashSet<String> = codes.iter().map(|c| c.lookup_key()).collect();
        assert_eq!(keys.len(), 1000);
    }

    #[test]
    fn mask_code_keeps_the_last_four() {
        assert_eq!(
            mask_code("K7QF-9XM2-ABCD-EFGH-JKMN"),
            "••••-••••-••••-••••-JKMN"
        );
        assert_eq!(mask_code("SUMMER25"), "••••ER25");
        assert_eq!(mask_code("AB-CDE"), "•B-CDE");
        assert_eq!(mask_code("ABCDE"), "•BCDE");
        assert_eq!(mask_code("ABCD"), "••••");
        assert_eq!(mask_code("A-B"), "•-•");
        assert_eq!(mask_code(""), "");
        assert_eq!(mask_code("---"), "---");
        assert_eq!(mask_code("日本語テキスト"), "•••テキスト");
    }

    #[test]
    fn mask_code_output_is_terminal_safe() {
        let m = mask_code("ABCDEFGH\u{1b}[2J");
        assert!(!m.contains('\u{1b}'));
        assert_eq!(m, "••••••GH\u{FFFD}[2J");
        assert_eq!(mask_code("ABCDE\u{202e}FGH"), "••••EFGH");
    }
}
