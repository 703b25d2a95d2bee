//! Tab 1, Coupons: the coupons redeemable now or all of them, narrowed as
//! you type; a coupon with its redemptions; and the changes `coupons`
//! commands make: create (`n`), deactivate (`d`) and redeem a credits
//! coupon for a user (`r`), each confirmed before it is sent. Read-only
//! sessions get the lists only.

pub mod change;
pub mod create;
pub mod detail;
pub mod list;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Handled, Tab, Ui};
use crate::db::coupons::{Coupon, CouponStatus};
use crate::domain::Refusal;
use crate::domain::coupon::{DiscountType, check_redeemable};
use crate::tui::command::{Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keymap::{Allow, Hint};
use crate::tui::keys::{is_enter, is_esc};
use crate::tui::link::Link;
use crate::tui::theme::Theme;
use crate::tui::widgets::popup::message;
use crate::tui::widgets::{Confirm, ConfirmState, DialogKey, safe, safe_owned};

pub use change::{DeactivateDialog, RedeemDialog};
pub use create::CreateDialog;
pub use detail::Detail;
pub use list::CouponList;

/// A dialog over the list or the detail.
pub enum Dialog {
    Create(Box<CreateDialog>),
    Deactivate(Box<DeactivateDialog>),
    Redeem(Box<RedeemDialog>),
    /// Known without asking the database, e.g. that a discount coupon
    /// can't be redeemed here.
    Notice {
        title: &'static str,
        lines: Vec<String>,
    },
}

impl Dialog {
    fn in_flight(&self) -> Option<RequestId> {
        match self {
            Dialog::Create(d) => d.in_flight(),
            Dialog::Deactivate(d) => d.in_flight(),
            Dialog::Redeem(d) => d.in_flight(),
            Dialog::Notice { .. } => None,
        }
    }
}

#[derive(Default)]
pub struct CouponsTab {
    pub list: CouponList,
    /// The coupon opened from the list or a link (Esc goes back).
    pub detail: Option<Detail>,
    pub dialog: Option<Dialog>,
    /// The last change made here.
    pub notice: Option<String>,
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
        self.dialog = match (act, coupon) {
            (list::Act::New, _) => Some(Dialog::Create(Box::default())),
            (list::Act::Deactivate, Some(coupon)) => Some(if coupon.is_active {
                Dialog::Deactivate(Box::new(DeactivateDialog::new(coupon)))
            } else {
                Dialog::Notice {
                    title: "Deactivate coupon",
                    lines: vec![
                        format!("{}: {}", coupon.code, Refusal::CouponAlreadyInactive),
                        "nothing to do".into(),
                    ],
                }
            }),
            (list::Act::Redeem, Some(coupon)) => Some(redeem_dialog(coupon, ctx.now)),
            _ => None,
        };
    }

    fn dialog_key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Handled {
        let Some(dialog) = &mut self.dialog else {
            return Handled::No;
        };
        let k = match dialog {
            Dialog::Create(d) => d.key(key, ctx),
            Dialog::Deactivate(d) => d.key(key, ctx),
            Dialog::Redeem(d) => d.key(key, ctx),
            Dialog::Notice { .. } => {
                if is_esc(key) || is_enter(key) {
                    DialogKey::Close
                } else {
                    DialogKey::Ignored
                }
            }
        };
        match k {
            DialogKey::Stay => {}
            DialogKey::Ignored => return Handled::No,
            DialogKey::Close => self.dialog = None,
            DialogKey::Abandoned => {
                self.dialog = None;
                self.notice =
                    Some("stopped waiting: the change may or may not be applied; reloaded".into());
                self.refresh(ctx);
            }
        }
        Handled::Yes
    }

    /// A change was applied: show it and load again what is shown.
    fn changed(&mut self, notice: String, ctx: &mut Ctx) {
        self.notice = Some(notice);
        self.refresh(ctx);
    }
}

/// The redeem dialog, or why this coupon can't be redeemed here.
fn redeem_dialog(coupon: Coupon, now: DateTime<Utc>) -> Dialog {
    let refuse = |r: Refusal| Dialog::Notice {
        title: "Redeem coupon",
        lines: vec![format!("{}: {r}", coupon.code)],
    };
    if coupon.kind() != Some(DiscountType::Credits) {
        return refuse(Refusal::CouponAppliesAtCheckout {
            discount_type: coupon.discount_type.clone(),
        });
    }
    // What the list knows may be stale, so other rules only warn: the
    // database decides when the redemption is sent.
    let warning = coupon
        .state()
        .and_then(|s| check_redeemable(&s, now).err())
        .map(|r| r.to_string());
    match RedeemDialog::new(coupon.clone(), warning) {
        Some(d) => Dialog::Redeem(Box::new(d)),
        None => refuse(Refusal::CouponValueNotPayable {
            value: coupon.discount_value.to_string(),
        }),
    }
}

