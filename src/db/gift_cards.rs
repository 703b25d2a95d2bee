//! Gift cards: issuing them (one or ten thousand in one statement), listing,
//! showing, revealing, revoking and redeeming them.
//!
//! A code is a bearer credential, so full codes leave this module in two
//! places only: [`issue`] (they must be handed out) and [`reveal`] (which
//! writes an audit row). Everything else returns [`GiftCard`], which has no
//! field for the full code at all, only `code_masked`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{Change, Db, Tx, infra, users};
use crate::domain::amounts::MAX_CREDITS_AT_ONCE;
use crate::domain::codes::{self, GiftCardCode, mask_code};
use crate::domain::gift_card::{GiftCardStatus, effective_status};
use crate::domain::operator::Operator;
use crate::domain::role::Action;
use crate::domain::text::{Reason, is_bidi_control, sanitize_cow};
use crate::domain::user_ref::UserRef;
use crate::domain::{InvalidInput, Refusal};
use crate::error::{Error, Result};

/// The most cards one `issue` call creates.
pub const MAX_ISSUE: u32 = 10_000;

/// The most cards one `list` call returns.
pub const MAX_LIST: i64 = 10_000;

/// How many of a code's last letters and digits lists show (and search).
pub const CODE_TAIL: usize = 4;

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
/// (dashes and spaces are ignored), 1 to [`CODE_TAIL`] of them. (More would
/// search the hidden part of codes; a whole code opens its card.)
pub fn parse_code_suffix(s: &str) -> Result<String, InvalidInput> {
    const F: &str = "code-suffix";
    const TOO_LONG: &str = "lists show a code's last 4 characters: search by 1 to 4 of them, \
                            or give the whole code";
    if s.len() > MAX_CODE_INPUT_BYTES {
        return Err(InvalidInput::new(F, TOO_LONG));
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
    if key.len() > CODE_TAIL {
        return Err(InvalidInput::new(F, TOO_LONG));
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

/// A row as selected (the view has only the masked code); becomes a
/// [`GiftCard`] right away.
struct Row {
    id: i32,
    code_masked: String,
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
            // Stored codes are untrusted text; this goes to a terminal.
            code_masked: sanitize_cow(&self.code_masked).into_owned(),
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
    let packs = sqlx::query_as!(
        CreditPack,
        r#"select id as "id!", name as "name!", credits as "credits!", price as "price!",
                  "isActive" as "is_active!"
           from creditdesk.credit_packs order by "isActive" desc, price, credits, id"#
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    tx.finish().await?;
    Ok(packs)
}

// ---------------------------------------------------------------------------
// Issuing
// ---------------------------------------------------------------------------

/// Issues `count` active cards in one transaction (`creditdesk.issue_gift_cards`:
/// one INSERT for the whole batch, codes from PostgreSQL's cryptographic
/// random source, one audit row that records ids, never codes). Above the
/// approval threshold the issue waits as a request instead. Returns the
/// cards with their full codes, in id order.
pub async fn issue(
    db: &Db,
    operator: &Operator,
    req: &IssueRequest,
) -> Result<Change<Vec<IssuedCard>>> {
    check_request(req, Utc::now())?;
    db.require(Action::GiftCardIssue)?;
    let (pack, credits, price) = match &req.value {
        CardValue::Pack(name) => (Some(name.as_str()), None, None),
        CardValue::Custom { credits, price } => (None, Some(*credits), Some(*price)),
    };
    let count = i32::try_from(req.count).unwrap_or(i32::MAX);
    let mut tx = db.write().await?;
    let answer = sqlx::query_scalar!(
        r#"select creditdesk.issue_gift_cards($1, $2, $3, $4, $5, $6, $7, $8) as "answer!""#,
        count,
        pack,
        credits,
        price,
        req.recipient.as_ref().map(RecipientEmail::as_str),
        req.expires_at,
        req.reason.as_ref().map(Reason::as_str),
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let change = match super::approvals::pending_in(&answer) {
        Some(pending) => Change::Pending(pending?),
        None => Change::Applied(issued_from(&answer)?),
    };
    tx.commit().await?;
    Ok(change)
}

/// The cards `creditdesk.issue_now` answered with (shared values once,
/// each card's id, code and time), as [`IssuedCard`]s in id order.
pub(super) fn issued_from(answer: &serde_json::Value) -> Result<Vec<IssuedCard>> {
    #[derive(serde::Deserialize)]
    struct Issued {
        cards: Vec<Card>,
        credits: i32,
        price: Decimal,
        credit_pack_id: Option<i32>,
        recipient_email: Option<String>,
        expires_at: Option<DateTime<Utc>>,
    }
    #[derive(serde::Deserialize)]
    struct Card {
        id: i32,
        code: String,
        created_at: DateTime<Utc>,
    }
    let issued: Issued = serde_json::from_value(answer.clone()).map_err(|e| {
        Error::Infrastructure(format!("the database answered in an unexpected form: {e}"))
    })?;
    let mut cards: Vec<IssuedCard> = issued
        .cards
        .into_iter()
        .map(|c| IssuedCard {
            id: c.id,
            code: c.code,
            credits: issued.credits,
            price: issued.price,
            credit_pack_id: issued.credit_pack_id,
            recipient_email: issued.recipient_email.clone(),
            expires_at: issued.expires_at,
            created_at: c.created_at,
        })
        .collect();
    cards.sort_by_key(|c| c.id);
    Ok(cards)
}

/// A card a keyed issue made, as a retry shows it: no full code (showing it
/// again is a reveal: [`reveal_issued`]).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct IssuedCardRef {
    pub id: i32,
    pub code_masked: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// What an issue with an idempotency key did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum KeyedIssue {
    /// The cards, with their full codes: the one time they are shown.
    Issued(Vec<IssuedCard>),
    /// An earlier call with this key issued these; nothing new was.
    Replayed {
        cards: Vec<IssuedCardRef>,
        issued_at: DateTime<Utc>,
        issued_by: String,
    },
}

/// [`issue`] with an idempotency key (`creditdesk.issue_gift_cards` with
/// its ninth argument): a retry after a lost connection issues nothing new
/// and answers with the cards the first call made, codes masked. The same
/// key for another issue (count, value, recipient) is refused; the expiry
/// is the first call's. Above the threshold the key names one pending
/// request, which the retry answers with.
pub async fn issue_with_key(
    db: &Db,
    operator: &Operator,
    req: &IssueRequest,
    key: &str,
) -> Result<Change<KeyedIssue>> {
    check_request(req, Utc::now())?;
    let key = crate::domain::text::check_free_text("idempotency-key", key, 200)?;
    if key.is_empty() {
        return Err(Error::invalid("idempotency-key", "must not be empty"));
    }
    db.require(Action::GiftCardIssue)?;
    let (pack, credits, price) = match &req.value {
        CardValue::Pack(name) => (Some(name.as_str()), None, None),
        CardValue::Custom { credits, price } => (None, Some(*credits), Some(*price)),
    };
    let count = i32::try_from(req.count).unwrap_or(i32::MAX);
    let mut tx = db.write().await?;
    let answer = sqlx::query_scalar!(
        r#"select creditdesk.issue_gift_cards($1, $2, $3, $4, $5, $6, $7, $8, $9) as "answer!""#,
        count,
        pack,
        credits,
        price,
        req.recipient.as_ref().map(RecipientEmail::as_str),
        req.expires_at,
        req.reason.as_ref().map(Reason::as_str),
        operator.as_str(),
        key.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let change = if let Some(pending) = super::approvals::pending_in(&answer) {
        Change::Pending(pending?)
    } else if answer.get("replayed").and_then(|r| r.as_bool()) == Some(true) {
        #[derive(serde::Deserialize)]
        struct Replay {
            cards: Vec<IssuedCardRef>,
            issued_at: DateTime<Utc>,
            issued_by: String,
        }
        let r: Replay = serde_json::from_value(answer).map_err(|e| {
            Error::Infrastructure(format!("the database answered in an unexpected form: {e}"))
        })?;
        Change::Applied(KeyedIssue::Replayed {
            cards: r.cards,
            issued_at: r.issued_at,
            issued_by: r.issued_by,
        })
    } else {
        Change::Applied(KeyedIssue::Issued(issued_from(&answer)?))
    };
    tx.commit().await?;
    Ok(change)
}

/// The full codes of the cards a keyed issue made, shown again
/// (`creditdesk.reveal_issued_gift_cards`): a reveal, recorded in the audit
/// log (one row for the issue, listing the cards) before the codes leave.
pub async fn reveal_issued(db: &Db, operator: &Operator, key: &str) -> Result<Vec<IssuedCard>> {
    db.require(Action::GiftCardReveal)?;
    let mut tx = db.write().await?;
    let answer = sqlx::query_scalar!(
        r#"select creditdesk.reveal_issued_gift_cards($1, $2) as "answer!""#,
        key,
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let cards = issued_from(&answer)?;
    tx.commit().await?;
    Ok(cards)
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
        r#"select g.id as "id!", g."codeMasked" as "code_masked!", g.status::text as "status!",
                  g.credits as "credits!", g.price as "price!",
                  g."creditPackId" as credit_pack_id, p.name as "pack_name?",
                  g."recipientEmail" as recipient_email, g."purchasedByEmail" as purchased_by_email,
                  g."redeemedByUserId" as redeemed_by_user_id, u.email as "redeemed_by_email?",
                  g."redeemedAt" as redeemed_at, g."expiresAt" as expires_at,
                  g."createdAt" as "created_at!", g."revokedAt" as revoked_at,
                  g."revokedBy" as revoked_by, g."revokeReason" as revoke_reason
           from creditdesk.gift_cards g
           left join creditdesk.credit_packs p on p.id = g."creditPackId"
           left join creditdesk.users u on u.id = g."redeemedByUserId"
           where ($1::text is null
                  or (case when g.status in ('pending', 'active') and g."expiresAt" <= $2
                           then 'expired' else g.status::text end) = $1)
             and ($3::text is null or lower(g."recipientEmail") = $3)
             and ($4::text is null or g."codeTail" like '%' || $4)
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
    let id = find(&mut tx, &lookup).await?;
    let card = load(&mut tx, id).await?;
    tx.finish().await?;
    Ok(card)
}

/// The full code of a card, for an operator who must read it to a customer
/// (`creditdesk.reveal_gift_card`, which writes the `gift_card.reveal` audit
/// row first: a read-only session can't record it, so it gets no code).
pub async fn reveal(db: &Db, operator: &Operator, card: impl Into<CardKey>) -> Result<String> {
    let lookup = Lookup::parse(card.into())?;
    db.require(Action::GiftCardReveal)?;
    let mut tx = db.write().await?;
    let id = find(&mut tx, &lookup).await?;
    let code = sqlx::query_scalar!(
        r#"select creditdesk.reveal_gift_card($1, $2) as "code!""#,
        id,
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    tx.commit().await?;
    Ok(code)
}

/// The id of the card a lookup names. By code, through
/// `creditdesk.find_gift_card`, which compares full codes without ever
/// returning one; the exact reading wins over the Crockford one.
async fn find(tx: &mut Tx, lookup: &Lookup) -> Result<i32> {
    let id = match lookup {
        Lookup::Code(code) => {
            sqlx::query_scalar!(r#"select creditdesk.find_gift_card($1) as id"#, &code.keys)
                .fetch_one(tx.conn())
                .await
                .map_err(infra)?
        }
        Lookup::Id(id) => sqlx::query_scalar!(
            r#"select id as "id!" from creditdesk.gift_cards where id = $1"#,
            id
        )
        .fetch_optional(tx.conn())
        .await
        .map_err(infra)?,
    };
    id.ok_or_else(|| lookup.not_found())
}

async fn load(tx: &mut Tx, id: i32) -> Result<GiftCard> {
    let row = sqlx::query_as!(
        Row,
        r#"select g.id as "id!", g."codeMasked" as "code_masked!", g.status::text as "status!",
                  g.credits as "credits!", g.price as "price!",
                  g."creditPackId" as credit_pack_id, p.name as "pack_name?",
                  g."recipientEmail" as recipient_email, g."purchasedByEmail" as purchased_by_email,
                  g."redeemedByUserId" as redeemed_by_user_id, u.email as "redeemed_by_email?",
                  g."redeemedAt" as redeemed_at, g."expiresAt" as expires_at,
                  g."createdAt" as "created_at!", g."revokedAt" as revoked_at,
                  g."revokedBy" as revoked_by, g."revokeReason" as revoke_reason
           from creditdesk.gift_cards g
           left join creditdesk.credit_packs p on p.id = g."creditPackId"
           left join creditdesk.users u on u.id = g."redeemedByUserId"
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

/// Revokes a pending or active card, recording who and why
/// (`creditdesk.revoke_gift_card`, under the card's row lock).
pub async fn revoke(
    db: &Db,
    operator: &Operator,
    card: impl Into<CardKey>,
    reason: &Reason,
) -> Result<GiftCard> {
    let lookup = Lookup::parse(card.into())?;
    db.require(Action::GiftCardRevoke)?;
    let mut tx = db.write().await?;
    let id = find(&mut tx, &lookup).await?;
    sqlx::query_scalar!(
        r#"select creditdesk.revoke_gift_card($1, $2, $3) as "answer!""#,
        id,
        reason.as_str(),
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let revoked = load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(revoked)
}

/// Redeems a card for a user, exactly once (`creditdesk.redeem_gift_card`:
/// the card's row locked, the rules checked, the card marked redeemed and
/// its credits booked as a `gift_card` entry, with the audit row).
pub async fn redeem(
    db: &Db,
    operator: &Operator,
    card: impl Into<CardKey>,
    user: &UserRef,
) -> Result<GiftCardRedemption> {
    let lookup = Lookup::parse(card.into())?;
    db.require(Action::GiftCardRedeem)?;
    let mut tx = db.write().await?;
    let target = users::resolve(&mut tx, user).await?;
    let id = find(&mut tx, &lookup).await?;
    let answer = sqlx::query_scalar!(
        r#"select creditdesk.redeem_gift_card($1, $2, $3) as "answer!""#,
        id,
        target.id,
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    #[derive(serde::Deserialize)]
    struct Redeemed {
        credits: i32,
        entry_id: i32,
        old_balance: i32,
        new_balance: i32,
    }
    let done: Redeemed = serde_json::from_value(answer).map_err(|e| {
        Error::Infrastructure(format!("the database answered in an unexpected form: {e}"))
    })?;
    let card = load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(GiftCardRedemption {
        card,
        user_id: target.id,
        email: target.email,
        credits: done.credits,
        entry_id: done.entry_id,
        old_balance: done.old_balance,
        new_balance: done.new_balance,
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
        assert_eq!(parse_code_suffix("k-mn"), Ok("KMN".to_owned()));
        // The hidden part of a code is not searchable: only what lists show.
        for bad in [
            "",
            " - ",
            "AB%",
            "A_B",
            "'; drop table users; --",
            "EFGH-JKMN",
        ] {
            assert_eq!(parse_code_suffix(bad).unwrap_err().field, "code-suffix");
        }
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
