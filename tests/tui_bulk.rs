//! The console's bulk work (issue 11): marks in the stuck view and failing
//! the marked batches as one change (review from the preview, a progress
//! bar, Stop between chunks, pending above the threshold), reversing a
//! ledger entry, adjusting many balances from a file. Through `update` and
//! the rendered screen, with fixed data and against real PostgreSQL.

mod common;

use chrono::Duration;
use common::*;
use creditdesk::db::batches::BatchSummary;
use creditdesk::db::bulk::fail::{self, Candidate, Plan, Preview, RefundMode, Report, Totals};
use creditdesk::db::credits::{LedgerPage, LedgerRow};
use creditdesk::db::{Change, PendingRequest};
use creditdesk::domain::role::Group;
use creditdesk::tui::{App, Command, Job, Outcome, Request, TabId, Theme, update};
use crossterm::event::KeyCode;

// ------------------------------------------------------------------ helpers

fn screen(app: &App, w: u16, h: u16) -> String {
    rows(app, w, h).join("\n")
}

fn shows(app: &App, text: &str) -> bool {
    screen(app, 100, 30).contains(text)
}

fn batch(id: i32, minutes_ago: i64) -> BatchSummary {
    BatchSummary {
        id,
        user_id: 12,
        user_email: "ana@example.com".into(),
        model_id: Some(5),
        model_name: Some("Ana headshots".into()),
        status: "generating".into(),
        images: 8,
        credits_used: 8,
        created_at: t0() - Duration::minutes(minutes_ago),
        age_seconds: minutes_ago * 60,
        completed_at: None,
    }
}

fn stuck_rows() -> Vec<BatchSummary> {
    vec![batch(1827, 185), batch(1826, 90), batch(1825, 45)]
}

fn fixture(job: &Job) -> Option<Outcome> {
    match job {
        Job::Batches(_) => Some(Outcome::Batches(Ok(stuck_rows()))),
        _ => None,
    }
}

/// On the Batches tab, in the stuck view, loaded.
fn stuck_view(config: &creditdesk::tui::ConsoleConfig) -> App {
    let mut app = App::new(config, t0(), Theme::COLOR, "test");
    let c = update(&mut app, ch('4'));
    answer(&mut app, c, fixture);
    assert_eq!(app.active, TabId::Batches);
    let c = update(&mut app, ch('s'));
    answer(&mut app, c, fixture);
    app
}

fn preview_of(ids: &[i32], refund: RefundMode, needs_approval: bool) -> Preview {
    let items: Vec<Candidate> = ids
        .iter()
        .map(|&id| Candidate {
            batch_id: id,
            user_id: 12,
            email: "ana@example.com".into(),
            status: "generating".into(),
            created_at: t0(),
            age_seconds: 3 * 3600,
            charged: 8,
            refunded: 0,
            plan: Plan::FailAndRefund,
            would_refund: 8,
            skip_reason: None,
        })
        .collect();
    Preview {
        selection: format!("{} listed batches", ids.len()),
        refund,
        totals: Totals {
            batches: items.len(),
            users: 1,
            credits: 8 * i64::try_from(items.len()).unwrap(),
            skipped: 0,
        },
        items,
        missing: vec![],
        truncated: false,
        threshold: 1000,
        needs_approval,
    }
}

fn report_of(ids: &[i32]) -> Report {
    Report {
        run: "0123456789abcdef".into(),
        selection: "2 listed batches".into(),
        done: ids
            .iter()
            .map(|&id| fail::Done {
                batch_id: id,
                user_id: 12,
                email: "ana@example.com".into(),
                previous_status: "generating".into(),
                marked_failed: true,
                charged: 8,
                refunded: 8,
                entry_id: Some(id + 1000),
                old_balance: 100,
                new_balance: 108,
            })
            .collect(),
        skipped: vec![fail::Skipped {
            batch_id: 1825,
            reason: "changed".into(),
            message: "changed since the preview: completed now, generating then".into(),
        }],
        failed: vec![],
        refunded: 8 * i64::try_from(ids.len()).unwrap(),
        not_run: vec![],
        stopped: false,
        aborted: None,
        elapsed_ms: 12,
    }
}

fn jobs(c: &[Command]) -> Vec<&Job> {
    runs(c).into_iter().map(|r: &Request| &r.job).collect()
}

