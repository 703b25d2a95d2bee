//! The file of `credits adjust-many`: CSV with a header, columns `user`,
//! `amount` and optionally `reason` and `idempotency_key`, one adjustment a
//! row. Parsed here without the database: every row gets its line number
//! (the header is line 1; a quoted field may span lines, and a row is
//! numbered by the line it starts on) and whatever is wrong with it on its
//! own. What needs the database (does the user exist, would the balance go
//! below zero, is this a duplicate of another row) is checked in
//! `db::bulk::adjust`.
//!
//! Each row is idempotent: its key is the `idempotency_key` column, or else
//! derived from the file's content and the row's line ([`derived_key`]), so
//! the same file run twice, or again after a run was cut short, books each
//! row once. An edited file is another file: give keys in the file to carry
//! them across edits.

use sha2::{Digest, Sha256};

use super::amounts::parse_credit_change;
use super::error::InvalidInput;
use super::text::check_free_text;
use super::user_ref::UserRef;

/// Larger files are refused before parsing.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// The most rows one file may have.
pub const MAX_ROWS: usize = 50_000;

/// The longest idempotency key (the database's limit).
pub const MAX_KEY_LEN: usize = 200;

/// The longest reason, per row.
pub const MAX_REASON_LEN: usize = 500;

/// One row as written in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    /// Where the row starts in the file; the header is line 1.
    pub line: usize,
    /// The `user` field as written (for messages and the dry run's listing).
    pub user_text: String,
    pub user: Option<UserRef>,
    pub amount: Option<i32>,
    /// The row's own reason, if its `reason` field is not empty.
    pub reason: Option<String>,
    /// The `idempotency_key` field, or the one derived from the file.
    pub key: String,
    /// True when the key was given in the file.
    pub key_given: bool,
    /// What is wrong with the row by itself (empty: nothing).
    pub problems: Vec<String>,
}

impl FileRow {
    pub fn is_well_formed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A parsed file: its digest (SHA-256 of its bytes, hex) and its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustFile {
    pub digest: String,
    pub has_key_column: bool,
    pub rows: Vec<FileRow>,
}

/// The key of a row without one of its own: the file's digest (its first
/// 32 hex digits, 128 bits) and the row's line.
pub fn derived_key(digest: &str, line: usize) -> String {
    format!("adjust-many:{}:{line}", &digest[..digest.len().min(32)])
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    User,
    Amount,
    Reason,
    Key,
}

fn column(name: &str) -> Option<Column> {
    match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
        "user" => Some(Column::User),
        "amount" => Some(Column::Amount),
        "reason" => Some(Column::Reason),
        "idempotency_key" => Some(Column::Key),
        _ => None,
    }
}

