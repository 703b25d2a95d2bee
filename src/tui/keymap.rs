//! Keys, declared once per screen.
//!
//! A screen lists its bindings in one [`Keymap`]: the keys, what they do
//! (the screen's own action type), the hint, whether the footer shows it,
//! and the [`Action`] it needs (a write names the one the operator's role
//! must allow; a read needs [`Action::Read`]). Dispatch ([`Keymap::find`]),
//! the footer and the `?` help ([`Keymap::hints`]) and the key lines inside
//! dialogs ([`key_line`]) all read that one declaration, and all of them
//! leave out what read-only mode or the role doesn't allow ([`Allow`]), and
//! what the screen can't do right now (the `offers` predicate).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::{Line, Span};

use super::theme::Theme;
use crate::domain::role::{Action, Permissions};

/// One key of a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A character typed without Ctrl or Alt (Shift is in the character).
    Char(char),
    /// Ctrl and a letter.
    Ctrl(char),
    /// A named key (Enter, Esc, Tab, F5...) without Ctrl or Alt.
    Code(KeyCode),
    /// Any of the digits 1 to 9 (the tab keys; the app reads which one).
    Digit,
}

impl Key {
    pub fn matches(self, key: &KeyEvent) -> bool {
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match self {
            Key::Char(c) => plain && key.code == KeyCode::Char(c),
            Key::Ctrl(c) => {
                key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
            }
            Key::Code(code) => plain && key.code == code,
            Key::Digit => plain && matches!(key.code, KeyCode::Char('1'..='9')),
        }
    }
}

/// Common keys, for declarations.
pub const ENTER: &[Key] = &[Key::Code(KeyCode::Enter)];
pub const ESC: &[Key] = &[Key::Code(KeyCode::Esc)];
pub const TAB: &[Key] = &[Key::Code(KeyCode::Tab)];
pub const BACK: &[Key] = &[Key::Code(KeyCode::Esc), Key::Code(KeyCode::Backspace)];

/// Where a binding's hint shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// In the footer line and in the `?` help.
    Footer,
    /// In the `?` help only.
    Help,
}

/// One binding: keys, what they do, how it is shown, what it needs.
#[derive(Debug, Clone, Copy)]
pub struct Bind<A: 'static> {
    pub keys: &'static [Key],
    /// The keys as shown: `x d`, `Enter`.
    pub label: &'static str,
    pub hint: &'static str,
    pub show: Show,
    /// [`Action::Read`] for a read; a write names what the role must allow.
    pub needs: Action,
    pub act: A,
}

impl<A> Bind<A> {
    /// A read shown in the `?` help only.
    pub const fn new(
        keys: &'static [Key],
        label: &'static str,
        hint: &'static str,
        act: A,
    ) -> Self {
        Self {
            keys,
            label,
            hint,
            show: Show::Help,
            needs: Action::Read,
            act,
        }
    }

    /// Also shown in the footer.
    pub const fn footer(mut self) -> Self {
        self.show = Show::Footer;
        self
    }

    /// A change: offered only when the session may write and the role
    /// allows `action`.
    pub const fn writes(mut self, action: Action) -> Self {
        self.needs = action;
        self
    }

    pub fn is_write(&self) -> bool {
        self.needs.writes()
    }
}

/// What the session may do: read-only mode and the role's permissions,
/// and whether it is production (confirmations then need `y`).
#[derive(Debug, Clone)]
pub struct Allow {
    pub read_only: bool,
    pub permissions: Permissions,
    pub production: bool,
}

impl Allow {
    /// Everything (the schema owner, not read-only, not production).
    pub fn all() -> Self {
        Self {
            read_only: false,
            permissions: Permissions::owner(),
            production: false,
        }
    }

    /// Whether `action` may be offered.
    pub fn permits(&self, action: Action) -> bool {
        !(action.writes() && self.read_only) && self.permissions.allows(action)
    }

    pub fn may<A>(&self, bind: &Bind<A>) -> bool {
        self.permits(bind.needs)
    }
}

/// A hint for the footer or the help screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    pub keys: &'static str,
    pub action: &'static str,
    pub footer: bool,
}

