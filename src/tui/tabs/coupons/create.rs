//! Creating a coupon: a form parsed exactly like `coupons create`
//! (`CouponFields::parse`, then `NewCoupon::validate`, every field error at
//! once and under its field), Ctrl-G for a generated code, a confirmation
//! summing the coupon up, then one call to `coupons::create` (or
//! `create_generated`). Errors the database reports about fields (a code
//! already taken) go back under their field.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use tui_input::Input;

use crate::db::coupons::Coupon;
use crate::domain::codes::CouponCode;
use crate::domain::coupon::{CouponFields, DiscountType, NewCoupon};
use crate::domain::{InvalidInput, Refusal};
use crate::error::Error;
use crate::tui::change::{Change, Done, Review, unexpected};
use crate::tui::command::{Job, Outcome};
use crate::tui::ctx::Ctx;
use crate::tui::keymap::Hint;
use crate::tui::keys::is_ctrl;
use crate::tui::widgets::{Field, Form};

#[derive(Default)]
pub struct Create {
    /// The code Ctrl-G put in the code field; while the field still holds
    /// it, a clash draws another code instead of refusing.
    generated: Option<String>,
}

impl Create {
    /// Puts a fresh random code in the code field.
    fn generate(&mut self, form: &mut Form) {
        let code = CouponCode::generate().to_string();
        if let Some(i) = form.fields.iter().position(|f| f.name == "code") {
            let f = &mut form.fields[i];
            f.input = Input::new(code.clone());
            f.error = None;
            form.focus = i;
        }
        self.generated = Some(code);
    }
}

impl Change for Create {
    /// The coupon, and whether its code was generated.
    type Input = (NewCoupon, bool);

    fn question(&self) -> String {
        "Create this coupon?".into()
    }

    fn applying(&self) -> &'static str {
        "A coupon is being created"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        let mut form = Form::new(
            "New coupon",
            vec![
                Field::new(
                    "code",
                    "Code",
                    "3-32 of A-Z 0-9 - _ (any case); Ctrl-G generates one",
                ),
                Field::new("type", "Type", "percentage, fixed_amount or credits"),
                Field::new(
                    "value",
                    "Value",
                    "percent (at most 100), money like 9.99, or credits",
                ),
                Field::new("max_uses", "Max uses", "blank for no limit"),
                Field::new(
                    "valid_from",
                    "Valid from",
                    "blank for now; 2026-01-02, 2026-01-02 15:04 (UTC), +7d",
                ),
                Field::new(
                    "valid_until",
                    "Valid until",
                    "blank for never; a time as above (exclusive)",
                ),
                Field::new("description", "Description", "optional"),
            ],
        );
        form.extra = vec![Hint::footer("Ctrl-G", "generate code")];
        Some(form)
    }

    fn form_key(&mut self, form: &mut Form, key: &KeyEvent, _ctx: &mut Ctx) -> bool {
        if is_ctrl(key, 'g') {
            self.generate(form);
            return true;
        }
        false
    }

    /// Like `coupons create`: `CouponFields::parse`, every error at once.
    fn parse(
        &self,
        form: Option<&Form>,
        now: DateTime<Utc>,
    ) -> Result<Self::Input, Vec<InvalidInput>> {
        let value = |name: &'static str| form.map_or("", |f| f.value(name));
        let optional = |name: &'static str| Some(value(name)).filter(|v| !v.trim().is_empty());
        let fields = CouponFields {
            code: Some(value("code")),
            kind: value("type"),
            value: value("value"),
            max_uses: optional("max_uses"),
            valid_from: optional("valid_from"),
            valid_until: optional("valid_until"),
            description: optional("description"),
        };
        let new = fields.parse(now)?;
        // Whether the code field still holds the generated code.
        let generated = self
            .generated
            .as_deref()
            .is_some_and(|g| g == value("code").trim());
        Ok((new, generated))
    }

    fn review(
        &mut self,
        (new, generated): &Self::Input,
        _fresh: Vec<Outcome>,
        now: DateTime<Utc>,
    ) -> Review {
        Review::Confirm(summary(new, *generated, now))
    }

    fn job(&self, (new, generated): &Self::Input) -> Job {
        Job::CreateCoupon {
            new: new.clone(),
            generated: *generated,
        }
    }

    fn done(&mut self, outcome: Outcome) -> Result<Done, Error> {
        match outcome {
            Outcome::CouponCreated(r) => r.map(|c| Done::new("Coupon created", vec![created(&c)])),
            other => Err(unexpected(&other)),
        }
    }

    /// A code already taken goes back under the code field.
    fn field_errors(&self, e: &Error) -> Vec<InvalidInput> {
        match e {
            Error::Invalid(errors) => errors.clone(),
            Error::Refused(r @ Refusal::DuplicateCode { .. }) => {
                vec![InvalidInput::new("code", r.to_string())]
            }
            _ => Vec::new(),
        }
    }
}

/// The coupon as it would be stored, to show it the way stored ones are.
fn preview(new: &NewCoupon, now: DateTime<Utc>) -> Coupon {
    Coupon {
        id: 0,
        code: new.code.to_string(),
        description: new.description.clone(),
        discount_type: new.discount_type.as_str().to_owned(),
        discount_value: new.value,
        max_uses: new.max_uses,
        used_count: 0,
        valid_from: new.valid_from,
        valid_until: new.valid_until,
        is_active: true,
        created_at: now,
    }
}

/// The confirmation's lines.
fn summary(new: &NewCoupon, generated: bool, now: DateTime<Utc>) -> Vec<(String, String)> {
    let c = preview(new, now);
    let code = if generated {
        format!("{} (generated; another is drawn if taken)", c.code)
    } else {
        c.code.clone()
    };
    let mut lines = vec![
        ("code".into(), code),
        ("type".into(), c.discount_type.clone()),
        ("value".into(), c.value_display()),
        (
            "max uses".into(),
            new.max_uses
                .map_or_else(|| "no limit".into(), |m| m.to_string()),
        ),
        ("valid".into(), c.validity_display()),
        (
            "description".into(),
            c.description.clone().unwrap_or_else(|| "-".into()),
        ),
    ];
    let note = match new.discount_type {
        DiscountType::Credits => "redeemed here for a user (r)",
        DiscountType::Percentage | DiscountType::FixedAmount => {
            "a discount applied at checkout in the web app"
        }
    };
    lines.push(("use".into(), note.into()));
    lines
}

/// e.g. `created credits coupon SPRING-50 (#12): 50 credits, uses 0/100`
pub fn created(c: &Coupon) -> String {
    format!(
        "created {} coupon {} (#{}): {}, uses {}",
        c.discount_type,
        c.code,
        c.id,
        c.value_display(),
        c.usage_display()
    )
}
