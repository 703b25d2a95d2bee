//! A small form in a dialog: labelled one-line text fields (tui-input), an
//! inline message under each field the owner finds invalid, and a line for
//! anything that concerns the whole form.
//!
//! Keys ([`FORM_KEYS`] and its variants, one declaration each): Tab/↓ next
//! field, Shift-Tab/↑ previous, Enter next field or submit on the last one,
//! Esc cancel. Everything else edits the focused field.

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::popup::centered;
use super::safe::safe;
use crate::domain::InvalidInput;
use crate::domain::text::sanitize;
use crate::tui::keymap::{Allow, Bind, ENTER, ESC, Hint, Key, Keymap, key_line};
use crate::tui::theme::Theme;

/// What a key does in a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKey {
    Next,
    Prev,
    /// Enter: the next field, or on the last one, submit.
    Submit,
    Cancel,
}

const NEXT: Bind<FormKey> = Bind::new(
    &[Key::Code(KeyCode::Tab), Key::Code(KeyCode::Down)],
    "Tab",
    "next field",
    FormKey::Next,
)
.footer();
const PREV: Bind<FormKey> = Bind::new(
    &[Key::Code(KeyCode::BackTab), Key::Code(KeyCode::Up)],
    "Shift-Tab",
    "previous field",
    FormKey::Prev,
);
const CANCEL: Bind<FormKey> = Bind::new(ESC, "Esc", "cancel", FormKey::Cancel).footer();

/// A form whose last Enter reviews a change.
pub const FORM_KEYS: Keymap<FormKey> = Keymap(&[
    NEXT,
    PREV,
    Bind::new(ENTER, "Enter", "review", FormKey::Submit).footer(),
    CANCEL,
]);

/// A form that applies a filter.
pub const FILTER_KEYS: Keymap<FormKey> = Keymap(&[
    NEXT,
    PREV,
    Bind::new(ENTER, "Enter", "apply", FormKey::Submit).footer(),
    CANCEL,
]);

/// A form that looks a user up first.
pub const LOOKUP_KEYS: Keymap<FormKey> = Keymap(&[
    NEXT,
    PREV,
    Bind::new(ENTER, "Enter", "look up the user", FormKey::Submit).footer(),
    CANCEL,
]);

/// A form that saves a file.
pub const SAVE_KEYS: Keymap<FormKey> = Keymap(&[
    NEXT,
    PREV,
    Bind::new(ENTER, "Enter", "save", FormKey::Submit).footer(),
    CANCEL,
]);

#[derive(Debug, Clone)]
pub struct Field {
    /// The domain's field name (`amount`, `reason`), to place its errors.
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub input: Input,
    pub error: Option<String>,
    /// Shown masked like a gift-card code (all but the last four letters
    /// and digits hidden): for secrets the operator types.
    pub secret: bool,
    /// Lines under the field's note, e.g. a picker's matches (database
    /// text: sanitised when drawn); `below_selected` is highlighted.
    pub below: Vec<String>,
    pub below_selected: Option<usize>,
    initial: String,
}

impl Field {
    pub fn new(name: &'static str, label: &'static str, hint: &'static str) -> Self {
        Self {
            name,
            label,
            hint,
            input: Input::default(),
            error: None,
            secret: false,
            below: Vec::new(),
            below_selected: None,
            initial: String::new(),
        }
    }

    /// Hides what is typed (see [`Field::secret`]).
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// Starts with `value` (e.g. the filter in force); not "unsaved input".
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        let value = value.into();
        self.input = Input::new(value.clone());
        self.initial = value;
        self
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormAction {
    /// The key was used (or ignored) inside the form.
    None,
    /// Enter on the last field: the owner validates and acts.
    Submit,
    Cancel,
}

#[derive(Debug, Clone)]
pub struct Form {
    pub title: String,
    /// Lines above the fields, e.g. who the change is for.
    pub intro: Vec<String>,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// A message for the whole form (e.g. a refusal).
    pub error: Option<String>,
    /// The form's keys (dispatch, the key line and the footer).
    pub keys: Keymap<FormKey>,
    /// Keys the owner handles itself (Ctrl-G, ←→), shown after Tab.
    pub extra: Vec<Hint>,
    /// Shown instead of the key line while the owner waits (e.g. a lookup).
    pub waiting: Option<&'static str>,
}

impl Form {
    pub fn new(title: impl Into<String>, fields: Vec<Field>) -> Self {
        Self {
            title: title.into(),
            intro: Vec::new(),
            fields,
            focus: 0,
            error: None,
            keys: FORM_KEYS,
            extra: Vec::new(),
            waiting: None,
        }
    }

    /// Uses `keys` (e.g. [`FILTER_KEYS`]) for dispatch and the key line.
    #[must_use]
    pub fn with_keys(mut self, keys: Keymap<FormKey>) -> Self {
        self.keys = keys;
        self
    }

