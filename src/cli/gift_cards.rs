//! `creditdesk gift-cards issue|list|show|revoke|redeem|packs`
//!
//! `issue` is the one command that prints full codes (they must be handed
//! out); `show --reveal` prints one and records that it did. Everything else
//! shows codes masked to their last four characters.

use std::path::Path;

use clap::{ArgGroup, Args, Subcommand};
use serde::Serialize;

use super::context::{Ctx, opt, when};
use super::output::{self, Cell, Format, Table, both, csv, human};
use crate::db::Change;
use crate::db::gift_cards::{
    self, GiftCard, GiftCardFilter, IssuedCard, KeyedIssue, RecipientEmail, parse_code_suffix,
};
use crate::domain::amounts::parse_count;
use crate::domain::gift_card::GiftCardStatus;
use crate::domain::gift_card_issue::{IssueFields, issued_summary};
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};
use crate::files::CodesFile;

#[derive(Debug, Subcommand)]
pub enum GiftCardsCmd {
    /// Issue active gift cards, one or up to 10000 at once. The only time
    /// full codes are printed: save them (--output FILE, --csv or --json)
    Issue(IssueArgs),
    /// Gift cards newest first, codes masked
    List {
        /// pending, active, redeemed, expired or revoked, as shown (expired
        /// includes active cards past their date)
        #[arg(long)]
        status: Option<String>,
        /// Only cards for this recipient email (any case)
        #[arg(long)]
        recipient: Option<String>,
        /// Only codes ending with these characters (the unmasked tail)
        #[arg(long)]
        code_suffix: Option<String>,
        #[arg(long, default_value = "50")]
        limit: String,
    },
    /// One gift card, code masked
    Show {
        /// The code, any case, with or without dashes
        code: String,
        /// Print the full code (recorded in the audit log; refused with --read-only)
        #[arg(long)]
        reveal: bool,
    },
    /// Revoke a pending or active card (a redeemed one needs a balance adjustment)
    Revoke {
        code: String,
        /// Why: stored on the card and in the audit log
        #[arg(long)]
        reason: String,
    },
    /// Redeem a card for a user: its credits go to the user's balance
    Redeem {
        code: String,
        /// A numeric id or an email
        #[arg(long)]
        user: String,
    },
    /// The credit packs cards can be issued from (--pack NAME)
    Packs,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("value").required(true).args(["credits", "pack"])))]
pub struct IssueArgs {
    /// Credits on each card (with --price)
    #[arg(long, allow_hyphen_values = true, requires = "price")]
    credits: Option<String>,
    /// Price of each card, like 9.99 (with --credits)
    #[arg(
        long,
        allow_hyphen_values = true,
        requires = "credits",
        conflicts_with = "pack"
    )]
    price: Option<String>,
    /// Use a credit pack's credits and price (any case; see `gift-cards packs`)
    #[arg(long)]
    pack: Option<String>,
    /// How many cards, 1 to 10000
    #[arg(long, default_value = "1", allow_hyphen_values = true)]
    count: String,
    /// The recipient's email
    #[arg(long)]
    recipient: Option<String>,
    /// When the cards expire: 2026-12-31, 2026-12-31 18:00 (UTC), RFC 3339, +90d
    #[arg(long, conflicts_with = "expires_in", allow_hyphen_values = true)]
    expires_at: Option<String>,
    /// How long the cards last, like 90d or 52w
    #[arg(long, allow_hyphen_values = true)]
    expires_in: Option<String>,
    /// A note for the audit log, e.g. the campaign
    #[arg(long)]
    reason: Option<String>,
    /// Write the codes as CSV to this new file (mode 0600; never overwritten)
    /// instead of printing them
    #[arg(long)]
    output: Option<String>,
    /// Retrying with the same key issues nothing new: it answers with the
    /// cards the first call made (codes masked)
    #[arg(long)]
    idempotency_key: Option<String>,
    /// With --idempotency-key, on a retry: show the first call's codes again
    /// (a reveal, recorded in the audit log)
    #[arg(long, requires = "idempotency_key")]
    reveal: bool,
}

