//! The coupon list: newest first, the ones redeemable now or all of them
//! (`a`), narrowed as you type (`/`: a piece of the code or description),
//! like `coupons list [--all] [--search]`.

use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::{short_type, short_validity, short_value, status_style};
use crate::db::coupons::{Coupon, CouponFilter};
use crate::error::Result;
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keys::{is_char, is_enter, is_esc, nav};
use crate::tui::tabs::Ui;
use crate::tui::widgets::{ListNav, fit, safe, safe_opt, safe_owned, spinner};

/// Typing waits this long for the next key before asking.
pub const DEBOUNCE: Duration = Duration::from_millis(250);
/// Coupons shown at most; a longer list means "type more".
pub const LIMIT: i64 = 500;
/// From this width the list shows validity to the minute and descriptions.
const WIDE: u16 = 120;

pub(super) enum KeyResult {
    Handled,
    Ignored,
    Open(Coupon),
}

/// What a list shows: the text searched for and whether all coupons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Query {
    text: String,
    all: bool,
}

#[derive(Default)]
pub struct CouponList {
    input: Input,
    editing: bool,
    /// `a`: every coupon, not only those redeemable now.
    pub all: bool,
    coupons: Vec<Coupon>,
    pub nav: ListNav,
    /// The newest request on its way (older ones were cancelled).
    pending: Option<RequestId>,
    asked: Query,
    shown: Option<Query>,
    error: Option<String>,
    failed: bool,
    started: bool,
}

impl CouponList {
    pub fn editing(&self) -> bool {
        self.editing
    }

    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    pub fn coupons(&self) -> &[Coupon] {
        &self.coupons
    }

    pub fn text(&self) -> &str {
        self.input.value()
    }