/// Opens the fail-many form with `F`, fills it and asks for the review.
fn review(app: &mut App, reason: &str) -> Vec<Command> {
    update(app, ch('F'));
    assert!(
        shows(app, "Fail 2 marked batches"),
        "{}",
        screen(app, 100, 30)
    );
    typed(app, reason);
    update(app, key(KeyCode::Enter)); // to the refund field (all)
    update(app, key(KeyCode::Enter)) // review
}

// ------------------------------------------------------------------ marks

#[test]
fn space_marks_a_marks_all_and_marks_survive_a_refresh() {
    let mut app = stuck_view(&config(false, None));
    assert!(shows(&app, "Space mark"), "{}", screen(&app, 100, 30));
    update(&mut app, ch(' ')); // 1827, and on to the next
    update(&mut app, ch(' ')); // 1826
    assert!(shows(&app, "2 marked"), "{}", screen(&app, 100, 30));
    assert!(shows(&app, "● #1827") && shows(&app, "● #1826"));
    assert!(shows(&app, "  #1825"));
    // The list loads again by itself: the marks stay.
    let now = app.now + Duration::seconds(6);
    let c = update(&mut app, creditdesk::tui::Msg::Tick(now));
    assert!(
        jobs(&c).iter().any(|j| matches!(j, Job::Batches(_))),
        "{c:?}"
    );
    answer(&mut app, c, fixture);
    assert!(shows(&app, "2 marked"), "{}", screen(&app, 100, 30));
    // A batch that finished meanwhile leaves the stuck view and its mark.
    let c = update(&mut app, ch('R'));
    answer(&mut app, c, |j| match j {
        Job::Batches(_) => Some(Outcome::Batches(Ok(vec![batch(1826, 90), batch(1825, 45)]))),
        _ => None,
    });
    assert!(shows(&app, "1 marked"), "{}", screen(&app, 100, 30));
    // A: all shown; again: none.
    update(&mut app, ch('A'));
    assert!(shows(&app, "2 marked"));
    update(&mut app, ch('A'));
    assert!(!shows(&app, "marked"));
    // Space unmarks what it marked.
    update(&mut app, key(KeyCode::Home));
    update(&mut app, ch(' '));
    update(&mut app, key(KeyCode::Home));
    update(&mut app, ch(' '));
    assert!(!shows(&app, "marked"));
}

#[test]
fn marks_are_offered_only_when_the_role_may_fail_batches() {
    for (config, may) in [
        (config_as(&[Group::Support]), false),
        (config_as(&[Group::Oncall]), true),
        (config(true, None), false),
    ] {
        let mut app = stuck_view(&config);
        assert_eq!(shows(&app, "Space mark"), may, "{}", screen(&app, 100, 30));
        update(&mut app, ch(' '));
        update(&mut app, ch('A'));
        assert_eq!(shows(&app, "marked"), may);
        let c = update(&mut app, ch('F'));
        assert_eq!(changes(&c), 0);
    }
}

// ------------------------------------------------------------------ fail many

#[test]
fn f_with_marks_fails_exactly_the_marked_batches_as_one_change() {
    let mut app = stuck_view(&config(false, None));
    update(&mut app, ch(' '));
    update(&mut app, ch(' '));
    let c = review(&mut app, "GPU outage");
    let [Job::FailManyPreview { ids, refund }] = jobs(&c)[..] else {
        panic!("{c:?}")
    };
    assert_eq!(
        (ids.as_slice(), *refund),
        ([1827, 1826].as_slice(), RefundMode::All)
    );
    let ids = ids.clone();
    answer(&mut app, c, |_| {
        Some(Outcome::FailManyPreviewed(Ok(Box::new(preview_of(
            &ids,
            RefundMode::All,
            false,
        )))))
    });
    let s = screen(&app, 100, 30);
    assert!(s.contains("Fail 2 marked batches?"), "{s}");
    assert!(s.contains("2 to change, 0 skipped"), "{s}");
    assert!(s.contains("16 credits"), "{s}");
    assert!(s.contains("#1827") && s.contains("fail + refund 8"), "{s}");
    let c = apply(&mut app);
    let [Job::FailMany { preview, .. }] = jobs(&c)[..] else {
        panic!("{c:?}")
    };
    assert_eq!(preview.ids(), [1827, 1826], "the run is of the preview");
    // While it runs: the progress bar, and s to stop between chunks.
    let s = screen(&app, 100, 30);
    assert!(
        s.contains("starting…") && s.contains("s stop after this chunk"),
        "{s}"
    );
    answer(&mut app, c, |_| {
        Some(Outcome::FailedMany(Ok(Box::new(Change::Applied(
            report_of(&[1827, 1826]),
        )))))
    });
    let s = screen(&app, 100, 30);
    assert!(s.contains("Batches failed"), "{s}");
    assert!(
        s.contains("2 done, 1 skipped, 0 failed: 16 credits refunded"),
        "{s}"
    );
    assert!(
        s.contains("skipped #1825: changed since the preview"),
        "{s}"
    );
    update(&mut app, key(KeyCode::Enter));
    assert!(!shows(&app, "marked"), "the marks were for this");
}

