//! Who is connected, as the database sees it: the login (PostgreSQL's
//! `session_user`, recorded on every audit row), its creditdesk groups, and
//! the settings the console shows. Read once at connect time; the database
//! checks the same things again on every change.

use serde::Serialize;

use super::{Db, infra};
use crate::domain::Refusal;
use crate::domain::role::{Group, Permissions};
use crate::error::{Error, Result};

/// The approval thresholds and how long a request waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    /// An adjustment of more than this many credits, either way, waits.
    pub adjustment_credits: i64,
    /// A gift-card issue worth more than this many credits in all waits.
    pub gift_card_issue_credits: i64,
    pub expires_after_hours: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub login: String,
    #[serde(serialize_with = "role_label")]
    pub permissions: Permissions,
    /// Requests waiting for a second person, not expired.
    pub pending_approvals: i64,
    /// The schema's owner may create roles: `operators add` works.
    pub owner_may_create_roles: bool,
    pub thresholds: Thresholds,
    pub schema_version: i64,
}

fn role_label<S: serde::Serializer>(p: &Permissions, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.label())
}

impl Session {
    /// A login of a person's own (in a creditdesk group); any other (the
    /// owner, `postgres`, the app's service role) is shared.
    pub fn is_personal(&self) -> bool {
        self.permissions.is_personal()
    }
}

#[derive(serde::Deserialize)]
struct WhoAmI {
    login: String,
    owner: bool,
    groups: Vec<String>,
    pending_approvals: i64,
    owner_may_create_roles: Option<bool>,
    settings: std::collections::HashMap<String, i64>,
    schema_version: Option<i64>,
}

/// Reads the session, and refuses (exit 3) a database without the schema,
/// with an older or newer one than this build, or a login that is no
/// operator.
pub async fn load(db: &Db) -> Result<Session> {
    let mut tx = db.read().await?;
    let found = sqlx::query_scalar!(r#"select creditdesk.whoami() as "me!""#)
        .fetch_one(tx.conn())
        .await;
    let value = match found {
        Ok(v) => v,
        Err(e) => {
            let code = e
                .as_database_error()
                .and_then(|d| d.code())
                .map(|c| c.into_owned());
            drop(tx);
            return Err(match code.as_deref() {
                Some("3F000") | Some("42883") => Refusal::NotInstalled.into(),
                Some("42501") => Refusal::NotAnOperator {
                    login: login_name(db).await.unwrap_or_default(),
                }
                .into(),
                _ => infra(e),
            });
        }
    };
    tx.finish().await?;
    let me: WhoAmI = serde_json::from_value(value)
        .map_err(|e| Error::Infrastructure(format!("creditdesk.whoami() answered oddly: {e}")))?;
    let need = super::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let have = me.schema_version.unwrap_or(0);
    if have < need {
        return Err(Refusal::SchemaBehind { have, need }.into());
    }
    if have > need {
        return Err(Refusal::SchemaAhead { have, need }.into());
    }
    let groups: Vec<Group> = me.groups.iter().filter_map(|g| Group::parse(g)).collect();
    let permissions = Permissions::new(groups, me.owner);
    if !me.owner && permissions.groups().is_empty() {
        return Err(Refusal::NotAnOperator { login: me.login }.into());
    }
    let setting = |key: &str, default: i64| me.settings.get(key).copied().unwrap_or(default);
    Ok(Session {
        login: me.login,
        permissions,
        pending_approvals: me.pending_approvals,
        owner_may_create_roles: me.owner_may_create_roles.unwrap_or(false),
        thresholds: Thresholds {
            adjustment_credits: setting("approval.adjustment_credits", 500),
            gift_card_issue_credits: setting("approval.gift_card_issue_credits", 10_000),
            expires_after_hours: setting("approval.expires_after_hours", 24),
        },
        schema_version: have,
    })
}

async fn login_name(db: &Db) -> Result<String> {
    let mut tx = db.read().await?;
    let login = sqlx::query_scalar!(r#"select session_user::text as "login!""#)
        .fetch_one(tx.conn())
        .await
        .map_err(infra)?;
    tx.finish().await?;
    Ok(login)
}

/// How far the replica is behind the primary: zero when it has replayed
/// everything it received, else the time since the last transaction it
/// replayed; `None` without a replica (or when it is no standby).
pub async fn replica_lag(db: &Db) -> Result<Option<std::time::Duration>> {
    let Some(replica) = db.replica() else {
        return Ok(None);
    };
    // One simple-protocol message: no statement to keep, also behind a pooler.
    let row = sqlx::raw_sql(
        "select case
                  when not pg_is_in_recovery() then null
                  when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
                  else extract(epoch from now() - pg_last_xact_replay_timestamp())::float8
                end",
    )
    .fetch_one(replica)
    .await
    .map_err(infra)?;
    let seconds: Option<f64> = sqlx::Row::try_get(&row, 0).map_err(infra)?;
    Ok(seconds.map(|s| std::time::Duration::from_secs_f64(s.max(0.0))))
}
