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
use ratatui::widgets::Paragraph;
use rust_decimal::Decimal;
use tui_input::Input;

use crate::db::gift_cards::{CardValue, CreditPack, IssueRequest, IssuedCard};
use crate::domain::InvalidInput;
use crate::domain::gift_card_issue::{IssueFields, issued_summary};
use crate::domain::text::check_free_text;
use crate::error::Error;
use crate::tui::change::{Change, Done, Review, unexpected, unreadable};
use crate::tui::command::{Job, Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::dialog::{Dialog, Step};
use crate::tui::format::{date, when};
use crate::tui::keymap::{Allow, Bind, Hint, Key, Keymap, always, key_line};
use crate::tui::keys::nav;
use crate::tui::tabs::Ui;
use crate::tui::widgets::popup::{self, centered};
use crate::tui::widgets::{Field, Form, FormAction, ListNav, fit, safe_owned, spinner};

/// The form's value field: not typed in, chosen with ←/→.
const PACK: usize = 1;
const CUSTOM: &str = "credits and price below";

/// The credit packs for the value selector.
#[derive(Debug, Clone)]
pub enum Packs {
    Loading(RequestId),
    Ready(Vec<CreditPack>),
    Failed,
}

/// Issuing cards: the form's value is a credit pack chosen with ←→, or
/// credits and a price typed.
pub struct Issue {
    pub packs: Packs,
    /// 0: credits and price as typed; n: the n-th active pack.
    pub choice: usize,
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

impl Issue {
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

    fn choose(&mut self, form: &mut Form, delta: isize) {
        let n = self.active_packs().len() + 1;
        self.choice = (self.choice + n).saturating_add_signed(delta) % n;
        self.show_choice(form);
    }

    fn show_choice(&self, form: &mut Form) {
        let label = match self.chosen_pack() {
            Some(p) => format!("{}: {} credits for {}", p.name, p.credits, p.price),
            None => CUSTOM.to_owned(),
        };
        let custom = self.chosen_pack().is_none();
        if let Some(f) = form.fields.get_mut(PACK) {
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
            if let Some(f) = form.fields.get_mut(i) {
                f.hint = if custom { typed } else { from_pack };
            }
        }
    }
}

impl Change for Issue {
    type Input = IssueRequest;

    fn question(&self) -> String {
        "Confirm: issue gift cards".into()
    }

    fn verb(&self) -> &'static str {
        "issue"
    }

    fn applying(&self) -> &'static str {
        "Gift cards are being issued"
    }

    /// The form, and the request for the credit packs.
    fn form(&mut self, ctx: &mut Ctx) -> Option<Form> {
        self.packs = Packs::Loading(ctx.request(Job::GiftCardPacks));
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
        Some(form)
    }

    /// The value is chosen with ←→ (or space), not typed.
    fn form_key(&mut self, form: &mut Form, key: &KeyEvent, _ctx: &mut Ctx) -> bool {
        if form.focus != PACK {
            return false;
        }
        match key.code {
            KeyCode::Left => self.choose(form, -1),
            KeyCode::Right | KeyCode::Char(' ') => self.choose(form, 1),
            KeyCode::Char(_) | KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        true
    }

    fn form_reply(
        &mut self,
        form: &mut Form,
        id: RequestId,
        outcome: Outcome,
        _ctx: &mut Ctx,
    ) -> Result<(), Outcome> {
        let Outcome::GiftCardPacks(result) = outcome else {
            return Err(outcome);
        };
        if !matches!(self.packs, Packs::Loading(pending) if pending == id) {
            return Ok(());
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
                tracing::warn!(error = %e, "credit packs unavailable");
                self.packs = Packs::Failed;
                "credit packs unavailable: enter credits and price"
            }
        };
        if let Some(f) = form.fields.get_mut(PACK) {
            f.hint = hint;
        }
        self.show_choice(form);
        Ok(())
    }

    fn form_busy(&self) -> bool {
        matches!(self.packs, Packs::Loading(_))
    }

    /// The database is back: ask for the packs again if that failed.
    fn form_retry(&mut self, form: &mut Form, ctx: &mut Ctx) {
        if matches!(self.packs, Packs::Failed) {
            self.packs = Packs::Loading(ctx.request(Job::GiftCardPacks));
            if let Some(f) = form.fields.get_mut(PACK) {
                f.hint = "loading the credit packs…";
            }
        }
    }

    /// The domain's parser, as `gift-cards issue` uses it.
    fn parse(
        &self,
        form: Option<&Form>,
        now: DateTime<Utc>,
    ) -> Result<IssueRequest, Vec<InvalidInput>> {
        let v = |name| form.map(|f| f.value(name));
        IssueFields {
            count: v("count").unwrap_or(""),
            pack: self.chosen_pack().map(|p| p.name.as_str()),
            credits: v("credits"),
            price: v("price"),
            recipient: v("recipient"),
            expires_at: v("expires-at"),
            expires_in: None,
            reason: v("reason"),
        }
        .parse(now)
    }

    /// A pack's credits and price as they are now.
    fn fresh(&self, req: &IssueRequest) -> Vec<Job> {
        match req.value {
            CardValue::Pack(_) => vec![Job::GiftCardPacks],
            CardValue::Custom { .. } => Vec::new(),
        }
    }

    fn review(&mut self, req: &IssueRequest, fresh: Vec<Outcome>, now: DateTime<Utc>) -> Review {
        let pack = match (&req.value, fresh.into_iter().next()) {
            (CardValue::Pack(name), Some(Outcome::GiftCardPacks(Ok(all)))) => {
                match all.into_iter().find(|p| &p.name == name && p.is_active) {
                    Some(p) => Some(p),
                    None => {
                        return Review::Refused(format!(
                            "the credit pack {name} is no longer offered"
                        ));
                    }
                }
            }
            (CardValue::Pack(_), Some(Outcome::GiftCardPacks(Err(e)))) => {
                return unreadable("the credit packs", Some(&e));
            }
            (CardValue::Pack(_), _) => return unreadable("the credit packs", None),
            (CardValue::Custom { .. }, _) => None,
        };
        let (credits, price) = match (&req.value, &pack) {
            (CardValue::Custom { credits, price }, _) => (*credits, *price),
            (CardValue::Pack(_), Some(p)) => (p.credits, p.price),
            (CardValue::Pack(name), None) => {
                return Review::Refused(format!("the credit pack {name} is no longer offered"));
            }
        };
        Review::Confirm(summary_lines(req, pack.as_ref(), credits, price, now))
    }

    fn job(&self, req: &IssueRequest) -> Job {
        Job::IssueGiftCards(req.clone())
    }

    fn done(&mut self, outcome: Outcome) -> Result<Done, Error> {
        match outcome {
            Outcome::GiftCardsIssued(r) => r.map(|booked| {
                Done::of(booked, |cards| {
                    let codes = CodesDialog::new(cards);
                    let mut done = Done::new("Gift cards issued", vec![codes.summary().to_owned()]);
                    done.then = Some(Box::new(codes));
                    done
                })
            }),
            other => Err(unexpected(&other)),
        }
    }

    fn unknown_outcome(&self) -> &'static str {
        "the cards may or may not have been issued: check the list before trying again"
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodesKey {
    Scroll,
    Save,
    Close,
}

const CODES_KEYS: Keymap<CodesKey> = Keymap(&[
    Bind::new(&[], "↑↓", "scroll", CodesKey::Scroll).footer(),
    Bind::new(&[Key::Char('s')], "s", "save as CSV", CodesKey::Save).footer(),
    Bind::new(
        &[Key::Code(KeyCode::Enter), Key::Code(KeyCode::Esc)],
        "Enter",
        "close",
        CodesKey::Close,
    )
    .footer(),
]);

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
}

