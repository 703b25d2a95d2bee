//! The console's side of four-eyes approval and roles: the status line (who
//! is connected, shared logins, pending requests, replica lag), the
//! Approvals view (`P`), approve and reject through the one change flow,
//! "pending approval #N" results, the writes each role is offered, the
//! first change of a session on a read-only-by-default profile, and Esc
//! during a decision.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use creditdesk::db::approvals::{Request, RequestDetail};
use creditdesk::domain::operator::Operator;
use creditdesk::domain::role::{Action, Group};
use creditdesk::error::Error;
use creditdesk::tui::approvals::SessionStatus;
use creditdesk::tui::{App, Command, Job, Msg, Outcome, Theme, update};
use crossterm::event::KeyCode;

fn screen(app: &App, w: u16, h: u16) -> String {
    rows(app, w, h).join("\n")
}

fn shows(app: &App, text: &str) -> bool {
    screen(app, 100, 30).contains(text)
}

fn status(login: &str, role: &str, personal: bool, pending: i64) -> SessionStatus {
    SessionStatus {
        login: login.into(),
        role: role.into(),
        personal,
        pending,
        lag: None,
    }
}

fn request(id: i64, by: &str, status: &str, at: DateTime<Utc>) -> Request {
    Request {
        id,
        kind: "credits.adjust".into(),
        summary: format!("adjust user #3 by +800 credits ({id})"),
        reason: "goodwill".into(),
        requested_by_login: by.into(),
        requested_by: by.into(),
        requested_at: at,
        expires_at: at + chrono::Duration::hours(24),
        status: status.into(),
        decided_by_login: None,
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        payload: serde_json::json!({"user_id": 3, "amount": 800}),
    }
}

fn detail(r: Request) -> RequestDetail {
    RequestDetail {
        request: r,
        effect_now: vec!["user #3 zoe@example.com: balance now 100 -> 900".into()],
    }
}

/// A finance console whose status is known, the Approvals view open on
/// two pending requests (#7 by bo, #8 by the operator itself).
fn approvals_open(config: creditdesk::tui::ConsoleConfig) -> App {
    let mut app = App::new(&config, t0(), Theme::COLOR, "test");
    app.watch_session(status("ana", "finance", true, 2));
    update(&mut app, Msg::Start);
    let c = update(&mut app, ch('P'));
    assert!(app.approvals_shown);
    let now = app.now;
    answer(&mut app, c, |job| match job {
        Job::Approvals(f) if f.pending_only => Some(Outcome::Approvals(Ok(vec![
            request(7, "bo", "pending", now),
            request(8, "ana", "pending", now),
        ]))),
        _ => None,
    });
    app
}

fn fresh(app: &mut App, c: Vec<Command>, r: Request) -> Vec<Command> {
    answer(app, c, move |job| match job {
        Job::Approval { .. } => Some(Outcome::Approval(Ok(Box::new(detail(r.clone()))))),
        _ => None,
    })
}

#[test]
fn the_status_line_names_the_login_its_role_and_what_waits() {
    let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
    app.watch_session(status("ana", "support", true, 3));
    let last = rows(&app, 80, 24).pop().unwrap();
    assert!(last.contains("ana · support"), "{last}");
    assert!(last.contains("3 pending "), "{last}");
    assert!(!last.contains("shared"), "{last}");

    // A shared login: a warning, and the name claimed beside it.
    let mut app = App::new(&config(false, Some("PRODUCTION")), t0(), Theme::COLOR, "t");
    let mut s = status("postgres", "owner", false, 0);
    s.lag = Some(Duration::from_secs(12));
    app.watch_session(s);
    let last = rows(&app, 80, 24).pop().unwrap();
    assert!(last.contains("⚠ shared login postgres · owner"), "{last}");
    assert!(last.contains("as ana"), "{last}");
    assert!(last.contains("0 pending"), "{last}");
    // The lag shows when there is room (it comes after what matters more).
    let wide = rows(&app, 200, 24).pop().unwrap();
    assert!(wide.contains("replica lag 12s"), "{wide}");

    // Polled: the first reading at start, then every few seconds, paused
    // with p like the lists.
    let c = update(&mut app, Msg::Start);
    let status_reads = |c: &[Command]| {
        runs(c)
            .iter()
            .filter(|r| matches!(r.job, Job::Status))
            .count()
    };
    assert_eq!(status_reads(&c), 1);
    answer(&mut app, c, |job| match job {
        Job::Status => Some(Outcome::Status(Ok(status("postgres", "owner", false, 5)))),
        _ => None,
    });
    assert!(rows(&app, 80, 24).pop().unwrap().contains("5 pending "));
    let later = app.now + chrono::Duration::seconds(2);
    assert_eq!(status_reads(&update(&mut app, Msg::Tick(later))), 0);
    let later = app.now + chrono::Duration::seconds(5);
    let c = update(&mut app, Msg::Tick(later));
    assert_eq!(status_reads(&c), 1, "{c:?}");
    answer(&mut app, c, |job| match job {
        Job::Status => Some(Outcome::Status(Ok(status("postgres", "owner", false, 4)))),
        _ => None,
    });
    update(&mut app, ch('p'));
    let later = app.now + chrono::Duration::seconds(60);
    assert_eq!(
        status_reads(&update(&mut app, Msg::Tick(later))),
        0,
        "paused"
    );
    update(&mut app, ch('p'));
    let later = app.now + chrono::Duration::seconds(61);
    assert_eq!(
        status_reads(&update(&mut app, Msg::Tick(later))),
        1,
        "resumed"
    );

    // Without a session to watch (the other tests' consoles): no polling.
    let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
    let c = update(&mut app, Msg::Start);
    assert_eq!(status_reads(&c), 0);
}