#[test]
fn above_the_threshold_it_becomes_a_pending_request() {
    let mut app = stuck_view(&config(false, None));
    update(&mut app, ch(' '));
    update(&mut app, ch(' '));
    let c = review(&mut app, "GPU outage");
    answer(&mut app, c, |_| {
        Some(Outcome::FailManyPreviewed(Ok(Box::new(preview_of(
            &[1827, 1826],
            RefundMode::All,
            true,
        )))))
    });
    assert!(shows(&app, "one request for a second person"));
    let c = apply(&mut app);
    answer(&mut app, c, |_| {
        Some(Outcome::FailedMany(Ok(Box::new(Change::Pending(
            PendingRequest {
                id: 41,
                kind: "batch.fail_many".into(),
                summary: "fail 2 batches, refund 16 credits".into(),
                requested_at: t0(),
                expires_at: t0() + Duration::days(1),
            },
        )))))
    });
    let s = screen(&app, 100, 30);
    assert!(s.contains("Waiting for approval"), "{s}");
    assert!(s.contains("pending approval #41"), "{s}");
}

#[test]
fn bulk_screens_render_at_any_size() {
    let mut marked = stuck_view(&config(false, None));
    update(&mut marked, ch('A'));
    let mut form = stuck_view(&config(false, None));
    update(&mut form, ch('A'));
    update(&mut form, ch('F'));
    let mut confirm = stuck_view(&config(false, None));
    update(&mut confirm, ch(' '));
    update(&mut confirm, ch(' '));
    let c = review(&mut confirm, "outage");
    answer(&mut confirm, c, |_| {
        Some(Outcome::FailManyPreviewed(Ok(Box::new(preview_of(
            &[1827, 1826],
            RefundMode::All,
            true,
        )))))
    });
    let mut running = stuck_view(&config(false, None));
    update(&mut running, ch(' '));
    update(&mut running, ch(' '));
    let c = review(&mut running, "outage");
    answer(&mut running, c, |_| {
        Some(Outcome::FailManyPreviewed(Ok(Box::new(preview_of(
            &[1827, 1826],
            RefundMode::All,
            false,
        )))))
    });
    apply(&mut running);
    renders_at_any_size(&[marked, form, confirm, running]);
}

// ------------------------------------------------------------------ reverse

fn row(id: i32, amount: i32, kind: &str, reverses: Option<i32>, by: Option<i32>) -> LedgerRow {
    LedgerRow {
        entry: creditdesk::db::credits::LedgerEntry {
            id,
            created_at: t0() - Duration::minutes(i64::from(100 - id)),
            amount,
            kind: kind.into(),
            description: Some(format!("entry {id}")),
            transaction_id: None,
            photo_id: None,
            model_id: None,
            gift_card_id: None,
            gift_card_code: None,
            coupon_id: None,
            coupon_code: None,
            batch_id: None,
        },
        balance_after: 0,
        reverses_entry_id: reverses,
        reversed_by_entry_id: by,
    }
}

