//! A real PgBouncer in transaction pooling mode in front of a test server,
//! started from the machine's binary (`apt-get install pgbouncer`), as
//! Supabase's pooler on port 6543 is: server connections are handed from
//! client to client between transactions, and there are fewer of them than
//! clients, so anything that outlives a transaction leaks to the next one.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::pg_local::{self, LocalServer};

/// A running PgBouncer; stopped when dropped (and by a watchdog when the
/// test process dies).
pub struct PgBouncer {
    dir: PathBuf,
    port: u16,
    admin: String,
    child: std::process::Child,
}

impl PgBouncer {
    /// Where the binary is, or why there is none.
    pub fn binary() -> Result<PathBuf> {
        for p in [
            "/usr/sbin/pgbouncer",
            "/usr/bin/pgbouncer",
            "/usr/local/bin/pgbouncer",
        ] {
            if Path::new(p).exists() {
                return Ok(PathBuf::from(p));
            }
        }
        bail!("no pgbouncer binary: `apt-get install pgbouncer` (.ci/run does)")
    }

    /// Starts a pooler for every database of `server`, `pool_size` server
    /// connections per user and database, letting in `users` (and the
    /// server's superuser) with the server's own trust authentication.
    pub fn start(server: &LocalServer, pool_size: u32, users: &[&str]) -> Result<Self> {
        let binary = Self::binary()?;
        let dir = pg_local::throwaway_dir("creditdesk-pgbouncer")?;
        let port = free_port()?;
        let admin = server.superuser().to_owned();
        let config = format!(
            "[databases]\n\
             * = host={socket} port={pgport}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = trust\n\
             auth_file = {dir}/users.txt\n\
             pool_mode = transaction\n\
             default_pool_size = {pool_size}\n\
             max_client_conn = 1000\n\
             admin_users = {admin}\n\
             server_check_query = select 1\n\
             logfile = {dir}/pgbouncer.log\n\
             pidfile = {dir}/pgbouncer.pid\n",
            socket = server.socket_dir().display(),
            pgport = server.socket_port(),
            dir = dir.display(),
        );
        fs::write(dir.join("pgbouncer.ini"), config)?;
        let mut all: Vec<&str> = users.to_vec();
        all.push(&admin);
        write_users(&dir, &all)?;
        if pg_local::running_as_root() {
            let status = Command::new("chown")
                .arg("-R")
                .arg("postgres:")
                .arg(&dir)
                .status()?;
            if !status.success() {
                bail!("handing {} to the postgres user", dir.display());
            }
        }
        let mut cmd = if pg_local::running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&binary);
            c
        } else {
            Command::new(&binary)
        };
        cmd.arg(dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().context("starting pgbouncer")?;
        watchdog(child.id(), &dir)?;
        let bouncer = Self {
            dir,
            port,
            admin,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!(
                    "pgbouncer did not start listening; its log: {}",
                    fs::read_to_string(bouncer.dir.join("pgbouncer.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(bouncer)
    }

    /// A URL through the pooler for `database` as `user` (the password is
    /// not checked: trust, as the server behind it).
    pub fn url(&self, user: &str, database: &str) -> String {
        format!(
            "postgres://{user}:x@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Lets in more users (operator logins made after the start).
    pub async fn allow(&self, users: &[&str]) -> Result<()> {
        let existing = fs::read_to_string(self.dir.join("users.txt")).unwrap_or_default();
        let mut all: Vec<String> = existing
            .lines()
            .filter_map(|l| l.split('"').nth(1).map(str::to_owned))
            .collect();
        all.extend(users.iter().map(|u| (*u).to_owned()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        write_users(&self.dir, &refs)?;
        self.admin_command("RELOAD").await
    }

    /// A command on PgBouncer's admin console (`SHOW POOLS`, `RELOAD`).
    pub async fn admin_command(&self, command: &str) -> Result<()> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&format!(
            "postgres://{}@127.0.0.1:{}/pgbouncer?sslmode=disable&statement-cache-capacity=0",
            self.admin, self.port
        ))
        .await
        .context("connecting to pgbouncer's admin console")?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(command.to_owned()))
            .execute(&mut conn)
            .await
            .with_context(|| format!("pgbouncer: {command}"))?;
        Ok(())
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // As root the child is `runuser`; pgbouncer's own pid is in its file.
        if let Some(pid) = fs::read_to_string(self.dir.join("pgbouncer.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            // SAFETY: kill(2) with a pid read from pgbouncer's pidfile.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn write_users(dir: &Path, users: &[&str]) -> Result<()> {
    let mut text = String::new();
    for u in users {
        text.push_str(&format!("\"{u}\" \"\"\n"));
    }
    let path = dir.join("users.txt");
    fs::write(&path, text)?;
    if pg_local::running_as_root() {
        let _ = Command::new("chown").arg("postgres:").arg(&path).status();
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Kills pgbouncer (`pid`) and removes `dir` once this test process is gone.
fn watchdog(pid: u32, dir: &Path) -> Result<()> {
    let me = std::process::id();
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; \
         kill $(cat '{d}/pgbouncer.pid' 2>/dev/null) {pid} 2>/dev/null; rm -rf '{d}'",
        d = dir.display()
    );
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut sh, 0);
    sh.spawn().context("starting the pgbouncer watchdog")?;
    Ok(())
}
