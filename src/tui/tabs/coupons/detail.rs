//! One coupon: its terms, where it stands, and its redemptions newest first
//! (`coupons show`). Enter on a redemption opens its user.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::list::Act;
use super::status_style;
use crate::db::coupons::{Coupon, CouponDetail};
use crate::domain::coupon::DiscountType;
use crate::domain::role::Action;
use crate::error::Result;
use crate::tui::app::Msg;
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::format::when;
use crate::tui::keymap::{Allow, Bind, ENTER, ESC, Hint, Key, Keymap};
use crate::tui::keys::nav;
use crate::tui::link::Link;
use crate::tui::tabs::Ui;
use crate::tui::widgets::{ListNav, fit, safe, safe_owned, safe_styled, spinner};

/// The keys of a coupon's screen (`Act::Open` opens the selected
/// redemption's user, `Act::Clear` goes back).
const KEYS: Keymap<Act> = Keymap(&[
    Bind::new(ENTER, "Enter", "open user", Act::Open).footer(),
    Bind::new(&[Key::Char('d')], "d", "deactivate", Act::Deactivate)
        .footer()
        .writes(Action::CouponDeactivate),
    Bind::new(&[Key::Char('r')], "r", "redeem", Act::Redeem)
        .footer()
        .writes(Action::CouponRedeem),
    Bind::new(ESC, "Esc", "back", Act::Clear).footer(),
]);

pub(super) enum KeyResult {
    Handled,
    Ignored,
    /// Esc with nothing to cancel: back to the list.
    Back,
    /// A change for the tab to open on this coupon.
    Change(Act),
}

pub struct Detail {
    pub id: i32,
    /// How `coupons::show` finds it; unknown only for a link that had no
    /// code (then the detail says so).
    pub code: Option<String>,
    /// What we know before the detail arrives (the list row).
    pub known: Option<Coupon>,
    pub data: Option<CouponDetail>,
    pending: Option<RequestId>,
    error: Option<String>,
    failed: bool,
    /// The selected redemption.
    pub nav: ListNav,
}

impl Detail {
    /// Opens coupon `id` and asks for it with its redemptions.
    pub fn open(id: i32, code: Option<String>, known: Option<Coupon>, ctx: &mut Ctx) -> Self {
        let code = code.or_else(|| known.as_ref().map(|c| c.code.clone()));
        let mut d = Self {
            id,
            code,
            known,
            data: None,
            pending: None,
            error: None,
            failed: false,
            nav: ListNav::default(),
        };
        d.load(ctx);
        d
    }

    /// The freshest known coupon row.
    pub fn coupon(&self) -> Option<&Coupon> {
        self.data
            .as_ref()
            .map(|d| &d.coupon)
            .or(self.known.as_ref())
    }

    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    fn load(&mut self, ctx: &mut Ctx) {
        ctx.cancel(self.pending.take());
        self.error = None;
        self.failed = false;
        match &self.code {
            Some(code) => {
                self.pending = Some(ctx.request(Job::Coupon { code: code.clone() }));
            }
            None => {
                self.error = Some(format!(
                    "coupon #{} was linked without its code: find it in the list (a shows all)",
                    self.id
                ));
            }
        }
    }

    /// Leaving the coupon: stop what is loading.
    pub(super) fn close(&self, ctx: &mut Ctx) {
        ctx.cancel(self.pending);
    }

    pub(super) fn refresh(&mut self, ctx: &mut Ctx) {
        self.load(ctx);
    }

    pub(super) fn retry(&mut self, ctx: &mut Ctx) {
        if self.failed {
            self.load(ctx);
        }
    }

