//! Who makes a change, by the name they give: recorded as `actor` on every
//! audit row, beside the login the database records itself. ASCII letters,
//! digits and `. _ @ -` only, so a look-alike (`аna` with a Cyrillic a) or
//! an invisible character (`ana` plus a zero-width space) can't pass for
//! someone else; the database applies the same rule.

use super::error::InvalidInput;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(String);

impl Operator {
    pub const MAX_LEN: usize = 63;

    /// 1 to 63 ASCII letters, digits and `. _ @ -`, trimmed.
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        let name = s.trim();
        if name.is_empty() {
            return Err(InvalidInput::new(
                "operator",
                "an operator name is required (--operator or CREDITDESK_OPERATOR)",
            ));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-')))
        {
            let shown = if bad.is_ascii_graphic() || bad == ' ' {
                format!("'{bad}'")
            } else {
                format!("U+{:04X}", u32::from(bad))
            };
            return Err(InvalidInput::new(
                "operator",
                format!(
                    "may contain only ASCII letters, digits and . _ @ - (found {shown}), so no \
                     name can look like another"
                ),
            ));
        }
        if name.len() > Self::MAX_LEN {
            return Err(InvalidInput::new(
                "operator",
                format!("at most {} characters", Self::MAX_LEN),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_look_alikes_invisible_and_control_characters() {
        for bad in [
            "  ",
            "ops\x1b[2J",
            "\u{0430}na",   // Cyrillic a
            "ana\u{200b}",  // zero-width space
            "ana\u{202e}x", // right-to-left override
            "ana maría",
            "ana;drop",
        ] {
            assert!(Operator::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Operator::parse(&"a".repeat(64)).is_err());
        let e = Operator::parse("\u{0430}na").unwrap_err();
        assert!(e.message.contains("U+0430"), "{}", e.message);
    }

    #[test]
    fn accepts_logins_and_emails() {
        for good in ["ana", "ana.lopez", "ana_l-2", "ana@example.com", " bo "] {
            assert_eq!(
                Operator::parse(good).map(|o| o.to_string()),
                Ok(good.trim().to_owned())
            );
        }
    }
}
