//! Before and after installing: `migrate --check` (what would happen, and
//! whether it is safe, on the database at hand; it writes nothing) and
//! `doctor` (what is wrong with an installed one, and how to fix it).
//!
//! Both read only the catalog and a few counts, in a read-only transaction,
//! with runtime queries: the objects they look at may not exist yet.

use serde::Serialize;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};

use super::migrate::{MIGRATIONS_TABLE, MIGRATOR, Step};
use super::{Db, infra};
use crate::error::Result;

/// One thing found, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable, for scripts: `uuid_user_id`, `exposed_to_api`, ...
    pub code: &'static str,
    pub message: String,
    /// How many rows or objects, when it is a count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// A few of them (ids, names).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            count: None,
            examples: Vec::new(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    fn counted(mut self, count: i64, examples: Vec<String>) -> Self {
        self.count = Some(count);
        self.examples = examples;
        self
    }

    /// No finding when `found` is empty; else one that lists (the first
    /// ten of) them.
    fn listing(code: &'static str, message: &str, found: Vec<String>, fix: &str) -> Vec<Finding> {
        if found.is_empty() {
            return Vec::new();
        }
        let count = found.len() as i64;
        let examples = found.into_iter().take(10).collect();
        vec![
            Finding::new(code, message)
                .counted(count, examples)
                .fix(fix),
        ]
    }
}

/// What `migrate --check` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Migrations that would apply, in order.
    pub pending: Vec<Step>,
    /// Why migrating would be unsafe or impossible: `migrate` refuses.
    pub problems: Vec<Finding>,
    /// Worth knowing; nothing to stop for.
    pub notes: Vec<Finding>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// `migrate --check`: in a read-only transaction, so nothing can be written.
pub async fn check(db: &Db) -> Result<CheckReport> {
    let mut conn = db.pool().acquire().await.map_err(infra)?;
    check_on(&mut conn).await
}

/// The check on a connection of the caller's (the migration runner's).
pub(super) async fn check_on(conn: &mut PgConnection) -> Result<CheckReport> {
    let mut tx = conn
        .begin_with("begin isolation level repeatable read read only")
        .await
        .map_err(infra)?;
    let mut report = CheckReport::default();
    let applied = applied(&mut tx).await?;
    report.pending = MIGRATOR
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(Step::from)
        .collect();
    legacy_install(&mut tx, &applied, &mut report).await?;
    if !report.pending.is_empty() {
        base_tables(&mut tx, &mut report).await?;
        tool_tables_in_the_way(&mut tx, &applied, &mut report).await?;
        privileges(&mut tx, &mut report).await?;
    }
    data_notes(&mut tx, &mut report).await?;
    exposure_notes(&mut tx, &mut report).await?;
    tx.commit().await.map_err(infra)?;
    Ok(report)
}

async fn applied(conn: &mut PgConnection) -> Result<Vec<i64>> {
    let exists: bool = sqlx::query_scalar(AssertSqlSafe(format!(
        "select to_regclass('{MIGRATIONS_TABLE}') is not null"
    )))
    .fetch_one(&mut *conn)
    .await
    .map_err(infra)?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(AssertSqlSafe(format!(
        "select version from {MIGRATIONS_TABLE} where success order by version"
    )))
    .fetch_all(conn)
    .await
    .map_err(infra)
}

async fn scalar_bool(conn: &mut PgConnection, sql: &str) -> Result<bool> {
    sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
        .fetch_one(conn)
        .await
        .map_err(infra)
}

/// The first creditdesk kept its bookkeeping in public with migrations that
/// tightened the app's tables; they were replaced, so such a database can't
/// be upgraded in place.
async fn legacy_install(
    conn: &mut PgConnection,
    applied: &[i64],
    report: &mut CheckReport,
) -> Result<()> {
    if applied.is_empty()
        && scalar_bool(
            conn,
            "select to_regclass('public._sqlx_migrations') is not null",
        )
        .await?
        && scalar_bool(
            conn,
            "select exists (select 1 from public._sqlx_migrations
                            where description in ('base tables', 'seed enums'))",
        )
        .await?
    {
        report.problems.push(
            Finding::new(
                "earlier_creditdesk",
                "this database was migrated by an earlier creditdesk (public._sqlx_migrations), \
                 whose migrations added constraints to the app's tables and were replaced",
            )
            .fix(
                "for a demo database, `creditdesk demo --reset`; for any other, restore it from \
                 before that install or drop what it created, then `creditdesk migrate`",
            ),
        );
    }
    Ok(())
}

