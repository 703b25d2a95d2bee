//! The Coupons tab of the console without a terminal: screens rendered into
//! ratatui's `TestBackend` and compared with insta snapshots (80x24, fixed
//! clock, fixed data, no database), `update` driven with messages (commands
//! out), and one run through the effect runner against a real database.

mod common;

use common::*;
use std::str::FromStr;

use chrono::{DateTime, Duration, TimeZone, Utc};
use creditdesk::Error;
use creditdesk::db::coupons::{Coupon, CouponDetail, CouponRedemption, Redemption};
use creditdesk::db::credits::Overview;
use creditdesk::db::users::User;
use creditdesk::domain::operator::Operator;
use creditdesk::domain::{InvalidInput, Refusal};
use creditdesk::tui::{App, Command, Job, Link, Msg, Outcome, TabId, Theme, update};
use crossterm::event::KeyCode;
use rust_decimal::Decimal;

/// A console on the Coupons tab, not started.
fn app_at(read_only: bool, now: DateTime<Utc>) -> App {
    let mut app = App::new(
        &config(read_only, Some("PRODUCTION")),
        now,
        Theme::COLOR,
        "test",
    );
    app.active = TabId::Coupons;
    app
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn coupon(
    id: i32,
    code: &str,
    kind: &str,
    value: &str,
    used: i32,
    max: Option<i32>,
    from_days: i64,
    until_days: Option<i64>,
    active: bool,
    description: Option<&str>,
) -> Coupon {
    Coupon {
        id,
        code: code.into(),
        description: description.map(str::to_owned),
        discount_type: kind.into(),
        discount_value: dec(value),
        max_uses: max,
        used_count: used,
        valid_from: t0() + Duration::days(from_days),
        valid_until: until_days.map(|d| t0() + Duration::days(d)),
        is_active: active,
        created_at: t0() - Duration::days(i64::from(100 - id)),
    }
}

/// Newest first, as `coupons::list` returns them.
fn coupons() -> Vec<Coupon> {
    vec![
        coupon(
            9,
            "EVIL-1",
            "credits",
            "5",
            0,
            None,
            -1,
            None,
            true,
            Some("bad \u{1b}[2J\u{1b}[31mRED \u{202e}txet"),
        ),
        coupon(
            8,
            "LAUNCH-2026",
            "credits",
            "100",
            0,
            Some(500),
            7,
            Some(37),
            true,
            Some("Launch week"),
        ),
        coupon(
            7,
            "OLDPROMO",
            "credits",
            "50",
            31,
            Some(100),
            -200,
            None,
            false,
            Some("Replaced by WELCOME20"),
        ),
        coupon(
            6,
            "TENOFF",
            "fixed_amount",
            "9.99",
            50,
            Some(50),
            -30,
            None,
            true,
            None,
        ),
        coupon(
            5,
            "SPRING-25",
            "percentage",
            "25",
            12,
            None,
            -10,
            Some(20),
            true,
            Some("Spring sale"),
        ),
        coupon(
            4,
            "WINTER-10",
            "percentage",
            "10",
            80,
            None,
            -100,
            Some(-10),
            true,
            Some("Winter sale"),
        ),
        coupon(
            3,
            "WELCOME20",
            "credits",
            "20",
            4,
            Some(100),
            -60,
            None,
            true,
            Some("Welcome bonus"),
        ),
    ]
}

fn redemptions() -> Vec<Redemption> {
    let r = |id: i32, user_id: i32, email: &str, minutes: i64| Redemption {
        id,
        user_id,
        email: email.into(),
        credits_awarded: Some(20),
        discount_applied: None,
        transaction_id: None,
        redeemed_at: t0() - Duration::minutes(minutes),
    };
    vec![
        r(40, 12, "ana@example.com", 10),
        r(33, 11, "bo@example.org", 300),
        r(21, 7, "evil\u{1b}[2J@example.com", 2000),
        r(14, 5, "cy@example.net", 9000),
    ]
}

/// Redemptions of a percentage coupon, recorded at checkout by the web app.
fn discounts() -> Vec<Redemption> {
    (0..3)
        .map(|i| Redemption {
            id: 60 + i,
            user_id: 20 + i,
            email: format!("buyer{i}@example.com"),
            credits_awarded: None,
            discount_applied: Some(dec("2.25")),
            transaction_id: Some(900 + i),
            redeemed_at: t0() - Duration::hours(i64::from(i) * 7),
        })
        .collect()
}

/// Dan, who never redeemed WELCOME20 (Ana did).
fn dan() -> User {
    User {
        id: 30,
        email: "dan@example.com".into(),
        name: Some("Dan".into()),
        credits: 120,
        created_at: t0() - Duration::days(30),
    }
}

fn ana() -> User {
    User {
        id: 12,
        email: "ana@example.com".into(),
        name: Some("Ana López".into()),
        credits: 120,
        created_at: t0() - Duration::days(300),
    }
}

/// Answers like the database would for the data above.
fn fixture(job: &Job) -> Option<Outcome> {
    Some(match job {
        Job::Coupons(f) => {
            let text = f.search.clone().unwrap_or_default().to_lowercase();
            Outcome::Coupons(Ok(coupons()
                .into_iter()
                .filter(|c| {
                    f.all || c.status(t0()) == creditdesk::db::coupons::CouponStatus::Active
                })
                .filter(|c| {
                    c.code.to_lowercase().contains(&text)
                        || c.description
                            .as_deref()
                            .unwrap_or("")
                            .to_lowercase()
                            .contains(&text)
                })
                .collect()))
        }
        Job::Coupon { code } => {
            let c = coupons().into_iter().find(|c| &c.code == code)?;
            let redemptions = match c.code.as_str() {
                "WELCOME20" => redemptions(),
                "SPRING-25" => discounts(),
                _ => vec![],
            };
            Outcome::Coupon(Ok(CouponDetail {
                redemptions_total: redemptions.len() as i64,
                coupon: c,
                redemptions,
            }))
        }
        Job::Overview { .. } => Outcome::Overview(Ok(Overview {
            user: ana(),
            ledger_total: 120,
            totals: vec![],
            latest: vec![],
        })),
        Job::User { user } if user.to_string() == "dan@example.com" => Outcome::User(Ok(dan())),
        Job::User { .. } => Outcome::User(Ok(ana())),
        _ => return None,
    })
}

fn screen(app: &App) -> String {
    render(app, 80, 24).backend().to_string()
}

/// Started on the Coupons tab, the list loaded.
fn started(read_only: bool) -> App {
    let mut app = app_at(read_only, t0());
    let c = update(&mut app, Msg::Start);
    answer(&mut app, c, fixture);
    app
}

/// Selects the row showing `code` in the list.
fn select(app: &mut App, code: &str) {
    update(app, key(KeyCode::Home));
    let rows = rows(app, 200, 60);
    let header = rows
        .iter()
        .position(|r| r.starts_with("│code "))
        .expect("the list");
    let i = rows[header + 1..]
        .iter()
        .position(|r| r.trim_start_matches('│').starts_with(&format!("{code} ")))
        .expect("listed");
    for _ in 0..i {
        update(app, ch('j'));
    }
}

/// `code` opened from the list, detail loaded.
fn opened(read_only: bool, code: &str) -> App {
    let mut app = started(read_only);
    select(&mut app, code);
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, fixture);
    app
}

