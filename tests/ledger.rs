//! The ledger as an auditor reads it (issue 11 §3-§5) against real
//! PostgreSQL: the balance after every entry (and at a moment), kept right
//! by the database's sums whoever writes the ledger, also while a ledger
//! starts being tracked or the sums are filled in; reversals, once and
//! never more than the original; gift-card issues retried with their key;
//! the dashboard's figures against the rows they sum.

use chrono::{Duration, Utc};
use creditdesk::db::credits::{self, HistoryQuery};
use creditdesk::db::gift_cards::{self, CardValue, IssueRequest, KeyedIssue};
use creditdesk::db::{Change, Db, approvals, reports};
use creditdesk::domain::Refusal;
use creditdesk::domain::ledger::EntryType;
use creditdesk::domain::role::Group;
use creditdesk::domain::user_ref::UserRef;
use creditdesk::testing::{
    Applied, CliRun, TestDb, operator, reason, refused, run_cli, scalar_i64, set_setting,
};
use rust_decimal::Decimal;
use sqlx::{AssertSqlSafe, PgPool};

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn cli(url: &str, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), url, "test-ops", args)
}

/// A user whose ledger the app wrote: `n` entries an hour apart (some
/// several in one second), as the app would, straight into the tables.
async fn app_ledger(pool: &PgPool, email: &str, n: i32) -> i32 {
    let id: i32 =
        sqlx::query_scalar("insert into users (email, credits) values ($1, 0) returning id")
            .bind(email)
            .fetch_one(pool)
            .await
            .expect("user");
    exec(
        pool,
        &format!(
            "insert into credit_history (\"userId\", amount, type, \"createdAt\")
             select {id}, case when g % 4 = 0 then -3 else 7 end,
                    case when g % 4 = 0 then 'generation' else 'purchase' end::credit_history_type,
                    now() - interval '90 days' + (g / 3) * interval '37 minutes'
             from generate_series(1, {n}) g;
             update users set credits = (select sum(amount) from credit_history where \"userId\" = {id})
             where id = {id};"
        ),
    )
    .await;
    id
}

/// The balance after each entry by summing every row: what the sums must say.
async fn running_balances(pool: &PgPool, user: i32) -> Vec<(i32, i64)> {
    sqlx::query_as(
        "select id, (sum(amount) over (order by \"createdAt\", id))::int8
         from credit_history where \"userId\" = $1 order by \"createdAt\" desc, id desc",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .expect("running")
}

async fn all_pages(db: &Db, user: i32, kind: Option<EntryType>, limit: i64) -> Vec<(i32, i64)> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let page = credits::history_with_balances(
            db,
            &HistoryQuery {
                user_id: user,
                kind,
                since: None,
                until: None,
                before,
                limit,
            },
        )
        .await
        .expect("page");
        out.extend(page.entries.iter().map(|r| (r.entry.id, r.balance_after)));
        match page.next {
            Some(n) => before = Some(n),
            None => return out,
        }
    }
}

