//! The console's Gift cards tab without a terminal: `update` driven with
//! messages, screens rendered into `TestBackend` and compared with insta
//! snapshots (fixed clock, fixed data, no database), plus one run through
//! the effect runner against a real database that issues cards, saves their
//! codes, revokes one by id, redeems one by id and reveals one.

mod common;

use chrono::Utc;
use common::*;
use creditdesk::db::Change;
use creditdesk::db::gift_cards::{
    CardKey, CardValue, CreditPack, GiftCard, GiftCardRedemption, IssuedCard,
};
use creditdesk::domain::Refusal;
use creditdesk::domain::codes::mask_code;
use creditdesk::domain::gift_card::GiftCardStatus;
use creditdesk::domain::operator::Operator;
use creditdesk::domain::user_ref::UserRef;
use creditdesk::tui::secret::{CardRef, RevealedCode};
use creditdesk::tui::{App, Command, Job, Link, Msg, Outcome, TabId, Theme, update};
use crossterm::event::KeyCode;
use rust_decimal::Decimal;

/// The 80x24 screen, its rows run together.
fn screen(app: &App) -> String {
    rows(app, 80, 24).concat()
}

// ------------------------------------------------------------------ data

const ISSUED: [&str; 3] = [
    "Q1W2-E3R4-T5Y6-Z7X8-C9V0",
    "H4J5-K6M7-N8P9-R0S1-T2V3",
    "A1B2-C3D4-E5F6-G7H8-J9K0",
];

/// The full code of card #105 (the list only knows its masked form).
const CODE_105: &str = "K7QF-9XM2-ABCD-EFGH-JKMN";

fn card(id: i32, status: GiftCardStatus, tail: &str, credits: i32, cents: i64) -> GiftCard {
    GiftCard {
        id,
        code_masked: mask_code(&format!("K7QF-9XM2-ABCD-EFGH-{tail}")),
        status,
        stored_status: status,
        credits,
        price: Decimal::new(cents, 2),
        credit_pack_id: None,
        pack_name: None,
        recipient_email: None,
        purchased_by_email: None,
        redeemed_by_user_id: None,
        redeemed_by_email: None,
        redeemed_at: None,
        expires_at: None,
        created_at: t0() - chrono::Duration::days(i64::from(110 - id)),
        revoked_at: None,
        revoked_by: None,
        revoke_reason: None,
    }
}

fn cards() -> Vec<GiftCard> {
    let mut active = card(105, GiftCardStatus::Active, "JKMN", 100, 999);
    active.recipient_email = Some("zoe@example.com".into());
    active.expires_at = Some(t0() + chrono::Duration::days(90));
    active.pack_name = Some("Starter".into());
    active.credit_pack_id = Some(1);
    let pending = card(104, GiftCardStatus::Pending, "P3ND", 50, 499);
    let mut redeemed = card(103, GiftCardStatus::Redeemed, "R3DM", 200, 1999);
    redeemed.recipient_email = Some("ana@example.com".into());
    redeemed.redeemed_by_user_id = Some(12);
    redeemed.redeemed_by_email = Some("ana@example.com".into());
    redeemed.redeemed_at = Some(t0() - chrono::Duration::hours(5));
    let mut expired = card(102, GiftCardStatus::Expired, "EXP1", 25, 0);
    expired.stored_status = GiftCardStatus::Active;
    expired.expires_at = Some(t0() - chrono::Duration::days(1));
    let mut revoked = card(101, GiftCardStatus::Revoked, "RVK9", 100, 999);
    revoked.recipient_email = Some("mallory\u{1b}[2J\u{202e}@example.com".into());
    revoked.revoked_at = Some(t0() - chrono::Duration::days(2));
    revoked.revoked_by = Some("bo".into());
    revoked.revoke_reason = Some("leaked on a forum".into());
    vec![active, pending, redeemed, expired, revoked]
}

fn packs() -> Vec<CreditPack> {
    vec![
        CreditPack {
            id: 1,
            name: "Starter".into(),
            credits: 50,
            price: Decimal::new(999, 2),
            is_active: true,
        },
        CreditPack {
            id: 2,
            name: "Pro".into(),
            credits: 200,
            price: Decimal::new(2999, 2),
            is_active: true,
        },
        CreditPack {
            id: 3,
            name: "Legacy".into(),
            credits: 10,
            price: Decimal::new(100, 2),
            is_active: false,
        },
    ]
}

fn issued() -> Vec<IssuedCard> {
    ISSUED
        .iter()
        .enumerate()
        .map(|(i, code)| IssuedCard {
            id: 106 + i32::try_from(i).unwrap(),
            code: (*code).to_owned(),
            credits: 100,
            price: Decimal::new(999, 2),
            credit_pack_id: None,
            recipient_email: Some("zoe@example.com".into()),
            expires_at: Some(t0() + chrono::Duration::days(90)),
            created_at: t0(),
        })
        .collect()
}

/// The cards above, filtered as the database would.
fn fixture(job: &Job) -> Option<Outcome> {
    Some(match job {
        Job::FindUsers { .. } => Outcome::Users(Ok(vec![])),
        Job::GiftCards(f) => Outcome::GiftCards(Ok(cards()
            .into_iter()
            .filter(|c| f.status.is_none_or(|s| s == c.status))
            .filter(|c| {
                f.code_suffix.as_deref().is_none_or(|s| {
                    c.code_masked
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                        .ends_with(s)
                })
            })
            .filter(|c| {
                f.recipient
                    .as_ref()
                    .is_none_or(|r| c.recipient_email.as_deref() == Some(r.as_str()))
            })
            .collect())),
        Job::GiftCardPacks => Outcome::GiftCardPacks(Ok(packs())),
        Job::User { .. } => Outcome::User(Ok(creditdesk::db::users::User {
            id: 12,
            email: "ana@example.com".into(),
            name: None,
            credits: 70,
            created_at: t0() - chrono::Duration::days(40),
        })),
        Job::GiftCard {
            card: CardKey::Id(id),
        } => Outcome::GiftCard(
            cards()
                .into_iter()
                .find(|c| c.id == *id)
                .map(Box::new)
                .ok_or_else(|| {
                    Refusal::NotFound {
                        what: "gift card",
                        key: format!("#{id}"),
                    }
                    .into()
                }),
        ),
        _ => return None,
    })
}

/// Started and switched to the Gift cards tab, the list loaded.
fn opened(read_only: bool) -> App {
    let mut app = App::new(
        &config(read_only, Some("PRODUCTION")),
        t0(),
        Theme::COLOR,
        "test",
    );
    let c = show_tab(&mut app);
    answer(&mut app, c, fixture);
    app
}

/// Shows the Gift cards tab (without starting another one first).
fn show_tab(app: &mut App) -> Vec<Command> {
    let c = if app.active == TabId::GiftCards {
        update(app, Msg::Start)
    } else {
        update(app, ch('2'))
    };
    assert_eq!(app.active, TabId::GiftCards);
    c
}

/// Whether the 80x24 screen shows `text`.
fn shows(app: &App, text: &str) -> bool {
    screen(app).contains(text)
}

/// A dialog or a card has the keys.
fn modal(app: &App) -> bool {
    app.active_tab().modal()
}

/// The card whose detail is shown (`┌ Gift card #105 ─`).
fn detail_of(app: &App) -> Option<i32> {
    let s = screen(app);
    let at = s.find("┌ Gift card #")? + "┌ Gift card #".len();
    let rest = &s[at..];
    let end = rest.find(' ')?;
    rest[..end].parse().ok()
}