    pub fn loaded(&self) -> bool {
        self.shown.is_some()
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn selected(&self) -> Option<&Coupon> {
        self.coupons.get(self.nav.selected())
    }

    pub fn coupon(&self, id: i32) -> Option<&Coupon> {
        self.coupons.iter().find(|c| c.id == id)
    }

    /// First time shown: list what is redeemable now.
    pub(super) fn start(&mut self, ctx: &mut Ctx) {
        if !self.started {
            self.started = true;
            self.load(None, ctx);
        }
    }

    /// Asks for the current query after `delay`, replacing (cancelling) the
    /// request not answered yet: only the newest one matters.
    fn load(&mut self, delay: Option<Duration>, ctx: &mut Ctx) {
        ctx.cancel(self.pending.take());
        self.asked = Query {
            text: self.input.value().trim().to_owned(),
            all: self.all,
        };
        let job = Job::Coupons(CouponFilter {
            all: self.asked.all,
            search: Some(self.asked.text.clone()).filter(|t| !t.is_empty()),
            limit: LIMIT,
        });
        self.pending = Some(match delay {
            Some(d) => ctx.request_after(d, job),
            None => ctx.request(job),
        });
        self.error = None;
        self.failed = false;
    }

    pub(super) fn refresh(&mut self, ctx: &mut Ctx) {
        self.started = true;
        self.load(None, ctx);
    }

    pub(super) fn retry(&mut self, ctx: &mut Ctx) {
        if self.failed {
            self.load(None, ctx);
        }
    }

    pub(super) fn paste(&mut self, text: &str, ctx: &mut Ctx) -> bool {
        if !self.editing {
            return false;
        }
        for c in crate::domain::text::sanitize(text).chars() {
            self.input.handle(tui_input::InputRequest::InsertChar(c));
        }
        self.load(Some(DEBOUNCE), ctx);
        true
    }

    pub(super) fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> KeyResult {
        if self.editing {
            match key.code {
                KeyCode::Esc => self.editing = false,
                KeyCode::Enter | KeyCode::Down | KeyCode::Tab => {
                    self.editing = false;
                    // Don't make Enter wait for the debounce.
                    if self.pending.is_some() {
                        self.load(None, ctx);
                    }
                }
                _ => {
                    let before = self.input.value().to_owned();
                    self.input.handle_event(&Event::Key(*key));
                    if self.input.value() != before {
                        self.load(Some(DEBOUNCE), ctx);
                    }
                }
            }
            return KeyResult::Handled;
        }
        if is_char(key, '/') || is_char(key, 's') {
            self.editing = true;
            return KeyResult::Handled;
        }
        if is_char(key, 'a') {
            self.all = !self.all;
            self.load(None, ctx);
            return KeyResult::Handled;
        }
        if let Some(n) = nav(key) {
            self.nav.apply(n, self.coupons.len());
            return KeyResult::Handled;
        }
        if is_enter(key) {
            return match self.selected() {
                Some(c) => KeyResult::Open(c.clone()),
                None => KeyResult::Handled,
            };
        }
        if is_esc(key) {
            if self.pending.is_some() {
                ctx.cancel(self.pending.take());
                return KeyResult::Handled;
            }
            if !self.input.value().is_empty() {
                self.input.reset();
                self.load(None, ctx);
                return KeyResult::Handled;
            }
        }
        KeyResult::Ignored
    }

    pub(super) fn reply(&mut self, id: RequestId, result: Result<Vec<Coupon>>) {
        if self.pending != Some(id) {
            return; // an older request: its answer no longer matters
        }
        self.pending = None;
        match result {
            Ok(coupons) => {
                let same = self.shown.as_ref() == Some(&self.asked);
                // Keep the same coupon selected when the list is reloaded.
                let keep = self.selected().map(|c| c.id);
                self.coupons = coupons;
                self.shown = Some(self.asked.clone());
                match keep.and_then(|id| self.coupons.iter().position(|c| c.id == id)) {
                    Some(i) if same => self.nav.select(i, self.coupons.len()),
                    _ if same => {
                        let i = self.nav.selected();
                        self.nav.select(i, self.coupons.len());
                    }
                    _ => self.nav.reset(),
                }
            }
            Err(e) => {
                self.error = Some(e.to_string());
                self.failed = true;
            }
        }
    }

    /// The list with its search line; `notice` is the last change made.
    pub(super) fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui, notice: Option<&str>) {
        let theme = ui.theme;
        let [search_row, list] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        self.render_search(frame, search_row, ui);

        let status = if let Some(e) = &self.error {
            Span::styled(
                fit(&format!(" {e} — R to retry "), list.width),
                theme.error(),
            )
        } else if self.pending.is_some() {
            Span::styled(
                format!(" {} ", spinner::loading(ui.tick, "loading…")),
                theme.warning(),
            )
        } else if let Some(n) = notice {
            safe_owned(fit(&format!(" {n} "), list.width)).style(theme.success())
        } else if self.shown.is_some() {
            let n = self.coupons.len();
            let more = if n as i64 >= LIMIT {
                " (type more to narrow)"
            } else {
                ""
            };
            let plural = if n == 1 { "" } else { "s" };
            Span::raw(fit(&format!(" {n} coupon{plural}{more} "), list.width))
        } else {
            Span::raw("")
        };
        let which = if self.all {
            " All coupons"
        } else {
            " Coupons redeemable now"
        };
        let mut title = vec![Span::raw(which)];
        if let Some(q) = self.shown.as_ref().filter(|q| !q.text.is_empty()) {
            title.push(Span::raw(" matching “"));
            title.push(safe(&q.text));
            title.push(Span::raw("”"));
        }
        title.push(Span::raw(" "));
        let block = Block::bordered()
            .border_style(theme.border())
            .title(Line::from(title))
            .title_bottom(Line::from(status).right_aligned());
        let inner = block.inner(list);
        frame.render_widget(block, list);
        if inner.is_empty() {
            return;
        }
        if self.coupons.is_empty() {
            let text = match (&self.shown, self.pending) {
                (_, Some(_)) | (None, _) => "",
                (Some(q), None) if q.text.is_empty() && !q.all => {
                    "no coupon is redeemable now — a shows all coupons"
                }
                (Some(q), None) if q.text.is_empty() => "no coupons yet — n creates one",
                (Some(_), None) => "no coupon matches",
            };
            frame.render_widget(Paragraph::new(Span::styled(text, theme.dim())), inner);
            return;
        }
        let wide = inner.width >= WIDE;
        let height = usize::from(inner.height.saturating_sub(1));
        let from = self.nav.visible_from(self.coupons.len(), height);
        let rows = self.coupons.iter().skip(from).take(height).map(|c| {
            let status = c.status(ui.now);
            let mut cells = vec![
                Cell::from(safe(&c.code)),
                Cell::from(short_type(&c.discount_type)),
                Cell::from(Line::from(short_value(c)).right_aligned()),
                Cell::from(Line::from(c.usage_display()).right_aligned()),
                Cell::from(if wide {
                    c.validity_display()
                } else {
                    short_validity(c, ui.now)
                }),
                Cell::from(Span::styled(status.as_str(), status_style(status, theme))),
            ];
            if wide {
                cells.push(Cell::from(safe_opt(c.description.as_deref())));
            }
            Row::new(cells)
        });
        let mut header = vec![
            Cell::from("code"),
            Cell::from("type"),
            Cell::from(Line::from("value").right_aligned()),
            Cell::from(Line::from("used/max").right_aligned()),
            Cell::from("validity"),
            Cell::from("state"),
        ];
        let mut widths = vec![
            if wide {
                Constraint::Length(32)
            } else {
                Constraint::Fill(1)
            },
            Constraint::Length(7),
            Constraint::Length(10),
            Constraint::Length(11),
            Constraint::Length(if wide { 36 } else { 16 }),
            Constraint::Length(9),
        ];
        if wide {
            header.push(Cell::from("description"));
            widths.push(Constraint::Fill(2));
        }
        let table = Table::new(rows, widths)
            .header(Row::new(header).style(theme.header()))
            .row_highlight_style(theme.selected());
        let mut state =
            TableState::new().with_selected(Some(self.nav.selected().saturating_sub(from)));
        frame.render_stateful_widget(table, inner, &mut state);
    }