/// Newest first: #53 reverses #51; #52 an adjustment not reversed; #50 a
/// purchase.
fn ledger_rows() -> Vec<LedgerRow> {
    let mut rows = vec![
        row(53, -40, "admin_adjustment", Some(51), None),
        row(52, 15, "admin_adjustment", None, None),
        row(51, 40, "admin_adjustment", None, Some(53)),
        row(50, 100, "purchase", None, None),
    ];
    let mut after = 115;
    for r in &mut rows {
        r.balance_after = after;
        after -= i64::from(r.entry.amount);
    }
    rows
}

fn user_detail(config: &creditdesk::tui::ConsoleConfig) -> App {
    let mut app = App::new(config, t0(), Theme::COLOR, "test");
    let user = creditdesk::db::users::User {
        id: 12,
        email: "ana@example.com".into(),
        name: Some("Ana".into()),
        credits: 115,
        created_at: t0() - Duration::days(30),
    };
    let serve = move |job: &Job| -> Option<Outcome> {
        Some(match job {
            Job::FindUsers { .. } => Outcome::Users(Ok(vec![user.clone()])),
            Job::User { .. } => Outcome::User(Ok(user.clone())),
            Job::Overview { .. } => Outcome::Overview(Ok(creditdesk::db::credits::Overview {
                user: user.clone(),
                ledger_total: 115,
                totals: vec![],
                latest: vec![],
            })),
            Job::Ledger(_) => Outcome::Ledger(Ok(LedgerPage {
                entries: ledger_rows(),
                next: None,
            })),
            _ => return None,
        })
    };
    let c = update(&mut app, ch('3'));
    let c = answer(&mut app, c, &serve);
    answer(&mut app, c, &serve);
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, &serve);
    app
}

#[test]
fn the_ledger_shows_balances_and_reversal_links_both_ways_and_follows_them() {
    let mut app = user_detail(&config(false, None));
    let s = screen(&app, 120, 30);
    assert!(s.contains("balance"), "{s}");
    assert!(s.contains("reverses #51"), "{s}");
    assert!(s.contains("reversed by #53"), "{s}");
    assert!(s.contains("115"), "{s}");
    // #53 selected: Enter follows to #51; Esc comes back.
    assert!(s.contains("Enter follow the reversal"), "{s}");
    update(&mut app, key(KeyCode::Enter));
    let sel = selected_row(&app, 120, 30).unwrap();
    assert!(sel.contains("entry 51"), "{sel}");
    update(&mut app, key(KeyCode::Enter)); // and back to #53 the other way
    let sel = selected_row(&app, 120, 30).unwrap();
    assert!(sel.contains("entry 53"), "{sel}");
    assert!(screen(&app, 120, 30).contains("Esc back to the entry"));
    update(&mut app, key(KeyCode::Backspace));
    let sel = selected_row(&app, 120, 30).unwrap();
    assert!(sel.contains("entry 51"), "back: {sel}");
    // i: the entry itself, with both links.
    update(&mut app, ch('i'));
    let s = screen(&app, 120, 30);
    assert!(
        s.contains("Ledger entry #51") && s.contains("reversed by  #53"),
        "{s}"
    );
    assert!(s.contains("balance after  140"), "{s}");
    update(&mut app, key(KeyCode::Esc));
    update(&mut app, key(KeyCode::Esc));
    let sel = selected_row(&app, 120, 30).unwrap();
    assert!(sel.contains("entry 53"), "back: {sel}");
    assert!(!screen(&app, 120, 30).contains("back to the entry"));
    assert_eq!(app.active, TabId::Users);
}

#[test]
fn reverse_is_offered_only_for_entries_that_can_be_and_are_not_yet() {
    let mut app = user_detail(&config(false, None));
    // #53 is a reversal; #51 reversed already; #50 a purchase: no x.
    for (down, offered) in [(0, false), (1, true), (2, false), (3, false)] {
        update(&mut app, key(KeyCode::Home));
        for _ in 0..down {
            update(&mut app, key(KeyCode::Down));
        }
        assert_eq!(
            screen(&app, 120, 30).contains("x reverse"),
            offered,
            "row {down}: {}",
            screen(&app, 120, 30)
        );
        let c = update(&mut app, ch('x'));
        assert_eq!(changes(&c), 0);
        assert_eq!(app.active_tab().modal(), offered, "row {down}");
        if offered {
            update(&mut app, key(KeyCode::Esc));
        }
    }
    // A role without adjustments: not offered on #52 either.
    let mut support_less = user_detail(&config_as(&[Group::Oncall]));
    update(&mut support_less, key(KeyCode::Down));
    assert!(!screen(&support_less, 120, 30).contains("x reverse"));
    update(&mut support_less, ch('x'));
    assert!(!support_less.active_tab().modal());
}

