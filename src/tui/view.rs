//! Drawing: reads the app, changes nothing (apart from the lists' remembered
//! scroll offsets). Any size works, down to 1x1: every area is clamped and
//! empty areas are skipped.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs as TabBar};

use super::app::{App, DbHealth, GLOBAL_FOOTER, GLOBAL_KEYS, Global, Popup};
use super::keymap::Hint;
use super::keys::LIST_KEYS;
use super::tabs::{TabId, Ui};
use super::widgets::{popup, safe, safe_owned, spinner};

/// The screen's rows: tab bar, body, key hints, status line.
struct Areas {
    tabs: Rect,
    body: Rect,
    hints: Rect,
    status: Rect,
}

fn split(area: Rect) -> Areas {
    let row = |y: u16| Rect::new(area.x, y, area.width, 1);
    let empty = Rect::new(area.x, area.y, area.width, 0);
    let mut a = Areas {
        tabs: empty,
        body: empty,
        hints: empty,
        status: empty,
    };
    if area.is_empty() {
        return a;
    }
    // The status line matters most (environment, read-only, database state);
    // then the tab bar; the key hints only when there is room for a body too.
    a.status = row(area.bottom() - 1);
    let mut top = area.y;
    let mut bottom = area.bottom() - 1;
    if bottom > top {
        a.tabs = row(top);
        top += 1;
    }
    if bottom.saturating_sub(top) >= 6 {
        bottom -= 1;
        a.hints = row(bottom);
    }
    a.body = Rect::new(area.x, top, area.width, bottom.saturating_sub(top));
    a
}

/// Draws the whole console.
pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.is_empty() {
        return;
    }
    let a = split(area);
    let theme = &app.theme;
    let ui = Ui {
        theme,
        tick: app.tick,
        now: app.now,
        allow: &app.allow,
    };
    if !a.tabs.is_empty() {
        let titles = TabId::ALL
            .iter()
            .map(|t| Line::raw(format!("{} {}", t.index() + 1, t.title())));
        let bar = TabBar::new(titles)
            .select(app.active.index())
            .highlight_style(theme.selected())
            .divider("│");
        frame.render_widget(bar, a.tabs);
    }
    if !a.body.is_empty() {
        app.active_tab().render(frame, a.body, &ui);
    }
    if !a.hints.is_empty() {
        frame.render_widget(Paragraph::new(hints_line(app)), a.hints);
    }
    status_line(app, frame, a.status);
    match &app.popup {
        Some(Popup::Help) => {
            let tab_keys = app.active_tab().hints(&app.allow);
            let polls = app.active_tab().polls();
            let global = GLOBAL_KEYS.hints(&app.allow, |g| g != Global::Pause || polls);
            let mut sections: Vec<(&str, &[Hint])> = Vec::new();
            if !tab_keys.is_empty() {
                sections.push((app.active.title(), &tab_keys));
            }
            sections.push(("Everywhere", &global));
            sections.push(("Lists", &LIST_KEYS));
            popup::help(
                frame,
                area,
                theme,
                "Keys",
                &sections,
                app.log_path.as_deref(),
            );
        }
        Some(Popup::ConfirmQuit(reason)) => {
            let lines = vec![
                Line::raw(format!("{reason}.")),
                Line::raw("Quit anyway?"),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("y", theme.key()),
                    Span::raw(" quit   "),
                    Span::styled("n", theme.key()),
                    Span::raw(" stay"),
                ]),
            ];
            popup::message(frame, area, theme, "Quit?", lines);
        }
        None => {}
    }
}

fn hints_line(app: &App) -> Line<'static> {
    let theme = &app.theme;
    let keys = match &app.popup {
        Some(Popup::Help) => vec![Hint::footer("Esc", "close")],
        Some(Popup::ConfirmQuit(_)) => {
            vec![Hint::footer("y", "quit"), Hint::footer("n", "stay")]
        }
        None => {
            let mut keys: Vec<Hint> = app
                .active_tab()
                .hints(&app.allow)
                .into_iter()
                .filter(|k| k.footer)
                .collect();
            keys.extend(GLOBAL_FOOTER);
            keys
        }
    };
    let mut spans = vec![Span::raw(" ")];
    for k in keys {
        spans.push(Span::styled(k.keys, theme.key()));
        spans.push(Span::raw(" "));
        spans.push(Span::styled(k.action, theme.dim()));
        spans.push(Span::raw("  "));
    }
    Line::from(spans)
}

fn status_line(app: &App, frame: &mut Frame, area: Rect) {
    if area.is_empty() {
        return;
    }
    let theme = &app.theme;
    let mut left: Vec<Span> = Vec::new();
    if let Some(label) = &app.env_label {
        left.push(Span::styled(
            format!(" {} ", label.trim()),
            theme.env_label(label),
        ));
        left.push(Span::raw(" "));
    }
    if app.allow.read_only {
        left.push(Span::styled(" READ-ONLY ", theme.read_only()));
        left.push(Span::raw(" "));
    }
    // The target and the operator came from the command line or the
    // environment: sanitised like database text.
    left.push(safe(&app.target));
    left.push(Span::styled("  as ", theme.dim()));
    left.push(safe(app.operator.as_str()));

    let right = match app.db {
        DbHealth::Unreachable(_) => {
            Span::styled(" database unreachable — retrying ", theme.error())
        }
        DbHealth::Checking(_) => Span::styled(
            format!("{} checking the database… ", spinner::frame(app.tick)),
            theme.warning(),
        ),
        // Says what was copied: a value from the database, sanitised.
        DbHealth::Ok if app.flash.is_some() => safe_owned(format!(
            "{} ",
            app.flash.as_ref().map_or("", |(text, _)| text.as_str())
        ))
        .style(theme.success()),
        DbHealth::Ok if app.busy() => Span::styled(
            format!("{} ", spinner::loading(app.tick, "loading…")),
            theme.warning(),
        ),
        DbHealth::Ok => Span::raw(""),
    };
    let right_width = u16::try_from(right.width())
        .unwrap_or(u16::MAX)
        .min(area.width);
    let left_area = Rect {
        width: area.width - right_width,
        ..area
    };
    let right_area = Rect {
        x: area.x + area.width - right_width,
        width: right_width,
        ..area
    };
    frame.render_widget(
        Paragraph::new(Line::from(left)).style(theme.status_bar()),
        left_area,
    );
    if right_width > 0 {
        frame.render_widget(Paragraph::new(Line::from(right)), right_area);
    }
}
