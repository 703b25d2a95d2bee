//! What the dashboard shows (issue 11 §5), and `creditdesk report
//! daily|batches`: each figure from rollups or indexes, never a scan of the
//! ledger, so each query stays within a dashboard's budget (200 ms on the
//! 1M-user seed; `cargo bench --bench bulk`).
//!
//! - credits in and out per UTC day and type: `creditdesk.ledger_by_day`,
//!   the sums the ledger's triggers keep (migration 0033);
//! - coupon and gift-card redemptions per day: the `redeemedAt` indexes;
//! - the biggest adjustments of the week: the partial index on
//!   admin_adjustment entries by time;
//! - batches per hour by status, stuck batches, the failure rate: the
//!   (status, createdAt) index, one range per status.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::{Db, Tx, infra};
use crate::domain::ledger::EntryType;
use crate::error::{Error, Result};

/// The longest a report looks back.
pub const MAX_DAYS: i64 = 366;

/// Credits in and out of one type on one day.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TypeFlow {
    #[serde(rename = "type")]
    pub kind: String,
    /// The sum of the positive entries.
    pub credited: i64,
    /// Minus the sum of the negative ones.
    pub debited: i64,
    pub entries: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Day {
    pub day: NaiveDate,
    /// Granted: every positive entry (purchases, gift cards, coupons,
    /// refunds, positive adjustments).
    pub credited: i64,
    /// Spent or taken: every negative entry (generation, training, negative
    /// adjustments, reversals of grants).
    pub debited: i64,
    /// By type, in [`EntryType::ALL`] order, only types with entries.
    pub by_type: Vec<TypeFlow>,
    pub coupon_redemptions: i64,
    pub gift_card_redemptions: i64,
}

impl Day {
    /// The net flow of one type (0 without entries).
    pub fn net(&self, kind: EntryType) -> i64 {
        self.by_type
            .iter()
            .find(|t| t.kind == kind.as_str())
            .map_or(0, |t| t.credited - t.debited)
    }
}

/// An adjustment among the week's biggest.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BigAdjustment {
    pub entry_id: i32,
    pub created_at: DateTime<Utc>,
    pub user_id: i32,
    pub email: String,
    pub amount: i32,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DailyReport {
    /// UTC days, first to last (every day, with zeros where nothing happened).
    pub since: NaiveDate,
    pub until: NaiveDate,
    /// False while the ledger's daily sums are still being filled in (a
    /// migration cut short): the figures then miss part of the ledger.
    pub complete: bool,
    pub days: Vec<Day>,
    /// The 10 largest adjustments (either way) of the last 7 days.
    pub biggest_adjustments: Vec<BigAdjustment>,
}

/// One hour of batches by status (by when they were created).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Hour {
    pub hour: DateTime<Utc>,
    pub generating: i64,
    pub completed: i64,
    pub failed: i64,
}

impl Hour {
    /// Failed among those that finished, or `None` when none did.
    pub fn failure_rate(&self) -> Option<f64> {
        rate(self.failed, self.completed)
    }
}

fn rate(failed: i64, completed: i64) -> Option<f64> {
    let finished = failed + completed;
    (finished > 0).then(|| failed as f64 / finished as f64)
}

/// A stuck batch, for the dashboard's list.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StuckBatch {
    pub batch_id: i32,
    pub user_id: i32,
    pub created_at: DateTime<Utc>,
    pub age_seconds: i64,
    pub credits_used: i32,
}

/// Batches generating now, by how long.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Stuck {
    /// Generating for more than [`STUCK_WARN`] (yellow).
    pub over_warn: i64,
    /// Generating for more than [`STUCK_ALERT`] (red).
    pub over_alert: i64,
    /// All generating now.
    pub generating: i64,
    /// The oldest ones, oldest first (at most 10).
    pub oldest: Vec<StuckBatch>,
}

/// Stuck for this long is a warning (yellow on the dashboard).
pub const STUCK_WARN: Duration = Duration::minutes(15);
/// Stuck for this long is an alert (red).
pub const STUCK_ALERT: Duration = Duration::hours(1);

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BatchReport {
    pub since: DateTime<Utc>,
    /// Every hour from `since` to now, first to last.
    pub hours: Vec<Hour>,
    pub stuck: Stuck,
    /// Failed among the batches created since `since` that finished.
    pub failure_rate: Option<f64>,
    /// The same over the last 24 hours.
    pub failure_rate_24h: Option<f64>,
}

