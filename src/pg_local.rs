//! A private PostgreSQL server started from the machine's own binaries: the
//! `demo` command's persistent one and the tests' throwaway one.
//!
//! Facts this module is built around: the binaries are not always on `PATH`
//! (Debian keeps them in `/usr/lib/postgresql/<major>/bin`); `initdb` and
//! `postgres` refuse to run as root, so as root they run as the `postgres`
//! user on a directory it owns; the server listens only on a Unix socket in
//! its own directory, so no port or system directory is shared with anyone.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The port only names the socket file (`.s.PGSQL.<port>`); nothing listens on TCP.
const SOCKET_PORT: u16 = 5432;
/// The superuser `initdb` creates; the demo and the tests connect as it.
pub const SUPERUSER: &str = "postgres";
/// The user the server runs as when we are root.
const SERVICE_USER: &str = "postgres";

/// Where `initdb`, `pg_ctl` and `postgres` live.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    bindir: PathBuf,
}

impl PgBinaries {
    /// Looks on `PATH`, then `pg_config --bindir`, then the newest
    /// `/usr/lib/postgresql/*/bin`.
    pub fn find() -> Result<Self> {
        // Through a symlink (this image links initdb into /usr/local/bin),
        // to the directory that holds all of them (pg_basebackup too).
        if let Some(dir) = on_path("initdb")
            .map(|p| fs::canonicalize(&p).unwrap_or(p))
            .and_then(|p| p.parent().map(Path::to_path_buf))
            && dir.join("pg_ctl").exists()
        {
            return Ok(Self { bindir: dir });
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
            && out.status.success()
        {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if dir.join("initdb").exists() {
                return Ok(Self { bindir: dir });
            }
        }
        let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let major = e.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").exists().then_some((major, bin))
            })
            .collect();
        versions.sort();
        if let Some((_, bindir)) = versions.pop() {
            return Ok(Self { bindir });
        }
        bail!(
            "no PostgreSQL server binaries found (initdb, pg_ctl): install them with \
             `apt-get install postgresql` (Debian/Ubuntu) or `brew install postgresql` (macOS), \
             or put their directory on PATH"
        )
    }

    pub fn tool(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// True when this process runs as root, where PostgreSQL must run as another user.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// How a server is tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The user's demo data: PostgreSQL's safe defaults.
    Durable,
    /// Throwaway test servers: no fsync, nothing survives a crash, much faster.
    Throwaway,
}

/// A cluster in `dir` (data in `dir/data`, socket and log in `dir`).
#[derive(Debug, Clone)]
pub struct LocalServer {
    bin: PgBinaries,
    dir: PathBuf,
    durability: Durability,
    superuser: String,
}

impl LocalServer {
    pub fn new(bin: PgBinaries, dir: impl Into<PathBuf>, durability: Durability) -> Self {
        Self {
            bin,
            dir: dir.into(),
            durability,
            superuser: SUPERUSER.to_owned(),
        }
    }

    /// The same server with another name for the superuser `initdb` creates
    /// (a Supabase-like cluster calls it `supabase_admin`, and `postgres` is
    /// an ordinary role there).
    pub fn with_superuser(mut self, name: &str) -> Self {
        self.superuser = name.to_owned();
        self
    }

    pub fn superuser(&self) -> &str {
        &self.superuser
    }

    pub fn binaries(&self) -> &PgBinaries {
        &self.bin
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    pub fn is_initialized(&self) -> bool {
        self.data_dir().join("PG_VERSION").exists()
    }

    /// Creates the cluster unless it exists. As root, the directory is handed
    /// to the `postgres` user first.
    pub fn init_if_needed(&self) -> Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        if self.is_initialized() {
            return Ok(());
        }
        if running_as_root() {
            make_reachable_by_others(&self.dir)?;
            run(Command::new("chown")
                .arg("-R")
                .arg(format!("{SERVICE_USER}:"))
                .arg(&self.dir))
            .context("handing the server directory to the postgres user")?;
        }
        let mut initdb = self.command("initdb");
        initdb.arg("-D").arg(self.data_dir()).args([
            "-U",
            &self.superuser,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        if self.durability == Durability::Throwaway {
            initdb.arg("--no-sync");
        }
        run(&mut initdb).context("initdb failed")
    }

    /// Makes this cluster a streaming replica of `primary` (which must be
    /// running): `pg_basebackup -R` over the primary's socket, so the copy
    /// starts as a hot standby that follows it.
    pub fn init_replica_of(&self, primary: &LocalServer) -> Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        if running_as_root() {
            make_reachable_by_others(&self.dir)?;
            run(Command::new("chown")
                .arg("-R")
                .arg(format!("{SERVICE_USER}:"))
                .arg(&self.dir))
            .context("handing the replica's directory to the postgres user")?;
        }
        let mut backup = self.command("pg_basebackup");
        backup
            .arg("-D")
            .arg(self.data_dir())
            .args(["-R", "-X", "stream", "-c", "fast", "-U", &primary.superuser])
            .arg("-h")
            .arg(primary.socket_dir())
            .arg("-p")
            .arg(primary.socket_port().to_string());
        if self.durability == Durability::Throwaway {
            backup.arg("--no-sync");
        }
        run(&mut backup).context("pg_basebackup failed")
    }

    /// Starts the server and waits until it accepts connections. A stale
    /// `postmaster.pid` left by a killed server is removed first.
    pub fn start(&self) -> Result<()> {
        self.start_with("")
    }

    /// `start` with extra server options (`-c name=value ...`), which win
    /// over the defaults: e.g. TCP and TLS for the TLS tests.
    pub fn start_with(&self, extra_options: &str) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let _ = fs::remove_file(self.data_dir().join("postmaster.pid"));
        let mut opts = format!(
            "-c listen_addresses='' -k {} -p {SOCKET_PORT} -c unix_socket_permissions=0700",
            self.dir.display()
        );
        if self.durability == Durability::Throwaway {
            opts.push_str(
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                 -c max_connections=300 -c shared_buffers=128MB",
            );
        }
        opts.push(' ');
        opts.push_str(extra_options);
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-t", "60", "-o"])
            .arg(opts)
            .arg("start");
        run(&mut pg_ctl).with_context(|| {
            format!(
                "the PostgreSQL server did not start; its log is {}",
                self.log_file().display()
            )
        })
    }