/// The id of the selected card in the list.
fn selected_id(app: &App) -> Option<i32> {
    let row = selected_row(app, 80, 24)?;
    row.trim_start_matches('│')
        .strip_prefix('#')?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The cards listed (rows of the list, 80x24).
fn listed(app: &App) -> usize {
    rows(app, 80, 24)
        .iter()
        .filter(|r| r.trim_start_matches('│').starts_with('#'))
        .count()
}

const CODES_OPEN: &str = "Issued gift cards: full codes";

/// The issue form open with the packs loaded.
fn issue_form(app: &mut App) {
    let c = update(app, ch('n'));
    assert!(matches!(&runs(&c)[..], [r] if matches!(r.job, Job::GiftCardPacks)));
    answer(app, c, fixture);
}

/// Fills the issue form field by field (Tab between them), the value field
/// moved `pack_steps` to the right; ends on the last field.
fn fill_issue(app: &mut App, fields: [&str; 6], pack_steps: usize) {
    let [count, credits, price, recipient, expires, note] = fields;
    update(app, ctrl('u'));
    typed(app, count);
    update(app, key(KeyCode::Tab));
    for _ in 0..pack_steps {
        update(app, key(KeyCode::Right));
    }
    for text in [credits, price, recipient, expires, note] {
        update(app, key(KeyCode::Tab));
        typed(app, text);
    }
}

/// The issue confirmation for three custom cards.
fn issue_confirming(app: &mut App) {
    issue_form(app);
    fill_issue(
        app,
        [
            "3",
            "100",
            "9.99",
            "zoe@example.com",
            "90d",
            "spring campaign",
        ],
        0,
    );
    assert!(runs(&update(app, key(KeyCode::Enter))).is_empty());
}

/// The codes dialog after issuing three cards.
fn issued_app() -> App {
    let mut app = opened(false);
    issue_confirming(&mut app);
    let c = apply(&mut app);
    answer(&mut app, c, |job| match job {
        Job::IssueGiftCards(_) => Some(Outcome::GiftCardsIssued(Ok(Change::Applied(issued())))),
        _ => None,
    });
    app
}

/// Enter on a change's last field: the review reads what it shows fresh,
/// and the fixture answers.
fn review(app: &mut App) {
    let c = update(app, key(KeyCode::Enter));
    assert_eq!(changes(&c), 0, "a review writes nothing");
    answer(app, c, fixture);
}

/// `v` on the selected card: the confirmation reads the card fresh.
fn reveal(app: &mut App) {
    let c = update(app, ch('v'));
    answer(app, c, fixture);
}

/// The selected card's revoke dialog (`x` or `d`), the reason typed.
fn revoke_form(app: &mut App, k: char, reason: &str) {
    update(app, ch(k));
    typed(app, reason);
}

/// The redeem dialog, code (empty: the selected card) and user typed.
fn redeem_form(app: &mut App, code: &str, user: &str) {
    update(app, ch('r'));
    typed(app, code);
    update(app, key(KeyCode::Tab));
    typed(app, user);
}

/// The reveal popup for the selected card (#105), its code answered.
fn revealed_app() -> App {
    let mut app = opened(false);
    reveal(&mut app);
    let c = apply(&mut app);
    answer(&mut app, c, |job| match job {
        Job::RevealGiftCard { .. } => Some(Outcome::GiftCardRevealed(Ok(RevealedCode::new(
            CODE_105.to_owned(),
        )))),
        _ => None,
    });
    app
}

fn redemption() -> GiftCardRedemption {
    let mut c = cards().remove(0);
    c.status = GiftCardStatus::Redeemed;
    c.stored_status = GiftCardStatus::Redeemed;
    GiftCardRedemption {
        card: c,
        user_id: 12,
        email: "ana@example.com".into(),
        credits: 100,
        entry_id: 51,
        old_balance: 70,
        new_balance: 170,
    }
}

// ------------------------------------------------------------- snapshots

#[test]
fn snapshot_list_with_statuses() {
    let app = opened(false);
    let text = screen(&app);
    for s in ["active", "pending", "redeemed", "expired", "revoked"] {
        assert!(text.contains(s), "{s}");
    }
    insta::assert_snapshot!("gift_cards_list", body(&app, 80, 24));
    insta::assert_snapshot!("gift_cards_list_200x60", body(&app, 200, 60));
}

#[test]
fn snapshot_status_filter() {
    let mut app = opened(false);
    let c = update(&mut app, ch('s'));
    let r = runs(&c);
    assert!(
        matches!(&r[0].job, Job::GiftCards(f) if f.status == Some(GiftCardStatus::Pending)),
        "{:?}",
        r[0].job
    );
    answer(&mut app, c, fixture);
    let c = update(&mut app, ch('S'));
    assert!(matches!(&runs(&c)[0].job, Job::GiftCards(f) if f.status.is_none()));
    let c = update(&mut app, ch('S'));
    assert!(
        matches!(&runs(&c)[0].job, Job::GiftCards(f) if f.status == Some(GiftCardStatus::Revoked))
    );
    let c = update(&mut app, ch('S'));
    assert!(
        matches!(&runs(&c)[0].job, Job::GiftCards(f) if f.status == Some(GiftCardStatus::Expired))
    );
    answer(&mut app, c, fixture);
    insta::assert_snapshot!("gift_cards_expired", body(&app, 80, 24));
}

#[test]
fn snapshot_search() {
    let mut app = opened(false);
    update(&mut app, ch('/'));
    typed(&mut app, "ab%");
    assert!(runs(&update(&mut app, key(KeyCode::Enter))).is_empty());
    insta::assert_snapshot!("gift_cards_search_error", body(&app, 80, 24));
    for _ in 0..3 {
        update(&mut app, key(KeyCode::Backspace));
    }
    typed(&mut app, "jkmn");
    let c = update(&mut app, key(KeyCode::Enter));
    assert!(
        matches!(&runs(&c)[0].job, Job::GiftCards(f) if f.code_suffix.as_deref() == Some("JKMN") && f.recipient.is_none())
    );
    answer(&mut app, c, fixture);
    insta::assert_snapshot!("gift_cards_search", body(&app, 80, 24));
    // A recipient, any case.
    update(&mut app, ch('/'));
    update(&mut app, ctrl('u'));
    typed(&mut app, "Ana@Example.com");
    let c = update(&mut app, key(KeyCode::Enter));
    assert!(
        matches!(&runs(&c)[0].job, Job::GiftCards(f) if f.code_suffix.is_none() && f.recipient.as_ref().map(|r| r.as_str()) == Some("ana@example.com"))
    );
    answer(&mut app, c, fixture);
    assert_eq!(listed(&app), 1);
    // Esc clears the search.
    let c = update(&mut app, key(KeyCode::Esc));
    assert!(
        matches!(&runs(&c)[0].job, Job::GiftCards(f) if f.code_suffix.is_none() && f.recipient.is_none())
    );
}

#[test]
fn snapshot_detail() {
    let mut app = opened(false);
    update(&mut app, ch('j'));
    update(&mut app, ch('j'));
    update(&mut app, key(KeyCode::Enter));
    insta::assert_snapshot!("gift_cards_detail", body(&app, 80, 24));
    // Enter opens the user who redeemed it.
    let c = update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.active, TabId::Users);
    assert!(runs(&c).iter().any(|r| matches!(
        &r.job,
        Job::Overview {
            user: UserRef::Id(12)
        }
    )));
    // The revoked card's detail: who, when and why.
    let mut app = opened(false);
    update(&mut app, key(KeyCode::End));
    update(&mut app, key(KeyCode::Enter));
    insta::assert_snapshot!("gift_cards_detail_revoked", body(&app, 80, 24));
}

#[test]
fn snapshot_issue_form_with_errors_sends_nothing() {
    let mut app = opened(false);
    issue_form(&mut app);
    insta::assert_snapshot!("gift_cards_issue_form", body(&app, 80, 24));
    fill_issue(
        &mut app,
        ["0", "lots", "1.234", "zoe", "2020-01-01", "bad\u{7}note"],
        0,
    );
    let c = update(&mut app, key(KeyCode::Enter));
    assert!(runs(&c).is_empty(), "invalid input sends nothing");
    insta::assert_snapshot!("gift_cards_issue_form_errors", body(&app, 80, 24));
    // A pack with credits typed as well: told to leave them blank.
    let mut app = opened(false);
    issue_form(&mut app);
    fill_issue(&mut app, ["2", "100", "", "", "", ""], 1);
    assert!(runs(&update(&mut app, key(KeyCode::Enter))).is_empty());
    let text = screen(&app);
    assert!(
        text.contains("leave blank: the pack sets the credits"),
        "{text}"
    );
    assert!(text.contains("Starter: 50 credits for 9.99"), "{text}");
}

