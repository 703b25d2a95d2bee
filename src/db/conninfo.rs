//! Where to connect, worked out the way libpq (psql, pg_dump) works it out,
//! so a jump host set up for psql works for creditdesk unchanged:
//!
//! 1. the connection string: a `postgres://` URL or `key=value` pairs;
//! 2. a service (`service=NAME` in it, or `PGSERVICE`) from `PGSERVICEFILE`
//!    or `~/.pg_service.conf`, else `$PGSYSCONFDIR/pg_service.conf`;
//! 3. the `PG*` environment variables, for whatever is still unset;
//! 4. libpq's defaults (the local socket if there is one, port 5432, the
//!    login name, a database named like the user), and a password from
//!    `PGPASSFILE` or `~/.pgpass` when none was given.
//!
//! Each step fills only what the ones before left unset, as in libpq.
//! Anything creditdesk does not understand or cannot honour is an error
//! that names it, never silently dropped: a service nobody defined does not
//! quietly become `localhost:5432`.
//!
//! Pure: what it reads from the machine goes through [`Sys`], so the rules
//! are unit-tested against a made-up machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What resolving reads from the machine.
pub trait Sys {
    /// An environment variable; an empty one counts as unset.
    fn var(&self, name: &str) -> Option<String>;
    fn read_file(&self, path: &Path) -> std::io::Result<String>;
    /// The permission bits of a regular file (`None`: not a regular file).
    fn file_mode(&self, path: &Path) -> Option<u32>;
    fn exists(&self, path: &Path) -> bool;
    fn home_dir(&self) -> Option<PathBuf>;
    /// The name of the user this process runs as.
    fn login_name(&self) -> Option<String>;
}

/// The real machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct System;

impl Sys for System {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }

    fn read_file(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn file_mode(&self, path: &Path) -> Option<u32> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).ok()?;
        meta.is_file().then(|| meta.permissions().mode() & 0o7777)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn home_dir(&self) -> Option<PathBuf> {
        dirs::home_dir()
    }

    fn login_name(&self) -> Option<String> {
        login_name_of_uid()
    }
}

/// The name of the effective user, from the password database (what libpq
/// uses; root shells over SSH don't always export `USER`).
pub fn login_name_of_uid() -> Option<String> {
    // SAFETY: getpwuid returns a pointer to static storage or null; we copy
    // the name out before any other call could overwrite it.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            return None;
        }
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_str()
            .ok()
            .map(str::to_owned)
    }
}

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Tcp(String),
    /// The directory holding the server's socket.
    Socket(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }
}

/// Where a setting came from, for messages and for the password warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The connection string itself.
    Given,
    /// A service definition in this file.
    Service(PathBuf),
    /// This environment variable.
    Env(&'static str),
    /// A password file.
    Passfile(PathBuf),
}

impl Origin {
    /// " (in PGHOST)", " (in service prod of FILE)", "" for the string itself.
    fn place(&self, service: Option<&str>) -> String {
        match self {
            Origin::Given => String::new(),
            Origin::Service(file) => format!(
                " (in service {} of {})",
                service.unwrap_or("?"),
                file.display()
            ),
            Origin::Env(var) => format!(" (in {var})"),
            Origin::Passfile(file) => format!(" (in {})", file.display()),
        }
    }
}

/// Everything needed to open a connection, resolved.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnInfo {
    pub host: Host,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub password_origin: Option<Origin>,
    pub dbname: String,
    pub sslmode: SslMode,
    /// `None`: the system's (Mozilla's) root certificates.
    pub sslrootcert: Option<PathBuf>,
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
    /// Only when given: creditdesk names its connections itself otherwise.
    pub application_name: Option<String>,
    pub connect_timeout: Option<Duration>,
    /// The service used, if any.
    pub service: Option<String>,
    /// Things worth telling the operator (a password file others can read).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for ConnInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnInfo")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .field("password_origin", &self.password_origin)
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// How creditdesk treats one of libpq's parameters.
#[derive(Debug, Clone, Copy)]
enum Support {
    Yes,
    /// Accepted only with these values (what creditdesk does anyway).
    Only(&'static [&'static str]),
    /// Refused, with what to do instead.
    No(&'static str),
}

struct Param {
    key: &'static str,
    env: Option<&'static str>,
    support: Support,
}

const fn p(key: &'static str, env: Option<&'static str>, support: Support) -> Param {
    Param { key, env, support }
}

const TCP: &str = "creditdesk uses the system's TCP settings";

