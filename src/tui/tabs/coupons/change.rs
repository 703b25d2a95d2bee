//! The changes made to one coupon: deactivating it (a required reason, a
//! confirmation, `coupons::deactivate`) and redeeming a credits coupon for a
//! user (the user by id or email, looked up to show their balance, a
//! confirmation with the credits awarded, `coupons::redeem`).

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::confirm_keys;
use crate::db::coupons::{Coupon, CouponRedemption};
use crate::db::credits::Overview;
use crate::db::users::User;
use crate::domain::InvalidInput;
use crate::domain::coupon::credits_awarded;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keymap::Hint;
use crate::tui::keys::{is_enter, is_esc};
use crate::tui::tabs::Ui;
use crate::tui::widgets::{Confirm, DialogKey, Field, Form, FormAction};

/// `CODE (#3)`
fn name(c: &Coupon) -> String {
    format!("{} (#{})", c.code, c.id)
}

// ------------------------------------------------------------- deactivate

pub struct DeactivateDialog {
    pub coupon: Coupon,
    pub form: Form,
    pub confirm: Option<(Confirm, Reason)>,
}

impl DeactivateDialog {
    pub fn new(coupon: Coupon) -> Self {
        let mut form = Form::new(
            "Deactivate coupon",
            vec![Field::new(
                "reason",
                "Reason",
                "required; kept in the audit log",
            )],
        );
        form.intro = vec![
            format!("{}: {}", name(&coupon), coupon.value_display()),
            format!(
                "used {}; valid {}",
                coupon.usage_display(),
                coupon.validity_display()
            ),
            String::new(),
        ];
        Self {
            coupon,
            form,
            confirm: None,
        }
    }

    pub fn in_flight(&self) -> Option<RequestId> {
        self.confirm.as_ref().and_then(|(c, _)| c.in_flight())
    }

    pub fn is_dirty(&self) -> bool {
        self.form.is_dirty() || self.confirm.is_some()
    }

    pub fn keys(&self) -> Vec<Hint> {
        match &self.confirm {
            Some((c, _)) => confirm_keys(c),
            None => vec![
                Hint::footer("Enter", "review"),
                Hint::footer("Esc", "cancel"),
            ],
        }
    }

    pub(super) fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> DialogKey {
        if let Some((confirm, reason)) = &mut self.confirm {
            let code = self.coupon.code.clone();
            let reason = reason.clone();
            return match confirm.dialog_key(key, ctx, |ctx| {
                ctx.request(Job::DeactivateCoupon { code, reason })
            }) {
                Some(k) => k,
                None => {
                    self.confirm = None;
                    DialogKey::Stay
                }
            };
        }
        match self.form.key(key) {
            FormAction::Cancel => return DialogKey::Close,
            FormAction::Submit => self.review(),
            FormAction::None => {}
        }
        DialogKey::Stay
    }

    fn review(&mut self) {
        self.form.clear_errors();
        match Reason::parse(self.form.value("reason")) {
            Ok(reason) => {
                let c = &self.coupon;
                let confirm = Confirm::new(
                    "Deactivate this coupon?",
                    vec![
                        ("coupon".into(), name(c)),
                        ("value".into(), c.value_display()),
                        ("used".into(), c.usage_display()),
                        ("valid".into(), c.validity_display()),
                        ("reason".into(), reason.as_str().to_owned()),
                        ("note".into(), "it can't be switched on again".into()),
                    ],
                );
                self.confirm = Some((confirm, reason));
            }
            Err(e) => self.form.set_errors(&[e]),
        }
    }

    /// The answer to the deactivation; false if it isn't the one in flight.
    pub(super) fn finish(&mut self, id: RequestId, result: &Result<Coupon>) -> bool {
        let Some((confirm, _)) = &mut self.confirm else {
            return false;
        };
        let result = match result {
            Ok(c) => Ok(vec![deactivated(c)]),
            Err(e) => Err(e.to_string()),
        };
        confirm.finish(id, result)
    }

    pub fn paste(&mut self, text: &str) {
        if self.confirm.is_none() {
            self.form.paste(text);
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        match &self.confirm {
            Some((confirm, _)) => confirm.render(frame, area, ui.theme, ui.tick),
            None => self.form.render(frame, area, ui.theme),
        }
    }
}

/// e.g. `deactivated coupon SPRING-50 (#12); it had been used 3/100`
pub fn deactivated(c: &Coupon) -> String {
    format!(
        "deactivated coupon {}; it had been used {}",
        name(c),
        c.usage_display()
    )
}

// ----------------------------------------------------------------- redeem

pub struct RedeemDialog {
    pub coupon: Coupon,
    /// The credits the coupon gives (checked before the dialog opens).
    pub credits: i32,
    /// Why the database will likely refuse, as far as the list knows.
    pub warning: Option<String>,
    pub form: Form,
    /// The user lookup on its way (to show who and their balance).
    pub lookup: Option<RequestId>,
    pub confirm: Option<(Confirm, User)>,
}

impl RedeemDialog {
    /// `None` when the coupon's value is no payable number of credits.
    /// `warning` says why the database will likely refuse (from data that
    /// may be stale, so it doesn't stop the operator).
    pub fn new(coupon: Coupon, warning: Option<String>) -> Option<Self> {
        let credits = credits_awarded(coupon.discount_value)?;
        let mut form = Form::new(
            "Redeem coupon",
            vec![Field::new("user", "User", "a numeric id or an email")],
        );
        form.intro = vec![
            format!("{}: +{credits} credits", name(&coupon)),
            format!(
                "used {}; valid {}",
                coupon.usage_display(),
                coupon.validity_display()
            ),
        ];
        form.intro
            .extend(warning.as_ref().map(|w| format!("note: {w}")));
        form.intro.push(String::new());
        form.keys = crate::tui::widgets::form::LOOKUP_KEYS;
        Some(Self {
            coupon,
            credits,
            warning,
            form,
            lookup: None,
            confirm: None,
        })
    }

