//! The config file: named profiles, one per environment, like psql's
//! services or k9s's contexts.
//!
//! ```toml
//! default_profile = "staging"          # when nothing else says where
//!
//! [profiles.prod]
//! connection = "service=prod"          # a URL, key=value pairs, or service=NAME
//! env = "PRODUCTION"                   # the label; production means read-only by default
//! colour = "red"                       # the console's frame (default red for production)
//! pooler = true                        # a transaction-mode pooler (Supabase port 6543)
//! operator = "ana"                     # the default operator
//! read_only = true                     # the default for production; --write overrides
//! replica = "service=prod-replica"     # heavy reads go there
//! lock_timeout = "5s"
//! statement_timeout = "30s"
//! ```
//!
//! `$XDG_CONFIG_HOME/creditdesk/config.toml` (else `~/.config/...`),
//! `CREDITDESK_CONFIG` or `--config FILE`. A key the file shouldn't have is
//! an error naming it; a profile's values are checked when it is used (and
//! by `creditdesk profiles`), so a typo in one doesn't lock out the others.

/// `creditdesk profiles --help`: the file, by example.
pub const HELP: &str = "\
The config file: $XDG_CONFIG_HOME/creditdesk/config.toml (else ~/.config/creditdesk/config.toml),
or CREDITDESK_CONFIG, or --config FILE. One [profiles.NAME] per environment:

  default_profile = \"staging\"          # used when nothing else says where to connect

  [profiles.prod]
  connection = \"service=prod\"          # a postgres:// URL, key=value pairs, or service=NAME
  env = \"PRODUCTION\"                   # the label (default: the name); production is read-only
  colour = \"red\"                       # the console's frame (production: red by default)
  pooler = true                        # a transaction-mode pooler (Supabase's port 6543)
  operator = \"ana\"                     # the default operator (CREDITDESK_OPERATOR wins)
  read_only = true                     # default: true for production; --write overrides
  replica = \"service=prod-replica\"     # a read replica for heavy reads
  lock_timeout = \"5s\"
  statement_timeout = \"30s\"

Pick one with --profile NAME or CREDITDESK_PROFILE. Keep passwords out of the file:
~/.pgpass, PGPASSWORD or a service file (~/.pg_service.conf) hold them.";

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use ratatui::style::Color;
use serde::{Deserialize, Serialize};

use crate::db::conninfo::{self, Sys};
use crate::domain::amounts::parse_duration;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The profile used when no flag or variable picks one and no
    /// DATABASE_URL is set.
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One environment, as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// A `postgres://` URL, `key=value` pairs or `service=NAME`.
    pub connection: Option<String>,
    /// Shorthand for `connection = "service=NAME"`.
    pub service: Option<String>,
    /// The environment's label (default: the profile's name).
    #[serde(alias = "env_label", alias = "label")]
    pub env: Option<String>,
    /// The console's frame colour: a name (`red`, `light-blue`), `#rrggbb`
    /// or a 256-colour index.
    #[serde(alias = "color")]
    pub colour: Option<String>,
    pub pooler: Option<bool>,
    pub operator: Option<String>,
    pub read_only: Option<bool>,
    pub replica: Option<String>,
    pub lock_timeout: Option<String>,
    pub statement_timeout: Option<String>,
}

/// A loaded config file and where it was.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub file: ConfigFile,
}

/// Where the config file is: `--config`, `CREDITDESK_CONFIG`, else the XDG
/// default. The flag says whether it was asked for (then it must exist).
pub fn config_path(flag: Option<&Path>, sys: &dyn Sys) -> Option<(PathBuf, bool)> {
    if let Some(path) = flag {
        return Some((path.to_path_buf(), true));
    }
    if let Some(path) = sys.var("CREDITDESK_CONFIG") {
        return Some((PathBuf::from(path), true));
    }
    let base = sys
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| sys.home_dir().map(|h| h.join(".config")))?;
    Some((base.join("creditdesk").join("config.toml"), false))
}

