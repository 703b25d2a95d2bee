//! Approve and reject: a [`Change`] each, through the one change flow, and
//! what approving did.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::db::Db;
use crate::db::approvals::{Approved, Request, RequestDetail};
use crate::domain::InvalidInput;
use crate::domain::operator::Operator;
use crate::domain::text::{Reason, sanitize};
use crate::error::{Error, Result};
use crate::tui::change::{Change, Done, Review, field, unexpected, unreadable};
use crate::tui::command::{Job, Outcome};
use crate::tui::ctx::Ctx;
use crate::tui::format::exact;
use crate::tui::widgets::{Field, Form};

/// What approving did, as the result dialog says it.
#[derive(Debug)]
pub struct ApprovalDone {
    pub id: i64,
    pub approved: Approved,
    /// Where issued gift-card codes were written (mode 0600).
    pub codes_saved: Option<PathBuf>,
    /// Why they couldn't be: the codes are then shown in the result.
    pub codes_error: Option<String>,
}

/// Approves request `id`; issued gift-card codes go straight to a new file
/// at `codes_to`, so none is lost whatever the operator does meanwhile.
pub async fn approve(
    db: &Db,
    operator: &Operator,
    id: i64,
    codes_to: PathBuf,
) -> Result<ApprovalDone> {
    let approved = crate::db::approvals::approve(db, operator, id, None).await?;
    let (mut codes_saved, mut codes_error) = (None, None);
    if let Approved::GiftCards(cards) = &approved {
        let cards = cards.clone();
        let path = codes_to.clone();
        let saved = tokio::task::spawn_blocking(move || {
            crate::tui::command::save_gift_card_codes(&path, &cards)
        })
        .await
        .unwrap_or_else(|e| Err(Error::Infrastructure(format!("saving the codes: {e}"))));
        match saved {
            Ok(p) => codes_saved = Some(p),
            Err(e) => codes_error = Some(e.to_string()),
        }
    }
    Ok(ApprovalDone {
        id,
        approved,
        codes_saved,
        codes_error,
    })
}

/// The result's lines.
fn approved_lines(d: &ApprovalDone) -> Vec<String> {
    let mut lines = vec![format!("approved request #{}", d.id)];
    match &d.approved {
        Approved::Adjustment(a) => lines.push(format!(
            "booked entry #{}: balance {} → {}",
            a.entry_id, a.old_balance, a.new_balance
        )),
        Approved::GiftCards(cards) => {
            let credits: i64 = cards.iter().map(|c| i64::from(c.credits)).sum();
            lines.push(format!(
                "issued {} gift card(s), {credits} credits in all",
                cards.len()
            ));
            match (&d.codes_saved, &d.codes_error) {
                (Some(p), _) => lines.push(format!(
                    "the codes are in {} (readable by you only)",
                    p.display()
                )),
                (None, e) => {
                    lines.push(format!(
                        "the codes could not be saved ({}): copy them now, they are not shown again",
                        e.as_deref().unwrap_or("unknown error")
                    ));
                    lines.extend(cards.iter().map(|c| format!("#{}  {}", c.id, c.code)));
                }
            }
        }
        Approved::AdjustMany(r) => lines.push(format!(
            "booked {} rows of {} (+{} / -{} credits); {} booked before, {} skipped, {} refused",
            r.booked.len(),
            sanitize(&r.file),
            r.credited,
            r.debited,
            r.replayed.len(),
            r.skipped.len(),
            r.failed.len()
        )),
        Approved::FailMany(r) => lines.push(format!(
            "failed {} batches, {} credits refunded; {} skipped, {} refused, {} not run",
            r.done.len(),
            r.refunded,
            r.skipped.len(),
            r.failed.len(),
            r.not_run.len()
        )),
        Approved::Reversal(r) => lines.push(format!(
            "booked entry #{} reversing #{} ({:+}) for user #{}: balance {} → {}",
            r.reversal_entry_id, r.entry_id, r.amount, r.user_id, r.old_balance, r.new_balance
        )),
    }
    lines
}

/// The confirmation's lines of a request read fresh, or why it can't be
/// decided.
fn decision_lines(
    d: &RequestDetail,
    me: Option<&str>,
    decision: &str,
) -> std::result::Result<Vec<(String, String)>, String> {
    let r = &d.request;
    if r.status != "pending" {
        return Err(format!(
            "request #{} is {} already: there is nothing to {decision}",
            r.id, r.status
        ));
    }
    if me.is_some_and(|m| m == r.requested_by_login) {
        return Err(format!(
            "request #{} is your own: another person must {decision} it",
            r.id
        ));
    }
    let mut lines = vec![
        ("request".to_owned(), format!("#{} {}", r.id, r.kind)),
        ("summary".to_owned(), r.summary.clone()),
        ("asked by".to_owned(), requester(r)),
        ("reason".to_owned(), r.reason.clone()),
        ("expires".to_owned(), exact(r.expires_at)),
    ];
    for (i, e) in d.effect_now.iter().enumerate() {
        let label = if i == 0 { "now" } else { "" };
        lines.push((label.to_owned(), e.clone()));
    }
    Ok(lines)
}

