//! Issuing gift cards: a form (how many; credits and price, or a credit
//! pack chosen from `gift_cards::packs`; recipient; expiry; a note), parsed
//! with the CLI's parsers, then a confirmation summing it up, then one
//! `gift_cards::issue` call. Its result, [`CodesDialog`], is the one screen
//! that shows full codes: once, scrollable, with `s` to save them to a new
//! CSV file readable by the operator only (`files::CodesFile`). The
//! codes live in that dialog only and are dropped when it closes.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use rust_decimal::Decimal;
use tui_input::Input;

use super::DialogKey;
use crate::db::Change;
use crate::db::gift_cards::{CardValue, CreditPack, IssueRequest, IssuedCard};
use crate::domain::InvalidInput;
use crate::domain::gift_card_issue::{IssueFields, issued_summary};
use crate::domain::text::check_free_text;
use crate::error::{Error, Result};
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::format::{date, when};
use crate::tui::keymap::Hint;
use crate::tui::keys::{is_char, is_enter, is_esc, nav};
use crate::tui::tabs::Ui;
use crate::tui::widgets::popup::centered;
use crate::tui::widgets::{
    Confirm, ConfirmState, Field, Form, FormAction, ListNav, fit, safe_owned, spinner,
};

/// The form's value field: not typed in, chosen with ←/→.
const PACK: usize = 1;
const CUSTOM: &str = "credits and price below";

/// The credit packs for the value selector.
#[derive(Debug, Clone)]
pub enum Packs {
    Loading(RequestId),
    Ready(Vec<CreditPack>),
    Failed(String),
}

pub struct IssueDialog {
    pub form: Form,
    pub packs: Packs,
    /// 0: credits and price as typed; n: the n-th active pack.
    pub choice: usize,
    /// After a valid form: the summary, and the request it will send.
    pub confirm: Option<(Confirm, IssueRequest)>,
}

/// What became of the answer to the issue request.
pub enum Finished {
    /// Not the request in flight.
    Stale,
    /// Shown in the confirmation (Enter tries again, Esc goes back).
    Failed,
    /// The cards, with their codes: the result dialog.
    Issued(Box<CodesDialog>),
    /// Above the approval threshold: stored as a request, shown in the
    /// confirmation.
    Pending,
}

/// `2026-12-31 00:00 UTC (in 292 days)`.
fn describe_expiry(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(at) = at else {
        return "never".to_owned();
    };
    let left = at - now;
    let rel = if left.num_days() >= 2 {
        format!("in {} days", left.num_days())
    } else if left.num_hours() >= 2 {
        format!("in {} hours", left.num_hours())
    } else {
        format!("in {} minutes", left.num_minutes().max(1))
    };
    format!("{} UTC ({rel})", when(at))
}

impl IssueDialog {
    /// The form, and the request for the credit packs.
    pub fn open(ctx: &mut Ctx) -> Self {
        let id = ctx.request(Job::GiftCardPacks);
        let mut form = Form::new(
            "Issue gift cards",
            vec![
                Field::new("count", "Cards", "how many, 1 to 10000").with_value("1"),
                Field::new("pack", "Value", "loading the credit packs…").with_value(CUSTOM),
                Field::new("credits", "Credits", "on each card"),
                Field::new("price", "Price", "of each card, like 9.99"),
                Field::new("recipient", "Recipient", "optional: an email"),
                Field::new(
                    "expires-at",
                    "Expires",
                    "blank: never; 2026-12-31, 2026-12-31 18:00 UTC, or 90d",
                ),
                Field::new(
                    "reason",
                    "Note",
                    "optional: for the audit log, e.g. the campaign",
                ),
            ],
        );
        form.extra = vec![Hint::footer("←→", "choose a pack")];
        Self {
            form,
            packs: Packs::Loading(id),
            choice: 0,
            confirm: None,
        }
    }

    /// The packs that can be chosen (inactive ones are refused by `issue`).
    pub fn active_packs(&self) -> Vec<&CreditPack> {
        match &self.packs {
            Packs::Ready(all) => all.iter().filter(|p| p.is_active).collect(),
            _ => Vec::new(),
        }
    }