/// libpq's parameters (PostgreSQL 17), each with its environment variable.
const PARAMS: &[Param] = &[
    p("host", Some("PGHOST"), Support::Yes),
    p(
        "hostaddr",
        Some("PGHOSTADDR"),
        Support::No("give the address as host"),
    ),
    p("port", Some("PGPORT"), Support::Yes),
    p("dbname", Some("PGDATABASE"), Support::Yes),
    p("user", Some("PGUSER"), Support::Yes),
    p("password", Some("PGPASSWORD"), Support::Yes),
    p("passfile", Some("PGPASSFILE"), Support::Yes),
    p("service", Some("PGSERVICE"), Support::Yes),
    p("application_name", Some("PGAPPNAME"), Support::Yes),
    // creditdesk's own name is the fallback.
    p("fallback_application_name", None, Support::Yes),
    p("connect_timeout", Some("PGCONNECT_TIMEOUT"), Support::Yes),
    p("sslmode", Some("PGSSLMODE"), Support::Yes),
    p("sslrootcert", Some("PGSSLROOTCERT"), Support::Yes),
    p("sslcert", Some("PGSSLCERT"), Support::Yes),
    p("sslkey", Some("PGSSLKEY"), Support::Yes),
    p(
        "client_encoding",
        Some("PGCLIENTENCODING"),
        Support::Only(&["UTF8", "utf8", "UTF-8", "utf-8"]),
    ),
    p(
        "options",
        Some("PGOPTIONS"),
        Support::No("set server settings with ALTER ROLE ... SET, or the profile's timeouts"),
    ),
    p(
        "target_session_attrs",
        Some("PGTARGETSESSIONATTRS"),
        Support::Only(&["any"]),
    ),
    p(
        "load_balance_hosts",
        Some("PGLOADBALANCEHOSTS"),
        Support::Only(&["disable"]),
    ),
    p(
        "gssencmode",
        Some("PGGSSENCMODE"),
        Support::Only(&["disable", "prefer"]),
    ),
    p(
        "channel_binding",
        Some("PGCHANNELBINDING"),
        Support::Only(&["disable", "prefer"]),
    ),
    p(
        "sslnegotiation",
        Some("PGSSLNEGOTIATION"),
        Support::Only(&["postgres"]),
    ),
    p("sslcompression", None, Support::Only(&["0"])),
    p("sslsni", None, Support::Only(&["1"])),
    p(
        "ssl_min_protocol_version",
        Some("PGSSLMINPROTOCOLVERSION"),
        Support::Only(&["TLSv1.2"]),
    ),
    p(
        "sslpassword",
        None,
        Support::No("use an unencrypted key file (mode 0600)"),
    ),
    p(
        "sslcertmode",
        Some("PGSSLCERTMODE"),
        Support::No("give sslcert"),
    ),
    p(
        "sslcrl",
        Some("PGSSLCRL"),
        Support::No("revocation lists are not checked"),
    ),
    p(
        "sslcrldir",
        Some("PGSSLCRLDIR"),
        Support::No("revocation lists are not checked"),
    ),
    p(
        "ssl_max_protocol_version",
        Some("PGSSLMAXPROTOCOLVERSION"),
        Support::No("TLS 1.2 and 1.3 are used"),
    ),
    p(
        "requirepeer",
        Some("PGREQUIREPEER"),
        Support::No("use a password or a certificate"),
    ),
    p(
        "require_auth",
        Some("PGREQUIREAUTH"),
        Support::No("use a password or a certificate"),
    ),
    p(
        "krbsrvname",
        Some("PGKRBSRVNAME"),
        Support::No("Kerberos is not supported"),
    ),
    p(
        "gsslib",
        Some("PGGSSLIB"),
        Support::No("Kerberos is not supported"),
    ),
    p(
        "gssdelegation",
        Some("PGGSSDELEGATION"),
        Support::No("Kerberos is not supported"),
    ),
    p("keepalives", None, Support::No(TCP)),
    p("keepalives_idle", None, Support::No(TCP)),
    p("keepalives_interval", None, Support::No(TCP)),
    p("keepalives_count", None, Support::No(TCP)),
    p("tcp_user_timeout", None, Support::No(TCP)),
    p(
        "replication",
        None,
        Support::No("creditdesk is not a replication client"),
    ),
    p(
        "min_protocol_version",
        Some("PGMINPROTOCOLVERSION"),
        Support::No("protocol 3.0 is used"),
    ),
    p(
        "max_protocol_version",
        Some("PGMAXPROTOCOLVERSION"),
        Support::No("protocol 3.0 is used"),
    ),
];

fn param(key: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.key == key)
}

/// Environment variables that say where to connect: with one of them set,
/// an empty connection string is meaningful.
pub const LOCATION_VARS: &[&str] = &["PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE"];

/// The `key=value` pairs a connection string holds, in order.
pub type Params = Vec<(String, String)>;

/// Parses a connection string into its pairs, without resolving anything:
/// a `postgres://` or `postgresql://` URL, or libpq's `key=value` form.
pub fn parse(spec: &str) -> Result<Params, String> {
    let s = spec.trim();
    if s.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(rest) = s
        .strip_prefix("postgresql://")
        .or_else(|| s.strip_prefix("postgres://"))
    {
        return parse_url(rest);
    }
    if let Some((scheme, _)) = s.split_once("://")
        && !scheme.contains([' ', '='])
    {
        return Err(format!(
            "unsupported URL scheme {:?}: it must be postgres:// or postgresql://",
            scheme
        ));
    }
    if !s.contains('=') {
        return Err(
            "malformed connection string: give a postgres:// URL or key=value pairs \
             (host=... dbname=...)"
                .to_owned(),
        );
    }
    parse_keywords(s)
}

