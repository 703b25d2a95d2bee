//! The real binary in a real pseudo-terminal (tmux), driven as a person
//! would, against a real database; then the rows are checked.
//!
//! Needs tmux (`.ci/run` installs it). Kept few and coarse: screens are
//! tested with `TestBackend` snapshots; this proves the whole program works
//! in a terminal and leaves it usable.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use creditdesk::testing::{TestDb, scalar_i64};

/// One tmux server of our own (its own socket, so nobody else's sessions
/// are touched) running one command; killed on drop.
struct Tmux {
    name: String,
}

impl Tmux {
    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.name]);
        c
    }
}

impl Tmux {
    fn start(db_url: &str, width: u16, height: u16, shell_command: &str) -> Tmux {
        let name = format!("creditdesk-e2e-{}-{}", std::process::id(), rand_suffix());
        let tmux = Tmux { name };
        let status = tmux
            .tmux()
            .args([
                "new-session",
                "-d",
                "-s",
                &tmux.name,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .args(["-e", &format!("DATABASE_URL={db_url}")])
            .args(["-e", "CREDITDESK_OPERATOR=e2e-operator"])
            .args(["-e", "NO_COLOR="])
            .arg(shell_command)
            .status()
            .expect("tmux runs (install it: apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    /// Named keys: `Enter`, `Tab`, `Escape`, `Down`, a single character...
    fn keys(&self, keys: &[&str]) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    /// Literal text, typed.
    fn type_text(&self, text: &str) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", &self.name, "-l", "--", text])
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until `text` is on screen; fails with the screen if it never is.
    fn wait_for(&self, text: &str) -> String {
        self.wait_until(text, |s| s.contains(text))
    }

    fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what:?} on screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_creditdesk"))
}

/// Runs the console; when it exits, the shell prints the terminal's mode so
/// the test can see it was restored, then waits.
fn console_command(extra_args: &str, stty_file: &std::path::Path) -> String {
    format!(
        "{} {extra_args}; echo exited-$?; stty -a > {}; sleep 600",
        binary().display(),
        stty_file.display()
    )
}

#[tokio::test]
async fn adjust_a_balance_in_the_console_and_leave_the_terminal_usable() {
    let db = TestDb::new().await;
    sqlx::raw_sql(
        "insert into users (email, name) values ('ana@example.com', 'Ana Lopez'), ('bo@example.com', 'Bo');
         update users set credits = 10 where email = 'ana@example.com';
         insert into credit_history (\"userId\", amount, type, description)
           select id, 10, 'purchase', 'pack' from users where email = 'ana@example.com';",
    )
    .execute(&db.pool)
    .await
    .expect("fixture");
    let stty = std::env::temp_dir().join(format!("creditdesk-e2e-stty-{}", std::process::id()));
    let tmux = Tmux::start(
        &db.url,
        100,
        30,
        &console_command("--env-label STAGING", &stty),
    );
    tmux.wait_for("STAGING");
    tmux.keys(&["3"]);
    tmux.wait_for("ana@example.com");
    tmux.keys(&["/"]);
    tmux.type_text("ana");
    tmux.wait_for("1 user");
    tmux.keys(&["Enter"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("balance 10 credits");
    tmux.keys(&["a"]);
    tmux.wait_for("Adjust balance");
    tmux.type_text("-3");
    tmux.keys(&["Tab"]);
    tmux.type_text("e2e goodwill");
    tmux.keys(&["Enter"]);
    let confirm = tmux.wait_for("new balance");
    assert!(
        confirm.contains("old balance  10") && confirm.contains("new balance  7"),
        "{confirm}"
    );
    // A confirmation applies only with a key pressed a moment after it
    // appeared; Enter pressed twice then applies it once.
    std::thread::sleep(Duration::from_millis(400));
    tmux.keys(&["Enter", "Enter"]);
    tmux.wait_for("balance 7 credits");

    tmux.keys(&["Escape", "Escape", "Escape"]);
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("exited-");
    if screen.contains("y quit") {
        tmux.keys(&["y"]);
    }
    let screen = tmux.wait_for("exited-0");
    assert!(
        !screen.contains("Users & credits"),
        "the alternate screen was left:\n{screen}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !stty.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let modes = std::fs::read_to_string(&stty).expect("stty output");
    let _ = std::fs::remove_file(&stty);
    assert!(
        modes.contains(" icanon") && modes.contains(" echo") && !modes.contains("-icanon"),
        "the terminal is back in cooked mode: {modes}"
    );

    assert_eq!(
        scalar_i64(
            &db.pool,
            "select credits::int8 from users where email = 'ana@example.com'"
        )
        .await,
        7
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from credit_history where type = 'admin_adjustment' and amount = -3
               and description like 'e2e goodwill%'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from admin_audit_log where action = 'credits.adjust' and actor = 'e2e-operator'
               and reason = 'e2e goodwill'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn create_a_coupon_issue_and_revoke_a_gift_card_in_the_console() {
    let db = TestDb::new().await;
    let stty = std::env::temp_dir().join(format!("creditdesk-e2e-stty2-{}", std::process::id()));
    let tmux = Tmux::start(&db.url, 100, 30, &console_command("", &stty));
    tmux.wait_for("no coupon is redeemable now");

    // 1 Coupons: n, fill the form, review, apply.
    tmux.keys(&["n"]);
    tmux.wait_for("New coupon");
    for (i, value) in ["E2E-FREE5", "credits", "5", "10", "", "", "e2e coupon"]
        .iter()
        .enumerate()
    {
        if i > 0 {
            tmux.keys(&["Tab"]);
        }
        tmux.type_text(value);
    }
    tmux.keys(&["Enter"]);
    tmux.wait_for("Create this coupon?");
    std::thread::sleep(Duration::from_millis(400));
    tmux.keys(&["Enter"]);
    tmux.wait_for("0/10");
    tmux.keys(&["Enter"]); // close the result

    // 2 Gift cards: issue one, see its code once, then revoke it.
    tmux.keys(&["2"]);
    tmux.wait_for("no gift cards yet");
    tmux.keys(&["n"]);
    tmux.wait_for("Issue gift cards");
    tmux.keys(&["Tab", "Tab"]);
    tmux.type_text("100");
    tmux.keys(&["Tab"]);
    tmux.type_text("9.99");
    tmux.keys(&["Tab"]);
    tmux.type_text("gift@example.com");
    tmux.keys(&["Enter", "Enter", "Enter"]);
    tmux.wait_for("Confirm: issue gift cards");
    std::thread::sleep(Duration::from_millis(400));
    tmux.keys(&["Enter"]);
    let result = tmux.wait_for("issued 1 gift card");
    let code: String = sqlx::query_scalar("select code from gift_cards")
        .fetch_one(&db.pool)
        .await
        .expect("the card");
    assert!(
        result.contains(&code),
        "the full code is shown once:\n{result}"
    );
    tmux.keys(&["Enter"]); // warns that the codes were not saved
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys(&["Enter"]); // closes
    let list = tmux.wait_until("the result closed", |s| !s.contains("Save them"));
    assert!(!list.contains(&code), "the list masks the code:\n{list}");
    tmux.keys(&["x"]);
    tmux.type_text("lost in the post");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Confirm: revoke gift card");
    std::thread::sleep(Duration::from_millis(400));
    tmux.keys(&["Enter", "Enter"]);
    tmux.wait_for("revoked gift card #");
    tmux.keys(&["Escape"]);
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("exited-");
    if screen.contains("y quit") {
        tmux.keys(&["y"]);
        tmux.wait_for("exited-0");
    }
    let _ = std::fs::remove_file(&stty);

    let coupon: (String, String, String, i32, bool) = sqlx::query_as(
        "select code, \"discountType\"::text, \"discountValue\"::text, \"maxUses\", \"isActive\" from coupons",
    )
    .fetch_one(&db.pool)
    .await
    .expect("one coupon");
    assert_eq!(
        coupon,
        (
            "E2E-FREE5".into(),
            "credits".into(),
            "5.00".into(),
            10,
            true
        )
    );
    let card: (String, String, String, i32) = sqlx::query_as(
        "select status::text, \"revokedBy\", \"revokeReason\", credits from gift_cards",
    )
    .fetch_one(&db.pool)
    .await
    .expect("one card");
    assert_eq!(
        card,
        (
            "revoked".into(),
            "e2e-operator".into(),
            "lost in the post".into(),
            100
        )
    );
    let actions: Vec<String> = sqlx::query_scalar("select action from admin_audit_log order by id")
        .fetch_all(&db.pool)
        .await
        .expect("audit");
    assert_eq!(
        actions,
        ["coupon.create", "gift_card.issue", "gift_card.revoke"]
    );
}

#[tokio::test]
async fn a_coupon_created_from_the_cli_appears_in_the_open_console() {
    let db = TestDb::new().await;
    let stty = std::env::temp_dir().join(format!("creditdesk-e2e-stty3-{}", std::process::id()));
    let tmux = Tmux::start(&db.url, 100, 30, &console_command("", &stty));
    tmux.wait_for("no coupon is redeemable now");
    let started = Instant::now();
    let out = Command::new(binary())
        .args([
            "coupons", "create", "--code", "CLI-LIVE", "--type", "credits", "--value", "5",
        ])
        .env("DATABASE_URL", &db.url)
        .env("CREDITDESK_OPERATOR", "e2e-cli")
        .output()
        .expect("the cli runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No key pressed: the list refreshes by itself within its interval.
    tmux.wait_for("CLI-LIVE");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "within the refresh interval: {:?}",
        started.elapsed()
    );
    tmux.keys(&["q"]);
    tmux.wait_for("exited-0");
    let _ = std::fs::remove_file(&stty);
}
