//! A form field that finds a user as you type: by id, email or name, with
//! the Users tab's search (`Job::FindUsers`, an exact id or email first),
//! each key at once (the search before it cancelled). Up to [`SHOWN`]
//! matches show under the field; ↓/↑ choose one, Enter picks it, and the
//! field then holds `#id email`. A change keeps a `UserPicker` next to its
//! form and hands it its `form_key`, `form_reply`, `form_busy` and
//! `form_retry`; [`UserPicker::user`] is what `parse` reads.
//!
//! Without a pick, an exact id or email typed in full is taken as it is
//! (the review reads it fresh); so is the one match of a search. None or
//! several: an error under the field says so.

use crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

use super::form::{Field, Form};
use crate::db::users::User;
use crate::domain::InvalidInput;
use crate::domain::user_ref::UserRef;
use crate::error::Result;
use crate::tui::command::{Job, Outcome, RequestId};
use crate::tui::ctx::Ctx;

/// Matches shown under the field at most.
pub const SHOWN: usize = 6;

const HINT: &str = "type an id, email or name; ↓ to choose, Enter to pick";

#[derive(Debug)]
pub struct UserPicker {
    /// The form field's name (and the name its errors go under).
    name: &'static str,
    /// The matches for `shown` (one more than shown: "more").
    matches: Vec<User>,
    /// The text `matches` are for.
    shown: Option<String>,
    /// The match chosen with ↓/↑, not picked yet.
    chosen: Option<usize>,
    picked: Option<User>,
    pending: Option<RequestId>,
    /// The text of the pending (or failed) search.
    asked: String,
    failed: Option<String>,
}

/// How the field shows a picked user.
pub fn label(user: &User) -> String {
    format!("#{} {}", user.id, user.email)
}