/// Both reports from one snapshot: what the dashboard draws.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Dashboard {
    pub daily: DailyReport,
    pub batches: BatchReport,
    pub at: DateTime<Utc>,
}

fn check_since(since: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    if since >= now {
        return Err(Error::invalid("since", "must be in the past"));
    }
    if now - since > Duration::days(MAX_DAYS) {
        return Err(Error::invalid(
            "since",
            format!("a report looks back at most {MAX_DAYS} days"),
        ));
    }
    Ok(())
}

/// Credits per day by type, redemptions per day, the week's biggest
/// adjustments: UTC days from `since`'s to today.
pub async fn daily(db: &Db, since: DateTime<Utc>) -> Result<DailyReport> {
    let mut tx = db.heavy_snapshot().await?;
    let report = daily_in(&mut tx, since).await?;
    tx.finish().await?;
    Ok(report)
}

/// Batches per hour by status from `since`'s hour, stuck batches now, the
/// failure rate.
pub async fn batches(db: &Db, since: DateTime<Utc>) -> Result<BatchReport> {
    let mut tx = db.heavy_snapshot().await?;
    let report = batches_in(&mut tx, since).await?;
    tx.finish().await?;
    Ok(report)
}

/// The dashboard: credits over 30 days, batches over 48 hours.
pub async fn dashboard(db: &Db) -> Result<Dashboard> {
    let mut tx = db.heavy_snapshot().await?;
    let at = now(&mut tx).await?;
    let daily = daily_in(&mut tx, at - Duration::days(29)).await?;
    let batches = batches_in(&mut tx, at - Duration::hours(47)).await?;
    tx.finish().await?;
    Ok(Dashboard { daily, batches, at })
}