/// Fills the create form field by field (Tab between them).
fn fill_create(app: &mut App, values: [&str; 7]) {
    assert!(update(app, ch('n')).is_empty());
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            update(app, key(KeyCode::Tab));
        }
        typed(app, v);
    }
}

const GOOD: [&str; 7] = [
    "spring-50",
    "credits",
    "50",
    "100",
    "",
    "2026-04-01",
    "Spring campaign",
];

/// Whether the 80x24 screen shows `text`.
fn shows(app: &App, text: &str) -> bool {
    screen(app).contains(text)
}

/// The codes listed, top to bottom (80 columns).
fn listed(app: &App) -> Vec<String> {
    let rows = rows(app, 80, 24);
    let Some(header) = rows.iter().position(|r| r.starts_with("│code ")) else {
        return Vec::new();
    };
    rows[header + 1..]
        .iter()
        .map(|r| {
            r.trim_start_matches('│')
                .split_whitespace()
                .next()
                .unwrap_or("")
        })
        .take_while(|c| !c.is_empty() && !c.contains(['│', '└']))
        .map(str::to_owned)
        .collect()
}

/// A dialog's own key line after the form (three spaces; the footer has two).
const FORM_OPEN: &str = "Enter review   Esc cancel";

/// A dialog of the tab has the keys.
fn dialog_open(app: &App) -> bool {
    app.active_tab().modal()
}

// ---------------------------------------------------------------- snapshots

#[test]
fn snapshot_list() {
    let app = started(false);
    insta::assert_snapshot!("list", body(&app, 80, 24));
}

#[test]
fn snapshot_list_wide() {
    let mut app = started(false);
    let c = update(&mut app, ch('a'));
    answer(&mut app, c, fixture);
    insta::assert_snapshot!("list_all_200x60", body(&app, 200, 60));
}

#[test]
fn snapshot_filter() {
    let mut app = started(false);
    let c = update(&mut app, ch('a'));
    answer(&mut app, c, fixture);
    update(&mut app, ch('/'));
    let c = typed(&mut app, "sale");
    answer(&mut app, c, fixture);
    insta::assert_snapshot!("filter_typing", body(&app, 80, 24));
    update(&mut app, key(KeyCode::Enter));
    insta::assert_snapshot!("filter_all_sale", body(&app, 80, 24));
}

#[test]
fn snapshot_detail_with_redemptions() {
    let mut app = opened(false, "WELCOME20");
    update(&mut app, ch('j'));
    insta::assert_snapshot!("detail", body(&app, 80, 24));
}

#[test]
fn snapshot_detail_of_a_discount_coupon() {
    let app = opened(false, "SPRING-25");
    insta::assert_snapshot!("detail_discount", body(&app, 80, 24));
}

#[test]
fn snapshot_create_form_with_errors() {
    let mut app = started(false);
    fill_create(&mut app, ["no", "free", "abc", "0", "tomorrow", "", "fine"]);
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    insta::assert_snapshot!("create_form_errors", body(&app, 80, 24));
}

