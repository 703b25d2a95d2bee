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
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .border_style(theme.focused_border())
        .title(Span::styled(format!(" {title} "), theme.title()));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let inner = Rect {
        x: inner.x.saturating_add(1),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The `?` screen: the keys of the current screen, then the global ones.
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
    let mut lines = Vec::new();
    for (i, (heading, keys)) in sections.iter().enumerate() {
        if i > 0 {
            lines.push(Line::raw(""));
        }
        lines.push(Line::from(Span::styled(*heading, theme.header())));
        for k in *keys {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<key_width$}  ", k.keys), theme.key()),
                Span::raw(k.action),
            ]));
        }
    }
    lines.push(Line::raw(""));
    if let Some(path) = log_path {
        lines.push(Line::from(vec![
            Span::styled("log: ", theme.dim()),
            super::safe::safe(path),
        ]));
    }
    lines.push(Line::from(Span::styled("Esc or ? to close", theme.dim())));
    message(frame, area, theme, title, lines);
}

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
