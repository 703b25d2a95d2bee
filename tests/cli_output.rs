//! What the commands print, through the real binary against a real database,
//! when app users typed something hostile: a megabyte of text full of
//! terminal escapes (OSC title and clipboard, clear screen, C1 CSI, BEL),
//! bidi overrides and spreadsheet formulas. Nothing may reach the terminal
//! raw, tables never panic, CSV keeps one value per field and every value,
//! JSON keeps every value exactly (escaped).

use creditdesk::testing::{CliRun, TestDb, run_cli};

/// What the tests insert: about `len` bytes of it.
fn hostile(len: usize) -> String {
    let piece = "=cmd|' /C calc'!A0 Zoë \u{1b}]0;pwned\u{7}\u{1b}]52;c;SGVsbG8=\u{7}\u{1b}[2J\u{9b}31m\u{202e}evil\u{2066} 日本\t\r\n";
    piece.repeat(len / piece.len() + 1)
}

const MB: usize = 1_000_000;

fn creditdesk(db: &TestDb, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), &db.url, "test", args)
}

/// Nothing a terminal would act on: no control character but the line
/// ends, no bidi control.
#[track_caller]
fn assert_inert(text: &str, context: &str) {
    let bad = text.chars().find(|c| {
        (c.is_control() && !matches!(c, '\n' | '\r'))
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
    });
    assert_eq!(bad, None, "{context}: a raw {bad:?} reached the terminal");
}

/// Every JSON string in `v`, recursively.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(o) => o.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn a_megabyte_of_hostile_text_in_every_column_shown() {
    let db = TestDb::new().await;
    let big = hostile(MB);
    // Indexed columns (emails, codes, the audit log's actor, action and
    // entity) have entries PostgreSQL caps at about 2.7 kB: as long as they
    // may be. Everything else gets the megabyte.
    let local: String = hostile(600).chars().take(300).collect();
    let email = format!("{local}@example.com").to_lowercase();
    let code = "X".repeat(1000);
    let user: i32 =
        sqlx::query_scalar("insert into users (email, name) values ($1, $2) returning id")
            .bind(&email)
            .bind(&big)
            .fetch_one(&db.pool)
            .await
            .expect("user");
    let model: i32 = sqlx::query_scalar(
        "insert into models (\"userId\", name, status) values ($1, $2, 'ready') returning id",
    )
    .bind(user)
    .bind(&big)
    .fetch_one(&db.pool)
    .await
    .expect("model");
    sqlx::query(
        "insert into photo_generation_batches (\"userId\", \"modelId\", \"totalImagesGenerated\", \
         \"creditsUsed\", \"aspectRatio\", glasses, status, \"createdAt\") \
         values ($1, $2, 4, 4, '1:1', 'no', 'generating', now() - interval '2 hours')",
    )
    .bind(user)
    .bind(model)
    .execute(&db.pool)
    .await
    .expect("batch");
    sqlx::query(
        "insert into credit_history (\"userId\", amount, type, description) \
         values ($1, 5, 'admin_adjustment', $2)",
    )
    .bind(user)
    .bind(&big)
    .execute(&db.pool)
    .await
    .expect("ledger entry");
    sqlx::query(
        "insert into admin_audit_log (actor, action, \"entityType\", \"entityId\", reason, details) \
         values ($1, $1, $1, $1, $2, jsonb_build_object('note', $2::text))",
    )
    .bind(&local)
    .bind(&big)
    .execute(&db.pool)
    .await
    .expect("audit row");
    sqlx::query(
        "insert into coupons (code, description, \"discountType\", \"discountValue\") \
         values ($1, $2, 'credits', 5)",
    )
    .bind(&code)
    .bind(&big)
    .execute(&db.pool)
    .await
    .expect("coupon");

    let user_s = user.to_string();
    let commands: [(&str, Vec<&str>); 5] = [
        ("users find", vec!["users", "find", "example.com"]),
        ("credits history", vec!["credits", "history", &user_s]),
        (
            "batches list --stuck",
            vec!["batches", "list", "--stuck", "--older-than", "1h"],
        ),
        ("audit", vec!["audit"]),
        ("coupons list", vec!["coupons", "list", "--all"]),
    ];
    for (name, args) in &commands {
        // A table: every cell cut, nothing raw, no panic.
        let run = creditdesk(&db, args);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert_inert(&run.stdout, name);
        assert!(run.stdout.contains('…'), "{name}: nothing was cut");
        let longest = run
            .stdout
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        assert!(longest < 2_000, "{name}: a line of {longest} characters");
        assert!(run.stdout.lines().count() >= 2, "{name}: {}", run.stdout);

        // CSV: every value whole, sanitised, formulas defused.
        let run = creditdesk(&db, &[args.as_slice(), &["--csv"]].concat());
        assert_eq!(run.code, 0, "{name} --csv: {}", run.stderr);
        assert_inert(&run.stdout.replace("\r\n", "\n"), &format!("{name} --csv"));
        let longest = run.stdout.lines().map(str::len).max().unwrap_or(0);
        assert!(
            longest > MB,
            "{name} --csv: the longest line has {longest} bytes"
        );
        assert!(!run.stdout.contains(",=cmd"), "{name} --csv: a formula");

        // JSON: the exact values, escaped.
        let run = creditdesk(&db, &[args.as_slice(), &["--json"]].concat());
        assert_eq!(run.code, 0, "{name} --json: {}", run.stderr);
        assert_inert(&run.stdout, &format!("{name} --json"));
        let value: serde_json::Value =
            serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{name} --json: {e}"));
        let mut found = Vec::new();
        strings(&value, &mut found);
        assert!(
            found.contains(&big),
            "{name} --json: the value is not whole"
        );
    }

    // One value per CSV field: the batch's user id and email apart.
    let run = creditdesk(
        &db,
        &["batches", "list", "--stuck", "--older-than", "1h", "--csv"],
    );
    let header = run.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        header,
        "id,user_id,user_email,model_id,model_name,status,images,credits,created,age_seconds,completed"
    );
    let row = run.stdout.lines().nth(1).unwrap_or_default();
    assert!(
        row.contains(&format!(",{user},")),
        "{}",
        row.chars().take(200).collect::<String>()
    );
}

