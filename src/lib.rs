//! creditdesk: the back-office console for the photo app's credits.
//!
//! `domain` holds the pure rules, `db` the only SQL, `cli` and (later) `tui`
//! the two faces over them; `pg_local` starts private PostgreSQL servers for
//! the demo and the tests.

pub mod cli;
pub mod db;
pub mod domain;
pub mod error;
pub mod pg_local;
pub mod testing;
pub mod tui;

pub use error::{Error, Result};
