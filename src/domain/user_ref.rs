//! How the operator names a user: by numeric id or by email.

use std::fmt;

use super::error::InvalidInput;

/// A user as the operator named them. Emails are lower-cased because the
/// database keeps them unique on `lower(email)` and matches them that way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserRef {
    Id(i32),
    Email(String),
}

/// RFC 5321 caps an address at 254 characters.
const MAX_EMAIL_LEN: usize = 254;

impl UserRef {
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        const F: &str = "user";
        let t = s.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            // Ids are `serial` (i32) and start at 1.
            let id = t
                .bytes()
                .try_fold(0i32, |acc, b| {
                    acc.checked_mul(10)?.checked_add(i32::from(b - b'0'))
                })
                .ok_or_else(|| InvalidInput::new(F, format!("no user id is above {}", i32::MAX)))?;
            if id == 0 {
                return Err(InvalidInput::new(F, "user ids start at 1"));
            }
            return Ok(UserRef::Id(id));
        }
        if t.contains('@') {
            return parse_email(t).map(UserRef::Email);
        }
        Err(InvalidInput::new(F, "give a numeric id or an email"))
    }
}

fn parse_email(t: &str) -> Result<String, InvalidInput> {
    const F: &str = "user";
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidInput::new(
            F,
            "an email has no spaces or control characters",
        ));
    }
    if t.chars().any(super::text::is_bidi_control) {
        return Err(InvalidInput::new(
            F,
            "the email contains invisible text-direction characters",
        ));
    }
    if t.chars().nth(MAX_EMAIL_LEN).is_some() {
        return Err(InvalidInput::new(
            F,
            format!("an email is at most {MAX_EMAIL_LEN} characters"),
        ));
    }
    match t.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(t.to_lowercase())
        }
        _ => Err(InvalidInput::new(F, "an email looks like name@example.com")),
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserRef::Id(id) => write!(f, "#{id}"),
            UserRef::Email(email) => f.write_str(email),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(s: &str) -> String {
        let e = UserRef::parse(s).unwrap_err();
        assert_eq!(e.field, "user");
        e.message
    }

    #[test]
    fn ids() {
        assert_eq!(UserRef::parse("42"), Ok(UserRef::Id(42)));
        assert_eq!(UserRef::parse(" 007 "), Ok(UserRef::Id(7)));
        assert_eq!(UserRef::parse("2147483647"), Ok(UserRef::Id(i32::MAX)));
        assert_eq!(UserRef::Id(42).to_string(), "#42");
    }

    #[test]
    fn bad_ids() {
        assert_eq!(msg("0"), "user ids start at 1");
        assert_eq!(msg("000"), "user ids start at 1");
        assert_eq!(msg("2147483648"), "no user id is above 2147483647");
        assert_eq!(msg(&"9".repeat(10_000)), "no user id is above 2147483647");
        for s in ["-5", "+5", "4.2", "1e3", "#5", "５"] {
            assert_eq!(msg(s), "give a numeric id or an email", "{s:?}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            UserRef::parse("  Ana.Perez@Example.COM "),
            Ok(UserRef::Email("ana.perez@example.com".into()))
        );
        assert_eq!(UserRef::parse("a@b"), Ok(UserRef::Email("a@b".into())));
        assert_eq!(
            UserRef::parse("ZOË@Exämple.de"),
            Ok(UserRef::Email("zoë@exämple.de".into()))
        );
        assert_eq!(UserRef::Email("a@b.c".into()).to_string(), "a@b.c");
    }

    #[test]
    fn bad_emails() {
        for s in ["@", "a@", "@b", "a@b@c"] {
            assert_eq!(msg(s), "an email looks like name@example.com", "{s:?}");
        }
        for s in ["a b@c", "a@b\u{1b}", "a@b\tc", "a\u{0}@b"] {
            assert_eq!(
                msg(s),
                "an email has no spaces or control characters",
                "{s:?}"
            );
        }
        assert!(msg("a@b\u{202e}c").contains("direction"));
        let long = format!("{}@example.com", "a".repeat(300));
        assert_eq!(msg(&long), "an email is at most 254 characters");
    }

    #[test]
    fn neither_id_nor_email() {
        for s in ["", "   ", "ana", "ana perez", "\u{1b}[2J", "日本"] {
            assert_eq!(msg(s), "give a numeric id or an email", "{s:?}");
        }
    }
}