#[test]
fn snapshot_issue_confirmation() {
    let mut app = opened(false);
    issue_confirming(&mut app);
    insta::assert_snapshot!("gift_cards_issue_confirm", body(&app, 80, 24));
    let text = screen(&app);
    for s in [
        "100 each, 300 in all",
        "9.99 each",
        "29.97",
        "zoe@example.com",
        "2026-06-12 09:30 UTC (in 90 days)",
        "spring campaign",
    ] {
        assert!(text.contains(s), "{s}: {text}");
    }
}

#[test]
fn snapshot_issue_result_with_full_codes_and_save_prompt() {
    let mut app = issued_app();
    insta::assert_snapshot!("gift_cards_issued_codes", body(&app, 80, 24));
    let text = screen(&app);
    for code in ISSUED {
        assert!(text.contains(code), "{code} shown in full");
    }
    update(&mut app, ch('s'));
    insta::assert_snapshot!("gift_cards_save_prompt", body(&app, 80, 24));
    let c = update(&mut app, key(KeyCode::Enter));
    let r = runs(&c);
    assert_eq!(r.len(), 1);
    let Job::SaveGiftCardCodes { path, cards } = &r[0].job else {
        panic!("{:?}", r[0].job);
    };
    assert_eq!(path.to_str(), Some("./gift-cards-20260314-093000.csv"));
    assert_eq!(cards.len(), 3);
    // The file exists already: said in the field, the codes still shown.
    answer(&mut app, c, |_| {
        Some(Outcome::GiftCardCodesSaved(Err(
            creditdesk::Error::invalid(
                "output",
                "./gift-cards-20260314-093000.csv already exists: choose a new file (codes files are never overwritten)",
            ),
        )))
    });
    insta::assert_snapshot!("gift_cards_save_exists", body(&app, 80, 24));
    update(&mut app, ctrl('u'));
    typed(&mut app, "/tmp/spring.csv");
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, |_| {
        Some(Outcome::GiftCardCodesSaved(Ok("/tmp/spring.csv".into())))
    });
    insta::assert_snapshot!("gift_cards_codes_saved", body(&app, 80, 24));
    // Saved: Enter closes at once, and the codes are gone.
    update(&mut app, key(KeyCode::Enter));
    assert!(!modal(&app));
    let text = screen(&app);
    assert!(!text.contains("Q1W2"), "{text}");
}

#[test]
fn closing_unsaved_codes_warns_first_and_quitting_asks() {
    let mut app = issued_app();
    update(&mut app, ch('q'));
    assert!(!app.should_quit());
    assert!(matches!(
        app.popup,
        Some(creditdesk::tui::Popup::ConfirmQuit(_))
    ));
    update(&mut app, ch('n'));
    update(&mut app, key(KeyCode::Esc));
    assert!(shows(&app, CODES_OPEN));
    assert!(screen(&app).contains("Not saved"));
    update(&mut app, key(KeyCode::Esc));
    assert!(!modal(&app), "the second Esc closes");
    update(&mut app, ch('q'));
    assert!(app.should_quit());
}

#[test]
fn snapshot_revoke_dialog() {
    let mut app = opened(false);
    update(&mut app, ch('x'));
    insta::assert_snapshot!("gift_cards_revoke_form", body(&app, 80, 24));
    let text = screen(&app);
    for s in [
        "#105",
        "••••-JKMN",
        "active",
        "100",
        "zoe@example.com",
        "Reason",
    ] {
        assert!(text.contains(s), "{s}: {text}");
    }
    assert!(!text.contains("Code"), "no code to type: {text}");
    // No reason: required.
    assert!(runs(&update(&mut app, key(KeyCode::Enter))).is_empty());
    insta::assert_snapshot!("gift_cards_revoke_errors", body(&app, 80, 24));
    update(&mut app, key(KeyCode::Esc));
    revoke_form(&mut app, 'd', "leaked in a chat");
    review(&mut app);
    insta::assert_snapshot!("gift_cards_revoke_confirm", body(&app, 80, 24));
    let mut c = apply(&mut app);
    c.extend(update(&mut app, key(KeyCode::Enter)));
    let r = runs(&c);
    assert_eq!(r.len(), 1, "Enter twice revokes once");
    let Job::RevokeGiftCard { card, reason } = &r[0].job else {
        panic!("{:?}", r[0].job);
    };
    assert_eq!(card, &CardKey::Id(105), "the selected card, by id");
    assert_eq!(reason.as_str(), "leaked in a chat");
    let reloads = answer(&mut app, c, |_| {
        let mut c = cards().remove(0);
        c.status = GiftCardStatus::Revoked;
        Some(Outcome::GiftCardRevoked(Ok(Box::new(c))))
    });
    assert!(matches!(&runs(&reloads)[..], [r] if matches!(r.job, Job::GiftCards(_))));
    answer(&mut app, reloads, fixture);
    insta::assert_snapshot!("gift_cards_revoke_done", body(&app, 80, 24));
}

#[test]
fn revoking_from_the_detail_revokes_that_card_by_id() {
    let mut app = opened(false);
    update(&mut app, ch('j'));
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(detail_of(&app), Some(104));
    revoke_form(&mut app, 'x', "duplicate");
    review(&mut app);
    let mut c = apply(&mut app);
    c.extend(update(&mut app, key(KeyCode::Enter)));
    assert!(
        matches!(&runs(&c)[..], [r] if matches!(&r.job, Job::RevokeGiftCard { card: CardKey::Id(104), reason } if reason.as_str() == "duplicate")),
        "{c:?}"
    );
}

#[test]
fn revoking_a_redeemed_card_points_to_a_balance_adjustment() {
    // A redeemed card offers no revoke; its detail says what to do instead.
    let mut app = opened(false);
    update(&mut app, ch('j'));
    update(&mut app, ch('j'));
    assert!(!rows(&app, 80, 24)[22].contains("x revoke"));
    assert!(update(&mut app, ch('x')).is_empty());
    assert!(!modal(&app), "no dialog only to refuse");
    update(&mut app, key(KeyCode::Enter));
    insta::assert_snapshot!("gift_cards_revoke_redeemed", body(&app, 80, 24));
    assert!(screen(&app).contains("adjust that user's balance"));
    assert!(!screen(&app).contains("x d revoke"));
    // Redeemed meanwhile: the review reads it fresh and says so, no
    // confirmation.
    let mut app = opened(false);
    revoke_form(&mut app, 'x', "mistake");
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, |_| {
        let mut card = cards().remove(0);
        card.status = GiftCardStatus::Redeemed;
        card.stored_status = GiftCardStatus::Redeemed;
        Some(Outcome::GiftCard(Ok(Box::new(card))))
    });
    let text = screen(&app);
    assert!(text.contains("Refused: Revoke gift card"), "{text}");
    assert!(text.contains("use a balance"), "{text}");
    // And the same answer from the database, if it comes from there.
    let mut app = opened(false);
    revoke_form(&mut app, 'x', "mistake");
    review(&mut app);
    let c = apply(&mut app);
    let none = answer(&mut app, c, |_| {
        Some(Outcome::GiftCardRevoked(Err(
            Refusal::GiftCardNotRevocable {
                status: "redeemed".into(),
            }
            .into(),
        )))
    });
    assert!(runs(&none).is_empty());
    let text = screen(&app);
    assert!(text.contains("use a balance"), "{text}");
}

