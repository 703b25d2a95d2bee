//! The Batches tab without a terminal: `update` driven with messages,
//! screens rendered into ratatui's `TestBackend` and compared with insta
//! snapshots (fixed clock, fixed data, no database), plus one
//! fail-and-refund through the effect runner against a real database.

mod common;

use chrono::Duration;
use common::*;
use creditdesk::db::Target;
use creditdesk::db::batches::{
    BatchDetail, BatchModel, BatchPhoto, BatchSummary, BatchUser, FailedBatch, GenerationOptions,
    Refund,
};
use creditdesk::db::credits::LedgerEntry;
use creditdesk::domain::Refusal;
use creditdesk::domain::operator::Operator;
use creditdesk::tui::{
    App, Command, ConsoleConfig, Job, Link, Msg, Outcome, Request, TabId, Theme, update,
};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

// ------------------------------------------------------------------ helpers

fn app_with(read_only: bool, env: Option<&str>) -> App {
    App::new(&config(read_only, env), t0(), Theme::COLOR, "test")
}

fn fails(commands: &[Command]) -> Vec<&Request> {
    runs(commands)
        .into_iter()
        .filter(|r| matches!(r.job, Job::FailBatch { .. }))
        .collect()
}

fn screen(app: &App, w: u16, h: u16) -> String {
    rows(app, w, h).join("\n")
}

/// Whether the 80x24 screen shows `text`.
fn shows(app: &App, text: &str) -> bool {
    screen(app, 80, 24).contains(text)
}

/// A dialog's own key lines (three spaces apart; the footer uses two).
const FORM_OPEN: &str = "Enter review   Esc cancel";
const CONFIRM_OPEN: &str = "apply   Esc back";

/// No fail dialog is on screen.
fn no_dialog(app: &App) -> bool {
    !shows(app, "┌ Fail batch") && !shows(app, "Batch failed") && !shows(app, "Refused")
}

/// The batch ids listed, top to bottom.
fn listed_ids(app: &App) -> Vec<i32> {
    rows(app, 80, 24)
        .iter()
        .filter_map(|r| {
            let r = r.trim_start_matches('│');
            r.strip_prefix('#')?.split_whitespace().next()?.parse().ok()
        })
        .collect()
}

// ------------------------------------------------------------------ data

fn summary(
    id: i32,
    user: (i32, &str),
    model: Option<(i32, &str)>,
    status: &str,
    credits: i32,
    minutes_ago: i64,
) -> BatchSummary {
    let created_at = t0() - Duration::minutes(minutes_ago);
    BatchSummary {
        id,
        user_id: user.0,
        user_email: user.1.into(),
        model_id: model.map(|m| m.0),
        model_name: model.map(|m| m.1.to_owned()),
        status: status.into(),
        images: credits,
        credits_used: credits,
        created_at,
        age_seconds: minutes_ago * 60,
        completed_at: (status == "completed").then(|| created_at + Duration::minutes(4)),
    }
}

const ANA: (i32, &str) = (12, "ana@example.com");
const BO: (i32, &str) = (11, "bo@example.org");
const EVIL: (i32, &str) = (7, "evil\u{1b}[2J@example.com");

fn all_batches() -> Vec<BatchSummary> {
    vec![
        summary(1830, ANA, Some((5, "Ana headshots")), "generating", 8, 2),
        summary(1829, BO, None, "completed", 4, 50),
        summary(
            1828,
            EVIL,
            Some((3, "Mallory \u{202e}ledom")),
            "failed",
            4,
            120,
        ),
        summary(1827, ANA, Some((5, "Ana headshots")), "generating", 10, 185),
        summary(1826, BO, Some((4, "Bo pro")), "generating", 4, 30),
    ]
}

/// Oldest first, as `batches::list` returns the stuck view.
fn stuck_batches() -> Vec<BatchSummary> {
    vec![
        summary(1827, ANA, Some((5, "Ana headshots")), "generating", 10, 185),
        summary(1826, BO, Some((4, "Bo pro")), "generating", 4, 30),
    ]
}

fn options(aspect: &str, backgrounds: &[&str], styles: &[&str]) -> GenerationOptions {
    GenerationOptions {
        aspect_ratio: Some(aspect.into()),
        glasses: Some("no".into()),
        hair_color: Some("brown".into()),
        hair_style: Some("long".into()),
        backgrounds: Some(serde_json::json!(backgrounds)),
        styles: Some(serde_json::json!(styles)),
    }
}

fn ledger_entry(
    id: i32,
    minutes_ago: i64,
    amount: i32,
    kind: &str,
    description: &str,
) -> LedgerEntry {
    LedgerEntry {
        id,
        created_at: t0() - Duration::minutes(minutes_ago),
        amount,
        kind: kind.into(),
        description: Some(description.into()),
        transaction_id: None,
        photo_id: None,
        model_id: None,
        gift_card_id: None,
        gift_card_code: None,
        coupon_id: None,
        coupon_code: None,
        batch_id: None,
    }
}