    fn chosen_pack(&self) -> Option<&CreditPack> {
        self.choice
            .checked_sub(1)
            .and_then(|i| self.active_packs().get(i).copied())
    }

    fn choose(&mut self, delta: isize) {
        let n = self.active_packs().len() + 1;
        self.choice = (self.choice + n).saturating_add_signed(delta) % n;
        self.show_choice();
    }

    fn show_choice(&mut self) {
        let label = match self.chosen_pack() {
            Some(p) => format!("{}: {} credits for {}", p.name, p.credits, p.price),
            None => CUSTOM.to_owned(),
        };
        let custom = self.chosen_pack().is_none();
        if let Some(f) = self.form.fields.get_mut(PACK) {
            f.input = Input::new(label);
            f.error = None;
        }
        for (i, typed, from_pack) in [
            (2, "on each card", "leave blank: the pack sets the credits"),
            (
                3,
                "of each card, like 9.99",
                "leave blank: the pack sets the price",
            ),
        ] {
            if let Some(f) = self.form.fields.get_mut(i) {
                f.hint = if custom { typed } else { from_pack };
            }
        }
    }

    pub fn packs_reply(&mut self, id: RequestId, result: Result<Vec<CreditPack>>) {
        if !matches!(self.packs, Packs::Loading(pending) if pending == id) {
            return;
        }
        let hint = match result {
            Ok(all) => {
                self.packs = Packs::Ready(all);
                if self.active_packs().is_empty() {
                    "no active credit packs: enter credits and price"
                } else {
                    "←→: credits and price, or a credit pack"
                }
            }
            Err(e) => {
                self.packs = Packs::Failed(e.to_string());
                "credit packs unavailable: enter credits and price"
            }
        };
        if let Some(f) = self.form.fields.get_mut(PACK) {
            f.hint = hint;
        }
        self.show_choice();
    }

    /// The database is back: ask for the packs again if that failed.
    pub fn retry_packs(&mut self, ctx: &mut Ctx) {
        if matches!(self.packs, Packs::Failed(_)) {
            self.packs = Packs::Loading(ctx.request(Job::GiftCardPacks));
            if let Some(f) = self.form.fields.get_mut(PACK) {
                f.hint = "loading the credit packs…";
            }
        }
    }

    pub fn in_flight(&self) -> Option<RequestId> {
        self.confirm.as_ref().and_then(|(c, _)| c.in_flight())
    }

    pub fn busy(&self) -> bool {
        self.in_flight().is_some() || matches!(self.packs, Packs::Loading(_))
    }

    pub fn is_dirty(&self) -> bool {
        self.confirm.is_some() || self.form.is_dirty()
    }

    pub fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> DialogKey {
        if let Some((confirm, req)) = &mut self.confirm {
            let done = confirm.dialog_key(key, ctx, |ctx| {
                ctx.request(Job::IssueGiftCards(req.clone()))
            });
            return done.unwrap_or_else(|| {
                self.confirm = None;
                DialogKey::Stay
            });
        }
        if self.form.focus == PACK {
            match key.code {
                KeyCode::Left => {
                    self.choose(-1);
                    return DialogKey::Stay;
                }
                KeyCode::Right | KeyCode::Char(' ') => {
                    self.choose(1);
                    return DialogKey::Stay;
                }
                // The value is chosen, not typed.
                KeyCode::Char(_) | KeyCode::Backspace | KeyCode::Delete => {
                    return DialogKey::Stay;
                }
                _ => {}
            }
        }
        match self.form.key(key) {
            FormAction::Cancel => return DialogKey::Close,
            FormAction::Submit => self.review(ctx.now),
            FormAction::None => {}
        }
        DialogKey::Stay
    }

    pub fn paste(&mut self, text: &str) {
        if self.confirm.is_none() && self.form.focus != PACK {
            self.form.paste(text);
        }
    }

