//! The console without a terminal: `update` driven with messages, screens
//! rendered into ratatui's `TestBackend` and compared with insta snapshots
//! (fixed clock, fixed data, no database), plus one run of the effect
//! runner against a real database.

mod common;

use common::*;
use creditdesk::db::Change;
use creditdesk::db::audit::AuditEntry;
use creditdesk::db::credits::{Adjustment, HistoryPage, LedgerEntry, Overview, TypeTotal};
use creditdesk::db::users::User;
use creditdesk::domain::operator::Operator;
use creditdesk::tui::{App, Command, Job, Msg, Outcome, TabId, Theme, update};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A console on the Users tab (it starts on Coupons, which
/// `tests/tui_coupons.rs` covers).
fn app_with(read_only: bool, env: Option<&str>, theme: Theme) -> App {
    let mut app = App::new(&config(read_only, env), t0(), theme, "test");
    app.active = TabId::Users;
    app
}

fn user(id: i32, email: &str, name: Option<&str>, credits: i32) -> User {
    User {
        id,
        email: email.into(),
        name: name.map(str::to_owned),
        credits,
        created_at: t0() - chrono::Duration::days(i64::from(400 - id)),
    }
}

fn users() -> Vec<User> {
    vec![
        user(12, "ana@example.com", Some("Ana López"), 170),
        user(11, "bo@example.org", None, 0),
        user(
            7,
            "evil@example.com",
            Some("Mallory \u{1b}[2J\u{1b}[31mRED \u{202e}live"),
            5,
        ),
    ]
}

fn entry(id: i32, minutes_ago: i64, amount: i32, kind: &str) -> LedgerEntry {
    LedgerEntry {
        id,
        created_at: t0() - chrono::Duration::minutes(minutes_ago),
        amount,
        kind: kind.into(),
        description: Some(format!("{kind} {id}")),
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

fn ledger() -> Vec<LedgerEntry> {
    let mut coupon = entry(50, 10, 20, "coupon");
    coupon.coupon_id = Some(3);
    coupon.coupon_code = Some("WELCOME20".into());
    coupon.description = Some("Coupon WELCOME20".into());
    let mut batch = entry(49, 60, -8, "generation");
    batch.batch_id = Some(1827);
    batch.photo_id = Some(9001);
    batch.description = Some("Generated 8 photos".into());
    let mut gift = entry(48, 120, 100, "gift_card");
    gift.gift_card_id = Some(4);
    gift.gift_card_code = Some("K7QF-****-****-9XM2".into());
    let mut evil = entry(47, 180, 50, "admin_adjustment");
    evil.description = Some("bad \u{1b}[2J\u{202e}txet (by eve)".into());
    vec![coupon, batch, gift, evil, entry(46, 240, 8, "purchase")]
}

fn overview(u: &User) -> Overview {
    Overview {
        user: u.clone(),
        ledger_total: i64::from(u.credits),
        totals: vec![
            TypeTotal {
                kind: "admin_adjustment".into(),
                entries: 1,
                total: 50,
            },
            TypeTotal {
                kind: "coupon".into(),
                entries: 1,
                total: 20,
            },
            TypeTotal {
                kind: "generation".into(),
                entries: 1,
                total: -8,
            },
            TypeTotal {
                kind: "gift_card".into(),
                entries: 1,
                total: 100,
            },
            TypeTotal {
                kind: "purchase".into(),
                entries: 1,
                total: 8,
            },
        ],
        latest: vec![],
    }
}

/// A page as `history_with_balances` serves it: the balance after each
/// entry (the page's entries summed from the oldest, from 0).
fn with_balances(page: HistoryPage) -> creditdesk::db::credits::LedgerPage {
    let mut balance: i64 = page.entries.iter().map(|e| i64::from(e.amount)).sum();
    let entries = page
        .entries
        .into_iter()
        .map(|entry| {
            let after = balance;
            balance -= i64::from(entry.amount);
            creditdesk::db::credits::LedgerRow {
                entry,
                balance_after: after,
                reverses_entry_id: None,
                reversed_by_entry_id: None,
            }
        })
        .collect();
    creditdesk::db::credits::LedgerPage {
        entries,
        next: page.next,
    }
}

/// The data above, for any read.
fn fixture(job: &Job) -> Option<Outcome> {
    Some(match job {
        Job::FindUsers { .. } => Outcome::Users(Ok(users())),
        Job::Overview { .. } => Outcome::Overview(Ok(overview(&users()[0]))),
        Job::User { .. } => Outcome::User(Ok(users()[0].clone())),
        Job::Ledger(_) => Outcome::Ledger(Ok(with_balances(HistoryPage {
            entries: ledger(),
            next: None,
        }))),
        _ => return None,
    })
}

/// Started, the user list loaded.
fn started(read_only: bool, env: Option<&str>) -> App {
    let mut app = app_with(read_only, env, Theme::COLOR);
    let c = update(&mut app, Msg::Start);
    answer(&mut app, c, fixture);
    app
}

/// The first user opened, overview and ledger loaded.
fn opened(read_only: bool, env: Option<&str>) -> App {
    let mut app = started(read_only, env);
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, fixture);
    app
}

fn audit_entries() -> Vec<AuditEntry> {
    vec![
        AuditEntry {
            id: 31,
            seq: 31,
            login: "postgres".into(),
            created_at: t0() - chrono::Duration::minutes(5),
            actor: "ana".into(),
            action: "credits.adjust".into(),
            entity_type: "user".into(),
            entity_id: Some("12".into()),
            reason: Some("goodwill: slow batch".into()),
            details: serde_json::json!({"amount": 50, "entry_id": 47, "old_balance": 120, "new_balance": 170}),
        },
        AuditEntry {
            id: 30,
            seq: 30,
            login: "postgres".into(),
            created_at: t0() - chrono::Duration::hours(3),
            actor: "bo\u{1b}[2J".into(),
            action: "coupon.create".into(),
            entity_type: "coupon".into(),
            entity_id: Some("3".into()),
            reason: None,
            details: serde_json::json!({"code": "WELCOME20", "note": "x\u{202e}y"}),
        },
        AuditEntry {
            id: 29,
            seq: 29,
            login: "postgres".into(),
            created_at: t0() - chrono::Duration::days(2),
            actor: "cy".into(),
            action: "batch.fail".into(),
            entity_type: "batch".into(),
            entity_id: Some("1827".into()),
            reason: Some("stuck for 3 hours".into()),
            details: serde_json::json!({"refunded": 8}),
        },
    ]
}

fn audit_fixture(job: &Job) -> Option<Outcome> {
    match job {
        Job::Audit(_) => Some(Outcome::Audit(Ok(audit_entries()))),
        other => fixture(other),
    }
}

/// The adjust form filled in and reviewed: the confirmation is showing.
fn confirming(app: &mut App, amount: &str, reason: &str) {
    let c = reviewing(app, amount, reason);
    answer(app, c, fixture);
}

/// The form filled in and Enter pressed on its last field: the balance is
/// read again (the commands returned) before the confirmation shows.
fn reviewing(app: &mut App, amount: &str, reason: &str) -> Vec<Command> {
    assert!(update(app, ch('a')).is_empty());
    typed(app, amount);
    update(app, key(KeyCode::Tab));
    typed(app, reason);
    let c = update(app, key(KeyCode::Enter));
    assert!(
        matches!(&runs(&c)[..], [r] if matches!(r.job, Job::User { .. })),
        "{c:?}"
    );
    c
}

fn screen(app: &App) -> String {
    rows(app, 80, 24).join("\n")
}

fn shows(app: &App, text: &str) -> bool {
    screen(app).contains(text)
}

/// A dialog (or a text field) has the keys.
fn modal(app: &App) -> bool {
    app.active_tab().modal()
}

/// `N users` at the bottom of the user list.
fn user_count(app: &App) -> usize {
    let s = rows(app, 80, 24)
        .into_iter()
        .find(|r| r.starts_with('└') && r.contains(" user"))
        .unwrap_or_default();
    let at = s.rfind(" user").expect("a user count");
    s[..at]
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no user count: {s}"))
}

/// The rows of the ledger window, as its bottom border numbers them
/// (`2401–3000+`).
fn ledger_window(app: &App) -> (usize, usize) {
    let bottom = rows(app, 80, 24)
        .into_iter()
        .rev()
        .find(|r| r.starts_with('└') && r.contains('–'))
        .expect("a numbered ledger");
    let range = bottom
        .trim_matches(|c| c == '└' || c == '┘' || c == '─' || c == ' ')
        .trim_end_matches('+')
        .to_owned();
    let (a, b) = range.split_once('–').expect("first–last");
    (a.trim().parse().unwrap(), b.trim().parse().unwrap())
}

// ---------------------------------------------------------------- snapshots

#[test]
fn snapshot_users_list() {
    let app = started(false, Some("PRODUCTION"));
    insta::assert_snapshot!("users_list", body(&app, 80, 24));
}

#[test]
fn snapshot_users_search_typing() {
    let mut app = started(false, Some("PRODUCTION"));
    update(&mut app, ch('/'));
    typed(&mut app, "ana");
    insta::assert_snapshot!("users_search_typing", body(&app, 80, 24));
}

#[test]
fn snapshot_user_detail() {
    let app = opened(false, Some("PRODUCTION"));
    insta::assert_snapshot!("user_detail", body(&app, 80, 24));
}

#[test]
fn snapshot_user_detail_large() {
    let app = opened(false, Some("PRODUCTION"));
    insta::assert_snapshot!("user_detail_200x60", body(&app, 200, 60));
}

#[test]
fn snapshot_user_detail_loading() {
    let mut app = started(false, None);
    update(&mut app, key(KeyCode::Enter));
    insta::assert_snapshot!("user_detail_loading", body(&app, 80, 24));
}

#[test]
fn snapshot_ledger_entry() {
    let mut app = opened(false, Some("PRODUCTION"));
    update(&mut app, ch('j'));
    update(&mut app, key(KeyCode::Enter));
    insta::assert_snapshot!("ledger_entry", body(&app, 80, 24));
}

#[test]
fn snapshot_ledger_filter_with_errors() {
    let mut app = opened(false, Some("PRODUCTION"));
    update(&mut app, ch('f'));
    typed(&mut app, "bonus");
    update(&mut app, key(KeyCode::Tab));
    typed(&mut app, "2026-03-01");
    update(&mut app, key(KeyCode::Tab));
    typed(&mut app, "2026-02-01");
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    insta::assert_snapshot!("ledger_filter_errors", body(&app, 80, 24));
}

#[test]
fn snapshot_adjust_form_errors() {
    let mut app = opened(false, Some("PRODUCTION"));
    update(&mut app, ch('a'));
    typed(&mut app, "12abc");
    update(&mut app, key(KeyCode::Tab));
    update(&mut app, key(KeyCode::Enter));
    insta::assert_snapshot!("adjust_form_errors", body(&app, 80, 24));
}

#[test]
fn snapshot_adjust_confirm_and_result() {
    let mut app = opened(false, Some("PRODUCTION"));
    confirming(&mut app, "-20", "refund of duplicate charge");
    insta::assert_snapshot!("adjust_confirm", body(&app, 80, 24));
    let sent = apply(&mut app);
    insta::assert_snapshot!("adjust_in_flight", body(&app, 80, 24));
    answer(&mut app, sent, |job| match job {
        Job::Adjust { amount, .. } => Some(Outcome::Adjusted(Ok(Change::Applied(Adjustment {
            user_id: 12,
            email: "ana@example.com".into(),
            amount: *amount,
            entry_id: 51,
            old_balance: 170,
            new_balance: 150,
            replayed: false,
        })))),
        _ => None,
    });
    insta::assert_snapshot!("adjust_done", body(&app, 80, 24));
}

#[test]
fn snapshot_adjust_failed() {
    let mut app = opened(false, Some("PRODUCTION"));
    confirming(&mut app, "-20", "refund of duplicate charge");
    let sent = apply(&mut app);
    answer(&mut app, sent, |job| match job {
        Job::Adjust { .. } => Some(Outcome::Adjusted(Err(
            creditdesk::domain::Refusal::InsufficientCredits {
                balance: 5,
                change: -20,
            }
            .into(),
        ))),
        _ => None,
    });
    insta::assert_snapshot!("adjust_failed", body(&app, 80, 24));
}

#[test]
fn snapshot_read_only_detail() {
    let app = opened(true, Some("PRODUCTION"));
    insta::assert_snapshot!("user_detail_read_only", body(&app, 80, 24));
}

#[test]
fn snapshot_audit() {
    let mut app = started(false, Some("DEMO"));
    let c = update(&mut app, ch('5'));
    answer(&mut app, c, audit_fixture);
    insta::assert_snapshot!("audit_list", body(&app, 80, 24));
    update(&mut app, ch('j'));
    update(&mut app, key(KeyCode::Enter));
    insta::assert_snapshot!("audit_entry", body(&app, 80, 24));
    update(&mut app, key(KeyCode::Esc));
    update(&mut app, ch('f'));
    typed(&mut app, "ana");
    insta::assert_snapshot!("audit_filter", body(&app, 80, 24));
}

/// The Audit tab filters by date as `creditdesk audit --since --until` does;
/// an end before the start is refused under its field and nothing is asked.
#[test]
fn audit_filter_by_dates() {
    let mut app = started(false, Some("DEMO"));
    let c = update(&mut app, ch('5'));
    answer(&mut app, c, audit_fixture);
    let mut filter = |since: &str, until: &str| {
        update(&mut app, ch('f'));
        update(&mut app, key(KeyCode::Enter));
        update(&mut app, key(KeyCode::Enter));
        typed(&mut app, since);
        update(&mut app, key(KeyCode::Enter));
        typed(&mut app, until);
        let sent = update(&mut app, key(KeyCode::Enter));
        let screen = body(&app, 80, 24);
        let audit = runs(&sent).into_iter().find_map(|r| match &r.job {
            Job::Audit(f) => Some(f.clone()),
            _ => None,
        });
        update(&mut app, key(KeyCode::Esc));
        (audit, screen)
    };
    let (sent, screen) = filter("2026-01-02", "2026-01-01");
    assert!(sent.is_none(), "an empty window is never asked for");
    assert!(screen.contains("must be after since"), "{screen}");
    let (sent, _) = filter("2026-01-02", "2026-01-03");
    let sent = sent.expect("the filtered list is loaded");
    assert_eq!(
        sent.since.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-01-02T00:00:00+00:00")
    );
    assert_eq!(
        sent.until.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-01-03T00:00:00+00:00")
    );
}

/// The one snapshot with the tab bar: it comes from `TabId::ALL`.
#[test]
fn snapshot_tab_bar() {
    let app = started(false, None);
    let bar = rows(&app, 80, 24).remove(0);
    insta::assert_snapshot!("tab_bar", bar);
    assert!(bar.contains("3 Users & credits"));
}

#[test]
fn snapshot_help() {
    let mut app = opened(false, Some("PRODUCTION"));
    update(&mut app, ch('?'));
    insta::assert_snapshot!("help", body(&app, 80, 24));
}

#[test]
fn snapshot_quit_confirmation() {
    let mut app = opened(false, Some("PRODUCTION"));
    update(&mut app, ch('a'));
    typed(&mut app, "+5");
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(!app.should_quit());
    insta::assert_snapshot!("quit_confirmation", body(&app, 80, 24));
    update(&mut app, ch('y'));
    assert!(app.should_quit());
}

#[test]
fn snapshot_coupon_after_a_ledger_link() {
    let mut app = opened(false, Some("PRODUCTION"));
    update(&mut app, key(KeyCode::Enter)); // the coupon entry
    let c = update(&mut app, key(KeyCode::Enter)); // open its link
    assert_eq!(app.active, TabId::Coupons);
    assert!(
        runs(&c)
            .iter()
            .any(|r| matches!(&r.job, Job::Coupon { code } if code == "WELCOME20"))
    );
    insta::assert_snapshot!("coupon_from_a_ledger_link", body(&app, 80, 24));
}

#[test]
fn snapshot_database_unreachable() {
    let mut app = started(false, Some("PRODUCTION"));
    let c = update(&mut app, ch('R'));
    let c = answer(&mut app, c, |_| {
        Some(Outcome::Users(Err(creditdesk::Error::Infrastructure(
            "database error: pool timed out while waiting for an open connection".into(),
        ))))
    });
    answer(&mut app, c, |job| {
        matches!(job, Job::Ping)
            .then(|| Outcome::Ping(Err(creditdesk::Error::Infrastructure("refused".into()))))
    });
    insta::assert_snapshot!("database_unreachable", body(&app, 80, 24));
}

// ------------------------------------------------------------ cell styles

fn find(buf: &ratatui::buffer::Buffer, text: &str) -> (u16, u16) {
    let area = buf.area;
    for y in 0..area.height {
        let row: String = (0..area.width)
            .map(|x| buf[(x, y)].symbol().to_owned())
            .collect();
        if let Some(i) = row.find(text) {
            let x = row[..i].chars().count();
            return (u16::try_from(x).unwrap(), y);
        }
    }
    panic!("{text:?} not on screen");
}

#[test]
fn production_label_is_red_and_bold() {
    use ratatui::style::{Color, Modifier};
    let app = started(false, Some("PRODUCTION"));
    let t = render(&app, 80, 24);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "PRODUCTION");
    assert_eq!(y, 23, "on the status line");
    assert_eq!(buf[(x, y)].bg, Color::Red);
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));

    let demo = started(false, Some("DEMO"));
    let t = render(&demo, 80, 24);
    let (x, y) = find(t.backend().buffer(), "DEMO");
    assert_ne!(t.backend().buffer()[(x, y)].bg, Color::Red);
}