/// Batch 1827: stuck 3h 05m, a model, options, two photos (one with its own
/// options), two generation entries (one linked only by its photo), and a
/// creditsUsed counter (10) that differs from what the ledger charged (8).
fn stuck_detail() -> BatchDetail {
    let created = t0() - Duration::minutes(185);
    let mut by_batch = ledger_entry(49, 184, -4, "generation", "Generated 4 photos");
    by_batch.batch_id = Some(1827);
    by_batch.photo_id = Some(9001);
    let mut by_photo = ledger_entry(50, 183, -4, "generation", "Generated \u{1b}[31m4 photos");
    by_photo.photo_id = Some(9002);
    BatchDetail {
        id: 1827,
        status: "generating".into(),
        images: 8,
        credits_used: 10,
        created_at: created,
        age_seconds: 185 * 60,
        completed_at: None,
        options: options("9:16", &["beach", "city"], &["linkedin", "studio"]),
        user: BatchUser {
            id: 12,
            email: "ana@example.com".into(),
            name: Some("Ana López".into()),
            credits: 170,
        },
        model: Some(BatchModel {
            id: 5,
            name: "Ana headshots".into(),
            status: Some("ready".into()),
        }),
        photos: vec![
            BatchPhoto {
                id: 9001,
                url: "https://cdn.example.com/u12/b1827/9001.jpg".into(),
                credits_used: 4,
                created_at: created + Duration::minutes(1),
                options: options("9:16", &["beach", "city"], &["linkedin", "studio"]),
            },
            BatchPhoto {
                id: 9002,
                url: "https://cdn.example.com/u12/b1827/9002.jpg".into(),
                credits_used: 4,
                created_at: created + Duration::minutes(2),
                options: options("1:1", &["office"], &["linkedin"]),
            },
        ],
        charged: 8,
        refunded: 0,
        entries: vec![by_batch, by_photo],
    }
}

/// Batch 1829: completed, its model deleted, no photos, one entry.
fn no_model_detail() -> BatchDetail {
    let created = t0() - Duration::minutes(50);
    let mut charge = ledger_entry(60, 49, -4, "generation", "Generated 4 photos");
    charge.batch_id = Some(1829);
    BatchDetail {
        id: 1829,
        status: "completed".into(),
        images: 4,
        credits_used: 4,
        created_at: created,
        age_seconds: 50 * 60,
        completed_at: Some(created + Duration::minutes(4)),
        options: GenerationOptions {
            aspect_ratio: Some("1:1".into()),
            glasses: Some("yes".into()),
            hair_color: None,
            hair_style: None,
            backgrounds: None,
            styles: Some(serde_json::json!([])),
        },
        user: BatchUser {
            id: 11,
            email: "bo@example.org".into(),
            name: None,
            credits: 0,
        },
        model: None,
        photos: vec![],
        charged: 4,
        refunded: 0,
        entries: vec![charge],
    }
}

fn fixture(job: &Job) -> Option<Outcome> {
    Some(match job {
        Job::FindUsers { .. } => Outcome::Users(Ok(vec![])),
        Job::Batches(f) if f.stuck_older_than.is_some() => Outcome::Batches(Ok(stuck_batches())),
        Job::Batches(f) => Outcome::Batches(Ok(all_batches()
            .into_iter()
            .filter(|b| f.status.is_none_or(|s| s.as_str() == b.status))
            .collect())),
        Job::Batch { id: 1829 } => Outcome::Batch(Ok(Box::new(no_model_detail()))),
        Job::Batch { .. } => Outcome::Batch(Ok(Box::new(stuck_detail()))),
        _ => return None,
    })
}

fn done() -> FailedBatch {
    FailedBatch {
        batch_id: 1827,
        user_id: 12,
        email: "ana@example.com".into(),
        previous_status: "generating".into(),
        status: "failed".into(),
        marked_failed: true,
        charged: 8,
        refunded: 8,
        entry_id: Some(51),
        old_balance: 170,
        new_balance: 178,
    }
}

// ------------------------------------------------------------------ states

/// Shows the Batches tab (its first load), whichever tab the console
/// starts on; the other tabs are never started, so nothing of theirs is
/// pending.
fn to_batches(app: &mut App) -> Vec<Command> {
    let c = if app.active == TabId::Batches {
        update(app, Msg::Start)
    } else {
        update(app, ch('4'))
    };
    assert_eq!(app.active, TabId::Batches);
    c
}

/// Started, on the Batches tab, the list loaded.
fn listed(read_only: bool) -> App {
    let mut app = app_with(read_only, Some("PRODUCTION"));
    let c = to_batches(&mut app);
    answer(&mut app, c, fixture);
    app
}

/// The stuck view loaded.
fn stuck(read_only: bool) -> App {
    let mut app = listed(read_only);
    let c = update(&mut app, ch('s'));
    answer(&mut app, c, fixture);
    app
}

/// The oldest stuck batch (1827) opened and loaded.
fn opened(read_only: bool) -> App {
    let mut app = stuck(read_only);
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, fixture);
    app
}

/// The fail form of batch 1827 filled in: `refund` replaces the proposed
/// refund unless `None`.
fn filled(app: &mut App, reason: &str, refund: Option<&str>) {
    assert!(update(app, ch('F')).is_empty());
    assert!(shows(app, FORM_OPEN), "the form opens");
    typed(app, reason);
    update(app, key(KeyCode::Tab));
    if let Some(refund) = refund {
        for _ in 0..10 {
            update(app, key(KeyCode::Backspace));
        }
        typed(app, refund);
    }
}

