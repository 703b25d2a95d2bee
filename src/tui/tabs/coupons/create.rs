//! Creating a coupon: a form parsed exactly like `coupons create`
//! (`CouponFields::parse`, then `NewCoupon::validate`, every field error at
//! once and under its field), Ctrl-G for a generated code, a confirmation
//! summing the coupon up, then one call to `coupons::create` (or
//! `create_generated`). Errors the database reports about fields (a code
//! already taken) go back under their field.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use tui_input::Input;

use super::confirm_keys;
use crate::db::coupons::Coupon;
use crate::domain::codes::CouponCode;
use crate::domain::coupon::{CouponFields, DiscountType, NewCoupon};
use crate::domain::{InvalidInput, Refusal};
use crate::error::{Error, Result};
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keymap::Hint;
use crate::tui::keys::is_ctrl;
use crate::tui::tabs::Ui;
use crate::tui::widgets::{Confirm, DialogKey, Field, Form, FormAction};

pub struct CreateDialog {
    pub form: Form,
    /// The code Ctrl-G put in the code field; while the field still holds
    /// it, a clash draws another code instead of refusing.
    pub generated: Option<String>,
    /// After a valid form: the summary to confirm, and what it will send.
    pub confirm: Option<(Confirm, NewCoupon, bool)>,
}

impl Default for CreateDialog {
    fn default() -> Self {
        Self::new()
    }
}

impl CreateDialog {
    pub fn new() -> Self {
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
        Self {
            form,
            generated: None,
            confirm: None,
        }
    }

    pub fn in_flight(&self) -> Option<RequestId> {
        self.confirm.as_ref().and_then(|(c, _, _)| c.in_flight())
    }

    pub fn is_dirty(&self) -> bool {
        self.form.is_dirty() || self.confirm.is_some()
    }

    pub fn keys(&self) -> Vec<Hint> {
        match &self.confirm {
            Some((c, _, _)) => confirm_keys(c),
            None => vec![
                Hint::footer("Tab", "next field"),
                Hint::footer("Ctrl-G", "generate code"),
                Hint::footer("Enter", "review"),
                Hint::footer("Esc", "cancel"),
            ],
        }
    }

    pub(super) fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> DialogKey {
        if let Some((confirm, new, generated)) = &mut self.confirm {
            let done = confirm.dialog_key(key, ctx, |ctx| {
                ctx.request(Job::CreateCoupon {
                    new: new.clone(),
                    generated: *generated,
                })
            });
            return done.unwrap_or_else(|| {
                self.confirm = None;
                DialogKey::Stay
            });
        }
        if is_ctrl(key, 'g') {
            self.generate();
            return DialogKey::Stay;
        }
        match self.form.key(key) {
            FormAction::Cancel => return DialogKey::Close,
            FormAction::Submit => self.review(ctx.now),
            FormAction::None => {}
        }
        DialogKey::Stay
    }

    /// Puts a fresh random code in the code field.
    pub fn generate(&mut self) {
        let code = CouponCode::generate().to_string();
        if let Some(i) = self.form.fields.iter().position(|f| f.name == "code") {
            let f = &mut self.form.fields[i];
            f.input = Input::new(code.clone());
            f.error = None;
            self.form.focus = i;
        }
        self.generated = Some(code);
    }

    /// Whether the code field still holds the generated code.
    fn is_generated(&self) -> bool {
        self.generated
            .as_deref()
            .is_some_and(|g| g == self.form.value("code").trim())
    }

    /// Checks the form like `coupons create` does; if valid, shows the
    /// confirmation.
    fn review(&mut self, now: DateTime<Utc>) {
        self.form.clear_errors();
        let optional = |name: &str| Some(self.form.value(name)).filter(|v| !v.trim().is_empty());
        let fields = CouponFields {
            code: Some(self.form.value("code")),
            kind: self.form.value("type"),
            value: self.form.value("value"),
            max_uses: optional("max_uses"),
            valid_from: optional("valid_from"),
            valid_until: optional("valid_until"),
            description: optional("description"),
        };
        match fields.parse(now) {
            Ok(new) => {
                let generated = self.is_generated();
                let confirm = Confirm::new("Create this coupon?", summary(&new, generated, now));
                self.confirm = Some((confirm, new, generated));
            }
            Err(errors) => self.form.set_errors(&errors),
        }
    }

    /// The answer to the create request; false if it isn't the one in
    /// flight. Field errors go back to the form, under their fields.
    pub(super) fn finish(&mut self, id: RequestId, result: &Result<Coupon>) -> bool {
        let Some((confirm, _, _)) = &mut self.confirm else {
            return false;
        };
        if confirm.in_flight() != Some(id) {
            return false;
        }
        let field_errors: Vec<InvalidInput> = match result {
            Err(Error::Invalid(errors)) => errors.clone(),
            Err(Error::Refused(r @ Refusal::DuplicateCode { .. })) => {
                vec![InvalidInput::new("code", r.to_string())]
            }
            _ => Vec::new(),
        };
        if !field_errors.is_empty() {
            self.confirm = None;
            self.form.clear_errors();
            self.form.set_errors(&field_errors);
            return true;
        }
        let result = match result {
            Ok(c) => Ok(vec![created(c)]),
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
            Some((confirm, _, _)) => confirm.render(frame, area, ui.theme, ui.tick),
            None => self.form.render(frame, area, ui.theme),
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
