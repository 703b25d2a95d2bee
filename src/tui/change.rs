//! One way to make a change: form → review → confirm → apply once → result.
//!
//! Each change (adjust a balance, fail a batch, create a coupon...) is a
//! [`Change`]: it supplies its form, how the form reads ([`Change::parse`]),
//! what to read fresh before the confirmation ([`Change::fresh`]), the
//! confirmation's lines ([`Change::review`]), the request ([`Change::job`])
//! and what the reply means ([`Change::done`]). [`ChangeDialog`] runs every
//! one of them the same way and is the one [`Dialog`] for all of them:
//!
//! - Enter in the form moves to the next field; on the last one it reads
//!   the fields (errors go under them) and opens the review.
//! - The confirmation applies with `y` (or Enter, but not in production),
//!   pressed after it has been on screen for [`ARM_AFTER`].
//! - Applied once: while the request is on its way the keys that apply do
//!   nothing; Esc stops waiting, and what the database did is reported
//!   when it answers (a write is never abandoned half-way).
//! - The result has its own title and says what was done.

use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::command::{Job, Outcome, RequestId};
use super::ctx::Ctx;
use super::dialog::{Dialog, Step};
use super::keymap::{Allow, Bind, ESC, Hint, Key, Keymap, key_line};
use super::tabs::Ui;
use super::widgets::form::{Form, FormAction};
use super::widgets::popup::message;
use super::widgets::progress::{self, BulkRun};
use super::widgets::{safe, safe_styled, spinner};
use crate::db::{Change as Booked, PendingRequest};
use crate::domain::InvalidInput;
use crate::error::Error;

/// A confirmation applies only with a key pressed this long after it
/// appeared: a burst of Enters meant for the form never applies it.
pub const ARM_AFTER: Duration = Duration::from_millis(300);

/// The confirmation's lines: `label  value` (values may hold database
/// text: sanitised when drawn).
pub type Lines = Vec<(String, String)>;

/// What the review found.
pub enum Review {
    /// Ask for confirmation with these lines.
    Confirm(Lines),
    /// Back to the form, errors under their fields.
    Invalid(Vec<InvalidInput>),
    /// Known now to be refused (the card was redeemed meanwhile): say why
    /// instead of asking.
    Refused(String),
}

/// What a change did.
pub struct Done {
    /// The result's own title: "Balance adjusted".
    pub title: String,
    /// What was booked, and how it differs from the review if it does.
    pub lines: Vec<String>,
    /// The line left on the tab once the dialog closes.
    pub notice: String,
    /// A screen of its own instead of the result (the issued codes).
    pub then: Option<Box<dyn Dialog>>,
}

impl Done {
    pub fn new(title: impl Into<String>, lines: Vec<String>) -> Self {
        let notice = lines.first().cloned().unwrap_or_default();
        Self {
            title: title.into(),
            lines,
            notice,
            then: None,
        }
    }

    /// Stored as a request waiting for a second person: nothing changed yet.
    pub fn pending(p: &PendingRequest) -> Self {
        Self::new("Waiting for approval", vec![pending_summary(p)])
    }

    /// `Applied(v)` through `applied`, `Pending` as [`Done::pending`].
    pub fn of<T>(booked: Booked<T>, applied: impl FnOnce(T) -> Done) -> Done {
        match booked {
            Booked::Applied(v) => applied(v),
            Booked::Pending(p) => Done::pending(&p),
        }
    }
}

/// The text of field `name` of `form` (empty without a form).
pub fn field<'a>(form: Option<&'a Form>, name: &str) -> &'a str {
    form.map_or("", |f| f.value(name))
}

/// Both values, or every error of the two.
pub fn both<A, B>(
    a: Result<A, InvalidInput>,
    b: Result<B, InvalidInput>,
) -> Result<(A, B), Vec<InvalidInput>> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err([a.err(), b.err()].into_iter().flatten().collect()),
    }
}

/// The result's line when the balance booked from differs from the one the
/// confirmation showed.
pub fn changed_meanwhile(reviewed: i32, booked_old: i32, booked_new: i32) -> String {
    format!(
        "note: the balance was {booked_old} when this was booked, not {reviewed} as reviewed \
         (it changed meanwhile): {booked_old} → {booked_new} is what was booked"
    )
}