/// The confirmation of failing 1827 with `refund`.
fn confirming(app: &mut App, reason: &str, refund: Option<&str>) {
    filled(app, reason, refund);
    let c = update(app, key(KeyCode::Enter));
    assert!(
        matches!(&runs(&c)[..], [r] if matches!(r.job, Job::Batch { id: 1827 })),
        "the batch is read fresh: {c:?}"
    );
    answer(app, c, fixture);
    assert!(shows(app, CONFIRM_OPEN), "the confirmation shows");
}

// ---------------------------------------------------------------- snapshots

#[test]
fn snapshot_list() {
    let app = listed(false);
    insta::assert_snapshot!("batches_list", body(&app, 80, 24));
}

#[test]
fn snapshot_list_wide() {
    let app = listed(false);
    insta::assert_snapshot!("batches_list_200x60", body(&app, 200, 60));
}

#[test]
fn snapshot_stuck_view() {
    let app = stuck(false);
    insta::assert_snapshot!("batches_stuck", body(&app, 80, 24));
}

#[test]
fn snapshot_stuck_view_empty() {
    let mut app = listed(false);
    let c = update(&mut app, ch('s'));
    answer(&mut app, c, |_| Some(Outcome::Batches(Ok(vec![]))));
    insta::assert_snapshot!("batches_stuck_empty", body(&app, 80, 24));
}

#[test]
fn snapshot_status_filter() {
    let mut app = listed(false);
    for _ in 0..3 {
        let c = update(&mut app, ch('f'));
        answer(&mut app, c, fixture);
    }
    insta::assert_snapshot!("batches_status_failed", body(&app, 80, 24));
}

#[test]
fn snapshot_filter_form_errors() {
    let mut app = stuck(false);
    update(&mut app, ch('/'));
    typed(&mut app, "nobody");
    update(&mut app, key(KeyCode::Tab));
    for _ in 0..5 {
        update(&mut app, key(KeyCode::Backspace));
    }
    typed(&mut app, "-2h");
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    insta::assert_snapshot!("batches_filter_errors", body(&app, 80, 24));
}

#[test]
fn snapshot_detail() {
    let app = opened(false);
    insta::assert_snapshot!("batch_detail", body(&app, 80, 24));
}

#[test]
fn snapshot_detail_scrolled() {
    // Twelve photos: more lines than the screen has.
    let mut app = stuck(false);
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, |_| {
        let mut d = stuck_detail();
        let photo = d.photos[0].clone();
        d.photos = (0..12)
            .map(|i| BatchPhoto {
                id: 9001 + i,
                ..photo.clone()
            })
            .collect();
        Some(Outcome::Batch(Ok(Box::new(d))))
    });
    // Down past the end stops with the last line at the bottom...
    render(&app, 80, 24);
    for _ in 0..40 {
        update(&mut app, ch('j'));
    }
    insta::assert_snapshot!("batch_detail_scrolled", body(&app, 80, 24));
    // ...and one up moves at once.
    let bottom = screen(&app, 80, 24);
    update(&mut app, ch('k'));
    assert_ne!(screen(&app, 80, 24), bottom);
    update(&mut app, key(KeyCode::Home));
    let top = screen(&app, 80, 24);
    assert!(top.contains("status      generating"), "{top}");
}

#[test]
fn snapshot_detail_large() {
    let app = opened(false);
    insta::assert_snapshot!("batch_detail_200x60", body(&app, 200, 60));
}

#[test]
fn snapshot_detail_without_model() {
    let mut app = listed(false);
    update(&mut app, ch('j'));
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, fixture);
    assert!(shows(&app, "Batch #1829"));
    insta::assert_snapshot!("batch_detail_no_model", body(&app, 80, 24));
}

#[test]
fn snapshot_detail_loading() {
    let mut app = stuck(false);
    update(&mut app, key(KeyCode::Enter));
    insta::assert_snapshot!("batch_detail_loading", body(&app, 80, 24));
}

#[test]
fn snapshot_fail_form() {
    let mut app = opened(false);
    update(&mut app, ch('F'));
    insta::assert_snapshot!("batch_fail_form", body(&app, 80, 24));
}

#[test]
fn snapshot_fail_form_errors() {
    let mut app = opened(false);
    filled(&mut app, "", Some("lots"));
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    insta::assert_snapshot!("batch_fail_form_errors", body(&app, 80, 24));
}

