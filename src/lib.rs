//! creditdesk: the back-office console for the photo app's credits.
//!
//! `domain` holds the pure rules, `db` the only SQL, `cli` and `tui` the two
//! faces over them; `pg_local` starts private PostgreSQL servers for the demo
//! and the tests.

// Nothing an operator runs may panic on a value it didn't expect.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod cli;
pub mod db;
pub mod domain;
pub mod error;
pub mod files;
pub mod pg_local;
// Test support: a failed set-up should stop the test loudly.
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub mod testing;
pub mod tui;

pub use error::{Error, Result};
