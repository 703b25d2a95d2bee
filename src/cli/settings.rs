//! Everything the global options, the environment and the config file say,
//! resolved once into [`Settings`]: what the commands and the console use.
//!
//! Which profile, if any:
//! 1. `--profile NAME` (with `--database-url` too: a usage error);
//! 2. none when `--database-url` is given;
//! 3. `CREDITDESK_PROFILE` (a `DATABASE_URL` beside it is ignored, said so);
//! 4. none when `DATABASE_URL` is set;
//! 5. the config file's `default_profile`;
//! 6. none: the `PG*` variables say where, or it is an error.
//!
//! Then each setting, first that says wins:
//!
//! | setting        | flag                 | then                  | then                   | default |
//! |----------------|----------------------|-----------------------|------------------------|---------|
//! | connection     | `--database-url`     | profile               | `DATABASE_URL`, `PG*`  | error   |
//! | operator       | `--operator`         | `CREDITDESK_OPERATOR` | profile `operator`     | login name |
//! | label          | `--env-label`        | profile `env` (its name) | `CREDITDESK_ENV_LABEL` | none |
//! | frame colour   |                      | profile `colour`      | red for production     | none    |
//! | read-only      | `--read-only`/`--write` | profile `read_only` (production: true) |     | false   |
//! | pooler         | `--pooler`           | profile `pooler`      |                        | false   |
//! | timeouts       | `--lock-timeout` ... | profile               |                        | 5 s / 30 s |
//! | replica        | `--replica-url`      | profile `replica`     | `CREDITDESK_REPLICA_URL` (no profile) | none |
//!
//! A profile speaks for its environment, so what it says wins over the
//! process environment (a stale `CREDITDESK_ENV_LABEL=DEMO` can't relabel
//! production); the operator is who you are, not where, so
//! `CREDITDESK_OPERATOR` wins over a profile's default.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ratatui::style::Color;

use super::profile::{self, Checked, Config};
use crate::db::conninfo::{self, LOCATION_VARS, Sys};
use crate::db::{Mode, Target, Timeouts};
use crate::domain::operator::Operator;
use crate::error::{Error, Result};

/// The options every command takes, given anywhere on the command line.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// The database: a postgres:// URL, key=value pairs (host=... dbname=...)
    /// or service=NAME [env: DATABASE_URL; else PGHOST, PGSERVICE, ...]
    #[arg(long, global = true, value_name = "CONNECTION")]
    pub database_url: Option<String>,

    /// A profile of the config file, e.g. prod (see `creditdesk profiles`)
    /// [env: CREDITDESK_PROFILE]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// The config file [env: CREDITDESK_CONFIG; default:
    /// ~/.config/creditdesk/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Who is making changes, recorded on every change (default: the
    /// profile's operator, else your login name) [env: CREDITDESK_OPERATOR]
    #[arg(long, global = true, value_name = "NAME")]
    pub operator: Option<String>,

    /// Every transaction is read-only: every change is refused
    #[arg(long, global = true, conflicts_with = "write")]
    pub read_only: bool,

    /// Allow changes through a profile that is read-only by default
    /// (production)
    #[arg(long, global = true)]
    pub write: bool,

    /// A label for the environment shown in the console, e.g. PRODUCTION
    /// (default: the profile's) [env: CREDITDESK_ENV_LABEL]
    #[arg(long, global = true, value_name = "LABEL")]
    pub env_label: Option<String>,

    /// The connection goes through a transaction-mode pooler (PgBouncer,
    /// Supabase's port 6543)
    #[arg(long, global = true)]
    pub pooler: bool,

    /// A read replica for heavy reads: a URL, key=value pairs or
    /// service=NAME [env: CREDITDESK_REPLICA_URL]
    #[arg(long, global = true, value_name = "CONNECTION")]
    pub replica_url: Option<String>,

    /// How long a change waits for a row another session holds, e.g. 5s
    /// (default 5s)
    #[arg(long, global = true, value_name = "DURATION")]
    pub lock_timeout: Option<String>,

    /// How long any one statement may run, e.g. 30s (default 30s)
    #[arg(long, global = true, value_name = "DURATION")]
    pub statement_timeout: Option<String>,
}