/// A column the tool reads from an app table, and the types it accepts.
struct Needed {
    table: &'static str,
    column: &'static str,
    types: &'static [&'static str],
}

const INTEGER: &[&str] = &["integer"];
const TEXT: &[&str] = &["text", "character varying", "citext"];
const TIMESTAMPTZ: &[&str] = &["timestamp with time zone"];

const NEEDED: &[Needed] = &[
    Needed {
        table: "users",
        column: "id",
        types: INTEGER,
    },
    Needed {
        table: "users",
        column: "email",
        types: TEXT,
    },
    Needed {
        table: "users",
        column: "name",
        types: TEXT,
    },
    Needed {
        table: "users",
        column: "credits",
        types: INTEGER,
    },
    Needed {
        table: "users",
        column: "createdAt",
        types: TIMESTAMPTZ,
    },
    Needed {
        table: "credit_packs",
        column: "id",
        types: INTEGER,
    },
    Needed {
        table: "credit_packs",
        column: "name",
        types: TEXT,
    },
    Needed {
        table: "credit_packs",
        column: "credits",
        types: INTEGER,
    },
    Needed {
        table: "credit_packs",
        column: "price",
        types: &["numeric"],
    },
    Needed {
        table: "credit_packs",
        column: "isActive",
        types: &["boolean"],
    },
    Needed {
        table: "models",
        column: "id",
        types: INTEGER,
    },
    Needed {
        table: "models",
        column: "userId",
        types: INTEGER,
    },
    Needed {
        table: "models",
        column: "name",
        types: TEXT,
    },
    Needed {
        table: "models",
        column: "status",
        types: TEXT,
    },
    Needed {
        table: "example_images",
        column: "id",
        types: INTEGER,
    },
    Needed {
        table: "photos",
        column: "id",
        types: INTEGER,
    },
    Needed {
        table: "photos",
        column: "userId",
        types: INTEGER,
    },
    Needed {
        table: "photos",
        column: "modelId",
        types: INTEGER,
    },
    Needed {
        table: "photos",
        column: "imageUrl",
        types: TEXT,
    },
    Needed {
        table: "photos",
        column: "createdAt",
        types: TIMESTAMPTZ,
    },
    Needed {
        table: "transactions",
        column: "id",
        types: INTEGER,
    },
];

/// The columns the migrations add to the app's tables, with their types: an
/// existing column of that name must already have that type.
const ADDED: &[(&str, &str, &str)] = &[
    ("models", "gender", "text"),
    ("models", "previewImageUrl", "text"),
    ("models", "trainingCreditsUsed", "integer"),
    ("models", "imagesCount", "integer"),
    ("photos", "creditsUsed", "integer"),
    ("photos", "aspectRatio", "text"),
    ("photos", "glasses", "text"),
    ("photos", "hairColor", "text"),
    ("photos", "hairStyle", "text"),
    ("photos", "backgrounds", "jsonb"),
    ("photos", "styles", "jsonb"),
    ("photos", "referenceImageId", "integer"),
    ("photos", "downloadCount", "integer"),
    ("photos", "isFavorite", "boolean"),
    ("photos", "generationBatchId", "integer"),
    ("transactions", "couponId", "integer"),
    ("transactions", "giftCardId", "integer"),
    ("transactions", "creditsAwarded", "integer"),
];

const BASE_TABLES: &[&str] = &[
    "users",
    "credit_packs",
    "models",
    "example_images",
    "photos",
    "transactions",
];