#[tokio::test]
async fn csv_times_are_iso_8601_with_their_zone_and_json_too() {
    let db = TestDb::new().await;
    sqlx::query(
        "insert into users (email, name, \"createdAt\") values ('ana@example.com', 'Ana', '2026-11-24 05:03:00+00')",
    )
    .execute(&db.pool)
    .await
    .expect("user");
    let run = creditdesk(&db, &["users", "find", "ana", "--csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(",2026-11-24T05:03:00Z"),
        "{}",
        run.stdout
    );
    let run = creditdesk(&db, &["users", "find", "ana", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(v[0]["created_at"], "2026-11-24T05:03:00Z", "{}", run.stdout);
    let run = creditdesk(&db, &["users", "find", "ana"]);
    assert!(run.stdout.contains("2026-11-24 05:03:00"), "{}", run.stdout);
}

#[tokio::test]
async fn json_everywhere_csv_only_for_lists_and_times_in_the_past() {
    let db = TestDb::new().await;
    let run = creditdesk(&db, &["migrate", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("migrate --json");
    assert_eq!(v["applied"], serde_json::json!([]));

    // --csv where there is no list: a usage error, before anything runs.
    sqlx::query("insert into users (email) values ('bo@example.com')")
        .execute(&db.pool)
        .await
        .expect("user");
    for args in [
        vec!["credits", "show", "bo@example.com", "--csv"],
        vec!["migrate", "--csv"],
        vec![
            "credits",
            "adjust",
            "bo@example.com",
            "--amount",
            "+5",
            "--reason",
            "r",
            "--csv",
        ],
        vec!["batches", "show", "1", "--csv"],
        vec!["--csv"],
        vec!["--json"],
    ] {
        let run = creditdesk(&db, &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("--csv") || run.stderr.contains("--json"),
            "{}",
            run.stderr
        );
    }
    let balance: i32 =
        sqlx::query_scalar("select credits from users where email = 'bo@example.com'")
            .fetch_one(&db.pool)
            .await
            .expect("balance");
    assert_eq!(balance, 0, "a refused --csv changed nothing");

    // --since in the past, as well as the future.
    let run = creditdesk(&db, &["audit", "--since", "-7d"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = creditdesk(
        &db,
        &[
            "credits",
            "history",
            "bo@example.com",
            "--since",
            "-2w",
            "--until",
            "+1d",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = creditdesk(&db, &["audit", "--since", "-soon"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