/// The database's clock (the one that decides what is stuck).
async fn now(tx: &mut Tx) -> Result<DateTime<Utc>> {
    sqlx::query_scalar!(r#"select now() as "now!""#)
        .fetch_one(tx.conn())
        .await
        .map_err(infra)
}

async fn daily_in(tx: &mut Tx, since: DateTime<Utc>) -> Result<DailyReport> {
    let now = now(tx).await?;
    check_since(since, now)?;
    let first = since.date_naive();
    let last = now.date_naive();
    let flows = sqlx::query!(
        r#"select day as "day!", type as "kind!", credited as "credited!", debited as "debited!",
                  ("creditEntries" + "debitEntries")::int8 as "entries!"
           from creditdesk.ledger_by_day
           where day >= $1 and day <= $2
           order by day, type"#,
        first,
        last,
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    let from = first.and_time(chrono::NaiveTime::MIN).and_utc();
    let coupons = sqlx::query!(
        r#"select ("redeemedAt" at time zone 'UTC')::date as "day!", count(*) as "n!"
           from creditdesk.coupon_redemptions where "redeemedAt" >= $1
           group by 1"#,
        from,
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    let cards = sqlx::query!(
        r#"select ("redeemedAt" at time zone 'UTC')::date as "day!", count(*) as "n!"
           from creditdesk.gift_cards where "redeemedAt" >= $1
           group by 1"#,
        from,
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    let complete = sqlx::query_scalar!(
        r#"select ready = partitions as "complete!" from creditdesk.ledger_rollup_status"#
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let biggest = sqlx::query_as!(
        BigAdjustment,
        r#"select h.id as "entry_id!", h."createdAt" as "created_at!", h."userId" as "user_id!",
                  coalesce(u.email, '') as "email!", h.amount as "amount!", h.description
           from (select id, "createdAt", "userId", amount, description
                 from creditdesk.credit_history
                 where type = 'admin_adjustment' and "createdAt" >= now() - interval '7 days'
                 order by abs(amount) desc, "createdAt" desc, id desc
                 limit 10) h
           left join creditdesk.users u on u.id = h."userId"
           order by abs(h.amount) desc, h."createdAt" desc, h.id desc"#
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    let mut days = Vec::new();
    let mut day = first;
    while day <= last {
        let by_type: Vec<TypeFlow> = EntryType::ALL
            .iter()
            .filter_map(|k| {
                flows
                    .iter()
                    .find(|f| f.day == day && f.kind == k.as_str())
                    .map(|f| TypeFlow {
                        kind: f.kind.clone(),
                        credited: f.credited,
                        debited: f.debited,
                        entries: f.entries,
                    })
            })
            .collect();
        days.push(Day {
            day,
            credited: by_type.iter().map(|t| t.credited).sum(),
            debited: by_type.iter().map(|t| t.debited).sum(),
            by_type,
            coupon_redemptions: coupons.iter().find(|c| c.day == day).map_or(0, |c| c.n),
            gift_card_redemptions: cards.iter().find(|c| c.day == day).map_or(0, |c| c.n),
        });
        day = day.succ_opt().unwrap_or(day);
        if day == NaiveDate::MAX {
            break;
        }
    }
    Ok(DailyReport {
        since: first,
        until: last,
        complete,
        days,
        biggest_adjustments: biggest,
    })
}

async fn batches_in(tx: &mut Tx, since: DateTime<Utc>) -> Result<BatchReport> {
    let now = now(tx).await?;
    check_since(since, now)?;
    let counts = sqlx::query!(
        r#"select date_trunc('hour', b."createdAt", 'UTC') as "hour!", s.status as "status!",
                  count(*) as "n!"
           from unnest(array['generating', 'completed', 'failed']) as s(status)
           cross join lateral (
             select "createdAt" from creditdesk.photo_generation_batches p
             where p.status = s.status and p."createdAt" >= date_trunc('hour', $1::timestamptz, 'UTC')) b
           group by 1, 2"#,
        since,
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    let stuck = sqlx::query!(
        r#"select count(*) as "generating!",
                  count(*) filter (where "createdAt" < now() - $1::int8 * interval '1 second')
                    as "over_warn!",
                  count(*) filter (where "createdAt" < now() - $2::int8 * interval '1 second')
                    as "over_alert!"
           from creditdesk.photo_generation_batches where status = 'generating'"#,
        STUCK_WARN.num_seconds(),
        STUCK_ALERT.num_seconds(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let oldest = sqlx::query_as!(
        StuckBatch,
        r#"select id as "batch_id!", "userId" as "user_id!", "createdAt" as "created_at!",
                  extract(epoch from now() - "createdAt")::int8 as "age_seconds!",
                  "creditsUsed" as "credits_used!"
           from creditdesk.photo_generation_batches
           where status = 'generating' and "createdAt" < now() - $1::int8 * interval '1 second'
           order by "createdAt", id
           limit 10"#,
        STUCK_WARN.num_seconds(),
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    let first = hour_of(since);
    let mut hours = Vec::new();
    let mut hour = first;
    while hour <= now {
        let n = |status: &str| {
            counts
                .iter()
                .find(|c| c.hour == hour && c.status == status)
                .map_or(0, |c| c.n)
        };
        hours.push(Hour {
            hour,
            generating: n("generating"),
            completed: n("completed"),
            failed: n("failed"),
        });
        hour += Duration::hours(1);
    }
    let sum = |from: DateTime<Utc>, f: fn(&Hour) -> i64| -> i64 {
        hours.iter().filter(|h| h.hour >= from).map(f).sum()
    };
    let day_ago = hour_of(now - Duration::hours(23));
    Ok(BatchReport {
        since: first,
        failure_rate: rate(sum(first, |h| h.failed), sum(first, |h| h.completed)),
        failure_rate_24h: rate(sum(day_ago, |h| h.failed), sum(day_ago, |h| h.completed)),
        hours,
        stuck: Stuck {
            over_warn: stuck.over_warn,
            over_alert: stuck.over_alert,
            generating: stuck.generating,
            oldest,
        },
    })
}

fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{DurationRound, TimeDelta};
    t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_rates() {
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(1, 3), Some(0.25));
        let h = Hour {
            hour: Utc::now(),
            generating: 5,
            completed: 0,
            failed: 2,
        };
        assert_eq!(h.failure_rate(), Some(1.0));
    }

    #[test]
    fn since_is_checked() {
        let now = Utc::now();
        assert!(check_since(now - Duration::days(30), now).is_ok());
        assert!(check_since(now, now).is_err());
        assert!(check_since(now - Duration::days(400), now).is_err());
    }
}
