//! The selection in a list and the scroll position that keeps it visible.
//!
//! `update` moves the selection; the view decides the scroll offset once it
//! knows the height. The offset and the last seen height live in `Cell`s so
//! the view can remember them while only reading the app state (the same
//! thing ratatui's `TableState` does through `&mut`).

use std::cell::Cell;

use crate::tui::keys::Nav;

#[derive(Debug, Default, Clone)]
pub struct ListNav {
    selected: usize,
    offset: Cell<usize>,
    /// Rows seen at the last render; a page for PageUp/PageDown.
    height: Cell<usize>,
}

impl ListNav {
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// Selects `index`, clamped into a list of `len` rows.
    pub fn select(&mut self, index: usize, len: usize) {
        self.selected = index.min(len.saturating_sub(1));
    }

    pub fn reset(&mut self) {
        self.selected = 0;
        self.offset.set(0);
    }

    fn page(&self) -> usize {
        self.height.get().max(2) - 1
    }

    /// Applies a movement in a list of `len` rows.
    pub fn apply(&mut self, nav: Nav, len: usize) {
        let last = len.saturating_sub(1);
        self.selected = match nav {
            Nav::Up => self.selected.saturating_sub(1),
            Nav::Down => (self.selected + 1).min(last),
            Nav::PageUp => self.selected.saturating_sub(self.page()),
            Nav::PageDown => (self.selected + self.page()).min(last),
            Nav::Home => 0,
            Nav::End => last,
        };
    }

    /// Rows were added (`delta > 0`) or dropped (`delta < 0`) above the
    /// selection: keep the same row selected and in the same place on screen.
    pub fn shift(&mut self, delta: isize, len: usize) {
        let moved = |v: usize| v.saturating_add_signed(delta);
        self.selected = moved(self.selected).min(len.saturating_sub(1));
        self.offset.set(moved(self.offset.get()));
    }

    /// The first row to show in `height` rows so the selection is visible,
    /// remembered for the next frame (so scrolling does not jump).
    pub fn visible_from(&self, len: usize, height: usize) -> usize {
        self.height.set(height);
        if height == 0 || len == 0 {
            return 0;
        }
        let selected = self.selected.min(len - 1);
        let mut offset = self.offset.get().min(len.saturating_sub(1));
        if selected < offset {
            offset = selected;
        } else if selected >= offset + height {
            offset = selected + 1 - height;
        }
        // Don't leave empty rows at the bottom when the list could fill them.
        offset = offset.min(len.saturating_sub(height));
        self.offset.set(offset);
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_stay_in_bounds() {
        let mut n = ListNav::default();
        n.apply(Nav::Up, 10);
        assert_eq!(n.selected(), 0);
        n.apply(Nav::End, 10);
        assert_eq!(n.selected(), 9);
        n.apply(Nav::Down, 10);
        assert_eq!(n.selected(), 9);
        n.apply(Nav::End, 0);
        assert_eq!(n.selected(), 0);
    }

    #[test]
    fn offset_follows_the_selection() {
        let mut n = ListNav::default();
        assert_eq!(n.visible_from(100, 10), 0);
        n.select(15, 100);
        assert_eq!(n.visible_from(100, 10), 6);
        n.apply(Nav::Up, 100);
        assert_eq!(n.visible_from(100, 10), 6, "no jump while visible");
        n.select(2, 100);
        assert_eq!(n.visible_from(100, 10), 2);
        n.apply(Nav::PageDown, 100);
        assert_eq!(n.selected(), 11);
    }

    #[test]
    fn shift_keeps_the_row() {
        let mut n = ListNav::default();
        n.select(150, 200);
        n.visible_from(200, 10);
        n.shift(-100, 100);
        assert_eq!(n.selected(), 50);
        n.shift(100, 200);
        assert_eq!(n.selected(), 150);
    }

    #[test]
    fn zero_height_is_fine() {
        let n = ListNav::default();
        assert_eq!(n.visible_from(5, 0), 0);
        assert_eq!(n.visible_from(0, 5), 0);
    }
}
