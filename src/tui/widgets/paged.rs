//! A long list read page by page as the operator scrolls (keyset paging),
//! holding at most `max_pages` pages however far they go.
//!
//! Scrolling down asks for the page after the last one; once the window is
//! full, the top page is dropped and the cursor it was fetched with is kept,
//! so scrolling back up fetches it again. Memory stays flat: `max_pages`
//! pages plus one cursor per dropped page.
//!
//! A window that hasn't dropped pages can be reloaded in place
//! ([`Fetch::Reload`]: every row it holds, in one query): the selected row
//! stays selected (found again by its key) and on the same screen row.

use std::collections::VecDeque;

use super::list_nav::ListNav;
use crate::tui::command::RequestId;
use crate::tui::keys::Nav;

#[derive(Debug, Clone)]
struct Page<T, C> {
    /// The cursor this page was fetched with (`None`: the newest page).
    before: Option<C>,
    rows: Vec<T>,
    /// Where the following page starts, if there may be one.
    next: Option<C>,
}

/// Which page to fetch, and with which `before` cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch<C> {
    /// The newest page; the window starts over.
    First,
    /// Every row held, again (limit [`PagedWindow::reload_limit`]), keeping
    /// the selection and the scroll position.
    Reload,
    /// The page after the window's last one.
    Older(C),
    /// The page just above the window, dropped earlier.
    Newer(Option<C>),
}

impl<C: Copy> Fetch<C> {
    pub fn before(&self) -> Option<C> {
        match *self {
            Fetch::First | Fetch::Reload => None,
            Fetch::Older(c) => Some(c),
            Fetch::Newer(c) => c,
        }
    }
}

/// What became of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Not the request we wait for: ignored.
    Stale,
    Applied,
    Failed,
    /// The rows above changed since they were dropped (new entries at the
    /// top): the caller should start over from the newest page.
    Restart,
}

#[derive(Debug, Clone)]
pub struct PagedWindow<T, C> {
    pages: VecDeque<Page<T, C>>,
    /// `before` cursors of the pages dropped from the top, nearest last.
    above: Vec<Option<C>>,
    /// Rows dropped from the top, to number the rows shown.
    rows_above: usize,
    pending: Option<(RequestId, Fetch<C>)>,
    failed: Option<Fetch<C>>,
    error: Option<String>,
    loaded: bool,
    pub nav: ListNav,
    max_pages: usize,
    /// Fetch the next page when the selection comes this close to an edge.
    margin: usize,
    /// Rows per page.
    page: usize,
    /// A row's position in the order (its cursor): finds it again.
    key: fn(&T) -> C,
}

impl<T, C: Copy + PartialEq> PagedWindow<T, C> {
    /// `page` rows per page; `key` gives a row's cursor (its place in the
    /// order, unique).
    pub fn new(max_pages: usize, margin: usize, page: usize, key: fn(&T) -> C) -> Self {
        Self {
            pages: VecDeque::new(),
            above: Vec::new(),
            rows_above: 0,
            pending: None,
            failed: None,
            error: None,
            loaded: false,
            nav: ListNav::default(),
            max_pages: max_pages.max(2),
            margin,
            page: page.max(1),
            key,
        }
    }

    /// Whether it can be reloaded in place: loaded, nothing on its way,
    /// no page dropped above (then only starting over shows the top).
    pub fn reloadable(&self) -> bool {
        self.loaded && self.pending.is_none() && self.above.is_empty()
    }

    /// How many rows a [`Fetch::Reload`] asks for: every row held.
    pub fn reload_limit(&self) -> usize {
        self.len().max(self.page)
    }

    /// What loading again means now: in place if it can, else from the top.
    pub fn refresh(&self) -> Fetch<C> {
        if self.reloadable() {
            Fetch::Reload
        } else {
            Fetch::First
        }
    }

    /// The limit of a request for `fetch`: a page, or every row held.
    pub fn limit(&self, fetch: Fetch<C>) -> i64 {
        let rows = match fetch {
            Fetch::Reload => self.reload_limit(),
            _ => self.page,
        };
        i64::try_from(rows).unwrap_or(i64::MAX)
    }