async fn sums_agree(pool: &PgPool) {
    // the daily sums are the ledger's, type by type
    let off = scalar_i64(
        pool,
        "select count(*) from (
           select coalesce(a.day, b.day), coalesce(a.type, b.type)
           from (select (\"createdAt\" at time zone 'UTC')::date as day, type::text as type,
                        coalesce(sum(amount) filter (where amount > 0), 0) as c,
                        coalesce(-sum(amount) filter (where amount < 0), 0) as d, count(*) as n
                 from credit_history group by 1, 2) a
           full join (select day, type, credited as c, debited as d,
                             \"creditEntries\" + \"debitEntries\" as n
                      from creditdesk.ledger_by_day where (credited, debited) <> (0, 0)) b
             on a.day = b.day and a.type = b.type
           where (a.c, a.d, a.n) is distinct from (b.c, b.d, b.n)) x",
    )
    .await;
    assert_eq!(off, 0, "daily sums differ from the ledger");
    // every tracked ledger's sums are its entries'
    let off = scalar_i64(
        pool,
        "select count(*) from creditdesk.ledger_tracked t
         where (select coalesce(sum(total), 0) from creditdesk.ledger_sums s
                where s.\"userId\" = t.\"userId\" and grain = 'm')
            <> (select coalesce(sum(amount), 0) from credit_history h where h.\"userId\" = t.\"userId\")
            or (select coalesce(sum(total), 0) from creditdesk.ledger_sums s
                where s.\"userId\" = t.\"userId\" and grain = 'h')
            <> (select coalesce(sum(amount), 0) from credit_history h where h.\"userId\" = t.\"userId\")",
    )
    .await;
    assert_eq!(off, 0, "tracked sums differ from the ledger");
    // and what the overview reads, type by type, is the ledger's
    let off = scalar_i64(
        pool,
        "select count(*) from (
           select \"userId\", type::text, count(*)::int8 as entries, sum(amount)::int8 as total
           from credit_history group by 1, 2) a
         full join creditdesk.ledger_totals_by_type b using (\"userId\", type)
         where (a.entries, a.total) is distinct from (b.entries, b.total)",
    )
    .await;
    assert_eq!(off, 0, "totals by type differ from the ledger");
}

#[tokio::test]
async fn every_row_shows_the_balance_after_it_tracked_or_not() {
    let db = TestDb::new().await;
    let user = app_ledger(&db.pool, "heavy@example.com", 2500).await;
    let expected = running_balances(&db.pool, user).await;
    let auditor = db.login(Group::Auditor).await;
    // summed entry by entry
    assert_eq!(all_pages(&auditor.db, user, None, 97).await, expected);
    // tracked: read as sums of months, days and hours
    assert!(
        sqlx::query_scalar::<_, bool>("select creditdesk.ledger_track($1)")
            .bind(user)
            .fetch_one(&db.pool)
            .await
            .unwrap()
    );
    assert_eq!(all_pages(&auditor.db, user, None, 97).await, expected);
    // a type filter shows rows that are not neighbours: each its own balance
    let generation: Vec<(i32, i64)> = sqlx::query_as(
        "select id, b from (select id, type, (sum(amount) over (order by \"createdAt\", id))::int8 as b
                            from credit_history where \"userId\" = $1) s
         where type = 'generation' order by id desc",
    )
    .bind(user)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        all_pages(&auditor.db, user, Some(EntryType::Generation), 50).await,
        generation
    );
    // the app writes on: new rows, an old one changed, one deleted, a
    // backdated one; the sums follow
    exec(
        &db.pool,
        &format!(
            "insert into credit_history (\"userId\", amount, type) values ({user}, 11, 'purchase');
             insert into credit_history (\"userId\", amount, type, \"createdAt\")
               values ({user}, 5, 'refund', now() - interval '60 days');
             update credit_history set amount = amount + 1
               where id = (select min(id) from credit_history where \"userId\" = {user});
             update credit_history set \"createdAt\" = \"createdAt\" - interval '3 days'
               where id = (select min(id) + 10 from credit_history where \"userId\" = {user});
             delete from credit_history where id = (select min(id) + 20 from credit_history where \"userId\" = {user});"
        ),
    )
    .await;
    let expected = running_balances(&db.pool, user).await;
    assert_eq!(all_pages(&auditor.db, user, None, 500).await, expected);
    sums_agree(&db.pool).await;
    // the overview's totals by type come from the kept totals now
    let overview = credits::overview(&auditor.db, &UserRef::Id(user), 1)
        .await
        .expect("overview");
    let by_rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "select type::text, count(*), sum(amount)::int8 from credit_history
         where \"userId\" = $1 group by 1 order by 1",
    )
    .bind(user)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        overview
            .totals
            .iter()
            .map(|t| (t.kind.clone(), t.entries, t.total))
            .collect::<Vec<_>>(),
        by_rows
    );
    assert_eq!(overview.ledger_total, expected[0].1);
    // --as-of: the balance after every entry made until then
    let at = Utc::now() - Duration::days(45);
    let by_rows = scalar_i64(
        &db.pool,
        &format!(
            "select sum(amount)::int8 from credit_history where \"userId\" = {user}
             and \"createdAt\" <= '{}'",
            at.to_rfc3339()
        ),
    )
    .await;
    let b = credits::balance_at(&auditor.db, &UserRef::Id(user), at)
        .await
        .expect("as of");
    assert_eq!(b.balance, by_rows);
    let shown = cli(
        &auditor.url,
        &[
            "credits",
            "show",
            "heavy@example.com",
            "--as-of",
            &at.to_rfc3339(),
        ],
    );
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown
            .stdout
            .contains(&format!("balance {by_rows} credits at")),
        "{}",
        shown.stdout
    );
    // `credits history` shows it in every format
    let text = cli(
        &auditor.url,
        &["credits", "history", "heavy@example.com", "--limit", "2"],
    );
    assert!(
        text.stdout.lines().next().unwrap().contains("balance"),
        "{}",
        text.stdout
    );
    let csv = cli(
        &auditor.url,
        &[
            "credits",
            "history",
            "heavy@example.com",
            "--limit",
            "2",
            "--csv",
        ],
    );
    assert!(
        csv.stdout.starts_with("id,when,type,amount,balance,"),
        "{}",
        csv.stdout
    );
    let json = cli(
        &auditor.url,
        &[
            "credits",
            "history",
            "heavy@example.com",
            "--limit",
            "2",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(v["entries"][0]["balance_after"], expected[0].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sums_stay_right_while_a_ledger_starts_being_tracked_and_the_app_writes() {
    let db = TestDb::new().await;
    let user = app_ledger(&db.pool, "busy@example.com", 3000).await;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let pool = db.pool.clone();
            tokio::spawn(async move {
                for i in 0..60 {
                    let mut tx = pool.begin().await.unwrap();
                    sqlx::query(
                        "insert into credit_history (\"userId\", amount, type, \"createdAt\")
                         values ($1, $2, 'purchase', now() - $3 * interval '1 hour')",
                    )
                    .bind(user)
                    .bind(1 + w)
                    .bind(i * 7 % 500)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                    if i % 3 == 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
                    }
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let tracked: bool = sqlx::query_scalar("select creditdesk.ledger_track($1)")
        .bind(user)
        .fetch_one(&db.owner)
        .await
        .expect("track");
    assert!(tracked);
    for w in writers {
        w.await.unwrap();
    }
    sums_agree(&db.pool).await;
    assert_eq!(
        all_pages(&db.tool, user, None, 1000).await,
        running_balances(&db.pool, user).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_daily_sums_of_an_existing_ledger_are_filled_in_while_the_app_writes() {
    let db = TestDb::new().await;
    for i in 0..20 {
        app_ledger(&db.pool, &format!("old{i}@example.com"), 300).await;
    }
    // As on a database that had a ledger before the triggers: no sums yet.
    exec(
        &db.pool,
        "update creditdesk.ledger_partitions set ready = false;
         delete from creditdesk.ledger_daily;",
    )
    .await;
    let users: Vec<i32> = sqlx::query_scalar("select id from users order by id")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let pool = db.pool.clone();
            let users = users.clone();
            tokio::spawn(async move {
                for i in 0..50usize {
                    let u = users[(i * 7 + w) % users.len()];
                    let mut tx = pool.begin().await.unwrap();
                    sqlx::query(
                        "insert into credit_history (\"userId\", amount, type) values ($1, 2, 'coupon')",
                    )
                    .bind(u)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                    if i % 10 == 0 {
                        sqlx::query(
                            "delete from credit_history where id = (select min(id) from credit_history where \"userId\" = $1)",
                        )
                        .bind(u)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    exec(&db.owner, "select creditdesk.ledger_backfill()").await;
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from creditdesk.ledger_partitions where not ready"
        )
        .await,
        0
    );
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from creditdesk.ledger_pending").await,
        0
    );
    sums_agree(&db.pool).await;
}

#[tokio::test]
async fn a_repeatable_read_writer_that_predates_a_change_of_the_sums_is_asked_to_retry() {
    let db = TestDb::new().await;
    let user = app_ledger(&db.pool, "rr@example.com", 10).await;
    let mut rr = db.pool.begin().await.unwrap();
    exec_tx(&mut rr, "set transaction isolation level repeatable read").await;
    exec_tx(&mut rr, "select 1").await; // the snapshot is taken
    exec(
        &db.owner,
        &format!("select creditdesk.ledger_track({user})"),
    )
    .await;
    let e = sqlx::query(
        "insert into credit_history (\"userId\", amount, type) values ($1, 1, 'purchase')",
    )
    .bind(user)
    .execute(&mut *rr)
    .await
    .expect_err("its snapshot can't see the ledger tracked");
    assert_eq!(
        e.as_database_error().and_then(|d| d.code()).as_deref(),
        Some("40001")
    );
    drop(rr);
    // retried, it is counted
    exec(&db.pool, &format!("begin isolation level repeatable read; insert into credit_history (\"userId\", amount, type) values ({user}, 1, 'purchase'); commit;")).await;
    sums_agree(&db.pool).await;
}

async fn exec_tx(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(&mut **tx)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

// ---------------------------------------------------------------------------
// Reversals
// ---------------------------------------------------------------------------

async fn entry_of(pool: &PgPool, sql: &str) -> i32 {
    i32::try_from(scalar_i64(pool, sql).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_adjustment_is_reversed_once_linked_both_ways_never_more_than_it_booked() {
    let db = TestDb::new().await;
    let support = db.logins(Group::Support, 3).await;
    let s = support.next();
    let ana = creditdesk::testing::user_with_credits(&db.tool, "ana@example.com", 100).await;
    let wrong = credits::adjust(
        &s,
        &operator(),
        &UserRef::Id(ana),
        40,
        &reason("goodwill"),
        None,
    )
    .await
    .applied()
    .expect("adjust");
    // more than it booked, or the same way: refused
    let over = credits::reverse(&s, &operator(), wrong.entry_id, &reason("x"), Some(41)).await;
    assert!(matches!(
        refused(over),
        Refusal::ReversalExceedsOriginal { .. }
    ));
    // five at once: one reverses it
    let attempts: Vec<_> = (0..5)
        .map(|_| {
            let db = support.next();
            tokio::spawn(async move {
                credits::reverse(
                    &db,
                    &operator(),
                    wrong.entry_id,
                    &reason("wrong user"),
                    None,
                )
                .await
            })
        })
        .collect();
    let mut done = Vec::new();
    for a in attempts {
        match a.await.unwrap() {
            Ok(Change::Applied(r)) => done.push(r),
            Err(e) => assert!(
                matches!(
                    e,
                    creditdesk::Error::Refused(Refusal::EntryAlreadyReversed { .. })
                ),
                "{e:?}"
            ),
            Ok(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(done.len(), 1);
    let r = &done[0];
    assert_eq!((r.amount, r.old_balance, r.new_balance), (-40, 140, 100));
    let page = credits::history_with_balances(
        &s,
        &HistoryQuery {
            user_id: ana,
            kind: None,
            since: None,
            until: None,
            before: None,
            limit: 10,
        },
    )
    .await
    .unwrap();
    let top = &page.entries[0];
    assert_eq!(top.entry.id, r.reversal_entry_id);
    assert_eq!(top.reverses_entry_id, Some(wrong.entry_id));
    assert_eq!(top.balance_after, 100);
    let original = page
        .entries
        .iter()
        .find(|e| e.entry.id == wrong.entry_id)
        .unwrap();
    assert_eq!(original.reversed_by_entry_id, Some(r.reversal_entry_id));
    // the database refuses a second reversal whoever writes it
    let dup = sqlx::query(
        "insert into credit_history (\"userId\", amount, type, \"reversesEntryId\")
         values ($1, -1, 'admin_adjustment', $2)",
    )
    .bind(ana)
    .bind(wrong.entry_id)
    .execute(&db.pool)
    .await
    .expect_err("one reversal per entry");
    assert!(
        dup.to_string()
            .contains("credit_history_one_reversal_per_entry"),
        "{dup}"
    );
    // a reversal is not reversed; a part of an adjustment is
    let again = credits::reverse(&s, &operator(), r.reversal_entry_id, &reason("x"), None).await;
    assert!(matches!(refused(again), Refusal::EntryNotReversible { .. }));
    let big = credits::adjust(
        &s,
        &operator(),
        &UserRef::Id(ana),
        50,
        &reason("goodwill"),
        None,
    )
    .await
    .applied()
    .unwrap();
    let part = credits::reverse(&s, &operator(), big.entry_id, &reason("half"), Some(20))
        .await
        .applied()
        .unwrap();
    assert_eq!(part.amount, -20);
    // refused when the balance can't cover it
    exec(&db.pool, &format!("update users set credits = 0 where id = {ana}; insert into credit_history (\"userId\", amount, type) values ({ana}, -130, 'generation')")).await;
    let gift = credits::adjust(&s, &operator(), &UserRef::Id(ana), 30, &reason("g"), None)
        .await
        .applied()
        .unwrap();
    exec(&db.pool, &format!("update users set credits = 0 where id = {ana}; insert into credit_history (\"userId\", amount, type) values ({ana}, -30, 'generation')")).await;
    let short = credits::reverse(&s, &operator(), gift.entry_id, &reason("x"), None).await;
    assert!(matches!(
        refused(short),
        Refusal::InsufficientCredits { .. }
    ));
    assert!(credits::verify(&db.tool).await.unwrap().is_empty());
    // audited
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from admin_audit_log where action = 'credits.reverse'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn refunds_coupons_and_gift_cards_are_reversed_as_support_expects() {
    let db = TestDb::new().await;
    let ana = creditdesk::testing::user_with_credits(&db.tool, "ana@example.com", 100).await;
    // a batch refund: oncall's right
    exec(
        &db.pool,
        &format!(
            "insert into photo_generation_batches (\"userId\", \"totalImagesGenerated\", \"creditsUsed\",
                                                   \"aspectRatio\", glasses, status)
             values ({ana}, 4, 8, '1:1', 'no', 'generating');
             insert into credit_history (\"userId\", amount, type, \"relatedBatchId\")
             select {ana}, -8, 'generation', max(id) from photo_generation_batches;
             update users set credits = credits - 8 where id = {ana};"
        ),
    )
    .await;
    let batch = entry_of(
        &db.pool,
        "select max(id)::int8 from photo_generation_batches",
    )
    .await;
    let oncall = db.login(Group::Oncall).await;
    let failed = creditdesk::db::batches::fail(
        &oncall.db,
        &operator(),
        batch,
        &reason("stuck"),
        creditdesk::db::batches::Refund::All,
    )
    .await
    .unwrap();
    let refund = failed.entry_id.unwrap();
    let support = db.login(Group::Support).await;
    let r = credits::reverse(&support.db, &operator(), refund, &reason("x"), None).await;
    assert!(
        matches!(refused(r), Refusal::NotPermitted { .. }),
        "support may not undo a refund"
    );
    let r = credits::reverse(
        &oncall.db,
        &operator(),
        refund,
        &reason("refunded the wrong batch"),
        None,
    )
    .await
    .applied()
    .unwrap();
    assert_eq!(r.amount, -8);
    let shown = creditdesk::db::batches::show(&support.db, batch)
        .await
        .unwrap();
    assert_eq!(shown.refunded, 0, "net of its reversal");
    assert!(shown.entries.iter().any(|e| e.id == r.reversal_entry_id));
    // a coupon: its use is given back, and it can be redeemed again
    exec(&db.pool, "insert into coupons (code, \"discountType\", \"discountValue\", \"maxUses\") values ('WELCOME20', 'credits', 20, 5)").await;
    let redeemed =
        creditdesk::db::coupons::redeem(&support.db, &operator(), "WELCOME20", &UserRef::Id(ana))
            .await
            .unwrap();
    let entry = entry_of(
        &db.pool,
        "select max(id)::int8 from credit_history where type = 'coupon'",
    )
    .await;
    let r = credits::reverse(&support.db, &operator(), entry, &reason("wrong user"), None)
        .await
        .applied()
        .unwrap();
    assert_eq!((r.amount, r.use_given_back), (-20, Some(true)));
    assert_eq!(
        scalar_i64(&db.pool, "select \"usedCount\"::int8 from coupons").await,
        0
    );
    assert_eq!(redeemed.credits, 20);
    creditdesk::db::coupons::redeem(&support.db, &operator(), "WELCOME20", &UserRef::Id(ana))
        .await
        .expect("redeemable again");
    let part = credits::reverse(&support.db, &operator(), entry, &reason("x"), Some(1)).await;
    assert!(part.is_err(), "a redemption is reversed whole");
    // a gift card: active again; an expired one can't be
    let finance = db.login(Group::Finance).await;
    let cards = gift_cards::issue(&finance.db, &operator(), &card_request(2))
        .await
        .applied()
        .unwrap();
    for c in &cards {
        gift_cards::redeem(&support.db, &operator(), c.code.as_str(), &UserRef::Id(ana))
            .await
            .unwrap();
    }
    let card_entry = |id: i32| {
        let pool = db.pool.clone();
        async move {
            entry_of(
                &pool,
                &format!("select id::int8 from credit_history where \"relatedGiftCardId\" = {id} and type = 'gift_card'"),
            )
            .await
        }
    };
    let r = credits::reverse(
        &support.db,
        &operator(),
        card_entry(cards[0].id).await,
        &reason("x"),
        None,
    )
    .await
    .applied()
    .unwrap();
    assert_eq!(r.card_status.as_deref(), Some("active"));
    let card = gift_cards::show(&support.db, cards[0].code.as_str())
        .await
        .unwrap();
    assert_eq!(card.status.as_str(), "active");
    exec(
        &db.pool,
        &format!(
            "update gift_cards set \"expiresAt\" = now() - interval '1 day' where id = {}",
            cards[1].id
        ),
    )
    .await;
    let expired = credits::reverse(
        &support.db,
        &operator(),
        card_entry(cards[1].id).await,
        &reason("x"),
        None,
    )
    .await;
    assert!(matches!(
        refused(expired),
        Refusal::GiftCardNotReactivatable { .. }
    ));
    // a purchase is not reversed here
    exec(&db.pool, &format!("insert into credit_history (\"userId\", amount, type) values ({ana}, 5, 'purchase'); update users set credits = credits + 5 where id = {ana}")).await;
    let purchase = entry_of(
        &db.pool,
        "select max(id)::int8 from credit_history where type = 'purchase'",
    )
    .await;
    let r = credits::reverse(&support.db, &operator(), purchase, &reason("x"), None).await;
    assert!(matches!(refused(r), Refusal::EntryNotReversible { .. }));
    assert!(credits::verify(&db.tool).await.unwrap().is_empty());
    // through the binary
    let again = cli(
        &support.url,
        &["credits", "reverse", &entry.to_string(), "--reason", "x"],
    );
    assert_eq!(again.code, 3, "{}", again.stderr);
    assert!(
        again.stderr.contains("already reversed by entry"),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn a_big_reversal_waits_for_a_second_person() {
    let db = TestDb::new().await;
    set_setting(&db.pool, "approval.adjustment_credits", 10_000).await;
    let ana = creditdesk::testing::user_with_credits(&db.tool, "ana@example.com", 5000).await;
    let entry = entry_of(&db.pool, "select max(id)::int8 from credit_history").await;
    set_setting(&db.pool, "approval.adjustment_credits", 500).await;
    let support = db.login(Group::Support).await;
    let Change::Pending(p) =
        credits::reverse(&support.db, &operator(), entry, &reason("typo"), None)
            .await
            .unwrap()
    else {
        panic!("pending")
    };
    let Change::Pending(again) =
        credits::reverse(&support.db, &operator(), entry, &reason("typo"), None)
            .await
            .unwrap()
    else {
        panic!("pending")
    };
    assert_eq!(again.id, p.id);
    let finance = db.login(Group::Finance).await;
    let shown = approvals::show(&finance.db, p.id).await.unwrap();
    assert!(
        shown.effect_now[0].contains("balance now 5000 -> 0"),
        "{:?}",
        shown.effect_now
    );
    let approvals::Approved::Reversal(r) = approvals::approve(&finance.db, &operator(), p.id, None)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(r.new_balance, 0);
    assert_eq!(
        scalar_i64(
            &db.pool,
            &format!("select credits::int8 from users where id = {ana}")
        )
        .await,
        0
    );
}

// ---------------------------------------------------------------------------
// Gift-card issues retried with their key
// ---------------------------------------------------------------------------

fn card_request(count: u32) -> IssueRequest {
    IssueRequest {
        value: CardValue::Custom {
            credits: 10,
            price: Decimal::new(500, 2),
        },
        count,
        recipient: None,
        expires_at: Some(Utc::now() + Duration::days(30)),
        reason: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retried_issue_issues_nothing_new_and_showing_the_codes_again_is_audited() {
    let db = TestDb::new().await;
    let finance = db.logins(Group::Finance, 3).await;
    let f = finance.next();
    // three at once with one key: one issue
    let tries: Vec<_> = (0..3)
        .map(|_| {
            let db = finance.next();
            tokio::spawn(async move {
                gift_cards::issue_with_key(&db, &operator(), &card_request(5), "HR-2026-01").await
            })
        })
        .collect();
    let mut issued = Vec::new();
    let mut replayed = Vec::new();
    for t in tries {
        match t.await.unwrap().unwrap() {
            Change::Applied(KeyedIssue::Issued(cards)) => issued.push(cards),
            Change::Applied(KeyedIssue::Replayed { cards, .. }) => replayed.push(cards),
            Change::Pending(_) => panic!(),
        }
    }
    assert_eq!(issued.len(), 1);
    assert_eq!(replayed.len(), 2);
    let ids: Vec<i32> = issued[0].iter().map(|c| c.id).collect();
    for r in &replayed {
        assert_eq!(r.iter().map(|c| c.id).collect::<Vec<_>>(), ids);
        assert!(r.iter().all(|c| c.code_masked.starts_with("••••")));
    }
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from gift_cards").await,
        5
    );
    // the expiry of a retry may differ ("30 days from now" a second later)
    let mut later = card_request(5);
    later.expires_at = Some(Utc::now() + Duration::days(31));
    let again = gift_cards::issue_with_key(&f, &operator(), &later, "HR-2026-01")
        .await
        .unwrap();
    assert!(matches!(
        again,
        Change::Applied(KeyedIssue::Replayed { .. })
    ));
    // another issue under the same key is refused
    let other = gift_cards::issue_with_key(&f, &operator(), &card_request(6), "HR-2026-01").await;
    assert_eq!(refused(other), Refusal::IdempotencyKeyReused);
    // showing the codes again is a reveal, audited
    let before = scalar_i64(
        &db.pool,
        "select count(*) from admin_audit_log where action = 'gift_card.reveal'",
    )
    .await;
    let codes = gift_cards::reveal_issued(&f, &operator(), "HR-2026-01")
        .await
        .unwrap();
    assert_eq!(
        codes.iter().map(|c| c.code.clone()).collect::<Vec<_>>(),
        issued[0].iter().map(|c| c.code.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from admin_audit_log where action = 'gift_card.reveal'"
        )
        .await,
        before + 1
    );
    let auditor = db.login(Group::Auditor).await;
    let r = gift_cards::reveal_issued(&auditor.db, &operator(), "HR-2026-01").await;
    assert!(matches!(refused(r), Refusal::NotPermitted { .. }));
    // through the binary: the retry says which cards, --reveal shows them
    let args = [
        "gift-cards",
        "issue",
        "--credits",
        "10",
        "--price",
        "5.00",
        "--count",
        "5",
        "--idempotency-key",
        "HR-2026-01",
    ];
    let url = db.login(Group::Finance).await.url;
    let retry = cli(&url, &args);
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    assert!(
        retry
            .stdout
            .contains("already issued with this idempotency key: 5 card(s)"),
        "{}",
        retry.stdout
    );
    assert!(!retry.stdout.contains(&issued[0][0].code));
    let mut with_reveal = args.to_vec();
    with_reveal.push("--reveal");
    let shown = cli(&url, &with_reveal);
    assert!(
        shown.stdout.contains(&issued[0][0].code),
        "{}",
        shown.stdout
    );
}

#[tokio::test]
async fn a_keyed_issue_above_the_threshold_is_one_request_and_replays_once_approved() {
    let db = TestDb::new().await;
    let finance = db.login(Group::Finance).await;
    let mut big = card_request(2000); // 20,000 credits
    big.expires_at = None;
    let Change::Pending(p) = gift_cards::issue_with_key(&finance.db, &operator(), &big, "BIG-1")
        .await
        .unwrap()
    else {
        panic!()
    };
    let Change::Pending(again) =
        gift_cards::issue_with_key(&finance.db, &operator(), &big, "BIG-1")
            .await
            .unwrap()
    else {
        panic!()
    };
    assert_eq!(p.id, again.id);
    let admin = db.login(Group::Admin).await;
    let approvals::Approved::GiftCards(cards) =
        approvals::approve(&admin.db, &operator(), p.id, None)
            .await
            .unwrap()
    else {
        panic!()
    };
    assert_eq!(cards.len(), 2000);
    let Change::Applied(KeyedIssue::Replayed {
        cards: replayed, ..
    }) = gift_cards::issue_with_key(&finance.db, &operator(), &big, "BIG-1")
        .await
        .unwrap()
    else {
        panic!("the approved issue answers the retry")
    };
    assert_eq!(replayed.len(), 2000);
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from gift_cards").await,
        2000
    );
}

// ---------------------------------------------------------------------------
// The dashboard's figures
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_reports_add_up_to_the_rows() {
    let db = TestDb::new().await;
    let user = app_ledger(&db.pool, "r@example.com", 400).await;
    exec(
        &db.pool,
        &format!(
            "insert into credit_history (\"userId\", amount, type, description) values
               ({user}, 75, 'admin_adjustment', 'big one'), ({user}, -60, 'admin_adjustment', 'other'),
               ({user}, 5, 'admin_adjustment', 'small');
             insert into photo_generation_batches (\"userId\", \"totalImagesGenerated\", \"creditsUsed\",
                                                   \"aspectRatio\", glasses, status, \"createdAt\")
             select {user}, 4, 8, '1:1', 'no', s, now() - g * interval '37 minutes'
             from generate_series(1, 80) g,
                  lateral (select case when g % 10 = 0 then 'failed' when g < 3 then 'generating'
                                       else 'completed' end as s) x;"
        ),
    )
    .await;
    let auditor = db.login(Group::Auditor).await;
    let r = reports::daily(&auditor.db, Utc::now() - Duration::days(29))
        .await
        .unwrap();
    assert!(r.complete);
    assert_eq!(r.days.len(), 30);
    let since = r.since.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let (credited, debited) = (
        scalar_i64(&db.pool, &format!("select coalesce(sum(amount) filter (where amount > 0), 0)::int8 from credit_history where \"createdAt\" >= '{}'", since.to_rfc3339())).await,
        scalar_i64(&db.pool, &format!("select coalesce(-sum(amount) filter (where amount < 0), 0)::int8 from credit_history where \"createdAt\" >= '{}'", since.to_rfc3339())).await,
    );
    assert_eq!(r.days.iter().map(|d| d.credited).sum::<i64>(), credited);
    assert_eq!(r.days.iter().map(|d| d.debited).sum::<i64>(), debited);
    let amounts: Vec<i32> = r.biggest_adjustments.iter().map(|a| a.amount).collect();
    assert_eq!(amounts, [75, -60, 5]);

    let b = reports::batches(&auditor.db, Utc::now() - Duration::hours(47))
        .await
        .unwrap();
    assert_eq!(b.hours.len(), 48);
    let in_window = |status: &str| {
        let pool = db.pool.clone();
        let since = b.since;
        let status = status.to_owned();
        async move {
            scalar_i64(&pool, &format!("select count(*) from photo_generation_batches where status = '{status}' and \"createdAt\" >= '{}'", since.to_rfc3339())).await
        }
    };
    assert_eq!(
        b.hours.iter().map(|h| h.failed).sum::<i64>(),
        in_window("failed").await
    );
    assert_eq!(
        b.hours.iter().map(|h| h.completed).sum::<i64>(),
        in_window("completed").await
    );
    assert_eq!(b.stuck.generating, 2);
    assert_eq!(b.stuck.over_warn, 2);
    assert_eq!(b.stuck.over_alert, 1);
    assert!(b.failure_rate.unwrap() > 0.0);

    let csv = cli(&auditor.url, &["report", "daily", "--csv"]);
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    assert!(csv.stdout.starts_with("day,credited,debited,net,purchase,gift_card,coupon,generation,training,refund,admin_adjustment,coupon_redemptions,gift_card_redemptions\r\n"), "{}", csv.stdout);
    assert_eq!(csv.stdout.lines().count(), 31);
    let json = cli(&auditor.url, &["report", "batches", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(v["stuck"]["over_alert"], 1);
    let text = cli(&auditor.url, &["report", "batches"]);
    assert!(
        text.stdout.contains("stuck now: 2 generating"),
        "{}",
        text.stdout
    );
    let bad = cli(&auditor.url, &["report", "daily", "--since", "+1d"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let d = reports::dashboard(&auditor.db).await.unwrap();
    assert_eq!(d.daily.days.len(), 30);
    assert_eq!(d.batches.hours.len(), 48);
}