impl Tab for CouponsTab {
    fn activate(&mut self, ctx: &mut Ctx) {
        self.list.start(ctx);
    }

    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Handled {
        if self.dialog.is_some() {
            return self.dialog_key(key, ctx);
        }
        if let Some(d) = &mut self.detail {
            return match d.key(key, ctx) {
                detail::KeyResult::Handled => Handled::Yes,
                detail::KeyResult::Ignored => Handled::No,
                detail::KeyResult::Back => {
                    d.close(ctx);
                    self.detail = None;
                    Handled::Yes
                }
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
        let used = match &mut self.dialog {
            Some(Dialog::Create(d)) => {
                d.paste(text);
                true
            }
            Some(Dialog::Deactivate(d)) => {
                d.paste(text);
                true
            }
            Some(Dialog::Redeem(d)) => {
                d.paste(text);
                true
            }
            Some(Dialog::Notice { .. }) => false,
            None if self.detail.is_none() => self.list.paste(text, ctx),
            None => false,
        };
        if used { Handled::Yes } else { Handled::No }
    }

    fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx) {
        match outcome {
            Outcome::Coupons(result) => self.list.reply(id, result),
            Outcome::Coupon(result) => {
                if let Some(d) = &mut self.detail {
                    d.reply(id, result);
                }
            }
            Outcome::CouponCreated(result) => {
                if let Some(Dialog::Create(d)) = &mut self.dialog
                    && d.finish(id, &result)
                    && let Ok(c) = &result
                {
                    self.changed(create::created(c), ctx);
                }
            }
            Outcome::CouponDeactivated(result) => {
                if let Some(Dialog::Deactivate(d)) = &mut self.dialog
                    && d.finish(id, &result)
                    && let Ok(c) = &result
                {
                    self.changed(change::deactivated(c), ctx);
                }
            }
            Outcome::CouponRedeemed(result) => {
                if let Some(Dialog::Redeem(d)) = &mut self.dialog
                    && d.finish(id, &result)
                    && let Ok(r) = &result
                {
                    self.changed(change::redeemed_notice(r), ctx);
                }
            }
            Outcome::Overview(result) => {
                if let Some(Dialog::Redeem(d)) = &mut self.dialog {
                    d.looked_up(id, result);
                }
            }
            _ => {}
        }
    }

    fn open(&mut self, link: &Link, ctx: &mut Ctx) -> bool {
        let Link::Coupon { id, code } = link else {
            return false;
        };
        if let Some(d) = self.detail.take() {
            d.close(ctx);
        }
        // A dialog left open stays only while its change is on its way.
        if self
            .dialog
            .as_ref()
            .is_some_and(|d| d.in_flight().is_none())
        {
            self.dialog = None;
        }
        let known = self.list.coupon(*id).cloned();
        self.notice = None;
        self.detail = Some(Detail::open(*id, code.clone(), known, ctx));
        true
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
    }

    fn modal(&self) -> bool {
        self.dialog.is_some() || (self.detail.is_none() && self.list.editing())
    }

    fn unsaved(&self) -> Option<&'static str> {
        match &self.dialog {
            Some(d) if d.in_flight().is_some() => Some("A coupon change is being applied"),
            Some(Dialog::Create(d)) if d.is_dirty() => {
                Some("The new-coupon form holds input not created")
            }
            Some(Dialog::Deactivate(d)) if d.is_dirty() => {
                Some("The deactivate form holds input not applied")
            }
            Some(Dialog::Redeem(d)) if d.is_dirty() => {
                Some("The redeem form holds input not applied")
            }
            _ => None,
        }
    }

    fn busy(&self) -> bool {
        let dialog = match &self.dialog {
            Some(Dialog::Redeem(d)) => d.busy(),
            Some(d) => d.in_flight().is_some(),
            None => false,
        };
        dialog || self.list.busy() || self.detail.as_ref().is_some_and(Detail::busy)
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        match &self.dialog {
            Some(Dialog::Create(d)) => d.keys(),
            Some(Dialog::Deactivate(d)) => d.keys(),
            Some(Dialog::Redeem(d)) => d.keys(),
            Some(Dialog::Notice { .. }) => vec![Hint::footer("Enter", "close")],
            None => match &self.detail {
                Some(d) => d.hints(allow),
                None => self.list.hints(allow),
            },
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let notice = self.notice.as_deref();
        match &self.detail {
            Some(d) => d.render(frame, area, ui, notice),
            None => self.list.render(frame, area, ui, notice),
        }
        match &self.dialog {
            Some(Dialog::Create(d)) => d.render(frame, area, ui),
            Some(Dialog::Deactivate(d)) => d.render(frame, area, ui),
            Some(Dialog::Redeem(d)) => d.render(frame, area, ui),
            Some(Dialog::Notice { title, lines }) => {
                let mut text: Vec<Line> = lines
                    .iter()
                    .map(|l| Line::from(safe_owned(l.clone())))
                    .collect();
                text.push(Line::raw(""));
                text.push(Line::from(vec![
                    Span::styled("Enter", ui.theme.key()),
                    Span::raw(" close"),
                ]));
                message(frame, area, ui.theme, title, text);
            }
            None => {}
        }
    }
}

/// The footer while a confirmation shows.
pub(super) fn confirm_keys(c: &Confirm) -> Vec<Hint> {
    match &c.state {
        ConfirmState::InFlight(_) => vec![Hint::footer("Esc", "stop waiting")],
        ConfirmState::Done(_) => vec![Hint::footer("Enter", "close")],
        ConfirmState::Failed(_) => vec![
            Hint::footer("Enter", "try again"),
            Hint::footer("Esc", "back"),
        ],
        ConfirmState::Ready => vec![Hint::footer("Enter", "apply"), Hint::footer("Esc", "back")],
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
