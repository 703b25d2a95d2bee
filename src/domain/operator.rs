//! Who makes a change: recorded on every ledger entry's description and
//! every audit row.

use super::error::InvalidInput;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(String);

impl Operator {
    /// A name of up to 100 characters, no control characters, not blank.
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        let name = s.trim();
        if name.is_empty() {
            return Err(InvalidInput::new(
                "operator",
                "an operator name is required (--operator or CREDITDESK_OPERATOR)",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidInput::new("operator", "contains control characters"));
        }
        if name.chars().count() > 100 {
            return Err(InvalidInput::new("operator", "at most 100 characters"));
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
    fn refuses_blank_control_and_long_names() {
        assert!(Operator::parse("  ").is_err());
        assert!(Operator::parse("ops\x1b[2J").is_err());
        assert!(Operator::parse(&"a".repeat(101)).is_err());
        assert_eq!(
            Operator::parse(" ana ").map(|o| o.to_string()),
            Ok("ana".to_owned())
        );
    }
}