#[test]
fn snapshot_redeem_dialog_result_and_refusal() {
    let mut app = opened(false);
    update(&mut app, ch('r'));
    let text = screen(&app);
    assert!(text.contains("empty: the selected card"), "{text}");
    assert!(text.contains("••••-JKMN"), "{text}");
    update(&mut app, key(KeyCode::Esc));
    redeem_form(&mut app, "k7qf 9xm2 abcd efgh jkmn", "Ana@Example.com");
    insta::assert_snapshot!("gift_cards_redeem_form", body(&app, 80, 24));
    review(&mut app);
    insta::assert_snapshot!("gift_cards_redeem_confirm", body(&app, 80, 24));
    assert!(!screen(&app).contains("warning"));
    let c = apply(&mut app);
    let r = runs(&c);
    assert!(
        matches!(&r[..], [r] if matches!(&r.job, Job::RedeemGiftCard { card: CardRef::Code(code), user: UserRef::Id(12) } if code.as_str() == "k7qf 9xm2 abcd efgh jkmn")),
        "{r:?}"
    );
    assert!(!format!("{:?}", r[0].job).contains("k7qf"), "Debug masks");
    let reload = answer(&mut app, c, |_| {
        Some(Outcome::GiftCardRedeemed(Ok(Box::new(redemption()))))
    });
    assert!(matches!(&runs(&reload)[..], [r] if matches!(r.job, Job::GiftCards(_))));
    answer(&mut app, reload, fixture);
    insta::assert_snapshot!("gift_cards_redeem_done", body(&app, 80, 24));
    assert!(screen(&app).contains("70 → 170"));

    let mut app = opened(false);
    redeem_form(&mut app, CODE_105, "12");
    review(&mut app);
    let c = apply(&mut app);
    answer(&mut app, c, |_| {
        Some(Outcome::GiftCardRedeemed(Err(
            Refusal::GiftCardAlreadyRedeemed.into(),
        )))
    });
    insta::assert_snapshot!("gift_cards_redeem_refused", body(&app, 80, 24));
}

#[test]
fn redeem_with_an_empty_code_redeems_the_selected_card_by_id() {
    let mut app = opened(false);
    redeem_form(&mut app, "", "12");
    review(&mut app);
    insta::assert_snapshot!("gift_cards_redeem_selected_confirm", body(&app, 80, 24));
    let mut c = apply(&mut app);
    c.extend(update(&mut app, key(KeyCode::Enter)));
    let r = runs(&c);
    assert!(
        matches!(&r[..], [r] if matches!(&r.job, Job::RedeemGiftCard { card: CardRef::Id(105), user: UserRef::Id(12) })),
        "{r:?}"
    );
    assert_eq!(
        CardKey::from(CardRef::Id(105)),
        CardKey::Id(105),
        "sent to the database by id"
    );
}

#[test]
fn redeem_with_another_cards_code_warns_and_sends_that_code() {
    let mut app = opened(false);
    // Too short: the last four are not a code.
    redeem_form(&mut app, "JKMN", "12");
    assert!(runs(&update(&mut app, key(KeyCode::Enter))).is_empty());
    let text = screen(&app);
    assert!(text.contains("enter the whole code"), "{text}");
    update(&mut app, key(KeyCode::Esc));
    // Another card's code: a warning, and the database decides by the code.
    redeem_form(&mut app, ISSUED[0], "12");
    review(&mut app);
    insta::assert_snapshot!("gift_cards_redeem_other_code", body(&app, 80, 24));
    let text = screen(&app);
    assert!(text.contains("ends in C9V0, not JKMN"), "{text}");
    let c = apply(&mut app);
    let r = runs(&c);
    assert!(
        matches!(&r[..], [r] if matches!(&r.job, Job::RedeemGiftCard { card: CardRef::Code(code), .. } if code.as_str() == ISSUED[0])),
        "{r:?}"
    );
    answer(&mut app, c, |_| {
        let mut done = redemption();
        done.card.id = 106;
        Some(Outcome::GiftCardRedeemed(Ok(Box::new(done))))
    });
    let text = screen(&app);
    assert!(text.contains("not the selected #105"), "{text}");
}

#[test]
fn redeem_without_a_redeemable_selection_needs_the_code() {
    // The selected card was redeemed: redeem is not offered on it.
    let mut app = opened(false);
    update(&mut app, ch('j'));
    update(&mut app, ch('j'));
    assert!(selected_row(&app, 80, 24).unwrap().contains("redeemed"));
    assert!(!rows(&app, 80, 24)[22].contains("r redeem"));
    assert!(update(&mut app, ch('r')).is_empty());
    assert!(!modal(&app));

    // Nothing selected (an empty list): r redeems a typed code (R
    // refreshes).
    let mut app = App::new(
        &config(false, Some("PRODUCTION")),
        t0(),
        Theme::COLOR,
        "test",
    );
    let c = show_tab(&mut app);
    answer(&mut app, c, |_| Some(Outcome::GiftCards(Ok(vec![]))));
    redeem_form(&mut app, "", "12");
    assert!(runs(&update(&mut app, key(KeyCode::Enter))).is_empty());
    assert!(screen(&app).contains("enter the card's full code"));
    update(&mut app, key(KeyCode::Up));
    typed(&mut app, CODE_105);
    update(&mut app, key(KeyCode::Enter));
    review(&mut app);
    assert!(
        !screen(&app).contains("warning"),
        "no selected card to differ from"
    );
    let c = apply(&mut app);
    assert!(
        matches!(&runs(&c)[..], [r] if matches!(&r.job, Job::RedeemGiftCard { card: CardRef::Code(_), .. }))
    );
}

#[test]
fn snapshot_reveal_confirm_then_the_code_until_closed() {
    let mut app = opened(false);
    reveal(&mut app);
    insta::assert_snapshot!("gift_cards_reveal_confirm", body(&app, 80, 24));
    assert!(screen(&app).contains("audit log"));
    let mut c = apply(&mut app);
    c.extend(update(&mut app, key(KeyCode::Enter)));
    let r = runs(&c);
    assert!(
        matches!(&r[..], [r] if matches!(&r.job, Job::RevealGiftCard { card: CardKey::Id(105) })),
        "Enter twice reveals once, by id: {r:?}"
    );
    answer(&mut app, c, |_| {
        Some(Outcome::GiftCardRevealed(Ok(RevealedCode::new(
            CODE_105.to_owned(),
        ))))
    });
    insta::assert_snapshot!("gift_cards_revealed", body(&app, 80, 24));
    assert!(screen(&app).contains(CODE_105));
    assert!(shows(&app, "Gift card #105: full code"));
    // Other keys leave it up; Esc closes it and the code is gone.
    update(&mut app, ch('j'));
    assert!(screen(&app).contains(CODE_105));
    update(&mut app, key(KeyCode::Esc));
    assert!(!modal(&app));
    assert!(!screen(&app).contains("K7QF"));
    // Enter closes it too.
    let mut app = revealed_app();
    update(&mut app, key(KeyCode::Enter));
    assert!(!modal(&app));
    // Debug never shows it.
    let code = RevealedCode::new(CODE_105.to_owned());
    assert!(!format!("{code:?}").contains("K7QF"));
}

#[test]
fn reveal_from_the_detail_and_a_refusal() {
    let mut app = opened(false);
    update(&mut app, key(KeyCode::End));
    update(&mut app, key(KeyCode::Enter));
    assert!(screen(&app).contains("v reveal"));
    reveal(&mut app);
    let c = apply(&mut app);
    assert!(
        matches!(&runs(&c)[..], [r] if matches!(&r.job, Job::RevealGiftCard { card: CardKey::Id(101) }))
    );
    answer(&mut app, c, |_| {
        Some(Outcome::GiftCardRevealed(Err(creditdesk::Error::invalid(
            "session",
            "read-only: the reveal can't be recorded",
        ))))
    });
    let text = screen(&app);
    assert!(text.contains("can't be recorded"), "{text}");
    assert!(!text.contains(": full code"), "{text}");
    // Esc stops waiting for an answer; the reveal (an audited write) is
    // not aborted, and what it did is said when it answers.
    let mut app = opened(false);
    reveal(&mut app);
    let sent = apply(&mut app);
    let esc = update(&mut app, key(KeyCode::Esc));
    assert!(!esc.iter().any(|c| matches!(c, Command::Cancel(_))));
    assert!(!modal(&app));
    answer(&mut app, sent, |_| {
        Some(Outcome::GiftCardRevealed(Ok(RevealedCode::new(
            CODE_105.to_owned(),
        ))))
    });
    assert!(shows(&app, "Gift card #105: full code"), "{}", screen(&app));
}