impl GiftCardsCmd {
    /// Prints a list (so `--csv` applies): `issue` prints the codes unless
    /// they go to a file.
    pub(super) fn prints_list(&self) -> bool {
        match self {
            GiftCardsCmd::List { .. } | GiftCardsCmd::Packs => true,
            GiftCardsCmd::Issue(args) => args.output.is_none(),
            _ => false,
        }
    }
}

pub async fn run(ctx: &Ctx, cmd: &GiftCardsCmd) -> Result<()> {
    match cmd {
        GiftCardsCmd::Issue(args) => issue(ctx, args).await,
        GiftCardsCmd::List {
            status,
            recipient,
            code_suffix,
            limit,
        } => {
            let filter = GiftCardFilter {
                status: status.as_deref().map(GiftCardStatus::parse).transpose()?,
                recipient: recipient
                    .as_deref()
                    .map(RecipientEmail::parse)
                    .transpose()?,
                code_suffix: code_suffix.as_deref().map(parse_code_suffix).transpose()?,
                before: None,
                limit: i64::from(parse_count("limit", limit, 10_000)?),
            };
            let cards = gift_cards::list(&ctx.db, &filter).await?;
            output::list(ctx.format, &cards, &cards_table(&cards))
        }
        GiftCardsCmd::Show { code, reveal } => {
            if *reveal {
                let full = gift_cards::reveal(&ctx.db, &ctx.operator, code).await?;
                let card = gift_cards::show(&ctx.db, &full).await?;
                let text = describe(&card, &full, "  (revealed: recorded in the audit log)");
                output::record(
                    ctx.format,
                    &Revealed {
                        code: full,
                        card: &card,
                    },
                    &text,
                )
            } else {
                let card = gift_cards::show(&ctx.db, code).await?;
                output::record(ctx.format, &card, &describe(&card, &card.code_masked, ""))
            }
        }
        GiftCardsCmd::Revoke { code, reason } => {
            let reason = Reason::parse(reason)?;
            let card = gift_cards::revoke(&ctx.db, &ctx.operator, code, &reason).await?;
            output::record(
                ctx.format,
                &card,
                &format!(
                    "revoked gift card {} {} ({} credits): {}",
                    card.id,
                    card.code_masked,
                    card.credits,
                    reason.as_str()
                ),
            )
        }
        GiftCardsCmd::Redeem { code, user } => {
            let user = UserRef::parse(user)?;
            let done = gift_cards::redeem(&ctx.db, &ctx.operator, code, &user).await?;
            output::record(
                ctx.format,
                &done,
                &format!(
                    "redeemed gift card {} {} for {}: +{} credits, balance {} -> {} (entry {})",
                    done.card.id,
                    done.card.code_masked,
                    done.email,
                    done.credits,
                    done.old_balance,
                    done.new_balance,
                    done.entry_id
                ),
            )
        }
        GiftCardsCmd::Packs => {
            let packs = gift_cards::packs(&ctx.db).await?;
            let mut table = Table::new(&["id", "name", "credits", "price", "active"]);
            for p in &packs {
                table.row([
                    Cell::show(p.id),
                    Cell::from(p.name.as_str()),
                    Cell::show(p.credits),
                    Cell::show(p.price),
                    Cell::from(if p.is_active { "yes" } else { "no" }),
                ]);
            }
            output::list(ctx.format, &packs, &table)
        }
    }
}

/// A card with its full code, for `show --reveal --json`.
#[derive(Serialize)]
struct Revealed<'a> {
    code: String,
    #[serde(flatten)]
    card: &'a GiftCard,
}

