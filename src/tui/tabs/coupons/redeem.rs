//! Redeeming a credits coupon for a user: the user picked as you type (id,
//! email or name), read fresh to show their balance, a confirmation with the credits awarded, one
//! call to `coupons::redeem`.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use super::name;
use crate::db::coupons::{Coupon, CouponRedemption};
use crate::db::users::User;
use crate::domain::InvalidInput;
use crate::domain::Refusal;
use crate::domain::coupon::{check_redeemable, credits_awarded};
use crate::domain::user_ref::UserRef;
use crate::error::Error;
use crate::tui::change::{Change, Done, Review, changed_meanwhile, unexpected, unreadable};
use crate::tui::command::{Job, Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::widgets::form::LOOKUP_KEYS;
use crate::tui::widgets::{Form, UserPicker};

pub struct Redeem {
    coupon: Coupon,
    /// The credits the coupon gives (checked before the dialog opens).
    credits: i32,
    /// Why the database will likely refuse, as far as the list knows.
    warning: Option<String>,
    /// The user field.
    picker: UserPicker,
    /// The user the review found.
    user: Option<User>,
}

impl Redeem {
    /// `None` when the coupon's value is no payable number of credits.
    /// `warning` says why the database will likely refuse (from data that
    /// may be stale, so it doesn't stop the operator).
    pub fn new(coupon: Coupon, warning: Option<String>) -> Option<Self> {
        Some(Self {
            credits: credits_awarded(coupon.discount_value)?,
            coupon,
            warning,
            picker: UserPicker::new("user"),
            user: None,
        })
    }
}

impl Change for Redeem {
    type Input = UserRef;

    fn question(&self) -> String {
        "Redeem this coupon?".into()
    }

    fn applying(&self) -> &'static str {
        "A coupon is being redeemed"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        let c = &self.coupon;
        let mut form =
            Form::new("Redeem coupon", vec![self.picker.field("User")]).with_keys(LOOKUP_KEYS);
        form.intro = vec![
            format!("{}: +{} credits", name(c), self.credits),
            format!("used {}; valid {}", c.usage_display(), c.validity_display()),
        ];
        form.intro
            .extend(self.warning.as_ref().map(|w| format!("note: {w}")));
        form.intro.push(String::new());
        Some(form)
    }

    fn form_key(&mut self, form: &mut Form, key: &KeyEvent, ctx: &mut Ctx) -> bool {
        self.picker.key(form, key, ctx)
    }

    fn form_reply(
        &mut self,
        form: &mut Form,
        id: RequestId,
        outcome: Outcome,
        _ctx: &mut Ctx,
    ) -> Result<(), Outcome> {
        self.picker.reply(form, id, outcome)
    }

    fn form_busy(&self) -> bool {
        self.picker.busy()
    }

    fn form_retry(&mut self, form: &mut Form, ctx: &mut Ctx) {
        self.picker.retry(form, ctx);
    }

    fn parse(
        &self,
        form: Option<&Form>,
        _now: DateTime<Utc>,
    ) -> Result<UserRef, Vec<InvalidInput>> {
        self.picker.user(form).map_err(|e| vec![e])
    }

    /// Who it is for and their balance now, and the coupon as it is now.
    fn fresh(&self, user: &UserRef) -> Vec<Job> {
        vec![
            Job::User { user: user.clone() },
            Job::Coupon {
                code: self.coupon.code.clone(),
            },
        ]
    }

    fn review(&mut self, _user: &UserRef, fresh: Vec<Outcome>, now: DateTime<Utc>) -> Review {
        let mut fresh = fresh.into_iter();
        let u = match fresh.next() {
            Some(Outcome::User(Ok(u))) => u,
            // Not found and the like belong to the field.
            Some(Outcome::User(Err(Error::Refused(r)))) => {
                return Review::Invalid(vec![InvalidInput::new("user", r.to_string())]);
            }
            Some(Outcome::User(Err(Error::Invalid(errors)))) => return Review::Invalid(errors),
            Some(Outcome::User(Err(e))) => return unreadable("the user", Some(&e)),
            _ => return unreadable("the user", None),
        };
        let detail = match fresh.next() {
            Some(Outcome::Coupon(Ok(d))) => d,
            Some(Outcome::Coupon(Err(e))) => return unreadable("the coupon", Some(&e)),
            _ => return unreadable("the coupon", None),
        };
        self.coupon = detail.coupon;
        // What the database would refuse, known now: said instead of asked.
        let refusal = match self.coupon.state() {
            Some(s) => check_redeemable(&s, now).err(),
            None => None,
        }
        .or_else(|| {
            detail
                .redemptions
                .iter()
                .any(|r| r.user_id == u.id)
                .then_some(Refusal::CouponAlreadyRedeemed)
        });
        if let Some(r) = refusal {
            return Review::Refused(format!("{} for {}: {r}", name(&self.coupon), u.email));
        }
        self.warning = None;
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
        self.user = Some(u);
        Review::Confirm(lines)
    }

    fn job(&self, user: &UserRef) -> Job {
        Job::RedeemCoupon {
            code: self.coupon.code.clone(),
            // The user the review showed, by id.
            user: self
                .user
                .as_ref()
                .map_or_else(|| user.clone(), |u| UserRef::Id(u.id)),
        }
    }

    fn done(&mut self, outcome: Outcome) -> Result<Done, Error> {
        match outcome {
            Outcome::CouponRedeemed(r) => r.map(|r| {
                let mut lines = redeemed(&r);
                if let Some(u) = &self.user
                    && u.credits != r.old_balance
                {
                    lines.push(changed_meanwhile(u.credits, r.old_balance, r.new_balance));
                }
                let mut done = Done::new("Coupon redeemed", lines);
                done.notice = redeemed_notice(&r);
                done
            }),
            other => Err(unexpected(&other)),
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