impl Config {
    /// Reads the config file; `None` when there is none at the default place.
    pub fn load(flag: Option<&Path>, sys: &dyn Sys) -> Result<Option<Config>> {
        let Some((path, asked)) = config_path(flag, sys) else {
            return Ok(None);
        };
        let text = match sys.read_file(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !asked => return Ok(None),
            Err(e) => {
                return Err(Error::invalid(
                    "config",
                    format!("cannot read the config file {}: {e}", path.display()),
                ));
            }
        };
        let file: ConfigFile = toml::from_str(&text).map_err(|e| {
            // toml's message spans lines (it quotes the line); one is enough.
            let first = e.message().lines().next().unwrap_or("malformed").to_owned();
            let line = e
                .span()
                .and_then(|s| text.get(..s.start))
                .map(|before| before.matches('\n').count() + 1);
            let at = line.map(|l| format!(" line {l}:")).unwrap_or_default();
            Error::invalid("config", format!("{}:{at} {first}", path.display()))
        })?;
        Ok(Some(Config { path, file }))
    }

    pub fn profile(&self, name: &str) -> Result<&Profile> {
        self.file.profiles.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.file.profiles.keys().map(String::as_str).collect();
            let known = if names.is_empty() {
                "it has none".to_owned()
            } else {
                format!("its profiles are {}", names.join(", "))
            };
            Error::invalid(
                "profile",
                format!("no profile {name:?} in {}: {known}", self.path.display()),
            )
        })
    }

    /// A warning when the file holds a password and others may read it.
    pub fn permission_warning(&self, sys: &dyn Sys) -> Option<String> {
        let mode = sys.file_mode(&self.path)?;
        let has_password = self.file.profiles.values().any(|p| {
            [&p.connection, &p.replica]
                .into_iter()
                .flatten()
                .any(|c| conninfo::has_password(c))
        });
        (has_password && mode & 0o077 != 0).then(|| {
            format!(
                "{} holds a password and others can read it: chmod 600 it, or keep the password in ~/.pgpass",
                self.path.display()
            )
        })
    }
}

/// A profile's values, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub connection: String,
    pub label: String,
    pub colour: Option<Color>,
    pub pooler: bool,
    pub operator: Option<String>,
    /// Read-only unless --write: `read_only`, else whether it is production.
    pub read_only: bool,
    pub replica: Option<String>,
    pub lock_timeout: Option<Duration>,
    pub statement_timeout: Option<Duration>,
}

impl Profile {
    /// Checks the values of profile `name`.
    pub fn check(&self, name: &str) -> Result<Checked> {
        let bad = |message: String| Error::invalid("config", format!("profile {name}: {message}"));
        let connection = match (&self.connection, &self.service) {
            (Some(c), None) => c.clone(),
            (None, Some(s)) => format!("service={s}"),
            (Some(_), Some(_)) => {
                return Err(bad("give connection or service, not both".into()));
            }
            (None, None) => return Err(bad("no connection: add connection = \"...\"".into())),
        };
        conninfo::parse(&connection).map_err(|e| bad(format!("connection: {e}")))?;
        if let Some(replica) = &self.replica {
            conninfo::parse(replica).map_err(|e| bad(format!("replica: {e}")))?;
        }
        let label = self
            .env
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .unwrap_or(name)
            .to_owned();
        let production = is_production(&label);
        let colour = match &self.colour {
            Some(c) => Some(Color::from_str(c).map_err(|_| {
                bad(format!(
                    "colour {c:?}: use a name like red or light-blue, #rrggbb, or 0 to 255"
                ))
            })?),
            None if production => Some(Color::Red),
            None => None,
        };
        let duration = |field: &'static str, v: &Option<String>| -> Result<Option<Duration>> {
            v.as_deref()
                .map(|s| timeout(field, s).map_err(|e| bad(e.to_string())))
                .transpose()
        };
        Ok(Checked {
            connection,
            label,
            colour,
            pooler: self.pooler.unwrap_or(false),
            operator: self.operator.clone(),
            read_only: self.read_only.unwrap_or(production),
            replica: self.replica.clone(),
            lock_timeout: duration("lock_timeout", &self.lock_timeout)?,
            statement_timeout: duration("statement_timeout", &self.statement_timeout)?,
        })
    }
}

