//! Gift cards: issuing them (one or ten thousand in one statement), listing,
//! showing, revealing, revoking and redeeming them.
//!
//! A code is a bearer credential, so full codes leave this module in two
//! places only: [`issue`] (they must be handed out) and [`reveal`] (which
//! writes an audit row). Everything else returns [`GiftCard`], which has no
//! field for the full code at all, only `code_masked`.

use super::{Change, Db, Tx};
use chrono::{DateTime, SubsecRound, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::audit::{self, AuditRecord};
use super::infra;
use super::ledger::{self, NewEntry};
use super::users;
use crate::domain::amounts::MAX_CREDITS_AT_ONCE;
use crate::domain::codes::{self, GiftCardCode, mask_code};
use crate::domain::gift_card::{
    GiftCardStatus, check_redeemable, check_revocable, effective_status,
};
use crate::domain::ledger::EntryType;
use crate::domain::operator::Operator;
use crate::domain::text::{Reason, is_bidi_control};
use crate::domain::user_ref::UserRef;
use crate::domain::{InvalidInput, Refusal};
use crate::error::{Error, Result};

/// The most cards one `issue` call creates.
pub const MAX_ISSUE: u32 = 10_000;

/// The most cards one `list` call returns.
pub const MAX_LIST: i64 = 10_000;

/// How often a batch is regenerated after a code collision. At 100 bits a
/// single collision is astronomically unlikely; a second one means something
/// other than chance is wrong.
const ISSUE_ATTEMPTS: usize = 3;

/// Typed codes longer than this are refused before any work.
const MAX_CODE_INPUT_BYTES: usize = 256;

// ---------------------------------------------------------------------------
// Input types
// ---------------------------------------------------------------------------

/// A recipient's email: the same rules as an email naming a user, stored
/// lower-case (the recipient index is on `lower("recipientEmail")`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientEmail(String);

impl RecipientEmail {
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        const F: &str = "recipient";
        if !s.contains('@') {
            return Err(InvalidInput::new(F, "an email looks like name@example.com"));
        }
        match UserRef::parse(s) {
            Ok(UserRef::Email(email)) => Ok(Self(email)),
            Ok(UserRef::Id(_)) => Err(InvalidInput::new(F, "an email looks like name@example.com")),
            Err(e) => Err(InvalidInput::new(F, e.message)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The end of a code, as shown unmasked in lists: letters and digits only
/// (dashes and spaces are ignored), 1 to 20 of them.
pub fn parse_code_suffix(s: &str) -> Result<String, InvalidInput> {
    const F: &str = "code-suffix";
    if s.len() > MAX_CODE_INPUT_BYTES {
        return Err(InvalidInput::new(F, "must be 1 to 20 letters or digits"));
    }
    let key = codes::lookup_key(s);
    if key.is_empty() {
        return Err(InvalidInput::new(
            F,
            "enter the last characters of a code, like JKMN",
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(InvalidInput::new(F, "may contain only letters and digits"));
    }
    if key.len() > GiftCardCode::SYMBOLS {
        return Err(InvalidInput::new(F, "must be 1 to 20 letters or digits"));
    }
    Ok(key)
}

/// A code the operator typed, ready to look up: the keys it may be stored
/// under, and a masked form for messages.
struct CodeLookup {
    /// `lookup_key(input)` first, then the Crockford reading (O as 0, I and
    /// L as 1) when that differs. An exact match wins.
    keys: Vec<String>,
    masked: String,
}

impl CodeLookup {
    fn parse(input: &str) -> Result<Self, InvalidInput> {
        const F: &str = "code";
        if input.len() > MAX_CODE_INPUT_BYTES {
            return Err(InvalidInput::new(
                F,
                "is too long for a gift card code (20 letters and digits)",
            ));
        }
        if input
            .chars()
            .any(|c| (c.is_control() && !c.is_whitespace()) || is_bidi_control(c))
        {
            return Err(InvalidInput::new(
                F,
                "contains control or invisible characters",
            ));
        }
        let exact = codes::lookup_key(input);
        if exact.is_empty() {
            return Err(InvalidInput::new(F, "enter a gift card code"));
        }
        let mut keys = vec![exact];
        if let Ok(canonical) = GiftCardCode::parse(input) {
            let key = canonical.lookup_key();
            if key != keys[0] {
                keys.push(key);
            }
        }
        let masked = mask_code(input.trim());
        Ok(Self { keys, masked })
    }

    fn not_found(&self) -> Error {
        Refusal::NotFound {
            what: "gift card",
            key: self.masked.clone(),
        }
        .into()
    }
}

/// Which card an action is about: the code a customer reads out, or the id
/// of the row an operator picked in a list (who never sees the full code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardKey {
    Code(String),
    Id(i32),
}

impl From<&str> for CardKey {
    fn from(code: &str) -> Self {
        CardKey::Code(code.to_owned())
    }
}

impl From<&String> for CardKey {
    fn from(code: &String) -> Self {
        CardKey::Code(code.clone())
    }
}

enum Lookup {
    Code(CodeLookup),
    Id(i32),
}

impl Lookup {
    fn parse(key: CardKey) -> Result<Self> {
        Ok(match key {
            CardKey::Code(code) => Lookup::Code(CodeLookup::parse(&code)?),
            CardKey::Id(id) => Lookup::Id(id),
        })
    }

    fn not_found(&self) -> Error {
        match self {
            Lookup::Code(code) => code.not_found(),
            Lookup::Id(id) => Refusal::NotFound {
                what: "gift card",
                key: format!("#{id}"),
            }
            .into(),
        }
    }
}

/// What each issued card is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardValue {
    Custom {
        credits: i32,
        price: Decimal,
    },
    /// A credit pack by name, any case; it must be active.
    Pack(String),
}

#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub value: CardValue,
    /// 1 to [`MAX_ISSUE`].
    pub count: u32,
    pub recipient: Option<RecipientEmail>,
    /// Must be in the future.
    pub expires_at: Option<DateTime<Utc>>,
    /// Optional note for the audit log (e.g. the campaign).
    pub reason: Option<Reason>,
}

#[derive(Debug, Clone, Default)]
pub struct GiftCardFilter {
    /// The status as shown: `Expired` includes pending and active cards past
    /// their date, and `Active`/`Pending` exclude them.
    pub status: Option<GiftCardStatus>,
    pub recipient: Option<RecipientEmail>,
    /// From [`parse_code_suffix`].
    pub code_suffix: Option<String>,
    /// Keyset: cards older than this one (from [`GiftCard::cursor`]).
    pub before: Option<ListCursor>,
    /// 1 to [`MAX_LIST`]; 0 means the default of 50.
    pub limit: i64,
}

/// A position in the list, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCursor {
    pub created_at: DateTime<Utc>,
    pub id: i32,
}

// ---------------------------------------------------------------------------
// Output types
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CreditPack {
    pub id: i32,
    pub name: String,
    pub credits: i32,
    pub price: Decimal,
    pub is_active: bool,
}

/// A card just issued, with its FULL code: the one time codes are shown.
/// `Debug` masks the code so a stray `{:?}` in a log doesn't leak it.
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct IssuedCard {
    pub id: i32,
    pub code: String,
    pub credits: i32,
    pub price: Decimal,
    pub credit_pack_id: Option<i32>,
    pub recipient_email: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCard")
            .field("id", &self.id)
            .field("code", &mask_code(&self.code))
            .field("credits", &self.credits)
            .field("price", &self.price)
            .field("credit_pack_id", &self.credit_pack_id)
            .field("recipient_email", &self.recipient_email)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A card as lists and screens show it. There is deliberately no field for
/// the full code.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GiftCard {
    pub id: i32,
    pub code_masked: String,
    /// What to show: a pending or active card past its date is expired.
    #[serde(serialize_with = "status_label")]
    pub status: GiftCardStatus,
    /// What the database holds.
    #[serde(serialize_with = "status_label")]
    pub stored_status: GiftCardStatus,
    pub credits: i32,
    pub price: Decimal,
    pub credit_pack_id: Option<i32>,
    pub pack_name: Option<String>,
    pub recipient_email: Option<String>,
    pub purchased_by_email: Option<String>,
    pub redeemed_by_user_id: Option<i32>,
    pub redeemed_by_email: Option<String>,
    pub redeemed_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
}

impl GiftCard {
    pub fn cursor(&self) -> ListCursor {
        ListCursor {
            created_at: self.created_at,
            id: self.id,
        }
    }
}

fn status_label<S: serde::Serializer>(s: &GiftCardStatus, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.as_str())
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GiftCardRedemption {
    pub card: GiftCard,
    pub user_id: i32,
    pub email: String,
    pub credits: i32,
    pub entry_id: i32,
    pub old_balance: i32,
    pub new_balance: i32,
}

/// A row as selected; becomes a [`GiftCard`] right away, masking the code.
struct Row {
    id: i32,
    code: String,
    status: String,
    credits: i32,
    price: Decimal,
    credit_pack_id: Option<i32>,
    pack_name: Option<String>,
    recipient_email: Option<String>,
    purchased_by_email: Option<String>,
    redeemed_by_user_id: Option<i32>,
    redeemed_by_email: Option<String>,
    redeemed_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_by: Option<String>,
    revoke_reason: Option<String>,
}

fn stored_status(label: &str) -> Result<GiftCardStatus> {
    GiftCardStatus::parse(label)
        .map_err(|_| Error::Infrastructure(format!("unknown gift card status {label:?}")))
}

impl Row {
    fn into_card(self, now: DateTime<Utc>) -> Result<GiftCard> {
        let stored = stored_status(&self.status)?;
        Ok(GiftCard {
            id: self.id,
            code_masked: mask_code(&self.code),
            status: effective_status(stored, self.expires_at, now),
            stored_status: stored,
            credits: self.credits,
            price: self.price,
            credit_pack_id: self.credit_pack_id,
            pack_name: self.pack_name,
            recipient_email: self.recipient_email,
            purchased_by_email: self.purchased_by_email,
            redeemed_by_user_id: self.redeemed_by_user_id,
            redeemed_by_email: self.redeemed_by_email,
            redeemed_at: self.redeemed_at,
            expires_at: self.expires_at,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
            revoked_by: self.revoked_by,
            revoke_reason: self.revoke_reason,
        })
    }
}

// ---------------------------------------------------------------------------
// Credit packs
// ---------------------------------------------------------------------------

/// Every credit pack, active ones first, cheapest first.
pub async fn packs(db: &Db) -> Result<Vec<CreditPack>> {
    let mut tx = db.read().await?;
    let packs = all_packs(&mut tx).await?;
    tx.finish().await?;
    Ok(packs)
}

async fn all_packs(tx: &mut Tx) -> Result<Vec<CreditPack>> {
    sqlx::query_as!(
        CreditPack,
        r#"select id, name, credits, price, "isActive" as is_active
           from credit_packs order by "isActive" desc, price, credits, id"#
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)
}

/// The active pack named `name` (any case), or a refusal naming the active ones.
async fn active_pack(tx: &mut Tx, name: &str) -> Result<CreditPack> {
    let all = all_packs(tx).await?;
    let wanted = name.trim();
    let found = all
        .iter()
        .find(|p| p.name.trim().to_lowercase() == wanted.to_lowercase());
    match found {
        Some(p) if p.is_active => Ok(p.clone()),
        other => Err(Refusal::CreditPackUnavailable {
            name: other.map_or_else(|| wanted.to_owned(), |p| p.name.clone()),
            inactive: other.is_some(),
            active: all
                .iter()
                .filter(|p| p.is_active)
                .map(|p| p.name.clone())
                .collect(),
        }
        .into()),
    }
}

// ---------------------------------------------------------------------------
// Issuing
// ---------------------------------------------------------------------------

/// Issues `count` active cards in one transaction: one INSERT for the whole
/// batch and one audit row (which records ids, never codes). Returns the
/// cards with their full codes, in id order.
pub async fn issue(
    db: &Db,
    operator: &Operator,
    req: &IssueRequest,
) -> Result<Change<Vec<IssuedCard>>> {
    check_request(req, Utc::now())?;
    // The database keeps microseconds; so do the audit row and the answer.
    let req = &IssueRequest {
        expires_at: req.expires_at.map(|t| t.trunc_subsecs(6)),
        ..req.clone()
    };
    let mut attempt = 1;
    loop {
        match issue_once(db, operator, req).await {
            Err(Issue::Collision) if attempt < ISSUE_ATTEMPTS => attempt += 1,
            Err(Issue::Collision) => {
                return Err(Error::Infrastructure(format!(
                    "generated gift card codes collided with existing ones {ISSUE_ATTEMPTS} times: \
                     nothing was issued"
                )));
            }
            Err(Issue::Failed(e)) => return Err(e),
            Ok(cards) => return Ok(Change::Applied(cards)),
        }
    }
}

fn check_request(req: &IssueRequest, now: DateTime<Utc>) -> Result<()> {
    if !(1..=MAX_ISSUE).contains(&req.count) {
        return Err(Error::invalid(
            "count",
            format!("must be between 1 and {MAX_ISSUE}"),
        ));
    }
    if let CardValue::Custom { credits, price } = &req.value {
        if !(1..=MAX_CREDITS_AT_ONCE).contains(credits) {
            return Err(Error::invalid(
                "credits",
                format!("must be between 1 and {MAX_CREDITS_AT_ONCE}"),
            ));
        }
        if price.is_sign_negative() && !price.is_zero() {
            return Err(Error::invalid("price", "must not be negative"));
        }
        if price.normalize().scale() > 2 {
            return Err(Error::invalid(
                "price",
                "must have at most 2 decimal places",
            ));
        }
    }
    if let Some(at) = req.expires_at
        && at <= now
    {
        return Err(Error::invalid("expires-at", "must be in the future"));
    }
    Ok(())
}

enum Issue {
    /// A generated code is already taken: try again with new codes.
    Collision,
    Failed(Error),
}

impl From<Error> for Issue {
    fn from(e: Error) -> Self {
        Issue::Failed(e)
    }
}

fn is_code_collision(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.constraint())
        .is_some_and(|c| matches!(c, "gift_cards_code_key" | "gift_cards_code_lookup_key"))
}

async fn issue_once(
    db: &Db,
    operator: &Operator,
    req: &IssueRequest,
) -> std::result::Result<Vec<IssuedCard>, Issue> {
    let mut tx = db.write().await?;
    let (credits, price, pack) = match &req.value {
        CardValue::Custom { credits, price } => (*credits, *price, None),
        CardValue::Pack(name) => {
            let p = active_pack(&mut tx, name).await?;
            (p.credits, p.price, Some(p))
        }
    };
    let pack_id = pack.as_ref().map(|p| p.id);
    let recipient = req.recipient.as_ref().map(RecipientEmail::as_str);
    let count = req.count as usize; // at most MAX_ISSUE, checked above
    let codes: Vec<String> = codes::generate_many(count)
        .into_iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    // One statement for the whole batch: the codes as an array, the shared
    // values as scalars.
    let inserted = sqlx::query!(
        r#"insert into gift_cards (code, "creditPackId", credits, price, status, "recipientEmail", "expiresAt")
           select t.code, $2::int4, $3::int4, $4::numeric, 'active'::gift_card_status, $5::text, $6::timestamptz
           from unnest($1::text[]) with ordinality as t(code, n)
           order by t.n
           returning id, code, "createdAt" as created_at"#,
        &codes,
        pack_id,
        credits,
        price,
        recipient,
        req.expires_at,
    )
    .fetch_all(tx.conn())
    .await;
    let mut rows = match inserted {
        Ok(rows) => rows,
        Err(e) if is_code_collision(&e) => return Err(Issue::Collision),
        Err(e) => return Err(infra(e).into()),
    };
    rows.sort_by_key(|r| r.id);
    let (first, last) = match (rows.first(), rows.last()) {
        (Some(f), Some(l)) => (f.id, l.id),
        _ => return Err(Error::Infrastructure("the insert returned no cards".into()).into()),
    };
    // Ids are usually consecutive; when another session's inserts
    // interleaved, the range would claim cards that aren't ours, so the
    // ids are listed instead.
    let contiguous = i64::from(last) - i64::from(first) + 1 == rows.len() as i64;
    let mut details = serde_json::json!({
        "count": rows.len(),
        "credits": credits,
        "price": price,
        "pack": pack.as_ref().map(|p| &p.name),
        "credit_pack_id": pack_id,
        "recipient": recipient,
        "expires_at": req.expires_at,
        "first_id": first,
        "last_id": last,
    });
    if !contiguous {
        details["ids"] = rows.iter().map(|r| r.id).collect();
    }
    audit::record(
        &mut tx,
        operator,
        AuditRecord {
            action: "gift_card.issue",
            entity_type: "gift_card",
            entity_id: if first == last {
                first.to_string()
            } else {
                format!("{first}..{last}")
            },
            reason: req.reason.as_ref().map(Reason::as_str),
            details,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| IssuedCard {
            id: r.id,
            code: r.code,
            credits,
            price,
            credit_pack_id: pack_id,
            recipient_email: recipient.map(str::to_owned),
            expires_at: req.expires_at,
            created_at: r.created_at,
        })
        .collect())
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// Cards newest first, codes masked.
pub async fn list(db: &Db, f: &GiftCardFilter) -> Result<Vec<GiftCard>> {
    let now = Utc::now();
    let limit = if f.limit == 0 { 50 } else { f.limit };
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(Error::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIST}"),
        ));
    }
    let (before_at, before_id) = match f.before {
        Some(c) => (c.created_at, c.id),
        None => (DateTime::<Utc>::MAX_UTC, i32::MAX),
    };
    let mut tx = db.read().await?;
    let rows = sqlx::query_as!(
        Row,
        r#"select g.id, g.code, g.status::text as "status!", g.credits, g.price,
                  g."creditPackId" as credit_pack_id, p.name as "pack_name?",
                  g."recipientEmail" as recipient_email, g."purchasedByEmail" as purchased_by_email,
                  g."redeemedByUserId" as redeemed_by_user_id, u.email as "redeemed_by_email?",
                  g."redeemedAt" as redeemed_at, g."expiresAt" as expires_at,
                  g."createdAt" as created_at, g."revokedAt" as revoked_at,
                  g."revokedBy" as revoked_by, g."revokeReason" as revoke_reason
           from gift_cards g
           left join credit_packs p on p.id = g."creditPackId"
           left join users u on u.id = g."redeemedByUserId"
           where ($1::text is null
                  or (case when g.status in ('pending', 'active') and g."expiresAt" <= $2
                           then 'expired' else g.status::text end) = $1)
             and ($3::text is null or lower(g."recipientEmail") = $3)
             and ($4::text is null or replace(replace(g.code, '-', ''), ' ', '') like '%' || $4)
             and (g."createdAt", g.id) < ($5, $6)
           order by g."createdAt" desc, g.id desc
           limit $7"#,
        f.status.map(GiftCardStatus::as_str),
        now,
        f.recipient.as_ref().map(RecipientEmail::as_str),
        f.code_suffix.as_deref(),
        before_at,
        before_id,
        limit,
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    tx.finish().await?;
    rows.into_iter().map(|r| r.into_card(now)).collect()
}

