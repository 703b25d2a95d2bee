//! Pieces every tab uses: safe text, list navigation and drawing, paged
//! windows, forms, popups and the spinner.

pub mod form;
pub mod list;
pub mod list_nav;
pub mod paged;
pub mod poll;
pub mod popup;
pub mod progress;
pub mod safe;
pub mod search;
pub mod spinner;
pub mod user_picker;

pub use form::{Field, Form, FormAction};
pub use list::{ListTable, id_width, load_status, paged_status, render_empty};
pub use list_nav::ListNav;
pub use paged::{Fetch, PagedWindow, Received};
pub use poll::Poll;
pub use safe::{safe, safe_cell, safe_opt, safe_owned, safe_styled};
pub use user_picker::UserPicker;

/// `text` cut (with '…') to fit a block title over `width` columns, leaving
/// the corners: a long error must not push the rest of a title away.
pub fn fit(text: &str, width: u16) -> String {
    crate::domain::text::truncate_width(text, usize::from(width.saturating_sub(4)))
}
