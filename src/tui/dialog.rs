//! Dialogs over a screen: values of one trait, [`Dialog`], held by a tab's
//! [`Dialogs`]. A tab opens one (`dialogs.open(...)`), hands it keys,
//! pasted text and replies while it is open, draws it, and reacts to the
//! [`Event`]s it reports (a change applied: show the notice and reload).
//!
//! The changes are one generic flow (`tui::change`); the plain dialogs are
//! here: a message ([`Message`]), a record with links to follow
//! ([`Record`]) and a filter form ([`FilterDialog`]).

use std::any::Any;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::app::Msg;
use super::command::{Outcome, RequestId};
use super::ctx::Ctx;
use super::keymap::{Allow, Bind, ESC, Hint, Key, Keymap, always, key_line};
use super::keys::nav;
use super::link::Link;
use super::tabs::{Handled, Ui};
use super::theme::Theme;
use super::widgets::form::{FILTER_KEYS, Form, FormAction};
use super::widgets::popup::message;
use super::widgets::{ListNav, safe_owned};
use crate::domain::InvalidInput;

/// What a dialog did with a key or a reply.
pub enum Step {
    Stay,
    /// Not the dialog's key (q, ?): the app's.
    Ignored,
    Close,
    /// A change was applied (or stored for approval): the tab shows
    /// `notice` and loads again what it shows; the dialog stays (its result
    /// is on screen).
    Changed(String),
    /// Esc while a change is on its way: the dialog closes but keeps
    /// listening, so what the database did is reported when it answers.
    Detach(String),
    /// Replaced by another dialog (the issued codes, a revealed code),
    /// with the notice of the change that led there, if any.
    Replace(Box<dyn Dialog>, Option<String>),
    /// A filter to apply (the tab downcasts it); the dialog closes.
    Filter(Box<dyn Any>),
}

/// One dialog. Handlers only change state and ask `ctx` for requests;
/// `render` only reads.
pub trait Dialog {
    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Step;

    /// Pasted text, for the focused field; false if there is none.
    fn paste(&mut self, _text: &str) -> bool {
        false
    }

    /// A reply to one of the tab's requests: `Err(outcome)` when it isn't
    /// this dialog's.
    #[allow(clippy::result_large_err)] // handed back, not an error
    fn reply(&mut self, _id: RequestId, outcome: Outcome, _ctx: &mut Ctx) -> Result<Step, Outcome> {
        Err(outcome)
    }

    /// The keys it offers now, from its keymap.
    fn hints(&self, allow: &Allow) -> Vec<Hint>;

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui);

    /// A request of its own is on its way.
    fn busy(&self) -> bool {
        false
    }

    /// What quitting now would lose.
    fn unsaved(&self) -> Option<String> {
        None
    }

    /// Stays open when a link is followed (a change on its way, codes on
    /// screen): the link waits.
    fn holds(&self) -> bool {
        false
    }

    /// The database is back: repeat the reads that failed.
    fn retry(&mut self, _ctx: &mut Ctx) {}

    /// Once detached, the line that says how it ended (an error), if its
    /// reply didn't report a change.
    fn outcome_line(&self) -> Option<String> {
        None
    }
}

/// What a tab learns from its dialogs.
pub enum Event {
    /// Show the notice and load again what is shown.
    Changed(String),
    /// Only show the notice.
    Notice(String),
    /// Apply a filter (downcast to the tab's filter type).
    Filter(Box<dyn Any>),
}

/// A tab's dialog, and the changes it stopped waiting for.
#[derive(Default)]
pub struct Dialogs {
    open: Option<Box<dyn Dialog>>,
    /// Changes the operator stopped waiting for (Esc): their replies still
    /// come, and what the database did is reported then.
    detached: Vec<Box<dyn Dialog>>,
}

impl Dialogs {
    pub fn open(&mut self, dialog: impl Dialog + 'static) {
        self.open = Some(Box::new(dialog));
    }

    pub fn open_boxed(&mut self, dialog: Box<dyn Dialog>) {
        self.open = Some(dialog);
    }

    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    pub fn close(&mut self) {
        self.open = None;
    }

    /// A key for the open dialog; `Handled::No` when none is open or it
    /// leaves the key to the app.
    pub fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> (Handled, Option<Event>) {
        let Some(d) = &mut self.open else {
            return (Handled::No, None);
        };
        let step = d.key(key, ctx);
        if matches!(step, Step::Ignored) {
            return (Handled::No, None);
        }
        (Handled::Yes, self.step(step))
    }

    pub fn paste(&mut self, text: &str) -> bool {
        self.open.as_mut().is_some_and(|d| d.paste(text))
    }

