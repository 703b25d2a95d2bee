//! `e` on a console list: the whole list (every page, with the filter
//! shown) to a new 0600 CSV file, codes masked, every cell guarded against
//! spreadsheet formulas and terminal controls; against real PostgreSQL.

mod common;

use std::path::{Path, PathBuf};

use chrono::Utc;
use common::*;
use creditdesk::db::gift_cards::{self, CardValue, IssueRequest};
use creditdesk::domain::operator::Operator;
use creditdesk::testing::{TestDb, exec, operator, scalar_i64, user_with_credits};
use creditdesk::tui::{App, Effects, Msg, Theme, update};
use crossterm::event::KeyCode;

async fn keys(app: &mut App, effects: &mut Effects, msgs: Vec<Msg>) {
    for m in msgs {
        let c = update(app, m);
        settle(app, effects, c).await;
    }
}

fn status_line(app: &App) -> String {
    rows(app, 200, 30).pop().unwrap_or_default()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "creditdesk-tui-export-{name}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The one file in `dir` whose name starts with `creditdesk-{list}-`.
fn exported(dir: &Path, list: &str) -> (PathBuf, String) {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&format!("creditdesk-{list}-")) && n.ends_with(".csv")
            })
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    let path = found[0].clone();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

#[tokio::test]
async fn e_exports_each_list_whole_masked_and_guarded() {
    let db = TestDb::new().await;
    let pool = &db.pool;
    let dir = temp_dir("lists");
    let user = user_with_credits(&db.tool, "zoe@example.com", 100).await;
    // Descriptions a spreadsheet would run, or a terminal obey.
    exec(
        pool,
        "insert into coupons (code, description, \"discountType\", \"discountValue\") values
           ('EVIL-1', '=HYPERLINK(\"http://x\",\"y\")', 'credits', 10),
           ('EVIL-2', '+1+2', 'credits', 10),
           ('EVIL-3', '@SUM(A1)', 'credits', 10),
           ('EVIL-4', E'\\tTAB', 'credits', 10),
           ('EVIL-5', E'\\x1b]52;c;aGk=\\x07bell', 'credits', 10),
           ('PLAIN', 'spring, \"quoted\"', 'credits', 10);",
    )
    .await
    .unwrap();
    // 1,200 cards: more than a page of the export (1,000).
    let mut codes = Vec::new();
    for _ in 0..2 {
        let issued = gift_cards::issue(
            &db.tool,
            &operator(),
            &IssueRequest {
                value: CardValue::Custom {
                    credits: 1,
                    price: rust_decimal::Decimal::new(100, 2),
                },
                count: 600,
                recipient: None,
                expires_at: None,
                reason: None,
            },
        )
        .await
        .unwrap()
        .applied()
        .unwrap();
        codes.extend(issued.into_iter().map(|c| c.code));
    }
    exec(
        pool,
        &format!(
            "insert into photo_generation_batches
               (\"userId\", \"totalImagesGenerated\", \"creditsUsed\", \"aspectRatio\",
                glasses, backgrounds, styles, status, \"createdAt\")
             values ({user}, 8, 8, '9:16', 'no', '[\"beach\"]', '[\"linkedin\"]',
                     'generating', now() - interval '3 hours');"
        ),
    )
    .await
    .unwrap();

    let mut app = App::new(&config(true, None), Utc::now(), Theme::COLOR, "test");
    app.export_dir = dir.clone();
    let mut effects = Effects::new(db.tool.clone(), Operator::parse("ana").unwrap());
    keys(&mut app, &mut effects, vec![Msg::Start]).await;

    // Coupons: what the list shows (valid ones), every cell guarded.
    keys(&mut app, &mut effects, vec![ch('e')]).await;
    assert!(
        status_line(&app).contains("wrote 6 rows to"),
        "{}",
        status_line(&app)
    );
    let (path, csv) = exported(&dir, "coupons");
    assert!(status_line(&app).contains(path.file_name().unwrap().to_str().unwrap()));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,code,description,"), "{}", lines[0]);
    assert_eq!(lines.len(), 7, "{csv}");
    assert!(
        csv.contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","),
        "{csv}"
    );
    assert!(csv.contains(",'+1+2,"), "{csv}");
    assert!(csv.contains(",'@SUM(A1),"), "{csv}");
    assert!(csv.contains(",' TAB,"), "a leading tab, guarded: {csv}");
    assert!(!csv.contains('\u{1b}') && !csv.contains('\u{7}'), "{csv:?}");
    assert!(csv.contains("\"spring, \"\"quoted\"\"\""), "{csv}");
    // The same second again: the file is never overwritten.
    keys(&mut app, &mut effects, vec![ch('e')]).await;
    assert!(
        status_line(&app).contains("export of coupons failed"),
        "{}",
        status_line(&app)
    );
    assert!(
        status_line(&app).contains("already exists"),
        "{}",
        status_line(&app)
    );

    // Gift cards: all 1,200 over two pages, codes masked.
    keys(&mut app, &mut effects, vec![ch('2'), ch('e')]).await;
    assert!(
        status_line(&app).contains("wrote 1,200 rows to"),
        "{}",
        status_line(&app)
    );
    let (_, csv) = exported(&dir, "gift-cards");
    assert_eq!(csv.lines().count(), 1201);
    for code in &codes {
        assert!(!csv.contains(code.as_str()), "a full code in the export");
    }
    let masked = creditdesk::domain::codes::mask_code(&codes[0]);
    assert!(csv.contains(&masked), "masked codes: {masked}");

    // Users, batches, audit.
    keys(&mut app, &mut effects, vec![ch('3'), ch('e')]).await;
    let (_, csv) = exported(&dir, "users");
    assert!(csv.contains("zoe@example.com"), "{csv}");
    // A user's ledger, with the balance after each entry.
    keys(&mut app, &mut effects, vec![key(KeyCode::Enter), ch('e')]).await;
    let (_, csv) = exported(&dir, "ledger");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("id,created_at,type,amount,balance_after,"),
        "{csv}"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains(",100,100,"), "{csv}");
    keys(&mut app, &mut effects, vec![key(KeyCode::Esc)]).await;
    keys(&mut app, &mut effects, vec![ch('4'), ch('e')]).await;
    let (_, csv) = exported(&dir, "batches");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    keys(&mut app, &mut effects, vec![ch('5'), ch('e')]).await;
    let (_, csv) = exported(&dir, "audit");
    let audited = scalar_i64(pool, "select count(*) from admin_audit_log").await;
    assert_eq!(
        csv.lines().count() as i64,
        audited + 1,
        "every entry, and the header"
    );

    // Approvals (P), pending only by default.
    keys(&mut app, &mut effects, vec![ch('P'), ch('e')]).await;
    let (_, csv) = exported(&dir, "approvals");
    assert_eq!(csv.lines().count(), 1, "only the header: nothing waits");

    // Not while a text field has the keys: `e` is typed there.
    keys(
        &mut app,
        &mut effects,
        vec![key(KeyCode::Esc), ch('1'), ch('/'), ch('e')],
    )
    .await;
    assert!(app.export.is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn e_is_offered_on_lists_only() {
    let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
    update(&mut app, Msg::Start);
    assert!(app.screen().export().is_some(), "the coupon list");
    // In the coupon search field, `e` is text.
    update(&mut app, ch('/'));
    assert!(app.screen().export().is_none());
    let c = update(&mut app, ch('e'));
    assert!(runs(&c).iter().all(|r| r.job.name() != "export"));
}

#[test]
fn the_status_line_shows_an_export_on_its_way() {
    let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
    update(&mut app, Msg::Start);
    let c = update(&mut app, ch('e'));
    let sent: Vec<_> = runs(&c)
        .into_iter()
        .filter(|r| r.job.name() == "export")
        .collect();
    assert_eq!(sent.len(), 1, "{c:?}");
    let creditdesk::tui::Job::Export(job) = &sent[0].job else {
        unreachable!()
    };
    assert!(
        job.path
            .to_string_lossy()
            .ends_with("creditdesk-coupons-20260314-093000.csv"),
        "{:?}",
        job.path
    );
    let last = rows(&app, 80, 24).pop().unwrap();
    assert!(last.contains("exporting coupons… 0 rows"), "{last}");
    // One at a time.
    let again = update(&mut app, ch('e'));
    assert!(runs(&again).iter().all(|r| r.job.name() != "export"));
    let id = sent[0].id;
    update(
        &mut app,
        Msg::Reply(creditdesk::tui::Reply {
            id,
            owner: creditdesk::tui::Owner::App,
            outcome: creditdesk::tui::Outcome::Exported(Ok(creditdesk::tui::export::Exported {
                path: "./creditdesk-coupons-20260314-093000.csv".into(),
                rows: 12_345,
                note: None,
            })),
        }),
    );
    let last = rows(&app, 80, 24).pop().unwrap();
    assert!(
        last.contains("wrote 12,345 rows to ./creditdesk-coupons-20260314-093000.csv"),
        "{last}"
    );
    assert!(app.export.is_none());
}