#[test]
fn snapshot_read_only_list_offers_no_change() {
    let mut app = opened(true);
    insta::assert_snapshot!("gift_cards_read_only", body(&app, 80, 24));
    for k in ['n', 'x', 'd', 'v'] {
        let c = update(&mut app, ch(k));
        assert!(runs(&c).is_empty(), "{k}");
        assert!(!modal(&app), "{k} opens nothing");
    }
    let keys = app.active_tab().hints(&app.allow);
    assert!(
        !keys
            .iter()
            .any(|k| k.keys.contains('v') || k.action.contains("reveal")),
        "{keys:?}"
    );
    // R is the refresh everywhere, and r does nothing in read-only mode.
    assert!(runs(&update(&mut app, ch('r'))).is_empty());
    let c = update(&mut app, ch('R'));
    assert!(matches!(&runs(&c)[..], [r] if matches!(r.job, Job::GiftCards(_))));
    assert!(!modal(&app));
    answer(&mut app, c, fixture);
    // The detail offers no change either.
    update(&mut app, key(KeyCode::Enter));
    let text = screen(&app);
    for offered in ["x revoke", "x d revoke", "r redeem", "n issue", "v reveal"] {
        assert!(!text.contains(offered), "{offered}: {text}");
    }
    assert!(
        !app.active_tab()
            .hints(&app.allow)
            .iter()
            .any(|k| k.action.contains("reveal"))
    );
    for k in ['x', 'v'] {
        assert!(runs(&update(&mut app, ch(k))).is_empty());
        assert!(detail_of(&app).is_some(), "{k}");
    }
}

#[test]
fn a_role_sees_and_may_use_only_what_it_allows() {
    use creditdesk::domain::role::Group;
    // Support redeems and reveals, but neither issues nor revokes.
    let mut app = App::new(&config_as(&[Group::Support]), t0(), Theme::COLOR, "test");
    let c = show_tab(&mut app);
    answer(&mut app, c, fixture);
    let footer = rows(&app, 80, 24)[22].clone();
    assert!(footer.contains("r redeem"), "{footer}");
    for hidden in ["n issue", "x revoke"] {
        assert!(!footer.contains(hidden), "{hidden}: {footer}");
    }
    for k in ['n', 'x', 'd'] {
        let c = update(&mut app, ch(k));
        assert!(runs(&c).is_empty(), "{k}");
        assert!(!modal(&app), "{k} opens nothing");
    }
    update(&mut app, ch('?'));
    let help = rows(&app, 80, 24).concat();
    assert!(help.contains("reveal") && !help.contains("issue"), "{help}");
    update(&mut app, key(KeyCode::Esc));
    update(&mut app, ch('r'));
    assert!(modal(&app), "support may redeem");

    // An auditor reads only.
    let mut app = App::new(&config_as(&[Group::Auditor]), t0(), Theme::COLOR, "test");
    let c = show_tab(&mut app);
    answer(&mut app, c, fixture);
    for k in ['n', 'x', 'd', 'r', 'v'] {
        assert!(runs(&update(&mut app, ch(k))).is_empty(), "{k}");
        assert!(!modal(&app), "{k}");
    }
    let footer = rows(&app, 80, 24)[22].clone();
    assert!(
        footer.contains("Enter details") && !footer.contains("redeem"),
        "{footer}"
    );
}

// ------------------------------------------------------------ update rules

#[test]
fn c_copies_a_codes_last_characters_never_the_code() {
    let mut app = opened(false);
    let c = update(&mut app, ch('c'));
    assert!(matches!(&c[..], [Command::Copy(t)] if t == "JKMN"), "{c:?}");
    assert!(shows(&app, "copied the code's last characters JKMN"));
    // The issued codes are on screen: c copies nothing there.
    let mut app = issued_app();
    let c = update(&mut app, ch('c'));
    assert!(!c.iter().any(|c| matches!(c, Command::Copy(_))), "{c:?}");
    // The status line says it for a moment only.
    let mut app = opened(false);
    update(&mut app, ch('c'));
    let later = app.now + chrono::Duration::seconds(4);
    update(&mut app, Msg::Tick(later));
    assert!(!shows(&app, "copied"));
}

#[test]
fn six_digit_ids_show_in_full_even_when_narrow() {
    let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
    let c = show_tab(&mut app);
    let mut big = cards();
    big[0].id = 123_456;
    big[1].id = 9_999_999;
    answer(&mut app, c, |_| Some(Outcome::GiftCards(Ok(big.clone()))));
    for w in [60u16, 80] {
        let s = rows(&app, w, 24).join("\n");
        assert!(
            s.contains("#123456 ") && s.contains("#9999999 "),
            "at {w}:\n{s}"
        );
    }
}

#[test]
fn enter_never_carries_a_change_through() {
    use crossterm::event::{KeyEvent, KeyEventKind, KeyModifiers};
    // Not production: Enter may apply, but only when pressed on its own.
    let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
    let c = show_tab(&mut app);
    answer(&mut app, c, fixture);
    issue_form(&mut app);
    fill_issue(&mut app, ["1", "100", "9.99", "", "", ""], 0);
    update(&mut app, key(KeyCode::Home)); // no effect in a field
    for _ in 0..6 {
        update(&mut app, key(KeyCode::BackTab));
    }
    // A new user's burst of Enters from the first field: every field, the
    // review, then nothing more, however many.
    let mut sent = Vec::new();
    for _ in 0..12 {
        sent.extend(update(&mut app, key(KeyCode::Enter)));
        wait(&mut app, 50);
    }
    assert_eq!(changes(&sent), 0, "{sent:?}");
    assert!(shows(&app, "Confirm: issue gift cards"));
    // A held key's repeats never apply, however late.
    wait(&mut app, 1000);
    let held = KeyEvent::new_with_kind(KeyCode::Enter, KeyModifiers::NONE, KeyEventKind::Repeat);
    assert_eq!(changes(&update(&mut app, Msg::Key(held))), 0);
    // A press a moment after the last one applies, once.
    wait(&mut app, 400);
    let c = update(&mut app, key(KeyCode::Enter));
    assert_eq!(changes(&c), 1);

    // In production only y applies, and only a moment after it showed.
    let mut app = opened(false);
    issue_confirming(&mut app);
    assert!(changes(&update(&mut app, ch('y'))) == 0, "too soon");
    wait(&mut app, 400);
    assert_eq!(changes(&update(&mut app, key(KeyCode::Enter))), 0, "Enter");
    wait(&mut app, 400);
    assert!(shows(&app, "y issue   Esc back"), "{}", screen(&app));
    assert_eq!(changes(&update(&mut app, ch('y'))), 1);
}

#[test]
fn enter_twice_on_the_issue_confirmation_issues_once() {
    let mut app = opened(false);
    issue_confirming(&mut app);
    let mut c = apply(&mut app);
    c.extend(update(&mut app, key(KeyCode::Enter)));
    let r = runs(&c);
    assert_eq!(r.len(), 1);
    let Job::IssueGiftCards(req) = &r[0].job else {
        panic!("{:?}", r[0].job);
    };
    assert_eq!(req.count, 3);
    assert_eq!(
        req.value,
        CardValue::Custom {
            credits: 100,
            price: Decimal::new(999, 2)
        }
    );
    assert_eq!(req.expires_at, Some(t0() + chrono::Duration::days(90)));
    assert_eq!(
        req.recipient.as_ref().map(|r| r.as_str()),
        Some("zoe@example.com")
    );
    assert_eq!(
        req.reason.as_ref().map(|r| r.as_str()),
        Some("spring campaign")
    );
    // The answer shows the codes and reloads the list.
    let next = answer(&mut app, c, |_| {
        Some(Outcome::GiftCardsIssued(Ok(Change::Applied(issued()))))
    });
    assert!(shows(&app, CODES_OPEN));
    assert!(matches!(&runs(&next)[..], [r] if matches!(r.job, Job::GiftCards(_))));
}

