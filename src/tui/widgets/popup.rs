//! Dialogs drawn over the screen: where they go, and the plain ones (a
//! message, the key help).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::tui::keymap::Hint;
use crate::tui::theme::Theme;

/// A box of at most `width` x `height` centred in `area`, never larger
/// than `area` (so a tiny terminal just gets a tiny box).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    let x = area.x + (area.width - w) / 2;
    let y = area.y + (area.height - h) / 2;
    Rect::new(x, y, w, h)
}

/// A dialog's frame: clears `popup`, draws a focused border titled
/// `title`, and gives back the inside less a column of padding each side.
pub fn open(frame: &mut Frame, popup: Rect, theme: &Theme, title: &str) -> Rect {
    open_with(frame, popup, theme, title, |b| b)
}

/// [`open`], with more on the border (e.g. a bottom title).
pub fn open_with(
    frame: &mut Frame,
    popup: Rect,
    theme: &Theme,
    title: &str,
    more: impl FnOnce(Block) -> Block,
) -> Rect {
    frame.render_widget(Clear, popup);
    let block = more(
        Block::bordered()
            .border_style(theme.focused_border())
            .title(Span::styled(format!(" {title} "), theme.title())),
    );
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    Rect {
        x: inner.x.saturating_add(1),
        width: inner.width.saturating_sub(2),
        ..inner
    }
}

/// A bordered dialog with a title and lines of text, wrapped to fit.
pub fn message(frame: &mut Frame, area: Rect, theme: &Theme, title: &str, lines: Vec<Line>) {
    let width = lines
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(0)
        .max(title.chars().count() + 4)
        .saturating_add(4);
    let width = u16::try_from(width).unwrap_or(u16::MAX).min(76);
    let inner_width = usize::from(width.saturating_sub(4)).max(1);
    let rows: usize = lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(inner_width))
        .sum();
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    let popup = centered(area, width, height);
    if popup.is_empty() {
        return;
    }
    let inner = open(frame, popup, theme, title);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The `?` screen: the keys of the current screen, then the global ones.
/// When one column is too tall for the window the sections go side by
/// side, so a 24-row terminal still shows every key.
pub fn help(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    title: &str,
    sections: &[(&str, &[Hint])],
    log_path: Option<&str>,
) {
    let key_width = sections
        .iter()
        .flat_map(|(_, keys)| keys.iter())
        .map(|k| k.keys.chars().count())
        .max()
        .unwrap_or(0);
    let section = |(heading, keys): &(&str, &[Hint])| {
        let mut lines = vec![Line::from(Span::styled(
            heading.to_string(),
            theme.header(),
        ))];
        for k in *keys {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<key_width$}  ", k.keys), theme.key()),
                Span::raw(k.action),
            ]));
        }
        lines
    };
    let blocks: Vec<Vec<Line>> = sections.iter().map(section).collect();
    let mut tail = Vec::new();
    if let Some(path) = log_path {
        tail.push(Line::raw(""));
        tail.push(Line::from(vec![
            Span::styled("log: ", theme.dim()),
            super::safe::safe(path),
        ]));
    }
    let stack = |blocks: &[Vec<Line<'static>>]| {
        let mut lines = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            if i > 0 {
                lines.push(Line::raw(""));
            }
            lines.extend(b.iter().cloned());
        }
        lines
    };
    let one = stack(&blocks);
    let room = usize::from(area.height.saturating_sub(2));
    let column_width = one.iter().map(Line::width).max().unwrap_or(0);
    let two_fit = usize::from(area.width) >= 2 * column_width + 3 + 4;
    let (left, right) = if one.len() + tail.len() > room && two_fit && blocks.len() > 1 {
        // The split that makes the taller column shortest.
        let split = (1..blocks.len())
            .min_by_key(|&at| stack(&blocks[..at]).len().max(stack(&blocks[at..]).len()))
            .unwrap_or(1);
        (stack(&blocks[..split]), stack(&blocks[split..]))
    } else {
        (one, Vec::new())
    };
    let right_x = column_width + 3;
    let content_width = if right.is_empty() {
        column_width
    } else {
        right_x + right.iter().map(Line::width).max().unwrap_or(0)
    };
    let tail_width = tail.iter().map(Line::width).max().unwrap_or(0);
    let width = content_width
        .max(tail_width)
        .max(title.chars().count() + 4)
        .max(CLOSE.len() + 4)
        + 4;
    let width = u16::try_from(width).unwrap_or(u16::MAX);
    let rows = left.len().max(right.len()) + tail.len();
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    let popup = centered(area, width, height);
    if popup.is_empty() {
        return;
    }
    let inner = open_with(frame, popup, theme, title, |b| {
        b.title_bottom(Span::styled(CLOSE, theme.dim()))
    });
    let columns_height = u16::try_from(left.len().max(right.len())).unwrap_or(u16::MAX);
    let columns = Rect {
        height: columns_height.min(inner.height),
        ..inner
    };
    frame.render_widget(Paragraph::new(left), columns);
    if !right.is_empty() {
        let offset = u16::try_from(right_x).unwrap_or(u16::MAX);
        let right_area = Rect {
            x: columns.x.saturating_add(offset),
            width: columns.width.saturating_sub(offset),
            ..columns
        };
        frame.render_widget(Paragraph::new(right), right_area);
    }
    let below = Rect {
        y: columns.bottom(),
        height: inner.bottom().saturating_sub(columns.bottom()),
        ..inner
    };
    frame.render_widget(Paragraph::new(tail).wrap(Wrap { trim: false }), below);
}

const CLOSE: &str = " Esc or ? to close ";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centered_never_leaves_the_area() {
        for (w, h) in [(0, 0), (1, 1), (10, 3), (80, 24), (200, 60)] {
            let area = Rect::new(3, 2, w, h);
            let r = centered(area, 70, 12);
            assert!(area.contains(r.as_position()) || r.is_empty());
            assert!(r.right() <= area.right() && r.bottom() <= area.bottom());
        }
    }
}
