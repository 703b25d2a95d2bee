//! What every list draws the same way: its table (header, the rows that
//! fit, the selection), the line in place of an empty one, and the status in
//! its bottom border while it loads or fails.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::{ListNav, PagedWindow, fit, spinner};
use crate::tui::theme::Theme;

/// A list as a table: a header row over the rows that fit, scrolled so the
/// selection stays in view, and highlighted.
pub struct ListTable<'a> {
    theme: &'a Theme,
    header: Vec<Cell<'a>>,
    widths: Vec<Constraint>,
}

impl<'a> ListTable<'a> {
    pub fn new(theme: &'a Theme) -> Self {
        Self {
            theme,
            header: Vec::new(),
            widths: Vec::new(),
        }
    }

    #[must_use]
    pub fn column(mut self, header: impl Into<Cell<'a>>, width: Constraint) -> Self {
        self.header.push(header.into());
        self.widths.push(width);
        self
    }

    /// Draws the rows of `items` (`len` of them) that fit in `area`.
    pub fn render<T>(
        self,
        frame: &mut Frame,
        area: Rect,
        nav: &ListNav,
        len: usize,
        items: impl Iterator<Item = T>,
        row: impl FnMut(T) -> Row<'a>,
    ) {
        let height = usize::from(area.height.saturating_sub(1));
        let from = nav.visible_from(len, height);
        let rows = items.skip(from).take(height).map(row);
        let table = Table::new(rows, self.widths)
            .header(Row::new(self.header).style(self.theme.header()))
            .row_highlight_style(self.theme.selected());
        let mut state = TableState::new().with_selected(Some(nav.selected().saturating_sub(from)));
        frame.render_stateful_widget(table, area, &mut state);
    }
}

/// The width of an id column (`#123456`): the widest id shown, so no id is
/// ever cut; at least `min` (its header).
pub fn id_width(ids: impl Iterator<Item = i64>, min: u16) -> u16 {
    let widest = ids.map(|id| id.to_string().len() + 1).max().unwrap_or(0);
    u16::try_from(widest).unwrap_or(u16::MAX).max(min)
}

/// What a list without rows says instead (e.g. "no coupons yet").
pub fn render_empty(frame: &mut Frame, area: Rect, theme: &Theme, text: &str) {
    frame.render_widget(Paragraph::new(Span::styled(text, theme.dim())), area);
}

/// A list's status while its request failed (R retries) or is on its way,
/// cut to `width`; `None` otherwise.
pub fn load_status(
    error: Option<&str>,
    loading: bool,
    what: &str,
    width: u16,
    theme: &Theme,
    tick: u64,
) -> Option<Span<'static>> {
    if let Some(e) = error {
        Some(Span::styled(
            fit(&format!(" {e} — R to retry "), width),
            theme.error(),
        ))
    } else if loading {
        Some(Span::styled(
            format!(" {} ", spinner::loading(tick, what)),
            theme.warning(),
        ))
    } else {
        None
    }
}

/// A paged list's status: failed, loading, or the rows held (`101–200+`:
/// `+` while older rows are left).
pub fn paged_status<T, C: Copy + PartialEq>(
    w: &PagedWindow<T, C>,
    width: u16,
    theme: &Theme,
    tick: u64,
) -> Span<'static> {
    load_status(w.error(), w.is_loading(), "loading…", width, theme, tick).unwrap_or_else(|| {
        if w.is_empty() {
            Span::raw("")
        } else {
            let more = if w.has_older() { "+" } else { "" };
            Span::raw(format!(
                " {}–{}{more} ",
                w.rows_above() + 1,
                w.rows_above() + w.len()
            ))
        }
    })
}