    pub fn in_flight(&self) -> Option<RequestId> {
        self.confirm.as_ref().and_then(|(c, _)| c.in_flight())
    }

    pub fn busy(&self) -> bool {
        self.lookup.is_some() || self.in_flight().is_some()
    }

    pub fn is_dirty(&self) -> bool {
        self.form.is_dirty() || self.confirm.is_some()
    }

    pub fn keys(&self) -> Vec<Hint> {
        match &self.confirm {
            Some((c, _)) => confirm_keys(c),
            None if self.lookup.is_some() => vec![Hint::footer("Esc", "stop looking")],
            None => vec![
                Hint::footer("Enter", "look up the user"),
                Hint::footer("Esc", "cancel"),
            ],
        }
    }

    pub(super) fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> DialogKey {
        if let Some((confirm, user)) = &mut self.confirm {
            let code = self.coupon.code.clone();
            let user = UserRef::Id(user.id);
            return match confirm.dialog_key(key, ctx, |ctx| {
                ctx.request(Job::RedeemCoupon { code, user })
            }) {
                Some(k) => k,
                None => {
                    self.confirm = None;
                    DialogKey::Stay
                }
            };
        }
        if self.lookup.is_some() {
            // Waiting for the user: Esc stops waiting, typing is held.
            if is_esc(key) {
                ctx.cancel(self.lookup.take());
            }
            return if is_esc(key) || is_enter(key) {
                DialogKey::Stay
            } else {
                DialogKey::Ignored
            };
        }
        match self.form.key(key) {
            FormAction::Cancel => return DialogKey::Close,
            FormAction::Submit => self.look_up(ctx),
            FormAction::None => {}
        }
        DialogKey::Stay
    }

    fn look_up(&mut self, ctx: &mut Ctx) {
        self.form.clear_errors();
        match UserRef::parse(self.form.value("user")) {
            Ok(user) => {
                self.lookup = Some(ctx.request(Job::Overview { user }));
                self.form.error = None;
            }
            Err(e) => self.form.set_errors(&[e]),
        }
    }

    /// The user lookup answered; false if it isn't the one awaited.
    pub(super) fn looked_up(&mut self, id: RequestId, result: Result<Overview>) -> bool {
        if self.lookup != Some(id) {
            return false;
        }
        self.lookup = None;
        match result {
            Ok(o) => {
                let u = o.user;
                let new_balance = i64::from(u.credits) + i64::from(self.credits);
                let mut lines: Vec<(String, String)> = vec![
                    ("coupon".into(), name(&self.coupon)),
                    ("user".into(), format!("{} (#{})", u.email, u.id)),
                    ("credits".into(), format!("+{}", self.credits)),
                    ("balance".into(), format!("{} → {new_balance}", u.credits)),
                    ("uses".into(), self.coupon.usage_display()),
                ];
                if let Some(w) = &self.warning {
                    lines.push(("note".into(), w.clone()));
                }
                let confirm = Confirm::new("Redeem this coupon?", lines);
                self.confirm = Some((confirm, u));
            }
            // Not found and the like belong to the field.
            Err(Error::Refused(r)) => self
                .form
                .set_errors(&[InvalidInput::new("user", r.to_string())]),
            Err(Error::Invalid(errors)) => self.form.set_errors(&errors),
            Err(e) => self.form.error = Some(e.to_string()),
        }
        true
    }

    /// The answer to the redemption; false if it isn't the one in flight.
    pub(super) fn finish(&mut self, id: RequestId, result: &Result<CouponRedemption>) -> bool {
        let Some((confirm, _)) = &mut self.confirm else {
            return false;
        };
        let result = match result {
            Ok(r) => Ok(redeemed(r)),
            Err(e) => Err(e.to_string()),
        };
        confirm.finish(id, result)
    }

    pub fn paste(&mut self, text: &str) {
        if self.confirm.is_none() && self.lookup.is_none() {
            self.form.paste(text);
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        match &self.confirm {
            Some((confirm, _)) => confirm.render(frame, area, ui.theme, ui.tick),
            None if self.lookup.is_some() => {
                let mut form = self.form.clone();
                form.waiting = Some("looking up the user…   Esc stop");
                form.render(frame, area, ui.theme);
            }
            None => self.form.render(frame, area, ui.theme),
        }
    }
}

/// The result lines, e.g. `+50 credits for ana@example.com (#12)` and
/// `balance 120 → 170 (entry #812); uses 4/100`.
pub fn redeemed(r: &CouponRedemption) -> Vec<String> {
    let max = r.max_uses.map_or_else(|| "-".to_owned(), |m| m.to_string());
    vec![
        format!(
            "redeemed: +{} credits for {} (#{})",
            r.credits, r.email, r.user_id
        ),
        format!(
            "balance {} → {} (entry #{}); uses {}/{max}",
            r.old_balance, r.new_balance, r.entry_id, r.used_count
        ),
    ]
}

/// The line left on the screen, e.g. `redeemed for ana@example.com (#12):
/// balance 120 → 170`.
pub fn redeemed_notice(r: &CouponRedemption) -> String {
    format!(
        "redeemed for {} (#{}): balance {} → {}",
        r.email, r.user_id, r.old_balance, r.new_balance
    )
}
