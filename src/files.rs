//! Files the tool writes for the operator (issued codes, exports): always a
//! new file, never an existing one overwritten, readable by its owner only
//! (0600), and synced to disk before success is reported.

use std::borrow::Cow;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::db::gift_cards::IssuedCard;
use crate::domain::text::sanitize_cow;
use crate::error::{Error, Result};

/// A new file readable by its owner only, created before the work whose
/// result it will hold, so a bad path fails before anything is changed.
#[derive(Debug)]
pub struct PrivateFile {
    file: File,
    path: PathBuf,
}

impl PrivateFile {
    /// `field` names the option or form field the path came from.
    pub fn create(path: &Path, field: &'static str) -> Result<Self> {
        let shown = shown(path);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(path) {
            Ok(file) => Ok(Self {
                file,
                path: path.to_owned(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::invalid(
                field,
                format!("{shown} already exists: choose a new file (files are never overwritten)"),
            )),
            Err(e) => Err(Error::invalid(field, format!("cannot create {shown}: {e}"))),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `bytes` and flushes them to disk; `done` says what already
    /// happened, for the message when writing fails.
    pub fn write(mut self, bytes: &[u8], done: &str) -> Result<()> {
        let shown = shown(&self.path);
        self.file
            .write_all(bytes)
            .and_then(|()| self.file.sync_all())
            .map_err(|e| Error::Infrastructure(format!("{done} but writing {shown} failed: {e}")))
    }

    /// Removes the (still empty) file when the work failed.
    pub fn discard(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.path);
    }
}

fn shown(path: &Path) -> String {
    sanitize_cow(&path.to_string_lossy()).into_owned()
}

/// A file for issued gift-card codes (`gift-cards issue --output` and the
/// console's save), as [`codes_csv`].
#[derive(Debug)]
pub struct CodesFile(PrivateFile);

impl CodesFile {
    pub fn create(path: &Path) -> Result<Self> {
        PrivateFile::create(path, "output").map(Self)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    pub fn write(self, cards: &[IssuedCard]) -> Result<()> {
        self.0
            .write(codes_csv(cards).as_bytes(), "the cards were issued")
    }

    pub fn discard(self) {
        self.0.discard();
    }
}

/// The issued cards as CSV (RFC 4180, CRLF): id, code, credits, price,
/// expires_at. Every field is a number, a generated code or a timestamp, so
/// none needs quoting.
pub fn codes_csv(cards: &[IssuedCard]) -> String {
    let mut out = String::with_capacity(64 * (cards.len() + 1));
    out.push_str("id,code,credits,price,expires_at\r\n");
    for c in cards {
        let expires = c.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{}\r\n",
            c.id, c.code, c.credits, c.price, expires
        ));
    }
    out
}

/// `2026-11-24T05:03:00Z`: times in CSV (and JSON), ISO 8601 with the zone.
pub fn iso_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One CSV field: controls become U+FFFD and line breaks a space, as in a
/// table; a cell a spreadsheet would run as a formula (starting with `=`,
/// `+`, `-` or `@`, after any spaces, unless it is a plain number; or with a
/// tab or carriage return) gets a `'` in front; then it is quoted if it must
/// be.
pub fn csv_cell(cell: &str) -> String {
    let clean = sanitize_cow(cell);
    let formula = cell.starts_with(['\t', '\r'])
        || (clean
            .trim_start_matches(' ')
            .starts_with(['=', '+', '-', '@'])
            && clean.len() > 1
            && clean.parse::<f64>().is_err());
    let guarded = if formula {
        Cow::Owned(format!("'{clean}"))
    } else {
        clean
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use rust_decimal::Decimal;

    #[test]
    fn codes_as_csv() {
        let card = IssuedCard {
            id: 1,
            code: "K7QF-9XM2-ABCD-EFGH-JKMN".into(),
            credits: 5,
            price: Decimal::new(999, 2),
            credit_pack_id: None,
            recipient_email: None,
            expires_at: None,
            created_at: Utc::now(),
        };
        assert_eq!(
            codes_csv(&[card]),
            "id,code,credits,price,expires_at\r\n1,K7QF-9XM2-ABCD-EFGH-JKMN,5,9.99,\r\n"
        );
    }

    #[test]
    fn never_overwrites_and_is_private() {
        let dir = std::env::temp_dir().join(format!("creditdesk-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("codes.csv");
        let _ = std::fs::remove_file(&path);
        let f = PrivateFile::create(&path, "output").unwrap();
        f.write(b"x", "done").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let e = PrivateFile::create(&path, "output").unwrap_err();
        assert_eq!(e.field_errors()[0].field, "output");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
