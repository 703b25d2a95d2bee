//! Reading keys: the movements every list shares (arrows and j/k, pages,
//! home/end) and the hints shown in the footer and the `?` screen.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keymap::Hint;

/// A movement in a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
}

/// Arrows, j/k, PageUp/PageDown (and Ctrl-B/Ctrl-F), Home/End (and g/G).
pub fn nav(key: &KeyEvent) -> Option<Nav> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Up => Nav::Up,
        KeyCode::Down => Nav::Down,
        KeyCode::PageUp => Nav::PageUp,
        KeyCode::PageDown => Nav::PageDown,
        KeyCode::Home => Nav::Home,
        KeyCode::End => Nav::End,
        KeyCode::Char('k') if !ctrl => Nav::Up,
        KeyCode::Char('j') if !ctrl => Nav::Down,
        KeyCode::Char('b') if ctrl => Nav::PageUp,
        KeyCode::Char('f') if ctrl => Nav::PageDown,
        KeyCode::Char('g') if !ctrl => Nav::Home,
        KeyCode::Char('G') if !ctrl => Nav::End,
        _ => return None,
    })
}

/// A key press (or auto-repeat), not a release: terminals that report
/// releases would otherwise act twice.
pub fn is_press(key: &KeyEvent) -> bool {
    matches!(key.kind, KeyEventKind::Press | KeyEventKind::Repeat)
}

/// The character `c` typed without Ctrl or Alt.
pub fn is_char(key: &KeyEvent, c: char) -> bool {
    key.code == KeyCode::Char(c)
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

pub fn is_ctrl(key: &KeyEvent, c: char) -> bool {
    key.code == KeyCode::Char(c) && key.modifiers.contains(KeyModifiers::CONTROL)
}

pub fn is_enter(key: &KeyEvent) -> bool {
    key.code == KeyCode::Enter
}

pub fn is_esc(key: &KeyEvent) -> bool {
    key.code == KeyCode::Esc
}

/// The keys every list understands, for the help screen.
pub const LIST_KEYS: [Hint; 1] = [Hint::help("↑↓ jk PgUp PgDn Home End", "move in a list")];

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn arrows_and_vi_keys_agree() {
        assert_eq!(nav(&k(KeyCode::Up, KeyModifiers::NONE)), Some(Nav::Up));
        assert_eq!(
            nav(&k(KeyCode::Char('k'), KeyModifiers::NONE)),
            Some(Nav::Up)
        );
        assert_eq!(
            nav(&k(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Nav::Down)
        );
        assert_eq!(
            nav(&k(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Nav::End)
        );
        assert_eq!(
            nav(&k(KeyCode::Char('f'), KeyModifiers::CONTROL)),
            Some(Nav::PageDown)
        );
        assert_eq!(nav(&k(KeyCode::Char('x'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn chars_with_ctrl_are_not_plain() {
        assert!(is_char(&k(KeyCode::Char('q'), KeyModifiers::NONE), 'q'));
        assert!(!is_char(&k(KeyCode::Char('q'), KeyModifiers::CONTROL), 'q'));
        assert!(is_ctrl(&k(KeyCode::Char('c'), KeyModifiers::CONTROL), 'c'));
    }
}
