//! `demo --no-console` stops its PostgreSQL however it is ended: Ctrl-C
//! (SIGINT), SIGTERM or SIGHUP, like a service manager or a closed SSH
//! session would end it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use creditdesk::pg_local::{self, Durability, LocalServer, PgBinaries};

/// Starts the demo in `dir` and waits until it says the database runs;
/// returns the process and what it printed on stdout by then.
fn start_demo(dir: &std::path::Path, json: bool) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_creditdesk"));
    cmd.args(["demo", "--no-console", "--users", "20"])
        .env("CREDITDESK_DEMO_DIR", dir)
        .env("CREDITDESK_OPERATOR", "test")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if json {
        cmd.arg("--json");
    }
    let mut child = cmd.spawn().expect("demo starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(line) if line.contains("Press Ctrl-C") => break,
            Ok(line) => seen.push(line),
            Err(e) => {
                let _ = child.kill();
                panic!("the demo never said it was running ({e}): {seen:?}");
            }
        }
    }
    let mut stdout = String::new();
    if json {
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("stdout") == 0 || line.trim_end() == "}" {
                stdout.push_str(&line);
                break;
            }
            stdout.push_str(&line);
        }
    }
    (child, stdout)
}

fn wait(child: &mut Child) -> i32 {
    for _ in 0..600 {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("the demo did not stop within a minute");
}

#[test]
fn sigterm_sighup_and_ctrl_c_stop_the_demo_database() {
    let dir = pg_local::throwaway_dir("creditdesk-demo").expect("dir");
    let server = LocalServer::new(
        PgBinaries::find().expect("binaries"),
        &dir,
        Durability::Durable,
    );
    // Whatever happens here, the server goes when the test process does.
    server
        .remove_when_process_exits(std::process::id())
        .expect("watchdog");
    for (signal, json) in [
        (libc::SIGTERM, false),
        (libc::SIGHUP, true),
        (libc::SIGINT, false),
    ] {
        let (mut child, stdout) = start_demo(&dir, json);
        assert!(server.is_running(), "signal {signal}: the server runs");
        if json {
            let running: serde_json::Value = serde_json::from_str(&stdout).expect("json");
            let url = running["database_url"].as_str().unwrap_or_default();
            assert!(url.starts_with("postgres://"), "{stdout}");
        }
        let pid = i32::try_from(child.id()).expect("pid");
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        assert_eq!(wait(&mut child), 0, "signal {signal}");
        assert!(
            !server.is_running(),
            "signal {signal}: the server was stopped"
        );
    }
}