/// Where and how to connect, and how to present it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Target,
    pub mode: Mode,
    /// The operator name given (flag, environment, profile); without one,
    /// the database login once connected.
    pub operator: Option<Operator>,
    pub env_label: Option<String>,
    pub frame_colour: Option<Color>,
    /// For the reads that may go to a replica (not yet routed).
    pub replica: Option<Target>,
    /// The profile used, if any.
    pub profile: Option<String>,
    /// Read-only because the profile is, not because `--read-only` said so:
    /// a refused change says `--write` would allow it.
    pub read_only_by_profile: bool,
    /// `--write` on a profile that is read-only by default: the console asks
    /// again before the first change.
    pub confirm_first_change: bool,
    /// To print on stderr before anything else.
    pub warnings: Vec<String>,
}

/// Where the connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Flag,
    Profile,
    Environment,
}

impl Settings {
    /// Resolves the global options against the machine `sys` describes.
    pub fn resolve(flags: &GlobalArgs, sys: &dyn Sys) -> Result<Settings> {
        let mut warnings = Vec::new();
        let config = Config::load(flags.config.as_deref(), sys)?;
        if let Some(w) = config.as_ref().and_then(|c| c.permission_warning(sys)) {
            warnings.push(w);
        }
        let database_url = sys.var("DATABASE_URL");
        let profile = select_profile(flags, config.as_ref(), sys, database_url.as_deref())?;
        if let (Some((name, _)), Some(_)) = (&profile, &database_url)
            && flags.database_url.is_none()
        {
            warnings.push(format!(
                "DATABASE_URL is ignored: profile {name} says where to connect"
            ));
        }
        let checked = profile.as_ref().map(|(_, c)| c);

        let (spec, source) = match (&flags.database_url, checked, &database_url) {
            (Some(url), _, _) => (url.clone(), Source::Flag),
            (None, Some(p), _) => (p.connection.clone(), Source::Profile),
            (None, None, Some(url)) => (url.clone(), Source::Environment),
            (None, None, None) => {
                if !LOCATION_VARS.iter().any(|v| sys.var(v).is_some()) {
                    return Err(Error::invalid(
                        "database-url",
                        "no database given: pass --database-url or --profile, set DATABASE_URL, \
                         or PGHOST or PGSERVICE (see creditdesk profiles)",
                    ));
                }
                (String::new(), Source::Environment)
            }
        };
        if source == Source::Flag && conninfo::has_password(&spec) {
            warnings.push(password_warning("--database-url"));
        }

        let operator = operator(flags, checked, sys)?;
        let target = Target::resolve(&spec, sys)?.named_for(operator.as_ref());
        warnings.extend(target.warnings().iter().cloned());

        let replica_spec = match (&flags.replica_url, source) {
            (Some(url), _) => {
                if conninfo::has_password(url) {
                    warnings.push(password_warning("--replica-url"));
                }
                Some(url.clone())
            }
            (None, Source::Profile) => checked.and_then(|p| p.replica.clone()),
            (None, Source::Environment) => sys.var("CREDITDESK_REPLICA_URL"),
            (None, Source::Flag) => None,
        };
        let replica = replica_spec
            .map(|spec| {
                Target::resolve(&spec, sys)
                    .map(|t| t.named_for(operator.as_ref()))
                    .map_err(|e| Error::invalid("replica", format!("the replica: {e}")))
            })
            .transpose()?;

        let env_label = flags
            .env_label
            .clone()
            .or_else(|| checked.map(|p| p.label.clone()))
            .or_else(|| sys.var("CREDITDESK_ENV_LABEL"))
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty());
        let frame_colour = match checked {
            Some(p) => p.colour,
            None => env_label
                .as_deref()
                .filter(|l| profile::is_production(l))
                .map(|_| Color::Red),
        };

