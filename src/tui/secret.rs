//! Gift-card codes in the console: what an operator typed and what
//! `gift_cards::reveal` returned. `Debug` masks both, so a logged request or
//! reply never holds a usable code.

use std::fmt;

use crate::db::gift_cards::CardKey;
use crate::domain::codes::mask_code;

/// A code the operator typed, on its way to `redeem`. `Debug` masks it, so
/// a logged request never holds a usable code.
#[derive(Clone, PartialEq, Eq)]
pub struct TypedCode(String);

impl TypedCode {
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TypedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypedCode({})", mask_code(&self.0))
    }
}

/// Which card a redemption is for: the selected row's id, or the code the
/// customer read out. Unlike [`CardKey`], `Debug` masks the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardRef {
    Id(i32),
    Code(TypedCode),
}

impl From<CardRef> for CardKey {
    fn from(card: CardRef) -> Self {
        match card {
            CardRef::Id(id) => CardKey::Id(id),
            CardRef::Code(code) => CardKey::Code(code.0),
        }
    }
}

/// A full code from `gift_cards::reveal`, held by the reveal popup only.
/// `Debug` masks it, and its bytes are overwritten when it is dropped (a
/// best effort: the terminal buffer held it too while it was shown).
pub struct RevealedCode(String);

impl RevealedCode {
    pub fn new(code: String) -> Self {
        Self(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RevealedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RevealedCode({})", mask_code(&self.0))
    }
}

impl Drop for RevealedCode {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}
