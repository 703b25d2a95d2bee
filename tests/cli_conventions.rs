//! The conventions of a well-kept command line, through the real binary:
//! global options listed once, shell completions, manual pages.

use std::process::Command;

use creditdesk::testing::CliRun;

fn creditdesk(args: &[&str]) -> CliRun {
    let out = Command::new(env!("CARGO_BIN_EXE_creditdesk"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run creditdesk");
    CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every command of the binary, as the words that name it.
fn every_command() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            let mut p = path.to_vec();
            p.push(sub.get_name().to_owned());
            out.push(p.clone());
            walk(sub, &p, out);
        }
    }
    let mut out = Vec::new();
    walk(&creditdesk::cli::command(), &[], &mut out);
    out
}

#[test]
fn global_options_are_shown_once_and_work_anywhere() {
    let top = creditdesk(&["--help"]);
    assert_eq!(top.code, 0, "{}", top.stderr);
    for option in [
        "--database-url",
        "--profile",
        "--json",
        "--csv",
        "--read-only",
        "--write",
    ] {
        assert_eq!(
            top.stdout.matches(option).count(),
            1,
            "{option} in {}",
            top.stdout
        );
    }
    let commands = every_command();
    assert!(commands.len() > 20, "{commands:?}");
    for words in &commands {
        let mut args: Vec<&str> = words.iter().map(String::as_str).collect();
        args.push("--help");
        let run = creditdesk(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        for option in [
            "--database-url",
            "--profile",
            "--read-only",
            "--operator",
            "--json",
        ] {
            let listed = run
                .stdout
                .lines()
                .any(|l| l.trim_start().starts_with(option));
            assert!(!listed, "{args:?} lists {option} again: {}", run.stdout);
        }
        assert!(
            run.stdout.contains("): creditdesk --help"),
            "{args:?}: {}",
            run.stdout
        );
    }
    // ...and still work after the command's own words.
    let run = creditdesk(&[
        "users",
        "find",
        "x",
        "--database-url",
        "postgres:///?service=nowhere",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("\"nowhere\" not found"),
        "{}",
        run.stderr
    );
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let run = creditdesk(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        for word in ["creditdesk", "gift-cards", "adjust", "database-url"] {
            assert!(run.stdout.contains(word), "{shell} lacks {word}");
        }
    }
    let run = creditdesk(&["completions", "tcsh"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = creditdesk(&["completions", "bash", "--json"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn a_manual_page_and_one_per_command() {
    let run = creditdesk(&["man"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(".TH creditdesk 1"), "{}", run.stdout);
    assert!(run.stdout.contains("database\\-url"), "{}", run.stdout);

    let dir = std::env::temp_dir().join(format!("creditdesk-man-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let dir_s = dir.display().to_string();
    let run = creditdesk(&["man", "--dir", &dir_s]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for page in [
        "creditdesk.1",
        "creditdesk-credits.1",
        "creditdesk-credits-adjust.1",
    ] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