/// `PRODUCTION`, `prod`, `production-eu`... (the console's badge uses the
/// same rule).
pub fn is_production(label: &str) -> bool {
    crate::tui::theme::is_production(label)
}

/// A timeout like `5s`, `2m`.
/// A timeout: a duration as elsewhere (`5s`, `2m`), or milliseconds
/// (`500ms`), as PostgreSQL's own settings take them.
pub fn timeout(field: &'static str, s: &str) -> Result<Duration> {
    if let Some(ms) = s.trim().strip_suffix("ms") {
        return match ms.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Duration::from_millis(n)),
            _ => Err(Error::invalid(
                field,
                "use a whole number and a unit, like 500ms or 5s",
            )),
        };
    }
    let d = parse_duration(field, s)?;
    d.to_std()
        .map_err(|_| Error::invalid(field, "must be longer than zero"))
}

/// A profile as `creditdesk profiles` lists it: never a password.
#[derive(Debug, Serialize)]
pub struct Listed {
    pub name: String,
    pub default: bool,
    pub env: Option<String>,
    pub read_only: Option<bool>,
    pub pooler: Option<bool>,
    pub operator: Option<String>,
    pub connection: String,
    pub replica: Option<String>,
    /// What is wrong with it, if anything.
    pub error: Option<String>,
}