#[test]
fn no_color_keeps_reverse_and_bold() {
    use ratatui::style::{Color, Modifier};
    let mut app = app_with(true, Some("PRODUCTION"), Theme::NO_COLOR);
    let c = update(&mut app, Msg::Start);
    answer(&mut app, c, fixture);
    update(&mut app, ch('j'));
    let t = render(&app, 80, 24);
    let buf = t.backend().buffer();
    for y in 0..24 {
        for x in 0..80 {
            let cell = &buf[(x, y)];
            assert!(matches!(cell.fg, Color::Reset), "colour at {x},{y}");
            assert!(matches!(cell.bg, Color::Reset), "colour at {x},{y}");
        }
    }
    // The selected user (the second) is reversed.
    let (x, y) = find(buf, "bo@example.org");
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED));
    let (x, y) = find(buf, "ana@example.com");
    assert!(!buf[(x, y)].modifier.contains(Modifier::REVERSED));
    // The labels stay visible without colour.
    let (x, y) = find(buf, "PRODUCTION");
    assert!(
        buf[(x, y)]
            .modifier
            .contains(Modifier::REVERSED | Modifier::BOLD)
    );
    let (x, y) = find(buf, "READ-ONLY");
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn database_text_is_sanitised_on_screen() {
    let mut app = started(false, None);
    // Open the user whose name holds an escape sequence and a bidi override.
    update(&mut app, ch('j'));
    update(&mut app, ch('j'));
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, |job| match job {
        Job::Overview { .. } => Some(Outcome::Overview(Ok(overview(&users()[2])))),
        other => fixture(other),
    });
    let screens = [render(&started(false, None), 80, 24), render(&app, 80, 24)];
    let mut audit = started(false, None);
    let c = update(&mut audit, ch('5'));
    answer(&mut audit, c, audit_fixture);
    update(&mut audit, ch('j'));
    update(&mut audit, key(KeyCode::Enter));
    for t in screens.iter().chain([&render(&audit, 80, 24)]) {
        let buf = t.backend().buffer();
        let text: String = buf.content().iter().map(|c| c.symbol()).collect();
        assert_defused(&text);
    }
}

