//! Drawing: reads the app, changes nothing (apart from the lists' remembered
//! scroll offsets). Any size works, down to 1x1: every area is clamped and
//! empty areas are skipped.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Tabs as TabBar};

use super::app::{App, DbHealth, GLOBAL_FOOTER, GLOBAL_KEYS, Global, Popup};
use super::approvals::SessionStatus;
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
    let area = environment_frame(app, frame, area);
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
        app.screen().render(frame, a.body, &ui);
    }
    if !a.hints.is_empty() {
        frame.render_widget(Paragraph::new(hints_line(app, a.hints.width)), a.hints);
    }
    status_line(app, frame, a.status);
    match &app.popup {
        Some(Popup::Help) => {
            let tab_keys = app.screen().hints(&app.allow);
            let polls = app.screen().polls();
            let exports = app.screen().export().is_some();
            let global = GLOBAL_KEYS.hints(&app.allow, |g| match g {
                Global::Pause => polls,
                Global::Export => exports,
                _ => true,
            });
            // Too tall for the window: `?` (this screen) goes, and the list
            // keys join the global ones, so every other key still shows.
            let rows = |sections: &[&[Hint]]| {
                sections.iter().map(|k| k.len() + 2).sum::<usize>()
                    + if app.log_path.is_some() { 2 } else { 0 }
            };
            let compact = rows(&[&tab_keys, &global, &LIST_KEYS])
                > usize::from(area.height.saturating_sub(1));
            let mut everywhere = global;
            if compact {
                everywhere.retain(|h| h.keys != "?");
                everywhere.extend(LIST_KEYS.iter().copied());
            }
            let mut sections: Vec<(&str, &[Hint])> = Vec::new();
            if !tab_keys.is_empty() {
                sections.push((app.screen_title(), &tab_keys));
            }
            sections.push(("Everywhere", &everywhere));
            if !compact {
                sections.push(("Lists", &LIST_KEYS));
            }
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
        Some(Popup::FirstChange(place)) => {
            let lines = vec![
                Line::from(Span::styled(place.clone(), theme.warning())),
                Line::raw("This is the first change of this session."),
                Line::raw("Continue to its confirmation? y/N"),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("y", theme.key()),
                    Span::raw(" continue   "),
                    Span::styled("n  Esc", theme.key()),
                    Span::raw(" back"),
                ]),
            ];
            popup::message(frame, area, theme, "First change of this session", lines);
        }
        None => {}
    }
}