/// `ana` or `ana (login postgres)` when the name given differs.
pub(super) fn requester(r: &Request) -> String {
    if r.requested_by == r.requested_by_login {
        r.requested_by.clone()
    } else {
        format!("{} (login {})", r.requested_by, r.requested_by_login)
    }
}

/// `a`: approve someone else's request.
pub struct Approve {
    id: i64,
    me: Option<String>,
    codes_to: PathBuf,
}

impl Approve {
    /// Issued codes, if the request issues cards, go to a new file in `dir`.
    pub fn new(id: i64, me: Option<String>, dir: &std::path::Path, now: DateTime<Utc>) -> Self {
        Self {
            id,
            me,
            codes_to: dir.join(format!(
                "creditdesk-approved-{id}-codes-{}.csv",
                now.format("%Y%m%d-%H%M%S")
            )),
        }
    }
}

impl Change for Approve {
    type Input = ();

    fn question(&self) -> String {
        format!("Approve request #{}?", self.id)
    }

    fn verb(&self) -> &'static str {
        "approve"
    }

    fn applying(&self) -> &'static str {
        "An approval is being applied"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        None
    }

    fn parse(
        &self,
        _form: Option<&Form>,
        _now: DateTime<Utc>,
    ) -> std::result::Result<(), Vec<InvalidInput>> {
        Ok(())
    }

    /// The request and its effect as they are now.
    fn fresh(&self, _input: &()) -> Vec<Job> {
        vec![Job::Approval { id: self.id }]
    }

    fn review(&mut self, _input: &(), fresh: Vec<Outcome>, _now: DateTime<Utc>) -> Review {
        match fresh.into_iter().next() {
            Some(Outcome::Approval(Ok(d))) => {
                match decision_lines(&d, self.me.as_deref(), "approve") {
                    Ok(lines) => Review::Confirm(lines),
                    Err(why) => Review::Refused(why),
                }
            }
            Some(Outcome::Approval(Err(e))) => unreadable("the request", Some(&e)),
            _ => unreadable("the request", None),
        }
    }

    fn job(&self, _input: &()) -> Job {
        Job::Approve {
            id: self.id,
            codes_to: self.codes_to.clone(),
        }
    }

    fn done(&mut self, outcome: Outcome) -> std::result::Result<Done, Error> {
        match outcome {
            Outcome::Approved(r) => r.map(|d| Done::new("Request approved", approved_lines(&d))),
            other => Err(unexpected(&other)),
        }
    }

    fn unknown_outcome(&self) -> &'static str {
        "it may or may not have been approved: look at the request before trying again"
    }
}

/// `r`: reject someone else's request, with a reason.
pub struct Reject {
    id: i64,
    me: Option<String>,
}

impl Reject {
    pub fn new(id: i64, me: Option<String>) -> Self {
        Self { id, me }
    }
}

impl Change for Reject {
    type Input = Reason;

    fn question(&self) -> String {
        format!("Reject request #{}?", self.id)
    }

    fn verb(&self) -> &'static str {
        "reject"
    }

    fn applying(&self) -> &'static str {
        "A rejection is being applied"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        let mut form = Form::new(
            format!("Reject request #{}", self.id),
            vec![Field::new(
                "reason",
                "Reason",
                "required; the requester and the audit log see it",
            )],
        );
        form.intro = vec!["Nothing of the request is applied.".into(), String::new()];
        Some(form)
    }

    fn parse(
        &self,
        form: Option<&Form>,
        _now: DateTime<Utc>,
    ) -> std::result::Result<Reason, Vec<InvalidInput>> {
        Reason::parse(field(form, "reason")).map_err(|e| vec![e])
    }

    fn fresh(&self, _input: &Reason) -> Vec<Job> {
        vec![Job::Approval { id: self.id }]
    }

    fn review(&mut self, reason: &Reason, fresh: Vec<Outcome>, _now: DateTime<Utc>) -> Review {
        match fresh.into_iter().next() {
            Some(Outcome::Approval(Ok(d))) => {
                match decision_lines(&d, self.me.as_deref(), "reject") {
                    Ok(mut lines) => {
                        lines.push(("rejected as".into(), reason.as_str().to_owned()));
                        Review::Confirm(lines)
                    }
                    Err(why) => Review::Refused(why),
                }
            }
            Some(Outcome::Approval(Err(e))) => unreadable("the request", Some(&e)),
            _ => unreadable("the request", None),
        }
    }

    fn job(&self, reason: &Reason) -> Job {
        Job::Reject {
            id: self.id,
            reason: reason.clone(),
        }
    }

    fn done(&mut self, outcome: Outcome) -> std::result::Result<Done, Error> {
        match outcome {
            Outcome::Rejected(r) => r.map(|req| {
                Done::new(
                    "Request rejected",
                    vec![format!(
                        "rejected request #{} ({}): nothing of it was applied",
                        req.id,
                        sanitize(&req.summary)
                    )],
                )
            }),
            other => Err(unexpected(&other)),
        }
    }
}
