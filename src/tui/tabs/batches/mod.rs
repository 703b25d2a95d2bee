//! Tab 4, Batches: photo-generation batches by status, the stuck view (`s`:
//! generating longer than a threshold, oldest first), a batch in full, and
//! failing it with a refund through `batches::fail`.

mod detail;
mod fail;
mod fail_many;
mod list;

use chrono::Duration;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::{Below, Copied, Handled, Tab, Ui};
use crate::tui::change::ChangeDialog;
use crate::tui::command::{Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::dialog::{Dialogs, Event};
use crate::tui::keymap::{Allow, Hint};
use crate::tui::link::Link;

use detail::Detail;
use list::List;

pub use crate::domain::amounts::short_age as age;

/// A duration in the largest unit that divides it, as
/// `domain::amounts::parse_duration` reads it back: `15m`, `2h`, `1d`.
pub fn duration_label(d: Duration) -> String {
    let s = d.num_seconds();
    match s {
        _ if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        _ if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        _ if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

#[derive(Default)]
pub struct BatchesTab {
    pub list: List,
    /// The batch opened from the list or by a link (Esc goes back).
    pub detail: Option<Detail>,
    /// Batches opened before, by links: back returns to them.
    below: Below<Detail>,
    /// Over the list: failing the marked batches.
    dialogs: Dialogs,
}

impl BatchesTab {
    /// Opens batch `id` on top of what is shown (back returns there);
    /// `fail`: with its fail dialog once it is loaded.
    fn open_detail(&mut self, id: i32, fail: bool, ctx: &mut Ctx) {
        if let Some(d) = &self.detail {
            d.close(ctx);
        }
        let known = self.list.batch(id).cloned();
        let mut page = Detail::open(id, known, self.list.view.stuck_after, ctx);
        if fail {
            page.fail_when_loaded(ctx);
        }
        self.below.push(&mut self.detail, page);
    }

    /// What the fail-many dialog reports: the run's summary on the list,
    /// the marks cleared (what they were for is done), the list again.
    fn event(&mut self, event: Option<Event>, ctx: &mut Ctx) {
        match event {
            Some(Event::Changed(notice)) => {
                self.list.notice = Some(notice);
                self.list.marks.clear();
                self.list.refresh(ctx);
            }
            Some(Event::Notice(notice)) => self.list.notice = Some(notice),
            Some(Event::Filter(_)) | None => {}
        }
    }

    /// A change was made in the detail: the list loads again behind it.
    fn after_detail(&mut self, ctx: &mut Ctx) {
        if let Some(d) = &mut self.detail
            && std::mem::take(&mut d.changed)
        {
            self.list.refresh(ctx);
        }
    }
}

impl Tab for BatchesTab {
    /// The first time, the batches; shown again, loaded again.
    fn activate(&mut self, ctx: &mut Ctx) {
        if self.list.started() {
            self.refresh(ctx);
        } else {
            self.list.start(ctx);
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        if self.detail.is_none() && !self.dialogs.is_open() {
            self.list.tick(ctx);
        }
    }

    fn polls(&self) -> bool {
        self.detail.is_none() && self.list.form.is_none() && !self.dialogs.is_open()
    }

    fn pause(&mut self) {
        self.list.pause();
    }

    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Handled {
        if let Some(detail) = &mut self.detail {
            let handled = match detail.key(key, ctx) {
                detail::KeyResult::Handled => Handled::Yes,
                detail::KeyResult::Ignored => Handled::No,
                // The app goes back (through the links followed).
                detail::KeyResult::Back => Handled::No,
            };
            self.after_detail(ctx);
            return handled;
        }
        if self.dialogs.is_open() {
            let (handled, event) = self.dialogs.key(key, ctx);
            self.event(event, ctx);
            return handled;
        }
        match self.list.key(key, ctx) {
            list::KeyResult::Handled => Handled::Yes,
            list::KeyResult::Ignored => Handled::No,
            list::KeyResult::Open(b) => {
                self.open_detail(b.id, false, ctx);
                Handled::Yes
            }
            list::KeyResult::Fail(b) => {
                self.open_detail(b.id, true, ctx);
                Handled::Yes
            }
            list::KeyResult::FailMany(ids) => {
                let dialog = ChangeDialog::open(fail_many::FailMany::new(ids), ctx);
                self.dialogs.open(dialog);
                self.list.notice = None;
                Handled::Yes
            }
        }
    }

    fn paste(&mut self, text: &str, _ctx: &mut Ctx) -> Handled {
        let used = match &mut self.detail {
            Some(d) => d.paste(text),
            None if self.dialogs.is_open() => self.dialogs.paste(text),
            None => self.list.paste(text),
        };
        if used { Handled::Yes } else { Handled::No }
    }

    fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx) {
        match outcome {
            Outcome::Batches(result) => self.list.reply(id, result, ctx),
            other => {
                let other = match self.dialogs.reply(id, other, ctx) {
                    Ok(event) => return self.event(event, ctx),
                    Err(other) => other,
                };
                if let Some(d) = &mut self.detail {
                    d.reply(id, other, ctx);
                }
                self.after_detail(ctx);
            }
        }
    }

    fn open(&mut self, link: &Link, ctx: &mut Ctx) -> bool {
        let Link::Batch(id) = link else {
            return false;
        };
        self.open_detail(*id, false, ctx);
        true
    }

    fn depth(&self) -> usize {
        self.below.depth(&self.detail)
    }

    fn back(&mut self, ctx: &mut Ctx) {
        if let Some(left) = self.below.pop(&mut self.detail) {
            left.close(ctx);
        }
        match &mut self.detail {
            Some(d) => d.refresh(ctx),
            None => self.list.refresh(ctx),
        }
    }

    fn copy(&self) -> Option<Copied> {
        let id = match &self.detail {
            Some(d) if d.modal() => return None,
            Some(d) => d.id,
            None if self.list.form.is_some() || self.dialogs.is_open() => return None,
            None => self.list.selected()?.id,
        };
        Some(Copied::new("batch id", id.to_string()))
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        match &mut self.detail {
            Some(d) => d.refresh(ctx),
            None => self.list.refresh(ctx),
        }
    }

    fn retry(&mut self, ctx: &mut Ctx) {
        self.list.retry(ctx);
        self.dialogs.retry(ctx);
        if let Some(d) = &mut self.detail {
            d.retry(ctx);
        }
    }

    fn modal(&self) -> bool {
        match &self.detail {
            Some(d) => d.modal(),
            None => self.list.form.is_some() || self.dialogs.is_open(),
        }
    }

    fn unsaved(&self) -> Option<String> {
        self.detail
            .as_ref()
            .and_then(Detail::unsaved)
            .or_else(|| self.dialogs.unsaved())
    }

    fn busy(&self) -> bool {
        self.list.busy() || self.detail.as_ref().is_some_and(Detail::busy) || self.dialogs.busy()
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        match &self.detail {
            Some(d) => d.hints(allow),
            None => self
                .dialogs
                .hints(allow)
                .unwrap_or_else(|| self.list.hints(allow)),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        match &self.detail {
            Some(d) => d.render(frame, area, ui),
            None => {
                self.list.render(frame, area, ui);
                self.dialogs.render(frame, area, ui);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_back() {
        use crate::domain::amounts::parse_duration;
        for d in [
            Duration::minutes(15),
            Duration::minutes(90),
            Duration::hours(2),
            Duration::days(7),
            Duration::seconds(45),
        ] {
            let label = duration_label(d);
            assert_eq!(parse_duration("d", &label), Ok(d), "{label}");
        }
        assert_eq!(duration_label(Duration::minutes(15)), "15m");
    }
}