    /// Checks every field with the domain's parser (as `gift-cards issue`
    /// does); if all are valid, shows the confirmation.
    fn review(&mut self, now: DateTime<Utc>) {
        self.form.clear_errors();
        let pack = self.chosen_pack().cloned();
        let v = |name: &str| Some(self.form.value(name));
        let fields = IssueFields {
            count: self.form.value("count"),
            pack: pack.as_ref().map(|p| p.name.as_str()),
            credits: v("credits"),
            price: v("price"),
            recipient: v("recipient"),
            expires_at: v("expires-at"),
            expires_in: None,
            reason: v("reason"),
        };
        let req = match fields.parse(now) {
            Ok(req) => req,
            Err(errors) => {
                self.form.set_errors(&errors);
                return;
            }
        };
        let (credits, price) = match (&req.value, &pack) {
            (CardValue::Custom { credits, price }, _) => (*credits, *price),
            (CardValue::Pack(_), Some(p)) => (p.credits, p.price),
            (CardValue::Pack(_), None) => return,
        };
        let confirm = Confirm::new(
            "Confirm: issue gift cards",
            summary_lines(&req, pack.as_ref(), credits, price, now),
        );
        self.confirm = Some((confirm, req));
    }

    /// The answer to the issue request.
    pub fn finish(&mut self, id: RequestId, result: Result<Change<Vec<IssuedCard>>>) -> Finished {
        let Some((confirm, _)) = &mut self.confirm else {
            return Finished::Stale;
        };
        if confirm.in_flight() != Some(id) {
            return Finished::Stale;
        }
        match result {
            Ok(Change::Applied(cards)) => Finished::Issued(Box::new(CodesDialog::new(cards))),
            Ok(Change::Pending(p)) => {
                confirm.finish(id, Ok(vec![crate::tui::tabs::pending_summary(&p)]));
                Finished::Pending
            }
            Err(e) => {
                let message = match &e {
                    Error::Infrastructure(_) => format!(
                        "{e}; the cards may or may not have been issued: check the list before \
                         trying again"
                    ),
                    _ => e.to_string(),
                };
                confirm.finish(id, Err(message));
                self.form.set_errors(e.field_errors());
                Finished::Failed
            }
        }
    }

    pub fn keys(&self) -> Vec<Hint> {
        match self.confirm.as_ref().map(|(c, _)| &c.state) {
            Some(ConfirmState::InFlight(_)) => vec![Hint::footer("Esc", "stop waiting")],
            Some(ConfirmState::Failed(_)) => vec![
                Hint::footer("Enter", "try again"),
                Hint::footer("Esc", "back"),
            ],
            Some(_) => vec![Hint::footer("Enter", "issue"), Hint::footer("Esc", "back")],
            None => vec![
                Hint::footer("Tab", "next field"),
                Hint::footer("←→", "choose a pack"),
                Hint::footer("Enter", "review"),
                Hint::footer("Esc", "cancel"),
            ],
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        match &self.confirm {
            Some((confirm, _)) => confirm.render(frame, area, ui.theme, ui.tick),
            None => self.form.render(frame, area, ui.theme),
        }
    }
}

/// The confirmation: count, value, credits, price, total, recipient,
/// expiry, note.
fn summary_lines(
    req: &IssueRequest,
    pack: Option<&CreditPack>,
    credits: i32,
    price: Decimal,
    now: DateTime<Utc>,
) -> Vec<(String, String)> {
    let n = req.count;
    let many = n > 1;
    let total_credits = i64::from(credits) * i64::from(n);
    let total_price = price * Decimal::from(n);
    let mut lines = vec![("cards".to_owned(), n.to_string())];
    if let Some(p) = pack {
        lines.push(("credit pack".to_owned(), p.name.clone()));
    }
    lines.push((
        "credits".to_owned(),
        if many {
            format!("{credits} each, {total_credits} in all")
        } else {
            credits.to_string()
        },
    ));
    lines.push((
        "price".to_owned(),
        if many {
            format!("{price} each")
        } else {
            price.to_string()
        },
    ));
    lines.push(("total value".to_owned(), total_price.to_string()));
    lines.push((
        "recipient".to_owned(),
        req.recipient
            .as_ref()
            .map_or_else(|| "none".to_owned(), |r| r.as_str().to_owned()),
    ));
    lines.push(("expires".to_owned(), describe_expiry(req.expires_at, now)));
    lines.push((
        "note".to_owned(),
        req.reason
            .as_ref()
            .map_or_else(|| "none".to_owned(), |r| r.as_str().to_owned()),
    ));
    lines.push((
        "codes".to_owned(),
        "shown once, next: save them to a file".to_owned(),
    ));
    lines
}

/// The issue result: the full codes, shown this once.
pub struct CodesDialog {
    cards: Vec<IssuedCard>,
    summary: String,
    nav: ListNav,
    /// The path prompt (`s`).
    pub prompt: Option<Form>,
    saving: Option<RequestId>,
    saved: Option<String>,
    /// Closing was asked once without saving: the next Enter or Esc closes.
    warned: bool,
}

impl CodesDialog {
    pub fn new(cards: Vec<IssuedCard>) -> Self {
        Self {
            summary: issued_summary(&cards),
            cards,
            nav: ListNav::default(),
            prompt: None,
            saving: None,
            saved: None,
            warned: false,
        }
    }

