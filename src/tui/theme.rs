//! Styles in one place, so `NO_COLOR` is honoured everywhere: without colour
//! the console keeps bold, reverse and underline, which carry the meaning
//! (selection, warnings, the environment label) on any terminal.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub const COLOR: Theme = Theme { color: true };
    pub const NO_COLOR: Theme = Theme { color: false };

    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    fn fg(&self, style: Style, color: Color) -> Style {
        if self.color { style.fg(color) } else { style }
    }

    pub fn base(&self) -> Style {
        Style::new()
    }

    /// The selected row or tab: reversed, so it shows without colour too.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub fn header(&self) -> Style {
        self.fg(Style::new().add_modifier(Modifier::BOLD), Color::Cyan)
    }

    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub fn key(&self) -> Style {
        self.fg(Style::new().add_modifier(Modifier::BOLD), Color::Yellow)
    }

    pub fn error(&self) -> Style {
        self.fg(Style::new().add_modifier(Modifier::BOLD), Color::Red)
    }

    pub fn warning(&self) -> Style {
        self.fg(Style::new().add_modifier(Modifier::BOLD), Color::Yellow)
    }

    pub fn success(&self) -> Style {
        self.fg(Style::new().add_modifier(Modifier::BOLD), Color::Green)
    }

    /// Credits in (+) and out (-); the sign carries it without colour.
    pub fn amount(&self, amount: i64) -> Style {
        match amount {
            a if a > 0 => self.fg(Style::new(), Color::Green),
            a if a < 0 => self.fg(Style::new(), Color::Red),
            _ => Style::new(),
        }
    }

    /// The environment badge: production is white on red, anything else
    /// (DEMO, staging...) black on cyan; reversed and bold without colour.
    pub fn env_label(&self, label: &str) -> Style {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        if !self.color {
            return bold.add_modifier(Modifier::REVERSED);
        }
        if is_production(label) {
            bold.fg(Color::White).bg(Color::Red)
        } else {
            bold.fg(Color::Black).bg(Color::Cyan)
        }
    }

    pub fn read_only(&self) -> Style {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        if self.color {
            bold.fg(Color::Black).bg(Color::Yellow)
        } else {
            bold.add_modifier(Modifier::REVERSED)
        }
    }

    pub fn status_bar(&self) -> Style {
        Style::new()
    }

    pub fn border(&self) -> Style {
        self.fg(Style::new(), Color::Gray)
    }

    pub fn focused_border(&self) -> Style {
        self.fg(Style::new().add_modifier(Modifier::BOLD), Color::Cyan)
    }

    /// The text field with focus.
    pub fn input_focused(&self) -> Style {
        Style::new().add_modifier(Modifier::UNDERLINED)
    }

    pub fn input(&self) -> Style {
        Style::new().add_modifier(Modifier::UNDERLINED | Modifier::DIM)
    }
}

/// `PRODUCTION`, `prod`, `production-eu`...
pub fn is_production(label: &str) -> bool {
    label.to_ascii_lowercase().contains("prod")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_keeps_modifiers_and_drops_colours() {
        let t = Theme::NO_COLOR;
        for s in [
            t.selected(),
            t.error(),
            t.env_label("PRODUCTION"),
            t.read_only(),
            t.header(),
            t.amount(-5),
        ] {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
        assert!(t.selected().add_modifier.contains(Modifier::REVERSED));
        assert!(
            t.env_label("PRODUCTION")
                .add_modifier
                .contains(Modifier::BOLD)
        );
    }

    #[test]
    fn production_is_red() {
        assert_eq!(Theme::COLOR.env_label("PRODUCTION").bg, Some(Color::Red));
        assert_eq!(Theme::COLOR.env_label("prod-eu").bg, Some(Color::Red));
        assert_ne!(Theme::COLOR.env_label("DEMO").bg, Some(Color::Red));
    }
}