// -------------------------------------------------------------- never panics

#[test]
fn any_size_renders_without_panic() {
    let mut screens: Vec<App> = vec![
        started(false, Some("PRODUCTION")),
        opened(true, Some("DEMO")),
    ];
    let mut entry = opened(false, Some("PRODUCTION"));
    update(&mut entry, key(KeyCode::Enter));
    screens.push(entry);
    let mut form = opened(false, None);
    update(&mut form, ch('a'));
    typed(&mut form, &"9".repeat(300));
    screens.push(form);
    let mut confirm = opened(false, Some("PRODUCTION"));
    confirming(&mut confirm, "+5", "because");
    screens.push(confirm);
    let mut filter = opened(false, None);
    update(&mut filter, ch('f'));
    screens.push(filter);
    let mut help = opened(false, None);
    update(&mut help, ch('?'));
    screens.push(help);
    let mut audit = started(false, None);
    let c = update(&mut audit, ch('5'));
    answer(&mut audit, c, audit_fixture);
    screens.push(audit);
    let mut audit_entry = started(false, None);
    let c = update(&mut audit_entry, ch('5'));
    answer(&mut audit_entry, c, audit_fixture);
    update(&mut audit_entry, key(KeyCode::Enter));
    screens.push(audit_entry);
    let mut quit = opened(false, None);
    update(&mut quit, ch('a'));
    typed(&mut quit, "1");
    update(&mut quit, ctrl('c'));
    screens.push(quit);
    let mut coming = started(false, None);
    update(&mut coming, ch('1'));
    screens.push(coming);

    renders_at_any_size(&screens);
}