#[test]
fn p_opens_the_approvals_view_from_every_tab_and_esc_returns() {
    for tab in ['1', '2', '3', '4', '5'] {
        let mut app = App::new(&config_as(&[Group::Finance]), t0(), Theme::COLOR, "t");
        update(&mut app, Msg::Start);
        update(&mut app, ch(tab));
        let before = app.active;
        let c = update(&mut app, ch('P'));
        assert!(app.approvals_shown, "from tab {tab}");
        assert!(
            runs(&c).iter().any(|r| matches!(r.job, Job::Approvals(_))),
            "{c:?}"
        );
        assert!(shows(&app, "Approvals"), "{}", screen(&app, 100, 30));
        update(&mut app, key(KeyCode::Esc));
        assert!(!app.approvals_shown);
        assert_eq!(app.active, before);
        // Backspace too, and P again closes it.
        update(&mut app, ch('P'));
        update(&mut app, key(KeyCode::Backspace));
        assert!(!app.approvals_shown);
        update(&mut app, ch('P'));
        update(&mut app, ch('P'));
        assert!(!app.approvals_shown);
    }
    // A number key leaves the view for that tab.
    let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "t");
    update(&mut app, Msg::Start);
    update(&mut app, ch('P'));
    update(&mut app, ch('4'));
    assert!(!app.approvals_shown);
    assert_eq!(app.active, creditdesk::tui::TabId::Batches);
}

#[test]
fn the_list_offers_decisions_only_on_someone_elses_pending_request() {
    let mut app = approvals_open(config_as(&[Group::Finance]));
    insta::assert_snapshot!("approvals_list", body(&app, 80, 24));
    let offered = |app: &App| -> Vec<&'static str> {
        app.screen()
            .hints(&app.allow)
            .iter()
            .map(|h| h.action)
            .collect()
    };
    // #7 is bo's.
    assert!(offered(&app).contains(&"approve"), "{:?}", offered(&app));
    assert!(offered(&app).contains(&"reject"));
    // #8 is the operator's own: no approve, no reject, and the key does nothing.
    update(&mut app, ch('j'));
    assert!(!offered(&app).contains(&"approve"), "{:?}", offered(&app));
    assert!(!offered(&app).contains(&"reject"));
    assert!(update(&mut app, ch('a')).is_empty());
    assert!(!app.screen().modal());
    assert!(shows(&app, "ana (you)"));

    // Enter: the detail, read afresh.
    update(&mut app, ch('k'));
    let c = update(&mut app, key(KeyCode::Enter));
    let now = app.now;
    fresh(&mut app, c, request(7, "bo", "pending", now));
    assert!(
        shows(&app, "balance now 100 -> 900"),
        "{}",
        screen(&app, 100, 30)
    );
    insta::assert_snapshot!("approvals_detail", body(&app, 80, 24));
    // Esc: back to the list, then to the tab it was opened from.
    update(&mut app, key(KeyCode::Esc));
    assert!(app.approvals_shown);
    assert!(shows(&app, "2 pending"));
    update(&mut app, key(KeyCode::Esc));
    assert!(!app.approvals_shown);

    // `f`: the recent ones too.
    let mut app = approvals_open(config_as(&[Group::Finance]));
    let c = update(&mut app, ch('f'));
    assert!(
        runs(&c)
            .iter()
            .any(|r| matches!(&r.job, Job::Approvals(f) if !f.pending_only)),
        "{c:?}"
    );
}