/// The app's tables: present ones must have what the tool reads, with the
/// types it expects; the migrating role must be able to add columns and keys
/// (own them) and see their rows (own them or bypass row level security).
async fn base_tables(conn: &mut PgConnection, report: &mut CheckReport) -> Result<()> {
    let rows = sqlx::query(
        "select c.relname, r.rolname as owner, c.relrowsecurity,
                pg_has_role(current_user, c.relowner, 'USAGE') as owned,
                (select rolbypassrls or rolsuper from pg_roles where rolname = current_user) as bypass
         from pg_class c join pg_roles r on r.oid = c.relowner
         where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
           and c.relname = any($1)",
    )
    .bind(BASE_TABLES)
    .fetch_all(&mut *conn)
    .await
    .map_err(infra)?;
    let present: Vec<String> = rows.iter().map(|r| r.get::<String, _>("relname")).collect();
    let missing: Vec<&str> = BASE_TABLES
        .iter()
        .copied()
        .filter(|t| !present.iter().any(|p| p == t))
        .collect();
    if !missing.is_empty() {
        report.notes.push(Finding::new(
            "base_tables_created",
            format!(
                "the app's tables {} don't exist: they will be created, with the tool's rules \
                 (an empty database: the demo, tests)",
                missing.join(", ")
            ),
        ));
    }
    for row in &rows {
        let table: String = row.get("relname");
        let owner: String = row.get("owner");
        let owned: bool = row.get("owned");
        let rls: bool = row.get("relrowsecurity");
        let bypass: bool = row.get("bypass");
        if !owned && ["models", "photos", "transactions"].contains(&table.as_str()) {
            report.problems.push(
                Finding::new(
                    "not_owner",
                    format!(
                        "public.{table} belongs to {owner}: the migrations add columns to it, \
                         which only its owner may do"
                    ),
                )
                .fix(format!(
                    "run `creditdesk migrate` as {owner} (or a member of it)"
                )),
            );
        }
        if rls && !owned && !bypass {
            report.problems.push(
                Finding::new(
                    "rls_hides_rows",
                    format!(
                        "public.{table} has row level security and the migrating role neither \
                         owns it nor bypasses RLS: creditdesk's functions, which run as that \
                         role, would see none of its rows"
                    ),
                )
                .fix(format!(
                    "run `creditdesk migrate` as {owner}, the table's owner"
                )),
            );
        }
    }
    let columns = sqlx::query(
        "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) as type
         from pg_attribute a join pg_class c on c.oid = a.attrelid
         where c.relnamespace = 'public'::regnamespace and c.relname = any($1)
           and a.attnum > 0 and not a.attisdropped",
    )
    .bind(BASE_TABLES)
    .fetch_all(&mut *conn)
    .await
    .map_err(infra)?;
    let type_of = |table: &str, column: &str| -> Option<String> {
        columns
            .iter()
            .find(|r| {
                r.get::<String, _>("relname") == table && r.get::<String, _>("attname") == column
            })
            .map(|r| r.get::<String, _>("type"))
    };
    for n in NEEDED {
        if !present.iter().any(|p| p == n.table) {
            continue;
        }
        let wanted = n.types.join(" or ");
        match type_of(n.table, n.column) {
            None => report.problems.push(Finding::new(
                "missing_column",
                format!(
                    "public.{} has no column \"{}\" ({wanted}), which creditdesk reads",
                    n.table, n.column
                ),
            )),
            Some(t) if !n.types.iter().any(|w| t.starts_with(w)) => {
                let code = if n.column == "id" || n.column.ends_with("Id") {
                    "incompatible_id"
                } else {
                    "incompatible_column"
                };
                report.problems.push(Finding::new(
                    code,
                    format!(
                        "public.{}.\"{}\" is {t}; creditdesk needs {wanted} (the seed's keys \
                         reference it as an integer), so it can't be installed here",
                        n.table, n.column
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    for (table, column, wanted) in ADDED {
        if let Some(t) = type_of(table, column)
            && !t.starts_with(wanted)
        {
            report.problems.push(Finding::new(
                "column_clash",
                format!(
                    "public.{table} already has a column \"{column}\" of type {t}; the seed adds \
                     it as {wanted}"
                ),
            ));
        }
    }
    Ok(())
}

/// The tables and types the tool creates must not be there already, made by
/// something else: `create table if not exists` would keep a stranger's table.
async fn tool_tables_in_the_way(
    conn: &mut PgConnection,
    applied: &[i64],
    report: &mut CheckReport,
) -> Result<()> {
    // (table, the migration that creates it)
    const TOOL: &[(&str, i64)] = &[
        ("model_training_images", 4),
        ("photo_generation_batches", 4),
        ("coupons", 5),
        ("coupon_redemptions", 5),
        ("gift_cards", 5),
        ("credit_history", 6),
        ("admin_audit_log", 14),
    ];
    for (table, version) in TOOL {
        if applied.contains(version) {
            continue;
        }
        let exists: bool =
            sqlx::query_scalar("select to_regclass('public.' || quote_ident($1)) is not null")
                .bind(table)
                .fetch_one(&mut *conn)
                .await
                .map_err(infra)?;
        if exists {
            report.problems.push(
                Finding::new(
                    "table_exists",
                    format!(
                        "public.{table} already exists and was not created by creditdesk: the \
                         migrations would keep it as it is and then depend on its shape"
                    ),
                )
                .fix(format!("rename or drop public.{table} if it is not needed")),
            );
        }
    }
    Ok(())
}

async fn privileges(conn: &mut PgConnection, report: &mut CheckReport) -> Result<()> {
    let row = sqlx::query(
        "select has_database_privilege(current_database(), 'CREATE') as can_create,
                to_regnamespace('creditdesk') is not null as has_schema,
                exists (select 1 from pg_extension where extname = 'pg_trgm') as has_trgm,
                exists (select 1 from pg_available_extensions where name = 'pg_trgm') as trgm_available,
                (select rolcreaterole or rolsuper from pg_roles where rolname = current_user) as can_create_roles,
                current_user::text as me",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(infra)?;
    let me: String = row.get("me");
    let can_create: bool = row.get("can_create");
    let installed = row.get::<bool, _>("has_schema") && row.get::<bool, _>("has_trgm");
    if !can_create && !installed {
        report.problems.push(
            Finding::new(
                "no_create_privilege",
                format!(
                    "{me} may not create schemas or extensions in this database (CREATE on the \
                     database); the migrations create the creditdesk schema and pg_trgm"
                ),
            )
            .fix(format!(
                "grant create on database {{this database}} to {me}"
            )),
        );
    }
    if !row.get::<bool, _>("has_trgm") && !row.get::<bool, _>("trgm_available") {
        report.problems.push(
            Finding::new(
                "no_pg_trgm",
                "the pg_trgm extension is not available on this server (user search needs it)",
            )
            .fix("install PostgreSQL's contrib modules (Debian: part of postgresql)"),
        );
    }
    if !row.get::<bool, _>("can_create_roles") {
        report.notes.push(
            Finding::new(
                "no_createrole",
                format!(
                    "{me} may not create roles: the five creditdesk group roles won't be created \
                     by the migrations"
                ),
            )
            .fix(
                "`creditdesk doctor` prints the SQL for a DBA; then run `creditdesk migrate` again",
            ),
        );
    }
    Ok(())
}

/// Rows that the tool treats with care; none of them stops the install.
async fn data_notes(conn: &mut PgConnection, report: &mut CheckReport) -> Result<()> {
    if !scalar_bool(
        conn,
        "select to_regclass('public.users') is not null
           and exists (select 1 from pg_attribute where attrelid = to_regclass('public.users')
                       and attname = 'credits' and atttypid = 'int4'::regtype)
           and exists (select 1 from pg_attribute where attrelid = to_regclass('public.users')
                       and attname = 'id' and atttypid = 'int4'::regtype)
           and exists (select 1 from pg_attribute where attrelid = to_regclass('public.users')
                       and attname = 'email' and not attisdropped)",
    )
    .await?
    {
        return Ok(());
    }
    let queries: [(&'static str, &str, &str); 3] = [
        (
            "null_balances",
            "users with no balance (null credits): creditdesk counts them as 0",
            "select count(*) over (), id::text from public.users where credits is null order by id limit 5",
        ),
        (
            "negative_balances",
            "users with a negative balance: creditdesk books no debit that would take a balance \
             below zero",
            "select count(*) over (), id::text from public.users where credits < 0 order by id limit 5",
        ),
        (
            "shared_emails",
            "emails that name more than one user regardless of case: creditdesk asks for the id \
             instead of picking one",
            "select count(*) over (), string_agg(id::text, '/' order by id)
             from public.users group by lower(email) having count(*) > 1
             order by min(id) limit 5",
        ),
    ];
    for (code, message, sql) in queries {
        let rows = sqlx::query(AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut *conn)
            .await
            .map_err(infra)?;
        if let Some(first) = rows.first() {
            let count: i64 = first.get(0);
            let examples = rows.iter().map(|r| r.get::<String, _>(1)).collect();
            report
                .notes
                .push(Finding::new(code, message).counted(count, examples));
        }
    }
    Ok(())
}

/// Supabase's default privileges would give the API roles every new table;
/// the migrations revoke them. Anything of the tool's that is exposed now.
async fn exposure_notes(conn: &mut PgConnection, report: &mut CheckReport) -> Result<()> {
    let defaults: Vec<String> = sqlx::query_scalar(
        "select distinct g.rolname::text
         from pg_default_acl d, aclexplode(d.defaclacl) a, pg_roles g
         where d.defaclnamespace = 'public'::regnamespace and d.defaclobjtype = 'r'
           and pg_has_role(current_user, d.defaclrole, 'USAGE')
           and g.oid = a.grantee and g.rolname in ('anon', 'authenticated')
         order by 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(infra)?;
    if !defaults.is_empty() {
        report.notes.push(Finding::new(
            "api_default_privileges",
            format!(
                "new tables in public are granted to {} by default privileges (Supabase's Data \
                 API): the migrations revoke every privilege of theirs on what creditdesk \
                 creates and turn row level security on",
                defaults.join(" and ")
            ),
        ));
    }
    if scalar_bool(conn, "select to_regnamespace('creditdesk') is not null").await? {
        report.notes.extend(exposed_objects(conn).await?);
    }
    Ok(())
}

/// What `doctor` found on an installed database: empty when all is well.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DoctorReport {
    pub findings: Vec<Finding>,
    /// Checks that passed, for the human report.
    pub passed: Vec<&'static str>,
}

impl DoctorReport {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    fn check(&mut self, name: &'static str, found: Vec<Finding>) {
        if found.is_empty() {
            self.passed.push(name);
        } else {
            self.findings.extend(found);
        }
    }
}

/// The tables the tool owns in public (as `creditdesk.tool_tables()` lists
/// them, without calling it: operators may not).
pub const TOOL_TABLES: &[&str] = &[
    "model_training_images",
    "photo_generation_batches",
    "coupons",
    "coupon_redemptions",
    "gift_cards",
    "credit_history",
    "admin_audit_log",
];

/// `creditdesk doctor`: what is wrong with this installation and how to fix
/// it. Reads the catalog, the ledger and the audit chain; writes nothing.
pub async fn doctor(db: &Db) -> Result<DoctorReport> {
    let mut report = DoctorReport::default();
    let mut conn = db.pool().acquire().await.map_err(infra)?;
    let mut tx = conn
        .begin_with("begin isolation level repeatable read read only")
        .await
        .map_err(infra)?;
    if !scalar_bool(&mut tx, "select to_regnamespace('creditdesk') is not null").await? {
        report.findings.push(
            Finding::new("not_installed", "this database has no creditdesk schema yet")
                .fix("run `creditdesk migrate` (`creditdesk migrate --check` first says what it would do)"),
        );
        return Ok(report);
    }
    report.check("migrations", pending(&mut tx).await?);
    report.check("api exposure", exposed_objects(&mut tx).await?);
    report.check("row level security", rls_off(&mut tx).await?);
    report.check("pg_trgm", trgm_schema(&mut tx).await?);
    report.check("indexes", invalid_indexes(&mut tx).await?);
    report.check("constraints", not_validated(&mut tx).await?);
    report.check("group roles", missing_roles(&mut tx).await?);
    report.check("heavy ledgers", heavy_ledger_scan(&mut tx).await?);
    tx.commit().await.map_err(infra)?;
    drop(conn);
    let mismatches = super::credits::verify(db).await?;
    report.check(
        "ledger",
        if mismatches.is_empty() {
            Vec::new()
        } else {
            vec![
                Finding::new(
                    "ledger_mismatch",
                    "balances that differ from the sum of their ledger entries",
                )
                .counted(
                    mismatches.len() as i64,
                    mismatches.iter().take(5).map(|m| format!("user #{}", m.user_id)).collect(),
                )
                .fix("`creditdesk credits verify` lists them; book the difference with `credits adjust`"),
            ]
        },
    );
    let chain = super::audit::verify(db, None).await?;
    report.check(
        "audit chain",
        match &chain.first_bad {
            None => Vec::new(),
            Some(bad) => vec![
                Finding::new(
                    "audit_altered",
                    format!("the audit log was altered at row {}: {}", bad.seq, bad.problem),
                )
                .fix("compare with a saved digest (`creditdesk audit verify --digest SEQ:HASH`) and restore the log from a backup"),
            ],
        },
    );
    Ok(report)
}

async fn pending(conn: &mut PgConnection) -> Result<Vec<Finding>> {
    let readable = scalar_bool(
        conn,
        &format!("select has_table_privilege('{MIGRATIONS_TABLE}', 'SELECT')"),
    )
    .await?;
    if !readable {
        return Ok(Vec::new());
    }
    let applied = applied(conn).await?;
    let pending: Vec<String> = MIGRATOR
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| Step::from(m).to_string())
        .collect();
    Ok(Finding::listing(
        "pending_migrations",
        "migrations not applied yet",
        pending,
        "run `creditdesk migrate`",
    ))
}

async fn exposed_objects(conn: &mut PgConnection) -> Result<Vec<Finding>> {
    let rows = sqlx::query(
        "with objects as (
           select c.relnamespace::regnamespace::text || '.' || c.relname as name, c.relacl as acl,
                  c.relkind::text as kind, c.relowner as owner
           from pg_class c
           where (c.relnamespace = 'public'::regnamespace and c.relname = any($1))
              or (c.relnamespace = 'creditdesk'::regnamespace and c.relkind in ('r', 'v', 'm', 'S', 'p'))
              or c.oid in (select d.objid from pg_depend d join pg_class t on t.oid = d.refobjid
                           where t.relnamespace = 'public'::regnamespace and t.relname = any($1)
                             and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i')
                             and (select relkind from pg_class where oid = d.objid) = 'S')
           union all
           select 'creditdesk.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                  p.proacl, 'f', p.proowner
           from pg_proc p where p.pronamespace = 'creditdesk'::regnamespace
         )
         select o.name, string_agg(distinct case when a.grantee = 0 then 'PUBLIC' else r.rolname::text end, ', ')
         from objects o
         cross join lateral aclexplode(coalesce(o.acl, acldefault((case o.kind when 'f' then 'f' when 'S' then 's' else 'r' end)::\"char\", o.owner))) a
         left join pg_roles r on r.oid = a.grantee
         where (a.grantee = 0 or r.rolname in ('anon', 'authenticated'))
         group by o.name order by o.name",
    )
    .bind(TOOL_TABLES)
    .fetch_all(&mut *conn)
    .await
    .map_err(infra)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let examples: Vec<String> = rows
        .iter()
        .take(10)
        .map(|r| format!("{} ({})", r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect();
    Ok(vec![
        Finding::new(
            "exposed_to_api",
            "creditdesk objects that PUBLIC or the API roles (anon, authenticated) may use: the app's public key reaches them",
        )
        .counted(rows.len() as i64, examples)
        .fix("run `creditdesk migrate`, which revokes them; then find what granted them (a later `grant ... on all tables`?)"),
    ])
}

async fn rls_off(conn: &mut PgConnection) -> Result<Vec<Finding>> {
    let off: Vec<String> = sqlx::query_scalar(
        "select c.relnamespace::regnamespace::text || '.' || c.relname from pg_class c
         where c.relkind in ('r', 'p') and not c.relrowsecurity
           and ((c.relnamespace = 'public'::regnamespace and c.relname = any($1))
                or c.relnamespace = 'creditdesk'::regnamespace)
         order by 1",
    )
    .bind(TOOL_TABLES)
    .fetch_all(&mut *conn)
    .await
    .map_err(infra)?;
    Ok(Finding::listing(
        "rls_disabled",
        "creditdesk tables with row level security off",
        off,
        "run `creditdesk migrate`, which turns it on (the tool's functions don't need policies)",
    ))
}

async fn trgm_schema(conn: &mut PgConnection) -> Result<Vec<Finding>> {
    let row = sqlx::query(
        "select (select extnamespace::regnamespace::text from pg_extension where extname = 'pg_trgm'),
                to_regnamespace('extensions') is not null",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(infra)?;
    let schema: Option<String> = row.get(0);
    let has_extensions: bool = row.get(1);
    Ok(match schema {
        None => vec![
            Finding::new(
                "no_pg_trgm",
                "pg_trgm is not installed: user search by part of an email or name is slow",
            )
            .fix("run `creditdesk migrate`"),
        ],
        Some(s) if has_extensions && s != "extensions" => vec![
            Finding::new(
                "extension_schema",
                format!(
                    "pg_trgm is in the {s} schema; on Supabase extensions belong in `extensions`"
                ),
            )
            .fix("alter extension pg_trgm set schema extensions"),
        ],
        Some(_) => Vec::new(),
    })
}

/// Ledger entries written since `migrate` last looked for ledgers grown
/// heavy, above which doctor says to look again.
pub const LEDGER_SCAN_BEHIND: i64 = 1_000_000;

/// A ledger that grew past a few thousand entries after the last `migrate`
/// has no rollups yet: its overview and balances sum its rows again. Cheap to
/// tell (two ids), and mended by `migrate`, which looks again.
async fn heavy_ledger_scan(conn: &mut PgConnection) -> Result<Vec<Finding>> {
    let readable = scalar_bool(
        conn,
        "select to_regclass('creditdesk.ledger_scan') is not null
            and has_table_privilege('creditdesk.ledger_scan', 'SELECT')
            and has_table_privilege('public.credit_history', 'SELECT')",
    )
    .await?;
    if !readable {
        return Ok(Vec::new());
    }
    let behind: i64 = sqlx::query_scalar(
        r#"select coalesce((select max(id) from public.credit_history), 0)::bigint
                - coalesce((select "lastEntryId" from creditdesk.ledger_scan where id), 0)"#,
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(infra)?;
    if behind < LEDGER_SCAN_BEHIND {
        return Ok(Vec::new());
    }
    Ok(vec![
        Finding::new(
            "ledger_scan_behind",
            format!(
                "{behind} ledger entries were written since `migrate` last looked for ledgers \
                 grown heavy: one that grew since is summed row by row when opened (slower, \
                 still correct)"
            ),
        )
        .counted(behind, Vec::new())
        .fix("run `creditdesk migrate` (safe while the app runs; it tracks them)"),
    ])
}

async fn invalid_indexes(conn: &mut PgConnection) -> Result<Vec<Finding>> {
    let bad: Vec<String> = sqlx::query_scalar(
        "select c.relnamespace::regnamespace::text || '.' || c.relname
         from pg_index i join pg_class c on c.oid = i.indexrelid
         where not i.indisvalid
           and c.relnamespace in ('public'::regnamespace, 'creditdesk'::regnamespace)
         order by 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(infra)?;
    Ok(Finding::listing(
        "invalid_index",
        "indexes left invalid by an interrupted concurrent build",
        bad,
        "run `creditdesk migrate`, which builds creditdesk's again (others: REINDEX INDEX CONCURRENTLY)",
    ))
}

async fn not_validated(conn: &mut PgConnection) -> Result<Vec<Finding>> {
    let bad: Vec<String> = sqlx::query_scalar(
        "select c.relnamespace::regnamespace::text || '.' || c.relname || '.' || con.conname
         from pg_constraint con join pg_class c on c.oid = con.conrelid
         where not con.convalidated
           and con.connamespace in ('public'::regnamespace, 'creditdesk'::regnamespace)
         order by 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(infra)?;
    Ok(Finding::listing(
        "not_validated",
        "constraints added NOT VALID and not validated yet",
        bad,
        "run `creditdesk migrate`, or ALTER TABLE ... VALIDATE CONSTRAINT",
    ))
}

async fn missing_roles(conn: &mut PgConnection) -> Result<Vec<Finding>> {
    let missing: Vec<String> = sqlx::query_scalar(
        "select g from unnest(array['creditdesk_auditor', 'creditdesk_support', 'creditdesk_finance',
                                    'creditdesk_oncall', 'creditdesk_admin']) g
         where to_regrole(g) is null",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(infra)?;
    let sql: Vec<String> = missing
        .iter()
        .map(|g| format!("create role {g} nologin;"))
        .collect();
    Ok(Finding::listing(
        "roles_missing",
        "creditdesk's group roles are missing (the role that migrated may not create roles)",
        missing,
        &format!(
            "as a role with CREATEROLE: {} then run `creditdesk migrate` again to grant them",
            sql.join(" ")
        ),
    ))
}
