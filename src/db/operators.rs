//! Operators (security.md §5): a login of their own in one creditdesk
//! group. Admins add, re-role and disable them through the creditdesk
//! functions, each audited; the schema's owner does the CREATE ROLE, so it
//! needs CREATEROLE (Supabase's `postgres` has it). The password reaches the
//! server already hashed, as a SCRAM-SHA-256 verifier made here, so the clear
//! text is in no statement, log or audit row.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Db, infra};
use crate::domain::InvalidInput;
use crate::domain::operator::Operator;
use crate::domain::role::{Action, Group};
use crate::domain::text::Reason;
use crate::error::Result;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OperatorLogin {
    pub login: String,
    /// `support`, `finance+oncall`.
    pub roles: Vec<String>,
    pub can_login: bool,
    /// The newest audit row this login wrote.
    pub last_change_at: Option<DateTime<Utc>>,
    pub last_action: Option<String>,
}

/// Every login in a creditdesk group, with its last change.
pub async fn list(db: &Db) -> Result<Vec<OperatorLogin>> {
    let mut tx = db.read().await?;
    let rows = sqlx::query!(
        r#"select o.login as "login!", o."canLogin" as "can_login!", o.groups as "groups!",
                  a."createdAt" as "last_change_at?", a.action as "last_action?"
           from creditdesk.operators o
           left join lateral (select "createdAt", action from creditdesk.admin_audit_log l
                              where l.login = o.login
                              order by l."createdAt" desc, l.id desc limit 1) a on true
           order by o.login"#
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    tx.finish().await?;
    Ok(rows
        .into_iter()
        .map(|r| OperatorLogin {
            login: r.login,
            roles: r
                .groups
                .iter()
                .filter_map(|g| Group::parse(g))
                .map(|g| g.label().to_owned())
                .collect(),
            can_login: r.can_login,
            last_change_at: r.last_change_at,
            last_action: r.last_action,
        })
        .collect())
}

/// A login name for a new operator: what `creditdesk.add_operator` accepts.
pub fn parse_login(s: &str) -> Result<String, InvalidInput> {
    let t = s.trim();
    let ok = t.len() >= 2
        && t.len() <= 63
        && t.starts_with(|c: char| c.is_ascii_lowercase())
        && t.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '@' | '-')
        });
    if ok {
        Ok(t.to_owned())
    } else {
        Err(InvalidInput::new(
            "name",
            "a login is 2 to 63 lower-case letters, digits and _ . @ -, starting with a letter",
        ))
    }
}

/// A new password: 24 letters and digits from the OS's random source.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..24)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// PostgreSQL's SCRAM-SHA-256 verifier of `password` (RFC 5802, as
/// `\password` in psql makes it): `SCRAM-SHA-256$4096:salt$StoredKey:ServerKey`.
pub fn scram_verifier(password: &str) -> String {
    const ITERATIONS: u32 = 4096;
    let salt: [u8; 16] = rand::random();
    let salted = pbkdf2_sha256(password.as_bytes(), &salt, ITERATIONS);
    let client_key = hmac_sha256(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac_sha256(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${ITERATIONS}:{}${}:{}",
        BASE64.encode(salt),
        BASE64.encode(stored_key),
        BASE64.encode(server_key)
    )
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable_hmac(),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac() -> Hmac<Sha256> {
    // new_from_slice never fails for HMAC; this keeps the library panic-free.
    Hmac::<Sha256>::new(&Default::default())
}

fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut first = salt.to_vec();
    first.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac_sha256(password, &first);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac_sha256(password, &u);
        for (o, b) in out.iter_mut().zip(u) {
            *o ^= b;
        }
    }
    out
}

/// What `operators add` made.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Added {
    pub login: String,
    pub role: String,
}

/// The SQL a DBA runs when the owner can't create roles.
pub fn add_sql(login: &str, group: Group, verifier: &str) -> String {
    format!(
        "create role \"{login}\" login password '{verifier}' in role {};",
        group.role_name()
    )
}