// ------------------------------------------------------------ update rules

#[test]
fn each_key_searches_at_once_and_only_the_newest_counts() {
    let mut app = started(false, None);
    assert!(update(&mut app, ch('/')).is_empty());
    let first = update(&mut app, ch('b'));
    let r = runs(&first);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].delay, None, "no debounce");
    assert!(matches!(&r[0].job, Job::FindUsers { text, .. } if text == "b"));
    // The next key replaces the search in flight: cancel it, ask again.
    let second = update(&mut app, ch('o'));
    assert_eq!(cancels(&second), 1);
    assert!(matches!(&runs(&second)[0].job, Job::FindUsers { text, .. } if text == "bo"));
    // A late answer to the first search is ignored...
    answer(&mut app, first, |_| {
        Some(Outcome::Users(Ok(vec![user(1, "stale@x.io", None, 0)])))
    });
    assert!(!shows(&app, "stale@x.io"));
    // ...the newest one is shown.
    answer(&mut app, second, |_| {
        Some(Outcome::Users(Ok(vec![users()[1].clone()])))
    });
    assert_eq!(user_count(&app), 1);
    assert!(!app.busy());
    // Number keys are typed, not tab switches, while searching.
    update(&mut app, ch('5'));
    assert_eq!(app.active, TabId::Users);
    assert!(shows(&app, "Search: bo5"));
}

#[test]
fn enter_twice_on_the_confirmation_adjusts_once() {
    let mut app = opened(false, None);
    confirming(&mut app, "+50", "goodwill");
    let first = apply(&mut app);
    let second = update(&mut app, key(KeyCode::Enter));
    let third = update(&mut app, key(KeyCode::Enter));
    let adjusts: Vec<_> = runs(&first)
        .into_iter()
        .chain(runs(&second))
        .chain(runs(&third))
        .filter(|r| matches!(r.job, Job::Adjust { .. }))
        .collect();
    assert_eq!(adjusts.len(), 1);
    let Job::Adjust {
        amount,
        reason,
        idempotency_key,
        user,
    } = &adjusts[0].job
    else {
        unreachable!()
    };
    assert_eq!(*amount, 50);
    assert_eq!(reason.as_str(), "goodwill");
    assert_eq!(*user, creditdesk::domain::user_ref::UserRef::Id(12));
    let key1 = idempotency_key.clone();
    // A failure, then Enter again: the same key, so it can't book twice.
    answer(&mut app, first, |_| {
        Some(Outcome::Adjusted(Err(creditdesk::Error::Infrastructure(
            "timeout".into(),
        ))))
    });
    let retry = apply(&mut app);
    let Job::Adjust {
        idempotency_key, ..
    } = &runs(&retry)[0].job
    else {
        unreachable!()
    };
    assert_eq!(*idempotency_key, key1);
    // Failed again: Esc goes back to the form, Esc again closes it.
    answer(&mut app, retry, |_| {
        Some(Outcome::Adjusted(Err(creditdesk::Error::Infrastructure(
            "timeout".into(),
        ))))
    });
    assert!(shows(&app, "may or may not"), "{}", screen(&app));
    update(&mut app, key(KeyCode::Esc));
    assert!(shows(&app, "Adjust balance"));
    update(&mut app, key(KeyCode::Esc));
    assert!(!modal(&app));
    confirming(&mut app, "+1", "again");
    let again = apply(&mut app);
    let Job::Adjust {
        idempotency_key, ..
    } = &runs(&again)[0].job
    else {
        unreachable!()
    };
    assert_ne!(*idempotency_key, key1, "a new form gets a new key");
}

