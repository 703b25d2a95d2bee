//! Deactivating a coupon: a required reason, a confirmation, one call to
//! `coupons::deactivate`.

use chrono::{DateTime, Utc};

use super::name;
use crate::db::coupons::Coupon;
use crate::domain::InvalidInput;
use crate::domain::Refusal;
use crate::domain::text::Reason;
use crate::error::Error;
use crate::tui::change::{Change, Done, Review, field, unexpected, unreadable};
use crate::tui::command::{Job, Outcome};
use crate::tui::ctx::Ctx;
use crate::tui::widgets::{Field, Form};

pub struct Deactivate {
    pub coupon: Coupon,
}

impl Change for Deactivate {
    type Input = Reason;

    fn question(&self) -> String {
        "Deactivate this coupon?".into()
    }

    fn applying(&self) -> &'static str {
        "A coupon is being deactivated"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        let c = &self.coupon;
        let mut form = Form::new(
            "Deactivate coupon",
            vec![Field::new(
                "reason",
                "Reason",
                "required; kept in the audit log",
            )],
        );
        form.intro = vec![
            format!("{}: {}", name(c), c.value_display()),
            format!("used {}; valid {}", c.usage_display(), c.validity_display()),
            String::new(),
        ];
        Some(form)
    }

    fn parse(&self, form: Option<&Form>, _now: DateTime<Utc>) -> Result<Reason, Vec<InvalidInput>> {
        Reason::parse(field(form, "reason")).map_err(|e| vec![e])
    }

    /// The coupon as it is now (its uses, whether still active).
    fn fresh(&self, _reason: &Reason) -> Vec<Job> {
        vec![Job::Coupon {
            code: self.coupon.code.clone(),
        }]
    }

    fn review(&mut self, reason: &Reason, fresh: Vec<Outcome>, _now: DateTime<Utc>) -> Review {
        match fresh.into_iter().next() {
            Some(Outcome::Coupon(Ok(d))) => self.coupon = d.coupon,
            Some(Outcome::Coupon(Err(e))) => return unreadable("the coupon", Some(&e)),
            _ => return unreadable("the coupon", None),
        }
        let c = &self.coupon;
        if !c.is_active {
            return Review::Refused(format!(
                "{}: {}; nothing to do",
                name(c),
                Refusal::CouponAlreadyInactive
            ));
        }
        Review::Confirm(vec![
            ("coupon".into(), name(c)),
            ("value".into(), c.value_display()),
            ("used".into(), c.usage_display()),
            ("valid".into(), c.validity_display()),
            ("reason".into(), reason.as_str().to_owned()),
            ("note".into(), "it can't be switched on again".into()),
        ])
    }

    fn job(&self, reason: &Reason) -> Job {
        Job::DeactivateCoupon {
            code: self.coupon.code.clone(),
            reason: reason.clone(),
        }
    }

    fn done(&mut self, outcome: Outcome) -> Result<Done, Error> {
        match outcome {
            Outcome::CouponDeactivated(r) => {
                r.map(|c| Done::new("Coupon deactivated", vec![deactivated(&c)]))
            }
            other => Err(unexpected(&other)),
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