    pub fn summary(&self) -> &str {
        &self.summary
    }

    pub fn len(&self) -> usize {
        self.cards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
    }

    /// Where the codes were saved, if they were.
    pub fn saved_to(&self) -> Option<&str> {
        self.saved.as_deref()
    }

    pub fn busy(&self) -> bool {
        self.saving.is_some()
    }

    fn save_form(now: DateTime<Utc>) -> Form {
        let path = format!("./gift-cards-{}.csv", now.format("%Y%m%d-%H%M%S"));
        let mut form = Form::new(
            "Save the codes as CSV",
            vec![
                Field::new(
                    "output",
                    "File",
                    "a new file, readable by you only; never overwritten",
                )
                .with_value(path),
            ],
        );
        form.keys = crate::tui::widgets::form::SAVE_KEYS;
        form
    }

    pub fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> DialogKey {
        if let Some(form) = &mut self.prompt {
            if self.saving.is_some() {
                // Writing a file is quick: wait for it.
                return if is_enter(key) || is_esc(key) {
                    DialogKey::Stay
                } else {
                    DialogKey::Ignored
                };
            }
            match form.key(key) {
                FormAction::Cancel => self.prompt = None,
                FormAction::Submit => {
                    form.clear_errors();
                    match check_free_text("output", form.value("output"), 4096) {
                        Ok(p) if p.is_empty() => {
                            form.set_errors(&[InvalidInput::new("output", "enter a file name")]);
                        }
                        Ok(p) => {
                            let id = ctx.request(Job::SaveGiftCardCodes {
                                path: PathBuf::from(p),
                                cards: self.cards.clone(),
                            });
                            self.saving = Some(id);
                            form.waiting = Some("saving…");
                        }
                        Err(e) => form.set_errors(&[e]),
                    }
                }
                FormAction::None => {}
            }
            return DialogKey::Stay;
        }
        if let Some(n) = nav(key) {
            self.nav.apply(n, self.cards.len());
            return DialogKey::Stay;
        }
        if is_char(key, 's') {
            self.prompt = Some(Self::save_form(ctx.now));
            self.warned = false;
            return DialogKey::Stay;
        }
        if is_enter(key) || is_esc(key) {
            if self.saved.is_some() || self.warned {
                return DialogKey::Close;
            }
            self.warned = true;
            return DialogKey::Stay;
        }
        DialogKey::Ignored
    }

    pub fn paste(&mut self, text: &str) {
        if let Some(form) = &mut self.prompt
            && self.saving.is_none()
        {
            form.paste(text);
        }
    }