#[test]
fn the_confirmation_reads_the_balance_fresh_and_the_result_says_what_was_booked() {
    let mut app = opened(false, None);
    // The screen says 170; meanwhile another operator booked +1490.
    assert!(shows(&app, "balance 170 credits"));
    let c = reviewing(&mut app, "-20", "duplicate");
    answer(&mut app, c, |job| match job {
        Job::User { .. } => {
            let mut u = users()[0].clone();
            u.credits = 1660;
            Some(Outcome::User(Ok(u)))
        }
        _ => None,
    });
    let s = screen(&app);
    assert!(
        s.contains("old balance  1660") && s.contains("new balance  1640"),
        "{s}"
    );
    // And it changed again before the change was booked.
    let sent = apply(&mut app);
    answer(&mut app, sent, |_| {
        Some(Outcome::Adjusted(Ok(Change::Applied(Adjustment {
            user_id: 12,
            email: "ana@example.com".into(),
            amount: -20,
            entry_id: 90,
            old_balance: 1665,
            new_balance: 1645,
            replayed: false,
        }))))
    });
    let s = rows(&app, 100, 30).join("\n");
    assert!(s.contains("booked entry #90: balance 1665 → 1645"), "{s}");
    assert!(s.contains("not 1660 as reviewed"), "said plainly: {s}");
}

#[test]
fn c_copies_the_selected_users_email() {
    let mut app = started(false, None);
    update(&mut app, ch('j'));
    let c = update(&mut app, ch('c'));
    assert!(
        matches!(&c[..], [Command::Copy(t)] if t == "bo@example.org"),
        "{c:?}"
    );
    let mut app = opened(false, None);
    let c = update(&mut app, ch('c'));
    assert!(
        matches!(&c[..], [Command::Copy(t)] if t == "ana@example.com"),
        "{c:?}"
    );
}

#[test]
fn the_ledger_filter_takes_the_labels_the_screen_shows() {
    let mut app = opened(false, None);
    assert!(shows(&app, "gift card"), "the label on screen");
    update(&mut app, ch('f'));
    typed(&mut app, "Gift Card");
    update(&mut app, key(KeyCode::Enter));
    update(&mut app, key(KeyCode::Enter));
    let c = update(&mut app, key(KeyCode::Enter));
    let Job::Ledger(q) = &runs(&c)[0].job else {
        panic!("{c:?}")
    };
    assert_eq!(
        q.kind,
        Some(creditdesk::domain::ledger::EntryType::GiftCard)
    );
    answer(&mut app, c, fixture);
    assert!(shows(&app, "Ledger · type gift card"), "{}", screen(&app));
}

#[test]
fn adjust_success_refreshes_the_overview_and_ledger() {
    let mut app = opened(false, None);
    confirming(&mut app, "+50", "goodwill");
    let sent = apply(&mut app);
    let after = answer(&mut app, sent, |_| {
        Some(Outcome::Adjusted(Ok(Change::Applied(Adjustment {
            user_id: 12,
            email: "ana@example.com".into(),
            amount: 50,
            entry_id: 99,
            old_balance: 170,
            new_balance: 220,
            replayed: false,
        }))))
    });
    let jobs: Vec<_> = runs(&after).into_iter().map(|r| r.job.name()).collect();
    assert_eq!(jobs, ["credits.overview", "credits.history_with_balances"]);
    assert!(shows(&app, "Balance adjusted"), "the result's own title");
    // Enter closes the result; the notice stays.
    update(&mut app, key(KeyCode::Enter));
    assert!(!modal(&app));
    assert!(shows(&app, "booked entry #99: balance 170 → 220"));
}

#[test]
fn invalid_adjustments_never_reach_the_database() {
    let mut app = opened(false, None);
    for (amount, reason) in [
        ("", "why"),
        ("0", "why"),
        ("abc", "why"),
        ("1.5", "why"),
        ("99999999999", "why"),
        ("-171", "why"), // more than the balance of 170
        ("+5", ""),
        ("+5", "   "),
        ("+5", "'; drop table users; --\u{1b}"),
    ] {
        update(&mut app, ch('a'));
        typed(&mut app, amount);
        update(&mut app, key(KeyCode::Tab));
        typed(&mut app, reason);
        let c = update(&mut app, key(KeyCode::Enter));
        assert_eq!(changes(&c), 0, "{amount:?} {reason:?}");
        // Only what needs the balance (more than it) reads it first.
        assert_eq!(!c.is_empty(), amount == "-171", "{amount:?} {reason:?}");
        let c = answer(&mut app, c, fixture);
        assert!(c.is_empty());
        assert!(shows(&app, "Adjust balance"), "the form stays open");
        assert!(!shows(&app, "Confirm adjustment"), "{amount:?} {reason:?}");
        assert!(shows(&app, "↳"), "{amount:?} {reason:?}: an inline message");
        update(&mut app, key(KeyCode::Esc));
        assert!(!modal(&app));
    }
}

#[test]
fn read_only_offers_no_adjustment() {
    let mut app = opened(true, None);
    let c = update(&mut app, ch('a'));
    assert!(c.is_empty());
    assert!(!modal(&app), "no form");
    let keys = app.active_tab().hints(&app.allow);
    assert!(keys.iter().all(|k| k.keys != "a"), "{keys:?}");
    let t = render(&app, 80, 24);
    let (_, y) = find(t.backend().buffer(), "Enter entry & links");
    let hints: String = (0..80)
        .map(|x| t.backend().buffer()[(x, y)].symbol().to_owned())
        .collect();
    assert!(!hints.contains("adjust"), "{hints}");
}