/// The review when a fresh read failed: say so rather than show old
/// numbers as true.
pub fn unreadable(what: &str, e: Option<&Error>) -> Review {
    match e {
        Some(e @ Error::Refused(_)) => Review::Refused(e.to_string()),
        Some(e) => Review::Refused(format!("could not read {what} as it is now: {e}")),
        None => Review::Refused(format!("could not read {what} as it is now")),
    }
}

/// A reply of another kind than the job's: a bug, reported as one.
pub fn unexpected(outcome: &Outcome) -> Error {
    tracing::error!(?outcome, "a change got a reply of another kind");
    Error::Infrastructure("the console got an unexpected reply; look before trying again".into())
}

/// e.g. `pending approval #12: adjust user #3 by -800 credits (nothing
/// changed yet; a second person must approve it)`.
pub fn pending_summary(p: &PendingRequest) -> String {
    format!(
        "pending approval #{}: {} (nothing changed yet; a second person must approve it)",
        p.id,
        crate::domain::text::sanitize(&p.summary)
    )
}

/// One kind of change. Only its own parts: the flow is [`ChangeDialog`].
pub trait Change: 'static {
    /// What the form reads into.
    type Input: Clone + 'static;

    /// The confirmation's question: "Adjust this balance?".
    fn question(&self) -> String;

    /// The confirming key's word: "apply", "issue", "reveal".
    fn verb(&self) -> &'static str {
        "apply"
    }

    /// For the quit question while it is on its way: "An adjustment is
    /// being applied".
    fn applying(&self) -> &'static str;

    /// The form; `None` for a change with nothing to fill in (reveal).
    fn form(&mut self, ctx: &mut Ctx) -> Option<Form>;

    /// A key the form doesn't know (Ctrl-G, ←→ on a choice): true if used.
    fn form_key(&mut self, _form: &mut Form, _key: &KeyEvent, _ctx: &mut Ctx) -> bool {
        false
    }

    /// A reply to a request of the form's own (the credit packs); the
    /// outcome comes back when it isn't one.
    #[allow(clippy::result_large_err)] // handed back, not an error
    fn form_reply(
        &mut self,
        _form: &mut Form,
        _id: RequestId,
        outcome: Outcome,
        _ctx: &mut Ctx,
    ) -> Result<(), Outcome> {
        Err(outcome)
    }

    /// The form waits for something of its own.
    fn form_busy(&self) -> bool {
        false
    }

    /// The database is back: repeat the form's reads that failed.
    fn form_retry(&mut self, _form: &mut Form, _ctx: &mut Ctx) {}

    /// Reads the form with the domain parsers.
    fn parse(
        &self,
        form: Option<&Form>,
        now: DateTime<Utc>,
    ) -> Result<Self::Input, Vec<InvalidInput>>;

    /// What to read fresh before the confirmation (its numbers come from
    /// these replies, passed to `review` in the same order).
    fn fresh(&self, _input: &Self::Input) -> Vec<Job> {
        Vec::new()
    }

    /// The confirmation, from the input and the fresh reads.
    fn review(&mut self, input: &Self::Input, fresh: Vec<Outcome>, now: DateTime<Utc>) -> Review;

    /// The request that makes the change.
    fn job(&self, input: &Self::Input) -> Job;

    /// What the reply to the job means: what was done, or the error.
    fn done(&mut self, outcome: Outcome) -> Result<Done, Error>;

    /// Errors the reply reports about fields: back to the form with them.
    fn field_errors(&self, e: &Error) -> Vec<InvalidInput> {
        e.field_errors().to_vec()
    }

    /// Added to an infrastructure error: the change may or may not be done.
    fn unknown_outcome(&self) -> &'static str {
        "it may or may not have been applied: look before trying again"
    }

    /// A long run in chunks (bulk work): the handle it reports to, drawn as
    /// a progress bar while it is applied, and `s`/Esc stop it between
    /// chunks instead of only stopping the wait.
    fn run(&self) -> Option<&BulkRun> {
        None
    }
}

