//! What every data command needs: the pool, who is acting, how to print.

use chrono::{DateTime, Utc};

use super::output::Format;
use super::settings::Settings;
use crate::db::Db;
use crate::domain::operator::Operator;
use crate::error::Result;

pub struct Ctx {
    pub db: Db,
    pub operator: Operator,
    pub format: Format,
    pub now: DateTime<Utc>,
}

impl Ctx {
    /// Connects, reads who is connected (refusing a database without the
    /// schema, or a login that is no operator), and settles the operator
    /// name: the one given, else the login.
    pub async fn open(cli: &super::Cli, settings: &Settings) -> Result<Self> {
        // Enough connections for a command; the console asks for more.
        let db = settings.connect(4).await?.with_session().await?;
        let operator = super::operator_of(settings.operator.clone(), &db)?;
        Ok(Self {
            db,
            operator,
            format: super::output_format(cli),
            now: Utc::now(),
        })
    }
}

/// Timestamps as people read them in a terminal: UTC, to the second.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

pub fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| "-".to_owned())
}
