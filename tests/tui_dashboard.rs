//! The Dashboard tab (6): fixed figures (the clock at t0) drawn at 80x24
//! and 200x60 into insta snapshots, every size without a panic, polling
//! like the other live views, and `reports::dashboard` through the effect
//! runner against real PostgreSQL.

mod common;

use chrono::{Duration, DurationRound, NaiveDate};
use common::*;
use creditdesk::db::reports::{
    BatchReport, BigAdjustment, DailyReport, Dashboard, Day, Hour, Stuck, StuckBatch, TypeFlow,
};
use creditdesk::tui::{App, Job, Msg, Outcome, TabId, Theme, update};
use crossterm::event::KeyCode;

fn flow(kind: &str, credited: i64, debited: i64) -> TypeFlow {
    TypeFlow {
        kind: kind.into(),
        credited,
        debited,
        entries: (credited + debited) / 8 + 1,
    }
}

/// 30 days ending on t0's day: a steady business, and today a spike of
/// refunds (an outage).
fn dashboard() -> Dashboard {
    let today = t0().date_naive();
    let days: Vec<Day> = (0..30i64)
        .map(|i| {
            let day: NaiveDate = today - Duration::days(29 - i);
            let wave = (i * 37 % 11) * 40;
            let last = i == 29;
            let by_type = vec![
                flow("purchase", 2_000 + wave, 0),
                flow("gift_card", 300 + (i % 4) * 50, 0),
                flow("coupon", 120 + (i % 3) * 20, 0),
                flow("generation", 0, 1_800 + wave / 2),
                flow("training", 0, 200 + (i % 5) * 10),
                flow("refund", if last { 960 } else { 40 + (i % 2) * 16 }, 0),
                flow("admin_adjustment", 50, if i % 7 == 0 { 120 } else { 0 }),
            ];
            let credited = by_type.iter().map(|t| t.credited).sum();
            let debited = by_type.iter().map(|t| t.debited).sum();
            Day {
                day,
                credited,
                debited,
                by_type,
                coupon_redemptions: 6 + i % 3,
                gift_card_redemptions: 3 + i % 2,
            }
        })
        .collect();
    let first_hour = t0().duration_trunc(Duration::hours(1)).unwrap() - Duration::hours(47);
    let hours: Vec<Hour> = (0..48i64)
        .map(|i| {
            let outage = i >= 44;
            Hour {
                hour: first_hour + Duration::hours(i),
                generating: if outage { 30 + (i - 44) * 10 } else { 1 },
                completed: if outage { 4 } else { 40 + (i * 13 % 9) * 3 },
                failed: if outage { 12 } else { i % 3 },
            }
        })
        .collect();
    let oldest = (0..4)
        .map(|i| StuckBatch {
            batch_id: 1820 + i,
            user_id: 12 + i,
            created_at: t0() - Duration::minutes(190 - i64::from(i) * 50),
            age_seconds: (190 - i64::from(i) * 50) * 60,
            credits_used: 8,
        })
        .collect();
    Dashboard {
        daily: DailyReport {
            since: days[0].day,
            until: today,
            complete: true,
            days,
            biggest_adjustments: vec![
                BigAdjustment {
                    entry_id: 901,
                    created_at: t0() - Duration::hours(5),
                    user_id: 12,
                    email: "ana@example.com".into(),
                    amount: -120,
                    description: Some("chargeback".into()),
                },
                BigAdjustment {
                    entry_id: 902,
                    created_at: t0() - Duration::days(2),
                    user_id: 7,
                    email: "evil\u{1b}[2J@example.com".into(),
                    amount: 50,
                    description: Some("goodwill \u{202e}txet".into()),
                },
            ],
        },
        batches: BatchReport {
            since: first_hour,
            hours,
            stuck: Stuck {
                over_warn: 3,
                over_alert: 2,
                generating: 61,
                oldest,
            },
            failure_rate: Some(0.061),
            failure_rate_24h: Some(0.084),
        },
        at: t0(),
    }
}

fn fixture(job: &Job) -> Option<Outcome> {
    match job {
        Job::Dashboard => Some(Outcome::Dashboard(Ok(Box::new(dashboard())))),
        _ => None,
    }
}

/// On tab 6, the figures loaded.
fn shown() -> App {
    let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
    let c = update(&mut app, ch('6'));
    assert_eq!(app.active, TabId::Dashboard);
    assert!(
        runs(&c).iter().any(|r| matches!(r.job, Job::Dashboard)),
        "{c:?}"
    );
    answer(&mut app, c, fixture);
    app
}

fn screen(app: &App, w: u16, h: u16) -> String {
    rows(app, w, h).join("\n")
}