#[test]
fn the_list_refreshes_by_itself_and_keeps_the_selection() {
    let mut app = approvals_open(config_as(&[Group::Finance]));
    update(&mut app, ch('j'));
    let now = app.now + chrono::Duration::seconds(5);
    let c = update(&mut app, Msg::Tick(now));
    let t = app.now;
    answer(&mut app, c, |job| match job {
        Job::Approvals(_) => Some(Outcome::Approvals(Ok(vec![
            request(9, "cy", "pending", t),
            request(7, "bo", "pending", t),
            request(8, "ana", "pending", t),
        ]))),
        _ => None,
    });
    let selected = selected_row(&app, 100, 30).unwrap_or_default();
    assert!(selected.contains("#8"), "{selected}");
    // p pauses it.
    update(&mut app, ch('p'));
    let now = app.now + chrono::Duration::seconds(60);
    let c = update(&mut app, Msg::Tick(now));
    assert!(
        !runs(&c).iter().any(|r| matches!(r.job, Job::Approvals(_))),
        "{c:?}"
    );
    assert!(shows(&app, "paused (p)"));
}

#[test]
fn reject_asks_for_a_reason_and_goes_through_the_change_flow() {
    let mut app = approvals_open(config_as(&[Group::Admin]));
    update(&mut app, ch('r'));
    assert!(shows(&app, "Reject request #7"));
    // No reason: an inline error.
    update(&mut app, key(KeyCode::Enter));
    assert!(
        shows(&app, "a reason is required"),
        "{}",
        screen(&app, 100, 30)
    );
    typed(&mut app, "not agreed");
    let c = update(&mut app, key(KeyCode::Enter));
    let now = app.now;
    fresh(&mut app, c, request(7, "bo", "pending", now));
    assert!(
        shows(&app, "Reject request #7?"),
        "{}",
        screen(&app, 100, 30)
    );
    assert!(shows(&app, "rejected as"));
    let c = apply(&mut app);
    assert_eq!(changes(&c), 1);
    let sent = runs(&c);
    assert!(
        matches!(&sent[0].job, Job::Reject { id: 7, reason } if reason.as_str() == "not agreed")
    );
    let mut r = request(7, "bo", "rejected", now);
    r.decision_reason = Some("not agreed".into());
    let c = answer(&mut app, c, move |_| {
        Some(Outcome::Rejected(Ok(Box::new(r.clone()))))
    });
    assert!(shows(&app, "Request rejected"), "{}", screen(&app, 100, 30));
    assert!(shows(&app, "nothing of it was applied"));
    // The list loads again behind it.
    assert!(runs(&c).iter().any(|r| matches!(r.job, Job::Approvals(_))));
}

#[test]
fn a_request_decided_meanwhile_is_refused_before_asking() {
    let mut app = approvals_open(config_as(&[Group::Finance]));
    let c = update(&mut app, ch('a'));
    let now = app.now;
    fresh(&mut app, c, request(7, "bo", "approved", now));
    assert!(
        shows(&app, "is approved already"),
        "{}",
        screen(&app, 100, 30)
    );
}

#[test]
fn the_databases_refusal_of_self_approval_is_shown() {
    // The console doesn't know the login (no session watched): it offers
    // the decision, and the database refuses it.
    let mut app = App::new(&config_as(&[Group::Finance]), t0(), Theme::COLOR, "test");
    update(&mut app, Msg::Start);
    let c = update(&mut app, ch('P'));
    let now = app.now;
    answer(&mut app, c, |job| match job {
        Job::Approvals(_) => Some(Outcome::Approvals(Ok(vec![request(
            8, "ana", "pending", now,
        )]))),
        _ => None,
    });
    let c = update(&mut app, ch('a'));
    fresh(&mut app, c, request(8, "ana", "pending", now));
    let c = apply(&mut app);
    answer(&mut app, c, |_| {
        Some(Outcome::Approved(Err(Error::Refused(
            creditdesk::domain::Refusal::OwnRequest,
        ))))
    });
    assert!(
        shows(&app, "Refused: Approve request #8"),
        "{}",
        screen(&app, 100, 30)
    );
    assert!(
        shows(&app, "the login that asked for it cannot"),
        "{}",
        screen(&app, 100, 30)
    );
}