/// `[user[:password]@][host][:port][/dbname][?key=value&...]`, percent-encoded.
fn parse_url(rest: &str) -> Result<Params, String> {
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match main.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (main, None),
    };
    let mut out = Params::new();
    let hostspec = match authority.rsplit_once('@') {
        Some((userinfo, hostspec)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, pw)) => (u, Some(pw)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                out.push(("user".into(), decode(user, "user name")?));
            }
            if let Some(pw) = password {
                // Never quoted in a message: it is the password.
                let pw = decode(pw, "password")?;
                out.push(("password".into(), pw));
            }
            hostspec
        }
        None => authority,
    };
    if hostspec.contains(',') {
        return Err(format!(
            "several hosts ({hostspec}) are not supported: give one host"
        ));
    }
    let (host, port) = split_host_port(hostspec)?;
    if !host.is_empty() {
        out.push(("host".into(), decode(host, "host")?));
    }
    if let Some(port) = port {
        out.push(("port".into(), decode(port, "port")?));
    }
    if let Some(db) = path.filter(|p| !p.is_empty()) {
        out.push(("dbname".into(), decode(db, "database name")?));
    }
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(format!(
                "malformed URL parameter {:?}: expected key=value",
                pair
            ));
        };
        let key = decode(k, "parameter name")?;
        let value = decode(v, &format!("value of {key}"))?;
        // JDBC's spelling, which libpq accepts in URLs too.
        if key == "ssl" {
            if value != "true" {
                return Err(format!("invalid ssl={value:?}: only ssl=true is accepted"));
            }
            out.push(("sslmode".into(), "require".into()));
            continue;
        }
        out.push((key, value));
    }
    Ok(out)
}

/// `host:port`, `[v6]:port`, `host`, `[v6]`, `:port` or nothing.
fn split_host_port(s: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return Err(format!("malformed IPv6 address {s:?}: missing ]"));
        };
        return match after.strip_prefix(':') {
            Some(port) => Ok((v6, Some(port))),
            None if after.is_empty() => Ok((v6, None)),
            None => Err(format!("malformed host {s:?}")),
        };
    }
    Ok(match s.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (s, None),
    })
}

/// Percent-decoding; `what` names the part in the error (never its value).
fn decode(s: &str, what: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(b) = hex else {
                return Err(format!(
                    "malformed percent-encoding in the URL's {what} (% must be followed by two hex digits; write % as %25)"
                ));
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("the URL's {what} is not UTF-8"))
}

/// libpq's `key = value ...`: values may be 'single quoted', and a
/// backslash escapes the next character.
fn parse_keywords(s: &str) -> Result<Params, String> {
    let mut out = Params::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!(
                "missing \"=\" after {key:?} in the connection string"
            ));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(format!(
                            "unterminated quoted value of {key:?} in the connection string"
                        ));
                    }
                    Some('\\') => {
                        if let Some(c) = chars.next() {
                            value.push(c);
                        }
                    }
                    Some('\'') => break,
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        value.push(next);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        out.push((key, value));
    }
}

/// True when the connection string itself holds a password.
pub fn has_password(spec: &str) -> bool {
    parse(spec).is_ok_and(|params| params.iter().any(|(k, v)| k == "password" && !v.is_empty()))
}