    fn render_search(&self, frame: &mut Frame, row: Rect, ui: &Ui) {
        let theme = ui.theme;
        let label = " Search: ";
        let lw = u16::try_from(label.len()).unwrap_or(0);
        frame.render_widget(
            Paragraph::new(Span::styled(
                label,
                if self.editing {
                    theme.title()
                } else {
                    theme.dim()
                },
            )),
            row,
        );
        let input_area = Rect {
            x: row.x.saturating_add(lw),
            width: row.width.saturating_sub(lw),
            ..row
        };
        if input_area.is_empty() {
            return;
        }
        let width = usize::from(input_area.width.saturating_sub(1));
        let scroll = self.input.visual_scroll(width);
        let text = if self.input.value().is_empty() && !self.editing {
            Span::styled(
                "press / to search codes and descriptions, a for all coupons",
                theme.dim(),
            )
        } else {
            safe(self.input.value())
        };
        frame.render_widget(
            Paragraph::new(Line::from(text))
                .style(if self.editing {
                    theme.input_focused()
                } else {
                    theme.base()
                })
                .scroll((0, u16::try_from(scroll).unwrap_or(u16::MAX))),
            input_area,
        );
        if self.editing {
            let cx = self.input.visual_cursor().saturating_sub(scroll);
            let cx = input_area
                .x
                .saturating_add(u16::try_from(cx).unwrap_or(u16::MAX));
            if cx < input_area.right() {
                frame.set_cursor_position(Position::new(cx, input_area.y));
            }
        }
    }
}