/// Where the flow is.
enum State<I> {
    Form,
    /// The fresh reads for the review are on their way.
    Reading {
        input: I,
        reads: Vec<(RequestId, Option<Outcome>)>,
    },
    Confirm {
        input: I,
        lines: Lines,
        /// When it appeared: keys before `since + ARM_AFTER` don't apply.
        since: DateTime<Utc>,
    },
    Applying {
        input: I,
        lines: Lines,
        request: RequestId,
    },
    Failed {
        input: I,
        lines: Lines,
        error: String,
        refused: bool,
        /// When it appeared: a retry needs a key pressed after
        /// `since + ARM_AFTER` too.
        since: DateTime<Utc>,
    },
    /// Known to be refused before asking (`Review::Refused`).
    Refused(String),
    Done {
        title: String,
        lines: Vec<String>,
    },
}

/// What a key does in the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlowKey {
    Apply,
    Retry,
    Back,
    Stop,
    /// Stop a run in chunks after the chunk in flight.
    Halt,
    Close,
}

const CONFIRM_KEYS: Keymap<FlowKey> = Keymap(&[
    Bind::new(
        &[Key::Code(KeyCode::Enter), Key::Char('y')],
        "Enter",
        "apply",
        FlowKey::Apply,
    )
    .footer(),
    Bind::new(ESC, "Esc", "back", FlowKey::Back).footer(),
]);

/// In production only `y` applies: Enter is pressed by habit.
const PRODUCTION_CONFIRM_KEYS: Keymap<FlowKey> = Keymap(&[
    Bind::new(&[Key::Char('y')], "y", "apply", FlowKey::Apply).footer(),
    Bind::new(ESC, "Esc", "back", FlowKey::Back).footer(),
]);

const PRODUCTION_FAILED_KEYS: Keymap<FlowKey> = Keymap(&[
    Bind::new(&[Key::Char('y')], "y", "try again", FlowKey::Retry).footer(),
    Bind::new(ESC, "Esc", "back", FlowKey::Back).footer(),
]);

const WAIT_KEYS: Keymap<FlowKey> =
    Keymap(&[Bind::new(ESC, "Esc", "stop waiting", FlowKey::Stop).footer()]);

/// A run in chunks: stopped between two of them (never in the middle).
const RUN_KEYS: Keymap<FlowKey> = Keymap(&[Bind::new(
    &[Key::Char('s'), Key::Code(KeyCode::Esc)],
    "s",
    "stop after this chunk",
    FlowKey::Halt,
)
.footer()]);

const FAILED_KEYS: Keymap<FlowKey> = Keymap(&[
    Bind::new(
        &[Key::Code(KeyCode::Enter), Key::Char('y')],
        "Enter",
        "try again",
        FlowKey::Retry,
    )
    .footer(),
    Bind::new(ESC, "Esc", "back", FlowKey::Back).footer(),
]);

const DONE_KEYS: Keymap<FlowKey> = Keymap(&[Bind::new(
    &[Key::Code(KeyCode::Enter), Key::Code(KeyCode::Esc)],
    "Enter",
    "close",
    FlowKey::Close,
)
.footer()]);

const REFUSED_KEYS: Keymap<FlowKey> = Keymap(&[
    Bind::new(
        &[Key::Code(KeyCode::Enter)],
        "Enter",
        "close",
        FlowKey::Close,
    )
    .footer(),
    Bind::new(ESC, "Esc", "back", FlowKey::Back).footer(),
]);

/// The flow of one change `C`.
pub struct ChangeDialog<C: Change> {
    change: C,
    form: Option<Form>,
    state: State<C::Input>,
    /// The operator stopped waiting: report, don't show.
    detached: bool,
}

impl<C: Change> ChangeDialog<C> {
    /// Opens the form (or, without one, goes straight to the review).
    pub fn open(mut change: C, ctx: &mut Ctx) -> Self {
        let form = change.form(ctx);
        let mut d = Self {
            change,
            form,
            state: State::Form,
            detached: false,
        };
        if d.form.is_none() {
            d.submit(ctx);
        }
        d
    }