    pub(super) fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> KeyResult {
        let len = self.data.as_ref().map_or(0, |d| d.redemptions.len());
        if let Some(n) = nav(key) {
            self.nav.apply(n, len);
            return KeyResult::Handled;
        }
        match KEYS.find(key, ctx.allow, |a| self.offers(a)) {
            Some(Act::Open) => {
                let selected = self.nav.selected();
                if let Some(r) = self.data.as_ref().and_then(|d| d.redemptions.get(selected)) {
                    ctx.emit(Msg::Open(Link::User(r.user_id)));
                }
                KeyResult::Handled
            }
            Some(Act::Clear) if self.pending.is_some() => {
                ctx.cancel(self.pending.take());
                KeyResult::Handled
            }
            Some(Act::Clear) => KeyResult::Back,
            Some(act) => KeyResult::Change(act),
            None => KeyResult::Ignored,
        }
    }

    fn offers(&self, act: Act) -> bool {
        match act {
            Act::Deactivate | Act::Redeem => self.coupon().is_some_and(|c| super::can(act, c)),
            _ => true,
        }
    }

    pub(super) fn hints(&self, allow: &Allow) -> Vec<Hint> {
        KEYS.hints(allow, |a| self.offers(a))
    }

    pub(super) fn reply(&mut self, id: RequestId, result: Result<CouponDetail>) {
        if self.pending != Some(id) {
            return;
        }
        self.pending = None;
        match result {
            Ok(d) => {
                let same = self
                    .data
                    .as_ref()
                    .is_some_and(|old| old.coupon.id == d.coupon.id);
                self.id = d.coupon.id;
                self.code = Some(d.coupon.code.clone());
                if same {
                    let i = self.nav.selected();
                    self.nav.select(i, d.redemptions.len());
                } else {
                    self.nav.reset();
                }
                self.data = Some(d);
            }
            Err(e) => {
                self.error = Some(e.to_string());
                self.failed = true;
            }
        }
    }

