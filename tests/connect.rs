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

#[tokio::test]
async fn bad_urls_unreachable_servers_and_wrong_passwords_fail_in_one_line() {
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