#[test]
fn a_pack_is_issued_by_name() {
    let mut app = opened(false);
    issue_form(&mut app);
    fill_issue(&mut app, ["2", "", "", "", "2026-12-31", ""], 2);
    review(&mut app);
    let text = screen(&app);
    assert!(text.contains("Pro"), "{text}");
    assert!(text.contains("200 each, 400 in all"), "{text}");
    assert!(text.contains("59.98"), "{text}");
    let c = apply(&mut app);
    let r = runs(&c);
    assert!(
        matches!(&r[..], [r] if matches!(&r.job, Job::IssueGiftCards(req) if req.value == CardValue::Pack("Pro".into()) && req.count == 2))
    );
}

#[test]
fn stale_replies_are_ignored() {
    let mut app = opened(false);
    // Two status changes in a row: the first answer comes late.
    let first = update(&mut app, ch('s'));
    let second = update(&mut app, ch('s'));
    assert!(second.iter().any(|c| matches!(c, Command::Cancel(_))));
    answer(&mut app, second, |_| Some(Outcome::GiftCards(Ok(vec![]))));
    assert_eq!(listed(&app), 0);
    answer(&mut app, first, fixture);
    assert_eq!(listed(&app), 0, "the late answer changes nothing");

    // Esc while issuing stops waiting, but the issue goes on: when it
    // answers, its codes are shown (they are shown only once).
    let mut app = opened(false);
    issue_confirming(&mut app);
    let sent = apply(&mut app);
    let esc = update(&mut app, key(KeyCode::Esc));
    assert!(!esc.iter().any(|c| matches!(c, Command::Cancel(_))));
    assert!(!modal(&app));
    assert!(shows(&app, "stopped waiting"));
    answer(&mut app, sent, |_| {
        Some(Outcome::GiftCardsIssued(Ok(Change::Applied(issued()))))
    });
    assert!(shows(&app, CODES_OPEN));
    assert!(screen(&app).contains("Q1W2"));

    // Packs answering after the form closed change nothing.
    let mut app = opened(false);
    let c = update(&mut app, ch('n'));
    update(&mut app, key(KeyCode::Esc));
    assert!(answer(&mut app, c, fixture).is_empty());
    assert!(!modal(&app));
}

#[test]
fn a_link_opens_the_card_by_id() {
    let mut app = opened(false);
    update(&mut app, ch('3'));
    let c = update(
        &mut app,
        Msg::Open(Link::GiftCard {
            id: 105,
            masked_code: Some(mask_code(CODE_105)),
        }),
    );
    assert_eq!(app.active, TabId::GiftCards);
    let r = runs(&c);
    assert!(
        r.iter().any(|r| matches!(
            &r.job,
            Job::GiftCard {
                card: CardKey::Id(105)
            }
        )),
        "shown by id: {r:?}"
    );
    assert!(
        r.iter()
            .all(|r| !matches!(&r.job, Job::GiftCards(f) if f.code_suffix.is_some())),
        "no list search: {r:?}"
    );
    assert!(shows(&app, "Gift card #105") && shows(&app, "loading"));
    insta::assert_snapshot!("gift_cards_link_loading", body(&app, 80, 24));
    answer(&mut app, c, fixture);
    assert!(detail_of(&app) == Some(105));
    assert_eq!(selected_id(&app), Some(105));

    // A card far down the list (an issue's audit row has only the id):
    // still one request, by id.
    let mut app = opened(false);
    let c = update(
        &mut app,
        Msg::Open(Link::GiftCard {
            id: 42,
            masked_code: None,
        }),
    );
    let r = runs(&c);
    assert!(
        matches!(&r[..], [r] if matches!(&r.job, Job::GiftCard { card: CardKey::Id(42) })),
        "{r:?}"
    );
    let card_42 = |_: &Job| {
        Some(Outcome::GiftCard(Ok(Box::new(card(
            42,
            GiftCardStatus::Active,
            "BBBB",
            1,
            100,
        )))))
    };
    answer(&mut app, c, card_42);
    assert!(detail_of(&app) == Some(42));
    // Its actions go by id too.
    update(&mut app, ch('x'));
    typed(&mut app, "test card");
    let c = update(&mut app, key(KeyCode::Enter));
    answer(&mut app, c, card_42);
    let c = apply(&mut app);
    assert!(
        matches!(&runs(&c)[..], [r] if matches!(&r.job, Job::RevokeGiftCard { card: CardKey::Id(42), .. }))
    );

    // Not found: said so.
    let mut app = opened(false);
    let c = update(
        &mut app,
        Msg::Open(Link::GiftCard {
            id: 7,
            masked_code: None,
        }),
    );
    answer(&mut app, c, fixture);
    let text = screen(&app);
    assert!(text.contains("Cannot open the gift card"), "{text}");
    assert!(text.contains("#7"), "{text}");

    // Esc stops waiting; the late answer opens nothing.
    let mut app = opened(false);
    let c = update(
        &mut app,
        Msg::Open(Link::GiftCard {
            id: 105,
            masked_code: None,
        }),
    );
    let esc = update(&mut app, key(KeyCode::Esc));
    assert!(esc.iter().any(|c| matches!(c, Command::Cancel(_))));
    assert!(!modal(&app));
    answer(&mut app, c, fixture);
    assert!(!modal(&app), "the stale answer is dropped");
}

#[test]
fn a_link_to_a_tab_not_started_loads_the_list_too() {
    let mut app = App::new(
        &config(false, Some("PRODUCTION")),
        t0(),
        Theme::COLOR,
        "test",
    );
    update(&mut app, Msg::Start);
    let c = update(
        &mut app,
        Msg::Open(Link::GiftCard {
            id: 103,
            masked_code: None,
        }),
    );
    let r = runs(&c);
    assert!(
        r.iter().any(|r| matches!(r.job, Job::GiftCards(_))),
        "{r:?}"
    );
    assert!(
        r.iter().any(|r| matches!(
            r.job,
            Job::GiftCard {
                card: CardKey::Id(103)
            }
        )),
        "{r:?}"
    );
    answer(&mut app, c, fixture);
    assert!(detail_of(&app) == Some(103));
}

#[test]
fn paging_as_you_scroll() {
    let mut app = App::new(
        &config(false, Some("PRODUCTION")),
        t0(),
        Theme::COLOR,
        "test",
    );
    let c = show_tab(&mut app);
    let page = |from: i32| -> Vec<GiftCard> {
        (0..100)
            .map(|i| card(from - i, GiftCardStatus::Active, "AAAA", 1, 100))
            .collect()
    };
    answer(&mut app, c, |j| {
        matches!(j, Job::GiftCards(_)).then(|| Outcome::GiftCards(Ok(page(1000))))
    });
    let mut asked = None;
    for _ in 0..85 {
        let c = update(&mut app, ch('j'));
        if let Some(r) = runs(&c).first() {
            asked = Some(r.job.clone());
        }
    }
    let Some(Job::GiftCards(f)) = asked else {
        panic!("no next page asked for");
    };
    assert_eq!(f.before.map(|c| c.id), Some(901));
}