    /// The index of the row whose key is `k`.
    fn position(&self, k: C) -> Option<usize> {
        self.iter().position(|r| (self.key)(r) == k)
    }

    pub fn len(&self) -> usize {
        self.pages.iter().map(|p| p.rows.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.iter().all(|p| p.rows.is_empty())
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.pages.iter().flat_map(|p| p.rows.iter())
    }

    pub fn get(&self, mut index: usize) -> Option<&T> {
        for p in &self.pages {
            if index < p.rows.len() {
                return p.rows.get(index);
            }
            index -= p.rows.len();
        }
        None
    }

    pub fn selected(&self) -> Option<&T> {
        self.get(self.nav.selected())
    }

    /// Whether the first page has arrived since the last start.
    pub fn loaded(&self) -> bool {
        self.loaded
    }

    pub fn pending(&self) -> Option<RequestId> {
        self.pending.map(|(id, _)| id)
    }

    pub fn is_loading(&self) -> bool {
        self.pending.is_some()
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Rows above the window that were dropped (shown as an offset).
    pub fn rows_above(&self) -> usize {
        self.rows_above
    }

    pub fn has_newer(&self) -> bool {
        !self.above.is_empty()
    }

    pub fn has_older(&self) -> bool {
        self.pages.back().is_some_and(|p| p.next.is_some())
    }

    /// Pages held now (at most `max_pages`).
    pub fn pages_held(&self) -> usize {
        self.pages.len()
    }

    /// A request for `fetch` is on its way; returns the one it replaces, to cancel.
    pub fn begin(&mut self, id: RequestId, fetch: Fetch<C>) -> Option<RequestId> {
        // A reload keeps showing what is there until it answers.
        if fetch == Fetch::First {
            self.loaded = false;
            self.failed = None;
            self.error = None;
        }
        self.pending.replace((id, fetch)).map(|(old, _)| old)
    }

    /// Forgets the pending request (Esc); returns it, to cancel.
    pub fn cancel(&mut self) -> Option<RequestId> {
        self.pending.take().map(|(id, _)| id)
    }

    /// The fetch that failed last, to try again; clears the error.
    pub fn take_failed(&mut self) -> Option<Fetch<C>> {
        let f = self.failed.take();
        if f.is_some() {
            self.error = None;
        }
        f
    }

    /// The page the selection calls for, if any and none is on its way.
    pub fn wanted(&self) -> Option<Fetch<C>> {
        if self.pending.is_some() || self.failed.is_some() || !self.loaded {
            return None;
        }
        let selected = self.nav.selected();
        let len = self.len();
        if selected + self.margin >= len
            && let Some(next) = self.pages.back().and_then(|p| p.next)
        {
            return Some(Fetch::Older(next));
        }
        if selected < self.margin
            && let Some(before) = self.above.last()
        {
            return Some(Fetch::Newer(*before));
        }
        None
    }

    /// Moves the selection. `Home` inside a window with dropped pages above
    /// asks to start over from the newest page (returns `Some(Fetch::First)`,
    /// with the selection already at the top).
    pub fn apply(&mut self, nav: Nav) -> Option<Fetch<C>> {
        if nav == Nav::Home && self.has_newer() {
            self.nav.reset();
            return Some(Fetch::First);
        }
        let len = self.len();
        self.nav.apply(nav, len);
        None
    }

    /// A reply for request `id`: `rows` and the cursor of the page after them.
    pub fn receive(
        &mut self,
        id: RequestId,
        result: Result<(Vec<T>, Option<C>), String>,
    ) -> Received {
        let fetch = match self.pending {
            Some((pending, fetch)) if pending == id => fetch,
            _ => return Received::Stale,
        };
        self.pending = None;
        let (rows, next) = match result {
            Ok(page) => page,
            Err(message) => {
                self.error = Some(message);
                self.failed = Some(fetch);
                return Received::Failed;
            }
        };
        self.error = None;
        self.failed = None;
        match fetch {
            Fetch::First => {
                self.pages.clear();
                self.above.clear();
                self.rows_above = 0;
                self.pages.push_back(Page {
                    before: None,
                    rows,
                    next,
                });
                self.loaded = true;
                let len = self.len();
                let keep = self.nav.selected();
                self.nav.reset();
                // A refresh keeps the operator near where they were.
                self.nav.select(keep, len);
            }
            Fetch::Older(before) => {
                if rows.is_empty() {
                    if let Some(last) = self.pages.back_mut() {
                        last.next = None;
                    }
                    return Received::Applied;
                }
                self.pages.push_back(Page {
                    before: Some(before),
                    rows,
                    next,
                });
                while self.pages.len() > self.max_pages {
                    if let Some(dropped) = self.pages.pop_front() {
                        let n = dropped.rows.len();
                        self.above.push(dropped.before);
                        self.rows_above += n;
                        let len = self.len();
                        self.nav.shift(-(n as isize), len);
                    }
                }
            }
            Fetch::Reload => {
                let old_key = self.selected().map(self.key);
                let old_index = self.nav.selected();
                self.pages.clear();
                self.above.clear();
                self.rows_above = 0;
                // Back into pages of `page` rows, each with its cursors, so
                // paging on works as before.
                let mut rows = rows.into_iter().peekable();
                let mut before = None;
                while rows.peek().is_some() {
                    let chunk: Vec<T> = rows.by_ref().take(self.page).collect();
                    let last = chunk.last().map(self.key);
                    let after = if rows.peek().is_some() { last } else { next };
                    self.pages.push_back(Page {
                        before,
                        rows: chunk,
                        next: after,
                    });
                    before = last;
                }
                if self.pages.is_empty() {
                    self.pages.push_back(Page {
                        before: None,
                        rows: Vec::new(),
                        next: None,
                    });
                }
                let len = self.len();
                match old_key.and_then(|k| self.position(k)) {
                    // Same row, same place on screen.
                    Some(i) => self.nav.shift(i as isize - old_index as isize, len),
                    None => self.nav.select(old_index, len),
                }
            }
            Fetch::Newer(before) => {
                let front_before = self.pages.front().and_then(|p| p.before);
                if rows.is_empty() || next != front_before {
                    return Received::Restart;
                }
                self.above.pop();
                let n = rows.len();
                self.rows_above = self.rows_above.saturating_sub(n);
                self.pages.push_front(Page { before, rows, next });
                let len = self.len();
                self.nav.shift(n as isize, len);
                while self.pages.len() > self.max_pages {
                    self.pages.pop_back();
                }
                let len = self.len();
                let selected = self.nav.selected();
                self.nav.select(selected, len);
            }
        }
        Received::Applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows are numbers counting down from `total`; a cursor is the last row.
    fn page(total: u32, before: Option<u32>, size: usize) -> (Vec<u32>, Option<u32>) {
        let start = before.unwrap_or(total + 1);
        let rows: Vec<u32> = (1..start).rev().take(size).collect();
        let next = (rows.len() == size).then(|| rows.last().copied()).flatten();
        (rows, next)
    }

    #[test]
    fn scrolling_far_keeps_memory_flat_and_comes_back() {
        let mut w: PagedWindow<u32, u32> = PagedWindow::new(4, 10, 100, |r| *r);
        let mut ids = 0u64;
        let mut id = || {
            ids += 1;
            RequestId(ids)
        };
        let first = id();
        w.begin(first, Fetch::First);
        assert_eq!(
            w.receive(first, Ok(page(10_000, None, 100))),
            Received::Applied
        );
        // Scroll down through 5,000 rows.
        for _ in 0..5_000 {
            w.apply(Nav::Down);
            if let Some(f) = w.wanted() {
                let i = id();
                w.begin(i, f);
                assert_eq!(
                    w.receive(i, Ok(page(10_000, f.before(), 100))),
                    Received::Applied
                );
            }
            assert!(w.len() <= 400, "{}", w.len());
        }
        let row = *w.selected().unwrap();
        assert_eq!(row, 10_000 - 5_000);
        assert_eq!(w.rows_above() + w.nav.selected(), 5_000);
        // And back up.
        for _ in 0..5_000 {
            w.apply(Nav::Up);
            if let Some(f) = w.wanted() {
                let i = id();
                w.begin(i, f);
                assert!(matches!(f, Fetch::Newer(_)), "{f:?}");
                assert_eq!(
                    w.receive(i, Ok(page(10_000, f.before(), 100))),
                    Received::Applied
                );
            }
            assert!(w.len() <= 400);
        }
        assert_eq!(*w.selected().unwrap(), 10_000);
        assert_eq!(w.rows_above(), 0);
        assert!(!w.has_newer());
    }

    #[test]
    fn stale_and_failed_replies() {
        let mut w: PagedWindow<u32, u32> = PagedWindow::new(4, 10, 100, |r| *r);
        w.begin(RequestId(1), Fetch::First);
        let replaced = w.begin(RequestId(2), Fetch::First);
        assert_eq!(replaced, Some(RequestId(1)));
        assert_eq!(
            w.receive(RequestId(1), Ok(page(5, None, 100))),
            Received::Stale
        );
        assert!(w.is_empty());
        assert_eq!(
            w.receive(RequestId(2), Err("down".into())),
            Received::Failed
        );
        assert_eq!(w.error(), Some("down"));
        assert_eq!(w.take_failed(), Some(Fetch::First));
        assert_eq!(w.error(), None);
    }

    #[test]
    fn a_reload_keeps_the_selected_row_where_it_was() {
        let mut w: PagedWindow<u32, u32> = PagedWindow::new(6, 5, 10, |r| *r);
        w.begin(RequestId(1), Fetch::First);
        w.receive(RequestId(1), Ok(page(100, None, 10)));
        w.begin(RequestId(2), Fetch::Older(91));
        w.receive(RequestId(2), Ok(page(100, Some(91), 10)));
        for _ in 0..12 {
            w.apply(Nav::Down);
        }
        assert_eq!(*w.selected().unwrap(), 88);
        w.nav.visible_from(w.len(), 5);
        assert!(w.reloadable());
        assert_eq!(w.reload_limit(), 20);
        // Two rows arrived on top meanwhile.
        w.begin(RequestId(3), Fetch::Reload);
        let rows: Vec<u32> = (1..=102).rev().take(20).collect();
        assert_eq!(
            w.receive(RequestId(3), Ok((rows, Some(83)))),
            Received::Applied
        );
        assert_eq!(*w.selected().unwrap(), 88, "the same row");
        assert_eq!(w.nav.selected(), 14);
        assert_eq!(w.pages_held(), 2, "back in pages of 10");
        assert_eq!(w.wanted(), None);
        // Paging on from there.
        for _ in 0..10 {
            w.apply(Nav::Down);
        }
        assert_eq!(w.wanted(), Some(Fetch::Older(83)));
    }

    #[test]
    fn new_rows_on_top_restart_the_window() {
        let mut w: PagedWindow<u32, u32> = PagedWindow::new(2, 5, 10, |r| *r);
        w.begin(RequestId(1), Fetch::First);
        w.receive(RequestId(1), Ok(page(1000, None, 10)));
        let mut n = 1;
        while !w.has_newer() {
            w.apply(Nav::End);
            let f = w.wanted().unwrap();
            n += 1;
            w.begin(RequestId(n), f);
            w.receive(RequestId(n), Ok(page(1000, f.before(), 10)));
        }
        w.apply(Nav::Home);
        assert_eq!(w.apply(Nav::Home), Some(Fetch::First));
        for _ in 0..20 {
            w.apply(Nav::Up);
        }
        let f = w.wanted().unwrap();
        assert_eq!(f, Fetch::Newer(None));
        // Three entries were added at the top meanwhile.
        n += 1;
        w.begin(RequestId(n), f);
        assert_eq!(
            w.receive(RequestId(n), Ok(page(1003, None, 10))),
            Received::Restart
        );
    }
}