#[test]
fn snapshot_fail_confirm_result_and_refusal() {
    let mut app = opened(false);
    confirming(&mut app, "stuck for 3 hours", None);
    insta::assert_snapshot!("batch_fail_confirm", body(&app, 80, 24));
    let sent = apply(&mut app);
    insta::assert_snapshot!("batch_fail_in_flight", body(&app, 80, 24));
    answer(&mut app, sent, |job| {
        matches!(job, Job::FailBatch { .. }).then(|| Outcome::BatchFailed(Ok(done())))
    });
    insta::assert_snapshot!("batch_fail_done", body(&app, 80, 24));

    // More than it charged: known from the fresh numbers, said instead of
    // asked.
    let mut app = opened(false);
    filled(&mut app, "stuck for 3 hours", Some("20"));
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, fixture);
    assert!(!shows(&app, CONFIRM_OPEN), "no confirmation to refuse");
    insta::assert_snapshot!("batch_fail_refused", body(&app, 80, 24));
    // The database refuses what the rules here don't know.
    let mut app = opened(false);
    confirming(&mut app, "stuck for 3 hours", Some("6"));
    let sent = apply(&mut app);
    answer(&mut app, sent, |_| {
        Some(Outcome::BatchFailed(Err(
            Refusal::BatchAlreadyRefunded.into()
        )))
    });
    assert!(shows(&app, "Refused: Fail batch #1827"));
}

#[test]
fn snapshot_read_only() {
    let app = listed(true);
    insta::assert_snapshot!("batches_list_read_only", body(&app, 80, 24));
    let app = opened(true);
    insta::assert_snapshot!("batch_detail_read_only", body(&app, 80, 24));
}

#[test]
fn snapshot_help() {
    let mut app = stuck(false);
    update(&mut app, ch('?'));
    insta::assert_snapshot!("batches_help", body(&app, 80, 24));
}

// ------------------------------------------------------------ update rules

#[test]
fn the_list_loads_when_first_shown_and_views_ask_the_database() {
    let mut app = app_with(false, None);
    let c = to_batches(&mut app);
    let r = runs(&c);
    assert_eq!(r.len(), 1);
    let Job::Batches(f) = &r[0].job else {
        panic!("{:?}", r[0].job)
    };
    assert_eq!((f.status, f.stuck_older_than, f.limit), (None, None, 500));
    answer(&mut app, c, fixture);
    assert!(shows(&app, " 5 batches "));
    // Shown again: loaded again.
    update(&mut app, ch('3'));
    let c = update(&mut app, ch('4'));
    assert!(matches!(&runs(&c)[..], [r] if matches!(r.job, Job::Batches(_))));
    answer(&mut app, c, fixture);

    // The stuck view is one key: 15 minutes, generating only.
    let c = update(&mut app, ch('s'));
    let Job::Batches(f) = &runs(&c)[0].job else {
        panic!()
    };
    assert_eq!(f.stuck_older_than, Some(Duration::minutes(15)));
    assert_eq!(f.status, None);
    answer(&mut app, c, fixture);
    assert_eq!(
        listed_ids(&app),
        [1827, 1826],
        "oldest first, as the database sent them"
    );

    // + and - step the threshold at once; presses in between replace the
    // request in flight.
    let up = update(&mut app, ch('+'));
    let r = runs(&up);
    assert_eq!(r[0].delay, None);
    let again = update(&mut app, ch('+'));
    assert_eq!(cancels(&again), 1);
    let Job::Batches(f) = &runs(&again)[0].job else {
        panic!()
    };
    assert_eq!(f.stuck_older_than, Some(Duration::hours(1)));
    let down = update(&mut app, ch('-'));
    let Job::Batches(f) = &runs(&down)[0].job else {
        panic!()
    };
    assert_eq!(f.stuck_older_than, Some(Duration::minutes(30)));
    answer(&mut app, down, fixture);

    // f leaves the stuck view, then cycles the statuses.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let c = update(&mut app, ch('f'));
        let Job::Batches(f) = &runs(&c)[0].job else {
            panic!()
        };
        assert_eq!(f.stuck_older_than, None);
        statuses.push(f.status.map(|s| s.as_str()));
        answer(&mut app, c, fixture);
    }
    assert_eq!(
        statuses,
        [
            None,
            Some("generating"),
            Some("completed"),
            Some("failed"),
            None
        ]
    );
}

#[test]
fn the_filter_form_takes_a_user_and_a_threshold() {
    let mut app = listed(false);
    update(&mut app, ch('/'));
    assert!(app.active_tab().modal(), "the form has the keys");
    typed(&mut app, "Ana@Example.com");
    update(&mut app, key(KeyCode::Tab));
    for _ in 0..5 {
        update(&mut app, key(KeyCode::Backspace));
    }
    typed(&mut app, "2h");
    let c = update(&mut app, key(KeyCode::Enter));
    let Job::Batches(f) = &runs(&c)[0].job else {
        panic!()
    };
    assert_eq!(
        f.user,
        Some(creditdesk::domain::user_ref::UserRef::Email(
            "ana@example.com".into()
        ))
    );
    assert_eq!(
        f.stuck_older_than,
        Some(Duration::hours(2)),
        "a new threshold opens the stuck view"
    );
    answer(&mut app, c, fixture);
    // Esc clears the user; the stuck view stays.
    let c = update(&mut app, key(KeyCode::Esc));
    let Job::Batches(f) = &runs(&c)[0].job else {
        panic!()
    };
    assert_eq!(
        (f.user.is_none(), f.stuck_older_than),
        (true, Some(Duration::hours(2)))
    );
    // Invalid input: inline messages, no request.
    update(&mut app, ch('/'));
    typed(&mut app, "0");
    update(&mut app, key(KeyCode::Tab));
    typed(&mut app, "x");
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    let s = screen(&app, 80, 24);
    assert!(s.contains("Filter batches"), "still open: {s}");
    assert_eq!(s.matches('↳').count(), 2, "both fields: {s}");
}

