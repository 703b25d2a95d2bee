//! Looking users up: search as you type, and resolving a `USER` argument.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Db, Tx, infra};
use crate::domain::Refusal;
use crate::domain::user_ref::UserRef;
use crate::error::Result;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    pub id: i32,
    pub email: String,
    pub name: Option<String>,
    pub credits: i32,
    pub created_at: DateTime<Utc>,
}

/// Users whose id is `text`, or whose email or name contains it (any
/// case): first the exact matches (the id, the whole email), then the
/// emails that start with it, then the rest, newest first within each.
///
/// Each part is its own bounded read on an index (the primary key,
/// `lower(email)`, and the newest-first or trigram indexes for the prefix
/// and substring parts, as the planner prefers), so the exact match is
/// found at once on a million users and never pushed out by `limit`.
pub async fn find(db: &Db, text: &str, limit: i64) -> Result<Vec<User>> {
    let text = text.trim();
    let id: Option<i32> = text.parse().ok();
    let escaped = escape_like(&text.to_lowercase());
    let prefix = format!("{escaped}%");
    let pattern = format!("%{escaped}%");
    let mut tx = db.read().await?;
    let rows = sqlx::query_as!(
        User,
        r#"select id as "id!", email as "email!", name, credits as "credits!",
                  created_at as "created_at!"
           from (
             select distinct on (id) * from (
               (select 0 as rank, id, coalesce(email, '') as email, name, credits,
                       "createdAt" as created_at
                from creditdesk.users where id = $1)
               union all
               (select 0, id, coalesce(email, ''), name, credits, "createdAt"
                from creditdesk.users where lower(email) = lower($2))
               union all
               (select 1, id, coalesce(email, ''), name, credits, "createdAt"
                from creditdesk.users where lower(email) like $3
                order by "createdAt" desc, id desc limit $5)
               union all
               (select 2, id, coalesce(email, ''), name, credits, "createdAt"
                from creditdesk.users where email ilike $4 or name ilike $4
                order by "createdAt" desc, id desc limit $5)
             ) m
             order by id, rank
           ) d
           order by rank, created_at desc, id desc
           limit $5"#,
        id,
        text,
        prefix,
        pattern,
        limit,
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    tx.finish().await?;
    Ok(rows)
}

/// The user a `USER` argument names, or `NotFound`.
pub async fn get(db: &Db, user: &UserRef) -> Result<User> {
    let mut tx = db.read().await?;
    let found = resolve(&mut tx, user).await?;
    tx.finish().await?;
    Ok(found)
}

/// [`get`] inside the caller's transaction. An email that names several
/// users (the app's table may not forbid it) is refused with their ids
/// rather than one of them picked.
pub async fn resolve(tx: &mut Tx, user: &UserRef) -> Result<User> {
    let found =
        match user {
            UserRef::Id(id) => sqlx::query_as!(
                User,
                r#"select id as "id!", coalesce(email, '') as "email!", name, credits as "credits!",
                      "createdAt" as "created_at!"
               from creditdesk.users where id = $1"#,
                id
            )
            .fetch_all(tx.conn())
            .await,
            UserRef::Email(email) => sqlx::query_as!(
                User,
                r#"select id as "id!", coalesce(email, '') as "email!", name, credits as "credits!",
                      "createdAt" as "created_at!"
               from creditdesk.users where lower(email) = lower($1)
               order by id limit 10"#,
                email
            )
            .fetch_all(tx.conn())
            .await,
        }
        .map_err(infra)?;
    match <[User; 1]>::try_from(found) {
        Ok([one]) => Ok(one),
        Err(many) if many.is_empty() => Err(Refusal::NotFound {
            what: "user",
            key: user.to_string(),
        }
        .into()),
        Err(many) => Err(Refusal::AmbiguousUser {
            email: user.to_string(),
            ids: many.iter().map(|u| u.id).collect(),
        }
        .into()),
    }
}

/// `%`, `_` and `\` match themselves in a LIKE pattern built from user text.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