    /// Offers `outcome` to the open dialog, then to the detached ones;
    /// `Err(outcome)` when none of them asked for it.
    #[allow(clippy::result_large_err)] // handed back, not an error
    pub fn reply(
        &mut self,
        id: RequestId,
        outcome: Outcome,
        ctx: &mut Ctx,
    ) -> Result<Option<Event>, Outcome> {
        let mut outcome = outcome;
        if let Some(d) = &mut self.open {
            match d.reply(id, outcome, ctx) {
                Ok(step) => return Ok(self.step(step)),
                Err(o) => outcome = o,
            }
        }
        for i in 0..self.detached.len() {
            match self.detached[i].reply(id, outcome, ctx) {
                Ok(step) => {
                    let d = self.detached.remove(i);
                    let said = |notice| format!("the change you stopped waiting for: {notice}");
                    return Ok(match step {
                        Step::Changed(notice) | Step::Detach(notice) => {
                            Some(Event::Changed(said(notice)))
                        }
                        // Its screen of its own (the codes): shown now if
                        // nothing else is open.
                        Step::Replace(next, notice) => {
                            let notice = notice.unwrap_or_default();
                            if self.open.is_none() {
                                self.open = Some(next);
                                Some(Event::Changed(said(notice)))
                            } else {
                                Some(Event::Changed(said(format!(
                                    "{notice} (not shown: another dialog was open)"
                                ))))
                            }
                        }
                        _ => d.outcome_line().map(|line| {
                            Event::Notice(format!("the change you stopped waiting for: {line}"))
                        }),
                    });
                }
                Err(o) => outcome = o,
            }
        }
        Err(outcome)
    }

    fn step(&mut self, step: Step) -> Option<Event> {
        match step {
            Step::Stay | Step::Ignored => None,
            Step::Close => {
                self.open = None;
                None
            }
            Step::Changed(notice) => Some(Event::Changed(notice)),
            Step::Detach(notice) => {
                if let Some(d) = self.open.take() {
                    self.detached.push(d);
                }
                Some(Event::Notice(notice))
            }
            Step::Replace(next, notice) => {
                self.open = Some(next);
                notice.map(Event::Changed)
            }
            Step::Filter(filter) => {
                self.open = None;
                Some(Event::Filter(filter))
            }
        }
    }

    pub fn hints(&self, allow: &Allow) -> Option<Vec<Hint>> {
        self.open.as_ref().map(|d| d.hints(allow))
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        if let Some(d) = &self.open {
            d.render(frame, area, ui);
        }
    }

    pub fn busy(&self) -> bool {
        self.open.as_ref().is_some_and(|d| d.busy()) || !self.detached.is_empty()
    }

    pub fn unsaved(&self) -> Option<String> {
        self.open.as_ref().and_then(|d| d.unsaved()).or_else(|| {
            (!self.detached.is_empty())
                .then(|| "A change you stopped waiting for is still being applied".to_owned())
        })
    }

    /// The open dialog must stay (a link waits).
    pub fn holds(&self) -> bool {
        self.open.as_ref().is_some_and(|d| d.holds())
    }

    pub fn retry(&mut self, ctx: &mut Ctx) {
        if let Some(d) = &mut self.open {
            d.retry(ctx);
        }
    }
}

// ------------------------------------------------------------------ message

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    Close,
}

const MESSAGE_KEYS: Keymap<Close> = Keymap(&[Bind::new(
    &[Key::Code(KeyCode::Enter), Key::Code(KeyCode::Esc)],
    "Enter",
    "close",
    Close::Close,
)
.footer()]);

/// Something known without asking the database (that a discount coupon
/// can't be redeemed here, that a redeemed card can't be revoked).
pub struct Message {
    title: String,
    lines: Vec<String>,
    error: bool,
}

impl Message {
    pub fn new(title: impl Into<String>, lines: Vec<String>) -> Self {
        Self {
            title: title.into(),
            lines,
            error: false,
        }
    }

    /// A refusal: shown in the error style.
    pub fn refusal(title: impl Into<String>, lines: Vec<String>) -> Self {
        Self {
            error: true,
            ..Self::new(title, lines)
        }
    }
}

impl Dialog for Message {
    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Step {
        match MESSAGE_KEYS.find(key, ctx.allow, always) {
            Some(Close::Close) => Step::Close,
            None => Step::Ignored,
        }
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        MESSAGE_KEYS.hints(allow, always)
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let style = if self.error {
            theme.error()
        } else {
            Style::default()
        };
        let mut text: Vec<Line> = self
            .lines
            .iter()
            .map(|l| Line::from(safe_owned(l.clone()).style(style)))
            .collect();
        text.push(Line::raw(""));
        text.push(key_line(&self.hints(ui.allow), theme));
        message(frame, area, theme, &self.title, text);
    }
}