impl Dialog for CodesDialog {
    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Step {
        if let Some(form) = &mut self.prompt {
            if self.saving.is_some() {
                // Writing a file is quick: wait for it.
                return if matches!(key.code, KeyCode::Enter | KeyCode::Esc) {
                    Step::Stay
                } else {
                    Step::Ignored
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
            return Step::Stay;
        }
        if let Some(n) = nav(key) {
            self.nav.apply(n, self.cards.len());
            return Step::Stay;
        }
        match CODES_KEYS.find(key, ctx.allow, always) {
            Some(CodesKey::Save) => {
                self.prompt = Some(Self::save_form(ctx.now));
                self.warned = false;
                Step::Stay
            }
            Some(CodesKey::Close) => {
                if self.saved.is_some() || self.warned {
                    return Step::Close;
                }
                self.warned = true;
                Step::Stay
            }
            Some(CodesKey::Scroll) | None => Step::Ignored,
        }
    }

    fn paste(&mut self, text: &str) -> bool {
        match &mut self.prompt {
            Some(form) if self.saving.is_none() => {
                form.paste(text);
                true
            }
            _ => false,
        }
    }

    /// The answer to the save request.
    fn reply(&mut self, id: RequestId, outcome: Outcome, _ctx: &mut Ctx) -> Result<Step, Outcome> {
        let Outcome::GiftCardCodesSaved(result) = outcome else {
            return Err(outcome);
        };
        if self.saving != Some(id) {
            return Ok(Step::Stay);
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
        Ok(Step::Stay)
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        match (&self.prompt, self.saving) {
            (Some(_), Some(_)) => vec![],
            (Some(form), None) => form.hints(),
            (None, _) => CODES_KEYS.hints(allow, always),
        }
    }

    fn busy(&self) -> bool {
        self.saving.is_some()
    }

    fn unsaved(&self) -> Option<String> {
        self.saved.is_none().then(|| {
            "The issued gift card codes are not saved and will not be shown again".to_owned()
        })
    }

    fn holds(&self) -> bool {
        true
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let popup = centered(area, 78, area.height);
        if popup.is_empty() {
            return;
        }
        let n = self.cards.len();
        let row = format!(" row {} of {n} ", (self.nav.selected() + 1).min(n));
        let inner = popup::open_with(
            frame,
            popup,
            theme,
            "Issued gift cards: full codes, shown once",
            |b| b.title_bottom(Line::from(row).right_aligned()),
        );
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
            key_line(&CODES_KEYS.hints(ui.allow, always), theme)
        };
        frame.render_widget(Paragraph::new(status_line), status);
        if let Some(form) = &self.prompt {
            form.render(frame, area, theme);
        }
    }
}