#[test]
fn esc_cancels_a_slow_load_and_drops_its_reply() {
    let mut app = started(false, None);
    let open = update(&mut app, key(KeyCode::Enter));
    assert_eq!(runs(&open).len(), 2);
    assert!(app.busy());
    let esc = update(&mut app, key(KeyCode::Esc));
    assert_eq!(cancels(&esc), 2);
    assert!(!app.busy());
    // The replies arrive anyway: ignored.
    answer(&mut app, open, fixture);
    assert!(!shows(&app, "ledger total"), "no overview");
    assert!(!shows(&app, "Coupon WELCOME20"), "no ledger");
    // Esc again goes back to the list.
    update(&mut app, key(KeyCode::Esc));
    assert!(shows(&app, "Search:"));
}

#[test]
fn an_unreachable_database_is_retried_until_it_answers() {
    let mut app = started(false, None);
    let refresh = update(&mut app, ch('R'));
    let after_error = answer(&mut app, refresh, |_| {
        Some(Outcome::Users(Err(creditdesk::Error::Infrastructure(
            "connection refused".into(),
        ))))
    });
    let ping = runs(&after_error);
    assert!(matches!(ping[0].job, Job::Ping) && ping[0].delay.is_none());
    let after_ping = answer(&mut app, after_error, |_| {
        Some(Outcome::Ping(Err(creditdesk::Error::Infrastructure(
            "refused".into(),
        ))))
    });
    assert!(matches!(app.db, creditdesk::tui::DbHealth::Unreachable(_)));
    let again = runs(&after_ping);
    assert!(matches!(again[0].job, Job::Ping));
    assert_eq!(again[0].delay, Some(creditdesk::tui::app::RETRY_EVERY));
    // It answers: the failed search runs again by itself.
    let back = answer(&mut app, after_ping, |_| Some(Outcome::Ping(Ok(()))));
    assert_eq!(app.db, creditdesk::tui::DbHealth::Ok);
    assert!(
        runs(&back)
            .iter()
            .any(|r| matches!(r.job, Job::FindUsers { .. }))
    );
}

#[test]
fn a_refusal_is_not_a_database_outage() {
    let mut app = opened(false, None);
    confirming(&mut app, "-5", "why");
    let sent = apply(&mut app);
    let after = answer(&mut app, sent, |_| {
        Some(Outcome::Adjusted(Err(
            creditdesk::domain::Refusal::ReadOnly.into(),
        )))
    });
    assert!(after.is_empty(), "no health check for a refusal");
    assert_eq!(app.db, creditdesk::tui::DbHealth::Ok);
}

#[test]
fn the_ledger_pages_as_you_scroll_and_memory_stays_flat() {
    use creditdesk::db::credits::Cursor;
    let mut app = started(false, None);
    let open = update(&mut app, key(KeyCode::Enter));
    // A ledger of 5,000 entries, served 100 at a time by cursor.
    let total = 5_000i32;
    let page = |before: Option<Cursor>| {
        let start = before.map_or(total, |c| c.id - 1);
        let entries: Vec<LedgerEntry> = (1..=start)
            .rev()
            .take(100)
            .map(|id| entry(id, i64::from(total - id), 1, "purchase"))
            .collect();
        let next = (entries.len() == 100)
            .then(|| entries.last().map(LedgerEntry::cursor))
            .flatten();
        HistoryPage { entries, next }
    };
    let serve = |job: &Job| match job {
        Job::Ledger(q) => Some(Outcome::Ledger(Ok(with_balances(page(q.before))))),
        other => fixture(other),
    };
    answer(&mut app, open, serve);
    let mut fetched_newer = 0;
    for step in 0..3_000 {
        let c = update(&mut app, key(KeyCode::Down));
        for r in runs(&c) {
            if let Job::Ledger(q) = &r.job {
                assert_eq!(q.limit, 100);
                if step > 0 {
                    assert!(q.before.is_some(), "later pages use the cursor");
                }
            }
        }
        answer(&mut app, c, serve);
        if step % 50 == 0 {
            let (first, last) = ledger_window(&app);
            assert!(last + 1 - first <= 600, "held {first}–{last}");
        }
    }
    let selected = selected_row(&app, 80, 24).unwrap();
    assert!(
        selected.contains(&format!("purchase {}", total - 3_000)),
        "{selected}"
    );
    // And back up: the dropped pages are fetched again.
    for step in 0..3_000 {
        let c = update(&mut app, key(KeyCode::Up));
        fetched_newer += runs(&c).len();
        answer(&mut app, c, serve);
        if step % 50 == 0 {
            let (first, last) = ledger_window(&app);
            assert!(last + 1 - first <= 600, "held {first}–{last}");
        }
    }
    assert!(fetched_newer > 0);
    let selected = selected_row(&app, 80, 24).unwrap();
    assert!(
        selected.contains(&format!("purchase {total}")),
        "{selected}"
    );
}

#[test]
fn tabs_switch_with_numbers_and_tab_keys() {
    let mut app = started(false, None);
    assert_eq!(app.active, TabId::Users);
    let c = update(&mut app, ch('5'));
    assert_eq!(app.active, TabId::Audit);
    assert!(
        matches!(runs(&c)[0].job, Job::Audit(_)),
        "the audit log loads when first shown"
    );
    update(&mut app, key(KeyCode::Tab));
    assert_eq!(app.active, TabId::Dashboard);
    update(&mut app, key(KeyCode::Tab));
    assert_eq!(app.active, TabId::Coupons);
    update(&mut app, key(KeyCode::BackTab));
    update(&mut app, key(KeyCode::BackTab));
    assert_eq!(app.active, TabId::Audit);
    // Shown again: loaded again, in place.
    update(&mut app, ch('3'));
    let c = update(&mut app, ch('5'));
    assert!(
        matches!(&runs(&c)[..], [r] if matches!(&r.job, Job::Audit(f) if f.before_id.is_none())),
        "{c:?}"
    );
    update(&mut app, ch('q'));
    assert!(app.should_quit(), "nothing unsaved: q quits at once");
}