#[test]
fn invalid_fail_forms_send_nothing() {
    let mut app = opened(false);
    for (reason, refund) in [
        ("", None),
        ("   ", Some("all")),
        ("why", Some("")),
        ("why", Some("some")),
        ("why", Some("0")),
        ("why", Some("-8")),
        ("why", Some("1.5")),
        ("why", Some("99999999999")),
        ("bad \u{1b}[2J", Some("none")),
        (&"x".repeat(501), Some("all")),
    ] {
        filled(&mut app, reason, refund);
        let c = update(&mut app, key(KeyCode::Enter));
        assert!(c.is_empty(), "{reason:?} {refund:?}");
        assert!(!shows(&app, CONFIRM_OPEN), "{reason:?} {refund:?}");
        assert!(shows(&app, "↳"), "{reason:?} {refund:?}: an inline message");
        update(&mut app, key(KeyCode::Esc));
        assert!(no_dialog(&app));
    }
}

#[test]
fn enter_twice_on_the_confirmation_fails_once() {
    let mut app = opened(false);
    confirming(&mut app, "stuck for 3 hours", Some("6"));
    let first = apply(&mut app);
    let second = update(&mut app, key(KeyCode::Enter));
    let third = update(&mut app, key(KeyCode::Enter));
    let all: Vec<Command> = first.iter().chain(&second).chain(&third).cloned().collect();
    let sent = fails(&all);
    assert_eq!(sent.len(), 1);
    let Job::FailBatch { id, reason, refund } = &sent[0].job else {
        unreachable!()
    };
    assert_eq!(
        (*id, reason.as_str(), *refund),
        (1827, "stuck for 3 hours", Refund::Amount(6))
    );
    // Applied: the batch and the list load again; Enter closes the result.
    let after = answer(&mut app, first, |_| Some(Outcome::BatchFailed(Ok(done()))));
    let jobs: Vec<_> = runs(&after).into_iter().map(|r| r.job.name()).collect();
    assert_eq!(jobs, ["batches.show", "batches.list"]);
    assert!(shows(&app, "Batch failed"), "the result has its own title");
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    assert!(no_dialog(&app));
    assert!(
        shows(&app, "balance 170 → 178"),
        "the notice stays: {}",
        screen(&app, 80, 24)
    );
}

#[test]
fn refund_choices_reach_the_database_as_typed() {
    for (typed_refund, expected) in [
        (None, Refund::All),
        (Some("none"), Refund::None),
        (Some(" ALL "), Refund::All),
        (Some("3"), Refund::Amount(3)),
    ] {
        let mut app = opened(false);
        confirming(&mut app, "why", typed_refund);
        let c = apply(&mut app);
        let Job::FailBatch { refund, .. } = &fails(&c)[0].job else {
            unreachable!()
        };
        assert_eq!(*refund, expected, "{typed_refund:?}");
    }
}

#[test]
fn f_in_the_list_opens_the_dialog_once_the_batch_is_loaded() {
    let mut app = stuck(false);
    let c = update(&mut app, ch('F'));
    let r = runs(&c);
    assert!(
        matches!(r[0].job, Job::Batch { id: 1827 }),
        "{:?}",
        r[0].job
    );
    assert!(!shows(&app, FORM_OPEN), "not before the batch is known");
    answer(&mut app, c, fixture);
    assert!(shows(&app, "Fail batch #1827") && shows(&app, FORM_OPEN));
    // x does the same.
    let mut app = stuck(false);
    update(&mut app, ch('j'));
    let c = update(&mut app, ch('x'));
    answer(&mut app, c, fixture);
    assert!(shows(&app, FORM_OPEN));
}

#[test]
fn a_refusal_shows_and_changes_nothing_else() {
    let mut app = opened(false);
    confirming(&mut app, "why", None);
    let sent = apply(&mut app);
    let after = answer(&mut app, sent, |_| {
        Some(Outcome::BatchFailed(Err(
            Refusal::BatchAlreadyRefunded.into()
        )))
    });
    assert!(after.is_empty(), "no reload, no health check");
    assert!(shows(&app, "this batch has already been refunded"));
    assert!(shows(&app, "Refused: Fail batch #1827"));
    // Esc back to the form, Esc again closes it.
    update(&mut app, key(KeyCode::Esc));
    assert!(shows(&app, FORM_OPEN));
    update(&mut app, key(KeyCode::Esc));
    assert!(no_dialog(&app));
}

#[test]
fn the_stuck_view_refreshes_by_itself_and_keeps_the_selection() {
    let mut app = stuck(false);
    update(&mut app, ch('j'));
    let now = app.now + Duration::seconds(5);
    let c = update(&mut app, Msg::Tick(now));
    assert!(
        matches!(&runs(&c)[..], [r] if matches!(&r.job, Job::Batches(f) if f.stuck_older_than.is_some())),
        "{c:?}"
    );
    answer(&mut app, c, fixture);
    assert!(selected_row(&app, 80, 24).unwrap().contains("#1826"));
    // Not in a batch's detail.
    let mut app = opened(false);
    let now = app.now + Duration::seconds(60);
    assert!(update(&mut app, Msg::Tick(now)).is_empty());
}