#[test]
fn x_reverses_through_the_change_flow_with_the_fresh_balance() {
    let mut app = user_detail(&config(false, None));
    update(&mut app, key(KeyCode::Down)); // #52, +15
    update(&mut app, ch('x'));
    assert!(
        shows(&app, "Reverse entry #52"),
        "{}",
        screen(&app, 100, 30)
    );
    typed(&mut app, "booked twice by mistake");
    let c = update(&mut app, key(KeyCode::Enter));
    assert!(matches!(jobs(&c)[..], [Job::User { .. }]), "{c:?}");
    answer(&mut app, c, |_| {
        Some(Outcome::User(Ok(creditdesk::db::users::User {
            id: 12,
            email: "ana@example.com".into(),
            name: None,
            credits: 120, // changed since the page was read
            created_at: t0(),
        })))
    });
    let s = screen(&app, 100, 30);
    assert!(s.contains("120 → 105"), "{s}");
    assert!(s.contains("-15 (admin_adjustment, reverses #52)"), "{s}");
    let c = apply(&mut app);
    let [Job::Reverse { entry, .. }] = jobs(&c)[..] else {
        panic!("{c:?}")
    };
    assert_eq!(*entry, 52);
}

// ------------------------------------------------------------------ adjust many

fn plan(needs_approval: bool) -> creditdesk::db::bulk::adjust::Plan {
    use creditdesk::db::bulk::adjust::{PlanTotals, PlannedRow, RowStatus};
    let rows = (0..3usize)
        .map(|i| PlannedRow {
            line: i + 2,
            user: format!("u{i}@example.com"),
            user_id: Some(100 + i32::try_from(i).unwrap()),
            email: Some(format!("u{i}@example.com")),
            amount: Some(500),
            reason: None,
            key: format!("k{i}"),
            status: RowStatus::Ok,
            problems: vec![],
            balance_before: Some(0),
            balance_after: Some(500),
        })
        .collect();
    creditdesk::db::bulk::adjust::Plan {
        file: "/tmp/comp.csv".into(),
        digest: "ab".repeat(32),
        reason: "compensation".into(),
        rows,
        totals: PlanTotals {
            rows: 3,
            ok: 3,
            replayed: 0,
            bad: 0,
            users: 3,
            credited: 1500,
            debited: 0,
        },
        threshold: 1000,
        needs_approval,
    }
}

/// The users list, `M`, the form filled, the check answered with `plan`.
fn adjust_many_review(plan: creditdesk::db::bulk::adjust::Plan) -> App {
    let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
    let c = update(&mut app, ch('3'));
    answer(&mut app, c, |_| Some(Outcome::Users(Ok(vec![]))));
    update(&mut app, ch('M'));
    assert!(
        shows(&app, "Adjust many from a file"),
        "{}",
        screen(&app, 100, 30)
    );
    typed(&mut app, "/tmp/comp.csv");
    update(&mut app, key(KeyCode::Enter));
    typed(&mut app, "compensation");
    let c = update(&mut app, key(KeyCode::Enter));
    let [Job::AdjustManyCheck { path, reason }] = jobs(&c)[..] else {
        panic!("{c:?}")
    };
    assert_eq!(path.to_str(), Some("/tmp/comp.csv"));
    assert_eq!(reason.as_str(), "compensation");
    let plan = std::cell::RefCell::new(Some(plan));
    answer(&mut app, c, |_| {
        plan.borrow_mut()
            .take()
            .map(|p| Outcome::AdjustManyChecked(Ok(Box::new(p))))
    });
    app
}

