//! Tab 2, Gift cards: the cards newest first, paged as you scroll (keyset
//! on creation time and id), by status (`s` cycles all, pending, active,
//! redeemed, expired, revoked) and by a code's last characters or a
//! recipient (`/`); a card's detail (Enter); issuing one or many (`n`), whose
//! result shows full codes, with saving them to a CSV file; revoking the
//! selected card (`x`/`d`), redeeming one for a user (`r`: the code the
//! customer reads out, or the selected card) and revealing a card's code
//! (`v`, recorded in the audit log).
//!
//! Codes are secrets: the list and every dialog show them masked, but the
//! issue result and the reveal popup. Revoke, reveal and links name a card
//! by its id (`CardKey::Id`), so the operator never types a code they
//! can't see; a typed code (redeem) is shown masked while typed.

mod change;
mod issue;
mod reveal;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::{Below, Copied, Handled, Tab, Ui};
use crate::db::gift_cards::{
    CardKey, GiftCard, GiftCardFilter, ListCursor, RecipientEmail, parse_code_suffix,
};
use crate::domain::InvalidInput;
use crate::domain::gift_card::{GiftCardStatus, check_revocable};
use crate::domain::role::Action;
use crate::tui::app::Msg;
use crate::tui::command::{Job, Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::format::{date, when};
use crate::tui::keymap::{Allow, Bind, ENTER, ESC, Hint, Key, Keymap, always, key_line};
use crate::tui::keys::nav;
use crate::tui::link::Link;
use crate::tui::theme::Theme;
use crate::tui::widgets::popup::message;
use crate::tui::widgets::search::SearchField;
use crate::tui::widgets::{
    Fetch, ListTable, PagedWindow, Poll, Received, fit, id_width, paged_status, render_empty,
    safe_opt, safe_owned, spinner,
};

use crate::tui::change::ChangeDialog;
use crate::tui::dialog::{Dialogs, Event, Message};
use crate::tui::secret::{CardRef, RevealedCode, TypedCode};
use issue::Issue;
use reveal::Reveal;

/// Cards per page.
pub const PAGE: i64 = 100;
/// Pages held at most (the window never holds more than PAGE * MAX_PAGES).
pub const MAX_PAGES: usize = 6;
/// Fetch the next page when the selection comes this close to an edge.
const MARGIN: usize = 20;
/// From this inner width on, the list shows whole masked codes and more
/// columns.
const WIDE: u16 = 120;

/// What a key does on the card list or a card's detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Details,
    Status,
    StatusBack,
    Search,
    Issue,
    Revoke,
    Redeem,
    Reveal,
    OpenUser,
    Clear,
}

const LIST_KEYS: Keymap<Act> = Keymap(&[
    Bind::new(ENTER, "Enter", "details", Act::Details).footer(),
    Bind::new(&[Key::Char('s')], "s", "status", Act::Status).footer(),
    Bind::new(&[Key::Char('/')], "/", "search", Act::Search).footer(),
    Bind::new(&[Key::Char('n')], "n", "issue", Act::Issue)
        .footer()
        .writes(Action::GiftCardIssue),
    Bind::new(&[Key::Char('x')], "x", "revoke", Act::Revoke)
        .footer()
        .writes(Action::GiftCardRevoke),
    Bind::new(&[Key::Char('r')], "r", "redeem", Act::Redeem)
        .footer()
        .writes(Action::GiftCardRedeem),
    Bind::new(&[Key::Char('d')], "d", "revoke", Act::Revoke).writes(Action::GiftCardRevoke),
    Bind::new(
        &[Key::Char('v')],
        "v",
        "reveal the full code (audit logged)",
        Act::Reveal,
    )
    .writes(Action::GiftCardReveal),
    Bind::new(&[Key::Char('S')], "S", "status, backwards", Act::StatusBack),
    Bind::new(
        ESC,
        "Esc",
        "clear the status and search / stop loading",
        Act::Clear,
    ),
]);

const DETAIL_KEYS: Keymap<Act> = Keymap(&[
    Bind::new(
        &[Key::Char('x'), Key::Char('d')],
        "x d",
        "revoke",
        Act::Revoke,
    )
    .footer()
    .writes(Action::GiftCardRevoke),
    Bind::new(&[Key::Char('r')], "r", "redeem", Act::Redeem)
        .footer()
        .writes(Action::GiftCardRedeem),
    Bind::new(&[Key::Char('v')], "v", "reveal", Act::Reveal)
        .footer()
        .writes(Action::GiftCardReveal),
    Bind::new(ENTER, "Enter", "open the user", Act::OpenUser).footer(),
    Bind::new(ESC, "Esc", "close", Act::Clear).footer(),
]);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    Stop,
}

