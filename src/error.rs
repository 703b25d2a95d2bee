//! The one error type the library's operations return. Its three kinds map to
//! distinct exit codes so scripts can tell bad input from a refused rule from
//! a broken connection.

use crate::db::install::CheckReport;
use crate::domain::{InvalidInput, Refusal};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is malformed: nothing was tried.
    #[error("{}", join_invalid(.0))]
    Invalid(Vec<InvalidInput>),
    /// A rule refused the action: nothing was written.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// The database or the machine failed; the message never holds a password.
    #[error("{0}")]
    Infrastructure(String),
    /// Another session holds what the change needs (a row, a table) longer
    /// than the lock timeout: nothing was written; trying again later works.
    #[error("{0}")]
    Busy(String),
    /// `migrate` found the database incompatible and changed nothing.
    #[error("{}", migration_refused(.0))]
    MigrationRefused(Box<CheckReport>),
    /// Not an error of the change: it is above an approval threshold and was
    /// stored as request `id`, waiting for a second person. Nothing moved.
    #[error(
        "pending approval #{id}: {summary}; nothing changed until a second person approves it (creditdesk approvals show {id})"
    )]
    PendingApproval { id: i64, summary: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn join_invalid(errors: &[InvalidInput]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn migration_refused(report: &CheckReport) -> String {
    let first = report
        .problems
        .first()
        .map(|p| p.message.as_str())
        .unwrap_or("the check failed");
    match report.problems.len() {
        0 | 1 => format!("the database can't be migrated safely, so nothing was changed: {first}"),
        n => format!(
            "the database can't be migrated safely, so nothing was changed: {first}; and {} more \
             problem(s) (`creditdesk migrate --check` lists them)",
            n - 1
        ),
    }
}

impl From<InvalidInput> for Error {
    fn from(e: InvalidInput) -> Self {
        Error::Invalid(vec![e])
    }
}

/// Process exit codes, listed in `--help`.
pub mod exit_code {
    pub const INVALID_INPUT: i32 = 2;
    pub const REFUSED: i32 = 3;
    pub const INFRASTRUCTURE: i32 = 4;
    pub const PENDING_APPROVAL: i32 = 5;
    pub const BUSY: i32 = 6;
}

impl Error {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        InvalidInput::new(field, message).into()
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) => exit_code::INVALID_INPUT,
            Error::Refused(_) => exit_code::REFUSED,
            Error::Infrastructure(_) => exit_code::INFRASTRUCTURE,
            Error::PendingApproval { .. } => exit_code::PENDING_APPROVAL,
            Error::Busy(_) => exit_code::BUSY,
            Error::MigrationRefused(_) => exit_code::REFUSED,
        }
    }

    /// The field errors, for a form that shows each next to its field.
    pub fn field_errors(&self) -> &[InvalidInput] {
        match self {
            Error::Invalid(errors) => errors,
            _ => &[],
        }
    }
}
