//! Managing operators (security.md §5) through the real binary: an admin
//! adds a login in a group (its password reaches the server only as a SCRAM
//! verifier, and logs in), moves it to another group, disables it; each is
//! audited; without CREATEROLE the SQL is printed instead.

use creditdesk::domain::role::Group;
use creditdesk::testing::{CliRun, TestDb, run_cli};
use std::io::Write;
use std::process::{Command, Stdio};

fn creditdesk(url: &str, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), url, "", args)
}

/// The binary with `stdin` on its standard input.
fn with_stdin(url: &str, args: &[&str], stdin: &str) -> CliRun {
    let mut child = Command::new(env!("CARGO_BIN_EXE_creditdesk"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("CREDITDESK_OPERATOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `url` with another user and password.
fn as_user(url: &str, user: &str, password: &str) -> String {
    let mut u = url::Url::parse(url).expect("url");
    u.set_username(user).expect("user");
    u.set_password(Some(password)).expect("password");
    u.to_string()
}

/// The test databases of this process share one owner role, and one test
/// takes CREATEROLE from it: the others must not run meanwhile.
static OWNER_ROLE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

#[tokio::test]
async fn an_admin_adds_moves_and_disables_an_operator() {
    let _shared = OWNER_ROLE.read().await;
    let db = TestDb::new().await;
    let admin = db.login(Group::Admin).await;
    let name = format!("zoe_{}", std::process::id());

    // Added with a generated password, shown once; the login works.
    let out = creditdesk(
        &admin.url,
        &["--json", "operators", "add", &name, "--role", "support"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let added: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let password = added["password"].as_str().expect("password").to_owned();
    assert_eq!(added["role"], "support");
    let zoe = as_user(&admin.url, &name, &password);
    let mine = creditdesk(&zoe, &["--json", "users", "find", "x"]);
    assert_eq!(mine.code, 0, "the new login connects and reads: {mine:?}");
    // The server never saw the password in clear: only a verifier is stored.
    let stored: String = sqlx::query_scalar("select rolpassword from pg_authid where rolname = $1")
        .bind(&name)
        .fetch_one(&db.pool)
        .await
        .expect("stored");
    assert!(stored.starts_with("SCRAM-SHA-256$4096:") && !stored.contains(&password));
    let audit: String =
        sqlx::query_scalar("select string_agg(details::text, ' ') from admin_audit_log")
            .fetch_one(&db.pool)
            .await
            .expect("audit");
    assert!(!audit.contains(&password));

    // A password of one's own, from standard input.
    let other = format!("yan_{}", std::process::id());
    let out = with_stdin(
        &admin.url,
        &[
            "operators",
            "add",
            &other,
            "--role",
            "auditor",
            "--password-stdin",
        ],
        "correct horse battery staple\n",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("correct horse"), "{out:?}");
    let yan = as_user(&admin.url, &other, "correct horse battery staple");
    assert_eq!(creditdesk(&yan, &["credits", "verify"]).code, 0);
    let short = with_stdin(
        &admin.url,
        &[
            "operators",
            "add",
            "xq",
            "--role",
            "auditor",
            "--password-stdin",
        ],
        "short\n",
    );
    assert_eq!(short.code, 2, "{short:?}");

    // Moved to finance: may issue gift cards now.
    let out = creditdesk(
        &admin.url,
        &[
            "operators",
            "set-role",
            &name,
            "--role",
            "finance",
            "--reason",
            "moved team",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let issue = creditdesk(
        &zoe,
        &[
            "gift-cards",
            "issue",
            "--credits",
            "5",
            "--price",
            "1",
            "--count",
            "1",
        ],
    );
    assert_eq!(issue.code, 0, "{issue:?}");

    // Listed with their roles and last change.
    let out = creditdesk(&admin.url, &["--json", "operators", "list"]);
    assert_eq!(out.code, 0, "{out:?}");
    let list: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let zoe_row = list
        .as_array()
        .expect("list")
        .iter()
        .find(|o| o["login"] == name.as_str())
        .expect("zoe listed");
    assert_eq!(zoe_row["roles"], serde_json::json!(["finance"]));
    assert_eq!(zoe_row["last_action"], "gift_card.issue");

    // Disabled: the login stays (for the history) but can't log in.
    let out = creditdesk(
        &admin.url,
        &["operators", "disable", &name, "--reason", "left"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let refused = creditdesk(&zoe, &["users", "find", "x"]);
    assert_eq!(refused.code, 4, "{refused:?}");
    let own = creditdesk(
        &admin.url,
        &["operators", "disable", &admin.name, "--reason", "x"],
    );
    assert_eq!(own.code, 3, "{own:?}");

    // Each change audited, by the admin's login.
    let actions: Vec<(String, String)> = sqlx::query_as(
        "select action, login from admin_audit_log where action like 'operator.%' order by seq",
    )
    .fetch_all(&db.pool)
    .await
    .expect("audit");
    let expected = [
        "operator.add",
        "operator.add",
        "operator.set_role",
        "operator.disable",
    ];
    assert_eq!(
        actions.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        expected
    );
    assert!(actions.iter().all(|(_, l)| *l == admin.name));
}

#[tokio::test]
async fn only_admins_manage_operators_and_nobody_promotes_a_superuser() {
    let _shared = OWNER_ROLE.read().await;
    let db = TestDb::new().await;
    let finance = db.login(Group::Finance).await;
    let out = creditdesk(
        &finance.url,
        &["operators", "add", "someone", "--role", "admin"],
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains("your role (finance) may not manage operators"),
        "{out:?}"
    );
    let admin = db.login(Group::Admin).await;
    // The owner and superusers are not operators to be changed.
    let out = creditdesk(
        &admin.url,
        &["operators", "set-role", "postgres", "--role", "auditor"],
    );
    assert_eq!(out.code, 3, "{out:?}");
    let out = creditdesk(
        &admin.url,
        &["operators", "add", "Bad Name", "--role", "auditor"],
    );
    assert_eq!(out.code, 2, "{out:?}");
}

#[tokio::test]
async fn without_createrole_the_sql_is_printed_instead() {
    let _alone = OWNER_ROLE.write().await;
    let db = TestDb::new().await;
    let admin = db.login(Group::Admin).await;
    // The schema's owner loses CREATEROLE.
    let owner: String = sqlx::query_scalar(
        "select nspowner::regrole::text from pg_namespace where nspname = 'creditdesk'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("owner");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "alter role {owner} nocreaterole"
    )))
    .execute(&db.pool)
    .await
    .expect("nocreaterole");
    let out = creditdesk(&admin.url, &["operators", "add", "wil", "--role", "oncall"]);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "alter role {owner} createrole"
    )))
    .execute(&db.pool)
    .await
    .expect("createrole again");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("create role \"wil\" login password 'SCRAM-SHA-256$4096:")
            && out.stdout.contains("in role creditdesk_oncall"),
        "{out:?}"
    );
    let exists: bool = sqlx::query_scalar("select to_regrole('wil') is not null")
        .fetch_one(&db.pool)
        .await
        .expect("role");
    assert!(!exists, "nothing was created");
}