impl UserPicker {
    /// A picker for the form field `name` (make it with [`UserPicker::field`]).
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            matches: Vec::new(),
            shown: None,
            chosen: None,
            picked: None,
            pending: None,
            asked: String::new(),
            failed: None,
        }
    }

    /// The form field.
    pub fn field(&self, label: &'static str) -> Field {
        Field::new(self.name, label, HINT)
    }

    pub fn picked(&self) -> Option<&User> {
        self.picked.as_ref()
    }

    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    fn focused<'f>(&self, form: &'f mut Form) -> Option<&'f mut Field> {
        let i = form.focus;
        form.fields.get_mut(i).filter(|f| f.name == self.name)
    }

    /// A key while the form is shown: true when the picker used it (keys on
    /// other fields, Tab, Esc and Enter without a choice are the form's).
    pub fn key(&mut self, form: &mut Form, key: &KeyEvent, ctx: &mut Ctx) -> bool {
        let Some(field) = self.focused(form) else {
            return false;
        };
        let shown = self.matches.len().min(SHOWN);
        match key.code {
            KeyCode::Down if shown > 0 => {
                self.chosen = Some(self.chosen.map_or(0, |i| (i + 1).min(shown - 1)));
            }
            KeyCode::Up if self.chosen.is_some() => {
                self.chosen = self.chosen.and_then(|i| i.checked_sub(1));
            }
            KeyCode::Esc if self.chosen.is_some() => self.chosen = None,
            KeyCode::Enter if self.chosen.is_some() => {
                let Some(user) = self.chosen.and_then(|i| self.matches.get(i)).cloned() else {
                    return false;
                };
                field.input = field.input.clone().with_value(label(&user));
                field.error = None;
                self.picked = Some(user);
                self.matches.clear();
                self.shown = None;
                self.chosen = None;
                ctx.cancel(self.pending.take());
            }
            KeyCode::Enter | KeyCode::Tab | KeyCode::BackTab | KeyCode::Esc => return false,
            KeyCode::Up | KeyCode::Down => return false,
            _ => {
                let before = field.input.value().to_owned();
                field.input.handle_event(&Event::Key(*key));
                if field.input.value() != before {
                    field.error = None;
                    self.search(field.input.value().trim().to_owned(), ctx);
                }
            }
        }
        self.show(form);
        true
    }

    fn search(&mut self, text: String, ctx: &mut Ctx) {
        ctx.cancel(self.pending.take());
        self.picked = None;
        self.chosen = None;
        self.failed = None;
        if text.is_empty() {
            self.matches.clear();
            self.shown = None;
            return;
        }
        self.asked = text.clone();
        self.pending = Some(ctx.request(Job::FindUsers {
            text,
            limit: SHOWN as i64 + 1,
        }));
    }

    /// The reply to the picker's search; any other comes back.
    #[allow(clippy::result_large_err)] // handed back, not an error
    pub fn reply(
        &mut self,
        form: &mut Form,
        id: RequestId,
        outcome: Outcome,
    ) -> Result<(), Outcome> {
        if self.pending != Some(id) {
            return match outcome {
                // An older search of ours: dropped.
                Outcome::Users(_) => Ok(()),
                other => Err(other),
            };
        }
        let Outcome::Users(result) = outcome else {
            return Err(outcome);
        };
        self.pending = None;
        match result {
            Ok(users) => {
                self.matches = users;
                self.shown = Some(self.asked.clone());
                self.chosen = None;
            }
            Err(e) => self.failed = Some(e.to_string()),
        }
        self.show(form);
        Ok(())
    }

    /// The database is back: search again if the last search failed.
    pub fn retry(&mut self, form: &mut Form, ctx: &mut Ctx) {
        if self.failed.is_some() {
            let text = self.asked.clone();
            self.search(text, ctx);
            self.show(form);
        }
    }

    /// The matches (or why there are none) under the field.
    fn show(&self, form: &mut Form) {
        let Some(field) = form.fields.iter_mut().find(|f| f.name == self.name) else {
            return;
        };
        field.below_selected = self.chosen;
        field.below = if let Some(e) = &self.failed {
            vec![format!("search failed: {e}")]
        } else if self.picked.is_some() || self.shown.is_none() && self.pending.is_none() {
            Vec::new()
        } else if self.shown.is_none() {
            vec!["searching…".into()]
        } else if self.matches.is_empty() {
            vec!["no user matches".into()]
        } else {
            let mut lines: Vec<String> = self
                .matches
                .iter()
                .take(SHOWN)
                .map(|u| match &u.name {
                    Some(n) => format!("#{} {}  {n}", u.id, u.email),
                    None => format!("#{} {}", u.id, u.email),
                })
                .collect();
            if self.matches.len() > SHOWN {
                lines.push("… more: type more to narrow".into());
            }
            lines
        };
    }

    /// The user the field names: the picked one, else an id or email typed
    /// in full, else the search's one match. None or several: an error for
    /// the field.
    pub fn user(&self, form: Option<&Form>) -> std::result::Result<UserRef, InvalidInput> {
        let text = form.map_or("", |f| f.value(self.name)).trim();
        if let Some(u) = &self.picked
            && label(u) == text
        {
            return Ok(UserRef::Id(u.id));
        }
        if text.is_empty() {
            return Err(InvalidInput::new(
                self.name,
                "type an id, email or name, then pick the user",
            ));
        }
        if let Ok(exact) = UserRef::parse(text) {
            return Ok(exact);
        }
        if self.shown.as_deref() != Some(text) {
            return Err(InvalidInput::new(
                self.name,
                "still searching: pick the user from the matches",
            ));
        }
        match self.matches.as_slice() {
            [] => Err(InvalidInput::new(
                self.name,
                format!("no user matches “{text}”"),
            )),
            [one] => Ok(UserRef::Id(one.id)),
            many => Err(InvalidInput::new(
                self.name,
                format!(
                    "{} users match: choose one with ↓ and Enter",
                    if many.len() > SHOWN {
                        format!("more than {SHOWN}")
                    } else {
                        many.len().to_string()
                    }
                ),
            )),
        }
    }
}