#[test]
fn adjust_many_above_the_threshold_is_one_pending_request() {
    let mut app = adjust_many_review(plan(true));
    let s = screen(&app, 100, 30);
    assert!(s.contains("3: 3 to book, 0 booked already, 0 bad"), "{s}");
    assert!(s.contains("+1500 / -0"), "{s}");
    assert!(
        s.contains("over 1000 credits: one request for a second person"),
        "{s}"
    );
    let c = apply(&mut app);
    let [Job::AdjustMany { plan, .. }] = jobs(&c)[..] else {
        panic!("{c:?}")
    };
    assert_eq!(plan.totals.ok, 3, "the run is of the check");
    answer(&mut app, c, |_| {
        Some(Outcome::AdjustedMany(Ok(Box::new(Change::Pending(
            PendingRequest {
                id: 77,
                kind: "credits.adjust_many".into(),
                summary: "adjust 3 balances from /tmp/comp.csv".into(),
                requested_at: t0(),
                expires_at: t0() + Duration::days(1),
            },
        )))))
    });
    let s = screen(&app, 100, 30);
    assert!(s.contains("pending approval #77"), "{s}");
}

#[test]
fn a_bad_file_is_refused_with_every_bad_row_by_its_line() {
    use creditdesk::db::bulk::adjust::RowStatus;
    let mut p = plan(false);
    for (i, r) in p.rows.iter_mut().enumerate().skip(1) {
        r.status = RowStatus::Bad;
        r.problems = vec![format!("problem {i}")];
    }
    p.totals.ok = 1;
    p.totals.bad = 2;
    let app = adjust_many_review(p);
    let s = screen(&app, 100, 30);
    assert!(
        s.contains("2 of 3 rows are bad, so nothing is booked"),
        "{s}"
    );
    assert!(
        s.contains("line 3: problem 1") && s.contains("line 4: problem 2"),
        "{s}"
    );
    assert!(!s.contains("Enter book"), "nothing to confirm: {s}");
}

#[test]
fn reverse_and_adjust_many_render_at_any_size() {
    let mut reverse = user_detail(&config(false, None));
    update(&mut reverse, key(KeyCode::Down));
    update(&mut reverse, ch('x'));
    let confirm = adjust_many_review(plan(true));
    let mut running = adjust_many_review(plan(false));
    apply(&mut running);
    renders_at_any_size(&[user_detail(&config(false, None)), reverse, confirm, running]);
}

// ------------------------------------------------------------------ real db

mod real_database {
    use super::*;
    use creditdesk::db::credits;
    use creditdesk::testing::{TestDb, scalar_i64};
    use creditdesk::tui::Effects;
    use creditdesk::tui::Msg;
    use sqlx::AssertSqlSafe;