#[test]
fn the_audit_log_pages_by_id_and_filters() {
    let mut app = started(false, None);
    let c = update(&mut app, ch('5'));
    let r = runs(&c);
    let Job::Audit(f) = &r[0].job else { panic!() };
    assert_eq!(
        (f.before_id, f.actor.as_deref(), f.limit),
        (None, None, 100)
    );
    // A full page: scrolling near its end asks for the next by id.
    let full: Vec<AuditEntry> = (0..100)
        .map(|i| {
            let mut e = audit_entries()[0].clone();
            e.id = 1000 - i;
            e
        })
        .collect();
    answer(&mut app, c, |_| Some(Outcome::Audit(Ok(full.clone()))));
    let mut next = Vec::new();
    for _ in 0..90 {
        next.extend(update(&mut app, key(KeyCode::Down)));
    }
    let more = runs(&next);
    assert_eq!(more.len(), 1);
    let Job::Audit(f) = &more[0].job else {
        panic!()
    };
    assert_eq!(f.before_id, Some(901));
    // The filter form: operator and action.
    update(&mut app, ch('f'));
    typed(&mut app, "ana");
    update(&mut app, key(KeyCode::Tab));
    typed(&mut app, "credits");
    update(&mut app, key(KeyCode::Tab));
    typed(&mut app, "2026-03-01");
    update(&mut app, key(KeyCode::Enter));
    let c = update(&mut app, key(KeyCode::Enter));
    let Job::Audit(f) = &runs(&c)[0].job else {
        panic!()
    };
    assert_eq!(
        (f.actor.as_deref(), f.action.as_deref(), f.before_id),
        (Some("ana"), Some("credits"), None)
    );
    assert_eq!(
        f.since,
        Some(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 3, 1, 0, 0, 0).unwrap()),
        "by date, as creditdesk audit --since"
    );
}

#[test]
fn links_open_the_tab_that_shows_them() {
    let mut app = started(false, None);
    let c = update(&mut app, ch('5'));
    answer(&mut app, c, audit_fixture);
    update(&mut app, key(KeyCode::Enter)); // credits.adjust on user 12
    let c = update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.active, TabId::Users);
    assert!(shows(&app, "┌ #12 ana@example.com"), "{}", screen(&app));
    let jobs: Vec<_> = runs(&c).into_iter().map(|r| r.job.name()).collect();
    assert!(
        jobs.ends_with(&["credits.overview", "credits.history_with_balances"]),
        "overview and ledger load: {jobs:?}"
    );
}

#[test]
fn back_returns_through_the_links_followed_as_they_were() {
    use creditdesk::db::batches::{BatchDetail, BatchUser, GenerationOptions};
    use creditdesk::db::gift_cards::GiftCard;
    use creditdesk::domain::gift_card::GiftCardStatus;
    let card = GiftCard {
        id: 4,
        code_masked: "K7QF-****-****-9XM2".into(),
        status: GiftCardStatus::Redeemed,
        stored_status: GiftCardStatus::Redeemed,
        credits: 100,
        price: rust_decimal::Decimal::new(999, 2),
        credit_pack_id: None,
        pack_name: None,
        recipient_email: None,
        purchased_by_email: None,
        redeemed_by_user_id: Some(11),
        redeemed_by_email: Some("bo@example.org".into()),
        redeemed_at: Some(t0()),
        expires_at: None,
        created_at: t0(),
        revoked_at: None,
        revoked_by: None,
        revoke_reason: None,
    };
    let batch = BatchDetail {
        id: 1827,
        status: "completed".into(),
        images: 8,
        credits_used: 8,
        created_at: t0(),
        completed_at: Some(t0()),
        age_seconds: 60,
        user: BatchUser {
            id: 11,
            email: "bo@example.org".into(),
            name: None,
            credits: 0,
        },
        model: None,
        options: GenerationOptions {
            aspect_ratio: None,
            glasses: None,
            hair_color: None,
            hair_style: None,
            backgrounds: None,
            styles: None,
        },
        photos: vec![],
        charged: 8,
        refunded: 0,
        entries: vec![],
    };
    let world = |job: &Job| match job {
        Job::GiftCard { .. } => Some(Outcome::GiftCard(Ok(Box::new(card.clone())))),
        Job::GiftCards(_) => Some(Outcome::GiftCards(Ok(vec![card.clone()]))),
        Job::Batch { .. } => Some(Outcome::Batch(Ok(Box::new(batch.clone())))),
        Job::Batches(_) => Some(Outcome::Batches(Ok(vec![]))),
        Job::Overview {
            user: creditdesk::domain::user_ref::UserRef::Id(11),
        } => Some(Outcome::Overview(Ok(overview(&users()[1])))),
        other => fixture(other),
    };
    let mut app = opened(false, None);
    update(&mut app, ch('j'));
    update(&mut app, ch('j')); // the gift card entry
    update(&mut app, key(KeyCode::Enter));
    assert!(shows(&app, "Ledger entry #48"));
    // Ledger entry -> gift card -> its user -> a batch of theirs.
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, world);
    assert_eq!(app.active, TabId::GiftCards);
    assert!(shows(&app, "Gift card #4"), "{}", screen(&app));
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, world);
    assert_eq!(app.active, TabId::Users);
    assert!(shows(&app, "┌ #11 bo@example.org"), "{}", screen(&app));
    update(&mut app, ch('j')); // the batch entry
    update(&mut app, key(KeyCode::Enter));
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, world);
    assert_eq!(app.active, TabId::Batches);
    assert!(shows(&app, "Batch #1827"));
    // Back: Backspace, as Esc.
    let c = update(&mut app, key(KeyCode::Backspace));
    answer(&mut app, c, world);
    assert_eq!(app.active, TabId::Users);
    assert!(shows(&app, "┌ #11 bo@example.org"));
    assert!(shows(&app, "Ledger entry #49"), "the entry as it was open");
    update(&mut app, key(KeyCode::Esc)); // closes the entry
    assert!(
        selected_row(&app, 80, 24)
            .unwrap()
            .contains("Generated 8 photos")
    );
    let c = update(&mut app, key(KeyCode::Esc));
    answer(&mut app, c, world);
    assert_eq!(app.active, TabId::GiftCards);
    assert!(shows(&app, "Gift card #4"));
    let c = update(&mut app, key(KeyCode::Esc));
    answer(&mut app, c, world);
    assert_eq!(app.active, TabId::Users);
    assert!(shows(&app, "┌ #12 ana@example.com"), "{}", screen(&app));
    assert!(shows(&app, "Ledger entry #48"), "where it all started");
    update(&mut app, key(KeyCode::Esc));
    assert!(
        selected_row(&app, 80, 24).unwrap().contains("gift_card 48"),
        "the same entry selected"
    );
    // And back to the search, then nothing further back.
    let c = update(&mut app, key(KeyCode::Esc));
    answer(&mut app, c, world);
    assert!(shows(&app, "Search:"));
    assert!(update(&mut app, key(KeyCode::Backspace)).is_empty());
}