        let profile_read_only = checked.is_some_and(|p| p.read_only);
        let read_only = flags.read_only || (profile_read_only && !flags.write);
        let defaults = Timeouts::default();
        let flag_timeout = |field, v: &Option<String>| {
            v.as_deref().map(|s| profile::timeout(field, s)).transpose()
        };
        let timeouts = Timeouts {
            lock: pick(
                flag_timeout("lock-timeout", &flags.lock_timeout)?,
                checked.and_then(|p| p.lock_timeout),
                defaults.lock,
            ),
            statement: pick(
                flag_timeout("statement-timeout", &flags.statement_timeout)?,
                checked.and_then(|p| p.statement_timeout),
                defaults.statement,
            ),
        };
        let mode = Mode {
            pooled: flags.pooler || checked.is_some_and(|p| p.pooler),
            read_only,
            timeouts,
        };
        Ok(Settings {
            target,
            mode,
            operator,
            env_label,
            frame_colour,
            replica,
            profile: profile.map(|(name, _)| name),
            read_only_by_profile: read_only && !flags.read_only,
            confirm_first_change: profile_read_only && flags.write,
            warnings,
        })
    }

    /// The database as the settings say, with the replica for heavy reads
    /// when there is one (`max_connections` each).
    pub async fn connect(&self, max_connections: u32) -> Result<crate::db::Db> {
        let db = self.target.connect(self.mode, max_connections).await?;
        Ok(match &self.replica {
            Some(replica) => {
                let mode = Mode {
                    read_only: true,
                    ..self.mode
                };
                let replica = replica
                    .connect(mode, max_connections)
                    .await
                    .map_err(|e| Error::Infrastructure(format!("the replica: {e}")))?;
                db.with_replica(replica.pool().clone())
            }
            None => db,
        })
    }

    /// What a refused change adds when `--write` would have allowed it.
    pub fn read_only_hint(&self) -> Option<String> {
        let profile = self.profile.as_deref()?;
        self.read_only_by_profile
            .then(|| format!("profile {profile} is read-only by default: add --write to change it"))
    }
}

fn pick(flag: Option<Duration>, profile: Option<Duration>, default: Duration) -> Duration {
    flag.or(profile).unwrap_or(default)
}

fn password_warning(flag: &str) -> String {
    format!(
        "the password in {flag} is visible to every user of this machine (ps): \
         keep it in ~/.pgpass, PGPASSWORD or a service file instead"
    )
}

/// The profile to use, by the rules in the module docs, with its values
/// checked.
fn select_profile(
    flags: &GlobalArgs,
    config: Option<&Config>,
    sys: &dyn Sys,
    database_url: Option<&str>,
) -> Result<Option<(String, Checked)>> {
    let name = match (&flags.profile, &flags.database_url) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "profile",
                "--profile and --database-url both say where to connect: give one",
            ));
        }
        (Some(name), None) => Some(name.clone()),
        (None, Some(_)) => None,
        (None, None) => match (sys.var("CREDITDESK_PROFILE"), database_url) {
            (Some(name), _) => Some(name),
            (None, Some(_)) => None,
            (None, None) => config.and_then(|c| c.file.default_profile.clone()),
        },
    };
    let Some(name) = name else { return Ok(None) };
    let Some(config) = config else {
        let place = profile::config_path(flags.config.as_deref(), sys)
            .map(|(p, _)| p.display().to_string())
            .unwrap_or_else(|| "~/.config/creditdesk/config.toml".to_owned());
        return Err(Error::invalid(
            "profile",
            format!("{name:?} asked for, but there is no config file at {place}"),
        ));
    };
    let checked = config.profile(&name)?.check(&name)?;
    Ok(Some((name, checked)))
}