#[test]
fn a_completed_batch_offers_no_fail() {
    let mut app = listed(false);
    update(&mut app, ch('j'));
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, fixture);
    assert!(shows(&app, "completed"), "{}", screen(&app, 80, 24));
    assert!(!shows(&app, "F x"), "not offered");
    assert!(update(&mut app, ch('F')).is_empty());
    assert!(no_dialog(&app), "no form only to be refused");
}

#[test]
fn read_only_offers_no_fail() {
    let mut app = stuck(true);
    assert!(update(&mut app, ch('F')).is_empty());
    assert!(update(&mut app, ch('x')).is_empty());
    assert!(shows(&app, "Stuck batches"), "still the list");
    let keys = app.active_tab().hints(&app.allow);
    assert!(keys.iter().all(|k| !k.keys.contains('F')), "{keys:?}");
    assert!(!screen(&app, 80, 24).contains("fail"));

    let mut app = opened(true);
    assert!(update(&mut app, ch('F')).is_empty());
    assert!(update(&mut app, ch('x')).is_empty());
    assert!(no_dialog(&app));
    let keys = app.active_tab().hints(&app.allow);
    assert!(keys.iter().all(|k| !k.keys.contains('F')), "{keys:?}");
    let s = screen(&app, 80, 24);
    assert!(!s.contains("F x"), "{s}");
    assert!(!s.contains("fail &"), "{s}");
}

#[test]
fn stale_replies_are_ignored() {
    // The list: two views asked for, the first answers last.
    let mut app = listed(false);
    let first = update(&mut app, ch('s'));
    let second = update(&mut app, ch('s'));
    assert_eq!(cancels(&second), 1);
    answer(&mut app, second, fixture);
    assert!(shows(&app, " 5 batches "));
    answer(&mut app, first, fixture);
    assert!(shows(&app, " 5 batches "), "the stuck rows came too late");
    assert!(!shows(&app, "Stuck batches"));

    // The detail: one batch opened, left, another opened; the first answers.
    let mut app = stuck(false);
    let a = update(&mut app, key(KeyCode::Enter));
    let esc = update(&mut app, key(KeyCode::Esc));
    assert_eq!(cancels(&esc), 1, "Esc stops the load");
    update(&mut app, key(KeyCode::Esc));
    assert!(shows(&app, "Stuck batches"), "Esc again: the list");
    update(&mut app, ch('j'));
    let b = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, a, fixture);
    assert!(!shows(&app, "charged"), "1827's answer is not 1826's");
    answer(&mut app, b, |_| {
        let mut d = stuck_detail();
        d.id = 1826;
        Some(Outcome::Batch(Ok(Box::new(d))))
    });
    assert!(shows(&app, "Batch #1826") && shows(&app, "charged"));

    // A fail the operator stopped waiting for is not aborted: its answer,
    // when it comes, says what the database did.
    let mut app = opened(false);
    confirming(&mut app, "why", None);
    let sent = apply(&mut app);
    update(&mut app, ch('q'));
    assert!(!app.should_quit(), "a change in flight: asks first");
    update(&mut app, ch('n'));
    let esc = update(&mut app, key(KeyCode::Esc));
    assert_eq!(cancels(&esc), 0, "a write is never aborted half-way");
    assert!(no_dialog(&app));
    assert!(shows(&app, "stopped waiting"));
    update(&mut app, ch('q'));
    assert!(!app.should_quit(), "still on its way: asks first");
    update(&mut app, ch('n'));
    let late = answer(&mut app, sent, |_| Some(Outcome::BatchFailed(Ok(done()))));
    let reloads: Vec<_> = runs(&late).into_iter().map(|r| r.job.name()).collect();
    assert_eq!(reloads, ["batches.show", "batches.list"]);
    assert!(shows(&app, "the change you stopped waiting for"));
}

#[test]
fn link_batch_opens_the_detail() {
    let mut app = app_with(false, None);
    let c = update(&mut app, Msg::Open(Link::Batch(1827)));
    assert_eq!(app.active, TabId::Batches);
    let jobs: Vec<_> = runs(&c).into_iter().map(|r| &r.job).collect();
    assert!(
        jobs.iter().any(|j| matches!(j, Job::Batch { id: 1827 })),
        "{jobs:?}"
    );
    assert!(
        jobs.iter().any(|j| matches!(j, Job::Batches(_))),
        "the list loads behind it"
    );
    answer(&mut app, c, fixture);
    assert!(shows(&app, "Batch #1827") && shows(&app, "charged"));
    // A second link replaces the batch shown.
    let c = update(&mut app, Msg::Open(Link::Batch(1829)));
    answer(&mut app, c, fixture);
    assert!(screen(&app, 80, 24).contains("Batch #1829"));
    // From the detail, u opens its user.
    update(&mut app, ch('u'));
    assert_eq!(app.active, TabId::Users);
}

#[test]
fn quitting_with_a_filled_fail_form_asks_first() {
    let mut app = opened(false);
    filled(&mut app, "half typed", None);
    update(&mut app, ch('q'));
    // q is typed into the focused field, not a quit.
    assert!(!app.should_quit());
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(matches!(
        app.popup,
        Some(creditdesk::tui::Popup::ConfirmQuit(_))
    ));
}