impl Hint {
    pub const fn footer(keys: &'static str, action: &'static str) -> Self {
        Self {
            keys,
            action,
            footer: true,
        }
    }

    pub const fn help(keys: &'static str, action: &'static str) -> Self {
        Self {
            keys,
            action,
            footer: false,
        }
    }
}

/// A screen's bindings, in the order hints show them.
#[derive(Debug, Clone, Copy)]
pub struct Keymap<A: 'static>(pub &'static [Bind<A>]);

impl<A: Copy + PartialEq> Keymap<A> {
    /// The action `key` asks for, among those allowed and offered now.
    pub fn find(&self, key: &KeyEvent, allow: &Allow, offers: impl Fn(A) -> bool) -> Option<A> {
        self.0
            .iter()
            .find(|b| b.keys.iter().any(|k| k.matches(key)) && allow.may(b) && offers(b.act))
            .map(|b| b.act)
    }

    /// The hints of the bindings allowed and offered now.
    pub fn hints(&self, allow: &Allow, offers: impl Fn(A) -> bool) -> Vec<Hint> {
        self.0
            .iter()
            .filter(|b| allow.may(b) && offers(b.act))
            .map(|b| Hint {
                keys: b.label,
                action: b.hint,
                footer: b.show == Show::Footer,
            })
            .collect()
    }

    /// The binding of `act`, if declared.
    pub fn bind(&self, act: A) -> Option<&Bind<A>> {
        self.0.iter().find(|b| b.act == act)
    }
}

/// Offers everything (for screens whose keys don't depend on their state).
pub fn always<A>(_: A) -> bool {
    true
}

/// `Enter apply   Esc back`: a key line for a dialog, from hints.
pub fn key_line(hints: &[Hint], theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, h) in hints.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("   "));
        }
        spans.push(Span::styled(h.keys, theme.key()));
        spans.push(Span::raw(" "));
        spans.push(Span::raw(h.action));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::role::Group;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Act {
        Open,
        Issue,
        Revoke,
    }

    const KEYS: Keymap<Act> = Keymap(&[
        Bind::new(ENTER, "Enter", "open", Act::Open).footer(),
        Bind::new(&[Key::Char('n')], "n", "issue", Act::Issue)
            .footer()
            .writes(Action::GiftCardIssue),
        Bind::new(
            &[Key::Char('x'), Key::Char('d')],
            "x d",
            "revoke",
            Act::Revoke,
        )
        .writes(Action::GiftCardRevoke),
    ]);

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn read_only_and_roles_filter_dispatch_and_hints_alike() {
        let all = Allow::all();
        assert_eq!(
            KEYS.find(&k(KeyCode::Char('d')), &all, always),
            Some(Act::Revoke)
        );
        assert_eq!(KEYS.hints(&all, always).len(), 3);

        let read_only = Allow {
            read_only: true,
            ..Allow::all()
        };
        assert_eq!(KEYS.find(&k(KeyCode::Char('n')), &read_only, always), None);
        assert_eq!(
            KEYS.hints(&read_only, always),
            [Hint::footer("Enter", "open")]
        );

        let support = Allow {
            permissions: Permissions::of(&[Group::Support]),
            ..Allow::all()
        };
        assert_eq!(KEYS.find(&k(KeyCode::Char('x')), &support, always), None);
        assert_eq!(KEYS.hints(&support, always).len(), 1);

        // What the screen can't do now is neither dispatched nor shown.
        let no_revoke = |a| a != Act::Revoke;
        assert_eq!(KEYS.find(&k(KeyCode::Char('x')), &all, no_revoke), None);
        assert_eq!(KEYS.hints(&all, no_revoke).len(), 2);
    }

    #[test]
    fn ctrl_and_alt_are_not_plain_keys() {
        let ctrl_n = KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL);
        assert_eq!(KEYS.find(&ctrl_n, &Allow::all(), always), None);
        assert!(Key::Ctrl('g').matches(&KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL)));
        assert!(Key::Digit.matches(&k(KeyCode::Char('7'))));
        assert!(!Key::Digit.matches(&k(KeyCode::Char('0'))));
        // Shift is part of a capital.
        assert!(Key::Char('F').matches(&KeyEvent::new(KeyCode::Char('F'), KeyModifiers::SHIFT)));
    }
}