/// Parses the file. A file that can't be read as this CSV at all (not
/// UTF-8, no header, a column missing or unknown, too big) is an error for
/// the field `file`; a bad row is a row with problems.
pub fn parse(bytes: &[u8]) -> Result<AdjustFile, InvalidInput> {
    const F: &str = "file";
    if bytes.len() > MAX_FILE_BYTES {
        return Err(InvalidInput::new(
            F,
            format!("is larger than {} MB", MAX_FILE_BYTES / 1024 / 1024),
        ));
    }
    let digest = digest(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        InvalidInput::new(
            F,
            format!("is not UTF-8 text (at byte {})", e.valid_up_to()),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records =
        records(text).map_err(|(line, m)| InvalidInput::new(F, format!("line {line}: {m}")))?;
    records.retain(|r| !(r.fields.len() == 1 && r.fields[0].trim().is_empty()));
    let Some(header) = records.first() else {
        return Err(InvalidInput::new(
            F,
            "is empty: the first line is the header, user,amount",
        ));
    };
    let mut columns = Vec::with_capacity(header.fields.len());
    for name in &header.fields {
        let Some(c) = column(name) else {
            return Err(InvalidInput::new(
                F,
                format!(
                    "line {}: unknown column {:?}: the columns are user, amount, reason, idempotency_key",
                    header.line,
                    crate::domain::text::sanitize(name.trim())
                ),
            ));
        };
        if columns.contains(&c) {
            return Err(InvalidInput::new(
                F,
                format!(
                    "line {}: the column {} appears twice",
                    header.line,
                    name.trim()
                ),
            ));
        }
        columns.push(c);
    }
    for needed in [Column::User, Column::Amount] {
        if !columns.contains(&needed) {
            return Err(InvalidInput::new(
                F,
                "the header (line 1) must name the columns user and amount",
            ));
        }
    }
    if records.len() - 1 > MAX_ROWS {
        return Err(InvalidInput::new(
            F,
            format!("has more than {MAX_ROWS} rows"),
        ));
    }
    let has_key_column = columns.contains(&Column::Key);
    let rows = records[1..]
        .iter()
        .map(|r| row(r, &columns, &digest))
        .collect();
    Ok(AdjustFile {
        digest,
        has_key_column,
        rows,
    })
}

fn row(r: &Record, columns: &[Column], digest: &str) -> FileRow {
    let mut out = FileRow {
        line: r.line,
        user_text: String::new(),
        user: None,
        amount: None,
        reason: None,
        key: derived_key(digest, r.line),
        key_given: false,
        problems: Vec::new(),
    };
    if r.fields.len() != columns.len() {
        out.problems.push(format!(
            "has {} field{}, the header {}",
            r.fields.len(),
            if r.fields.len() == 1 { "" } else { "s" },
            columns.len()
        ));
    }
    for (c, value) in columns.iter().zip(&r.fields) {
        match c {
            Column::User => {
                out.user_text = value.trim().to_owned();
                match UserRef::parse(value) {
                    Ok(u) => out.user = Some(u),
                    Err(e) => out.problems.push(format!("user: {}", e.message)),
                }
            }
            Column::Amount => match parse_credit_change("amount", value) {
                Ok(a) => out.amount = Some(a),
                Err(e) => out.problems.push(format!("amount: {}", e.message)),
            },
            Column::Reason => match check_free_text("reason", value, MAX_REASON_LEN) {
                Ok(t) if t.is_empty() => {}
                Ok(t) => out.reason = Some(t),
                Err(e) => out.problems.push(format!("reason: {}", e.message)),
            },
            Column::Key => match check_free_text("idempotency_key", value, MAX_KEY_LEN) {
                Ok(t) if t.is_empty() => {}
                Ok(t) => {
                    out.key = t;
                    out.key_given = true;
                }
                Err(e) => out.problems.push(format!("idempotency_key: {}", e.message)),
            },
        }
    }
    out
}

struct Record {
    line: usize,
    fields: Vec<String>,
}

/// RFC 4180 records: fields separated by commas, optionally in double
/// quotes (`""` is a quote; a quoted field may hold commas and line
/// breaks), records ended by LF or CRLF. Errors name the line.
fn records(text: &str) -> Result<Vec<Record>, (usize, &'static str)> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut after_quote = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    return Err((start, "a quoted field is not closed"));
                }
                fields.push(std::mem::take(&mut field));
                break;
            };
            if quoted {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => {
                        quoted = false;
                        after_quote = true;
                    }
                    '\n' => {
                        line += 1;
                        field.push(c);
                    }
                    _ => field.push(c),
                }
                continue;
            }
            match c {
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    after_quote = false;
                }
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    line += 1;
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                '"' if field.trim().is_empty() && !after_quote => {
                    field.clear();
                    quoted = true;
                }
                _ if after_quote && c.is_whitespace() => {}
                _ if after_quote => return Err((start, "text after a closing quote")),
                _ => field.push(c),
            }
        }
        out.push(Record {
            line: start,
            fields,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_line_numbers_and_problems() {
        let f = parse(b"user,amount\n42,+10\n\nana@example.com,-5\nbob,0\n").unwrap();
        assert!(!f.has_key_column);
        let lines: Vec<usize> = f.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4, 5]);
        assert_eq!(f.rows[0].user, Some(UserRef::Id(42)));
        assert_eq!(f.rows[0].amount, Some(10));
        assert_eq!(
            f.rows[1].user,
            Some(UserRef::Email("ana@example.com".into()))
        );
        assert_eq!(f.rows[1].amount, Some(-5));
        assert!(f.rows[0].is_well_formed() && f.rows[1].is_well_formed());
        assert_eq!(f.rows[2].problems.len(), 2, "{:?}", f.rows[2].problems);
        assert!(f.rows[2].problems[0].starts_with("user:"));
        assert_eq!(f.rows[2].problems[1], "amount: must not be zero");
    }

    #[test]
    fn keys_are_given_or_derived_from_the_file_and_the_line() {
        let bytes = b"user,amount,idempotency_key\n1,5,T-1\n2,6,\n";
        let f = parse(bytes).unwrap();
        assert!(f.has_key_column);
        assert_eq!(f.rows[0].key, "T-1");
        assert!(f.rows[0].key_given);
        assert_eq!(f.rows[1].key, derived_key(&digest(bytes), 3));
        assert!(!f.rows[1].key_given);
        assert_eq!(f.digest.len(), 64);
        // the same file, the same keys; another file, others
        assert_eq!(parse(bytes).unwrap(), f);
        let other = parse(b"user,amount,idempotency_key\n1,5,T-1\n2,7,\n").unwrap();
        assert_ne!(other.rows[1].key, f.rows[1].key);
        assert!(f.rows[1].key.len() <= MAX_KEY_LEN);
    }

    #[test]
    fn quoted_fields_crlf_bom_and_column_order() {
        let text = "\u{feff}Reason,AMOUNT,User\r\n\"goodwill, slow batch\",+20,7\r\n\"two\nlines\",\"-3\",\"8\"\r\n\"say \"\"hi\"\"\",1,9\r\n";
        let f = parse(text.as_bytes()).unwrap();
        assert_eq!(f.rows.len(), 3);
        assert_eq!(f.rows[0].reason.as_deref(), Some("goodwill, slow batch"));
        assert_eq!(f.rows[0].user, Some(UserRef::Id(7)));
        assert_eq!(f.rows[0].line, 2);
        // a line break inside quotes is a control character in a reason
        assert_eq!(f.rows[1].line, 3);
        assert!(
            f.rows[1].problems[0].starts_with("reason:"),
            "{:?}",
            f.rows[1]
        );
        assert_eq!(f.rows[1].amount, Some(-3));
        assert_eq!(f.rows[2].line, 5);
        assert_eq!(f.rows[2].reason.as_deref(), Some("say \"hi\""));
    }

    #[test]
    fn a_file_that_is_not_this_csv_is_refused_whole() {
        for (bytes, words) in [
            (&b""[..], "is empty"),
            (b"amount\n5\n", "user and amount"),
            (b"user,amount,note\n1,2,x\n", "unknown column"),
            (b"user,user,amount\n", "twice"),
            (b"user,amount\n1,\"5\n", "not closed"),
            (b"user,amount\n1,\"5\"x\n", "after a closing quote"),
            (b"user,amount\n\xff,1\n", "UTF-8"),
        ] {
            let e = parse(bytes).unwrap_err();
            assert_eq!(e.field, "file");
            assert!(e.message.contains(words), "{bytes:?}: {}", e.message);
        }
    }

    #[test]
    fn a_row_with_the_wrong_number_of_fields_says_so() {
        let f = parse(b"user,amount\n1,2,3\n4\n").unwrap();
        assert_eq!(f.rows[0].problems, ["has 3 fields, the header 2"]);
        assert!(f.rows[1].problems[0].starts_with("has 1 field,"));
    }

    #[test]
    fn hostile_text_never_panics() {
        let nasty = "user,amount,reason\n\u{1b}[2J,\u{202e}5,\"\u{7}\"\n1,99999999999999999999,x\n";
        let f = parse(nasty.as_bytes()).unwrap();
        assert!(f.rows.iter().all(|r| !r.is_well_formed()));
        let e = parse(b"user,amount,\x1b[31m\n").unwrap_err();
        assert!(!e.message.contains('\x1b'));
    }
}