    pub(super) fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui, notice: Option<&str>) {
        let lines = self.header_lines(ui, notice);
        let header_height = u16::try_from(lines.len() + 2)
            .unwrap_or(u16::MAX)
            .min(area.height / 2);
        let [header, list] =
            Layout::vertical([Constraint::Length(header_height), Constraint::Fill(1)]).areas(area);
        let title = match self.coupon() {
            Some(c) => Line::from(vec![
                Span::raw(format!(" #{} ", c.id)),
                safe_styled(&c.code, ui.theme.title()),
                Span::raw(" "),
            ]),
            None => match &self.code {
                Some(code) => Line::from(vec![
                    Span::raw(format!(" #{} ", self.id)),
                    safe_styled(code, ui.theme.title()),
                    Span::raw(" "),
                ]),
                None => Line::raw(format!(" coupon #{} ", self.id)),
            },
        };
        let block = Block::bordered()
            .border_style(ui.theme.border())
            .title(title);
        frame.render_widget(Paragraph::new(lines).block(block), header);
        self.render_redemptions(frame, list, ui);
    }

    fn header_lines(&self, ui: &Ui, notice: Option<&str>) -> Vec<Line<'static>> {
        let theme = ui.theme;
        let mut lines = Vec::new();
        if let Some(c) = self.coupon() {
            let status = c.status(ui.now);
            lines.push(Line::from(vec![
                safe_owned(format!("{} coupon", c.discount_type)),
                Span::styled("  value ", theme.dim()),
                Span::styled(c.value_display(), theme.title()),
                Span::styled("  used ", theme.dim()),
                Span::raw(c.usage_display()),
                Span::raw("  "),
                Span::styled(status.as_str(), status_style(status, theme)),
            ]));
            lines.push(Line::from(vec![
                Span::styled("valid ", theme.dim()),
                Span::raw(c.validity_display()),
                Span::styled("   created ", theme.dim()),
                Span::raw(when(c.created_at)),
            ]));
            lines.push(Line::from(vec![
                Span::styled("description ", theme.dim()),
                safe_owned(c.description.clone().unwrap_or_else(|| "-".into())),
            ]));
            if c.kind() != Some(DiscountType::Credits) {
                lines.push(Line::from(Span::styled(
                    "a discount: it applies at checkout in the web app, not here",
                    theme.dim(),
                )));
            }
        }
        if let Some(e) = &self.error {
            lines.push(Line::from(safe_owned(e.clone()).style(theme.error())));
        } else if self.pending.is_some() && self.coupon().is_none() {
            lines.push(Line::from(Span::styled(
                spinner::loading(ui.tick, "loading…"),
                theme.warning(),
            )));
        }
        if let Some(n) = notice {
            lines.push(Line::from(safe_owned(n.to_owned()).style(theme.success())));
        }
        lines
    }

    fn render_redemptions(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let status = if self.error.is_some() && self.code.is_some() {
            Span::styled(fit(" R to retry ", area.width), theme.error())
        } else if self.pending.is_some() {
            Span::styled(
                format!(" {} ", spinner::loading(ui.tick, "loading…")),
                theme.warning(),
            )
        } else if let Some(d) = &self.data {
            let shown = d.redemptions.len() as i64;
            if d.redemptions_total > shown {
                Span::raw(fit(
                    &format!(" the newest {shown} of {} ", d.redemptions_total),
                    area.width,
                ))
            } else {
                let plural = if shown == 1 { "" } else { "s" };
                Span::raw(fit(&format!(" {shown} redemption{plural} "), area.width))
            }
        } else {
            Span::raw("")
        };
        let block = Block::bordered()
            .border_style(theme.border())
            .title(" Redemptions ")
            .title_bottom(Line::from(status).right_aligned());
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if inner.is_empty() {
            return;
        }
        let Some(d) = self.data.as_ref().filter(|d| !d.redemptions.is_empty()) else {
            let text = if self.data.is_some() {
                "no redemptions yet"
            } else {
                ""
            };
            frame.render_widget(Paragraph::new(Span::styled(text, theme.dim())), inner);
            return;
        };
        let height = usize::from(inner.height.saturating_sub(1));
        let from = self.nav.visible_from(d.redemptions.len(), height);
        // A credits coupon awards credits; a discount has an amount and a
        // transaction at checkout. Wide screens show both.
        let credits = self.coupon().and_then(Coupon::kind) == Some(DiscountType::Credits);
        let (show_credits, show_discount) = if inner.width >= 100 {
            (true, true)
        } else {
            (credits, !credits)
        };
        let dash = || "-".to_owned();
        let right = |s: String| Cell::from(Line::from(s).right_aligned());
        let rows = d.redemptions.iter().skip(from).take(height).map(|r| {
            let mut cells = vec![
                Cell::from(when(r.redeemed_at)),
                Cell::from(format!("#{}", r.user_id)),
                Cell::from(safe(&r.email)),
            ];
            if show_credits {
                cells.push(right(
                    r.credits_awarded.map_or_else(dash, |c| format!("+{c}")),
                ));
            }
            if show_discount {
                cells.push(right(
                    r.discount_applied.map_or_else(dash, |m| format!("{m:.2}")),
                ));
                cells.push(right(
                    r.transaction_id.map_or_else(dash, |t| format!("#{t}")),
                ));
            }
            Row::new(cells)
        });
        let mut header = vec![Cell::from("when"), Cell::from("user"), Cell::from("email")];
        let mut widths = vec![
            Constraint::Length(16),
            Constraint::Length(8),
            Constraint::Fill(1),
        ];
        if show_credits {
            header.push(Cell::from(Line::from("credits").right_aligned()));
            widths.push(Constraint::Length(8));
        }
        if show_discount {
            header.push(Cell::from(Line::from("discount").right_aligned()));
            header.push(Cell::from(Line::from("transaction").right_aligned()));
            widths.extend([Constraint::Length(9), Constraint::Length(11)]);
        }
        let table = Table::new(rows, widths)
            .header(Row::new(header).style(theme.header()))
            .row_highlight_style(theme.selected());
        let mut state =
            TableState::new().with_selected(Some(self.nav.selected().saturating_sub(from)));
        frame.render_stateful_widget(table, inner, &mut state);
    }
}