#[test]
fn a_full_code_is_never_on_screen_but_in_the_issue_result_and_the_reveal() {
    let full: Vec<String> = ISSUED
        .iter()
        .chain([&CODE_105])
        .flat_map(|c| [c.to_string(), c.replace('-', ""), c.to_lowercase()])
        .collect();
    // Prefixes too: a code cut to fit is still a leak.
    let leaks = |text: &str| {
        full.iter()
            .any(|c| text.contains(&c[..9]) || text.to_uppercase().contains(&c[..9].to_uppercase()))
    };
    let mut screens: Vec<(&str, App)> = vec![("list", opened(false))];
    let mut detail = opened(false);
    update(&mut detail, key(KeyCode::Enter));
    screens.push(("detail", detail));
    let mut revoke = opened(false);
    revoke_form(&mut revoke, 'x', "leaked");
    screens.push(("revoke form", revoke));
    let mut revoke_confirm = opened(false);
    revoke_form(&mut revoke_confirm, 'x', "leaked");
    update(&mut revoke_confirm, key(KeyCode::Enter));
    screens.push(("revoke confirmation", revoke_confirm));
    let mut redeem = opened(false);
    redeem_form(&mut redeem, CODE_105, "12");
    screens.push(("redeem form", redeem));
    let mut redeem_other = opened(false);
    redeem_form(&mut redeem_other, ISSUED[0], "12");
    update(&mut redeem_other, key(KeyCode::Enter));
    screens.push(("redeem confirmation, another card's code", redeem_other));
    let mut redeem_confirm = opened(false);
    redeem_form(&mut redeem_confirm, CODE_105, "12");
    review(&mut redeem_confirm);
    let c = apply(&mut redeem_confirm);
    answer(&mut redeem_confirm, c, |_| {
        Some(Outcome::GiftCardRedeemed(Ok(Box::new(redemption()))))
    });
    screens.push(("redeem result", redeem_confirm));
    let mut reveal_confirm = opened(false);
    update(&mut reveal_confirm, ch('v'));
    screens.push(("reveal confirmation", reveal_confirm));
    let mut reveal_waiting = opened(false);
    reveal(&mut reveal_waiting);
    apply(&mut reveal_waiting);
    screens.push(("reveal in flight", reveal_waiting));
    let mut reveal_closed = revealed_app();
    update(&mut reveal_closed, key(KeyCode::Esc));
    screens.push(("after the reveal closed", reveal_closed));
    let mut linked = opened(false);
    let c = update(
        &mut linked,
        Msg::Open(Link::GiftCard {
            id: 105,
            masked_code: None,
        }),
    );
    answer(&mut linked, c, fixture);
    screens.push(("a link's detail", linked));
    let mut confirm = opened(false);
    issue_confirming(&mut confirm);
    screens.push(("issue confirmation", confirm));
    let mut closed = issued_app();
    update(&mut closed, key(KeyCode::Esc));
    update(&mut closed, key(KeyCode::Esc));
    screens.push(("after the result closed", closed));
    for (name, app) in &screens {
        for (w, h) in [(80, 24), (200, 60)] {
            let t = render(app, w, h);
            let text: String = t
                .backend()
                .buffer()
                .content()
                .iter()
                .map(|c| c.symbol())
                .collect();
            assert!(!leaks(&text), "a full code on the {name} screen:\n{text}");
        }
    }
    let result = issued_app();
    assert!(leaks(&screen(&result)), "the issue result shows them");
    let revealed = revealed_app();
    assert!(leaks(&screen(&revealed)), "the reveal popup shows it");
}

#[test]
fn database_text_is_sanitised() {
    let mut app = opened(false);
    update(&mut app, key(KeyCode::End));
    let list = screen(&app);
    update(&mut app, key(KeyCode::Enter));
    for text in [list, screen(&app)] {
        assert_defused(&text);
    }
}

// -------------------------------------------------------------- never panics

#[test]
fn any_size_renders_without_panic() {
    let mut screens: Vec<App> = vec![opened(false), opened(true)];
    let mut searching = opened(false);
    update(&mut searching, ch('/'));
    typed(&mut searching, &"x".repeat(300));
    screens.push(searching);
    let mut search_error = opened(false);
    update(&mut search_error, ch('/'));
    typed(&mut search_error, "%%");
    update(&mut search_error, key(KeyCode::Enter));
    screens.push(search_error);
    let mut detail = opened(false);
    update(&mut detail, key(KeyCode::End));
    update(&mut detail, key(KeyCode::Enter));
    screens.push(detail);
    let mut form = opened(false);
    issue_form(&mut form);
    screens.push(form);
    let mut form_errors = opened(false);
    issue_form(&mut form_errors);
    fill_issue(&mut form_errors, ["0", "x", "y", "z", "w", "\u{7}"], 0);
    update(&mut form_errors, key(KeyCode::Enter));
    screens.push(form_errors);
    let mut confirm = opened(false);
    issue_confirming(&mut confirm);
    screens.push(confirm);
    let mut in_flight = opened(false);
    issue_confirming(&mut in_flight);
    apply(&mut in_flight);
    screens.push(in_flight);
    screens.push(issued_app());
    let mut prompt = issued_app();
    update(&mut prompt, ch('s'));
    screens.push(prompt);
    let mut warned = issued_app();
    update(&mut warned, key(KeyCode::Esc));
    screens.push(warned);
    let mut revoke = opened(false);
    revoke_form(&mut revoke, 'x', "");
    update(&mut revoke, key(KeyCode::Enter));
    screens.push(revoke);
    let mut revoke_confirm = opened(false);
    revoke_form(&mut revoke_confirm, 'x', &"long reason ".repeat(20));
    update(&mut revoke_confirm, key(KeyCode::Enter));
    screens.push(revoke_confirm);
    let mut redeem = opened(false);
    redeem_form(&mut redeem, CODE_105, "12");
    update(&mut redeem, key(KeyCode::Enter));
    screens.push(redeem);
    let mut redeem_other = opened(false);
    redeem_form(&mut redeem_other, ISSUED[1], "12");
    update(&mut redeem_other, key(KeyCode::Enter));
    screens.push(redeem_other);
    let mut redeem_form_open = opened(false);
    update(&mut redeem_form_open, ch('r'));
    screens.push(redeem_form_open);
    let mut reveal = opened(false);
    update(&mut reveal, ch('v'));
    screens.push(reveal);
    screens.push(revealed_app());
    let mut loading = opened(false);
    update(
        &mut loading,
        Msg::Open(Link::GiftCard {
            id: 105,
            masked_code: None,
        }),
    );
    screens.push(loading);
    let mut refused = opened(false);
    update(&mut refused, ch('j'));
    update(&mut refused, ch('j'));
    update(&mut refused, ch('x'));
    screens.push(refused);
    let mut help = opened(false);
    update(&mut help, ch('?'));
    screens.push(help);

    renders_at_any_size(&screens);
}

// ------------------------------------------------------- the real database

mod real_database {
    use super::*;
    use creditdesk::testing::{TestDb, scalar_i64};
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

