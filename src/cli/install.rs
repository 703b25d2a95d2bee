//! `creditdesk migrate [--check]` and `creditdesk doctor`: installing the
//! schema changes safely, and saying what is wrong with an installation.

use clap::Args;

use super::output::{self, Format};
use crate::db::install::{self, CheckReport, DoctorReport, Finding};
use crate::db::{self, Db};
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Write nothing: say which migrations would apply, whether the database
    /// is compatible, and what would be exposed (exit 0 when it would apply
    /// cleanly, 3 otherwise)
    #[arg(long)]
    pub check: bool,
}

pub async fn migrate(db: &Db, args: &MigrateArgs, format: Format) -> Result<()> {
    if args.check {
        let report = install::check(db).await?;
        print_check(format, &report)?;
        return if report.is_clean() {
            Ok(())
        } else {
            Err(Error::MigrationRefused(Box::new(report)))
        };
    }
    match db::migrate(db).await {
        Ok(done) => {
            let mut text = if done.applied.is_empty() {
                "the schema is up to date: nothing to apply".to_owned()
            } else {
                let mut t = format!("applied {} migration(s):", done.applied.len());
                for m in &done.applied {
                    t.push_str(&format!("\n  {m}"));
                }
                t
            };
            for index in &done.rebuilt_indexes {
                text.push_str(&format!(
                    "\nrebuilt the index {index}, left invalid by an interrupted build"
                ));
            }
            output::record(format, &done, &text)
        }
        Err(Error::MigrationRefused(report)) => {
            print_check(format, &report)?;
            Err(Error::MigrationRefused(report))
        }
        Err(e) => Err(e),
    }
}

fn print_check(format: Format, report: &CheckReport) -> Result<()> {
    let mut text = String::new();
    if report.pending.is_empty() {
        text.push_str("no migration to apply: the schema is up to date\n");
    } else {
        text.push_str(&format!(
            "would apply {} migration(s):\n",
            report.pending.len()
        ));
        for m in &report.pending {
            text.push_str(&format!("  {m}\n"));
        }
    }
    if !report.problems.is_empty() {
        text.push_str("\nproblems (migrate refuses, changing nothing):\n");
        for p in &report.problems {
            text.push_str(&finding("  ✗ ", p));
        }
    }
    if !report.notes.is_empty() {
        text.push_str("\nnotes:\n");
        for n in &report.notes {
            text.push_str(&finding("  - ", n));
        }
    }
    text.push_str(if report.is_clean() {
        "\nthe migrations would apply cleanly\n"
    } else {
        "\nthe migrations would not apply: fix the problems above first\n"
    });
    output::record(format, report, text.trim_end())
}

fn finding(bullet: &str, f: &Finding) -> String {
    let mut line = format!("{bullet}{}", f.message);
    if let Some(n) = f.count {
        line.push_str(&format!(" ({n})"));
    }
    if !f.examples.is_empty() {
        line.push_str(&format!(": {}", f.examples.join(", ")));
    }
    line.push('\n');
    if let Some(fix) = &f.fix {
        line.push_str(&format!("      fix: {fix}\n"));
    }
    line
}

#[derive(Debug, Args)]
pub struct DoctorArgs {}

pub async fn doctor(db: &Db, format: Format) -> Result<()> {
    let report = install::doctor(db).await?;
    print_doctor(format, &report)?;
    if report.is_clean() {
        Ok(())
    } else {
        Err(Error::Refused(crate::domain::Refusal::Other {
            message: format!(
                "doctor found {} problem(s) with this installation",
                report.findings.len()
            ),
        }))
    }
}

fn print_doctor(format: Format, report: &DoctorReport) -> Result<()> {
    let mut text = String::new();
    for f in &report.findings {
        text.push_str(&finding("✗ ", f));
    }
    for p in &report.passed {
        text.push_str(&format!("✓ {p}\n"));
    }
    text.push_str(if report.is_clean() {
        "all is well"
    } else {
        "see the fixes above"
    });
    output::record(format, report, &text)
}