/// One card by its code (any case, with or without dashes) or id, masked.
pub async fn show(db: &Db, card: impl Into<CardKey>) -> Result<GiftCard> {
    let lookup = Lookup::parse(card.into())?;
    let mut tx = db.read().await?;
    let id = find(&mut tx, &lookup).await?.id;
    load(&mut tx, id).await
}

/// The full code of a card, for an operator who must read it to a customer.
/// Writes a `gift_card.reveal` audit row first: a read-only session can't
/// record it, so it gets no code either.
pub async fn reveal(db: &Db, operator: &Operator, card: impl Into<CardKey>) -> Result<String> {
    let lookup = Lookup::parse(card.into())?;
    let mut tx = db.write().await?;
    let found = find(&mut tx, &lookup).await?;
    audit::record(
        &mut tx,
        operator,
        AuditRecord {
            action: "gift_card.reveal",
            entity_type: "gift_card",
            entity_id: found.id.to_string(),
            reason: None,
            details: serde_json::json!({ "code_masked": mask_code(&found.code) }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(found.code)
}

/// The parts of a card the rules look at.
struct Found {
    id: i32,
    code: String,
    status: GiftCardStatus,
    credits: i32,
    expires_at: Option<DateTime<Utc>>,
}

/// Finds a card by id, or by the keys of a typed code preferring the exact
/// one (the expression is the one indexed by `gift_cards_code_lookup_key`).
async fn find(tx: &mut Tx, lookup: &Lookup) -> Result<Found> {
    let row =
        match lookup {
            Lookup::Code(code) => sqlx::query_as!(
                FoundRow,
                r#"select id, code, status::text as "status!", credits, "expiresAt" as expires_at
               from gift_cards
               where replace(replace(code, '-', ''), ' ', '') = any($1::text[])
               order by replace(replace(code, '-', ''), ' ', '') = ($1::text[])[1] desc
               limit 1"#,
                &code.keys,
            )
            .fetch_optional(tx.conn())
            .await,
            Lookup::Id(id) => sqlx::query_as!(
                FoundRow,
                r#"select id, code, status::text as "status!", credits, "expiresAt" as expires_at
               from gift_cards where id = $1"#,
                id,
            )
            .fetch_optional(tx.conn())
            .await,
        }
        .map_err(infra)?
        .ok_or_else(|| lookup.not_found())?;
    row.into_found()
}

struct FoundRow {
    id: i32,
    code: String,
    status: String,
    credits: i32,
    expires_at: Option<DateTime<Utc>>,
}

impl FoundRow {
    fn into_found(self) -> Result<Found> {
        Ok(Found {
            id: self.id,
            code: self.code,
            status: stored_status(&self.status)?,
            credits: self.credits,
            expires_at: self.expires_at,
        })
    }
}

/// Like [`find`], and locks the card's row until the transaction ends, so
/// concurrent revocations and redemptions of one card queue up and each sees
/// what the one before it did.
async fn lock(tx: &mut Tx, lookup: &Lookup) -> Result<Found> {
    let id = find(&mut *tx, lookup).await?.id;
    sqlx::query_as!(
        FoundRow,
        r#"select id, code, status::text as "status!", credits, "expiresAt" as expires_at
           from gift_cards where id = $1 for update"#,
        id
    )
    .fetch_optional(tx.conn())
    .await
    .map_err(infra)?
    .ok_or_else(|| lookup.not_found())?
    .into_found()
}

async fn load(tx: &mut Tx, id: i32) -> Result<GiftCard> {
    let row = sqlx::query_as!(
        Row,
        r#"select g.id, g.code, g.status::text as "status!", g.credits, g.price,
                  g."creditPackId" as credit_pack_id, p.name as "pack_name?",
                  g."recipientEmail" as recipient_email, g."purchasedByEmail" as purchased_by_email,
                  g."redeemedByUserId" as redeemed_by_user_id, u.email as "redeemed_by_email?",
                  g."redeemedAt" as redeemed_at, g."expiresAt" as expires_at,
                  g."createdAt" as created_at, g."revokedAt" as revoked_at,
                  g."revokedBy" as revoked_by, g."revokeReason" as revoke_reason
           from gift_cards g
           left join credit_packs p on p.id = g."creditPackId"
           left join users u on u.id = g."redeemedByUserId"
           where g.id = $1"#,
        id
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    row.into_card(Utc::now())
}

// ---------------------------------------------------------------------------
// Changing
// ---------------------------------------------------------------------------

/// Revokes a pending or active card, recording who and why.
pub async fn revoke(
    db: &Db,
    operator: &Operator,
    card: impl Into<CardKey>,
    reason: &Reason,
) -> Result<GiftCard> {
    let lookup = Lookup::parse(card.into())?;
    let mut tx = db.write().await?;
    let card = lock(&mut tx, &lookup).await?;
    check_revocable(card.status)?;
    sqlx::query!(
        r#"update gift_cards
           set status = 'revoked', "revokedAt" = now(), "revokedBy" = $2, "revokeReason" = $3
           where id = $1"#,
        card.id,
        operator.as_str(),
        reason.as_str(),
    )
    .execute(tx.conn())
    .await
    .map_err(infra)?;
    audit::record(
        &mut tx,
        operator,
        AuditRecord {
            action: "gift_card.revoke",
            entity_type: "gift_card",
            entity_id: card.id.to_string(),
            reason: Some(reason.as_str()),
            details: serde_json::json!({
                "code_masked": mask_code(&card.code),
                "previous_status": card.status.as_str(),
                "credits": card.credits,
            }),
        },
    )
    .await?;
    let revoked = load(&mut tx, card.id).await?;
    tx.commit().await?;
    Ok(revoked)
}

/// Redeems a card for a user, exactly once: the card's row is locked, the
/// rules checked, the card marked redeemed and its credits booked as a
/// `gift_card` ledger entry linked to it, with the audit row, in one
/// transaction.
pub async fn redeem(
    db: &Db,
    operator: &Operator,
    card: impl Into<CardKey>,
    user: &UserRef,
) -> Result<GiftCardRedemption> {
    let lookup = Lookup::parse(card.into())?;
    let mut tx = db.write().await?;
    let target = users::resolve(&mut tx, user).await?;
    let card = lock(&mut tx, &lookup).await?;
    check_redeemable(card.status, card.expires_at, Utc::now())?;
    sqlx::query!(
        r#"update gift_cards
           set status = 'redeemed', "redeemedByUserId" = $2, "redeemedAt" = now()
           where id = $1"#,
        card.id,
        target.id,
    )
    .execute(tx.conn())
    .await
    .map_err(infra)?;
    let masked = mask_code(&card.code);
    let description = format!("gift card {masked} (by {operator})");
    let posted = ledger::post(
        &mut tx,
        &NewEntry {
            description: Some(&description),
            gift_card_id: Some(card.id),
            ..NewEntry::new(target.id, card.credits, EntryType::GiftCard)
        },
    )
    .await?;
    audit::record(
        &mut tx,
        operator,
        AuditRecord {
            action: "gift_card.redeem",
            entity_type: "gift_card",
            entity_id: card.id.to_string(),
            reason: None,
            details: serde_json::json!({
                "code_masked": masked,
                "user_id": target.id,
                "credits": card.credits,
                "entry_id": posted.entry_id,
                "old_balance": posted.old_balance,
                "new_balance": posted.new_balance,
            }),
        },
    )
    .await?;
    let redeemed = load(&mut tx, card.id).await?;
    tx.commit().await?;
    Ok(GiftCardRedemption {
        card: redeemed,
        user_id: target.id,
        email: target.email,
        credits: card.credits,
        entry_id: posted.entry_id,
        old_balance: posted.old_balance,
        new_balance: posted.new_balance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_emails() {
        assert_eq!(
            RecipientEmail::parse(" Ana@Example.COM ").map(|r| r.as_str().to_owned()),
            Ok("ana@example.com".to_owned())
        );
        for bad in ["", "42", "ana", "a@", "a b@c", "a@b\u{1b}"] {
            let e = RecipientEmail::parse(bad).unwrap_err();
            assert_eq!(e.field, "recipient", "{bad:?}");
        }
    }

    #[test]
    fn code_suffixes() {
        assert_eq!(parse_code_suffix(" jkmn "), Ok("JKMN".to_owned()));
        assert_eq!(parse_code_suffix("EFGH-JKMN"), Ok("EFGHJKMN".to_owned()));
        for bad in ["", " - ", "AB%", "A_B", "'; drop table users; --"] {
            assert_eq!(parse_code_suffix(bad).unwrap_err().field, "code-suffix");
        }
        assert!(parse_code_suffix(&"A".repeat(21)).is_err());
    }

    #[test]
    fn code_lookups() {
        let l = CodeLookup::parse("k7qf-9xm2-abcd-efgh-jkmn").unwrap();
        assert_eq!(l.keys, ["K7QF9XM2ABCDEFGHJKMN"]);
        assert_eq!(l.masked, "••••-••••-••••-••••-jkmn");
        // The Crockford reading is tried second.
        let l = CodeLookup::parse("O7QF-9XM2-ABCD-EFGH-JKMN").unwrap();
        assert_eq!(l.keys, ["O7QF9XM2ABCDEFGHJKMN", "07QF9XM2ABCDEFGHJKMN"]);
        // Any stored form is looked up; only empty and control text is refused.
        assert!(CodeLookup::parse("SUMMER_25").is_ok());
        for bad in ["", " - ", "AB\u{1b}CD", "AB\u{202e}CD", &"A".repeat(300)] {
            assert_eq!(CodeLookup::parse(bad).err().map(|e| e.field), Some("code"));
        }
    }

    #[test]
    fn issued_cards_debug_masks_the_code() {
        let card = IssuedCard {
            id: 1,
            code: "K7QF-9XM2-ABCD-EFGH-JKMN".into(),
            credits: 5,
            price: Decimal::new(999, 2),
            credit_pack_id: None,
            recipient_email: None,
            expires_at: None,
            created_at: Utc::now(),
        };
        let dbg = format!("{card:?}");
        assert!(!dbg.contains("K7QF") && dbg.contains("JKMN"), "{dbg}");
    }

    #[test]
    fn requests_are_checked() {
        let now = Utc::now();
        let ok = IssueRequest {
            value: CardValue::Custom {
                credits: 10,
                price: Decimal::new(500, 2),
            },
            count: 1,
            recipient: None,
            expires_at: Some(now + chrono::Duration::days(1)),
            reason: None,
        };
        assert!(check_request(&ok, now).is_ok());
        for (req, field) in [
            (
                IssueRequest {
                    count: 0,
                    ..ok.clone()
                },
                "count",
            ),
            (
                IssueRequest {
                    count: MAX_ISSUE + 1,
                    ..ok.clone()
                },
                "count",
            ),
            (
                IssueRequest {
                    value: CardValue::Custom {
                        credits: 0,
                        price: Decimal::ZERO,
                    },
                    ..ok.clone()
                },
                "credits",
            ),
            (
                IssueRequest {
                    value: CardValue::Custom {
                        credits: 1,
                        price: Decimal::new(-1, 0),
                    },
                    ..ok.clone()
                },
                "price",
            ),
            (
                IssueRequest {
                    value: CardValue::Custom {
                        credits: 1,
                        price: Decimal::new(1234, 3),
                    },
                    ..ok.clone()
                },
                "price",
            ),
            (
                IssueRequest {
                    expires_at: Some(now),
                    ..ok.clone()
                },
                "expires-at",
            ),
        ] {
            let e = check_request(&req, now).unwrap_err();
            assert_eq!(e.field_errors()[0].field, field);
        }
    }
}