    async fn exec(pool: &sqlx::PgPool, sql: &str) {
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// `users` users with 1000 credits each, each with `per_user` batches
    /// generating for 2 hours that charged 8 credits.
    async fn stuck_batches(pool: &sqlx::PgPool, users: i32, per_user: i32) -> i64 {
        exec(
            pool,
            &format!(
                "insert into users (email, name, credits)
                   select 'bulk' || g || '@example.com', 'Bulk', 1000 from generate_series(1, {users}) g;
                 insert into credit_history (\"userId\", amount, type, description)
                   select id, 1000, 'purchase', 'pack' from users where email like 'bulk%';
                 insert into photo_generation_batches (\"userId\", \"totalImagesGenerated\", \"creditsUsed\",
                                                       \"aspectRatio\", glasses, status, \"createdAt\")
                   select u.id, 4, 8, '1:1', 'no', 'generating',
                          now() - interval '2 hours' - (u.id * {per_user} + k) * interval '1 second'
                   from users u cross join generate_series(1, {per_user}) k where u.email like 'bulk%';
                 insert into credit_history (\"userId\", amount, type, \"relatedBatchId\")
                   select \"userId\", -8, 'generation', id from photo_generation_batches;
                 update users u set credits = u.credits - s.c
                   from (select \"userId\", sum(\"creditsUsed\") as c from photo_generation_batches
                         group by 1) s where s.\"userId\" = u.id;"
            ),
        )
        .await;
        scalar_i64(pool, "select count(*) from photo_generation_batches").await
    }

    /// Runs `commands`; presses `s` in the dialog as soon as the progress
    /// shows a chunk done (the run stops between chunks).
    async fn settle_stopping(app: &mut App, effects: &mut Effects, commands: Vec<Command>) {
        effects.apply(commands);
        let mut pressed = false;
        while effects.pending() > 0 {
            let msg =
                tokio::time::timeout(std::time::Duration::from_millis(2), effects.next()).await;
            if let Ok(msg) = msg {
                let next = update(app, msg);
                effects.apply(next);
            }
            if !pressed {
                let s = screen(app, 120, 40);
                if s.contains("] 500/") {
                    let next = update(app, ch('s'));
                    effects.apply(next);
                    pressed = true;
                    assert!(
                        screen(app, 120, 40).contains("stopping after the chunk in flight"),
                        "{}",
                        screen(app, 120, 40)
                    );
                }
            }
        }
    }

    async fn refunds(pool: &sqlx::PgPool) -> (i64, i64) {
        (
            scalar_i64(
                pool,
                "select count(*) from credit_history where type = 'refund'",
            )
            .await,
            scalar_i64(
                pool,
                "select count(*) from (select \"relatedBatchId\" from credit_history
                 where type = 'refund' group by 1 having count(*) > 1) s",
            )
            .await,
        )
    }

    /// Marks all in the stuck view, fails them with a refund, through the
    /// effect runner; `stop`: pressing `s` once a chunk is done.
    async fn fail_all_marked(app: &mut App, effects: &mut Effects, stop: bool) -> String {
        let c = update(app, ch('R'));
        settle(app, effects, c).await;
        update(app, ch('A'));
        update(app, ch('F'));
        typed(app, "GPU outage");
        update(app, key(KeyCode::Enter));
        let c = update(app, key(KeyCode::Enter));
        settle(app, effects, c).await;
        let s = screen(app, 120, 40);
        assert!(s.contains("Fail ") && s.contains("marked batches?"), "{s}");
        let c = apply(app);
        if stop {
            settle_stopping(app, effects, c).await;
        } else {
            settle(app, effects, c).await;
        }
        screen(app, 120, 40)
    }

    #[tokio::test]
    async fn a_fail_many_run_stopped_half_way_then_run_again_refunds_nothing_twice() {
        let db = TestDb::new().await;
        let total = stuck_batches(&db.pool, 50, 25).await; // 1250: three chunks
        assert_eq!(total, 1250);
        let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
        let mut effects = Effects::new(
            db.tool.clone(),
            creditdesk::domain::operator::Operator::parse("ana").unwrap(),
        );
        let c = update(&mut app, ch('4'));
        settle(&mut app, &mut effects, c).await;
        let c = update(&mut app, ch('s'));
        settle(&mut app, &mut effects, c).await;
        assert!(shows(&app, "1250 batches"), "{}", screen(&app, 100, 30));

        let s = fail_all_marked(&mut app, &mut effects, true).await;
        assert!(s.contains("Stopped: batches failed in part"), "{s}");
        assert!(s.contains("not run; mark them and run again"), "{s}");
        let (first, twice) = refunds(&db.pool).await;
        assert!(
            (500..1250).contains(&first),
            "stopped between chunks: {first}"
        );
        assert_eq!(first % 500, 0, "whole chunks only: {first}");
        assert_eq!(twice, 0);
        update(&mut app, key(KeyCode::Enter)); // close the result

        // Again, on what is still stuck: the rest, none twice.
        let s = fail_all_marked(&mut app, &mut effects, false).await;
        assert!(s.contains("Batches failed"), "{s}");
        assert!(
            s.contains(&format!("{} done, 0 skipped, 0 failed", 1250 - first)),
            "{s}"
        );
        assert_eq!(refunds(&db.pool).await, (1250, 0));
        assert!(credits::verify(&db.tool).await.unwrap().is_empty());
        update(&mut app, key(KeyCode::Enter));
        let c = update(&mut app, ch('R'));
        settle(&mut app, &mut effects, c).await;
        assert!(shows(&app, "no stuck batches"), "{}", screen(&app, 100, 30));
    }

    #[tokio::test]
    async fn reverse_from_the_ledger_then_not_offered_again() {
        let db = TestDb::new().await;
        let pool = &db.pool;
        let user = creditdesk::testing::user(pool, "rev@example.com").await;
        exec(
            pool,
            &format!(
                "insert into credit_history (\"userId\", amount, type, description)
                   values ({user}, 100, 'purchase', 'pack');
                 insert into credit_history (\"userId\", amount, type, description)
                   values ({user}, 30, 'admin_adjustment', 'goodwill');
                 update users set credits = 130 where id = {user};"
            ),
        )
        .await;
        let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
        let mut effects = Effects::new(
            db.tool.clone(),
            creditdesk::domain::operator::Operator::parse("ana").unwrap(),
        );
        let c = update(&mut app, Msg::Open(creditdesk::tui::Link::User(user)));
        settle(&mut app, &mut effects, c).await;
        let s = screen(&app, 120, 30);
        assert!(s.contains("goodwill") && s.contains("x reverse"), "{s}");
        update(&mut app, ch('x'));
        typed(&mut app, "wrong user");
        let c = update(&mut app, key(KeyCode::Enter));
        settle(&mut app, &mut effects, c).await;
        assert!(shows(&app, "130 → 100"), "{}", screen(&app, 100, 30));
        let c = apply(&mut app);
        settle(&mut app, &mut effects, c).await;
        let s = screen(&app, 120, 30);
        assert!(s.contains("Entry reversed"), "{s}");
        assert!(s.contains("balance 130 → 100"), "{s}");
        let c = update(&mut app, key(KeyCode::Enter)); // close: loaded again
        settle(&mut app, &mut effects, c).await;
        let s = screen(&app, 120, 30);
        assert!(
            s.contains("reversed by #") && s.contains("reverses #"),
            "{s}"
        );
        // The newest (the reversal) then the original: neither offers x.
        for _ in 0..2 {
            assert!(
                !screen(&app, 120, 30).contains("x reverse"),
                "{}",
                screen(&app, 120, 30)
            );
            assert!(update(&mut app, ch('x')).is_empty());
            assert!(!app.active_tab().modal());
            update(&mut app, key(KeyCode::Down));
        }
        assert_eq!(
            scalar_i64(
                pool,
                &format!("select credits::int8 from users where id = {user}")
            )
            .await,
            100
        );
    }

    #[tokio::test]
    async fn adjust_many_from_a_file_lists_bad_rows_then_books_a_good_file() {
        let db = TestDb::new().await;
        let pool = &db.pool;
        let a = creditdesk::testing::user(pool, "a@example.com").await;
        let _b = creditdesk::testing::user(pool, "b@example.com").await;
        let dir = std::env::temp_dir().join(format!("creditdesk-tui-bulk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.csv");
        std::fs::write(
            &bad,
            "user,amount\na@example.com,10\nnobody@example.com,5\nb@example.com,0\n",
        )
        .unwrap();
        let good = dir.join("good.csv");
        std::fs::write(&good, format!("user,amount\n{a},10\nb@example.com,20\n")).unwrap();

        let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
        let mut effects = Effects::new(
            db.tool.clone(),
            creditdesk::domain::operator::Operator::parse("ana").unwrap(),
        );
        let c = update(&mut app, ch('3'));
        settle(&mut app, &mut effects, c).await;
        assert!(shows(&app, "M adjust many"), "{}", screen(&app, 100, 30));
        for (file, ok) in [(&bad, false), (&good, true)] {
            update(&mut app, ch('M'));
            typed(&mut app, &file.to_string_lossy());
            update(&mut app, key(KeyCode::Enter));
            typed(&mut app, "compensation");
            let c = update(&mut app, key(KeyCode::Enter));
            settle(&mut app, &mut effects, c).await;
            let s = screen(&app, 120, 40);
            if !ok {
                assert!(s.contains("2 of 3 rows are bad"), "{s}");
                assert!(s.contains("line 3:") && s.contains("line 4:"), "{s}");
                update(&mut app, key(KeyCode::Enter)); // close
                continue;
            }
            assert!(s.contains("2: 2 to book, 0 booked already, 0 bad"), "{s}");
            assert!(s.contains("+30 / -0"), "{s}");
            let c = apply(&mut app);
            settle(&mut app, &mut effects, c).await;
            let s = screen(&app, 120, 40);
            assert!(s.contains("Balances adjusted"), "{s}");
            assert!(s.contains("2 rows booked (+30 / -0)"), "{s}");
            update(&mut app, key(KeyCode::Enter));
        }
        assert_eq!(
            scalar_i64(
                pool,
                "select count(*) from credit_history where type = 'admin_adjustment'"
            )
            .await,
            2
        );
        assert!(credits::verify(&db.tool).await.unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