    /// The form's keys as hints: only what applies (no "next field" with
    /// one field), the owner's extra keys after the field keys.
    pub fn hints(&self) -> Vec<Hint> {
        let many = self.fields.len() > 1;
        let moves = |k: FormKey| matches!(k, FormKey::Next | FormKey::Prev);
        let all = Allow::all();
        let mut hints = self.keys.hints(&all, |k| many && moves(k));
        hints.extend(self.extra.iter().copied());
        hints.extend(self.keys.hints(&all, |k| !moves(k)));
        hints
    }

    pub fn value(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map_or("", Field::value)
    }

    /// Input typed and not yet applied.
    pub fn is_dirty(&self) -> bool {
        self.fields.iter().any(|f| f.input.value() != f.initial)
    }

    pub fn clear_errors(&mut self) {
        self.error = None;
        for f in &mut self.fields {
            f.error = None;
        }
    }

    /// Puts each error under its field (or on the form when no field has
    /// its name) and moves the focus to the first invalid field.
    pub fn set_errors(&mut self, errors: &[InvalidInput]) {
        let mut first = None;
        for e in errors {
            match self.fields.iter().position(|f| f.name == e.field) {
                Some(i) => {
                    self.fields[i].error = Some(e.message.clone());
                    first = Some(first.map_or(i, |f: usize| f.min(i)));
                }
                None => self.error = Some(e.to_string()),
            }
        }
        if let Some(i) = first {
            self.focus = i;
        }
    }

    pub fn key(&mut self, key: &KeyEvent) -> FormAction {
        let last = self.fields.len().saturating_sub(1);
        match self.keys.find(key, &Allow::all(), |_| true) {
            Some(FormKey::Cancel) => return FormAction::Cancel,
            Some(FormKey::Submit) if self.focus >= last => return FormAction::Submit,
            Some(FormKey::Submit | FormKey::Next) => self.focus = (self.focus + 1).min(last),
            Some(FormKey::Prev) => self.focus = self.focus.saturating_sub(1),
            None => {
                if let Some(f) = self.fields.get_mut(self.focus)
                    && f.input.handle_event(&Event::Key(*key)).is_some()
                {
                    f.error = None;
                }
            }
        }
        FormAction::None
    }

    /// Pasted text goes into the focused field as one line: a pasted line
    /// break must never submit anything.
    pub fn paste(&mut self, text: &str) {
        if let Some(f) = self.fields.get_mut(self.focus) {
            let clean = crate::domain::text::sanitize(text);
            for c in clean.chars() {
                f.input.handle(tui_input::InputRequest::InsertChar(c));
            }
            f.error = None;
        }
    }

    /// Draws the dialog centred in `area` and places the cursor in the
    /// focused field. Messages wrap, so the dialog grows to fit them.
    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let width = area.width.min(72);
        // Border and one column of padding on each side.
        let text_width = usize::from(width.saturating_sub(4)).max(1);
        let label_width = self
            .fields
            .iter()
            .map(|f| f.label.chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        let note_width = text_width.saturating_sub(label_width + 2).max(1);

        // Plan the rows first: the height follows from them.
        enum RowKind<'a> {
            Text(Line<'a>),
            Input(usize),
        }
        let mut rows: Vec<RowKind> = Vec::new();
        for text in &self.intro {
            rows.push(RowKind::Text(Line::from(safe(text))));
        }
        for (i, f) in self.fields.iter().enumerate() {
            rows.push(RowKind::Input(i));
            let (text, style, mark) = match &f.error {
                Some(e) => (e.as_str(), theme.error(), "↳ "),
                None => (f.hint, theme.dim(), "  "),
            };
            for (n, part) in wrap(&sanitize(text), note_width).into_iter().enumerate() {
                rows.push(RowKind::Text(Line::from(vec![
                    Span::raw(" ".repeat(label_width)),
                    Span::styled(if n == 0 { mark } else { "  " }, style),
                    Span::styled(part, style),
                ])));
            }
            for (n, line) in f.below.iter().enumerate() {
                let chosen = f.below_selected == Some(n);
                let room = text_width.saturating_sub(label_width + 2);
                let text = crate::domain::text::truncate_width(&super::safe::text(line), room);
                rows.push(RowKind::Text(Line::from(vec![
                    Span::raw(" ".repeat(label_width)),
                    Span::styled(if chosen { "▸ " } else { "  " }, theme.title()),
                    Span::styled(
                        text,
                        if chosen {
                            theme.selected()
                        } else {
                            theme.base()
                        },
                    ),
                ])));
            }
        }
        if let Some(e) = &self.error {
            rows.push(RowKind::Text(Line::raw("")));
            for part in wrap(&sanitize(e), text_width) {
                rows.push(RowKind::Text(Line::from(Span::styled(part, theme.error()))));
            }
        }
        rows.push(RowKind::Text(Line::raw("")));
        rows.push(RowKind::Text(match self.waiting {
            Some(w) => Line::from(Span::styled(w, theme.dim())),
            None => {
                let shown: Vec<Hint> = self.hints().into_iter().filter(|h| h.footer).collect();
                key_line(&shown, theme).style(theme.dim())
            }
        }));

        let height = u16::try_from(rows.len() + 2).unwrap_or(u16::MAX);
        let popup = centered(area, width, height);
        if popup.is_empty() {
            return;
        }
        let inner = super::popup::open(frame, popup, theme, &self.title);
        let room = usize::from(inner.height);
        // Too many rows for the window: the key line stays at the bottom and
        // the rest scrolls so the focused field and its note show.
        let (shown, footer) = if rows.len() > room && room >= 2 {
            let footer = rows.pop();
            rows.pop(); // the blank line above it
            let body = room - 1;
            let focused = rows
                .iter()
                .position(|r| matches!(r, RowKind::Input(i) if *i == self.focus))
                .unwrap_or(0);
            let end = (focused + 2).min(rows.len());
            let start = end.saturating_sub(body);
            let start = if self.focus == 0 { 0 } else { start };
            let shown: Vec<RowKind> = rows.into_iter().skip(start).take(body).collect();
            (shown, footer)
        } else {
            (rows, None)
        };
        for (y, row) in (inner.y..inner.bottom()).zip(shown) {
            match row {
                RowKind::Text(line) => {
                    frame
                        .render_widget(Paragraph::new(line), Rect::new(inner.x, y, inner.width, 1));
                }
                RowKind::Input(i) => self.render_input(frame, inner, y, i, label_width, theme),
            }
        }
        if let Some(RowKind::Text(line)) = footer {
            let y = inner.bottom().saturating_sub(1);
            frame.render_widget(Paragraph::new(line), Rect::new(inner.x, y, inner.width, 1));
        }
    }

