//! Pure business rules: parsing what the operator types, the rules that
//! decide whether an action is allowed, and making database text safe to
//! show. No database or terminal IO here, so every rule is tested without a
//! database; the database's own constraints stay the last line of defence.

pub mod adjust_file;
pub mod amounts;
pub mod batch_options;
pub mod codes;
pub mod coupon;
pub mod error;
pub mod gift_card;
pub mod gift_card_issue;
pub mod ledger;
// `operator.rs` comes from the CLI work (it reads $USER for a default name);
// `cli` and `db` import `domain::operator::Operator`.
pub mod operator;
pub mod role;
pub mod text;
pub mod user_ref;

pub use error::{InvalidInput, Refusal};