impl Config {
    pub fn listed(&self) -> Vec<Listed> {
        let shown = |spec: &str| {
            conninfo::redact(spec).unwrap_or_else(|| "(malformed: password hidden)".to_owned())
        };
        self.file
            .profiles
            .iter()
            .map(|(name, p)| {
                let checked = p.check(name);
                let raw = p
                    .connection
                    .clone()
                    .or_else(|| p.service.as_ref().map(|s| format!("service={s}")))
                    .unwrap_or_default();
                Listed {
                    name: name.clone(),
                    default: self.file.default_profile.as_deref() == Some(name.as_str()),
                    env: checked.as_ref().ok().map(|c| c.label.clone()),
                    read_only: checked.as_ref().ok().map(|c| c.read_only),
                    pooler: checked.as_ref().ok().map(|c| c.pooler),
                    operator: p.operator.clone(),
                    connection: shown(&raw),
                    replica: p.replica.as_deref().map(shown),
                    error: checked.err().map(|e| e.to_string()),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::conninfo::fake::Fake;

    fn config(text: &str) -> Result<Option<Config>> {
        Config::load(
            None,
            &Fake::new().file("/home/ana/.config/creditdesk/config.toml", 0o600, text),
        )
    }

    #[test]
    fn the_file_is_found_where_xdg_and_the_flags_say() {
        let sys = Fake::new();
        assert_eq!(
            config_path(None, &sys),
            Some((
                PathBuf::from("/home/ana/.config/creditdesk/config.toml"),
                false
            ))
        );
        let xdg = Fake::new().var("XDG_CONFIG_HOME", "/xdg");
        assert_eq!(
            config_path(None, &xdg),
            Some((PathBuf::from("/xdg/creditdesk/config.toml"), false))
        );
        let env = xdg.var("CREDITDESK_CONFIG", "/etc/cd.toml");
        assert_eq!(
            config_path(None, &env),
            Some((PathBuf::from("/etc/cd.toml"), true))
        );
        assert_eq!(
            config_path(Some(Path::new("/flag.toml")), &env),
            Some((PathBuf::from("/flag.toml"), true))
        );
        // None at the default place is fine; one asked for must exist.
        assert!(Config::load(None, &sys).expect("no file").is_none());
        let e = Config::load(Some(Path::new("/nope.toml")), &sys).expect_err("missing");
        assert!(e.to_string().contains("/nope.toml"), "{e}");
    }

    #[test]
    fn profiles_with_their_defaults() {
        let c = config(
            r##"
default_profile = "staging"
[profiles.prod]
service = "prod"
env = "PRODUCTION"
pooler = true
[profiles.staging]
connection = "postgres://app@staging/db"
colour = "#336699"
operator = "ana"
lock_timeout = "2s"
[profiles.prod-writable]
connection = "host=prod"
env = "production"
read_only = false
colour = "yellow"
"##,
        )
        .expect("parses")
        .expect("found");
        let prod = c.profile("prod").expect("prod").check("prod").expect("ok");
        assert_eq!(prod.connection, "service=prod");
        assert_eq!(prod.label, "PRODUCTION");
        assert!(prod.read_only && prod.pooler);
        assert_eq!(prod.colour, Some(Color::Red));
        let staging = c
            .profile("staging")
            .expect("s")
            .check("staging")
            .expect("ok");
        assert_eq!(staging.label, "staging");
        assert!(!staging.read_only && !staging.pooler);
        assert_eq!(staging.colour, Some(Color::Rgb(0x33, 0x66, 0x99)));
        assert_eq!(staging.lock_timeout, Some(Duration::from_secs(2)));
        let w = c
            .profile("prod-writable")
            .expect("w")
            .check("prod-writable");
        let w = w.expect("ok");
        assert!(!w.read_only);
        assert_eq!(w.colour, Some(Color::Yellow));
        let e = c.profile("qa").expect_err("unknown");
        assert!(
            e.to_string().contains("prod, prod-writable, staging"),
            "{e}"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let e = config("[profiles.a]\nconection = \"x\"\n").expect_err("typo");
        assert!(e.to_string().contains("conection"), "{e}");
        assert!(e.to_string().contains("line 2"), "{e}");
        assert_eq!(e.to_string().lines().count(), 1, "{e}");
        let e = config("default_profile = [\n").expect_err("syntax");
        assert!(e.to_string().contains("config.toml"), "{e}");
        for (profile, named) in [
            ("colour = \"reddish\"\nconnection = \"host=h\"", "colour"),
            ("connection = \"host=h\"\nservice = \"s\"", "not both"),
            ("env = \"x\"", "no connection"),
            ("connection = \"mysql://x\"", "connection"),
            (
                "connection = \"host=h\"\nlock_timeout = \"soon\"",
                "lock_timeout",
            ),
            ("connection = \"host=h\"\nreplica = \"host='x\"", "replica"),
        ] {
            let c = config(&format!("[profiles.p]\n{profile}\n"))
                .expect("parses")
                .expect("found");
            let e = c.profile("p").expect("p").check("p").expect_err(profile);
            assert!(e.to_string().contains(named), "{profile}: {e}");
            assert!(e.to_string().contains("profile p"), "{e}");
        }
    }

    #[test]
    fn listing_never_shows_a_password() {
        let c = config(
            r#"
[profiles.a]
connection = "postgres://app:s3cret-pw@h/db"
replica = "host=r password=s3cret-pw"
[profiles.b]
connection = "host='broken password=s3cret-pw"
"#,
        )
        .expect("parses")
        .expect("found");
        let listed = c.listed();
        let text = format!("{listed:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert_eq!(listed[0].connection, "postgres://app:********@h/db");
        assert!(listed[1].error.is_some());
    }

    #[test]
    fn a_readable_file_with_a_password_is_warned_about() {
        let text = "[profiles.a]\nconnection = \"postgres://u:pw@h/db\"\n";
        for (mode, warned) in [(0o600, false), (0o644, true)] {
            let sys = Fake::new().file("/home/ana/.config/creditdesk/config.toml", mode, text);
            let c = Config::load(None, &sys).expect("ok").expect("found");
            assert_eq!(c.permission_warning(&sys).is_some(), warned, "{mode:o}");
        }
    }
}