#[test]
fn esc_while_deciding_never_abandons_it_and_reports_the_outcome() {
    // Approved after Esc: the notice says what was booked.
    let mut app = approvals_open(config_as(&[Group::Finance]));
    let c = update(&mut app, ch('a'));
    let now = app.now;
    fresh(&mut app, c, request(7, "bo", "pending", now));
    let sent = apply(&mut app);
    let esc = update(&mut app, key(KeyCode::Esc));
    assert_eq!(cancels(&esc), 0, "the write goes on");
    assert!(shows(&app, "stopped waiting"), "{}", screen(&app, 100, 30));
    assert!(app.approvals_shown, "Esc left the dialog, not the view");
    answer(&mut app, sent, |_| {
        Some(Outcome::Approved(Ok(Box::new(
            creditdesk::tui::approvals::ApprovalDone {
                id: 7,
                approved: creditdesk::db::approvals::Approved::Adjustment(
                    creditdesk::db::credits::Adjustment {
                        user_id: 3,
                        email: "zoe@example.com".into(),
                        amount: 800,
                        entry_id: 55,
                        old_balance: 100,
                        new_balance: 900,
                        replayed: false,
                    },
                ),
                codes_saved: None,
                codes_error: None,
            },
        ))))
    });
    assert!(
        shows(
            &app,
            "the change you stopped waiting for: approved request #7"
        ),
        "{}",
        screen(&app, 100, 30)
    );

    // Left the view meanwhile: the status line says it.
    let mut app = approvals_open(config_as(&[Group::Finance]));
    let c = update(&mut app, ch('a'));
    fresh(&mut app, c, request(7, "bo", "pending", now));
    let sent = apply(&mut app);
    update(&mut app, key(KeyCode::Esc));
    update(&mut app, key(KeyCode::Esc));
    assert!(!app.approvals_shown);
    answer(&mut app, sent, |_| {
        Some(Outcome::Approved(Err(Error::Refused(
            creditdesk::domain::Refusal::RequestExpired {
                id: 7,
                expires_at: now,
            },
        ))))
    });
    let last = rows(&app, 200, 30).pop().unwrap();
    assert!(last.contains("stopped waiting for: not applied"), "{last}");

    // Refused after Esc: the notice says it was not applied.
    let mut app = approvals_open(config_as(&[Group::Finance]));
    let c = update(&mut app, ch('a'));
    fresh(&mut app, c, request(7, "bo", "pending", now));
    let sent = apply(&mut app);
    update(&mut app, key(KeyCode::Esc));
    answer(&mut app, sent, |_| {
        Some(Outcome::Approved(Err(Error::Refused(
            creditdesk::domain::Refusal::RequestExpired {
                id: 7,
                expires_at: now,
            },
        ))))
    });
    assert!(
        shows(&app, "stopped waiting for: not applied"),
        "{}",
        screen(&app, 100, 30)
    );
}

#[test]
fn the_first_change_of_a_write_session_on_a_read_only_profile_asks_once_more() {
    let mut cfg = config_as(&[Group::Finance]);
    cfg.confirm_first_change = true;
    cfg.env_label = Some("prod-eu".into());
    let mut app = approvals_open(cfg);
    let c = update(&mut app, ch('a'));
    let now = app.now;
    fresh(&mut app, c, request(7, "bo", "pending", now));
    assert!(
        matches!(app.popup, Some(creditdesk::tui::Popup::FirstChange(_))),
        "{:?}",
        app.popup
    );
    assert!(
        shows(&app, "first change of this session"),
        "{}",
        screen(&app, 100, 30)
    );
    insta::assert_snapshot!("first_change_question", body(&app, 80, 24));
    // Anything but y goes back (Enter too): nothing applied.
    let c = update(&mut app, key(KeyCode::Enter));
    assert_eq!(changes(&c), 0);
    assert!(app.popup.is_none());
    assert!(!app.screen().modal(), "a change without a form closes");
    // Asked again, the next time.
    let c = update(&mut app, ch('a'));
    fresh(&mut app, c, request(7, "bo", "pending", now));
    assert!(matches!(
        app.popup,
        Some(creditdesk::tui::Popup::FirstChange(_))
    ));
    wait(&mut app, 400);
    update(&mut app, ch('y'));
    assert!(app.popup.is_none());
    assert!(shows(&app, "Approve request #7?"));
    // Its y doesn't also apply the confirmation: a y right after is dropped.
    let c = update(&mut app, ch('y'));
    assert_eq!(changes(&c), 0);
    let c = apply(&mut app);
    assert_eq!(changes(&c), 1, "{c:?}");
    // Once answered, never again this session.
    update(&mut app, key(KeyCode::Esc));
    let c = update(&mut app, ch('r'));
    assert!(c.is_empty());
    typed(&mut app, "no");
    let c = update(&mut app, key(KeyCode::Enter));
    fresh(&mut app, c, request(7, "bo", "pending", now));
    assert!(app.popup.is_none());
    assert!(shows(&app, "Reject request #7?"));

    // Read-only, or no --write on such a profile: never asked.
    let mut app = approvals_open(config_as(&[Group::Finance]));
    let c = update(&mut app, ch('a'));
    fresh(&mut app, c, request(7, "bo", "pending", now));
    assert!(app.popup.is_none());
}

