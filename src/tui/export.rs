//! `e` on a list: the whole list (every page, with the filter shown) to a
//! new CSV file in the current directory, readable by its owner only
//! (0600), never overwriting one. Gift-card codes stay masked (the lists
//! only ever hold masked codes), and every cell goes through the CLI's CSV
//! guard (`files::csv_cell`, which `--csv` uses too): controls replaced, a cell a spreadsheet
//! would run as a formula (`=`, `+`, `-`, `@`, tab, CR) prefixed with `'`.
//!
//! A screen says what it would export with `Tab::export`; the app runs it
//! as one [`Job::Export`](super::command::Job), which pages through the
//! `db` calls and counts the rows written in a [`Progress`] the status line
//! reads while it runs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::db::Db;
use crate::db::approvals::RequestFilter;
use crate::db::audit::AuditFilter;
use crate::db::batches::BatchFilter;
use crate::db::coupons::CouponFilter;
use crate::db::credits::HistoryQuery;
use crate::db::gift_cards::GiftCardFilter;
use crate::error::{Error, Result};
use crate::files::{csv_cell, iso_time};

/// Rows read per page where the list pages (keyset).
const PAGE: i64 = 1000;
/// Lists that don't page are read up to their own limit at once.
const WHOLE: i64 = 10_000;

/// What a screen exports: its list with the filter it shows.
#[derive(Debug, Clone)]
pub struct Export {
    /// For the file name and the messages: `coupons`, `gift-cards`.
    pub list: &'static str,
    pub source: Source,
}

/// The list and its filter (the filter's own limit and cursor are ignored).
#[derive(Debug, Clone)]
pub enum Source {
    /// `users::find`: the search shown.
    Users {
        text: String,
    },
    Coupons(CouponFilter),
    GiftCards(GiftCardFilter),
    Batches(BatchFilter),
    Audit(AuditFilter),
    Approvals(RequestFilter),
    /// A user's ledger, with the balance after each entry.
    Ledger(HistoryQuery),
}

/// Rows written so far, shared with the status line.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    pub fn rows(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self, n: usize) {
        self.0.fetch_add(n as u64, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone)]
pub struct ExportJob {
    pub export: Export,
    /// A new file (relative: in the current directory).
    pub path: PathBuf,
    pub progress: Progress,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The file as named (relative to the current directory).
    pub path: PathBuf,
    pub rows: u64,
    /// e.g. that a list without paging was cut at its limit.
    pub note: Option<String>,
}

/// `12,345`
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A new file, 0600, never an existing one.
fn create(path: &Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let shown = crate::domain::text::sanitize(&path.to_string_lossy());
    options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Infrastructure(format!(
                "{shown} already exists and is never overwritten: try again in a second"
            ))
        } else {
            Error::Infrastructure(format!("cannot create {shown}: {e}"))
        }
    })
}

/// Where rows go: the file, line by line, each cell guarded.
struct Sink {
    out: std::io::BufWriter<std::fs::File>,
    progress: Progress,
}

impl Sink {
    fn line(&mut self, cells: &[String]) -> Result<()> {
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        // RFC 4180 line ends, as the CLI's `--csv`.
        write!(self.out, "{}\r\n", line.join(","))
            .map_err(|e| Error::Infrastructure(format!("writing the export: {e}")))
    }

    fn rows(&mut self, rows: impl IntoIterator<Item = Vec<String>>) -> Result<usize> {
        let mut n = 0;
        for r in rows {
            self.line(&r)?;
            n += 1;
        }
        self.progress.add(n);
        Ok(n)
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    iso_time(t)
}

fn opt_time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(iso_time).unwrap_or_default()
}

/// Runs an export: the file first (a bad place fails before any read), then
/// page after page; a failure removes the partial file.
pub async fn run(db: &Db, job: ExportJob) -> Result<Exported> {
    let ExportJob {
        export,
        path,
        progress,
    } = job;
    let file = create(&path)?;
    let mut sink = Sink {
        out: std::io::BufWriter::new(file),
        progress: progress.clone(),
    };
    match write_all(db, &export.source, &mut sink).await {
        Ok(note) => {
            let file = sink
                .out
                .into_inner()
                .map_err(|e| Error::Infrastructure(format!("writing the export: {e}")))?;
            file.sync_all()
                .map_err(|e| Error::Infrastructure(format!("writing the export: {e}")))?;
            Ok(Exported {
                // As made: in the current directory, `./creditdesk-...csv`,
                // short enough for the status line.
                path,
                rows: progress.rows(),
                note,
            })
        }
        Err(e) => {
            drop(sink);
            let _ = std::fs::remove_file(&path);
            Err(e)
        }
    }
}