// ------------------------------------------------------------------- record

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordKey {
    Open,
    Choose,
    Close,
}

const RECORD_KEYS: Keymap<RecordKey> = Keymap(&[
    Bind::new(
        &[Key::Code(KeyCode::Enter), Key::Char('o')],
        "Enter",
        "open link",
        RecordKey::Open,
    )
    .footer(),
    Bind::new(&[], "↑↓", "choose link", RecordKey::Choose).footer(),
    Bind::new(ESC, "Esc", "close", RecordKey::Close).footer(),
]);

/// One record (a ledger entry, an audit entry) and the links it has: ↑↓
/// chooses one, Enter follows it.
/// A record's lines, drawn in the theme of the frame.
type RecordLines = Box<dyn Fn(&Theme) -> Vec<Line<'static>>>;

pub struct Record {
    title: String,
    lines: RecordLines,
    links: Vec<Link>,
    nav: ListNav,
}

impl Record {
    pub fn new(
        title: impl Into<String>,
        lines: impl Fn(&Theme) -> Vec<Line<'static>> + 'static,
        links: Vec<Link>,
    ) -> Self {
        Self {
            title: title.into(),
            lines: Box::new(lines),
            links,
            nav: ListNav::default(),
        }
    }

    fn offers(&self, k: RecordKey) -> bool {
        match k {
            RecordKey::Open => !self.links.is_empty(),
            RecordKey::Choose => self.links.len() > 1,
            RecordKey::Close => true,
        }
    }
}

impl Dialog for Record {
    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Step {
        if let Some(n) = nav(key) {
            self.nav.apply(n, self.links.len());
            return Step::Stay;
        }
        match RECORD_KEYS.find(key, ctx.allow, |k| self.offers(k)) {
            Some(RecordKey::Close) => Step::Close,
            // It stays open: back (Esc) from where the link leads returns
            // to it as it was.
            Some(RecordKey::Open) => {
                if let Some(link) = self.links.get(self.nav.selected()) {
                    ctx.emit(Msg::Open(link.clone()));
                }
                Step::Stay
            }
            Some(RecordKey::Choose) | None => Step::Ignored,
        }
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        RECORD_KEYS.hints(allow, |k| self.offers(k))
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let mut lines = (self.lines)(theme);
        if !self.links.is_empty() {
            lines.push(Line::raw(""));
            lines.push(Line::from(Span::styled("links", theme.header())));
            for (i, link) in self.links.iter().enumerate() {
                let style = if i == self.nav.selected() {
                    theme.selected()
                } else {
                    theme.base()
                };
                // Link's Display sanitises the codes it holds.
                lines.push(Line::from(Span::styled(format!("  {link}  "), style)));
            }
        }
        lines.push(Line::raw(""));
        lines.push(key_line(&self.hints(ui.allow), theme));
        message(frame, area, theme, &self.title, lines);
    }
}

// ------------------------------------------------------------------- filter

/// A filter a form edits: its fields, and how they read back.
pub trait Filter: Sized + 'static {
    fn form(&self) -> Form;
    fn parse(form: &Form, now: DateTime<Utc>) -> Result<Self, Vec<InvalidInput>>;
}

/// The form of a filter `F`; Enter applies it (as `Step::Filter`).
pub struct FilterDialog<F> {
    form: Form,
    _filter: std::marker::PhantomData<F>,
}

impl<F: Filter> FilterDialog<F> {
    pub fn new(current: &F) -> Self {
        Self {
            form: current.form().with_keys(FILTER_KEYS),
            _filter: std::marker::PhantomData,
        }
    }
}

impl<F: Filter> Dialog for FilterDialog<F> {
    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Step {
        match self.form.key(key) {
            FormAction::Cancel => Step::Close,
            FormAction::Submit => match F::parse(&self.form, ctx.now) {
                Ok(filter) => Step::Filter(Box::new(filter)),
                Err(errors) => {
                    self.form.clear_errors();
                    self.form.set_errors(&errors);
                    Step::Stay
                }
            },
            FormAction::None => Step::Stay,
        }
    }

    fn paste(&mut self, text: &str) -> bool {
        self.form.paste(text);
        true
    }

    fn hints(&self, _allow: &Allow) -> Vec<Hint> {
        self.form.hints()
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        self.form.render(frame, area, ui.theme);
    }
}
