//! Tab 1, Coupons: the coupons redeemable now or all of them, narrowed as
//! you type; a coupon with its redemptions; and the changes `coupons`
//! commands make: create (`n`), deactivate (`d`) and redeem a credits
//! coupon for a user (`r`), each confirmed before it is sent. Read-only
//! sessions get the lists only.

mod create;
mod deactivate;
mod detail;
mod list;
mod redeem;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::{Below, Copied, Handled, Tab, Ui};
use crate::db::coupons::{Coupon, CouponStatus};
use crate::domain::coupon::{DiscountType, check_redeemable, credits_awarded};
use crate::tui::change::ChangeDialog;
use crate::tui::command::{Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::dialog::{Dialogs, Event};
use crate::tui::keymap::{Allow, Hint};
use crate::tui::link::Link;
use crate::tui::theme::Theme;
use crate::tui::widgets::safe;

use create::Create;
use deactivate::Deactivate;
use detail::Detail;
use list::CouponList;
use redeem::Redeem;

#[derive(Default)]
pub struct CouponsTab {
    list: CouponList,
    /// The coupon opened from the list or a link (Esc goes back).
    detail: Option<Detail>,
    /// Coupons opened before, by links: back returns to them.
    below: Below<Detail>,
    dialogs: Dialogs,
    /// The last change made here.
    notice: Option<String>,
}

/// Whether `act` can be done to `c`: only that is offered. (Dates and
/// whether a user already redeemed it are checked fresh by the review.)
fn can(act: list::Act, c: &Coupon) -> bool {
    match act {
        list::Act::Deactivate => c.is_active,
        list::Act::Redeem => {
            c.is_active
                && c.kind() == Some(DiscountType::Credits)
                && credits_awarded(c.discount_value).is_some()
                && c.max_uses.is_none_or(|m| c.used_count < m)
        }
        _ => true,
    }
}

/// `CODE (#3)`
fn name(c: &Coupon) -> String {
    format!("{} (#{})", c.code, c.id)
}

impl CouponsTab {
    /// The coupon the change keys act on: the one shown, else the one
    /// selected in the list.
    fn target(&self) -> Option<&Coupon> {
        match &self.detail {
            Some(d) => d.coupon(),
            None => self.list.selected(),
        }
    }

    /// n, d, r (dispatched by the list's or the detail's keymap): open the
    /// change's dialog on the coupon shown or selected.
    fn change(&mut self, act: list::Act, ctx: &mut Ctx) {
        let coupon = self.target().cloned();
        self.notice = None;
        match (act, coupon) {
            (list::Act::New, _) => self
                .dialogs
                .open(ChangeDialog::open(Create::default(), ctx)),
            (list::Act::Deactivate, Some(coupon)) if can(act, &coupon) => {
                self.dialogs
                    .open(ChangeDialog::open(Deactivate { coupon }, ctx));
            }
            (list::Act::Redeem, Some(coupon)) if can(act, &coupon) => {
                // What the list knows may be stale: dates only warn here;
                // the review reads the coupon again and decides.
                let warning = coupon
                    .state()
                    .and_then(|s| check_redeemable(&s, ctx.now).err())
                    .map(|r| r.to_string());
                if let Some(r) = Redeem::new(coupon, warning) {
                    self.dialogs.open(ChangeDialog::open(r, ctx));
                }
            }
            _ => {}
        }
    }

    fn event(&mut self, event: Option<Event>, ctx: &mut Ctx) {
        match event {
            Some(Event::Changed(notice)) => {
                self.notice = Some(notice);
                self.refresh(ctx);
            }
            Some(Event::Notice(notice)) => self.notice = Some(notice),
            Some(Event::Filter(_)) | None => {}
        }
    }
}

impl Tab for CouponsTab {
    /// The first time, what is redeemable now; shown again, loaded again.
    fn activate(&mut self, ctx: &mut Ctx) {
        if self.list.started() {
            self.refresh(ctx);
        } else {
            self.list.start(ctx);
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        if self.polls() {
            self.list.tick(ctx);
        }
    }

    /// The list, with nothing over it.
    fn polls(&self) -> bool {
        self.detail.is_none() && !self.dialogs.is_open()
    }

    fn pause(&mut self) {
        self.list.pause();
    }

    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Handled {
        if self.dialogs.is_open() {
            let (handled, event) = self.dialogs.key(key, ctx);
            self.event(event, ctx);
            return handled;
        }
        if let Some(d) = &mut self.detail {
            return match d.key(key, ctx) {
                detail::KeyResult::Handled => Handled::Yes,
                detail::KeyResult::Ignored => Handled::No,
                // The app goes back (through the links followed).
                detail::KeyResult::Back => Handled::No,
                detail::KeyResult::Change(act) => {
                    self.change(act, ctx);
                    Handled::Yes
                }
            };
        }
        match self.list.key(key, ctx) {
            list::KeyResult::Handled => Handled::Yes,
            list::KeyResult::Ignored => Handled::No,
            list::KeyResult::Open(c) => {
                self.notice = None;
                self.detail = Some(Detail::open(c.id, Some(c.code.clone()), Some(c), ctx));
                Handled::Yes
            }
            list::KeyResult::Change(act) => {
                self.change(act, ctx);
                Handled::Yes
            }
        }
    }

    fn paste(&mut self, text: &str, ctx: &mut Ctx) -> Handled {
        let used = if self.dialogs.is_open() {
            self.dialogs.paste(text)
        } else {
            self.detail.is_none() && self.list.paste(text, ctx)
        };
        if used { Handled::Yes } else { Handled::No }
    }

    fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx) {
        let outcome = match self.dialogs.reply(id, outcome, ctx) {
            Ok(event) => return self.event(event, ctx),
            Err(outcome) => outcome,
        };
        match outcome {
            Outcome::Coupons(result) => self.list.reply(id, result, ctx.now),
            Outcome::Coupon(result) => {
                if let Some(d) = &mut self.detail {
                    d.reply(id, result);
                }
            }
            _ => {}
        }
    }

    fn open(&mut self, link: &Link, ctx: &mut Ctx) -> bool {
        let Link::Coupon { id, code } = link else {
            return false;
        };
        if let Some(d) = &self.detail {
            d.close(ctx);
        }
        // A dialog left open stays only while its change is on its way.
        if !self.dialogs.holds() {
            self.dialogs.close();
        }
        let known = self.list.coupon(*id).cloned();
        self.notice = None;
        let page = Detail::open(*id, code.clone(), known, ctx);
        self.below.push(&mut self.detail, page);
        true
    }

    fn depth(&self) -> usize {
        self.below.depth(&self.detail)
    }

    fn back(&mut self, ctx: &mut Ctx) {
        if let Some(left) = self.below.pop(&mut self.detail) {
            left.close(ctx);
        }
        self.notice = None;
        if let Some(d) = &mut self.detail {
            d.refresh(ctx);
        }
    }

    fn export(&self) -> Option<crate::tui::export::Export> {
        if self.dialogs.is_open() || self.detail.is_some() || self.list.editing() {
            return None;
        }
        Some(crate::tui::export::Export {
            list: "coupons",
            source: crate::tui::export::Source::Coupons(self.list.shown_filter()),
        })
    }

    fn copy(&self) -> Option<Copied> {
        if self.dialogs.is_open() || (self.detail.is_none() && self.list.editing()) {
            return None;
        }
        self.target().map(|c| Copied::new("code", c.code.clone()))
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        self.list.refresh(ctx);
        if let Some(d) = &mut self.detail {
            d.refresh(ctx);
        }
    }

    fn retry(&mut self, ctx: &mut Ctx) {
        self.list.retry(ctx);
        if let Some(d) = &mut self.detail {
            d.retry(ctx);
        }
        self.dialogs.retry(ctx);
    }

    fn modal(&self) -> bool {
        self.dialogs.is_open() || (self.detail.is_none() && self.list.editing())
    }

    fn unsaved(&self) -> Option<String> {
        self.dialogs.unsaved()
    }

    fn busy(&self) -> bool {
        self.dialogs.busy() || self.list.busy() || self.detail.as_ref().is_some_and(Detail::busy)
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        if let Some(h) = self.dialogs.hints(allow) {
            return h;
        }
        match &self.detail {
            Some(d) => d.hints(allow),
            None => self.list.hints(allow),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let notice = self.notice.as_deref();
        match &self.detail {
            Some(d) => d.render(frame, area, ui, notice),
            None => self.list.render(frame, area, ui, notice),
        }
        self.dialogs.render(frame, area, ui);
    }
}

/// Short names for the types (they fit a narrow column).
pub(super) fn short_type(kind: &str) -> Span<'_> {
    match kind {
        "percentage" => Span::raw("percent"),
        "fixed_amount" => Span::raw("fixed"),
        other => safe(other),
    }
}

/// The value without the unit the type column already gives: `25%`,
/// `9.99`, `50`.
pub(super) fn short_value(c: &Coupon) -> String {
    match c.kind() {
        Some(DiscountType::Percentage) => format!("{}%", c.discount_value.normalize()),
        Some(DiscountType::FixedAmount) => format!("{:.2}", c.discount_value),
        _ => c.discount_value.normalize().to_string(),
    }
}

/// Validity in a narrow column: what matters now, to the day.
pub(super) fn short_validity(c: &Coupon, now: DateTime<Utc>) -> String {
    let day = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    if now < c.valid_from {
        return format!("from {}", day(c.valid_from));
    }
    match c.valid_until {
        Some(u) if now >= u => format!("ended {}", day(u)),
        Some(u) => format!("until {}", day(u)),
        None => "no end".into(),
    }
}

pub(super) fn status_style(status: CouponStatus, theme: &Theme) -> ratatui::style::Style {
    match status {
        CouponStatus::Active => theme.success(),
        CouponStatus::Scheduled => theme.warning(),
        CouponStatus::Inactive | CouponStatus::Expired | CouponStatus::UsedUp => theme.dim(),
    }
}