/// Parses every argument first, creates the output file (so a bad path
/// fails before anything is issued), then issues.
async fn issue(ctx: &Ctx, a: &IssueArgs) -> Result<()> {
    let req = IssueFields {
        count: &a.count,
        pack: a.pack.as_deref(),
        credits: a.credits.as_deref(),
        price: a.price.as_deref(),
        recipient: a.recipient.as_deref(),
        expires_at: a.expires_at.as_deref(),
        expires_in: a.expires_in.as_deref(),
        reason: a.reason.as_deref(),
    }
    .parse(ctx.now)
    .map_err(Error::Invalid)?;
    let file = match a.output.as_deref() {
        Some(p) if p.trim().is_empty() => {
            return Err(Error::invalid("output", "enter a file name"));
        }
        Some(p) => Some(CodesFile::create(Path::new(p))?),
        None => None,
    };
    let issued = match &a.idempotency_key {
        Some(key) => gift_cards::issue_with_key(&ctx.db, &ctx.operator, &req, key).await,
        None => gift_cards::issue(&ctx.db, &ctx.operator, &req)
            .await
            .map(|c| match c {
                Change::Applied(cards) => Change::Applied(KeyedIssue::Issued(cards)),
                Change::Pending(p) => Change::Pending(p),
            }),
    };
    let mut note = "";
    let cards = match issued {
        Ok(Change::Applied(KeyedIssue::Issued(cards))) => cards,
        Ok(Change::Applied(KeyedIssue::Replayed { .. })) if a.reveal => {
            let key = a.idempotency_key.as_deref().unwrap_or_default();
            note = " by the first call with this key: nothing new was issued (shown again: \
                    recorded in the audit log)";
            match gift_cards::reveal_issued(&ctx.db, &ctx.operator, key).await {
                Ok(cards) => cards,
                Err(e) => {
                    if let Some(f) = file {
                        f.discard();
                    }
                    return Err(e);
                }
            }
        }
        Ok(Change::Applied(replay @ KeyedIssue::Replayed { .. })) => {
            if let Some(f) = file {
                f.discard();
            }
            return print_replay(ctx.format, &replay);
        }
        Ok(Change::Pending(request)) => {
            if let Some(f) = file {
                f.discard();
            }
            return output::pending(ctx.format, &request);
        }
        Err(e) => {
            if let Some(f) = file {
                f.discard();
            }
            return Err(e);
        }
    };
    let summary = format!("{}{note}", issued_summary(&cards));
    match file {
        Some(f) => {
            let shown = f.path().display().to_string();
            f.write(&cards)?;
            let saved = Saved {
                count: cards.len(),
                first_id: cards.first().map(|c| c.id),
                last_id: cards.last().map(|c| c.id),
                file: shown.clone(),
            };
            output::record(
                ctx.format,
                &saved,
                &format!("{summary}; codes saved to {shown} (readable by you only)"),
            )
        }
        None => match ctx.format {
            Format::Table => {
                let mut text = issued_table(&cards).render();
                text.push_str(&summary);
                output::record(ctx.format, &cards, &text)
            }
            format => output::list(format, &cards, &issued_table(&cards)),
        },
    }
}

/// A retried issue: which cards the first call made, codes masked.
fn print_replay(format: Format, replay: &KeyedIssue) -> Result<()> {
    let KeyedIssue::Replayed {
        cards,
        issued_at,
        issued_by,
    } = replay
    else {
        return Ok(());
    };
    let mut table = Table::new(&["id", "code", "status", "created"]);
    for c in cards {
        table.row([
            Cell::show(c.id),
            Cell::from(c.code_masked.as_str()),
            Cell::from(c.status.as_str()),
            Cell::Time(c.created_at),
        ]);
    }
    match format {
        Format::Table => {
            let ids = match (cards.first(), cards.last()) {
                (Some(f), Some(l)) if f.id != l.id => format!("ids {}..{}", f.id, l.id),
                (Some(f), _) => format!("id {}", f.id),
                _ => "no cards".to_owned(),
            };
            let mut text = table.render();
            text.push_str(&format!(
                "already issued with this idempotency key: {} card(s) ({ids}) by {issued_by} at {}; \
                 nothing new was issued. Their codes are not shown again: add --reveal to show them \
                 (recorded in the audit log)",
                cards.len(),
                when(*issued_at)
            ));
            output::record(format, replay, &text)
        }
        Format::Json => output::json(replay),
        Format::Csv => output::list(format, cards, &table),
    }
}

