//! How commands print: a readable table by default, `--json` for the
//! records, `--csv` for lists. Text from the database may have been typed by
//! an app user, so none of it reaches the terminal as a control sequence:
//! tables and CSV show controls as U+FFFD and drop bidi overrides (as the
//! console does, [`sanitize`]), JSON escapes them (`\u001b`, `\u202e`), and
//! a table cell is cut with an ellipsis past [`MAX_CELL`] characters.

use std::borrow::Cow;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

use crate::domain::text::{is_bidi_control, sanitize, sanitize_cow, truncate_width};
use crate::error::{Error, Result};

/// The most characters a table cell shows; `--json` and `--csv` have all.
pub const MAX_CELL: usize = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// One value of a table: text, a time (read by people in a table, ISO 8601
/// with its zone in CSV), or nothing (`-` in a table, empty in CSV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Time(DateTime<Utc>),
    Missing,
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}

impl From<DateTime<Utc>> for Cell {
    fn from(t: DateTime<Utc>) -> Self {
        Cell::Time(t)
    }
}

impl Cell {
    /// The value, or [`Cell::Missing`].
    pub fn opt<T: Into<Cell> + Clone>(v: &Option<T>) -> Cell {
        v.clone().map_or(Cell::Missing, Into::into)
    }

    /// A number or anything else shown as it prints.
    pub fn show<T: std::fmt::Display>(v: T) -> Cell {
        Cell::Text(v.to_string())
    }

    /// [`Cell::show`] of the value, or [`Cell::Missing`].
    pub fn opt_show<T: std::fmt::Display>(v: &Option<T>) -> Cell {
        v.as_ref().map_or(Cell::Missing, Cell::show)
    }

    fn table_text(&self) -> Cow<'_, str> {
        match self {
            Cell::Text(s) => Cow::Borrowed(s),
            Cell::Time(t) => Cow::Owned(super::context::when(*t)),
            Cell::Missing => Cow::Borrowed("-"),
        }
    }

    fn csv_text(&self) -> Cow<'_, str> {
        match self {
            Cell::Text(s) => Cow::Borrowed(s),
            Cell::Time(t) => Cow::Owned(iso_time(*t)),
            Cell::Missing => Cow::Borrowed(""),
        }
    }
}

pub use crate::files::iso_time;

/// Which outputs show a column: a table may show a readable summary
/// (`user`: "12 ana@example.com") where CSV has one value per column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Both,
    Table,
    Csv,
}

/// A column in both outputs.
pub const fn both(name: &'static str) -> (&'static str, Shown) {
    (name, Shown::Both)
}

/// A column only people see.
pub const fn human(name: &'static str) -> (&'static str, Shown) {
    (name, Shown::Table)
}

/// A column only CSV has.
pub const fn csv(name: &'static str) -> (&'static str, Shown) {
    (name, Shown::Csv)
}

/// Rows of cells under headers.
#[derive(Debug, Default)]
pub struct Table {
    columns: Vec<(&'static str, Shown)>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Columns shown in both outputs.
    pub fn new(headers: &[&'static str]) -> Self {
        Self::with(&headers.iter().map(|h| both(h)).collect::<Vec<_>>())
    }

    /// Columns some of which only one output shows; each row has a cell
    /// for every column.
    pub fn with(columns: &[(&'static str, Shown)]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row<C: Into<Cell>>(&mut self, cells: impl IntoIterator<Item = C>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The indexes and names of the columns `format` shows.
    fn shown(&self, skip: Shown) -> Vec<(usize, &'static str)> {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, (_, shown))| *shown != skip)
            .map(|(i, (name, _))| (i, *name))
            .collect()
    }

    /// Aligned columns, each cell sanitised and cut to [`MAX_CELL`].
    pub fn render(&self) -> String {
        let columns = self.shown(Shown::Csv);
        let clean: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                columns
                    .iter()
                    .map(|(i, _)| {
                        let text = r.get(*i).map(Cell::table_text).unwrap_or_default();
                        truncate_width(&sanitize_cow(&text), MAX_CELL)
                    })
                    .collect()
            })
            .collect();
        let mut widths: Vec<usize> = columns.iter().map(|(_, h)| h.chars().count()).collect();
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
                .map(|(c, w)| {
                    // Padded by hand: a width in `format!` is at most u16::MAX.
                    let pad = w.saturating_sub(c.chars().count());
                    format!("{c}{}", " ".repeat(pad))
                })
                .collect();
            out.push_str(parts.join("  ").trim_end());
            out.push('\n');
        };
        line(&mut columns.iter().map(|(_, h)| *h), &mut out);
        for row in &clean {
            line(&mut row.iter().map(String::as_str), &mut out);
        }
        out
    }

    /// RFC 4180 CSV, one value per column, each cell sanitised and guarded
    /// against spreadsheet formulas ([`csv_cell`]).
    pub fn render_csv(&self) -> String {
        let columns = self.shown(Shown::Table);
        let mut out = String::new();
        let line = |cells: Vec<Cow<'_, str>>, out: &mut String| {
            let parts: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&parts.join(","));
            out.push_str("\r\n");
        };
        line(
            columns.iter().map(|(_, h)| Cow::Borrowed(*h)).collect(),
            &mut out,
        );
        for row in &self.rows {
            line(
                columns
                    .iter()
                    .map(|(i, _)| row.get(*i).map(Cell::csv_text).unwrap_or_default())
                    .collect(),
                &mut out,
            );
        }
        out
    }
}

pub use crate::files::csv_cell;

/// Prints a list in the chosen format.
pub fn list<T: Serialize>(format: Format, records: &T, table: &Table) -> Result<()> {
    match format {
        Format::Json => json(records),
        Format::Csv => write(&table.render_csv()),
        Format::Table if table.is_empty() => write("(none)\n"),
        Format::Table => write(&table.render()),
    }
}