#[test]
fn database_text_is_sanitised_on_screen() {
    let mut app = listed(false);
    update(&mut app, ch('j'));
    update(&mut app, ch('j'));
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, |job| match job {
        Job::Batch { .. } => {
            let mut d = stuck_detail();
            d.user.email = EVIL.1.into();
            d.user.name = Some("Mallory \u{202e}txet".into());
            d.photos[0].url = "https://x/\u{1b}]0;pwned\u{7}".into();
            d.options.hair_color = Some("red\u{1b}[5m".into());
            Some(Outcome::Batch(Ok(Box::new(d))))
        }
        other => fixture(other),
    });
    for s in [rows(&listed(false), 80, 24), rows(&app, 200, 60)] {
        assert_defused(&s.concat());
    }
}

#[test]
fn no_color_keeps_the_selection_and_warnings_visible() {
    use ratatui::style::{Color, Modifier};
    let config = ConsoleConfig {
        target: Target::parse("postgres://app@db.example.com:5432/photos").unwrap(),
        operator: Operator::parse("ana").unwrap(),
        read_only: false,
        env_label: Some("PRODUCTION".into()),
        frame_colour: None,
        confirm_first_change: false,
        permissions: creditdesk::domain::role::Permissions::owner(),
    };
    let mut app = App::new(&config, t0(), Theme::NO_COLOR, "test");
    let c = to_batches(&mut app);
    answer(&mut app, c, fixture);
    let c = update(&mut app, ch('s'));
    answer(&mut app, c, fixture);
    let list = render(&app, 80, 24);
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, fixture);
    update(&mut app, ch('F'));
    for t in [&list, &render(&app, 80, 24)] {
        let buf = t.backend().buffer();
        for cell in buf.content() {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset));
        }
    }
    // The selected (oldest stuck) batch is reversed; the stuck age is bold.
    let buf = list.backend().buffer();
    let row = (0..24)
        .find(|&y| {
            (0..80)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .contains("#1827")
        })
        .unwrap();
    assert!(buf[(1, row)].modifier.contains(Modifier::REVERSED));
    let row = (0..24)
        .find(|&y| {
            (0..80)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .contains("#1826")
        })
        .unwrap();
    let line: String = (0..80).map(|x| buf[(x, row)].symbol()).collect();
    let x = u16::try_from(line.find("30m").unwrap()).unwrap();
    assert!(buf[(x, row)].modifier.contains(Modifier::BOLD), "{line}");
}

// -------------------------------------------------------------- never panics

#[test]
fn any_size_renders_without_panic() {
    let mut screens: Vec<App> = vec![listed(false), stuck(true), opened(false), opened(true)];
    let mut loading = stuck(false);
    update(&mut loading, key(KeyCode::Enter));
    screens.push(loading);
    let mut no_model = listed(false);
    update(&mut no_model, ch('j'));
    let c = update(&mut no_model, key(KeyCode::Enter));
    answer(&mut no_model, c, fixture);
    screens.push(no_model);
    let mut filter = stuck(false);
    update(&mut filter, ch('/'));
    typed(&mut filter, &"9".repeat(300));
    update(&mut filter, key(KeyCode::Enter));
    update(&mut filter, key(KeyCode::Enter));
    screens.push(filter);
    let mut form = opened(false);
    filled(&mut form, &"w".repeat(400), Some("lots"));
    update(&mut form, key(KeyCode::Enter));
    screens.push(form);
    let mut confirm = opened(false);
    confirming(&mut confirm, "stuck for 3 hours", None);
    screens.push(confirm);
    let mut in_flight = opened(false);
    confirming(&mut in_flight, "stuck", None);
    apply(&mut in_flight);
    screens.push(in_flight);
    let mut result = opened(false);
    confirming(&mut result, "stuck", None);
    let c = apply(&mut result);
    answer(&mut result, c, |_| Some(Outcome::BatchFailed(Ok(done()))));
    screens.push(result);
    let mut refused = opened(false);
    confirming(&mut refused, "stuck", None);
    let c = apply(&mut refused);
    answer(&mut refused, c, |_| {
        Some(Outcome::BatchFailed(Err(Refusal::BatchNotFailable {
            status: "completed".into(),
        }
        .into())))
    });
    screens.push(refused);
    let mut failed_load = stuck(false);
    let c = update(&mut failed_load, key(KeyCode::Enter));
    answer(&mut failed_load, c, |_| {
        Some(Outcome::Batch(Err(creditdesk::Error::Infrastructure(
            "database error: connection reset by peer".repeat(5),
        ))))
    });
    screens.push(failed_load);

    renders_at_any_size(&screens);
}

// ------------------------------------------------------- the real database

mod real_database {
    use super::*;
    use creditdesk::db::credits;
    use creditdesk::testing::{TestDb, scalar_i64};
    use creditdesk::tui::Effects;
    use sqlx::AssertSqlSafe;