/// The connection string with any password replaced by `********`, for
/// listing; `None` when it does not parse.
pub fn redact(spec: &str) -> Option<String> {
    let params = parse(spec).ok()?;
    if !params.iter().any(|(k, _)| k == "password") {
        return Some(spec.trim().to_owned());
    }
    let s = spec.trim();
    if let Some(scheme_len) = ["postgresql://", "postgres://"]
        .iter()
        .find(|p| s.starts_with(**p))
        .map(|p| p.len())
    {
        let (scheme, rest) = s.split_at(scheme_len);
        let (main, query) = match rest.split_once('?') {
            Some((m, q)) => (m.to_owned(), Some(q)),
            None => (rest.to_owned(), None),
        };
        let (authority, path) = match main.split_once('/') {
            Some((a, p)) => (a.to_owned(), format!("/{p}")),
            None => (main.clone(), String::new()),
        };
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:********@{host}"),
                None => authority.clone(),
            },
            None => authority.clone(),
        };
        let query = query.map(|q| {
            q.split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if decode(k, "").is_ok_and(|k| k == "password") => {
                        format!("{k}=********")
                    }
                    _ => pair.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("&")
        });
        let mut out = format!("{scheme}{authority}{path}");
        if let Some(q) = query {
            out.push('?');
            out.push_str(&q);
        }
        return Some(out);
    }
    Some(
        params
            .iter()
            .map(|(k, v)| {
                let v = if k == "password" { "********" } else { v };
                if v.is_empty() || v.contains([' ', '\'', '\\']) {
                    format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
                } else {
                    format!("{k}={v}")
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// A value and where it came from.
#[derive(Debug, Clone)]
struct Setting {
    value: String,
    origin: Origin,
}

/// The sockets libpq and its packagers use by default.
const SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/run/postgresql", "/tmp"];

/// Resolves a connection string against the machine as libpq would.
pub fn resolve(spec: &str, sys: &dyn Sys) -> Result<ConnInfo, String> {
    let mut set: BTreeMap<&'static str, Setting> = BTreeMap::new();
    for (key, value) in parse(spec)? {
        let p = param(&key).ok_or_else(|| unknown(&key, ""))?;
        // Empty is unset, as in libpq (`password=` looks in .pgpass).
        if value.is_empty() {
            continue;
        }
        check(p, &value, "")?;
        set.insert(
            p.key,
            Setting {
                value,
                origin: Origin::Given,
            },
        );
    }

    let service = set
        .get("service")
        .map(|s| s.value.clone())
        .or_else(|| sys.var("PGSERVICE"));
    if let Some(name) = &service {
        let (file, params) = service_definition(name, sys)?;
        let place = Origin::Service(file.clone()).place(Some(name));
        for (key, value) in params {
            let p = param(&key).ok_or_else(|| unknown(&key, &place))?;
            if p.key == "service" {
                return Err(format!(
                    "nested service specifications are not supported{place}"
                ));
            }
            if value.is_empty() {
                continue;
            }
            check(p, &value, &place)?;
            set.entry(p.key).or_insert(Setting {
                value,
                origin: Origin::Service(file.clone()),
            });
        }
    }

    for p in PARAMS {
        let Some(var) = p.env else { continue };
        if set.contains_key(p.key) {
            continue;
        }
        if let Some(value) = sys.var(var) {
            check(p, &value, &format!(" (in {var})"))?;
            set.insert(
                p.key,
                Setting {
                    value,
                    origin: Origin::Env(var),
                },
            );
        }
    }

    let place = |key: &str| {
        set.get(key)
            .map(|s| s.origin.place(service.as_deref()))
            .unwrap_or_default()
    };
    let value = |key: &str| set.get(key).map(|s| s.value.as_str());

    let port = match value("port") {
        None => 5432,
        Some(v) => v
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                if v.contains(',') {
                    format!("several ports ({v}) are not supported{}", place("port"))
                } else {
                    format!("invalid port {v:?}{}", place("port"))
                }
            })?,
    };
    let host = match value("host") {
        Some(h) if h.contains(',') => {
            return Err(format!(
                "several hosts ({h}) are not supported{}: give one host",
                place("host")
            ));
        }
        Some(h) if h.starts_with('/') => Host::Socket(PathBuf::from(h)),
        Some(h) => Host::Tcp(h.to_owned()),
        None => SOCKET_DIRS
            .iter()
            .map(PathBuf::from)
            .find(|d| sys.exists(&d.join(format!(".s.PGSQL.{port}"))))
            .map_or_else(|| Host::Tcp("localhost".into()), Host::Socket),
    };
    let user = match value("user") {
        Some(u) => u.to_owned(),
        None => sys
            .login_name()
            .ok_or("no user name: give user= or set PGUSER")?,
    };
    let dbname = value("dbname").unwrap_or(&user).to_owned();

    let root_system = value("sslrootcert") == Some("system");
    let sslmode = match value("sslmode") {
        Some(m) => SslMode::parse(m).ok_or_else(|| {
            format!(
                "invalid sslmode {m:?}{}: use disable, allow, prefer, require, verify-ca or verify-full",
                place("sslmode")
            )
        })?,
        None if root_system => SslMode::VerifyFull,
        None => SslMode::Prefer,
    };
    if root_system && sslmode != SslMode::VerifyFull {
        return Err(format!(
            "weak sslmode {:?} may not be used with sslrootcert=system (use verify-full)",
            value("sslmode").unwrap_or_default()
        ));
    }
    let sslrootcert = match value("sslrootcert") {
        Some("system") => None,
        Some(path) => Some(PathBuf::from(path)),
        // libpq's default, when it exists.
        None => sys
            .home_dir()
            .map(|h| h.join(".postgresql").join("root.crt"))
            .filter(|f| sys.exists(f)),
    };
    let connect_timeout = match value("connect_timeout") {
        None => None,
        Some(v) => {
            let secs: i64 = v.trim().parse().map_err(|_| {
                format!(
                    "invalid connect_timeout {v:?}{}: whole seconds",
                    place("connect_timeout")
                )
            })?;
            // libpq: zero or less waits forever; creditdesk keeps its own
            // limit then. Less than 2 counts as 2.
            (secs > 0).then(|| Duration::from_secs(secs.max(2).unsigned_abs()))
        }
    };

    let mut warnings = Vec::new();
    let (password, password_origin) = match set.get("password") {
        Some(s) => (Some(s.value.clone()), Some(s.origin.clone())),
        None => {
            let file = value("passfile")
                .map(PathBuf::from)
                .or_else(|| sys.home_dir().map(|h| h.join(".pgpass")));
            let found = file.and_then(|file| {
                let mode = sys.file_mode(&file)?;
                if mode & 0o077 != 0 {
                    warnings.push(format!(
                        "password file {} has group or world access; permissions should be u=rw (0600) or less: it was not used",
                        file.display()
                    ));
                    return None;
                }
                let text = sys.read_file(&file).ok()?;
                // libpq matches the default socket as "localhost".
                let pw_host = match &host {
                    Host::Tcp(h) => h.clone(),
                    Host::Socket(dir)
                        if value("host").is_none()
                            || SOCKET_DIRS.iter().any(|d| Path::new(d) == dir) =>
                    {
                        "localhost".to_owned()
                    }
                    Host::Socket(dir) => dir.display().to_string(),
                };
                pgpass_lookup(&text, &pw_host, port, &dbname, &user)
                    .map(|pw| (pw, Origin::Passfile(file)))
            });
            match found {
                Some((pw, origin)) => (Some(pw), Some(origin)),
                None => (None, None),
            }
        }
    };

    Ok(ConnInfo {
        host,
        port,
        user,
        password,
        password_origin,
        dbname,
        sslmode,
        sslrootcert,
        sslcert: value("sslcert").map(PathBuf::from),
        sslkey: value("sslkey").map(PathBuf::from),
        application_name: value("application_name").map(str::to_owned),
        connect_timeout,
        service,
        warnings,
    })
}

fn unknown(key: &str, place: &str) -> String {
    format!("unknown connection parameter {key:?}{place}")
}

/// Refuses what creditdesk can't honour, naming it (never the value of a
/// refused parameter: it could be a secret).
fn check(p: &Param, value: &str, place: &str) -> Result<(), String> {
    match p.support {
        Support::Yes => Ok(()),
        Support::Only(values) if values.contains(&value) => Ok(()),
        Support::Only(values) => Err(format!(
            "{}={value:?}{place} is not supported by creditdesk: only {}",
            p.key,
            values.join(", ")
        )),
        Support::No(instead) => Err(format!(
            "{}{place} is not supported by creditdesk: {instead}",
            p.key
        )),
    }
}

/// The pairs of service `name`, and the file they came from.
fn service_definition(name: &str, sys: &dyn Sys) -> Result<(PathBuf, Params), String> {
    let user_file = sys
        .var("PGSERVICEFILE")
        .map(PathBuf::from)
        .or_else(|| sys.home_dir().map(|h| h.join(".pg_service.conf")));
    let system_file = sys
        .var("PGSYSCONFDIR")
        .map(|d| PathBuf::from(d).join("pg_service.conf"))
        .unwrap_or_else(|| PathBuf::from("/etc/postgresql-common/pg_service.conf"));
    let mut looked = Vec::new();
    for file in user_file.into_iter().chain([system_file]) {
        looked.push(file.display().to_string());
        let text = match sys.read_file(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read service file {}: {e}", file.display())),
        };
        if let Some(params) = service_section(&text, name)
            .map_err(|e| format!("service file {}: {e}", file.display()))?
        {
            return Ok((file, params));
        }
    }
    Err(format!(
        "definition of service {name:?} not found (looked in {})",
        looked.join(" and ")
    ))
}

/// The pairs of section `[name]` of a service file, if it has one.
fn service_section(text: &str, name: &str) -> Result<Option<Params>, String> {
    let mut in_section = false;
    let mut found: Option<Params> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[') {
            if found.is_some() {
                break;
            }
            let section = section
                .strip_suffix(']')
                .ok_or_else(|| format!("line {}: malformed section header", n + 1))?;
            in_section = section.trim() == name;
            if in_section {
                found = Some(Params::new());
            }
            continue;
        }
        if !in_section {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected key=value", n + 1))?;
        if let Some(params) = found.as_mut() {
            params.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    Ok(found)
}

/// libpq's `.pgpass` lookup: the password of the first line whose
/// `host:port:database:user` matches (`*` matches anything; `\` escapes `:`
/// and `\`).
pub fn pgpass_lookup(
    text: &str,
    host: &str,
    port: u16,
    dbname: &str,
    user: &str,
) -> Option<String> {
    let port = port.to_string();
    let wanted = [host, port.as_str(), dbname, user];
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_pgpass_line(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = fields
            .iter()
            .zip(wanted)
            .all(|((field, raw), want)| raw == "*" || field == want);
        if matches {
            return Some(fields[4].0.clone());
        }
    }
    None
}

/// The five fields, each unescaped and as written (to tell `*` from `\*`);
/// the password is the rest of the line.
fn split_pgpass_line(line: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut value = String::new();
    let mut raw = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            raw.push(c);
            if let Some(next) = chars.next() {
                value.push(next);
                raw.push(next);
            }
        } else if c == ':' && fields.len() < 4 {
            fields.push((std::mem::take(&mut value), std::mem::take(&mut raw)));
        } else {
            value.push(c);
            raw.push(c);
        }
    }
    fields.push((value, raw));
    fields
}

/// A made-up machine for the resolvers' tests.
#[cfg(test)]
pub(crate) mod fake {
    use super::Sys;
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    /// Variables, files (path -> (mode, text)) and sockets; home is
    /// /home/ana, the login name ana.
    #[derive(Default, Clone)]
    pub struct Fake {
        vars: HashMap<&'static str, String>,
        files: HashMap<PathBuf, (u32, String)>,
        sockets: Vec<PathBuf>,
    }

    impl Fake {
        pub fn new() -> Self {
            Self::default()
        }
        pub fn var(mut self, k: &'static str, v: &str) -> Self {
            self.vars.insert(k, v.to_owned());
            self
        }
        pub fn file(mut self, path: &str, mode: u32, text: &str) -> Self {
            self.files
                .insert(PathBuf::from(path), (mode, text.to_owned()));
            self
        }
        pub fn socket(mut self, path: &str) -> Self {
            self.sockets.push(PathBuf::from(path));
            self
        }
    }

    impl Sys for Fake {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).cloned().filter(|v| !v.is_empty())
        }
        fn read_file(&self, path: &Path) -> std::io::Result<String> {
            self.files
                .get(path)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| std::io::ErrorKind::NotFound.into())
        }
        fn file_mode(&self, path: &Path) -> Option<u32> {
            self.files.get(path).map(|(m, _)| *m)
        }
        fn exists(&self, path: &Path) -> bool {
            self.files.contains_key(path) || self.sockets.iter().any(|s| s == path)
        }
        fn home_dir(&self) -> Option<PathBuf> {
            Some(PathBuf::from("/home/ana"))
        }
        fn login_name(&self) -> Option<String> {
            Some("ana".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::Fake;
    use super::*;

    fn ok(spec: &str, sys: &Fake) -> ConnInfo {
        resolve(spec, sys).unwrap_or_else(|e| panic!("{spec}: {e}"))
    }

    fn err(spec: &str, sys: &Fake) -> String {
        match resolve(spec, sys) {
            Ok(info) => panic!("{spec}: expected an error, got {info:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn urls_in_all_their_parts() {
        let i = ok(
            "postgres://app:p%40ss@db.example.com:6543/prod?sslmode=verify-full&sslrootcert=/ca.pem&application_name=x&connect_timeout=1",
            &Fake::new(),
        );
        assert_eq!(i.host, Host::Tcp("db.example.com".into()));
        assert_eq!(i.port, 6543);
        assert_eq!(i.user, "app");
        assert_eq!(i.password.as_deref(), Some("p@ss"));
        assert_eq!(i.password_origin, Some(Origin::Given));
        assert_eq!(i.dbname, "prod");
        assert_eq!(i.sslmode, SslMode::VerifyFull);
        assert_eq!(i.sslrootcert, Some(PathBuf::from("/ca.pem")));
        assert_eq!(i.application_name.as_deref(), Some("x"));
        assert_eq!(i.connect_timeout, Some(Duration::from_secs(2)));

        let i = ok("postgresql://[::1]:5433/db?ssl=true", &Fake::new());
        assert_eq!(i.host, Host::Tcp("::1".into()));
        assert_eq!((i.port, i.sslmode), (5433, SslMode::Require));

        let i = ok("postgres://%2Fvar%2Frun%2Fpg/db", &Fake::new());
        assert_eq!(i.host, Host::Socket("/var/run/pg".into()));
        // A query parameter wins over the authority, as in libpq.
        let i = ok(
            "postgres://u@localhost:5432/demo?host=/tmp/pgdir",
            &Fake::new(),
        );
        assert_eq!(i.host, Host::Socket("/tmp/pgdir".into()));
        assert_eq!((i.user.as_str(), i.dbname.as_str()), ("u", "demo"));
    }

    #[test]
    fn keyword_strings_with_quotes_and_escapes() {
        let i = ok(
            "host=db.internal  port = 5433 dbname='my db' user=o\\'brien password='it\\'s \\\\ secret'",
            &Fake::new(),
        );
        assert_eq!(i.host, Host::Tcp("db.internal".into()));
        assert_eq!(i.port, 5433);
        assert_eq!(i.dbname, "my db");
        assert_eq!(i.user, "o'brien");
        assert_eq!(i.password.as_deref(), Some("it's \\ secret"));
        assert!(err("dbname=x host", &Fake::new()).contains("missing \"=\" after \"host\""));
        assert!(err("host='db", &Fake::new()).contains("unterminated"));
        assert!(err("dbname=x password= 'a", &Fake::new()).contains("unterminated"));
    }

    #[test]
    fn libpq_defaults_and_the_environment() {
        let i = ok("", &Fake::new());
        assert_eq!(i.host, Host::Tcp("localhost".into()));
        assert_eq!(
            (i.port, i.user.as_str(), i.dbname.as_str()),
            (5432, "ana", "ana")
        );
        assert_eq!(i.sslmode, SslMode::Prefer);
        assert_eq!(i.password, None);

        let sock = Fake::new().socket("/var/run/postgresql/.s.PGSQL.5432");
        assert_eq!(
            ok("", &sock).host,
            Host::Socket("/var/run/postgresql".into())
        );

        let env = Fake::new()
            .var("PGHOST", "env.example.com")
            .var("PGPORT", "6000")
            .var("PGUSER", "envuser")
            .var("PGDATABASE", "envdb")
            .var("PGPASSWORD", "envpw")
            .var("PGSSLMODE", "require")
            .var("PGSSLROOTCERT", "/env-ca.pem")
            .var("PGAPPNAME", "envapp");
        let i = ok("", &env);
        assert_eq!(i.host, Host::Tcp("env.example.com".into()));
        assert_eq!(
            (i.port, i.user.as_str(), i.dbname.as_str()),
            (6000, "envuser", "envdb")
        );
        assert_eq!(i.password.as_deref(), Some("envpw"));
        assert_eq!(i.password_origin, Some(Origin::Env("PGPASSWORD")));
        assert_eq!(i.sslmode, SslMode::Require);
        assert_eq!(i.sslrootcert, Some(PathBuf::from("/env-ca.pem")));
        assert_eq!(i.application_name.as_deref(), Some("envapp"));

        // What the string gives wins over the environment; the rest is filled in.
        let i = ok("postgres://given@given.example.com/givendb", &env);
        assert_eq!(i.host, Host::Tcp("given.example.com".into()));
        assert_eq!(
            (i.port, i.user.as_str(), i.dbname.as_str()),
            (6000, "given", "givendb")
        );
        assert_eq!(i.password_origin, Some(Origin::Env("PGPASSWORD")));
    }

    #[test]
    fn services_from_the_user_file_then_the_system_file() {
        let file = "\
# comment
[other]
host=other.example.com

[prod]
host = prod.example.com
port=6543
dbname=postgres
sslmode=verify-full
";
        let sys = Fake::new()
            .file("/home/ana/.pg_service.conf", 0o644, file)
            .var("PGPORT", "7777")
            .var("PGUSER", "envuser");
        for spec in [
            "service=prod",
            "postgres:///?service=prod",
            "postgresql://?service=prod",
        ] {
            let i = ok(spec, &sys);
            assert_eq!(i.host, Host::Tcp("prod.example.com".into()), "{spec}");
            // The service wins over the environment, which fills the rest.
            assert_eq!((i.port, i.user.as_str()), (6543, "envuser"));
            assert_eq!(i.sslmode, SslMode::VerifyFull);
            assert_eq!(i.service.as_deref(), Some("prod"));
        }
        // The string wins over the service.
        assert_eq!(ok("service=prod port=1", &sys).port, 1);
        // PGSERVICE picks one too.
        let env = Fake::new()
            .file("/home/ana/.pg_service.conf", 0o644, file)
            .var("PGSERVICE", "other");
        assert_eq!(ok("", &env).host, Host::Tcp("other.example.com".into()));

        // PGSERVICEFILE moves the user file; PGSYSCONFDIR holds the system one.
        let moved = Fake::new()
            .var("PGSERVICEFILE", "/etc/creditdesk/services")
            .file(
                "/etc/creditdesk/services",
                0o644,
                "[a]\nhost=a.example.com\n",
            )
            .var("PGSYSCONFDIR", "/etc/pg")
            .file(
                "/etc/pg/pg_service.conf",
                0o644,
                "[b]\nhost=b.example.com\n",
            );
        assert_eq!(
            ok("service=a", &moved).host,
            Host::Tcp("a.example.com".into())
        );
        assert_eq!(
            ok("service=b", &moved).host,
            Host::Tcp("b.example.com".into())
        );
    }

    #[test]
    fn a_missing_or_malformed_service_is_an_error_naming_it() {
        // The case of the issue: this used to connect to localhost:5432.
        let e = err("postgres:///?service=x", &Fake::new());
        assert!(e.contains("service \"x\" not found"), "{e}");
        assert!(e.contains("/home/ana/.pg_service.conf"), "{e}");
        assert!(err("", &Fake::new().var("PGSERVICE", "nope")).contains("\"nope\" not found"));

        let sys = Fake::new().file(
            "/home/ana/.pg_service.conf",
            0o644,
            "[a]\nhost=x\nkeepalives=1\n[b]\nservice=a\n[c]\nfrobnicate=1\n[d]\nnot a pair\n",
        );
        let e = err("service=a", &sys);
        assert!(
            e.contains("keepalives") && e.contains("service a of /home/ana/.pg_service.conf"),
            "{e}"
        );
        assert!(err("service=b", &sys).contains("nested service"));
        assert!(err("service=c", &sys).contains("unknown connection parameter \"frobnicate\""));
        assert!(err("service=d", &sys).contains("line 9"));
    }

    #[test]
    fn anything_not_understood_is_an_error_naming_it() {
        let sys = Fake::new();
        for (spec, named) in [
            ("postgres://h/db?frobnicate=1", "\"frobnicate\""),
            ("postgres://h/db?options=-c%20x%3D1", "options"),
            ("host=h keepalives=0", "keepalives"),
            ("postgres://a,b/db", "several hosts"),
            ("host=a,b", "several hosts"),
            ("postgres://h:5432,h:5433/db", "several hosts"),
            ("port=5432,5433", "several ports"),
            ("postgres://h:notaport/db", "invalid port \"notaport\""),
            ("postgres://h/db?sslmode=bogus", "invalid sslmode \"bogus\""),
            (
                "postgres://h/db?target_session_attrs=read-write",
                "target_session_attrs",
            ),
            ("postgres://h/db?ssl=false", "ssl"),
            (
                "postgres://h/db?sslrootcert=system&sslmode=require",
                "sslrootcert=system",
            ),
            ("postgres://h/db?connect_timeout=soon", "connect_timeout"),
            ("mysql://h/db", "mysql"),
            ("just-a-name", "malformed connection string"),
            ("postgres://u:p%zz@h/db", "percent-encoding"),
        ] {
            let e = err(spec, &sys);
            assert!(e.contains(named), "{spec}: {e}");
        }
        // Variables are checked as the string is, and named.
        let e = err("", &Fake::new().var("PGOPTIONS", "-c x=1"));
        assert!(e.contains("options (in PGOPTIONS)"), "{e}");
        let e = err("", &Fake::new().var("PGHOSTADDR", "10.0.0.1"));
        assert!(e.contains("hostaddr (in PGHOSTADDR)"), "{e}");
        // An empty value is no value.
        ok("options=", &Fake::new().var("PGOPTIONS", ""));
    }

    #[test]
    fn errors_never_quote_the_password() {
        for spec in [
            "postgres://u:hunter22@h:notaport/db",
            "postgres://u:hunter22@h/db?sslmode=bogus",
            "postgres://u:hunter22%@h/db",
            "host=h password=hunter22 frobnicate=1",
            "postgres://u:hunter22@h/db?sslpassword=hunter22",
        ] {
            let e = err(spec, &Fake::new());
            assert!(!e.contains("hunter22"), "{spec}: {e}");
        }
    }

    #[test]
    fn pgpass_as_libpq_reads_it() {
        let text = "\
# host:port:database:user:password
other:5432:*:*:nope
db.example.com:5432:prod:app:first:with\\:colons
*:*:*:app:fallback
localhost:5432:*:ana:local
/srv/pg:5432:*:*:socket\\\\pw
";
        assert_eq!(
            pgpass_lookup(text, "db.example.com", 5432, "prod", "app").as_deref(),
            Some("first:with:colons")
        );
        assert_eq!(
            pgpass_lookup(text, "db.example.com", 5432, "staging", "app").as_deref(),
            Some("fallback")
        );
        assert_eq!(
            pgpass_lookup(text, "db.example.com", 5432, "prod", "bob"),
            None
        );
        assert_eq!(
            pgpass_lookup(text, "/srv/pg", 5432, "x", "bob").as_deref(),
            Some("socket\\pw")
        );
        assert_eq!(pgpass_lookup("a\\*:*:*:*:pw", "ab", 5432, "d", "u"), None);

        let pgpass = "db.example.com:5432:prod:app:from-pgpass\nlocalhost:5432:*:ana:local-pw\n";
        let sys = Fake::new().file("/home/ana/.pgpass", 0o600, pgpass);
        let i = ok("postgres://app@db.example.com/prod", &sys);
        assert_eq!(i.password.as_deref(), Some("from-pgpass"));
        assert_eq!(
            i.password_origin,
            Some(Origin::Passfile("/home/ana/.pgpass".into()))
        );
        // A default socket counts as localhost; a given password wins.
        let sock = Fake::new()
            .file("/home/ana/.pgpass", 0o600, pgpass)
            .socket("/tmp/.s.PGSQL.5432");
        assert_eq!(ok("", &sock).password.as_deref(), Some("local-pw"));
        assert_eq!(
            ok("password=given", &sock).password.as_deref(),
            Some("given")
        );
        // PGPASSFILE moves it; a file others can read is not used, and said so.
        let moved =
            Fake::new()
                .var("PGPASSFILE", "/secrets/pgpass")
                .file("/secrets/pgpass", 0o600, pgpass);
        assert!(
            ok("host=db.example.com user=app dbname=prod", &moved)
                .password
                .is_some()
        );
        let open = Fake::new().file("/home/ana/.pgpass", 0o644, pgpass);
        let i = ok("postgres://app@db.example.com/prod", &open);
        assert_eq!(i.password, None);
        assert!(
            i.warnings[0].contains("group or world access"),
            "{:?}",
            i.warnings
        );
    }

    #[test]
    fn sslrootcert_system_and_the_default_root_file() {
        let i = ok("host=h sslrootcert=system", &Fake::new());
        assert_eq!((i.sslmode, i.sslrootcert), (SslMode::VerifyFull, None));
        let sys = Fake::new().file("/home/ana/.postgresql/root.crt", 0o644, "pem");
        assert_eq!(
            ok("host=h", &sys).sslrootcert,
            Some(PathBuf::from("/home/ana/.postgresql/root.crt"))
        );
    }

    #[test]
    fn password_detection_and_redaction() {
        assert!(has_password("postgres://u:pw@h/db"));
        assert!(has_password("host=h password=pw"));
        assert!(has_password("postgres://u@h/db?password=pw"));
        assert!(!has_password("postgres://u@h/db"));
        assert!(!has_password("service=prod"));
        assert_eq!(
            redact("postgres://u:s3cret@h:5432/db?sslmode=require").as_deref(),
            Some("postgres://u:********@h:5432/db?sslmode=require")
        );
        assert_eq!(
            redact("postgres://u@h/db?password=s3cret&sslmode=require").as_deref(),
            Some("postgres://u@h/db?password=********&sslmode=require")
        );
        assert_eq!(
            redact("host=h password='s3 cret' dbname=d").as_deref(),
            Some("host=h password=******** dbname=d")
        );
        assert_eq!(redact("service=prod").as_deref(), Some("service=prod"));
        assert_eq!(redact("host='unterminated"), None);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let i = ok("postgres://u:s3cret@h/db", &Fake::new());
        assert!(!format!("{i:?}").contains("s3cret"));
    }
}
