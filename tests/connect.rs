//! Connecting as production does: TLS (`sslmode=require` and `verify-full`
//! against a certificate from a private CA), password authentication, and a
//! one-line error with a non-zero exit, never a panic or a password, when the
//! URL is malformed, the server unreachable or the password wrong.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use creditdesk::db::{Mode, Target};
use creditdesk::pg_local::{self, Durability, LocalServer, PgBinaries};
use creditdesk::testing::{CliRun, assert_one_line, run_cli};

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs (it ships with PostgreSQL's ssl-cert dependency)");
    assert!(
        status.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// A CA, and a server certificate for `localhost` signed by it.
fn make_certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=creditdesk test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").expect("ext file");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A throwaway server on TCP with TLS and password authentication for TCP
/// (the socket stays trusted so we can create the role). Returns the port and
/// the CA file.
fn tls_server() -> (u16, std::path::PathBuf) {
    let dir = pg_local::throwaway_dir("creditdesk-tls").expect("dir");
    let server = LocalServer::new(
        PgBinaries::find().expect("binaries"),
        &dir,
        Durability::Throwaway,
    );
    server
        .remove_when_process_exits(std::process::id())
        .expect("watchdog");
    server.init_if_needed().expect("initdb");
    let certs = dir.join("certs");
    std::fs::create_dir(&certs).expect("certs dir");
    make_certificates(&certs);
    let hba = dir.join("data").join("pg_hba.conf");
    std::fs::write(
        &hba,
        "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
    )
    .expect("pg_hba.conf");
    for f in [
        certs.join("server.key"),
        certs.join("server.crt"),
        certs.join("ca.pem"),
        hba,
    ] {
        server.give_to_server_user(&f).expect("chown");
    }
    let port = free_port();
    server
        .start_with(&format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
            certs.display()
        ))
        .expect("server with TLS");
    (port, certs.join("ca.pem"))
}

#[tokio::test]
async fn connects_with_require_and_verify_full_and_refuses_an_unknown_ca() {
    let (port, ca) = tls_server();

    for url in [
        format!("postgres://postgres@localhost:{port}/postgres?sslmode=require"),
        format!(
            "postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}",
            ca.display()
        ),
    ] {
        let pool = Target::parse(&url)
            .expect("url")
            .connect(Mode::default(), 1)
            .await
            .expect(&url);
        let ssl: bool =
            sqlx::query_scalar("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
                .fetch_one(pool.pool())
                .await
                .expect("pg_stat_ssl");
        assert!(ssl, "{url} is encrypted");
        pool.pool().close().await;
    }

    // verify-full with the system roots does not trust our private CA.
    let url = format!("postgres://postgres:s3cretpw@localhost:{port}/postgres?sslmode=verify-full");
    let err = Target::parse(&url)
        .expect("url")
        .connect(Mode::default(), 1)
        .await
        .expect_err("an untrusted certificate is refused");
    let message = err.to_string();
    assert_eq!(err.exit_code(), 4);
    assert!(
        !message.contains('\n') && !message.contains("s3cretpw"),
        "{message}"
    );
    assert!(
        message.contains(&format!("localhost:{port}/postgres")),
        "{message}"
    );
}

/// Runs the real binary against the database at `url`.
fn creditdesk(url: &str, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), url, "test", args)
}

/// [`tls_server`] with a role `app` whose password is right-horse-battery.
async fn server_with_app_role() -> (u16, std::path::PathBuf) {
    let (port, ca) = tls_server();
    let admin = Target::parse(&format!(
        "postgres://postgres@localhost:{port}/postgres?sslmode=require"
    ))
    .expect("url")
    .connect(Mode::default(), 1)
    .await
    .expect("admin");
    sqlx::raw_sql("create role app login password 'right-horse-battery'")
        .execute(admin.pool())
        .await
        .expect("role");
    admin.pool().close().await;
    (port, ca)
}