/// Writes the header and every row; returns a note when a list that doesn't
/// page was cut at its limit.
async fn write_all(db: &Db, source: &Source, sink: &mut Sink) -> Result<Option<String>> {
    let header = |sink: &mut Sink, cols: &[&str]| {
        sink.line(&cols.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>())
    };
    let cut = |n: usize, limit: i64| {
        (n as i64 >= limit).then(|| {
            format!(
                "the first {} only: narrow the filter for the rest",
                thousands(limit as u64)
            )
        })
    };
    match source {
        Source::Users { text } => {
            header(sink, &["id", "email", "name", "credits", "created_at"])?;
            let users = crate::db::users::find(db, text, WHOLE).await?;
            let n = sink.rows(users.into_iter().map(|u| {
                vec![
                    u.id.to_string(),
                    u.email,
                    opt(u.name),
                    u.credits.to_string(),
                    time(u.created_at),
                ]
            }))?;
            Ok(cut(n, WHOLE))
        }
        Source::Coupons(filter) => {
            header(
                sink,
                &[
                    "id",
                    "code",
                    "description",
                    "discount_type",
                    "discount_value",
                    "max_uses",
                    "used_count",
                    "valid_from",
                    "valid_until",
                    "is_active",
                    "created_at",
                ],
            )?;
            let f = CouponFilter {
                limit: WHOLE,
                ..filter.clone()
            };
            let coupons = crate::db::coupons::list(db, &f).await?;
            let n = sink.rows(coupons.into_iter().map(|c| {
                vec![
                    c.id.to_string(),
                    c.code,
                    opt(c.description),
                    c.discount_type,
                    c.discount_value.to_string(),
                    opt(c.max_uses),
                    c.used_count.to_string(),
                    time(c.valid_from),
                    opt_time(c.valid_until),
                    c.is_active.to_string(),
                    time(c.created_at),
                ]
            }))?;
            Ok(cut(n, WHOLE))
        }
        Source::GiftCards(filter) => {
            header(
                sink,
                &[
                    "id",
                    "code_masked",
                    "status",
                    "credits",
                    "price",
                    "pack",
                    "recipient_email",
                    "purchased_by_email",
                    "redeemed_by_user_id",
                    "redeemed_by_email",
                    "redeemed_at",
                    "expires_at",
                    "created_at",
                    "revoked_at",
                    "revoked_by",
                    "revoke_reason",
                ],
            )?;
            let mut f = GiftCardFilter {
                before: None,
                limit: PAGE,
                ..filter.clone()
            };
            loop {
                let cards = crate::db::gift_cards::list(db, &f).await?;
                let last = cards.last().map(|c| c.cursor());
                let n = sink.rows(cards.into_iter().map(|c| {
                    vec![
                        c.id.to_string(),
                        // Masked by the database: no full code is ever read here.
                        c.code_masked,
                        c.status.as_str().to_owned(),
                        c.credits.to_string(),
                        c.price.to_string(),
                        opt(c.pack_name),
                        opt(c.recipient_email),
                        opt(c.purchased_by_email),
                        opt(c.redeemed_by_user_id),
                        opt(c.redeemed_by_email),
                        opt_time(c.redeemed_at),
                        opt_time(c.expires_at),
                        time(c.created_at),
                        opt_time(c.revoked_at),
                        opt(c.revoked_by),
                        opt(c.revoke_reason),
                    ]
                }))?;
                if (n as i64) < PAGE {
                    return Ok(None);
                }
                f.before = last;
            }
        }
        Source::Batches(filter) => {
            header(
                sink,
                &[
                    "id",
                    "user_id",
                    "user_email",
                    "model_id",
                    "model_name",
                    "status",
                    "images",
                    "credits_used",
                    "created_at",
                    "age_seconds",
                    "completed_at",
                ],
            )?;
            // every page, each after the last one's (createdAt, id)
            let mut f = BatchFilter {
                limit: crate::db::batches::MAX_LIMIT,
                after: None,
                ..filter.clone()
            };
            loop {
                let batches = crate::db::batches::list(db, &f).await?;
                let full = batches.len() as i64 == f.limit;
                f.after = batches.last().map(|b| (b.created_at, b.id));
                sink.rows(batches.into_iter().map(|b| {
                    vec![
                        b.id.to_string(),
                        b.user_id.to_string(),
                        b.user_email,
                        opt(b.model_id),
                        opt(b.model_name),
                        b.status,
                        b.images.to_string(),
                        b.credits_used.to_string(),
                        time(b.created_at),
                        b.age_seconds.to_string(),
                        opt_time(b.completed_at),
                    ]
                }))?;
                if !full {
                    return Ok(None);
                }
            }
        }
        Source::Audit(filter) => {
            header(
                sink,
                &[
                    "id",
                    "seq",
                    "created_at",
                    "actor",
                    "login",
                    "action",
                    "entity_type",
                    "entity_id",
                    "reason",
                    "details",
                ],
            )?;
            let mut f = AuditFilter {
                before_id: None,
                limit: PAGE,
                ..filter.clone()
            };
            loop {
                let entries = crate::db::audit::list(db, &f).await?;
                let last = entries.last().map(|e| e.id);
                let n = sink.rows(entries.into_iter().map(|e| {
                    vec![
                        e.id.to_string(),
                        e.seq.to_string(),
                        time(e.created_at),
                        e.actor,
                        e.login,
                        e.action,
                        e.entity_type,
                        opt(e.entity_id),
                        opt(e.reason),
                        e.details.to_string(),
                    ]
                }))?;
                if (n as i64) < PAGE {
                    return Ok(None);
                }
                f.before_id = last;
            }
        }
        Source::Ledger(query) => {
            header(
                sink,
                &[
                    "id",
                    "created_at",
                    "type",
                    "amount",
                    "balance_after",
                    "description",
                    "transaction_id",
                    "photo_id",
                    "model_id",
                    "gift_card_id",
                    "gift_card_code_masked",
                    "coupon_id",
                    "coupon_code",
                    "batch_id",
                    "reverses_entry_id",
                    "reversed_by_entry_id",
                ],
            )?;
            let mut q = HistoryQuery {
                before: None,
                limit: PAGE,
                ..query.clone()
            };
            loop {
                let page = crate::db::credits::history_with_balances(db, &q).await?;
                sink.rows(page.entries.into_iter().map(|r| {
                    let e = r.entry;
                    vec![
                        e.id.to_string(),
                        time(e.created_at),
                        e.kind,
                        e.amount.to_string(),
                        r.balance_after.to_string(),
                        opt(e.description),
                        opt(e.transaction_id),
                        opt(e.photo_id),
                        opt(e.model_id),
                        opt(e.gift_card_id),
                        // The masked code: the ledger never reads a full one.
                        opt(e.gift_card_code),
                        opt(e.coupon_id),
                        opt(e.coupon_code),
                        opt(e.batch_id),
                        opt(r.reverses_entry_id),
                        opt(r.reversed_by_entry_id),
                    ]
                }))?;
                match page.next {
                    Some(next) => q.before = Some(next),
                    None => return Ok(None),
                }
            }
        }
        Source::Approvals(filter) => {
            header(
                sink,
                &[
                    "id",
                    "kind",
                    "status",
                    "summary",
                    "reason",
                    "requested_by",
                    "requested_by_login",
                    "requested_at",
                    "expires_at",
                    "decided_by",
                    "decided_by_login",
                    "decided_at",
                    "decision_reason",
                ],
            )?;
            let f = RequestFilter {
                limit: 1000,
                ..filter.clone()
            };
            let requests = crate::db::approvals::list(db, &f).await?;
            let n = sink.rows(requests.into_iter().map(|r| {
                vec![
                    r.id.to_string(),
                    r.kind,
                    r.status,
                    r.summary,
                    r.reason,
                    r.requested_by,
                    r.requested_by_login,
                    time(r.requested_at),
                    time(r.expires_at),
                    opt(r.decided_by),
                    opt(r.decided_by_login),
                    opt_time(r.decided_at),
                    opt(r.decision_reason),
                ]
            }))?;
            Ok(cut(n, 1000))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(12_345), "12,345");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