#[test]
fn any_size_renders_without_panic() {
    let mut list = approvals_open(config_as(&[Group::Finance]));
    list.watch_session(status(&"x".repeat(300), "finance+oncall", false, 12_345));
    let mut detail = approvals_open(config_as(&[Group::Finance]));
    let c = update(&mut detail, key(KeyCode::Enter));
    let now = detail.now;
    fresh(&mut detail, c, request(7, "bo", "pending", now));
    let mut confirming = approvals_open(config_as(&[Group::Finance]));
    let c = update(&mut confirming, ch('a'));
    fresh(&mut confirming, c, request(7, "bo", "pending", now));
    // A login of 300 characters is cut: the count still shows at 80.
    let mut idle = App::new(&config(false, None), t0(), Theme::COLOR, "t");
    idle.watch_session(status(&"x".repeat(300), "finance+oncall", false, 12_345));
    let last = rows(&idle, 80, 24).pop().unwrap();
    assert!(last.contains("12345 pending"), "{last}");
    renders_at_any_size(&[list, detail, confirming]);
}

// ------------------------------------------------------- the real database

mod real_database {
    use super::*;
    use creditdesk::db::credits;
    use creditdesk::domain::user_ref::UserRef;
    use creditdesk::testing::{TestDb, reason, scalar_i64, user_with_credits};
    use creditdesk::tui::Effects;

    async fn keys(app: &mut App, effects: &mut Effects, msgs: Vec<Msg>) {
        for m in msgs {
            let c = update(app, m);
            settle(app, effects, c).await;
        }
    }

    fn text(s: &str) -> Vec<Msg> {
        s.chars().map(ch).collect()
    }

    /// A console as `login`, in `group`, its session watched as `run` does.
    fn console(group: Group, login: &creditdesk::testing::Login) -> (App, Effects) {
        let mut cfg = config_as(&[group]);
        cfg.operator = Operator::parse(&login.name).unwrap();
        let mut app = App::new(&cfg, Utc::now(), Theme::COLOR, "test");
        app.watch_session(SessionStatus::of(login.db.session().unwrap()));
        let effects = Effects::new(login.db.clone(), cfg.operator.clone());
        (app, effects)
    }

    #[tokio::test]
    async fn a_second_person_approves_in_the_console() {
        let db = TestDb::new().await;
        let support = db.login(Group::Support).await;
        let finance = db.login(Group::Finance).await;
        let user = user_with_credits(&db.tool, "zoe@example.com", 100).await;
        let asked = credits::adjust(
            &support.db,
            &Operator::parse(&support.name).unwrap(),
            &UserRef::Id(user),
            800,
            &reason("goodwill"),
            None,
        )
        .await
        .unwrap();
        assert!(matches!(asked, creditdesk::db::Change::Pending(_)));

        let (mut app, mut effects) = console(Group::Finance, &finance);
        keys(&mut app, &mut effects, vec![Msg::Start]).await;
        let last = rows(&app, 100, 30).pop().unwrap();
        assert!(
            last.contains(&format!("{} · finance", finance.name)),
            "{last}"
        );
        assert!(last.contains("1 pending "), "{last}");

        keys(&mut app, &mut effects, vec![ch('P')]).await;
        assert!(shows(&app, "credits.adjust"), "{}", screen(&app, 100, 30));
        keys(&mut app, &mut effects, vec![key(KeyCode::Enter)]).await;
        assert!(
            shows(&app, "balance now 100 -> 900"),
            "{}",
            screen(&app, 100, 30)
        );
        keys(&mut app, &mut effects, vec![ch('a')]).await;
        assert!(
            shows(&app, "Approve request #"),
            "{}",
            screen(&app, 100, 30)
        );
        let c = apply(&mut app);
        settle(&mut app, &mut effects, c).await;
        assert!(shows(&app, "Request approved"), "{}", screen(&app, 100, 30));
        assert!(
            shows(&app, "balance 100 → 900"),
            "{}",
            screen(&app, 100, 30)
        );
        assert_eq!(
            scalar_i64(
                &db.pool,
                &format!("select credits::int8 from users where id = {user}")
            )
            .await,
            900
        );
        keys(&mut app, &mut effects, vec![key(KeyCode::Enter)]).await;
        assert!(shows(&app, "approved"), "{}", screen(&app, 100, 30));
        // The status line's count follows, at the next reading.
        let later = app.now + chrono::Duration::seconds(6);
        keys(&mut app, &mut effects, vec![Msg::Tick(later)]).await;
        let last = rows(&app, 100, 30).pop().unwrap();
        assert!(last.contains("0 pending"), "{last}");
        keys(
            &mut app,
            &mut effects,
            vec![key(KeyCode::Esc), key(KeyCode::Esc)],
        )
        .await;
        assert!(!app.approvals_shown);

        // Support sees the request but may not decide.
        let (mut app, mut effects) = console(Group::Support, &support);
        keys(&mut app, &mut effects, vec![Msg::Start, ch('P'), ch('f')]).await;
        assert!(shows(&app, "approved"), "{}", screen(&app, 100, 30));
        let offered: Vec<&str> = app
            .screen()
            .hints(&app.allow)
            .iter()
            .map(|h| h.action)
            .collect();
        assert!(!offered.contains(&"approve"), "{offered:?}");
    }