#[test]
fn snapshot_create_confirm_and_result() {
    let mut app = started(false);
    fill_create(&mut app, GOOD);
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    insta::assert_snapshot!("create_confirm", body(&app, 80, 24));
    let c = apply(&mut app);
    let created = coupon(
        10,
        "SPRING-50",
        "credits",
        "50",
        0,
        Some(100),
        0,
        Some(18),
        true,
        Some("Spring campaign"),
    );
    answer(&mut app, c, |job| {
        matches!(job, Job::CreateCoupon { .. }).then(|| Outcome::CouponCreated(Ok(created.clone())))
    });
    insta::assert_snapshot!("create_done", body(&app, 80, 24));
}

#[test]
fn snapshot_deactivate_dialog() {
    let mut app = started(false);
    select(&mut app, "WELCOME20");
    update(&mut app, ch('d'));
    insta::assert_snapshot!("deactivate_form", body(&app, 80, 24));
    typed(&mut app, "replaced by SPRING-50");
    let c = update(&mut app, key(KeyCode::Enter));
    assert!(
        matches!(&runs(&c)[..], [r] if matches!(&r.job, Job::Coupon { code } if code == "WELCOME20")),
        "its uses are read fresh: {c:?}"
    );
    answer(&mut app, c, fixture);
    insta::assert_snapshot!("deactivate_confirm", body(&app, 80, 24));
    let c = apply(&mut app);
    let mut off = coupons()
        .into_iter()
        .find(|c| c.code == "WELCOME20")
        .unwrap();
    off.is_active = false;
    answer(&mut app, c, |job| {
        matches!(job, Job::DeactivateCoupon { .. })
            .then(|| Outcome::CouponDeactivated(Ok(off.clone())))
    });
    insta::assert_snapshot!("deactivate_done", body(&app, 80, 24));
}

fn redemption() -> CouponRedemption {
    CouponRedemption {
        redemption_id: 41,
        coupon_id: 3,
        code: "WELCOME20".into(),
        user_id: 30,
        email: "dan@example.com".into(),
        credits: 20,
        entry_id: 812,
        old_balance: 120,
        new_balance: 140,
        used_count: 5,
        max_uses: Some(100),
        redeemed_at: t0(),
    }
}

/// WELCOME20 opened, `r`, the user typed and looked up: the confirmation.
fn redeem_confirming() -> App {
    let mut app = opened(false, "WELCOME20");
    assert!(update(&mut app, ch('r')).is_empty());
    typed(&mut app, "dan@example.com");
    let c = update(&mut app, key(KeyCode::Enter));
    assert!(matches!(runs(&c)[0].job, Job::User { .. }));
    answer(&mut app, c, fixture);
    app
}

#[test]
fn snapshot_redeem_dialog_result_and_refusal() {
    let mut app = opened(false, "WELCOME20");
    update(&mut app, ch('r'));
    typed(&mut app, "dan@example.com");
    insta::assert_snapshot!("redeem_form", body(&app, 80, 24));

    let mut app = redeem_confirming();
    insta::assert_snapshot!("redeem_confirm", body(&app, 80, 24));
    let c = apply(&mut app);
    let sent = runs(&c);
    assert!(
        matches!(&sent[0].job, Job::RedeemCoupon { code, user } if code == "WELCOME20" && *user == creditdesk::domain::user_ref::UserRef::Id(30))
    );
    answer(&mut app, c, |job| {
        matches!(job, Job::RedeemCoupon { .. }).then(|| Outcome::CouponRedeemed(Ok(redemption())))
    });
    insta::assert_snapshot!("redeem_done", body(&app, 80, 24));

    let mut app = redeem_confirming();
    let c = apply(&mut app);
    answer(&mut app, c, |job| {
        matches!(job, Job::RedeemCoupon { .. })
            .then(|| Outcome::CouponRedeemed(Err(Refusal::CouponAlreadyRedeemed.into())))
    });
    insta::assert_snapshot!("redeem_refused", body(&app, 80, 24));
}

#[test]
fn a_discount_coupon_offers_no_redeem() {
    let mut app = started(false);
    select(&mut app, "SPRING-25");
    assert!(!rows(&app, 80, 24)[22].contains("r redeem"));
    assert!(update(&mut app, ch('r')).is_empty(), "nothing is sent");
    assert!(!dialog_open(&app), "no dialog only to refuse");
    select(&mut app, "WELCOME20");
    assert!(rows(&app, 80, 24)[22].contains("r redeem"));
}

#[test]
fn already_redeemed_by_that_user_is_said_before_asking() {
    let mut app = opened(false, "WELCOME20");
    update(&mut app, ch('r'));
    typed(&mut app, "ana@example.com");
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, fixture);
    let text = screen(&app);
    assert!(text.contains("Refused: Redeem coupon"), "{text}");
    assert!(text.contains("already redeemed"), "{text}");
    assert!(!text.contains("Redeem this coupon?"), "{text}");
    assert_eq!(changes(&apply(&mut app)), 0);
}

#[test]
fn snapshot_read_only_list() {
    let app = started(true);
    let text = screen(&app);
    let hints = text.lines().nth(22).unwrap();
    assert!(hints.contains("search"), "{text}");
    for hint in ["new", "deactivate", "redeem"] {
        assert!(!hints.contains(hint), "{hint} offered read-only:\n{text}");
    }
    insta::assert_snapshot!("read_only_list", body(&app, 80, 24));
}

