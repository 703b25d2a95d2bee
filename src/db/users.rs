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
/// emails that start with it in email order, then the rest newest first.
/// Empty text: the newest users.
///
/// Each part is its own bounded read on an index: the primary key and
/// `lower(email)` for the exact matches, `lower(email)` in order for the
/// prefixes (a range, so it needs no `text_pattern_ops`; the `like` keeps
/// it exact under any collation), the newest-first or trigram indexes for
/// the rest, as the planner prefers. So the exact match is found at once on
/// a million users and never pushed out by `limit`, and a short prefix
/// reads `limit` index entries, not every match. The substring part is
/// read only when the first two leave room.
pub async fn find(db: &Db, text: &str, limit: i64) -> Result<Vec<User>> {
    let text = text.trim();
    let id: Option<i32> = text.parse().ok();
    let escaped = escape_like(&text.to_lowercase());
    let prefix = format!("{escaped}%");
    // The range of emails starting with the text (none for empty text).
    let low = Some(text.to_lowercase()).filter(|t| !t.is_empty());
    let high = low.as_ref().map(|t| format!("{t}\u{10FFFF}"));
    let pattern = format!("%{escaped}%");
    let mut tx = db.read().await?;
    let mut rows = sqlx::query_as!(
        User,
        r#"select id as "id!", email as "email!", name, credits as "credits!",
                  created_at as "created_at!"
           from (
             select distinct on (id) * from (
               (select 0 as rank, '' as sort, id, coalesce(email, '') as email, name,
                       credits, "createdAt" as created_at
                from creditdesk.users where id = $1)
               union all
               (select 0, '', id, coalesce(email, ''), name, credits, "createdAt"
                from creditdesk.users where lower(email) = lower($2))
               union all
               (select 1, lower(email), id, coalesce(email, ''), name, credits, "createdAt"
                from creditdesk.users
                where lower(email) >= $3 and lower(email) < $4 and lower(email) like $5
                order by lower(email) limit $6)
             ) m
             order by id, rank
           ) d
           order by rank, sort, created_at desc, id desc
           limit $6"#,
        id,
        text,
        low,
        high,
        prefix,
        limit,
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    if (rows.len() as i64) < limit {
        let rest = sqlx::query_as!(
            User,
            r#"select id as "id!", coalesce(email, '') as "email!", name, credits as "credits!",
                      "createdAt" as "created_at!"
               from creditdesk.users
               where email ilike $1 or name ilike $1
               order by "createdAt" desc, id desc
               limit $2"#,
            pattern,
            limit,
        )
        .fetch_all(tx.conn())
        .await
        .map_err(infra)?;
        let seen: std::collections::HashSet<i32> = rows.iter().map(|u| u.id).collect();
        rows.extend(rest.into_iter().filter(|u| !seen.contains(&u.id)));
        rows.truncate(usize::try_from(limit).unwrap_or(0));
    }
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
