//! The console end to end, as an operator sees it: the real binary in a
//! pseudo-terminal over a seeded database, each latency measured from the
//! key written to the terminal to the answer drawn on its screen (the
//! output parsed by a terminal emulator, `vt100`). Targets (issue 10 §4):
//! search as you type < 50 ms after the last key, opening the whale (the
//! user with a million ledger entries) < 50 ms, scrolling and switching
//! tabs < 20 ms p90 (< 50 ms when a query is needed).
//!
//! ```sh
//! cargo bench --bench console_pty -- --users 100000            # a throwaway server, seeded here
//! DATABASE_URL=postgres://... cargo bench --bench console_pty   # a database seeded with `creditdesk seed`
//! ```
//! Options: `--users N` (seeded when the database is empty), `--runs N`
//! (samples per figure, 30), `--size 80x24` (the terminal).
//!
//! The pty is made with `openpty(3)` through `libc` (already a dependency)
//! and the child gets it as its controlling terminal: no pty crate and no
//! tmux, whose `capture-pane` polling would add its own milliseconds to
//! every figure.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// Output chunks closer together than this are one frame.
const QUIET: Duration = Duration::from_millis(2);
const PATIENCE: Duration = Duration::from_secs(30);

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

fn main() {
    let users: u32 = arg("--users")
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = arg("--runs").and_then(|n| n.parse().ok()).unwrap_or(30);
    let (cols, rows) = arg("--size")
        .and_then(|s| {
            let (w, h) = s.split_once('x')?;
            Some((w.parse().ok()?, h.parse().ok()?))
        })
        .unwrap_or((80u16, 24u16));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (url, db) = rt.block_on(creditdesk::testing::bench_database(users, 4));
    let pool = db.pool().clone();
    let (whale, whale_entries): (i32, i64) = rt
        .block_on(
            sqlx::query_as(
                "select \"userId\", count(*) from credit_history
                 where \"userId\" = (select \"userId\" from credit_history
                                     group by 1 order by count(*) desc limit 1)
                 group by 1",
            )
            .fetch_one(&pool),
        )
        .expect("whale");
    let n_users: i64 = rt
        .block_on(sqlx::query_scalar("select count(*) from users").fetch_one(&pool))
        .expect("count");
    // Emails to search for: their part up to the '@' names one user.
    let targets: Vec<(i32, String)> = rt
        .block_on(
            sqlx::query_as(
                "select id, split_part(email, '@', 1) || '@' from users
                 where email like '%@%' and id % 997 = 0 order by id limit $1",
            )
            .bind(runs as i64)
            .fetch_all(&pool),
        )
        .expect("targets");
    println!(
        "console_pty: {n_users} users, the whale #{whale} with {whale_entries} ledger entries, \
         terminal {cols}x{rows}, {runs} samples each"
    );

    let mut term = Term::spawn(&url, cols, rows);
    term.wait(PATIENCE, |s| s.contents().contains("Coupons"))
        .expect("the console starts");
    term.settle();

    let mut results = Results::default();

    // Search as you type on the Users tab: the prefix typed key by key (5 ms
    // apart: faster than anyone types, so each key supersedes a search in
    // flight), timed from the last key to the matches on screen.
    term.press(b"3");
    term.wait(PATIENCE, |s| s.contents().contains("Newest users"))
        .expect("users tab");
    term.settle();
    let mut search = Vec::new();
    for (id, prefix) in &targets {
        term.press(b"/");
        term.settle();
        let (typed, last) = prefix.as_bytes().split_at(prefix.len() - 1);
        for b in typed {
            term.press(&[*b]);
            std::thread::sleep(Duration::from_millis(5));
        }
        let title = format!("Users matching “{prefix}”");
        let row = format!("#{id} ");
        let t = term.time(last, |s| {
            let c = s.contents();
            c.contains(&title) && c.contains(&row)
        });
        search.push(t);
        // Esc leaves the field, Esc again clears the search.
        term.press(b"\x1b");
        term.settle();
        term.press(b"\x1b");
        term.wait(PATIENCE, |s| s.contents().contains("Newest users"))
            .expect("cleared");
        term.settle();
    }
    results.push(("search: email to the @ → its user", search, "< 50 ms"));

    // A short prefix (the start of a first name): many matches, the
    // prefix and substring parts of the search both fill their limit.
    let mut short = Vec::new();
    for (_, prefix) in &targets {
        let p: String = prefix.chars().take(3).collect();
        term.press(b"/");
        term.settle();
        let (typed, last) = p.as_bytes().split_at(p.len() - 1);
        for b in typed {
            term.press(&[*b]);
            std::thread::sleep(Duration::from_millis(5));
        }
        let title = format!("Users matching “{p}”");
        short.push(term.time(last, |s| s.contents().contains(&title)));
        term.press(b"\x1b");
        term.settle();
        term.press(b"\x1b");
        term.wait(PATIENCE, |s| s.contents().contains("Newest users"))
            .expect("cleared");
        term.settle();
    }
    results.push(("search: 3 letters → ≤200 matches", short, "< 50 ms"));

    // Open the whale: its id searched (an exact id comes first), then Enter
    // from the list, timed to the overview and the first ledger page.
    term.press(b"/");
    for b in whale.to_string().bytes() {
        term.press(&[b]);
    }
    let wrow = format!("#{whale} ");
    term.wait(PATIENCE, |s| {
        s.contents().contains(&format!("Users matching “{whale}”")) && s.contents().contains(&wrow)
    })
    .expect("whale found");
    term.press(b"\r"); // to the list
    term.settle();
    let mut open = Vec::new();
    let mut back = Vec::new();
    for i in 0..runs {
        let t = term.time(b"\r", |s| {
            let c = s.contents();
            c.contains("ledger total") && c.contains(" 1–")
        });
        open.push(t);
        term.settle();
        if i + 1 < runs {
            let t = term.time(b"\x1b", |s| s.contents().contains("Users matching"));
            back.push(t);
            term.settle();
        }
    }
    results.push(("open the whale → overview + ledger", open, "< 50 ms"));
    results.push(("back to the list (Esc)", back, "< 20 ms"));

    // Scrolling the whale's ledger: ↓ inside the loaded rows, and PageDown
    // (a query whenever the window needs the next page).
    let mut down = Vec::new();
    for _ in 0..runs {
        down.push(term.time_change(b"\x1b[B"));
        term.settle();
    }
    results.push(("ledger ↓ (no query)", down, "< 20 ms"));
    let mut page = Vec::new();
    for _ in 0..runs {
        page.push(term.time_change(b"\x1b[6~"));
        term.settle();
    }
    results.push(("ledger PageDown", page, "< 20/50 ms"));

    // Switching tabs: the number keys in turn, timed to the new tab's
    // highlight in the tab bar and its key line (drawn last in a frame).
    let looks: Vec<(u8, String, String)> = b"12453"
        .iter()
        .map(|&k| {
            term.press(&[k]);
            term.settle();
            std::thread::sleep(Duration::from_millis(300));
            term.settle();
            let keys = term.row(rows - 2);
            let keys = keys.split("? keys").next().unwrap_or("").trim().to_owned();
            (k, term.tab_bar(), keys)
        })
        .collect();
    let mut tabs = Vec::new();
    for i in 0..runs {
        let (k, bar, keys) = looks[i % looks.len()].clone();
        let row = rows - 2;
        let t = term.time(&[k], move |s| {
            tab_bar(s) == bar && row_text(s, row).trim_start().starts_with(&keys)
        });
        tabs.push(t);
        term.settle();
    }
    results.push(("switch tab (1-5)", tabs, "< 20 ms"));

    term.press(b"q");
    term.finish();

    println!();
    header();
    for (name, times, target) in &results.0 {
        line(name, times, target);
    }
}