/// Whether the schema's owner may create roles (`operators add` works);
/// otherwise [`add_sql`] is what a DBA runs.
pub fn owner_may_create_roles(db: &Db) -> bool {
    db.session().is_none_or(|s| s.owner_may_create_roles)
}

pub async fn add(
    db: &Db,
    operator: &Operator,
    login: &str,
    group: Group,
    verifier: &str,
) -> Result<Added> {
    db.require(Action::OperatorsManage)?;
    let mut tx = db.write().await?;
    sqlx::query_scalar!(
        r#"select creditdesk.add_operator($1, $2, $3, $4) as "answer!""#,
        login,
        group.role_name(),
        verifier,
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    tx.commit().await?;
    Ok(Added {
        login: login.to_owned(),
        role: group.label().to_owned(),
    })
}

pub async fn set_role(
    db: &Db,
    operator: &Operator,
    login: &str,
    group: Group,
    reason: Option<&Reason>,
) -> Result<Added> {
    db.require(Action::OperatorsManage)?;
    let mut tx = db.write().await?;
    sqlx::query_scalar!(
        r#"select creditdesk.set_operator_role($1, $2, $3, $4) as "answer!""#,
        login,
        group.role_name(),
        reason.map(Reason::as_str),
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    tx.commit().await?;
    Ok(Added {
        login: login.to_owned(),
        role: group.label().to_owned(),
    })
}

/// NOLOGIN: the login stays, for the history that names it.
pub async fn disable(db: &Db, operator: &Operator, login: &str, reason: &Reason) -> Result<()> {
    db.require(Action::OperatorsManage)?;
    let mut tx = db.write().await?;
    sqlx::query_scalar!(
        r#"select creditdesk.disable_operator($1, $2, $3) as "answer!""#,
        login,
        reason.as_str(),
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    tx.commit().await?;
    Ok(())
}

/// Thresholds and other settings, as stored.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub value: i64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
}

pub async fn settings(db: &Db) -> Result<Vec<Setting>> {
    let mut tx = db.read().await?;
    let rows = sqlx::query_as!(
        Setting,
        r#"select key as "key!", value as "value!", "updatedAt" as "updated_at!",
                  "updatedBy" as updated_by
           from creditdesk.current_settings order by key"#
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    tx.finish().await?;
    Ok(rows)
}

/// Changes a setting (admins only), audited with the old and new value.
pub async fn set_setting(
    db: &Db,
    operator: &Operator,
    key: &str,
    value: i64,
    reason: &Reason,
) -> Result<()> {
    db.require(Action::SettingsChange)?;
    let mut tx = db.write().await?;
    sqlx::query_scalar!(
        r#"select creditdesk.set_setting($1, $2, $3, $4) as "answer!""#,
        key,
        value,
        reason.as_str(),
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_matches_rfc_7914_test_vector() {
        // RFC 7914 §11, PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1.
        let out = pbkdf2_sha256(b"passwd", b"salt", 1);
        assert_eq!(out[..8], [0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f]);
    }

    #[test]
    fn verifiers_have_postgres_format() {
        let v = scram_verifier("hunter22");
        assert!(v.starts_with("SCRAM-SHA-256$4096:"), "{v}");
        assert!(!v.contains("hunter22"));
        assert_ne!(v, scram_verifier("hunter22"), "a fresh salt each time");
    }

    #[test]
    fn logins() {
        assert_eq!(parse_login(" ana.lopez "), Ok("ana.lopez".to_owned()));
        for bad in [
            "",
            "a",
            "Ana",
            "1ana",
            "an a",
            "ana\u{200b}",
            &"a".repeat(64),
        ] {
            assert!(parse_login(bad).is_err(), "{bad:?}");
        }
        let p = generate_password();
        assert_eq!(p.len(), 24);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