    /// A field's row: its label, then the text box scrolled so the cursor
    /// stays visible.
    fn render_input(
        &self,
        frame: &mut Frame,
        inner: Rect,
        y: u16,
        i: usize,
        label_width: usize,
        theme: &Theme,
    ) {
        let Some(f) = self.fields.get(i) else {
            return;
        };
        let focused = i == self.focus;
        let label = format!("{:>w$} ", f.label, w = label_width.saturating_sub(1));
        frame.render_widget(
            Paragraph::new(Span::styled(
                label,
                if focused { theme.title() } else { theme.base() },
            )),
            Rect::new(inner.x, y, inner.width, 1),
        );
        let lw = u16::try_from(label_width).unwrap_or(u16::MAX);
        let x = inner.x.saturating_add(lw);
        let width = inner.width.saturating_sub(lw);
        if width == 0 {
            return;
        }
        let scroll = f.input.visual_scroll(usize::from(width.saturating_sub(1)));
        let style = if focused {
            theme.input_focused()
        } else {
            theme.input()
        };
        let value = if f.secret {
            crate::domain::codes::mask_code(f.input.value())
        } else {
            f.input.value().to_owned()
        };
        let shown = format!("{:<w$}", value, w = scroll + usize::from(width));
        let p = Paragraph::new(Line::from(safe(&shown)))
            .style(style)
            .scroll((0, u16::try_from(scroll).unwrap_or(u16::MAX)));
        frame.render_widget(p, Rect::new(x, y, width, 1));
        if focused {
            let cx = f.input.visual_cursor().saturating_sub(scroll);
            let cx = x.saturating_add(u16::try_from(cx).unwrap_or(u16::MAX));
            if cx < x.saturating_add(width) {
                frame.set_cursor_position(Position::new(cx, y));
            }
        }
    }
}

/// Greedy word wrap to `width` characters; a word longer than a line is
/// cut. Always at least one line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let needed = if len == 0 {
                word.len()
            } else {
                len + 1 + word.len()
            };
            if needed <= width {
                if len > 0 {
                    line.push(' ');
                    len += 1;
                }
                line.extend(word.iter());
                len += word.len();
                break;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
                len = 0;
                continue;
            }
            // A word longer than the line: cut it.
            let rest = word.split_off(width.min(word.len()));
            lines.push(word.iter().collect());
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if len > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn typing_tab_enter_and_errors() {
        let mut f = Form::new(
            "t",
            vec![
                Field::new("amount", "Amount", ""),
                Field::new("reason", "Reason", ""),
            ],
        );
        assert!(!f.is_dirty());
        for c in "+5".chars() {
            assert_eq!(f.key(&key(KeyCode::Char(c))), FormAction::None);
        }
        assert!(f.is_dirty());
        assert_eq!(f.key(&key(KeyCode::Enter)), FormAction::None);
        assert_eq!(f.focus, 1);
        assert_eq!(f.key(&key(KeyCode::Enter)), FormAction::Submit);
        f.set_errors(&[
            InvalidInput::new("amount", "bad"),
            InvalidInput::new("other", "x"),
        ]);
        assert_eq!(f.focus, 0);
        assert_eq!(f.fields[0].error.as_deref(), Some("bad"));
        assert_eq!(f.error.as_deref(), Some("other: x"));
        assert_eq!(f.value("amount"), "+5");
        f.paste("1\n\n2");
        assert_eq!(f.value("amount"), "+51 2");
        assert_eq!(f.key(&key(KeyCode::Esc)), FormAction::Cancel);
    }

    #[test]
    fn wrap_fills_lines_and_cuts_long_words() {
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("x", 0), ["x"]);
    }
}
