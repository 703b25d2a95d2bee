//! How commands print: a readable table by default, `--json` for the records,
//! `--csv` for lists. Text from the database is sanitised before it reaches
//! the terminal; JSON keeps it exact (it is escaped by construction).

use std::io::Write;

use serde::Serialize;

use crate::domain::text::sanitize;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Rows of text under headers.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Aligned columns, each cell sanitised.
    pub fn render(&self) -> String {
        let clean: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|c| sanitize(c)).collect())
            .collect();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &clean {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let mut out = String::new();
        let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
            let parts: Vec<String> = cells
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            out.push_str(parts.join("  ").trim_end());
            out.push('\n');
        };
        line(&mut self.headers.iter().copied(), &mut out);
        for row in &clean {
            line(&mut row.iter().map(String::as_str), &mut out);
        }
        out
    }

    /// RFC 4180 CSV; cells starting with = + - @ are prefixed with ' so a
    /// spreadsheet doesn't run them as formulas.
    pub fn render_csv(&self) -> String {
        let mut out = String::new();
        let line = |cells: Vec<&str>, out: &mut String| {
            let parts: Vec<String> = cells.into_iter().map(csv_cell).collect();
            out.push_str(&parts.join(","));
            out.push_str("\r\n");
        };
        line(self.headers.clone(), &mut out);
        for row in &self.rows {
            line(row.iter().map(String::as_str).collect(), &mut out);
        }
        out
    }
}

pub fn csv_cell(cell: &str) -> String {
    let looks_like_formula =
        cell.len() > 1 && cell.starts_with(['=', '+', '-', '@']) && cell.parse::<f64>().is_err();
    let guarded = if looks_like_formula {
        format!("'{cell}")
    } else {
        cell.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Prints a list in the chosen format.
pub fn list<T: Serialize>(format: Format, records: &T, table: &Table) -> Result<()> {
    match format {
        Format::Json => json(records),
        Format::Csv => write(&table.render_csv()),
        Format::Table if table.is_empty() => write("(none)\n"),
        Format::Table => write(&table.render()),
    }
}

/// Prints one record: JSON, or the given human text.
pub fn record<T: Serialize>(format: Format, record: &T, human: &str) -> Result<()> {
    match format {
        Format::Json => json(record),
        _ => write(&sanitize_lines(human)),
    }
}

/// A change stored as a request instead of applied: the record with
/// `--json`, then the error that makes the command exit 5.
pub fn pending(format: Format, request: &crate::db::PendingRequest) -> Result<()> {
    if format == Format::Json {
        json(request)?;
    }
    Err(Error::PendingApproval {
        id: request.id,
        summary: sanitize(&request.summary),
    })
}

pub fn json<T: Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Infrastructure(format!("encoding JSON: {e}")))?;
    write(&format!("{text}\n"))
}

/// Sanitises each line but keeps the line breaks.
pub fn sanitize_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(&sanitize(line));
        out.push('\n');
    }
    out
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn write(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Infrastructure(format!("writing output: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_and_sanitises() {
        let mut t = Table::new(&["id", "email"]);
        t.row(vec!["1".into(), "a\x1b[31m@x.com".into()]);
        let text = t.render();
        assert!(!text.contains('\x1b'));
        assert!(text.starts_with("id  email"));
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_cell("-5"), "-5");
        assert_eq!(csv_cell("-"), "-", "an empty value, not a formula");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