    async fn exec(pool: &sqlx::PgPool, sql: &str) {
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    #[tokio::test]
    async fn fail_and_refund_a_stuck_batch_through_the_effect_runner() {
        let db = TestDb::new().await;
        let pool = &db.pool;
        // A user who bought 100 credits and spent 8 on a batch stuck for 3
        // hours: users.credits = sum(ledger) = 92.
        let user = creditdesk::testing::user(pool, "stuck@example.com").await;
        let batch = scalar_i64(
            pool,
            &format!(
                "insert into photo_generation_batches
                   (\"userId\", \"totalImagesGenerated\", \"creditsUsed\", \"aspectRatio\",
                    glasses, backgrounds, styles, status, \"createdAt\")
                 values ({user}, 8, 8, '9:16', 'no', '[\"beach\"]', '[\"linkedin\"]',
                         'generating', now() - interval '3 hours')
                 returning id::int8"
            ),
        )
        .await;
        exec(
            pool,
            &format!(
                "insert into credit_history (\"userId\", amount, type, description)
                   values ({user}, 100, 'purchase', 'pack');
                 insert into credit_history (\"userId\", amount, type, description, \"relatedBatchId\")
                   values ({user}, -8, 'generation', 'Generated 8 photos', {batch});
                 update users set credits = 92 where id = {user};"
            ),
        )
        .await;
        assert!(credits::verify(&db.tool).await.unwrap().is_empty());

        let mut app = app_with(false, None);
        let mut effects = Effects::new(db.tool.clone(), Operator::parse("ana").unwrap());
        let c = to_batches(&mut app);
        settle(&mut app, &mut effects, c).await;
        let c = update(&mut app, ch('s'));
        settle(&mut app, &mut effects, c).await;
        assert_eq!(
            listed_ids(&app)
                .iter()
                .map(|id| i64::from(*id))
                .collect::<Vec<_>>(),
            [batch],
            "the stuck view shows it"
        );
        assert!(shows(&app, " 3h 00m ") || shows(&app, " 3h 01m "));

        // F: the batch loads, then the form opens with "all" proposed.
        let c = update(&mut app, ch('F'));
        settle(&mut app, &mut effects, c).await;
        let s = screen(&app, 80, 24);
        assert!(s.contains("charged 8, refunded 0"), "{s}");
        assert!(s.contains("balance 92"), "{s}");
        assert!(s.contains("Refund all"), "all is proposed: {s}");
        typed(&mut app, "stuck for 3 hours");
        update(&mut app, key(KeyCode::Enter)); // to the refund field
        let c = update(&mut app, key(KeyCode::Enter)); // review
        settle(&mut app, &mut effects, c).await;
        let mut c = apply(&mut app);
        c.extend(update(&mut app, key(KeyCode::Enter))); // a second Enter: ignored
        assert_eq!(fails(&c).len(), 1);
        settle(&mut app, &mut effects, c).await;

        let s = screen(&app, 120, 40);
        assert!(
            s.contains(&format!("batch #{batch} marked failed (was generating)")),
            "{s}"
        );
        assert!(
            s.contains("refunded 8 of 8 charged credits to stuck@example.com: balance 92 → 100"),
            "{s}"
        );
        // The detail and the list were loaded again.
        update(&mut app, key(KeyCode::Enter)); // close the result
        let s = screen(&app, 120, 40);
        assert!(s.contains("charged 8, refunded 8"), "{s}");
        assert!(s.contains("balance 100"), "{s}");
        assert!(s.contains("Ledger entries (2)"), "{s}");
        let c = update(&mut app, key(KeyCode::Esc)); // back: the list, loaded again
        settle(&mut app, &mut effects, c).await;
        assert!(shows(&app, "no stuck batches"), "no longer stuck");
        update(&mut app, key(KeyCode::Enter));

        let (status, refunds, refunded, credits, audits): (String, i64, i64, i32, i64) =
            sqlx::query_as(AssertSqlSafe(format!(
                "select (select status from photo_generation_batches where id = {batch}),
                        (select count(*) from credit_history
                          where type = 'refund' and \"relatedBatchId\" = {batch}),
                        (select coalesce(sum(amount), 0)::int8 from credit_history
                          where type = 'refund' and \"relatedBatchId\" = {batch}),
                        (select credits from users where id = {user}),
                        (select count(*) from admin_audit_log
                          where actor = 'ana' and action = 'batch.fail'
                            and \"entityId\" = '{batch}' and reason = 'stuck for 3 hours')"
            )))
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(
            (status.as_str(), refunds, refunded, credits, audits),
            ("failed", 1, 8, 100, 1)
        );
        assert!(credits::verify(&db.tool).await.unwrap().is_empty());

        // Failed and refunded, there is nothing left to do: F is no longer
        // offered, and nothing is written.
        let c = update(
            &mut app,
            Msg::Open(Link::Batch(i32::try_from(batch).unwrap())),
        );
        settle(&mut app, &mut effects, c).await;
        let s = screen(&app, 120, 40);
        assert!(
            s.contains("charged 8, refunded 8") && !s.contains("F x"),
            "{s}"
        );
        assert!(update(&mut app, ch('F')).is_empty());
        assert!(!app.active_tab().modal());
        assert_eq!(
            scalar_i64(pool, "select count(*) from admin_audit_log").await,
            1
        );
    }
}