/// Prints one record: JSON, or the given human text. (`--csv` is refused
/// before a command runs, see [`csv_refused`]; here too, to be sure.)
pub fn record<T: Serialize>(format: Format, record: &T, human: &str) -> Result<()> {
    match format {
        Format::Json => json(record),
        Format::Csv => Err(csv_refused("this command")),
        Format::Table => write(&sanitize_lines(human)),
    }
}

/// The usage error for `--csv` where there is no list.
pub fn csv_refused(what: &str) -> Error {
    Error::invalid(
        "csv",
        format!("--csv is for lists, and {what} prints one record: use --json"),
    )
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

/// Pretty JSON in which no string holds a raw control or bidi character.
pub fn json<T: Serialize>(value: &T) -> Result<()> {
    let mut text = to_json(value)?;
    text.push('\n');
    write(&text)
}

/// [`json`] as a string.
pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, SafeJson(PrettyFormatter::new()));
    value
        .serialize(&mut ser)
        .map_err(|e| Error::Infrastructure(format!("encoding JSON: {e}")))?;
    String::from_utf8(out).map_err(|e| Error::Infrastructure(format!("encoding JSON: {e}")))
}

/// serde_json escapes C0 controls but writes DEL, C1 controls (U+009B is a
/// CSI to some terminals), bidi controls and line separators as they are:
/// this escapes them too, as `\uXXXX`. Otherwise the pretty layout.
struct SafeJson<'a>(PrettyFormatter<'a>);

fn json_escaped(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

impl Formatter for SafeJson<'_> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some((i, c)) = rest.char_indices().find(|(_, c)| json_escaped(*c)) {
            writer.write_all(&rest.as_bytes()[..i])?;
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = &rest[i + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
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
    write_bytes(text.as_bytes())
}

/// [`write`] for what is not text of ours (a completion script, roff).
pub fn write_bytes(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
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
        t.row(["1", "a\x1b[31m@x.com\u{202e}"]);
        let text = t.render();
        assert!(
            !text.contains('\x1b') && !text.contains('\u{202e}'),
            "{text:?}"
        );
        assert!(text.contains("a\u{FFFD}[31m@x.com"), "{text:?}");
        assert!(text.starts_with("id  email"));
    }

    #[test]
    fn long_cells_are_cut_never_a_panic() {
        let huge = "é".repeat(1_000_000);
        let mut t = Table::new(&["id", "name"]);
        t.row(["1".to_owned(), huge.clone()]);
        let text = t.render();
        let line = text.lines().nth(1).expect("row");
        assert_eq!(line.chars().count(), "1   ".len() + MAX_CELL, "{line}");
        assert!(line.ends_with('…'));
        // CSV keeps it all.
        assert!(t.render_csv().contains(&huge));
    }

    #[test]
    fn columns_for_people_and_columns_for_csv() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-24T05:03:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let mut t = Table::with(&[
            both("id"),
            human("user"),
            csv("user_id"),
            csv("user_email"),
            both("when"),
            both("ended"),
        ]);
        t.row([
            Cell::show(7),
            Cell::from("12 ana@example.com"),
            Cell::show(12),
            Cell::from("ana@example.com"),
            Cell::Time(t0),
            Cell::Missing,
        ]);
        assert_eq!(
            t.render(),
            "id  user                when                 ended\n7   12 ana@example.com  2026-11-24 05:03:00  -\n"
        );
        assert_eq!(
            t.render_csv(),
            "id,user_id,user_email,when,ended\r\n7,12,ana@example.com,2026-11-24T05:03:00Z,\r\n"
        );
    }

    #[test]
    fn csv_quotes_defuses_formulas_and_controls() {
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_cell("  =SUM(A1)"), "'  =SUM(A1)");
        assert_eq!(csv_cell("@cmd"), "'@cmd");
        assert_eq!(csv_cell("\t=1+1"), "' =1+1");
        assert_eq!(csv_cell("\rcalc"), "' calc");
        assert_eq!(csv_cell("-5"), "-5");
        assert_eq!(csv_cell("+5.5"), "+5.5");
        assert_eq!(csv_cell("-"), "-", "an empty value, not a formula");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            csv_cell("bell\x07 esc\x1b]52;c;AAAA\x07"),
            "bell\u{FFFD} esc\u{FFFD}]52;c;AAAA\u{FFFD}"
        );
        assert_eq!(csv_cell("line\none"), "line one");
        assert_eq!(csv_cell("-50\u{202e}"), "-50");
    }

    #[test]
    fn json_escapes_every_control_and_bidi_character() {
        let nasty = "a\x1b[2Jb\x07c\u{7f}d\u{9b}e\u{202e}f\u{2066}g\u{2028}h\n\"";
        let text =
            to_json(&serde_json::json!({ "k\u{1b}": nasty, "list": [nasty] })).expect("json");
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && (c.is_control() || is_bidi_control(c) || c == '\u{2028}')),
            "{text:?}"
        );
        assert!(
            text.contains("\\u001b[2Jb\\u0007c\\u007fd\\u009be\\u202ef\\u2066g\\u2028h\\n\\\""),
            "{text}"
        );
        // Still JSON, still the same value.
        let back: serde_json::Value = serde_json::from_str(&text).expect("parses");
        assert_eq!(back["list"][0], nasty);
        assert_eq!(back["k\u{1b}"], nasty);
        // Pretty, as before.
        assert_eq!(
            to_json(&serde_json::json!({"a": [1]})).expect("json"),
            "{\n  \"a\": [\n    1\n  ]\n}"
        );
    }
}