    fn keymap(&self, allow: &Allow) -> Keymap<FlowKey> {
        match &self.state {
            State::Form => DONE_KEYS,
            State::Applying { .. } if self.change.run().is_some_and(|r| !r.is_stopped()) => {
                RUN_KEYS
            }
            State::Reading { .. } | State::Applying { .. } => WAIT_KEYS,
            State::Confirm { .. } if allow.production => PRODUCTION_CONFIRM_KEYS,
            State::Confirm { .. } => CONFIRM_KEYS,
            State::Failed { .. } if allow.production => PRODUCTION_FAILED_KEYS,
            State::Failed { .. } => FAILED_KEYS,
            State::Refused(_) => REFUSED_KEYS,
            State::Done { .. } => DONE_KEYS,
        }
    }

    /// Back to the form (or closed, without one).
    fn back(&mut self) -> Step {
        self.state = State::Form;
        if self.form.is_none() {
            return Step::Close;
        }
        Step::Stay
    }

    /// The form read: errors under the fields, or the fresh reads, or the
    /// review.
    fn submit(&mut self, ctx: &mut Ctx) {
        if let Some(f) = &mut self.form {
            f.clear_errors();
        }
        match self.change.parse(self.form.as_ref(), ctx.now) {
            Ok(input) => {
                let jobs = self.change.fresh(&input);
                if jobs.is_empty() {
                    self.review(input, Vec::new(), ctx);
                } else {
                    let reads = jobs.into_iter().map(|j| (ctx.request(j), None)).collect();
                    self.state = State::Reading { input, reads };
                }
            }
            Err(errors) => self.form_errors(&errors),
        }
    }

    fn form_errors(&mut self, errors: &[InvalidInput]) {
        self.state = State::Form;
        if let Some(f) = &mut self.form {
            f.set_errors(errors);
        }
    }

    fn review(&mut self, input: C::Input, fresh: Vec<Outcome>, ctx: &mut Ctx) {
        self.state = match self.change.review(&input, fresh, ctx.now) {
            Review::Confirm(lines) => State::Confirm {
                input,
                lines,
                since: ctx.now,
            },
            Review::Invalid(errors) => {
                self.form_errors(&errors);
                return;
            }
            Review::Refused(why) => State::Refused(why),
        };
    }

    fn apply(&mut self, input: C::Input, lines: Lines, ctx: &mut Ctx) {
        let request = ctx.request(self.change.job(&input));
        self.state = State::Applying {
            input,
            lines,
            request,
        };
    }

    /// The reply to the change itself.
    fn finished(&mut self, outcome: Outcome, now: DateTime<Utc>) -> Step {
        let State::Applying { input, lines, .. } = std::mem::replace(&mut self.state, State::Form)
        else {
            return Step::Stay;
        };
        match self.change.done(outcome) {
            Ok(done) => {
                let notice = done.notice.clone();
                if let Some(next) = done.then {
                    // A screen of its own replaces the flow.
                    return Step::Replace(next, Some(notice));
                }
                self.state = State::Done {
                    title: done.title,
                    lines: done.lines,
                };
                Step::Changed(notice)
            }
            Err(e) => {
                let fields = self.change.field_errors(&e);
                if !fields.is_empty() && !self.detached && self.form.is_some() {
                    self.form_errors(&fields);
                    return Step::Stay;
                }
                let error = match &e {
                    Error::Infrastructure(_) => format!("{e}; {}", self.change.unknown_outcome()),
                    _ => e.to_string(),
                };
                self.state = State::Failed {
                    input,
                    lines,
                    error,
                    refused: matches!(e, Error::Refused(_)),
                    since: now,
                };
                Step::Stay
            }
        }
    }

    /// What the change is called: the form's title, else the question's.
    fn name(&self) -> String {
        match &self.form {
            Some(f) => f.title.clone(),
            None => self
                .change
                .question()
                .trim_start_matches("Confirm: ")
                .trim_end_matches('?')
                .to_owned(),
        }
    }

    fn title(&self) -> String {
        match &self.state {
            State::Done { title, .. } => title.clone(),
            State::Failed { refused: true, .. } | State::Refused(_) => {
                format!("Refused: {}", self.name())
            }
            State::Failed { .. } => format!("Not done: {}", self.name()),
            _ => self.change.question(),
        }
    }
}