    /// The answer to the save request.
    pub fn saved(&mut self, id: RequestId, result: Result<PathBuf>) {
        if self.saving != Some(id) {
            return;
        }
        self.saving = None;
        match result {
            Ok(path) => {
                self.saved = Some(path.display().to_string());
                self.prompt = None;
            }
            Err(e) => {
                if let Some(form) = &mut self.prompt {
                    form.waiting = None;
                    if e.field_errors().is_empty() {
                        form.error = Some(e.to_string());
                    } else {
                        form.set_errors(e.field_errors());
                    }
                }
            }
        }
    }

    pub fn keys(&self) -> Vec<Hint> {
        match (&self.prompt, self.saving) {
            (Some(_), Some(_)) => vec![],
            (Some(_), None) => vec![Hint::footer("Enter", "save"), Hint::footer("Esc", "cancel")],
            (None, _) => vec![
                Hint::footer("↑↓", "scroll"),
                Hint::footer("s", "save as CSV"),
                Hint::footer("Enter Esc", "close"),
            ],
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let popup = centered(area, 78, area.height);
        if popup.is_empty() {
            return;
        }
        frame.render_widget(Clear, popup);
        let n = self.cards.len();
        let block = Block::bordered()
            .border_style(theme.focused_border())
            .title(Span::styled(
                " Issued gift cards: full codes, shown once ",
                theme.title(),
            ))
            .title_bottom(
                Line::from(format!(" row {} of {n} ", (self.nav.selected() + 1).min(n)))
                    .right_aligned(),
            );
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let inner = Rect {
            x: inner.x.saturating_add(1),
            width: inner.width.saturating_sub(2),
            ..inner
        };
        let [top, warn, header, list, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        let width = inner.width;
        frame.render_widget(
            Paragraph::new(
                safe_owned(fit(&self.summary, width.saturating_add(4))).style(theme.success()),
            ),
            top,
        );
        frame.render_widget(
            Paragraph::new(Span::styled(
                fit(
                    "Save them (s) or copy them now: they are not shown again.",
                    width.saturating_add(4),
                ),
                theme.warning(),
            )),
            warn,
        );
        frame.render_widget(
            Paragraph::new(Span::styled(
                format!(
                    "{:>6}  {:<24}  {:>7}  {:>8}  expires",
                    "id", "code", "credits", "price"
                ),
                theme.header(),
            )),
            header,
        );
        let height = usize::from(list.height);
        let from = self.nav.visible_from(n, height);
        let lines: Vec<Line> = self
            .cards
            .iter()
            .enumerate()
            .skip(from)
            .take(height)
            .map(|(i, c)| {
                let text = format!(
                    "{:>6}  {:<24}  {:>7}  {:>8}  {}",
                    c.id,
                    c.code,
                    c.credits,
                    c.price,
                    c.expires_at.map_or_else(|| "never".to_owned(), date)
                );
                let line = Line::from(safe_owned(text));
                if i == self.nav.selected() {
                    line.style(theme.selected())
                } else {
                    line
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), list);
        let status_line = if let Some(path) = &self.saved {
            Line::from(
                safe_owned(fit(
                    &format!("saved to {path} (readable by you only)"),
                    width.saturating_add(4),
                ))
                .style(theme.success()),
            )
        } else if self.saving.is_some() {
            Line::from(Span::styled(
                spinner::loading(ui.tick, "saving…"),
                theme.warning(),
            ))
        } else if self.warned {
            Line::from(Span::styled(
                fit(
                    "Not saved: Enter or Esc again closes, and the codes are gone. s saves.",
                    width.saturating_add(4),
                ),
                theme.error(),
            ))
        } else {
            Line::from(vec![
                Span::styled("↑↓", theme.key()),
                Span::raw(" scroll   "),
                Span::styled("s", theme.key()),
                Span::raw(" save as CSV   "),
                Span::styled("Enter", theme.key()),
                Span::raw(" close"),
            ])
        };
        frame.render_widget(Paragraph::new(status_line), status);
        if let Some(form) = &self.prompt {
            form.render(frame, area, theme);
        }
    }
}