#[test]
fn snapshot_help() {
    let mut app = started(false);
    update(&mut app, ch('?'));
    insta::assert_snapshot!("help", body(&app, 80, 24));
}

#[test]
fn no_color_and_sanitised() {
    use ratatui::style::{Color, Modifier};
    let mut app = App::new(
        &config(false, Some("PRODUCTION")),
        t0(),
        Theme::NO_COLOR,
        "test",
    );
    app.active = TabId::Coupons;
    let c = update(&mut app, Msg::Start);
    answer(&mut app, c, fixture);
    let c = update(&mut app, ch('a'));
    answer(&mut app, c, fixture);
    let t = render(&app, 200, 60);
    let buf = t.backend().buffer();
    let mut text = String::new();
    for cell in buf.content() {
        assert!(matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset));
        text.push_str(cell.symbol());
    }
    assert_defused(&text);
    // The selected row stays visible without colour.
    let row = (0..60)
        .find(|y| {
            (0..200)
                .map(|x| buf[(x, *y)].symbol())
                .collect::<String>()
                .contains("EVIL-1")
        })
        .unwrap();
    assert!(buf[(2, row)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn a_form_too_tall_for_the_window_scrolls_to_the_focused_field() {
    let mut app = started(false);
    fill_create(&mut app, GOOD); // ends on the last field, Description
    for h in [12u16, 16] {
        let rows = rows(&app, 80, h);
        let mut t = render(&app, 80, h);
        let cursor = t.get_cursor_position().unwrap();
        let at = rows
            .iter()
            .position(|r| r.contains(" Description "))
            .unwrap_or_else(|| panic!("the focused field shows at 80x{h}:\n{}", rows.join("\n")));
        assert_eq!(usize::from(cursor.y), at, "the cursor is in it");
        assert!(
            rows.iter().any(|r| r.contains("Enter review   Esc cancel")),
            "the key line stays: {}",
            rows.join("\n")
        );
    }
    // Back up to the first field: the top shows again.
    for _ in 0..6 {
        update(&mut app, key(KeyCode::BackTab));
    }
    assert!(rows(&app, 80, 12).iter().any(|r| r.contains(" Code ")));
}

// -------------------------------------------------------------- never panics

#[test]
fn any_size_renders_without_panic() {
    let mut screens: Vec<App> = vec![started(false), started(true), opened(false, "WELCOME20")];
    let loading = {
        let mut app = app_at(false, t0());
        update(&mut app, Msg::Start);
        app
    };
    screens.push(loading);
    let mut filter = started(false);
    update(&mut filter, ch('/'));
    typed(&mut filter, &"x".repeat(300));
    screens.push(filter);
    let mut form = started(false);
    fill_create(
        &mut form,
        ["no", "free", &"9".repeat(300), "0", "x", "y", "z"],
    );
    update(&mut form, key(KeyCode::Enter));
    screens.push(form);
    let mut confirm = started(false);
    fill_create(&mut confirm, GOOD);
    update(&mut confirm, key(KeyCode::Enter));
    screens.push(confirm);
    let mut deactivate = opened(false, "WELCOME20");
    update(&mut deactivate, ch('d'));
    screens.push(deactivate);
    screens.push(redeem_confirming());
    // The user picker with its matches, one of them chosen.
    let mut picker = picking("an", three());
    update(&mut picker, key(KeyCode::Down));
    screens.push(picker);
    let mut notice = started(false);
    select(&mut notice, "SPRING-25");
    update(&mut notice, ch('r'));
    screens.push(notice);
    let mut linked = started(false);
    update(&mut linked, Msg::Open(Link::Coupon { id: 77, code: None }));
    screens.push(linked);

    renders_at_any_size(&screens);
}

// ------------------------------------------------------------ update rules

#[test]
fn the_list_loads_on_start_and_the_toggle_lists_all() {
    let mut app = app_at(false, t0());
    let c = update(&mut app, Msg::Start);
    let Job::Coupons(f) = &runs(&c)[0].job else {
        panic!("{c:?}")
    };
    assert!(!f.all && f.search.is_none());
    answer(&mut app, c, fixture);
    assert_eq!(listed(&app).len(), 3);
    let c = update(&mut app, ch('a'));
    let Job::Coupons(f) = &runs(&c)[0].job else {
        panic!()
    };
    assert!(f.all);
    answer(&mut app, c, fixture);
    assert_eq!(listed(&app).len(), 7);
}

#[test]
fn create_form_submit_with_invalid_fields_sends_nothing() {
    let mut app = started(false);
    fill_create(
        &mut app,
        ["x!", "percent", "150", "-1", "", "2020-01-01", ""],
    );
    let c = update(&mut app, key(KeyCode::Enter));
    assert!(c.is_empty(), "{c:?}");
    assert!(shows(&app, FORM_OPEN), "the form stays");
    let rows = rows(&app, 80, 24);
    // Each field with an error has its message on the row below it.
    let errors: Vec<&str> = [
        "Code",
        "Type",
        "Value",
        "Max uses",
        "Valid from",
        "Valid until",
    ]
    .into_iter()
    .filter(|label| {
        let at = rows
            .iter()
            .position(|r| r.contains(&format!(" {label} ")))
            .unwrap();
        rows[at + 1].contains('↳')
    })
    .collect();
    assert_eq!(errors, ["Code", "Value", "Max uses", "Valid until"]);
    let mut t = render(&app, 80, 24);
    let cursor = t.get_cursor_position().unwrap();
    let code_row = rows.iter().position(|r| r.contains(" Code ")).unwrap();
    assert_eq!(
        usize::from(cursor.y),
        code_row,
        "the first invalid field has the focus"
    );
}

#[test]
fn enter_twice_on_the_create_confirmation_creates_once() {
    let mut app = started(false);
    fill_create(&mut app, GOOD);
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    let mut c = apply(&mut app);
    c.extend(update(&mut app, key(KeyCode::Enter)));
    assert_eq!(changes(&c), 1);
    let Job::CreateCoupon { new, generated } = &runs(&c)[0].job else {
        panic!()
    };
    assert!(!generated);
    assert_eq!(new.code.as_str(), "SPRING-50");
    assert_eq!(new.max_uses, Some(100));
    assert_eq!(new.valid_from, t0(), "blank is now");
    assert_eq!(
        new.valid_until,
        Some(Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap())
    );
    assert_eq!(new.description.as_deref(), Some("Spring campaign"));
    // Quitting while it is on its way asks first.
    update(&mut app, ch('q'));
    assert!(!app.should_quit());
    update(&mut app, ch('n'));
    // The answer closes the loop: a notice and the list loads again.
    let created = coupons()[6].clone();
    let after = answer(&mut app, c, |_| {
        Some(Outcome::CouponCreated(Ok(created.clone())))
    });
    assert!(matches!(runs(&after)[0].job, Job::Coupons(_)));
    answer(&mut app, after, fixture);
    assert!(shows(&app, "Coupon created"), "the result's own title");
    update(&mut app, key(KeyCode::Enter));
    assert!(!dialog_open(&app));
    assert!(
        shows(&app, "created credits coupon WELCOME20"),
        "the notice"
    );
}

#[test]
fn a_generated_code_is_created_with_create_generated() {
    let mut app = started(false);
    fill_create(&mut app, ["", "credits", "5", "", "", "", ""]);
    update(&mut app, ctrl('g'));
    let row = rows(&app, 80, 24)
        .into_iter()
        .find(|r| r.contains(" Code "))
        .unwrap();
    let code = row
        .split(" Code ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(code.len(), 11, "{code}");
    // Enter walks to the last field, then reviews.
    for _ in 0..6 {
        assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    }
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    let c = apply(&mut app);
    let Job::CreateCoupon { new, generated } = &runs(&c)[0].job else {
        panic!("{c:?}")
    };
    assert!(*generated);
    assert_eq!(new.code.as_str(), code);
}

#[test]
fn database_field_errors_go_back_under_their_fields() {
    let mut app = started(false);
    fill_create(&mut app, GOOD);
    update(&mut app, key(KeyCode::Enter));
    let c = apply(&mut app);
    answer(&mut app, c, |_| {
        Some(Outcome::CouponCreated(Err(Refusal::DuplicateCode {
            code: "SPRING-50".into(),
        }
        .into())))
    });
    assert!(shows(&app, FORM_OPEN), "back to the form");
    assert!(shows(&app, "↳ the code SPRING-50 is already in use"));
    // All of them at once when the database validates.
    update(&mut app, key(KeyCode::Enter)); // to the next field
    for _ in 0..5 {
        update(&mut app, key(KeyCode::Enter));
    }
    update(&mut app, key(KeyCode::Enter)); // review
    let c = apply(&mut app);
    answer(&mut app, c, |_| {
        Some(Outcome::CouponCreated(Err(Error::Invalid(vec![
            InvalidInput::new("value", "too much"),
            InvalidInput::new("description", "too long"),
        ]))))
    });
    assert!(shows(&app, "↳ too much") && shows(&app, "↳ too long"));
}

#[test]
fn deactivate_needs_a_reason_and_is_sent_once() {
    let mut app = opened(false, "WELCOME20");
    update(&mut app, ch('d'));
    assert!(
        update(&mut app, key(KeyCode::Enter)).is_empty(),
        "no reason"
    );
    assert!(shows(&app, "↳"), "an inline message");
    typed(&mut app, "fraud");
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, fixture);
    let mut c = apply(&mut app);
    c.extend(update(&mut app, key(KeyCode::Enter)));
    assert_eq!(changes(&c), 1);
    let Job::DeactivateCoupon { code, reason } = &runs(&c)[0].job else {
        panic!()
    };
    assert_eq!((code.as_str(), reason.as_str()), ("WELCOME20", "fraud"));
    // Success reloads the list and the detail.
    let mut off = coupons()[6].clone();
    off.is_active = false;
    let after = answer(&mut app, c, |_| {
        Some(Outcome::CouponDeactivated(Ok(off.clone())))
    });
    let names: Vec<_> = runs(&after).iter().map(|r| r.job.name()).collect();
    assert_eq!(names, ["coupons.list", "coupons.show"]);
}

#[test]
fn an_inactive_coupon_is_not_deactivated_again() {
    let mut app = started(false);
    let c = update(&mut app, ch('a'));
    answer(&mut app, c, fixture);
    select(&mut app, "OLDPROMO");
    assert!(!rows(&app, 80, 24)[22].contains("d deactivate"));
    assert!(update(&mut app, ch('d')).is_empty());
    assert!(!dialog_open(&app), "not offered");
}

#[test]
fn enter_twice_on_the_redeem_confirmation_redeems_once() {
    let mut app = redeem_confirming();
    let mut c = apply(&mut app);
    c.extend(update(&mut app, key(KeyCode::Enter)));
    assert_eq!(changes(&c), 1);
}

#[test]
fn a_bad_or_unknown_user_stays_in_the_form() {
    let mut app = opened(false, "WELCOME20");
    update(&mut app, ch('r'));
    let searches = typed(&mut app, "nobody");
    // Before the matches came: wait for them.
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    assert!(shows(&app, "↳ still searching"));
    answer(&mut app, searches, |job| {
        matches!(job, Job::FindUsers { .. }).then(|| Outcome::Users(Ok(vec![])))
    });
    assert!(shows(&app, "no user matches"));
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    assert!(
        shows(&app, "↳ no user matches “nobody”"),
        "{}",
        screen(&app)
    );
    // A whole email is taken as typed (the review reads it fresh).
    typed(&mut app, "@x.org");
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, |job| match job {
        Job::User { .. } => Some(Outcome::User(Err(Refusal::NotFound {
            what: "user",
            key: "nobody@x.org".into(),
        }
        .into()))),
        other => fixture(other),
    });
    assert!(shows(&app, "Redeem coupon") && !shows(&app, "Redeem this coupon?"));
    assert!(shows(&app, "↳ no user matches nobody@x.org"));
}

#[test]
fn read_only_opens_no_form() {
    let mut app = opened(true, "WELCOME20");
    for c in ['n', 'd'] {
        let out = update(&mut app, ch(c));
        assert!(out.is_empty(), "{c}: {out:?}");
        assert!(!dialog_open(&app), "{c}");
    }
    // R is the refresh everywhere, and r does nothing in read-only mode.
    assert!(update(&mut app, ch('r')).is_empty());
    let out = update(&mut app, ch('R'));
    assert!(!dialog_open(&app));
    assert_eq!(changes(&out), 0);
    assert!(!runs(&out).is_empty(), "refreshed");
    let keys = app.active_tab().hints(&app.allow);
    assert!(keys.iter().all(|k| !["n", "d", "r"].contains(&k.keys)));
    update(&mut app, key(KeyCode::Esc));
    for c in ['n', 'd'] {
        assert!(update(&mut app, ch(c)).is_empty());
        assert!(!dialog_open(&app));
    }
}

#[test]
fn the_list_refreshes_by_itself_keeps_the_selection_and_p_pauses_it() {
    let mut app = started(false);
    let tick = |app: &mut App, secs: i64| {
        let now = app.now + Duration::seconds(secs);
        update(app, Msg::Tick(now))
    };
    assert!(tick(&mut app, 1).is_empty(), "not due yet");
    select(&mut app, "WELCOME20");
    // A coupon created from the CLI meanwhile: it shows within the
    // interval, no key pressed, and WELCOME20 stays selected.
    let c = tick(&mut app, 5);
    assert!(
        matches!(&runs(&c)[..], [r] if matches!(r.job, Job::Coupons(_))),
        "{c:?}"
    );
    let mut fresh = coupons();
    fresh.insert(
        0,
        coupon(11, "CLI-NEW", "credits", "5", 0, None, -1, None, true, None),
    );
    answer(&mut app, c, |_| Some(Outcome::Coupons(Ok(fresh.clone()))));
    assert!(
        listed(&app).contains(&"CLI-NEW".to_owned()),
        "{}",
        screen(&app)
    );
    assert!(selected_row(&app, 80, 24).unwrap().contains("WELCOME20"));
    // p pauses it (and says so), p again resumes.
    update(&mut app, ch('p'));
    assert!(shows(&app, "paused (p)"));
    assert!(tick(&mut app, 60).is_empty());
    update(&mut app, ch('p'));
    assert!(!runs(&tick(&mut app, 1)).is_empty());
    // Not under a dialog, nor while typing.
    let mut app = started(false);
    update(&mut app, ch('/'));
    assert!(tick(&mut app, 60).is_empty());
}

#[test]
fn a_stale_list_reply_is_ignored() {
    let mut app = started(false);
    update(&mut app, ch('/'));
    let first = typed(&mut app, "w");
    let second = typed(&mut app, "e");
    assert!(
        first.iter().any(|c| matches!(c, Command::Run(_))) && second.len() == 2,
        "the second search cancels the first: {second:?}"
    );
    // The first answer comes late: dropped.
    answer(&mut app, first, |_| Some(Outcome::Coupons(Ok(vec![]))));
    assert!(app.busy());
    assert_eq!(listed(&app).len(), 3);
    answer(&mut app, second, fixture);
    assert_eq!(listed(&app), ["WELCOME20"]);
}

#[test]
fn esc_stops_loading_and_its_reply_is_dropped() {
    let mut app = started(false);
    let c = update(&mut app, ch('R'));
    assert_eq!(runs(&c).len(), 1);
    let esc = update(&mut app, key(KeyCode::Esc));
    assert!(matches!(esc[..], [Command::Cancel(_)]));
    assert!(!app.busy());
    answer(&mut app, c, |_| Some(Outcome::Coupons(Ok(vec![]))));
    assert_eq!(listed(&app).len(), 3, "dropped");
}

#[test]
fn link_coupon_opens_the_detail() {
    let mut app = started(false);
    update(&mut app, ch('3'));
    assert_eq!(app.active, TabId::Users);
    let c = update(
        &mut app,
        Msg::Open(Link::Coupon {
            id: 5,
            code: Some("SPRING-25".into()),
        }),
    );
    assert_eq!(app.active, TabId::Coupons);
    let asked: Vec<_> = runs(&c)
        .into_iter()
        .filter_map(|r| match &r.job {
            Job::Coupon { code } => Some(code.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(asked, ["SPRING-25"]);
    answer(&mut app, c, fixture);
    assert!(shows(&app, "#5 SPRING-25"), "{}", screen(&app));
    // Enter on a redemption opens its user.
    let mut app = opened(false, "WELCOME20");
    update(&mut app, ch('j'));
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.active, TabId::Users);
    assert!(shows(&app, "user #11"), "{}", screen(&app));
}

// ------------------------------------------------------- the real database

mod real_database {
    use super::*;
    use creditdesk::testing::{TestDb, scalar_i64, user_with_credits};
    use creditdesk::tui::Effects;

    #[tokio::test]
    async fn create_redeem_and_deactivate_through_the_tab() {
        let db = TestDb::new().await;
        let user = user_with_credits(&db.tool, "ana@example.com", 7).await;
        let mut app = app_at(false, Utc::now());
        let mut effects = Effects::new(db.tool.clone(), Operator::parse("ana").unwrap());
        let c = update(&mut app, Msg::Start);
        settle(&mut app, &mut effects, c).await;
        assert!(shows(&app, "no coupon is redeemable now"));

        // Create.
        fill_create(
            &mut app,
            [
                "tui-welcome",
                "credits",
                "25",
                "2",
                "",
                "+30d",
                "console test",
            ],
        );
        assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
        let mut c = apply(&mut app);
        c.extend(update(&mut app, key(KeyCode::Enter)));
        settle(&mut app, &mut effects, c).await;
        assert!(
            shows(&app, "created credits coupon TUI-WELCOME"),
            "{}",
            screen(&app)
        );
        update(&mut app, key(KeyCode::Enter)); // close
        assert_eq!(listed(&app), ["TUI-WELCOME"], "the list was reloaded");

        // Redeem for Ana, from the detail.
        let c = update(&mut app, key(KeyCode::Enter));
        settle(&mut app, &mut effects, c).await;
        update(&mut app, ch('r'));
        typed(&mut app, "ANA@example.com");
        let c = update(&mut app, key(KeyCode::Enter));
        settle(&mut app, &mut effects, c).await;
        assert!(shows(&app, "Redeem this coupon?"), "the user was found");
        let mut c = apply(&mut app);
        c.extend(update(&mut app, key(KeyCode::Enter)));
        settle(&mut app, &mut effects, c).await;
        assert!(shows(&app, "balance 7 → 32"), "{}", screen(&app));
        update(&mut app, key(KeyCode::Enter)); // close
        let s = screen(&app);
        assert!(s.contains("used 1/2"), "reloaded: {s}");
        assert!(s.contains(&format!("#{user} ")), "the redemption: {s}");

        // A second time for the same user is refused by the database.
        update(&mut app, ch('r'));
        typed(&mut app, &user.to_string());
        let c = update(&mut app, key(KeyCode::Enter));
        settle(&mut app, &mut effects, c).await;
        let c = apply(&mut app);
        settle(&mut app, &mut effects, c).await;
        assert!(
            screen(&app).contains("already redeemed"),
            "{}",
            screen(&app)
        );
        update(&mut app, key(KeyCode::Esc));
        update(&mut app, key(KeyCode::Esc));

        // Deactivate.
        update(&mut app, ch('d'));
        typed(&mut app, "campaign over");
        let c = update(&mut app, key(KeyCode::Enter));
        settle(&mut app, &mut effects, c).await;
        let c = apply(&mut app);
        settle(&mut app, &mut effects, c).await;
        assert!(
            shows(&app, "deactivated coupon TUI-WELCOME"),
            "{}",
            screen(&app)
        );

        let pool = &db.pool;
        assert_eq!(
            scalar_i64(
                pool,
                "select credits::int8 from users where email = 'ana@example.com'"
            )
            .await,
            32
        );
        assert_eq!(
            scalar_i64(
                pool,
                r#"select count(*) from coupons where code = 'TUI-WELCOME' and "usedCount" = 1
                   and "maxUses" = 2 and "discountValue" = 25 and not "isActive"
                   and description = 'console test'"#
            )
            .await,
            1
        );
        assert_eq!(
            scalar_i64(pool, "select count(*) from coupon_redemptions").await,
            1
        );
        assert_eq!(
            scalar_i64(
                pool,
                "select count(*) from credit_history where type = 'coupon' and amount = 25"
            )
            .await,
            1
        );
        assert_eq!(
            scalar_i64(
                pool,
                "select count(*) from admin_audit_log where actor = 'ana' and action in
                 ('coupon.create', 'coupon.redeem', 'coupon.deactivate')"
            )
            .await,
            3
        );
    }
}

// ------------------------------------------------------------ the user picker

fn three() -> Vec<User> {
    let mut anna = ana();
    anna.id = 14;
    anna.email = "anna@example.org".into();
    anna.name = None;
    let mut joann = dan();
    joann.id = 31;
    joann.email = "joann@example.com".into();
    vec![ana(), anna, joann]
}

/// `r` on WELCOME20 and `text` typed, each key's search answered with
/// `found` (the newest search only counts).
fn picking(text: &str, found: Vec<User>) -> App {
    let mut app = opened(false, "WELCOME20");
    update(&mut app, ch('r'));
    let searches = typed(&mut app, text);
    let asked: Vec<String> = runs(&searches)
        .iter()
        .filter_map(|r| match &r.job {
            Job::FindUsers { text, limit } => {
                assert!(*limit <= 7, "a few matches, not a page");
                Some(text.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        asked.len(),
        text.chars().count(),
        "each key searches at once"
    );
    assert_eq!(asked.last().map(String::as_str), Some(text));
    assert_eq!(
        cancels(&searches),
        text.chars().count() - 1,
        "older ones cancelled"
    );
    answer(&mut app, searches, |job| {
        matches!(job, Job::FindUsers { .. }).then(|| Outcome::Users(Ok(found.clone())))
    });
    app
}

#[test]
fn the_picker_finds_users_by_name_and_down_enter_picks_one() {
    let mut app = picking("an", three());
    let s = screen(&app);
    assert!(s.contains("#12 ana@example.com  Ana López"), "{s}");
    assert!(s.contains("#14 anna@example.org"), "{s}");
    assert!(s.contains("#31 joann@example.com  Dan"), "{s}");
    // Several match: Enter without a choice says so, under the field.
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    assert!(shows(&app, "↳ 3 users match: choose one with ↓ and Enter"));
    // ↓ ↓ ↑ ↓: the second; Enter picks it.
    for k in [KeyCode::Down, KeyCode::Down, KeyCode::Up, KeyCode::Down] {
        assert!(update(&mut app, key(k)).is_empty());
    }
    assert!(shows(&app, "▸ #14 anna@example.org"), "{}", screen(&app));
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    assert!(shows(&app, "User #14 anna@example.org"), "{}", screen(&app));
    assert!(!shows(&app, "joann@"), "the list closes");
    // Enter again: the review reads that user, by id.
    let c = update(&mut app, key(KeyCode::Enter));
    assert!(
        matches!(&runs(&c)[0].job, Job::User { user } if *user == creditdesk::domain::user_ref::UserRef::Id(14)),
        "{c:?}"
    );
}

#[test]
fn one_match_is_the_user_and_an_edit_unpicks() {
    let mut app = picking("dan", vec![dan()]);
    let c = update(&mut app, key(KeyCode::Enter));
    assert!(
        matches!(&runs(&c)[0].job, Job::User { user } if *user == creditdesk::domain::user_ref::UserRef::Id(30)),
        "{c:?}"
    );

    // Picked, then a key typed: searching again, nothing picked.
    let mut app = picking("an", three());
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Enter));
    let again = update(&mut app, key(KeyCode::Backspace));
    assert!(
        matches!(&runs(&again)[0].job, Job::FindUsers { text, .. } if text == "#12 ana@example.co")
    );
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    assert!(shows(&app, "↳ still searching"));
}

#[test]
fn more_matches_than_shown_say_type_more() {
    let many: Vec<User> = (1..=7)
        .map(|i| User {
            id: 100 + i,
            email: format!("a{i}@example.com"),
            ..ana()
        })
        .collect();
    let mut app = picking("a", many);
    let s = screen(&app);
    assert!(
        s.contains("#106 a6@example.com") && !s.contains("#107"),
        "{s}"
    );
    assert!(s.contains("more: type more to narrow"), "{s}");
    update(&mut app, key(KeyCode::Enter));
    assert!(shows(&app, "↳ more than 6 users match"));
    // ↓ stops at the last one shown.
    for _ in 0..10 {
        update(&mut app, key(KeyCode::Down));
    }
    assert!(shows(&app, "▸ #106 a6@example.com"), "{}", screen(&app));
    // Esc leaves the list, and a second Esc the form.
    update(&mut app, key(KeyCode::Esc));
    assert!(!shows(&app, "▸ "));
    assert!(shows(&app, "Redeem coupon"));
}

#[test]
fn a_long_code_is_never_cut_at_80_columns_the_validity_gives_way() {
    let mut app = app_at(false, t0());
    let c = update(&mut app, Msg::Start);
    let long = "BLACKFRIDAY-2026-VIP-EXTRA-30";
    answer(&mut app, c, |job| match job {
        Job::Coupons(_) => {
            let mut list = coupons();
            list.push(coupon(
                20,
                long,
                "credits",
                "30",
                1,
                Some(10),
                -1,
                Some(9),
                true,
                None,
            ));
            Some(Outcome::Coupons(Ok(list)))
        }
        other => fixture(other),
    });
    assert!(listed(&app).iter().any(|c| c == long), "{:?}", listed(&app));
    let s = screen(&app);
    let row = s.lines().find(|r| r.contains(long)).unwrap();
    assert!(row.contains("until 2 active   │"), "{row}");
}