    #[tokio::test]
    async fn the_database_refuses_self_approval_and_the_console_says_so() {
        let db = TestDb::new().await;
        let finance = db.login(Group::Finance).await;
        let user = user_with_credits(&db.tool, "zoe@example.com", 100).await;
        credits::adjust(
            &finance.db,
            &Operator::parse(&finance.name).unwrap(),
            &UserRef::Id(user),
            -600,
            &reason("too much"),
            None,
        )
        .await
        .unwrap_err();
        credits::adjust(
            &finance.db,
            &Operator::parse(&finance.name).unwrap(),
            &UserRef::Id(user),
            700,
            &reason("mine"),
            None,
        )
        .await
        .unwrap();
        // Its own request: not offered.
        let (mut app, mut effects) = console(Group::Finance, &finance);
        keys(&mut app, &mut effects, vec![Msg::Start, ch('P')]).await;
        assert!(shows(&app, "(you)"), "{}", screen(&app, 100, 30));
        let c = update(&mut app, ch('a'));
        assert!(c.is_empty());
        // A console that doesn't know the login offers it; the database refuses.
        let mut cfg = config_as(&[Group::Finance]);
        cfg.operator = Operator::parse(&finance.name).unwrap();
        let mut app = App::new(&cfg, Utc::now(), Theme::COLOR, "test");
        keys(&mut app, &mut effects, vec![Msg::Start, ch('P'), ch('a')]).await;
        let c = apply(&mut app);
        settle(&mut app, &mut effects, c).await;
        assert!(
            shows(&app, "Refused: Approve request"),
            "{}",
            screen(&app, 100, 30)
        );
        assert_eq!(
            scalar_i64(
                &db.pool,
                &format!("select credits::int8 from users where id = {user}")
            )
            .await,
            100,
            "nothing moved"
        );
    }