    pub fn is_running(&self) -> bool {
        let mut status = self.command("pg_ctl");
        status
            .arg("-D")
            .arg(self.data_dir())
            .arg("status")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        status.status().map(|s| s.success()).unwrap_or(false)
    }

    /// Stops the server, letting running transactions roll back.
    pub fn stop(&self) -> Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(self.data_dir())
            .args(["-w", "-m", "fast", "stop"]);
        run(&mut pg_ctl).context("stopping the PostgreSQL server")
    }

    /// A connection URL for `database` over the server's socket, as the
    /// superuser.
    pub fn url(&self, database: &str) -> String {
        self.url_as(&self.superuser, database)
    }

    /// A connection URL for `database` as `user` (trust authentication on
    /// the socket: no password).
    pub fn url_as(&self, user: &str, database: &str) -> String {
        format!(
            "postgres://{user}@localhost:{SOCKET_PORT}/{database}?host={}",
            self.dir.display()
        )
    }

    /// The same, as `psql` takes it.
    pub fn psql_hint(&self, database: &str) -> String {
        format!(
            "psql \"host={} port={SOCKET_PORT} user={} dbname={database}\"",
            self.dir.display(),
            self.superuser
        )
    }

    /// The directory that holds the server's socket.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    pub fn socket_port(&self) -> u16 {
        SOCKET_PORT
    }

    /// Stops the server and deletes its directory once `pid` has exited, even
    /// if that process is killed or panics: a detached watchdog shell.
    pub fn remove_when_process_exits(&self, pid: u32) -> Result<()> {
        let stop = shell_words(&self.command_line("pg_ctl", &["-D"], &self.data_dir()));
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {stop} -m immediate stop >/dev/null 2>&1; rm -rf '{}'",
            self.dir.display()
        );
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut sh, 0);
        sh.spawn().context("starting the cleanup watchdog")?;
        Ok(())
    }

    /// Hands files we wrote into the server's directory to the user it runs as.
    pub fn give_to_server_user(&self, path: &Path) -> Result<()> {
        if running_as_root() {
            run(Command::new("chown")
                .arg(format!("{SERVICE_USER}:"))
                .arg(path))?;
        }
        Ok(())
    }

    /// A command for one of the server binaries, as the postgres user when root.
    fn command(&self, tool: &str) -> Command {
        let path = self.bin.tool(tool);
        if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", SERVICE_USER, "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn command_line(&self, tool: &str, args: &[&str], last: &Path) -> Vec<String> {
        let mut words = Vec::new();
        if running_as_root() {
            words.extend(["runuser", "-u", SERVICE_USER, "--"].map(String::from));
        }
        words.push(self.bin.tool(tool).display().to_string());
        words.extend(args.iter().map(|a| a.to_string()));
        words.push(last.display().to_string());
        words
    }
}

fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `postgres` user must be able to walk down to the directory.
fn make_reachable_by_others(dir: &Path) -> Result<()> {
    for ancestor in dir.ancestors().skip(1) {
        if ancestor.as_os_str().is_empty() || ancestor == Path::new("/") {
            continue;
        }
        let meta = fs::metadata(ancestor)?;
        let mode = meta.permissions().mode();
        if mode & 0o001 == 0 {
            bail!(
                "{} is not reachable by the postgres user (mode {:o}); \
                 choose a directory outside it",
                ancestor.display(),
                mode & 0o777
            );
        }
    }
    Ok(())
}

fn run(cmd: &mut Command) -> Result<()> {
    let program = cmd.get_program().to_owned();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", Path::new(&program).display()))?;
    if out.status.success() {
        return Ok(());
    }
    let name = Path::new(&program)
        .file_name()
        .unwrap_or(OsStr::new("command"))
        .to_string_lossy()
        .into_owned();
    bail!(
        "{name} exited with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    )
}

/// A fresh directory for a throwaway server: under /tmp, traversable by the
/// postgres user.
pub fn throwaway_dir(prefix: &str) -> Result<PathBuf> {
    let base = std::env::temp_dir();
    for attempt in 0..100u32 {
        let dir = base.join(format!("{prefix}-{}-{attempt}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    bail!("could not create a directory under {}", base.display())
}

/// Where `demo` keeps its server: the user's data directory, except as root,
/// whose home the postgres user cannot enter.
pub fn demo_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CREDITDESK_DEMO_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if running_as_root() {
        return Ok(PathBuf::from("/var/lib/creditdesk/demo"));
    }
    dirs::data_dir()
        .map(|d| d.join("creditdesk").join("demo"))
        .context("no user data directory; set CREDITDESK_DEMO_DIR")
}