/// Each figure printed when measured, and all of them side by side at the
/// end.
#[derive(Default)]
struct Results(Vec<(&'static str, Vec<Duration>, &'static str)>);

impl Results {
    fn push(&mut self, (name, times, target): (&'static str, Vec<Duration>, &'static str)) {
        if self.0.is_empty() {
            header();
        }
        line(name, &times, target);
        self.0.push((name, times, target));
    }
}

fn header() {
    println!(
        "{:<38} {:>8} {:>8} {:>8} {:>5}  target",
        "keystroke → screen updated", "p50 ms", "p90 ms", "max ms", "n"
    );
}

fn line(name: &str, times: &[Duration], target: &str) {
    let mut times = times.to_vec();
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name:<38} {:>8.1} {:>8.1} {:>8.1} {:>5}  {target}",
        ms(at(0.5)),
        ms(at(0.9)),
        ms(*times.last().expect("samples")),
        times.len()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The highlighted tab's title (its cells in reverse video).
fn tab_bar(s: &vt100::Screen) -> String {
    let (_, cols) = s.size();
    (0..cols.get())
        .filter_map(|c| s.cell(0, c))
        .filter(|c| c.inverse())
        .map(|c| c.contents())
        .collect()
}

fn row_text(s: &vt100::Screen, row: u16) -> String {
    let (_, cols) = s.size();
    s.contents_between(row, 0, row, cols.get())
}