const LOADING_KEYS: Keymap<Wait> =
    Keymap(&[Bind::new(ESC, "Esc", "stop waiting", Wait::Stop).footer()]);
/// The search line's hints while typing.
const SEARCH_HINT: Hint = Hint::help("", "a code's last characters (JKMN) or a recipient's email");

/// The status choices, in the order `s` cycles them (`None`: all).
pub const STATUSES: [Option<GiftCardStatus>; 6] = [
    None,
    Some(GiftCardStatus::Pending),
    Some(GiftCardStatus::Active),
    Some(GiftCardStatus::Redeemed),
    Some(GiftCardStatus::Expired),
    Some(GiftCardStatus::Revoked),
];

fn status_label(s: Option<GiftCardStatus>) -> &'static str {
    s.map_or("all", GiftCardStatus::as_str)
}

/// What `/` looks for: a code's last characters, or a recipient's email.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Search {
    #[default]
    None,
    Suffix(String),
    Recipient(RecipientEmail),
}

impl Search {
    /// Text with an `@` is a recipient, anything else a code's end; both
    /// with the parsers the CLI's `--recipient` and `--code-suffix` use.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let t = text.trim();
        if t.is_empty() {
            Ok(Search::None)
        } else if t.contains('@') {
            RecipientEmail::parse(t).map(Search::Recipient)
        } else {
            parse_code_suffix(t).map(Search::Suffix)
        }
    }

    fn describe(&self) -> Option<String> {
        match self {
            Search::None => None,
            Search::Suffix(s) => Some(format!("code …{s}")),
            Search::Recipient(r) => Some(format!("for {}", r.as_str())),
        }
    }
}

/// The filter in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub status: Option<GiftCardStatus>,
    pub search: Search,
}

/// A card shown over the list (its detail), or on its way (a link's).
enum Page {
    Card(Box<GiftCard>),
    /// `gift_cards::show` by id.
    Loading {
        id: i32,
        request: RequestId,
    },
}

pub struct GiftCardsTab {
    window: PagedWindow<GiftCard, ListCursor>,
    filter: Filter,
    /// The search line (`/`): Enter applies what it holds.
    search: SearchField,
    search_error: Option<String>,
    page: Option<Page>,
    /// Cards opened before, by links: back returns to them.
    below: Below<Page>,
    dialogs: Dialogs,
    /// The last thing done here (e.g. the card revoked).
    notice: Option<String>,
    poll: Poll,
    /// The limit of the request on its way.
    limit: i64,
    started: bool,
}

impl Default for GiftCardsTab {
    fn default() -> Self {
        Self {
            window: PagedWindow::new(MAX_PAGES, MARGIN, PAGE as usize, GiftCard::cursor),
            poll: Poll::default(),
            limit: PAGE,
            filter: Filter::default(),
            search: SearchField::default(),
            search_error: None,
            page: None,
            below: Below::default(),
            dialogs: Dialogs::default(),
            notice: None,
            started: false,
        }
    }
}