#[tokio::test]
async fn bad_urls_unreachable_servers_and_wrong_passwords_fail_in_one_line() {
    let (port, ca) = server_with_app_role().await;
    let good = format!(
        "postgres://app:right-horse-battery@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}",
        ca.display()
    );
    let CliRun { code, stderr, .. } = creditdesk(&good, &["users", "find", "x"]);
    // Authenticated; then refused because this database has no schema.
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("no creditdesk schema yet: run `creditdesk migrate`"),
        "{stderr}"
    );

    let cases = [
        (
            good.replace("right-horse-battery", "wrong-horse-battery"),
            4,
            "wrong-horse-battery",
        ),
        (
            format!(
                "postgres://app:pw-unreachable@localhost:{}/postgres",
                free_port()
            ),
            4,
            "pw-unreachable",
        ),
        (
            "postgres://app:pw-malformed@localhost:notaport/db".to_owned(),
            2,
            "pw-malformed",
        ),
        (
            "mysql://app:pw-scheme@localhost/db".to_owned(),
            2,
            "pw-scheme",
        ),
        ("".to_owned(), 2, "\u{0}"),
    ];
    for (url, expected, password) in cases {
        let CliRun { code, stderr, .. } = creditdesk(&url, &["credits", "verify"]);
        assert_eq!(code, expected, "{url}: {stderr}");
        assert_one_line(&stderr, &url);
        assert!(!stderr.contains(password), "the password leaked: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// Runs the real binary in a clean environment: only `PATH`, `HOME` (an
/// empty directory unless given) and what `env` sets, so the machine's own
/// `PG*` variables, `~/.pgpass` or service files can't leak in.
fn creditdesk_with(env: &[(&str, &str)], args: &[&str]) -> CliRun {
    let home = pg_local::throwaway_dir("creditdesk-home").expect("home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_creditdesk"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("CREDITDESK_OPERATOR", "test")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run creditdesk");
    let _ = std::fs::remove_dir_all(&home);
    CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Authenticated: the query ran (and failed, this database has no schema).
#[track_caller]
/// Logged in, then refused because this database has no creditdesk schema.
fn assert_authenticated(run: &CliRun, context: &str) {
    assert_eq!(run.code, 3, "{context}: {}", run.stderr);
    assert!(
        run.stderr.contains("no creditdesk schema yet") && !run.stderr.contains("authentication"),
        "{context}: {}",
        run.stderr
    );
}

fn private_file(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// libpq's ways in: `PG*` variables, key=value strings, service files and
/// `.pgpass`; what isn't understood is refused by name; a password on the
/// command line is warned about; connections carry the operator's name.
#[tokio::test]
async fn connects_as_libpq_does() {
    let (port, ca) = server_with_app_role().await;
    let port_s = port.to_string();
    let ca_s = ca.display().to_string();
    let dir = pg_local::throwaway_dir("creditdesk-libpq").expect("dir");

    // PG* variables alone, TLS verified against PGSSLROOTCERT.
    let pg_env = [
        ("PGHOST", "localhost"),
        ("PGPORT", port_s.as_str()),
        ("PGUSER", "app"),
        ("PGDATABASE", "postgres"),
        ("PGPASSWORD", "right-horse-battery"),
        ("PGSSLMODE", "verify-full"),
        ("PGSSLROOTCERT", ca_s.as_str()),
    ];
    let run = creditdesk_with(&pg_env, &["credits", "verify"]);
    assert_authenticated(&run, "PG* variables");
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    // verify-full really verifies: without our CA the certificate is refused.
    let run = creditdesk_with(&pg_env[..6], &["credits", "verify"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(!run.stderr.contains("relation"), "{}", run.stderr);

    // A key=value string in DATABASE_URL, the password from PGPASSWORD.
    let conninfo = format!("host=localhost port={port} user=app dbname=postgres sslmode=require");
    let run = creditdesk_with(
        &[
            ("DATABASE_URL", conninfo.as_str()),
            ("PGPASSWORD", "right-horse-battery"),
        ],
        &["credits", "verify"],
    );
    assert_authenticated(&run, "key=value");

    // ~/.pgpass, or PGPASSFILE: used when 0600, refused with a warning
    // when others can read it.
    let line = format!("localhost:{port}:postgres:app:right-horse-battery\n");
    let home = dir.join("home");
    std::fs::create_dir(&home).expect("home");
    private_file(&home.join(".pgpass"), &line, 0o600);
    let url = format!("postgres://app@localhost:{port}/postgres?sslmode=require");
    let home_s = home.display().to_string();
    let run = creditdesk_with(
        &[("DATABASE_URL", url.as_str()), ("HOME", home_s.as_str())],
        &["credits", "verify"],
    );
    assert_authenticated(&run, "~/.pgpass");
    let pgpass = dir.join("pgpass");
    private_file(&pgpass, &line, 0o600);
    let pgpass_s = pgpass.display().to_string();
    let with_pgpass = [
        ("DATABASE_URL", url.as_str()),
        ("PGPASSFILE", pgpass_s.as_str()),
    ];
    assert_authenticated(
        &creditdesk_with(&with_pgpass, &["credits", "verify"]),
        ".pgpass",
    );
    private_file(&pgpass, &line, 0o644);
    let run = creditdesk_with(&with_pgpass, &["credits", "verify"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr.contains("group or world access"),
        "{}",
        run.stderr
    );

    // A service file, named by service= in a URL or a string, or PGSERVICE.
    let services = dir.join("services.conf");
    private_file(
        &services,
        &format!(
            "[prod]\nhost=localhost\nport={port}\nuser=app\ndbname=postgres\nsslmode=verify-full\nsslrootcert={ca_s}\n"
        ),
        0o600,
    );
    let services_s = services.display().to_string();
    for (how, extra) in [
        ("DATABASE_URL", "postgres:///?service=prod"),
        ("DATABASE_URL", "service=prod"),
        ("PGSERVICE", "prod"),
    ] {
        let run = creditdesk_with(
            &[
                ("PGSERVICEFILE", services_s.as_str()),
                ("PGPASSWORD", "right-horse-battery"),
                (how, extra),
            ],
            &["credits", "verify"],
        );
        assert_authenticated(&run, extra);
    }

    // What isn't understood is an error that names it, before connecting.
    for (spec, named) in [
        ("postgres:///?service=x", "service \"x\" not found"),
        ("postgres://localhost/db?keepalives=0", "keepalives"),
        ("postgres://localhost/db?frobnicate=1", "frobnicate"),
        ("host=localhost dbname", "missing \"=\""),
    ] {
        let run = creditdesk_with(&[("DATABASE_URL", spec)], &["credits", "verify"]);
        assert_eq!(run.code, 2, "{spec}: {}", run.stderr);
        assert_one_line(&run.stderr, spec);
        assert!(run.stderr.contains(named), "{spec}: {}", run.stderr);
    }
    let run = creditdesk_with(&[], &["credits", "verify"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no database given"), "{}", run.stderr);

    // A password on the command line: warned about, once, on stderr.
    let with_password =
        format!("postgres://app:right-horse-battery@localhost:{port}/postgres?sslmode=require");
    let run = creditdesk_with(
        &[],
        &["--database-url", &with_password, "credits", "verify"],
    );
    assert_authenticated(&run, "--database-url");
    let warning = run
        .stderr
        .lines()
        .find(|l| l.contains("warning"))
        .unwrap_or_else(|| panic!("no warning: {}", run.stderr));
    assert!(
        warning.contains("--database-url")
            && warning.contains(".pgpass")
            && warning.contains("PGPASSWORD")
            && warning.contains("service file")
            && !warning.contains("right-horse-battery"),
        "{warning}"
    );
    // ...but not when it comes from the environment, which `ps` doesn't show.
    let run = creditdesk_with(&[("DATABASE_URL", &with_password)], &["credits", "verify"]);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);

    // pg_stat_activity says who is connected.
    let op = creditdesk::domain::operator::Operator::parse("ana").expect("operator");
    let db = Target::parse(&with_password)
        .expect("url")
        .named_for(Some(&op))
        .connect(Mode::default(), 1)
        .await
        .expect("connect");
    let name: String = sqlx::query_scalar(
        "select application_name from pg_stat_activity where pid = pg_backend_pid()",
    )
    .fetch_one(db.pool())
    .await
    .expect("pg_stat_activity");
    assert_eq!(
        name,
        format!("creditdesk/{} (ana)", env!("CARGO_PKG_VERSION"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