    #[tokio::test]
    async fn changes_above_the_thresholds_show_pending_approval() {
        let db = TestDb::new().await;
        let support = db.login(Group::Support).await;
        let finance = db.login(Group::Finance).await;
        user_with_credits(&db.tool, "zoe@example.com", 100).await;
        sqlx::raw_sql(
            "insert into credit_packs (name, credits, price) values ('Big', 5000, 99.00);",
        )
        .execute(&db.pool)
        .await
        .unwrap();

        // An adjustment of 800 by support.
        let (mut app, mut effects) = console(Group::Support, &support);
        keys(&mut app, &mut effects, vec![Msg::Start, ch('3')]).await;
        keys(&mut app, &mut effects, vec![key(KeyCode::Enter)]).await;
        let mut msgs = vec![ch('a')];
        msgs.extend(text("+800"));
        msgs.push(key(KeyCode::Tab));
        msgs.extend(text("goodwill"));
        msgs.push(key(KeyCode::Enter));
        keys(&mut app, &mut effects, msgs).await;
        assert!(
            shows(&app, "Confirm adjustment"),
            "{}",
            screen(&app, 100, 30)
        );
        let c = apply(&mut app);
        settle(&mut app, &mut effects, c).await;
        assert!(
            shows(&app, "Waiting for approval"),
            "{}",
            screen(&app, 100, 30)
        );
        assert!(
            shows(&app, "pending approval #"),
            "{}",
            screen(&app, 100, 30)
        );
        assert_eq!(
            scalar_i64(&db.pool, "select credits::int8 from users").await,
            100
        );

        // Three cards of 5000 credits by finance: 15,000 > 10,000.
        let (mut app, mut effects) = console(Group::Finance, &finance);
        keys(&mut app, &mut effects, vec![Msg::Start, ch('2')]).await;
        let mut msgs = vec![ch('n'), ctrl('u')];
        msgs.extend(text("3"));
        msgs.extend([key(KeyCode::Tab), key(KeyCode::Right)]);
        msgs.extend([key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Tab)]);
        msgs.extend(text("zoe@example.com"));
        msgs.push(key(KeyCode::Tab));
        msgs.extend(text("30d"));
        msgs.push(key(KeyCode::Tab));
        msgs.extend(text("spring"));
        msgs.push(key(KeyCode::Enter));
        keys(&mut app, &mut effects, msgs).await;
        assert!(shows(&app, "15000 in all"), "{}", screen(&app, 100, 30));
        let c = apply(&mut app);
        settle(&mut app, &mut effects, c).await;
        assert!(
            shows(&app, "Waiting for approval"),
            "{}",
            screen(&app, 100, 30)
        );
        assert!(
            shows(&app, "pending approval #"),
            "{}",
            screen(&app, 100, 30)
        );
        assert_eq!(
            scalar_i64(&db.pool, "select count(*) from gift_cards").await,
            0
        );
        // And the status line counts both.
        let later = app.now + chrono::Duration::seconds(6);
        keys(
            &mut app,
            &mut effects,
            vec![key(KeyCode::Enter), Msg::Tick(later)],
        )
        .await;
        let last = rows(&app, 100, 30).pop().unwrap();
        assert!(last.contains("2 pending "), "{last}");
    }

    /// Each of the writes of one screen: offered (footer, help) and
    /// dispatched exactly when `group` may do it.
    async fn check(
        app: &mut App,
        effects: &mut Effects,
        group: Group,
        screen_name: &str,
        writes: &[(&str, char, Action)],
    ) {
        for (hint, k, action) in writes {
            let allowed = action.allowed_for(group);
            let offered: Vec<&str> = app
                .screen()
                .hints(&app.allow)
                .iter()
                .map(|h| h.action)
                .collect();
            assert_eq!(
                offered.contains(hint),
                allowed,
                "{group} on {screen_name}: {hint} offered {offered:?}"
            );
            assert!(
                !app.screen().modal(),
                "{group} on {screen_name}: a dialog was left open"
            );
            keys(app, effects, vec![ch(*k)]).await;
            assert_eq!(
                app.screen().modal(),
                allowed,
                "{group} on {screen_name}: {k} opened a dialog?\n{}",
                screen(app, 100, 30)
            );
            if allowed {
                keys(app, effects, vec![key(KeyCode::Esc)]).await;
                assert!(
                    !app.screen().modal(),
                    "{group} on {screen_name}: Esc closes {k}\n{}",
                    screen(app, 100, 30)
                );
            }
        }
    }

    #[tokio::test]
    async fn each_role_is_offered_only_its_writes() {
        let db = TestDb::new().await;
        let user = user_with_credits(&db.tool, "zoe@example.com", 100).await;
        let pool = &db.pool;
        creditdesk::testing::exec(
            pool,
            &format!(
                "insert into coupons (code, \"discountType\", \"discountValue\") values ('SPRING', 'credits', 10);
                 insert into photo_generation_batches
                   (\"userId\", \"totalImagesGenerated\", \"creditsUsed\", \"aspectRatio\",
                    glasses, backgrounds, styles, status, \"createdAt\")
                 values ({user}, 8, 8, '9:16', 'no', '[\"beach\"]', '[\"linkedin\"]',
                         'generating', now() - interval '3 hours');"
            ),
        )
        .await
        .unwrap();
        creditdesk::db::gift_cards::issue(
            &db.tool,
            &creditdesk::testing::operator(),
            &creditdesk::db::gift_cards::IssueRequest {
                value: creditdesk::db::gift_cards::CardValue::Custom {
                    credits: 100,
                    price: rust_decimal::Decimal::new(999, 2),
                },
                count: 1,
                recipient: None,
                expires_at: None,
                reason: None,
            },
        )
        .await
        .unwrap();
        let support = db.login(Group::Support).await;
        credits::adjust(
            &support.db,
            &Operator::parse(&support.name).unwrap(),
            &UserRef::Id(user),
            900,
            &reason("goodwill"),
            None,
        )
        .await
        .unwrap();

        for group in Group::ALL {
            let mut app = App::new(&config_as(&[group]), Utc::now(), Theme::COLOR, "test");
            let mut effects = Effects::new(db.tool.clone(), Operator::parse("ana").unwrap());
            keys(&mut app, &mut effects, vec![Msg::Start]).await;
            assert!(shows(&app, "SPRING"), "{}", screen(&app, 100, 30));
            check(
                &mut app,
                &mut effects,
                group,
                "coupons",
                &[
                    ("new", 'n', Action::CouponCreate),
                    ("deactivate", 'd', Action::CouponDeactivate),
                    ("redeem", 'r', Action::CouponRedeem),
                ],
            )
            .await;
            keys(&mut app, &mut effects, vec![ch('2')]).await;
            check(
                &mut app,
                &mut effects,
                group,
                "gift cards",
                &[
                    ("issue", 'n', Action::GiftCardIssue),
                    ("revoke", 'x', Action::GiftCardRevoke),
                    ("redeem", 'r', Action::GiftCardRedeem),
                    (
                        "reveal the full code (audit logged)",
                        'v',
                        Action::GiftCardReveal,
                    ),
                ],
            )
            .await;
            keys(&mut app, &mut effects, vec![ch('3'), key(KeyCode::Enter)]).await;
            check(
                &mut app,
                &mut effects,
                group,
                "a user",
                &[("adjust", 'a', Action::CreditsAdjust)],
            )
            .await;
            keys(&mut app, &mut effects, vec![ch('4')]).await;
            assert!(shows(&app, "zoe@example.com"), "{}", screen(&app, 100, 30));
            check(
                &mut app,
                &mut effects,
                group,
                "batches",
                &[("fail", 'F', Action::BatchFail)],
            )
            .await;
            keys(&mut app, &mut effects, vec![ch('P')]).await;
            assert!(shows(&app, "credits.adjust"), "{}", screen(&app, 100, 30));
            check(
                &mut app,
                &mut effects,
                group,
                "approvals",
                &[
                    ("approve", 'a', Action::ApprovalDecide),
                    ("reject", 'r', Action::ApprovalDecide),
                ],
            )
            .await;
            // The auditor's footer holds no write at all.
            if group == Group::Auditor {
                for tab in ['1', '2', '4'] {
                    keys(&mut app, &mut effects, vec![ch(tab)]).await;
                    assert!(
                        app.screen().hints(&app.allow).iter().all(|h| !matches!(
                            h.action,
                            "new"
                                | "deactivate"
                                | "redeem"
                                | "issue"
                                | "revoke"
                                | "fail"
                                | "adjust"
                        )),
                        "{:?}",
                        app.screen().hints(&app.allow)
                    );
                }
            }
        }
    }

    #[tokio::test]
    async fn approving_a_gift_card_issue_saves_its_codes_at_once() {
        let db = TestDb::new().await;
        let finance = db.login(Group::Finance).await;
        let admin = db.login(Group::Admin).await;
        let req = creditdesk::db::gift_cards::IssueRequest {
            value: creditdesk::db::gift_cards::CardValue::Custom {
                credits: 1000,
                price: rust_decimal::Decimal::new(5000, 2),
            },
            count: 11,
            recipient: None,
            expires_at: None,
            reason: None,
        };
        let asked = creditdesk::db::gift_cards::issue(
            &finance.db,
            &Operator::parse(&finance.name).unwrap(),
            &req,
        )
        .await
        .unwrap();
        assert!(matches!(asked, creditdesk::db::Change::Pending(_)));
        let dir = std::env::temp_dir().join(format!(
            "creditdesk-tui-approvals-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir).unwrap();

        let (mut app, mut effects) = console(Group::Admin, &admin);
        app.export_dir = dir.clone();
        keys(&mut app, &mut effects, vec![Msg::Start, ch('P'), ch('a')]).await;
        assert!(
            shows(&app, "11 active card(s) of 1000 credits"),
            "{}",
            screen(&app, 100, 30)
        );
        let c = apply(&mut app);
        // Esc at once: the codes are saved all the same.
        let esc = update(&mut app, key(KeyCode::Esc));
        settle(&mut app, &mut effects, [c, esc].concat()).await;
        assert!(
            shows(
                &app,
                "the change you stopped waiting for: approved request #"
            ),
            "{}",
            screen(&app, 100, 30)
        );
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let csv = std::fs::read_to_string(&files[0]).unwrap();
        assert_eq!(csv.lines().count(), 12, "{csv}");
        assert_eq!(
            scalar_i64(
                &db.pool,
                "select count(*) from gift_cards where status = 'active'"
            )
            .await,
            11
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn the_status_line_shows_the_replica_lag() {
        let r = creditdesk::testing::replica::ReplicatedDb::new().await;
        let db = r.tool().with_session().await.unwrap();
        let mut app = App::new(&config(false, None), Utc::now(), Theme::COLOR, "test");
        app.watch_session(SessionStatus::of(db.session().unwrap()));
        let mut effects = Effects::new(db.clone(), Operator::parse("ana").unwrap());
        keys(&mut app, &mut effects, vec![Msg::Start]).await;
        let last = rows(&app, 200, 30).pop().unwrap();
        assert!(last.contains("replica lag"), "{last}");
        assert!(
            last.contains("shared login"),
            "the superuser is no operator: {last}"
        );
    }
}