#[test]
fn snapshot_dashboard_80x24() {
    let app = shown();
    insta::assert_snapshot!("dashboard_80x24", body(&app, 80, 24));
}

#[test]
fn snapshot_dashboard_200x60() {
    let app = shown();
    insta::assert_snapshot!("dashboard_200x60", body(&app, 200, 60));
}

#[test]
fn the_dashboard_says_at_a_glance_whether_things_are_normal() {
    let app = shown();
    let s = screen(&app, 80, 24);
    assert!(s.contains("stuck now 3 over 15m, 2 over 1h "), "{s}");
    assert!(s.contains("failure rate 8.4% last 24h"), "{s}");
    assert!(s.contains("refunded 960 (avg 47)"), "today's refunds: {s}");
    assert!(s.contains("credits per day, 30 days"), "{s}");
    assert!(s.contains("batches per hour, 48 hours"), "{s}");
    let wide = screen(&app, 200, 60);
    for text in [
        "today vs the days before",
        "oldest generating",
        "biggest adjustments, 7 days",
        "#1820",
        "chargeback",
    ] {
        assert!(wide.contains(text), "{text}: {wide}");
    }
    assert_defused(&rows(&app, 200, 60).concat());
}

#[test]
fn the_dashboard_polls_and_p_pauses_it() {
    let mut app = shown();
    let later = app.now + Duration::seconds(6);
    let c = update(&mut app, Msg::Tick(later));
    assert!(
        runs(&c).iter().any(|r| matches!(r.job, Job::Dashboard)),
        "loads again by itself: {c:?}"
    );
    answer(&mut app, c, fixture);
    update(&mut app, ch('p'));
    assert!(screen(&app, 80, 24).contains("paused (p)"));
    let later = app.now + Duration::seconds(60);
    let c = update(&mut app, Msg::Tick(later));
    assert!(!runs(&c).iter().any(|r| matches!(r.job, Job::Dashboard)));
    // Esc while loading stops it.
    let c = update(&mut app, ch('R'));
    assert!(runs(&c).iter().any(|r| matches!(r.job, Job::Dashboard)));
    let c = update(&mut app, key(KeyCode::Esc));
    assert_eq!(cancels(&c), 1);
}

#[test]
fn dashboard_renders_at_any_size() {
    let mut loading = App::new(&config(false, None), t0(), Theme::COLOR, "test");
    update(&mut loading, ch('6'));
    let mut failed = App::new(&config(false, None), t0(), Theme::COLOR, "test");
    let c = update(&mut failed, ch('6'));
    answer(&mut failed, c, |_| {
        Some(Outcome::Dashboard(Err(
            creditdesk::error::Error::Infrastructure("database unreachable".into()),
        )))
    });
    let mut empty = App::new(&config(false, None), t0(), Theme::NO_COLOR, "test");
    let c = update(&mut empty, ch('6'));
    answer(&mut empty, c, |_| {
        let mut d = dashboard();
        d.daily.days.clear();
        d.daily.biggest_adjustments.clear();
        d.batches.hours.clear();
        d.batches.stuck.oldest.clear();
        d.daily.complete = false;
        Some(Outcome::Dashboard(Ok(Box::new(d))))
    });
    renders_at_any_size(&[shown(), loading, failed, empty]);
}

mod real_database {
    use super::*;
    use creditdesk::testing::TestDb;
    use creditdesk::tui::Effects;

    #[tokio::test]
    async fn the_dashboard_reads_the_reports_through_the_effect_runner() {
        let db = TestDb::new().await;
        let pool = &db.pool;
        let user = creditdesk::testing::user(pool, "dash@example.com").await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "insert into credit_history (\"userId\", amount, type, description)
               values ({user}, 100, 'purchase', 'pack');
             insert into photo_generation_batches (\"userId\", \"totalImagesGenerated\", \"creditsUsed\",
                                                   \"aspectRatio\", glasses, status, \"createdAt\")
               values ({user}, 4, 8, '1:1', 'no', 'generating', now() - interval '2 hours');
             update users set credits = 100 where id = {user};"
        )))
        .execute(pool)
        .await
        .unwrap();
        let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
        let mut effects = Effects::new(
            db.tool.clone(),
            creditdesk::domain::operator::Operator::parse("ana").unwrap(),
        );
        let c = update(&mut app, ch('6'));
        settle(&mut app, &mut effects, c).await;
        let s = screen(&app, 80, 24);
        assert!(s.contains("stuck now 1 over 15m, 1 over 1h "), "{s}");
        assert!(s.contains("today sold 100"), "{s}");
        let s = screen(&app, 200, 60);
        assert!(s.contains("oldest generating"), "{s}");
    }
}