// ------------------------------------------------------- the real database

mod real_database {
    use super::*;
    use creditdesk::testing::TestDb;
    use creditdesk::tui::{Effects, run_loop};
    use std::time::Duration;

    #[tokio::test]
    async fn search_and_adjust_through_the_effect_runner() {
        let db = TestDb::new().await;
        for (email, name, credits) in [("ana@example.com", "Ana", 0), ("bo@example.org", "Bo", 0)] {
            sqlx::query("insert into users (email, name, credits) values ($1, $2, $3)")
                .bind(email)
                .bind(name)
                .bind(credits)
                .execute(&db.pool)
                .await
                .unwrap();
        }
        let mut app = app_with(false, None, Theme::COLOR);
        let mut effects = Effects::new(db.tool.clone(), Operator::parse("ana").unwrap());
        let c = update(&mut app, Msg::Start);
        settle(&mut app, &mut effects, c).await;
        assert_eq!(user_count(&app), 2);

        update(&mut app, ch('/'));
        let c = typed(&mut app, "BO@");
        settle(&mut app, &mut effects, c).await;
        assert_eq!(user_count(&app), 1);
        assert!(shows(&app, "bo@example.org") && !shows(&app, "ana@example.com"));

        update(&mut app, key(KeyCode::Enter)); // leave the search field
        let c = update(&mut app, key(KeyCode::Enter)); // open Bo
        settle(&mut app, &mut effects, c).await;
        assert!(
            shows(&app, "balance 0 credits   ledger total 0"),
            "{}",
            screen(&app)
        );

        let c = reviewing(&mut app, "+25", "welcome gift");
        settle(&mut app, &mut effects, c).await;
        let mut c = apply(&mut app);
        c.extend(update(&mut app, key(KeyCode::Enter))); // a second Enter: ignored
        settle(&mut app, &mut effects, c).await;
        update(&mut app, key(KeyCode::Enter)); // close the result
        let s = screen(&app);
        assert!(
            s.contains("booked entry #") && s.contains(": balance 0 → 25"),
            "{s}"
        );
        assert!(s.contains("balance 25 credits"), "refreshed: {s}");
        assert!(s.contains(" 1–1 "), "one ledger entry: {s}");

        let (credits, entries, audits): (i32, i64, i64) = sqlx::query_as(
            "select (select credits from users where email = 'bo@example.org'),
                    (select count(*) from credit_history where amount = 25 and \"idempotencyKey\" like 'creditdesk-console:test:%'),
                    (select count(*) from admin_audit_log where actor = 'ana' and action = 'credits.adjust' and reason = 'welcome gift')",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!((credits, entries, audits), (25, 1, 1));
    }

    #[tokio::test]
    async fn the_loop_runs_on_a_test_backend() {
        use crossterm::event::Event;
        use futures::StreamExt;
        let db = TestDb::new().await;
        let mut app = app_with(false, Some("PRODUCTION"), Theme::COLOR);
        let mut effects = Effects::new(db.tool.clone(), Operator::parse("ana").unwrap());
        let keys = [KeyCode::Char('3'), KeyCode::Char('5'), KeyCode::Char('q')];
        // Keys a little apart, so the replies in between are handled too.
        let events = futures::stream::iter(keys)
            .then(|code| async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
            })
            .chain(futures::stream::pending());
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        tokio::time::timeout(
            Duration::from_secs(20),
            run_loop(&mut terminal, &mut app, &mut effects, Box::pin(events)),
        )
        .await
        .expect("quits on q")
        .expect("no error");
        assert!(app.should_quit());
        let screen = terminal.backend().to_string();
        assert!(
            screen.contains("no changes recorded yet"),
            "the audit tab loaded on the way: {screen}"
        );
    }
}

#[test]
fn esc_while_an_adjustment_is_in_flight_stops_waiting_and_reloads() {
    let mut app = opened(false, None);
    confirming(&mut app, "+5", "why");
    let sent = apply(&mut app);
    // Quitting now would lose track of it: the app asks first.
    update(&mut app, ch('q'));
    assert!(!app.should_quit());
    assert!(matches!(
        app.popup,
        Some(creditdesk::tui::Popup::ConfirmQuit(_))
    ));
    update(&mut app, ch('n'));
    // Esc stops waiting; the write is not aborted.
    let esc = update(&mut app, key(KeyCode::Esc));
    assert!(esc.is_empty(), "{esc:?}");
    assert!(!modal(&app));
    assert!(shows(&app, "stopped waiting"));
    // Its answer, when it comes, says what was booked, and reloads.
    let late = answer(&mut app, sent, |_| {
        Some(Outcome::Adjusted(Ok(Change::Applied(Adjustment {
            user_id: 12,
            email: "ana@example.com".into(),
            amount: 5,
            entry_id: 77,
            old_balance: 170,
            new_balance: 175,
            replayed: false,
        }))))
    });
    let reloads: Vec<_> = runs(&late).into_iter().map(|r| r.job.name()).collect();
    assert_eq!(
        reloads,
        ["credits.overview", "credits.history_with_balances"]
    );
    assert!(shows(
        &app,
        "the change you stopped waiting for: booked entry #77"
    ));
}

#[test]
fn pasted_text_is_searched_at_once() {
    let mut app = started(false, None);
    update(&mut app, ch('/'));
    let c = update(&mut app, Msg::Paste("bo@exa\nmple".into()));
    let r = runs(&c);
    assert!(
        matches!(&r[..], [r] if matches!(&r.job, Job::FindUsers { text, .. } if text == "bo@exa mple")),
        "{c:?}"
    );
}

#[test]
fn q_is_typed_in_a_text_field_and_quits_elsewhere() {
    let mut app = started(false, None);
    update(&mut app, ch('/'));
    update(&mut app, ch('q'));
    assert!(!app.should_quit());
    assert!(shows(&app, "Search: q"));
    update(&mut app, key(KeyCode::Esc));
    update(&mut app, ch('q'));
    assert!(app.should_quit());
}
