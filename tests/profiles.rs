//! Profiles through the real binary: picked by --profile or
//! CREDITDESK_PROFILE, read-only by default for production until --write,
//! their operator recorded, listed without passwords. (Every precedence
//! combination is unit-tested in `cli::settings`.)

use std::path::{Path, PathBuf};
use std::process::Command;

use creditdesk::pg_local;
use creditdesk::testing::{CliRun, TestDb, assert_one_line, scalar_i64, user};

/// The binary in a clean environment: `PATH`, an empty `HOME`, and `env`.
fn creditdesk(home: &Path, env: &[(&str, &str)], args: &[&str]) -> CliRun {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_creditdesk"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run creditdesk");
    CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A home whose `~/.config/creditdesk/config.toml` holds `config`.
fn home_with(config: &str) -> PathBuf {
    let home = pg_local::throwaway_dir("creditdesk-profiles").expect("home");
    let dir = home.join(".config").join("creditdesk");
    std::fs::create_dir_all(&dir).expect("config dir");
    let file = dir.join("config.toml");
    std::fs::write(&file, config).expect("config");
    set_mode(&file, 0o600);
    home
}

fn config_for(db: &TestDb) -> String {
    format!(
        r#"
[profiles.prod]
connection = "{url}"
env = "PRODUCTION"
operator = "prod-ops"

[profiles.staging]
connection = "{url}"
operator = "staging-ops"

[profiles.other]
connection = "postgres://app:s3cret-pw@db.example.com/app?sslmode=require"
replica = "host=replica.example.com password=s3cret-pw"
"#,
        url = db.url
    )
}

#[tokio::test]
async fn production_profiles_are_read_only_until_write() {
    let db = TestDb::new().await;
    let id = user(&db.pool, "ana@example.com").await;
    let home = home_with(&config_for(&db));
    fn adjust<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "credits",
            "adjust",
            "ana@example.com",
            "--amount",
            "+5",
            "--reason",
            "goodwill",
        ];
        args.extend_from_slice(extra);
        args
    }
    let sql = format!("select credits::int8 from users where id = {id}");
    let balance = || scalar_i64(&db.pool, &sql);

    for env in [vec![], vec![("CREDITDESK_PROFILE", "prod")]] {
        let flag: &[&str] = if env.is_empty() {
            &["--profile", "prod"]
        } else {
            &[]
        };
        let run = creditdesk(&home, &env, &adjust(flag));
        assert_eq!(run.code, 3, "{}", run.stderr);
        assert_one_line(&run.stderr, "refused");
        assert!(
            run.stderr.contains("read-only") && run.stderr.contains("--write"),
            "{}",
            run.stderr
        );
        assert_eq!(balance().await, 0);
        // Reads work as ever.
        let run = creditdesk(
            &home,
            &env,
            &[flag, &["credits", "show", "ana@example.com"]].concat(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }

    let run = creditdesk(&home, &[], &adjust(&["--profile", "prod", "--write"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(balance().await, 5);
    // A profile not labelled production writes without --write, as its operator.
    let run = creditdesk(&home, &[], &adjust(&["--profile", "staging"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(balance().await, 10);
    let actors: Vec<String> = sqlx::query_scalar("select actor from admin_audit_log order by id")
        .fetch_all(&db.pool)
        .await
        .expect("audit");
    assert_eq!(actors, ["prod-ops", "staging-ops"]);
    // CREDITDESK_OPERATOR wins over the profile's default, --operator over both.
    let run = creditdesk(
        &home,
        &[("CREDITDESK_OPERATOR", "env-op")],
        &adjust(&["--profile", "staging"]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = creditdesk(
        &home,
        &[("CREDITDESK_OPERATOR", "env-op")],
        &adjust(&["--profile", "staging", "--operator", "flag-op"]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let actors: Vec<String> = sqlx::query_scalar("select actor from admin_audit_log order by id")
        .fetch_all(&db.pool)
        .await
        .expect("audit");
    assert_eq!(&actors[2..], ["env-op", "flag-op"]);

    // A profile that doesn't exist, or two places to connect, are usage errors.
    for args in [
        vec!["--profile", "qa", "credits", "verify"],
        vec![
            "--profile",
            "prod",
            "--database-url",
            &db.url,
            "credits",
            "verify",
        ],
    ] {
        let run = creditdesk(&home, &[], &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_one_line(&run.stderr, &args);
    }
    let _ = std::fs::remove_dir_all(&home);
}

#[tokio::test]
async fn a_chosen_profile_wins_over_database_url_and_says_so() {
    let db = TestDb::new().await;
    user(&db.pool, "ana@example.com").await;
    let home = home_with(&config_for(&db));
    let unreachable = "postgres://nobody@127.0.0.1:1/nothing";
    let run = creditdesk(
        &home,
        &[
            ("DATABASE_URL", unreachable),
            ("CREDITDESK_PROFILE", "staging"),
        ],
        &["users", "find", "ana"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("ana@example.com"), "{}", run.stdout);
    assert!(
        run.stderr.contains("DATABASE_URL is ignored"),
        "{}",
        run.stderr
    );
    // Without a chosen profile, DATABASE_URL is what counts.
    let run = creditdesk(
        &home,
        &[("DATABASE_URL", unreachable)],
        &["users", "find", "ana"],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn profiles_are_listed_without_passwords() {
    let home = home_with(
        "default_profile = \"other\"\n\
         [profiles.other]\n\
         connection = \"postgres://app:s3cret-pw@db.example.com/app?sslmode=require\"\n\
         replica = \"host=replica.example.com password=s3cret-pw\"\n\
         [profiles.prod]\n\
         service = \"prod\"\n\
         env = \"PRODUCTION\"\n\
         pooler = true\n\
         [profiles.broken]\n\
         connection = \"host=h\"\n\
         colour = \"reddish\"\n",
    );
    let run = creditdesk(&home, &[], &["profiles"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    assert!(!run.stdout.contains("s3cret"), "{}", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("profile"), "{}", run.stdout);
    let other = lines
        .iter()
        .find(|l| l.starts_with("other"))
        .expect("other");
    assert!(
        other.contains("(default)") && other.contains("postgres://app:********@db.example.com/app"),
        "{other}"
    );
    let prod = lines.iter().find(|l| l.starts_with("prod")).expect("prod");
    assert!(
        prod.contains("PRODUCTION") && prod.contains("service=prod"),
        "{prod}"
    );
    let broken = lines
        .iter()
        .find(|l| l.starts_with("broken"))
        .expect("broken");
    assert!(broken.contains("colour"), "{broken}");

    let run = creditdesk(&home, &[], &["profiles", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("s3cret"), "{}", run.stdout);
    let listed: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let prod = listed
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == "prod"))
        .expect("prod");
    assert_eq!(prod["read_only"], true);
    assert_eq!(prod["pooler"], true);

    // A password in a file others can read is pointed out.
    set_mode(&home.join(".config/creditdesk/config.toml"), 0o644);
    let run = creditdesk(&home, &[], &["profiles"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("chmod 600"), "{}", run.stderr);

    // --config points elsewhere; a file that isn't there is an error.
    let run = creditdesk(
        &home,
        &[],
        &["--config", "/nonexistent/cd.toml", "profiles"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("/nonexistent/cd.toml"),
        "{}",
        run.stderr
    );
    let _ = std::fs::remove_dir_all(&home);
}