impl<C: Change> Dialog for ChangeDialog<C> {
    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Step {
        if matches!(self.state, State::Form) {
            let Some(form) = &mut self.form else {
                return Step::Close;
            };
            if self.change.form_key(form, key, ctx) {
                return Step::Stay;
            }
            return match form.key(key) {
                FormAction::Cancel => Step::Close,
                FormAction::Submit => {
                    self.submit(ctx);
                    Step::Stay
                }
                FormAction::None => Step::Stay,
            };
        }
        let keys = self.keymap(ctx.allow);
        let Some(k) = keys.find(key, ctx.allow, |_| true) else {
            // Enter while waiting is swallowed, so a double press acts once.
            return if key.code == KeyCode::Enter {
                Step::Stay
            } else {
                Step::Ignored
            };
        };
        match (k, std::mem::replace(&mut self.state, State::Form)) {
            (
                FlowKey::Apply,
                State::Confirm {
                    input,
                    lines,
                    since,
                },
            ) => {
                // A key pressed too soon (a burst of Enters meant for the
                // form, a held key) is no decision: it only starts the wait
                // again.
                if !armed(since, key, ctx.now) {
                    let since = ctx.now;
                    self.state = State::Confirm {
                        input,
                        lines,
                        since,
                    };
                    return Step::Stay;
                }
                self.apply(input, lines, ctx);
                Step::Stay
            }
            (
                FlowKey::Retry,
                State::Failed {
                    input,
                    lines,
                    error,
                    refused,
                    since,
                },
            ) => {
                if !armed(since, key, ctx.now) {
                    self.state = State::Failed {
                        input,
                        lines,
                        error,
                        refused,
                        since: ctx.now,
                    };
                    return Step::Stay;
                }
                self.apply(input, lines, ctx);
                Step::Stay
            }
            (FlowKey::Stop, State::Reading { reads, .. }) => {
                for (id, _) in reads {
                    ctx.cancel(Some(id));
                }
                self.back()
            }
            (
                FlowKey::Stop,
                State::Applying {
                    input,
                    lines,
                    request,
                },
            ) => {
                self.state = State::Applying {
                    input,
                    lines,
                    request,
                };
                self.detached = true;
                Step::Detach(
                    "stopped waiting: what the database did is shown here once it answers".into(),
                )
            }
            (FlowKey::Halt, state @ State::Applying { .. }) => {
                if let Some(run) = self.change.run() {
                    run.stop();
                }
                self.state = state;
                Step::Stay
            }
            (FlowKey::Back, _) => self.back(),
            (FlowKey::Close, _) => Step::Close,
            (_, state) => {
                self.state = state;
                Step::Stay
            }
        }
    }

    fn paste(&mut self, text: &str) -> bool {
        match (&self.state, &mut self.form) {
            (State::Form, Some(form)) => {
                form.paste(text);
                true
            }
            _ => false,
        }
    }

    fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx) -> Result<Step, Outcome> {
        match &mut self.state {
            State::Applying { request, .. } if *request == id => {
                Ok(self.finished(outcome, ctx.now))
            }
            State::Reading { reads, .. } => {
                let Some(slot) = reads.iter_mut().find(|(r, _)| *r == id) else {
                    return Err(outcome);
                };
                slot.1 = Some(outcome);
                if reads.iter().all(|(_, o)| o.is_some()) {
                    let State::Reading { input, reads } =
                        std::mem::replace(&mut self.state, State::Form)
                    else {
                        return Ok(Step::Stay);
                    };
                    let fresh = reads.into_iter().filter_map(|(_, o)| o).collect();
                    self.review(input, fresh, ctx);
                }
                Ok(Step::Stay)
            }
            _ => match &mut self.form {
                Some(form) => self
                    .change
                    .form_reply(form, id, outcome, ctx)
                    .map(|()| Step::Stay),
                None => Err(outcome),
            },
        }
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        match (&self.state, &self.form) {
            (State::Form, Some(form)) => form.hints(),
            _ => {
                let verb = self.change.verb();
                self.keymap(allow)
                    .hints(allow, |_| true)
                    .into_iter()
                    .map(|h| {
                        if h.action == "apply" {
                            Hint { action: verb, ..h }
                        } else {
                            h
                        }
                    })
                    .collect()
            }
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let keys: Vec<Hint> = self
            .hints(ui.allow)
            .into_iter()
            .filter(|h| h.footer)
            .collect();
        let summary = |lines| summary_lines(lines, theme);
        let mut lines: Vec<Line> = match &self.state {
            State::Form => {
                if let Some(form) = &self.form {
                    form.render(frame, area, theme);
                }
                return;
            }
            State::Reading { .. } => {
                let mut l: Vec<Line> = self
                    .form
                    .as_ref()
                    .map(|f| f.intro.iter().map(|i| Line::from(safe(i))).collect())
                    .unwrap_or_default();
                l.push(Line::from(Span::styled(
                    spinner::loading(ui.tick, "reading what it is now…"),
                    theme.warning(),
                )));
                l
            }
            State::Confirm { lines, .. } => summary(lines),
            State::Applying { lines, .. } => {
                let mut l = summary(lines);
                l.push(Line::raw(""));
                match self.change.run() {
                    Some(run) => {
                        let width = area.width.saturating_sub(6);
                        l.push(progress::bar(run.progress(), width, theme));
                        if run.is_stopped() {
                            l.push(Line::from(Span::styled(
                                spinner::loading(ui.tick, "stopping after the chunk in flight…"),
                                theme.warning(),
                            )));
                        }
                    }
                    None => l.push(Line::from(Span::styled(
                        spinner::loading(ui.tick, "applying…"),
                        theme.warning(),
                    ))),
                }
                l
            }
            State::Failed { lines, error, .. } => {
                let mut l = summary(lines);
                l.push(Line::raw(""));
                l.push(Line::from(safe_styled(error, theme.error())));
                l
            }
            State::Refused(why) => why
                .lines()
                .map(|l| Line::from(safe_styled(l, theme.error())))
                .collect(),
            State::Done { lines, .. } => lines
                .iter()
                .map(|d| Line::from(safe_styled(d, theme.success())))
                .collect(),
        };
        lines.push(Line::raw(""));
        lines.push(key_line(&keys, theme));
        message(frame, area, theme, &self.title(), lines);
    }

    fn busy(&self) -> bool {
        matches!(self.state, State::Reading { .. } | State::Applying { .. })
            || (matches!(self.state, State::Form) && self.change.form_busy())
    }

    fn unsaved(&self) -> Option<String> {
        if matches!(self.state, State::Applying { .. }) {
            return Some(self.change.applying().to_owned());
        }
        let form = self.form.as_ref()?;
        match &self.state {
            State::Done { .. } | State::Refused(_) => None,
            State::Form if !form.is_dirty() => None,
            _ => Some(format!("The form “{}” holds input not applied", form.title)),
        }
    }

    fn holds(&self) -> bool {
        matches!(self.state, State::Applying { .. })
    }

    fn retry(&mut self, ctx: &mut Ctx) {
        if let (State::Form, Some(form)) = (&self.state, &mut self.form) {
            self.change.form_retry(form, ctx);
        }
    }

    fn outcome_line(&self) -> Option<String> {
        match &self.state {
            State::Failed { error, .. } => Some(format!("not applied: {error}")),
            _ => None,
        }
    }
}

/// Whether `key` may apply what appeared at `since`: pressed (not a held
/// key's repeat) at least [`ARM_AFTER`] later.
fn armed(since: DateTime<Utc>, key: &KeyEvent, now: DateTime<Utc>) -> bool {
    let waited = (now - since).to_std().unwrap_or_default();
    key.kind != KeyEventKind::Repeat && waited >= ARM_AFTER
}

/// `label  value` lines, the labels right-aligned.
fn summary_lines<'a>(lines: &'a Lines, theme: &crate::tui::theme::Theme) -> Vec<Line<'a>> {
    let width = lines
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    lines
        .iter()
        .map(|(label, value)| {
            Line::from(vec![
                Span::styled(format!("{label:>width$}  "), theme.dim()),
                safe(value),
            ])
        })
        .collect()
}