/// The letters and digits a masked code still shows (its last four).
pub fn visible_tail(masked: &str) -> String {
    masked
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A masked code cut from the left to `width` characters.
fn short_code(masked: &str, width: usize) -> String {
    let n = masked.chars().count();
    if n <= width {
        return masked.to_owned();
    }
    let keep: String = masked.chars().skip(n - width.saturating_sub(1)).collect();
    format!("…{keep}")
}

fn status_style(theme: &Theme, s: GiftCardStatus) -> Style {
    match s {
        GiftCardStatus::Active => theme.success(),
        GiftCardStatus::Pending => theme.warning(),
        GiftCardStatus::Revoked => theme.error(),
        GiftCardStatus::Redeemed | GiftCardStatus::Expired => theme.dim(),
    }
}

/// `expired (stored as active)` when the date overrides the stored status.
fn status_text(c: &GiftCard) -> String {
    if c.status == c.stored_status {
        c.status.to_string()
    } else {
        format!("{} (stored as {})", c.status, c.stored_status)
    }
}

fn redeemer(c: &GiftCard) -> Option<String> {
    match (&c.redeemed_by_email, c.redeemed_by_user_id) {
        (Some(email), Some(id)) => Some(format!("{email} (#{id})")),
        (Some(email), None) => Some(email.clone()),
        (None, Some(id)) => Some(format!("user #{id}")),
        (None, None) => None,
    }
}

impl GiftCardsTab {
    fn load(&mut self, fetch: Fetch<ListCursor>, ctx: &mut Ctx) {
        let (recipient, code_suffix) = match &self.filter.search {
            Search::None => (None, None),
            Search::Suffix(s) => (None, Some(s.clone())),
            Search::Recipient(r) => (Some(r.clone()), None),
        };
        self.limit = self.window.limit(fetch);
        let id = ctx.request(Job::GiftCards(GiftCardFilter {
            status: self.filter.status,
            recipient,
            code_suffix,
            before: fetch.before(),
            limit: self.limit,
        }));
        ctx.cancel(self.window.begin(id, fetch));
    }

    /// The filter changed: from the newest card, selection on top.
    fn restart(&mut self, ctx: &mut Ctx) {
        self.window.nav.reset();
        self.load(Fetch::First, ctx);
    }

    /// Loads again what is shown: in place when it can (the selection and
    /// scroll position stay), else the first page.
    fn reload(&mut self, ctx: &mut Ctx) {
        self.load(self.window.refresh(), ctx);
    }

    fn more(&mut self, ctx: &mut Ctx) {
        if let Some(fetch) = self.window.wanted() {
            self.load(fetch, ctx);
        }
    }

    fn set_status(&mut self, status: Option<GiftCardStatus>, ctx: &mut Ctx) {
        if status != self.filter.status {
            self.filter.status = status;
            self.restart(ctx);
        }
    }

    fn cycle_status(&mut self, forward: bool, ctx: &mut Ctx) {
        let n = STATUSES.len();
        let i = STATUSES
            .iter()
            .position(|s| *s == self.filter.status)
            .unwrap_or(0);
        let next = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.set_status(STATUSES[next], ctx);
    }

    /// The search line has the keys: Enter applies, Esc puts back what was
    /// in force.
    fn search_key(&mut self, key: &KeyEvent, ctx: &mut Ctx) {
        match key.code {
            KeyCode::Esc => {
                self.search.editing = false;
                self.search_error = None;
                self.search.input = Input::new(self.search_text());
            }
            KeyCode::Enter => match Search::parse(self.search.value()) {
                Ok(search) => {
                    self.search.editing = false;
                    self.search_error = None;
                    if search != self.filter.search {
                        self.filter.search = search;
                        self.restart(ctx);
                    }
                }
                Err(e) => self.search_error = Some(e.message),
            },
            _ => {
                if self
                    .search
                    .input
                    .handle_event(&TermEvent::Key(*key))
                    .is_some()
                {
                    self.search_error = None;
                }
            }
        }
    }

    /// The search in force, as the operator would type it.
    fn search_text(&self) -> String {
        match &self.filter.search {
            Search::None => String::new(),
            Search::Suffix(s) => s.clone(),
            Search::Recipient(r) => r.as_str().to_owned(),
        }
    }

    /// The changes on a card, from the list (`card` is the selected one, if
    /// any) or its detail; only what can be done to it is offered.
    fn card_change(&mut self, act: Act, card: Option<&GiftCard>, ctx: &mut Ctx) {
        self.notice = None;
        match (act, card) {
            // An empty code means the selected card; without one, the code
            // the customer reads out.
            (Act::Redeem, card) => {
                let redeem = change::Redeem::new(card.filter(|c| redeemable(c)).cloned());
                self.dialogs.open(ChangeDialog::open(redeem, ctx));
            }
            (Act::Revoke, Some(card)) if revocable(card) => {
                let revoke = change::Revoke { card: card.clone() };
                self.dialogs.open(ChangeDialog::open(revoke, ctx));
            }
            (Act::Reveal, Some(card)) => {
                let reveal = Reveal { card: card.clone() };
                self.dialogs.open(ChangeDialog::open(reveal, ctx));
            }
            _ => {}
        }
    }

    fn event(&mut self, event: Option<Event>, ctx: &mut Ctx) {
        match event {
            Some(Event::Changed(notice)) => {
                self.notice = Some(notice);
                self.reload(ctx);
            }
            Some(Event::Notice(notice)) => self.notice = Some(notice),
            Some(Event::Filter(_)) | None => {}
        }
    }

    fn page_key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Handled {
        match &self.page {
            Some(Page::Card(card)) => {
                let card = card.as_ref().clone();
                match DETAIL_KEYS.find(key, ctx.allow, |a| detail_offers(&card, a)) {
                    // The app goes back (through the links followed).
                    Some(Act::Clear) => return Handled::No,
                    Some(Act::OpenUser) => {
                        if let Some(user) = card.redeemed_by_user_id {
                            ctx.emit(Msg::Open(Link::User(user)));
                        }
                    }
                    Some(act) => self.card_change(act, Some(&card), ctx),
                    None => return Handled::No,
                }
            }
            Some(Page::Loading { request, .. }) => {
                match LOADING_KEYS.find(key, ctx.allow, always) {
                    Some(Wait::Stop) => {
                        ctx.cancel(Some(*request));
                        self.below.pop(&mut self.page);
                    }
                    None => return Handled::No,
                }
            }
            None => return Handled::No,
        }
        Handled::Yes
    }
}

impl Tab for GiftCardsTab {
    /// The first time, the newest cards; shown again, loaded again.
    fn activate(&mut self, ctx: &mut Ctx) {
        if self.started {
            self.reload(ctx);
        } else {
            self.started = true;
            self.load(Fetch::First, ctx);
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        if self.poll.due(ctx.now) && self.window.reloadable() && self.polls() {
            self.load(Fetch::Reload, ctx);
        }
    }

    /// The list, with nothing over it.
    fn polls(&self) -> bool {
        !self.dialogs.is_open() && self.page.is_none() && !self.search.editing
    }

    fn pause(&mut self) {
        self.poll.toggle();
    }

    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Handled {
        if self.dialogs.is_open() {
            let (handled, event) = self.dialogs.key(key, ctx);
            self.event(event, ctx);
            return handled;
        }
        if self.page.is_some() {
            return self.page_key(key, ctx);
        }
        if self.search.editing {
            self.search_key(key, ctx);
            return Handled::Yes;
        }
        if let Some(n) = nav(key) {
            if let Some(fetch) = self.window.apply(n) {
                self.load(fetch, ctx);
            }
            self.more(ctx);
            return Handled::Yes;
        }
        let selected = self.window.selected().cloned();
        match LIST_KEYS.find(key, ctx.allow, |a| list_offers(selected.as_ref(), a)) {
            Some(Act::Details) => {
                if let Some(card) = selected {
                    self.page = Some(Page::Card(Box::new(card)));
                }
            }
            Some(Act::Search) => {
                self.search.editing = true;
                self.search_error = None;
            }
            Some(Act::Status) => self.cycle_status(true, ctx),
            Some(Act::StatusBack) => self.cycle_status(false, ctx),
            Some(Act::Issue) => {
                self.notice = None;
                let issue = Issue {
                    packs: issue::Packs::Ready(Vec::new()),
                    choice: 0,
                };
                self.dialogs.open(ChangeDialog::open(issue, ctx));
            }
            Some(Act::Clear) if self.window.is_loading() => ctx.cancel(self.window.cancel()),
            Some(Act::Clear) if self.filter != Filter::default() => {
                self.filter = Filter::default();
                self.search.input = Input::default();
                self.restart(ctx);
            }
            Some(act @ (Act::Revoke | Act::Redeem | Act::Reveal)) => {
                self.card_change(act, selected.as_ref(), ctx);
            }
            Some(Act::Clear | Act::OpenUser) | None => return Handled::No,
        }
        Handled::Yes
    }

    fn paste(&mut self, text: &str, _ctx: &mut Ctx) -> Handled {
        let used = if self.dialogs.is_open() {
            self.dialogs.paste(text)
        } else {
            self.page.is_none() && self.search.paste(text)
        };
        if used { Handled::Yes } else { Handled::No }
    }

    fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx) {
        let outcome = match self.dialogs.reply(id, outcome, ctx) {
            Ok(event) => {
                if let Some(Event::Changed(_)) = &event
                    && self.dialogs.holds()
                {
                    // Issued: the codes show; the list starts over, newest
                    // first, to show the new cards.
                    self.filter = Filter::default();
                    self.search.input = Input::default();
                    self.window.nav.reset();
                }
                return self.event(event, ctx);
            }
            Err(outcome) => outcome,
        };
        match outcome {
            Outcome::GiftCards(result) => {
                let limit = self.limit;
                let page = result
                    .map(|rows| {
                        let next = (rows.len() as i64 >= limit)
                            .then(|| rows.last().map(GiftCard::cursor))
                            .flatten();
                        (rows, next)
                    })
                    .map_err(|e| e.to_string());
                match self.window.receive(id, page) {
                    Received::Applied => {
                        self.poll.loaded(ctx.now);
                        self.more(ctx);
                    }
                    Received::Restart => self.restart(ctx),
                    Received::Stale | Received::Failed => {}
                }
            }
            Outcome::GiftCard(result) => {
                let Some(Page::Loading { request, .. }) = &self.page else {
                    return;
                };
                if *request != id {
                    return;
                }
                match result {
                    Ok(card) => {
                        let listed = self.window.iter().position(|c| c.id == card.id);
                        if let Some(i) = listed {
                            let len = self.window.len();
                            self.window.nav.select(i, len);
                        }
                        self.page = Some(Page::Card(card));
                    }
                    Err(e) => {
                        self.below.pop(&mut self.page);
                        self.dialogs.open(Message::refusal(
                            "Cannot open the gift card",
                            vec![e.to_string()],
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    fn open(&mut self, link: &Link, ctx: &mut Ctx) -> bool {
        let Link::GiftCard { id, .. } = link else {
            return false;
        };
        // Full codes on screen or a change on its way stay where they are.
        if self.dialogs.holds() {
            return true;
        }
        self.dialogs.close();
        // A link's card still on its way is replaced, not kept below.
        if let Some(Page::Loading { request, .. }) = &self.page {
            ctx.cancel(Some(*request));
            self.below.pop(&mut self.page);
        }
        self.search.editing = false;
        self.search_error = None;
        self.notice = None;
        if !self.started {
            self.started = true;
            self.load(Fetch::First, ctx);
        }
        // By id, straight from the database: the card needn't be listed.
        let request = ctx.request(Job::GiftCard {
            card: CardKey::Id(*id),
        });
        self.below
            .push(&mut self.page, Page::Loading { id: *id, request });
        true
    }

    fn depth(&self) -> usize {
        self.below.depth(&self.page)
    }

    fn back(&mut self, ctx: &mut Ctx) {
        if let Some(Page::Loading { request, .. }) = self.below.pop(&mut self.page) {
            ctx.cancel(Some(request));
        }
        self.reload(ctx);
    }

    /// The list with its filter (codes masked, as the list has them).
    fn export(&self) -> Option<crate::tui::export::Export> {
        if self.dialogs.is_open() || self.search.editing || self.page.is_some() {
            return None;
        }
        let (recipient, code_suffix) = match &self.filter.search {
            Search::None => (None, None),
            Search::Suffix(s) => (None, Some(s.clone())),
            Search::Recipient(r) => (Some(r.clone()), None),
        };
        let filter = GiftCardFilter {
            status: self.filter.status,
            recipient,
            code_suffix,
            before: None,
            limit: 0,
        };
        Some(crate::tui::export::Export {
            list: "gift-cards",
            source: crate::tui::export::Source::GiftCards(filter),
        })
    }

    /// A code's last characters (what the list shows): never a full code.
    fn copy(&self) -> Option<Copied> {
        if self.dialogs.is_open() || self.search.editing {
            return None;
        }
        let card = match &self.page {
            Some(Page::Card(c)) => c.as_ref(),
            Some(Page::Loading { .. }) => return None,
            None => self.window.selected()?,
        };
        Some(Copied::new(
            "code's last characters",
            visible_tail(&card.code_masked),
        ))
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        self.started = true;
        self.reload(ctx);
    }

    fn retry(&mut self, ctx: &mut Ctx) {
        if let Some(fetch) = self.window.take_failed() {
            self.load(fetch, ctx);
        }
        self.dialogs.retry(ctx);
    }

    fn modal(&self) -> bool {
        self.dialogs.is_open() || self.page.is_some() || self.search.editing
    }

    fn unsaved(&self) -> Option<String> {
        self.dialogs.unsaved()
    }

    fn busy(&self) -> bool {
        self.window.is_loading()
            || self.dialogs.busy()
            || matches!(self.page, Some(Page::Loading { .. }))
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        if let Some(h) = self.dialogs.hints(allow) {
            return h;
        }
        match &self.page {
            Some(Page::Card(card)) => DETAIL_KEYS.hints(allow, |a| detail_offers(card, a)),
            Some(Page::Loading { .. }) => LOADING_KEYS.hints(allow, always),
            None if self.search.editing => {
                let mut keys = crate::tui::widgets::search::APPLY_KEYS.hints(allow, always);
                keys.push(SEARCH_HINT);
                keys
            }
            None => {
                let selected = self.window.selected();
                LIST_KEYS.hints(allow, |a| list_offers(selected, a))
            }
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let [status_row, search_row, list] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(area);
        self.render_statuses(frame, status_row, ui.theme);
        self.search.render(
            frame,
            search_row,
            ui.theme,
            " Search  ",
            "press / for a code's last characters or a recipient's email",
            self.search_error.as_deref(),
        );
        self.render_list(frame, list, ui);
        self.render_page(frame, area, ui);
        self.dialogs.render(frame, area, ui);
    }
}

impl GiftCardsTab {
    fn render_page(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        match &self.page {
            Some(Page::Card(card)) => render_detail(frame, area, ui, card),
            Some(Page::Loading { id, .. }) => {
                let theme = ui.theme;
                let lines = vec![
                    Line::from(Span::styled(
                        spinner::loading(ui.tick, "loading…"),
                        theme.warning(),
                    )),
                    Line::raw(""),
                    key_line(&LOADING_KEYS.hints(ui.allow, always), theme),
                ];
                message(frame, area, theme, &format!("Gift card #{id}"), lines);
            }
            None => {}
        }
    }
}

impl GiftCardsTab {
    /// `Status  all  pending  active  …`, the one in force highlighted.
    fn render_statuses(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let mut spans = vec![Span::styled(" Status  ", theme.dim())];
        for s in STATUSES {
            let label = status_label(s);
            if s == self.filter.status {
                spans.push(Span::styled(format!(" {label} "), theme.selected()));
            } else {
                spans.push(Span::raw(format!(" {label} ")));
            }
        }
        spans.push(Span::styled("  s/S change", theme.dim()));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    fn render_list(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let w = &self.window;
        let mut title = vec![Span::raw(" Gift cards")];
        let mut parts = Vec::new();
        if let Some(s) = self.filter.status {
            parts.push(s.as_str().to_owned());
        }
        if let Some(s) = self.filter.search.describe() {
            parts.push(s);
        }
        if !parts.is_empty() {
            title.push(Span::styled(" · ", theme.warning()));
            title.push(safe_owned(parts.join(", ")));
        }
        if self.poll.paused() {
            title.push(Span::styled(" · paused (p)", theme.warning()));
        }
        title.push(Span::raw(" "));
        let status = paged_status(w, area.width, theme, ui.tick);
        let mut block = Block::bordered()
            .border_style(theme.border())
            .title(Line::from(title))
            .title_bottom(Line::from(status).right_aligned());
        if let Some(n) = &self.notice {
            let room = area.width.saturating_sub(24);
            block = block.title_bottom(Line::from(Span::styled(
                fit(&format!(" {n} "), room),
                theme.success(),
            )));
        }
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if inner.is_empty() {
            return;
        }
        if w.is_empty() {
            let text = if w.loaded() && w.error().is_none() {
                if self.filter == Filter::default() {
                    "no gift cards yet"
                } else {
                    "no gift cards match"
                }
            } else {
                ""
            };
            render_empty(frame, inner, theme, text);
            return;
        }
        let wide = inner.width >= WIDE;
        let code_width: u16 = if wide { 24 } else { 10 };
        let mut table = ListTable::new(theme)
            .column(
                "id",
                Constraint::Length(id_width(w.iter().map(|c| i64::from(c.id)), 6)),
            )
            .column("code", Constraint::Length(code_width))
            .column("status", Constraint::Length(8))
            .column(Line::from("credits").right_aligned(), Constraint::Length(7))
            .column(Line::from("price").right_aligned(), Constraint::Length(8))
            .column("recipient", Constraint::Fill(2))
            .column("expires", Constraint::Length(10));
        if wide {
            table = table
                .column("created", Constraint::Length(16))
                .column("redeemed by", Constraint::Fill(2));
        }
        table.render(frame, inner, &w.nav, w.len(), w.iter(), |c| {
            let mut cells = vec![
                Cell::from(format!("#{}", c.id)),
                Cell::from(safe_owned(short_code(
                    &c.code_masked,
                    usize::from(code_width),
                ))),
                Cell::from(Span::styled(
                    c.status.as_str(),
                    status_style(theme, c.status),
                )),
                Cell::from(Line::from(c.credits.to_string()).right_aligned()),
                Cell::from(Line::from(c.price.to_string()).right_aligned()),
                Cell::from(safe_opt(c.recipient_email.as_deref())),
                Cell::from(c.expires_at.map_or_else(|| "never".to_owned(), date)),
            ];
            if wide {
                cells.push(Cell::from(when(c.created_at)));
                cells.push(Cell::from(safe_owned(
                    redeemer(c).unwrap_or_else(|| "-".into()),
                )));
            }
            Row::new(cells)
        });
    }
}

/// What the list offers with `selected` (or nothing) selected.
fn list_offers(selected: Option<&GiftCard>, act: Act) -> bool {
    match (act, selected) {
        (Act::Reveal | Act::Details, s) => s.is_some(),
        (Act::Revoke, Some(c)) => revocable(c),
        (Act::Revoke, None) => false,
        // With nothing selected a code is typed.
        (Act::Redeem, Some(c)) => redeemable(c),
        (Act::OpenUser, _) => false,
        _ => true,
    }
}

/// What a card's detail offers: only what can be done to it.
fn detail_offers(card: &GiftCard, act: Act) -> bool {
    match act {
        Act::OpenUser => card.redeemed_by_user_id.is_some(),
        Act::Revoke => revocable(card),
        Act::Redeem => redeemable(card),
        _ => true,
    }
}

fn revocable(c: &GiftCard) -> bool {
    check_revocable(c.stored_status).is_ok()
}

/// Active as shown (the date already counted).
fn redeemable(c: &GiftCard) -> bool {
    c.status == GiftCardStatus::Active
}

/// One card, code masked.
fn render_detail(frame: &mut Frame, area: Rect, ui: &Ui, c: &GiftCard) {
    let theme = ui.theme;
    let field = |label: &'static str, value: Span<'static>| {
        Line::from(vec![
            Span::styled(format!("{label:>10}  "), theme.dim()),
            value,
        ])
    };
    let mut lines = vec![
        field("code", safe_owned(c.code_masked.clone())),
        field(
            "status",
            Span::styled(status_text(c), status_style(theme, c.status)),
        ),
        field("credits", Span::raw(c.credits.to_string())),
        field("price", Span::raw(c.price.to_string())),
        field(
            "pack",
            safe_owned(c.pack_name.clone().unwrap_or_else(|| "-".into())),
        ),
        field(
            "recipient",
            safe_owned(c.recipient_email.clone().unwrap_or_else(|| "-".into())),
        ),
        field(
            "expires",
            Span::raw(c.expires_at.map_or_else(|| "never".to_owned(), when)),
        ),
        field("created", Span::raw(when(c.created_at))),
    ];
    if let Some(buyer) = &c.purchased_by_email {
        lines.push(field("bought by", safe_owned(buyer.clone())));
    }
    if let Some(at) = c.redeemed_at {
        lines.push(field(
            "redeemed",
            safe_owned(format!(
                "{} by {}",
                when(at),
                redeemer(c).unwrap_or_else(|| "-".into())
            )),
        ));
    }
    if c.stored_status == GiftCardStatus::Redeemed {
        lines.push(field(
            "note",
            Span::styled(
                "to take its credits back, adjust that user's balance",
                theme.dim(),
            ),
        ));
    }
    if let Some(at) = c.revoked_at {
        lines.push(field(
            "revoked",
            safe_owned(format!(
                "{} by {}",
                when(at),
                c.revoked_by.as_deref().unwrap_or("-")
            )),
        ));
        lines.push(field(
            "because",
            safe_owned(c.revoke_reason.clone().unwrap_or_else(|| "-".into())),
        ));
    }
    lines.push(Line::raw(""));
    let keys = DETAIL_KEYS.hints(ui.allow, |a| detail_offers(c, a));
    lines.push(key_line(&keys, theme));
    message(frame, area, theme, &format!("Gift card #{}", c.id), lines);
}