/// The console in a pseudo-terminal, its screen as an emulator shows it.
struct Term {
    child: Child,
    master: File,
    chunks: Receiver<(Instant, Vec<u8>)>,
    parser: vt100::Parser,
}

impl Term {
    fn spawn(url: &str, cols: u16, rows: u16) -> Term {
        let (master, slave) = openpty(cols, rows);
        let state = std::env::temp_dir().join(format!("creditdesk-pty-{}", std::process::id()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_creditdesk"));
        cmd.args(["--read-only", "--operator", "bench"])
            .env("DATABASE_URL", url)
            .env("TERM", "xterm-256color")
            .env("XDG_STATE_HOME", &state)
            .env_remove("TMUX")
            .env_remove("CREDITDESK_PROFILE")
            .stdin(Stdio::from(slave.try_clone().expect("dup")))
            .stdout(Stdio::from(slave.try_clone().expect("dup")))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec: a new
        // session whose controlling terminal is the pty (stdin).
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("the console starts");
        let mut reader = master.try_clone().expect("dup");
        let (tx, chunks) = channel();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Term {
            child,
            master,
            chunks,
            parser: vt100::Parser::new(
                rows.try_into().expect("rows"),
                cols.try_into().expect("cols"),
                0,
            ),
        }
    }

    fn press(&mut self, bytes: &[u8]) -> Instant {
        let at = Instant::now();
        self.master.write_all(bytes).expect("write to the pty");
        at
    }

    /// Reads until nothing more comes for a while.
    fn settle(&mut self) {
        while let Ok((_, chunk)) = self.chunks.recv_timeout(Duration::from_millis(30)) {
            self.parser.process(&chunk);
        }
    }

    /// Reads until `done` holds for the screen; returns when the frame that
    /// made it so was complete.
    fn wait(
        &mut self,
        patience: Duration,
        done: impl Fn(&vt100::Screen) -> bool,
    ) -> Option<Instant> {
        let deadline = Instant::now() + patience;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let (at, chunk) = match self.chunks.recv_timeout(left) {
                Ok(c) => c,
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => panic!("the console ended"),
            };
            self.parser.process(&chunk);
            if done(self.parser.screen()) {
                return Some(self.rest_of_frame(at));
            }
        }
    }

    /// The frame's last chunk (a frame can come in several writes).
    fn rest_of_frame(&mut self, mut at: Instant) -> Instant {
        while let Ok((t, chunk)) = self.chunks.recv_timeout(QUIET) {
            self.parser.process(&chunk);
            at = t;
        }
        at
    }

    /// From `key` written to the screen showing `done`.
    fn time(&mut self, key: &[u8], done: impl Fn(&vt100::Screen) -> bool) -> Duration {
        let sent = self.press(key);
        let at = self.wait(PATIENCE, done).unwrap_or_else(|| {
            panic!(
                "the screen never showed it after {key:?}:\n{}",
                self.parser.screen().contents()
            )
        });
        at - sent
    }

    /// From `key` written to the screen changed (contents or attributes).
    fn time_change(&mut self, key: &[u8]) -> Duration {
        let before = self.parser.screen().contents_formatted();
        let sent = self.press(key);
        let at = self
            .wait(PATIENCE, |s| s.contents_formatted() != before)
            .expect("the screen changes");
        at - sent
    }

    fn row(&self, row: u16) -> String {
        row_text(self.parser.screen(), row)
    }

    fn tab_bar(&self) -> String {
        tab_bar(self.parser.screen())
    }

    fn finish(mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            // Drain, so the console never blocks on a full pty.
            while self.chunks.try_recv().is_ok() {}
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pseudo-terminal of `cols` x `rows`: (master, slave).
fn openpty(cols: u16, rows: u16) -> (File, OwnedFd) {
    let mut master = -1;
    let mut slave = -1;
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: two out-pointers to ints and a winsize that outlive the call.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two new descriptors that nothing else owns.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}