/// A profile's colour around the whole console, its label in the top
/// border, so which environment this is can't be missed; without colour the
/// border is doubled. Returns the area inside (all of it when there is no
/// frame or no room for one).
fn environment_frame(app: &App, frame: &mut Frame, area: Rect) -> Rect {
    let Some(colour) = app.frame_colour else {
        return area;
    };
    if area.width < 20 || area.height < 8 {
        return area;
    }
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let (style, border) = if app.theme.color {
        (bold.fg(colour), BorderType::Thick)
    } else {
        (bold, BorderType::Double)
    };
    let mut block = Block::bordered().border_type(border).border_style(style);
    if let Some(label) = &app.env_label {
        let label = crate::domain::text::sanitize(label.trim());
        block = block.title_top(
            Line::from(Span::styled(
                format!(" {label} "),
                app.theme.env_label(&label),
            ))
            .centered(),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The footer: the screen's keys, then `? keys  q quit`. When they don't
/// fit the width, the screen's last keys give way (`?` lists them all), never
/// the way to the help or out.
fn hints_line(app: &App, width: u16) -> Line<'static> {
    let theme = &app.theme;
    let (keys, always): (Vec<Hint>, &[Hint]) = match &app.popup {
        Some(Popup::Help) => (vec![Hint::footer("Esc", "close")], &[]),
        Some(Popup::ConfirmQuit(_)) => (
            vec![Hint::footer("y", "quit"), Hint::footer("n", "stay")],
            &[],
        ),
        Some(Popup::FirstChange(_)) => (
            vec![Hint::footer("y", "continue"), Hint::footer("n", "back")],
            &[],
        ),
        None => (
            app.screen()
                .hints(&app.allow)
                .into_iter()
                .filter(|k| k.footer)
                .collect(),
            &GLOBAL_FOOTER,
        ),
    };
    // "keys action  " per hint (ASCII and arrows: a char is a cell)
    let cost = |k: &Hint| k.keys.chars().count() + 1 + k.action.chars().count() + 2;
    // a leading space; the last hint's two trailing spaces may be cut
    let mut room = (usize::from(width) + 1).saturating_sub(always.iter().map(cost).sum());
    let mut shown: Vec<Hint> = Vec::new();
    for k in keys {
        if cost(&k) > room {
            break;
        }
        room -= cost(&k);
        shown.push(k);
    }
    shown.extend(always.iter().copied());
    let mut spans = vec![Span::raw(" ")];
    for k in shown {
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
    match &app.status {
        // Who is connected first: it matters more than where, at 80 columns.
        Some(status) => {
            session_spans(app, status, &mut left);
            left.push(Span::styled("  ", theme.dim()));
            left.push(safe(&app.target));
        }
        None => {
            // The target and the operator came from the command line or the
            // environment: sanitised like database text.
            left.push(safe(&app.target));
            left.push(Span::styled("  as ", theme.dim()));
            left.push(safe(app.operator.as_str()));
        }
    }

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
        .style(if app.flash_error {
            theme.error()
        } else {
            theme.success()
        }),
        DbHealth::Ok if app.export.is_some() => {
            let (list, rows) = app
                .export
                .as_ref()
                .map_or(("", 0), |e| (e.list, e.progress.rows()));
            Span::styled(
                format!(
                    "{} ",
                    spinner::loading(
                        app.tick,
                        &format!("exporting {list}… {} rows", super::export::thousands(rows))
                    )
                ),
                theme.warning(),
            )
        }
        DbHealth::Ok if app.busy() => Span::styled(
            format!("{} ", spinner::loading(app.tick, "loading…")),
            theme.warning(),
        ),
        DbHealth::Ok => Span::raw(""),
    };
    // The right part (a flash, the database's state) leaves the left some
    // room when there is any.
    let right_width = u16::try_from(right.width())
        .unwrap_or(u16::MAX)
        .min(area.width.saturating_sub(16).max(area.width / 2));
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

/// `ana · support`, or the shared login's warning with the name claimed;
/// the pending requests; the replica's lag.
fn session_spans<'a>(app: &'a App, status: &SessionStatus, left: &mut Vec<Span<'a>>) {
    let theme = &app.theme;
    // A long login leaves room for the rest at 80 columns.
    let login =
        crate::domain::text::truncate_width(&crate::domain::text::sanitize(&status.login), 24);
    let role =
        crate::domain::text::truncate_width(&crate::domain::text::sanitize(&status.role), 20);
    if status.personal {
        left.push(Span::styled(format!("{login} · {role}"), theme.header()));
        if app.operator.as_str() != status.login {
            left.push(Span::styled(" as ", theme.dim()));
            left.push(safe_owned(app.operator.as_str().to_owned()));
        }
    } else {
        left.push(Span::styled(
            format!(" ⚠ shared login {login} · {role} "),
            theme.warning().add_modifier(Modifier::REVERSED),
        ));
        left.push(Span::styled(" as ", theme.dim()));
        left.push(safe_owned(app.operator.as_str().to_owned()));
    }
    left.push(Span::raw("  "));
    let paused = if app.status_paused() { " (paused)" } else { "" };
    let pending = format!("{} pending{paused}", status.pending);
    left.push(if status.pending > 0 {
        Span::styled(pending, theme.warning())
    } else {
        Span::styled(pending, theme.dim())
    });
    if let Some(lag) = status.lag {
        let secs = lag.as_secs_f64();
        let text = if secs < 1.0 {
            "  replica lag <1s".to_owned()
        } else {
            format!("  replica lag {secs:.0}s")
        };
        left.push(if secs >= 10.0 {
            Span::styled(text, theme.error())
        } else {
            Span::styled(text, theme.dim())
        });
    }
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::style::Color;

    use super::*;
    use crate::db::Target;
    use crate::domain::operator::Operator;
    use crate::tui::{ConsoleConfig, Theme};

    fn draw(frame_colour: Option<Color>, theme: Theme) -> ratatui::buffer::Buffer {
        let config = ConsoleConfig {
            target: Target::parse("postgres://app@db.example.com/photos").expect("url"),
            operator: Operator::parse("ana").expect("operator"),
            read_only: true,
            env_label: Some("PRODUCTION".into()),
            frame_colour,
            confirm_first_change: false,
            permissions: crate::domain::role::Permissions::owner(),
        };
        let app = App::new(&config, chrono::Utc::now(), theme, "test");
        let mut terminal = Terminal::new(TestBackend::new(60, 12)).expect("terminal");
        terminal.draw(|f| view(&app, f)).expect("draw");
        terminal.backend().buffer().clone()
    }

    #[test]
    fn a_frame_colour_frames_the_whole_console() {
        let b = draw(Some(Color::Red), Theme::COLOR);
        let corners = [
            (0, 0),
            (59, 0),
            (0, 11),
            (59, 11),
            (0, 5),
            (59, 5),
            (30, 11),
        ];
        for (x, y) in corners {
            assert_eq!(b[(x, y)].fg, Color::Red, "({x}, {y})");
            assert_ne!(b[(x, y)].symbol(), " ", "({x}, {y})");
        }
        let top: String = (0..60).map(|x| b[(x, 0)].symbol().to_owned()).collect();
        assert!(top.contains(" PRODUCTION "), "{top}");
        // The console itself moves inside: the tabs start on the second row.
        let second: String = (0..60).map(|x| b[(x, 1)].symbol().to_owned()).collect();
        assert!(second.contains("1 Coupons"), "{second}");

        // Without colour the frame is still there, doubled.
        let b = draw(Some(Color::Red), Theme::NO_COLOR);
        assert_eq!(b[(0, 0)].symbol(), "╔");
        // No colour configured: no frame, the console as before.
        let b = draw(None, Theme::COLOR);
        let first: String = (0..60).map(|x| b[(x, 0)].symbol().to_owned()).collect();
        assert!(first.contains("1 Coupons"), "{first}");
    }
}