/// What `issue --output` prints instead of the codes.
#[derive(Serialize)]
struct Saved {
    count: usize,
    first_id: Option<i32>,
    last_id: Option<i32>,
    file: String,
}

fn issued_table(cards: &[IssuedCard]) -> Table {
    let mut table = Table::with(&[
        both("id"),
        both("code"),
        both("credits"),
        both("price"),
        human("expires"),
        csv("expires_at"),
    ]);
    for c in cards {
        table.row([
            Cell::show(c.id),
            Cell::from(c.code.as_str()),
            Cell::show(c.credits),
            Cell::show(c.price),
            c.expires_at.map_or(Cell::from("never"), Cell::Time),
            Cell::opt(&c.expires_at),
        ]);
    }
    table
}

fn cards_table(cards: &[GiftCard]) -> Table {
    let mut table = Table::with(&[
        both("id"),
        both("code"),
        both("status"),
        both("credits"),
        both("price"),
        both("recipient"),
        human("expires"),
        csv("expires_at"),
        both("created"),
        human("redeemed by"),
        csv("redeemed_by_user_id"),
        csv("redeemed_by_email"),
        csv("redeemed_at"),
    ]);
    for c in cards {
        table.row([
            Cell::show(c.id),
            Cell::from(c.code_masked.as_str()),
            Cell::show(c.status),
            Cell::show(c.credits),
            Cell::show(c.price),
            Cell::opt(&c.recipient_email),
            c.expires_at.map_or(Cell::from("never"), Cell::Time),
            Cell::opt(&c.expires_at),
            Cell::Time(c.created_at),
            Cell::Text(redeemer(c)),
            Cell::opt_show(&c.redeemed_by_user_id),
            Cell::opt(&c.redeemed_by_email),
            Cell::opt(&c.redeemed_at),
        ]);
    }
    table
}

fn redeemer(c: &GiftCard) -> String {
    match (&c.redeemed_by_email, c.redeemed_by_user_id) {
        (Some(email), _) => email.clone(),
        (None, Some(id)) => format!("#{id}"),
        (None, None) => "-".to_owned(),
    }
}

/// One card as text; `code` is the masked code, or the full one when revealed.
fn describe(c: &GiftCard, code: &str, note: &str) -> String {
    let status = if c.status == c.stored_status {
        c.status.to_string()
    } else {
        format!("{} (stored as {})", c.status, c.stored_status)
    };
    let mut lines = vec![
        format!("gift card {}  {code}{note}", c.id),
        format!("status     {status}"),
        format!("credits    {}", c.credits),
        format!("price      {}", c.price),
        format!("pack       {}", opt(&c.pack_name)),
        format!("recipient  {}", opt(&c.recipient_email)),
        format!(
            "expires    {}",
            c.expires_at.map(when).unwrap_or_else(|| "never".to_owned())
        ),
        format!("created    {}", when(c.created_at)),
    ];
    if let Some(buyer) = &c.purchased_by_email {
        lines.push(format!("bought by  {buyer}"));
    }
    if let Some(at) = c.redeemed_at {
        lines.push(format!("redeemed   {} by {}", when(at), redeemer(c)));
    }
    if let Some(at) = c.revoked_at {
        lines.push(format!(
            "revoked    {} by {}: {}",
            when(at),
            opt(&c.revoked_by),
            opt(&c.revoke_reason)
        ));
    }
    lines.join("\n")
}