/// `--operator`, `CREDITDESK_OPERATOR`, the profile's; `None` when none
/// says (the database login is the operator then). An empty
/// `CREDITDESK_OPERATOR` says nothing; an empty `--operator` is an error.
pub(super) fn operator(
    flags: &GlobalArgs,
    profile: Option<&Checked>,
    sys: &dyn Sys,
) -> Result<Option<Operator>> {
    let name = flags
        .operator
        .clone()
        .or_else(|| {
            sys.var("CREDITDESK_OPERATOR")
                .filter(|s| !s.trim().is_empty())
        })
        .or_else(|| profile.and_then(|p| p.operator.clone()));
    Ok(name.as_deref().map(Operator::parse).transpose()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::conninfo::fake::Fake;

    const CONFIG: &str = "/home/ana/.config/creditdesk/config.toml";

    fn prod_config() -> &'static str {
        r#"
[profiles.prod]
connection = "postgres://app@prod.example.com/db"
env = "PRODUCTION"
operator = "profile-op"
pooler = true
replica = "postgres://app@replica.example.com/db"
lock_timeout = "2s"
statement_timeout = "20s"

[profiles.staging]
connection = "postgres://app@staging.example.com/db"
"#
    }

    fn machine() -> Fake {
        Fake::new().file(CONFIG, 0o600, prod_config())
    }

    fn flags() -> GlobalArgs {
        GlobalArgs::default()
    }

    fn resolve(flags: &GlobalArgs, sys: &Fake) -> Settings {
        Settings::resolve(flags, sys).unwrap_or_else(|e| panic!("{flags:?}: {e}"))
    }

    fn host(s: &Settings) -> String {
        s.target.to_string()
    }

    /// --database-url, --profile, CREDITDESK_PROFILE, DATABASE_URL, a
    /// default_profile -> the host used, the profile used.
    type Case = (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        bool,
        &'static str,
        Option<&'static str>,
    );

    #[test]
    fn which_connection_every_way() {
        let flag_url = "postgres://app@flag.example.com/db";
        let env_url = "postgres://app@env.example.com/db";
        let with_default = Fake::new().file(
            CONFIG,
            0o600,
            &format!("default_profile = \"staging\"\n{}", prod_config()),
        );
        let cases: [Case; 12] = [
            (Some(flag_url), None, None, None, false, "flag", None),
            (
                Some(flag_url),
                None,
                Some("prod"),
                Some(env_url),
                true,
                "flag",
                None,
            ),
            (None, Some("prod"), None, None, false, "prod", Some("prod")),
            (
                None,
                Some("prod"),
                Some("staging"),
                Some(env_url),
                true,
                "prod",
                Some("prod"),
            ),
            (None, None, Some("prod"), None, false, "prod", Some("prod")),
            (
                None,
                None,
                Some("prod"),
                Some(env_url),
                true,
                "prod",
                Some("prod"),
            ),
            (None, None, None, Some(env_url), false, "env", None),
            (None, None, None, Some(env_url), true, "env", None),
            (None, None, None, None, true, "staging", Some("staging")),
            (
                Some(flag_url),
                None,
                None,
                Some(env_url),
                false,
                "flag",
                None,
            ),
            (Some(flag_url), None, None, None, true, "flag", None),
            (
                None,
                Some("staging"),
                None,
                None,
                true,
                "staging",
                Some("staging"),
            ),
        ];
        for (flag, profile_flag, profile_env, db_env, default, want, want_profile) in cases {
            let mut sys = if default {
                with_default.clone()
            } else {
                machine()
            };
            if let Some(p) = profile_env {
                sys = sys.var("CREDITDESK_PROFILE", p);
            }
            if let Some(u) = db_env {
                sys = sys.var("DATABASE_URL", u);
            }
            let f = GlobalArgs {
                database_url: flag.map(str::to_owned),
                profile: profile_flag.map(str::to_owned),
                ..flags()
            };
            let s = resolve(&f, &sys);
            let case = format!("{flag:?} {profile_flag:?} {profile_env:?} {db_env:?} {default}");
            assert!(
                host(&s).starts_with(&format!("{want}.example.com")),
                "{case}: {}",
                host(&s)
            );
            assert_eq!(s.profile.as_deref(), want_profile, "{case}");
            let ignored = s
                .warnings
                .iter()
                .any(|w| w.contains("DATABASE_URL is ignored"));
            assert_eq!(
                ignored,
                db_env.is_some() && want_profile.is_some(),
                "{case}"
            );
        }
    }

    #[test]
    fn which_connection_when_nothing_or_too_much_is_said() {
        let e = Settings::resolve(&flags(), &Fake::new()).expect_err("nothing");
        assert!(e.to_string().contains("no database given"), "{e}");
        // PG* variables alone say where.
        let s = resolve(&flags(), &Fake::new().var("PGHOST", "pg.example.com"));
        assert!(host(&s).starts_with("pg.example.com:5432/"), "{}", host(&s));
        // ...and fill in what a profile's connection leaves out, as in libpq.
        let s = resolve(
            &GlobalArgs {
                profile: Some("prod".into()),
                ..flags()
            },
            &machine().var("PGPORT", "6543"),
        );
        assert_eq!(host(&s), "prod.example.com:6543/db");

        let both = GlobalArgs {
            profile: Some("prod".into()),
            database_url: Some("host=h".into()),
            ..flags()
        };
        assert!(Settings::resolve(&both, &machine()).is_err());
        let e = Settings::resolve(
            &GlobalArgs {
                profile: Some("qa".into()),
                ..flags()
            },
            &machine(),
        )
        .expect_err("unknown");
        assert!(e.to_string().contains("no profile \"qa\""), "{e}");
        let e = Settings::resolve(
            &GlobalArgs {
                profile: Some("qa".into()),
                ..flags()
            },
            &Fake::new(),
        )
        .expect_err("no file");
        assert!(
            e.to_string()
                .contains("no config file at /home/ana/.config/creditdesk/config.toml"),
            "{e}"
        );
        let e = Settings::resolve(
            &GlobalArgs {
                profile: Some("prod".into()),
                config: Some("/elsewhere.toml".into()),
                ..flags()
            },
            &machine(),
        )
        .expect_err("--config names a missing file");
        assert!(e.to_string().contains("/elsewhere.toml"), "{e}");
        let moved = Fake::new()
            .file("/etc/cd.toml", 0o600, prod_config())
            .var("CREDITDESK_CONFIG", "/etc/cd.toml");
        let s = resolve(
            &GlobalArgs {
                profile: Some("prod".into()),
                ..flags()
            },
            &moved,
        );
        assert_eq!(s.profile.as_deref(), Some("prod"));
    }

    #[test]
    fn operator_flag_then_environment_then_profile_then_none() {
        let prod = || GlobalArgs {
            profile: Some("prod".into()),
            ..flags()
        };
        let staging = || GlobalArgs {
            profile: Some("staging".into()),
            ..flags()
        };
        let with = |flag: Option<&str>, f: GlobalArgs| GlobalArgs {
            operator: flag.map(str::to_owned),
            ..f
        };
        let env = machine()
            .var("CREDITDESK_OPERATOR", "env-op")
            .var("USER", "user-op");
        let no_env = machine().var("USER", "user-op");
        for (f, sys, want) in [
            (with(Some("flag-op"), prod()), &env, "flag-op"),
            (with(Some("flag-op"), staging()), &no_env, "flag-op"),
            (with(None, prod()), &env, "env-op"),
            (with(None, staging()), &env, "env-op"),
            (with(None, prod()), &no_env, "profile-op"),
            // Neither the Unix login nor anything else: the database login
            // is the operator once connected.
            (with(None, staging()), &no_env, ""),
            (with(None, staging()), &machine(), ""),
        ] {
            let got = resolve(&f, sys).operator;
            assert_eq!(got.as_ref().map_or("", |o| o.as_str()), want, "{f:?}");
        }
        let s = resolve(&prod(), &no_env);
        assert_eq!(
            s.target.application_name(),
            Some(format!("creditdesk/{} (profile-op)", env!("CARGO_PKG_VERSION")).as_str())
        );
    }

    #[test]
    fn label_and_colour_flag_then_profile_then_environment() {
        let env = machine().var("CREDITDESK_ENV_LABEL", "ENV");
        let url = || Some("host=h".to_owned());
        for (label_flag, profile, sys, want, colour) in [
            (
                Some("FLAG"),
                Some("prod"),
                &env,
                Some("FLAG"),
                Some(Color::Red),
            ),
            (Some("FLAG"), None, &env, Some("FLAG"), None),
            (
                None,
                Some("prod"),
                &env,
                Some("PRODUCTION"),
                Some(Color::Red),
            ),
            (None, Some("staging"), &env, Some("staging"), None),
            (None, None, &env, Some("ENV"), None),
            (None, None, &machine(), None, None),
            (
                Some("production"),
                None,
                &machine(),
                Some("production"),
                Some(Color::Red),
            ),
        ] {
            let f = GlobalArgs {
                env_label: label_flag.map(str::to_owned),
                database_url: if profile.is_none() { url() } else { None },
                profile: profile.map(str::to_owned),
                ..flags()
            };
            let s = resolve(&f, sys);
            assert_eq!(s.env_label.as_deref(), want, "{f:?}");
            assert_eq!(s.frame_colour, colour, "{f:?}");
        }
    }

    #[test]
    fn read_only_by_flag_then_profile_then_default() {
        let prod = Some("prod");
        let staging = Some("staging");
        // (profile, --read-only, --write) -> read_only, by profile, confirm first change
        for (profile, read_only, write, want, by_profile, confirm) in [
            (prod, false, false, true, true, false),
            (prod, true, false, true, false, false),
            (prod, false, true, false, false, true),
            (staging, false, false, false, false, false),
            (staging, true, false, true, false, false),
            (staging, false, true, false, false, false),
            (None, false, false, false, false, false),
            (None, true, false, true, false, false),
            (None, false, true, false, false, false),
        ] {
            let f = GlobalArgs {
                database_url: if profile.is_none() {
                    Some("host=h".into())
                } else {
                    None
                },
                profile: profile.map(str::to_owned),
                read_only,
                write,
                ..flags()
            };
            let s = resolve(&f, &machine());
            assert_eq!(s.mode.read_only, want, "{f:?}");
            assert_eq!(s.read_only_by_profile, by_profile, "{f:?}");
            assert_eq!(s.confirm_first_change, confirm, "{f:?}");
            assert_eq!(s.read_only_hint().is_some(), by_profile, "{f:?}");
        }
        // An explicit read_only in the profile is the default either way.
        let sys = Fake::new().file(
            CONFIG,
            0o600,
            "[profiles.p]\nconnection = \"host=h\"\nenv = \"PRODUCTION\"\nread_only = false\n\
             [profiles.q]\nconnection = \"host=h\"\nread_only = true\n",
        );
        let p = resolve(
            &GlobalArgs {
                profile: Some("p".into()),
                ..flags()
            },
            &sys,
        );
        assert!(!p.mode.read_only);
        let q = resolve(
            &GlobalArgs {
                profile: Some("q".into()),
                ..flags()
            },
            &sys,
        );
        assert!(q.mode.read_only && q.read_only_by_profile);
    }

    #[test]
    fn pooler_timeouts_and_replica_flag_then_profile_then_default() {
        let prod = || GlobalArgs {
            profile: Some("prod".into()),
            ..flags()
        };
        let staging = || GlobalArgs {
            profile: Some("staging".into()),
            ..flags()
        };
        let env_replica = machine().var("CREDITDESK_REPLICA_URL", "host=env-replica.example.com");

        assert!(resolve(&prod(), &machine()).mode.pooled);
        assert!(!resolve(&staging(), &machine()).mode.pooled);
        assert!(
            resolve(
                &GlobalArgs {
                    pooler: true,
                    ..staging()
                },
                &machine()
            )
            .mode
            .pooled
        );

        let t = resolve(&prod(), &machine()).mode.timeouts;
        assert_eq!(
            (t.lock, t.statement),
            (Duration::from_secs(2), Duration::from_secs(20))
        );
        let t = resolve(&staging(), &machine()).mode.timeouts;
        assert_eq!(t, Timeouts::default());
        let f = GlobalArgs {
            lock_timeout: Some("1s".into()),
            statement_timeout: Some("1m".into()),
            ..prod()
        };
        let t = resolve(&f, &machine()).mode.timeouts;
        assert_eq!(
            (t.lock, t.statement),
            (Duration::from_secs(1), Duration::from_secs(60))
        );
        let bad = GlobalArgs {
            lock_timeout: Some("soon".into()),
            ..prod()
        };
        assert!(Settings::resolve(&bad, &machine()).is_err());

        let replica = |f: GlobalArgs, sys: &Fake| resolve(&f, sys).replica.map(|t| t.to_string());
        let flag = || Some("host=flag-replica.example.com".to_owned());
        let starts = |r: Option<String>, want: &str| r.is_some_and(|r| r.starts_with(want));
        assert!(starts(
            replica(
                GlobalArgs {
                    replica_url: flag(),
                    ..prod()
                },
                &env_replica
            ),
            "flag-replica"
        ));
        assert!(starts(replica(prod(), &env_replica), "replica.example.com"));
        assert_eq!(
            replica(staging(), &env_replica),
            None,
            "a profile without one has none"
        );
        let by_env = GlobalArgs { ..flags() };
        assert!(starts(
            replica(by_env, &env_replica.clone().var("DATABASE_URL", "host=h")),
            "env-replica"
        ));
        let by_flag = GlobalArgs {
            database_url: Some("host=h".into()),
            ..flags()
        };
        assert_eq!(
            replica(by_flag, &env_replica),
            None,
            "the environment's replica is not the flag's"
        );
        let bad = GlobalArgs {
            replica_url: Some("host='x".into()),
            ..prod()
        };
        let e = Settings::resolve(&bad, &machine()).expect_err("bad replica");
        assert!(e.to_string().contains("replica"), "{e}");
    }

    #[test]
    fn passwords_on_the_command_line_are_warned_about() {
        let warned = |f: GlobalArgs, sys: &Fake| {
            resolve(&f, sys)
                .warnings
                .iter()
                .any(|w| w.contains("visible to every user"))
        };
        let pw = Some("postgres://u:pw@h/db".to_owned());
        assert!(warned(
            GlobalArgs {
                database_url: pw.clone(),
                ..flags()
            },
            &machine()
        ));
        assert!(warned(
            GlobalArgs {
                profile: Some("prod".into()),
                replica_url: pw.clone(),
                ..flags()
            },
            &machine()
        ));
        assert!(!warned(
            flags(),
            &machine().var("DATABASE_URL", "postgres://u:pw@h/db")
        ));
        assert!(!warned(
            GlobalArgs {
                database_url: Some("host=h".into()),
                ..flags()
            },
            &machine()
        ));
    }
}