    #[tokio::test]
    async fn issue_save_and_revoke_through_the_effect_runner() {
        let db = TestDb::new().await;
        sqlx::raw_sql(
            "insert into credit_packs (name, credits, price) values ('Starter', 50, 9.99);",
        )
        .execute(&db.pool)
        .await
        .unwrap();
        let dir = std::env::temp_dir().join(format!(
            "creditdesk-tui-gift-cards-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("codes.csv");

        // Real time: the expiry must be in the future for the database.
        let mut app = App::new(
            &config(false, Some("PRODUCTION")),
            Utc::now(),
            Theme::COLOR,
            "test",
        );
        let mut effects = Effects::new(db.tool.clone(), Operator::parse("ana").unwrap());
        keys(&mut app, &mut effects, vec![Msg::Start, ch('2')]).await;
        assert!(shows(&app, "no gift cards yet"));

        // Three cards from the pack, for a recipient, expiring in 30 days.
        let mut msgs = vec![ch('n'), ctrl('u')];
        msgs.extend(text("3"));
        msgs.extend([key(KeyCode::Tab), key(KeyCode::Right)]);
        msgs.extend([key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Tab)]);
        msgs.extend(text("zoe@example.com"));
        msgs.push(key(KeyCode::Tab));
        msgs.extend(text("30d"));
        msgs.push(key(KeyCode::Tab));
        msgs.extend(text("spring"));
        msgs.push(key(KeyCode::Enter)); // review
        keys(&mut app, &mut effects, msgs).await;
        let mut c = apply(&mut app);
        c.extend(update(&mut app, key(KeyCode::Enter))); // a second Enter: ignored
        settle(&mut app, &mut effects, c).await;
        assert!(shows(&app, CODES_OPEN), "no codes dialog: {}", screen(&app));
        assert!(shows(&app, "row 1 of 3"), "{}", screen(&app));

        // Save them to a new file in the temp dir.
        let mut msgs = vec![ch('s'), ctrl('u')];
        msgs.extend(text(file.to_str().unwrap()));
        msgs.push(key(KeyCode::Enter));
        keys(&mut app, &mut effects, msgs).await;
        assert!(shows(&app, CODES_OPEN), "the codes dialog closed");
        assert!(shows(&app, "saved to"), "{}", screen(&app));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let csv = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "id,code,credits,price,expires_at");
        assert_eq!(lines.len(), 4);
        // Saving to the same file again is refused: never overwritten.
        let mut msgs = vec![ch('s'), ctrl('u')];
        msgs.extend(text(file.to_str().unwrap()));
        msgs.push(key(KeyCode::Enter));
        keys(&mut app, &mut effects, msgs).await;
        assert!(screen(&app).contains("already exists"), "{}", screen(&app));
        keys(&mut app, &mut effects, vec![key(KeyCode::Esc)]).await;
        keys(&mut app, &mut effects, vec![key(KeyCode::Enter)]).await;
        assert!(!modal(&app), "saved: Enter closes");
        assert_eq!(listed(&app), 3, "the list reloaded");

        let issued: Vec<(i32, String)> = lines[1..]
            .iter()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                assert_eq!(f[2], "50");
                assert_eq!(f[3], "9.99");
                (f[0].parse().unwrap(), f[1].to_owned())
            })
            .collect();
        let (rows, recipients, audits) = (
            scalar_i64(&db.pool, "select count(*) from gift_cards where status = 'active' and credits = 50 and \"creditPackId\" is not null").await,
            scalar_i64(&db.pool, "select count(*) from gift_cards where \"recipientEmail\" = 'zoe@example.com' and \"expiresAt\" > now() + interval '29 days'").await,
            scalar_i64(&db.pool, "select count(*) from admin_audit_log where actor = 'ana' and action = 'gift_card.issue' and reason = 'spring'").await,
        );
        assert_eq!((rows, recipients, audits), (3, 3, 1));

        // Revoke the selected (newest) card: by its id, no code typed.
        let selected = selected_id(&app).unwrap();
        let mut msgs = vec![ch('x')];
        msgs.extend(text("sent to the wrong address"));
        msgs.push(key(KeyCode::Enter));
        keys(&mut app, &mut effects, msgs).await;
        let mut c = apply(&mut app);
        c.extend(update(&mut app, key(KeyCode::Enter)));
        assert!(
            matches!(&runs(&c)[..], [r] if matches!(&r.job, Job::RevokeGiftCard { card: CardKey::Id(id), .. } if *id == selected)),
            "{c:?}"
        );
        settle(&mut app, &mut effects, c).await;
        assert!(
            shows(&app, &format!("revoked gift card #{selected} ")),
            "{}",
            screen(&app)
        );
        keys(&mut app, &mut effects, vec![key(KeyCode::Enter)]).await;
        assert!(
            selected_row(&app, 80, 24).unwrap().contains("revoked"),
            "the list reloaded: {}",
            screen(&app)
        );
        let (status, by, why): (String, String, String) = sqlx::query_as(
            "select status::text, \"revokedBy\", \"revokeReason\" from gift_cards where id = $1",
        )
        .bind(selected)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!(
            (status.as_str(), by.as_str(), why.as_str()),
            ("revoked", "ana", "sent to the wrong address")
        );
        let (revoked, revokes) = (
            scalar_i64(&db.pool, "select count(*) from gift_cards where status = 'revoked'").await,
            scalar_i64(&db.pool, "select count(*) from admin_audit_log where action = 'gift_card.revoke' and reason = 'sent to the wrong address'").await,
        );
        assert_eq!((revoked, revokes), (1, 1));

        // Redeem the next card for a user: the code left empty, by its id.
        let user = creditdesk::testing::user(&db.pool, "bob@example.com").await;
        keys(&mut app, &mut effects, vec![ch('j')]).await;
        assert!(!modal(&app));
        let second = selected_id(&app).unwrap();
        assert_ne!(second, selected);
        let mut msgs = vec![ch('r'), key(KeyCode::Tab)];
        msgs.extend(text("bob@example.com"));
        msgs.push(key(KeyCode::Enter));
        keys(&mut app, &mut effects, msgs).await;
        let mut c = apply(&mut app);
        c.extend(update(&mut app, key(KeyCode::Enter)));
        assert!(
            matches!(&runs(&c)[..], [r] if matches!(&r.job, Job::RedeemGiftCard { card: CardRef::Id(id), .. } if *id == second)),
            "{c:?}"
        );
        settle(&mut app, &mut effects, c).await;
        assert!(
            screen(&app)
                .replace('\n', "")
                .contains(&format!("redeemed gift card #{second} for bob@example.com")),
            "{}",
            screen(&app)
        );
        let redeemed_by: Option<i32> =
            sqlx::query_scalar("select \"redeemedByUserId\" from gift_cards where id = $1")
                .bind(second)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(redeemed_by, Some(user));
        keys(&mut app, &mut effects, vec![key(KeyCode::Enter)]).await;
        assert!(!modal(&app));

        // Reveal the third card's code: the one in the file, audit logged.
        keys(&mut app, &mut effects, vec![ch('j')]).await;
        let third = selected_id(&app).unwrap();
        let (_, code) = issued.iter().find(|(id, _)| *id == third).unwrap();
        keys(&mut app, &mut effects, vec![ch('v')]).await;
        let mut c = apply(&mut app);
        c.extend(update(&mut app, key(KeyCode::Enter)));
        assert!(
            matches!(&runs(&c)[..], [r] if matches!(&r.job, Job::RevealGiftCard { card: CardKey::Id(id) } if *id == third)),
            "{c:?}"
        );
        settle(&mut app, &mut effects, c).await;
        assert!(screen(&app).contains(code.as_str()), "{}", screen(&app));
        let reveals = scalar_i64(
            &db.pool,
            &format!(
                "select count(*) from admin_audit_log where action = 'gift_card.reveal' and actor = 'ana' and \"entityId\" = '{third}'"
            ),
        )
        .await;
        assert_eq!(reveals, 1);
        keys(&mut app, &mut effects, vec![key(KeyCode::Esc)]).await;
        assert!(!modal(&app));
        assert!(!screen(&app).contains(code.as_str()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn the_redeem_dialog_picks_the_user_by_name_as_you_type() {
    use creditdesk::db::users::User;
    let mut app = opened(false);
    update(&mut app, ch('r'));
    update(&mut app, key(KeyCode::Tab));
    let searches = typed(&mut app, "lópez");
    let finds = runs(&searches)
        .iter()
        .filter(|r| matches!(r.job, Job::FindUsers { .. }))
        .count();
    assert_eq!(finds, 5, "each key searches");
    let user = |id: i32, email: &str, name: &str| User {
        id,
        email: email.into(),
        name: Some(name.into()),
        credits: 70,
        created_at: t0(),
    };
    answer(&mut app, searches, |job| {
        matches!(job, Job::FindUsers { text, .. } if text == "lópez").then(|| {
            Outcome::Users(Ok(vec![
                user(12, "ana@example.com", "Ana López"),
                user(40, "lopez@example.org", "Luis López"),
            ]))
        })
    });
    let s = screen(&app);
    assert!(s.contains("#12 ana@example.com  Ana López"), "{s}");
    // Ambiguous: said under the field, nothing read.
    let c = update(&mut app, key(KeyCode::Enter));
    assert!(runs(&c).is_empty());
    assert!(shows(&app, "↳ 2 users match"), "{}", screen(&app));
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Enter));
    assert!(
        shows(&app, "User #40 lopez@example.org"),
        "{}",
        screen(&app)
    );
    // ↑ on the field with nothing chosen goes back to the code field.
    update(&mut app, key(KeyCode::Up));
    update(&mut app, key(KeyCode::Down));
    let c = update(&mut app, key(KeyCode::Enter));
    assert!(
        runs(&c)
            .iter()
            .any(|r| matches!(&r.job, Job::User { user } if *user == UserRef::Id(40))),
        "{c:?}"
    );
}
