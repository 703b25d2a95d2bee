//! Tab 6, Dashboard: whether things are normal, at a glance, from
//! `reports::dashboard` (one snapshot: credits per day over 30 days,
//! batches per hour over 48 hours, the stuck batches now, the failure rate,
//! the week's biggest adjustments). It loads again by itself like the other
//! live views (`p` pauses).
//!
//! At 80x24: the figures of today against the days before, and one
//! sparkline per series. From 120 columns and 36 rows: a bar chart of the
//! credits granted and spent per day, today by type, a chart of the
//! batches per hour, the oldest stuck batches and the biggest adjustments.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Bar, BarChart, BarGroup, Block, Cell, Chart, Dataset, GraphType, Paragraph, Row,
    Sparkline, Table,
};

use super::{Handled, Tab, Ui};
use crate::db::reports::{Dashboard, Day, STUCK_ALERT, STUCK_WARN};
use crate::domain::ledger::EntryType;
use crate::tui::command::{Job, Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::format::when;
use crate::tui::keymap::{Allow, Bind, ESC, Hint, Keymap, always};
use crate::tui::theme::Theme;
use crate::tui::widgets::{Poll, fit, load_status, safe, safe_opt};

/// What a key does on the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Stop,
}

const KEYS: Keymap<Act> = Keymap(&[Bind::new(ESC, "Esc", "stop loading", Act::Stop)]);

/// The dashboard draws its wide layout from this size.
const WIDE: (u16, u16) = (120, 36);

#[derive(Default)]
pub struct DashboardTab {
    pub data: Option<Box<Dashboard>>,
    pending: Option<RequestId>,
    error: Option<String>,
    failed: bool,
    started: bool,
    poll: Poll,
    /// When the figures arrived.
    loaded_at: Option<DateTime<Utc>>,
}

impl DashboardTab {
    fn load(&mut self, ctx: &mut Ctx) {
        ctx.cancel(self.pending.take());
        self.pending = Some(ctx.request(Job::Dashboard));
        self.error = None;
        self.failed = false;
    }
}

impl Tab for DashboardTab {
    fn activate(&mut self, ctx: &mut Ctx) {
        self.started = true;
        self.load(ctx);
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        if self.poll.due(ctx.now) && self.pending.is_none() {
            self.load(ctx);
        }
    }

    fn polls(&self) -> bool {
        true
    }

    fn pause(&mut self) {
        self.poll.toggle();
    }

    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Handled {
        match KEYS.find(key, ctx.allow, always) {
            Some(Act::Stop) if self.pending.is_some() => {
                ctx.cancel(self.pending.take());
                Handled::Yes
            }
            _ => Handled::No,
        }
    }

    fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx) {
        let Outcome::Dashboard(result) = outcome else {
            return;
        };
        if self.pending != Some(id) {
            return; // stale
        }
        self.pending = None;
        match result {
            Ok(d) => {
                self.poll.loaded(ctx.now);
                self.loaded_at = Some(ctx.now);
                self.data = Some(d);
            }
            Err(e) => {
                self.error = Some(e.to_string());
                self.failed = true;
                // Try again at the next poll, as a list does.
                self.poll.loaded(ctx.now);
            }
        }
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        self.load(ctx);
    }

    fn retry(&mut self, ctx: &mut Ctx) {
        if self.failed && self.started {
            self.load(ctx);
        }
    }

    fn busy(&self) -> bool {
        self.pending.is_some()
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        KEYS.hints(allow, always)
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let status = load_status(
            self.error.as_deref(),
            self.pending.is_some() && self.data.is_none(),
            "loading…",
            area.width,
            theme,
            ui.tick,
        )
        .unwrap_or_else(|| match &self.data {
            Some(d) => Span::raw(fit(&format!(" as of {} UTC ", when(d.at)), area.width)),
            None => Span::raw(""),
        });
        let mut title = vec![Span::styled(" Dashboard", theme.title())];
        if self.poll.paused() {
            title.push(Span::styled(" · paused (p)", theme.warning()));
        }
        title.push(Span::raw(" "));
        let block = Block::bordered()
            .border_style(theme.border())
            .title(Line::from(title))
            .title_bottom(Line::from(status).right_aligned());
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let Some(d) = &self.data else {
            return;
        };
        if inner.is_empty() {
            return;
        }
        if inner.width >= WIDE.0 && inner.height >= WIDE.1 {
            wide(frame, inner, d, theme);
        } else {
            narrow(frame, inner, d, theme);
        }
    }
}

// ------------------------------------------------------------ the figures

/// Today (the last day) and the days before it.
fn today_and_before(d: &Dashboard) -> (Option<&Day>, &[Day]) {
    match d.daily.days.split_last() {
        Some((today, before)) => (Some(today), before),
        None => (None, &[]),
    }
}

/// What the dashboard sums per day: credits sold, spent, refunded,
/// adjusted (net), given by gift cards and coupons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Figure {
    Sold,
    Spent,
    Refunded,
    Adjusted,
    GiftCards,
    Coupons,
}

impl Figure {
    const ALL: [Figure; 6] = [
        Figure::Sold,
        Figure::Spent,
        Figure::Refunded,
        Figure::Adjusted,
        Figure::GiftCards,
        Figure::Coupons,
    ];

    fn label(self) -> &'static str {
        match self {
            Figure::Sold => "sold",
            Figure::Spent => "spent",
            Figure::Refunded => "refunded",
            Figure::Adjusted => "adjusted",
            Figure::GiftCards => "gift cards",
            Figure::Coupons => "coupons",
        }
    }

    fn of(self, day: &Day) -> i64 {
        match self {
            Figure::Sold => day.net(EntryType::Purchase),
            Figure::Spent => -(day.net(EntryType::Generation) + day.net(EntryType::Training)),
            Figure::Refunded => day.net(EntryType::Refund),
            Figure::Adjusted => day.net(EntryType::AdminAdjustment),
            Figure::GiftCards => day.net(EntryType::GiftCard),
            Figure::Coupons => day.net(EntryType::Coupon),
        }
    }
}

/// The mean of `f` over `days` (0 without days).
fn average(days: &[Day], f: impl Fn(&Day) -> i64) -> i64 {
    let n = i64::try_from(days.len()).unwrap_or(i64::MAX);
    if n == 0 {
        0
    } else {
        days.iter().map(f).sum::<i64>() / n
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// The stuck line, coloured by the thresholds.
fn stuck_line<'a>(d: &Dashboard, theme: &Theme) -> Line<'a> {
    let s = &d.batches.stuck;
    let style = if s.over_alert > 0 {
        theme.error()
    } else if s.over_warn > 0 {
        theme.warning()
    } else {
        theme.success()
    };
    let warn = threshold(STUCK_WARN);
    let alert = threshold(STUCK_ALERT);
    Line::from(vec![
        Span::styled("stuck now ", theme.dim()),
        Span::styled(format!("{} over {warn}", s.over_warn), style),
        Span::raw(", "),
        Span::styled(
            format!("{} over {alert}", s.over_alert),
            if s.over_alert > 0 {
                theme.error()
            } else {
                theme.base()
            },
        ),
        Span::styled(format!("  ({} generating)", s.generating), theme.dim()),
    ])
}

/// `15m`, `1h`: a threshold as the CLI's `--older-than` reads it.
fn threshold(d: chrono::Duration) -> String {
    let m = d.num_minutes();
    if m > 0 && m % 60 == 0 {
        format!("{}h", m / 60)
    } else {
        format!("{m}m")
    }
}

fn failure_line<'a>(d: &Dashboard, theme: &Theme) -> Line<'a> {
    let r24 = d.batches.failure_rate_24h;
    let style = match r24 {
        Some(r) if r >= 0.2 => theme.error(),
        Some(r) if r >= 0.05 => theme.warning(),
        _ => theme.base(),
    };
    Line::from(vec![
        Span::styled("failure rate ", theme.dim()),
        Span::styled(format!("{} last 24h", percent(r24)), style),
        Span::styled(
            format!("  · {} over 48h", percent(d.batches.failure_rate)),
            theme.dim(),
        ),
    ])
}

/// `today sold 1200 (avg 980) · spent 800 (avg 760) · …`, one span pair
/// per figure.
fn today_line<'a>(d: &Dashboard, figures: &[Figure], theme: &Theme) -> Line<'a> {
    let (today, before) = today_and_before(d);
    let mut spans = vec![Span::styled("today ", theme.dim())];
    for (i, f) in figures.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.dim()));
        }
        let now = today.map_or(0, |t| f.of(t));
        let avg = average(before, |day| f.of(day));
        spans.push(Span::raw(format!("{} ", f.label())));
        spans.push(Span::styled(now.to_string(), unusual(now, avg, theme)));
        spans.push(Span::styled(format!(" (avg {avg})"), theme.dim()));
    }
    Line::from(spans)
}

/// Today's figure stands out (yellow) when it is more than half again or
/// less than half its average.
fn unusual(now: i64, avg: i64, theme: &Theme) -> Style {
    if avg != 0 && (now - avg).abs() * 2 > avg.abs() {
        theme.warning()
    } else {
        theme.title()
    }
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v.max(0)).unwrap_or(0)
}

// ------------------------------------------------------------ 80x24

fn narrow(frame: &mut Frame, area: Rect, d: &Dashboard, theme: &Theme) {
    let mut head = vec![
        stuck_line(d, theme),
        failure_line(d, theme),
        today_line(d, &[Figure::Sold, Figure::Spent], theme),
        today_line(d, &[Figure::Refunded, Figure::Adjusted], theme),
    ];
    if !d.daily.complete {
        head.push(Line::from(Span::styled(
            "the daily sums are still being filled in: figures are partial",
            theme.warning(),
        )));
    }
    let head_h = u16::try_from(head.len()).unwrap_or(u16::MAX);
    let [top, credits, batches] = Layout::vertical([
        Constraint::Length(head_h),
        Constraint::Fill(1),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(head), top);
    let days = &d.daily.days;
    let granted: Vec<u64> = days.iter().map(|x| to_u64(x.credited)).collect();
    let spent: Vec<u64> = days.iter().map(|x| to_u64(x.debited)).collect();
    sparklines(
        frame,
        credits,
        &format!("credits per day, {} days", days.len()),
        &[
            ("granted", &granted, theme.success()),
            ("spent", &spent, theme.error()),
        ],
        theme,
    );
    let hours = &d.batches.hours;
    let done: Vec<u64> = hours.iter().map(|h| to_u64(h.completed)).collect();
    let failed: Vec<u64> = hours.iter().map(|h| to_u64(h.failed)).collect();
    sparklines(
        frame,
        batches,
        &format!("batches per hour, {} hours", hours.len()),
        &[
            ("completed", &done, theme.success()),
            ("failed", &failed, theme.error()),
        ],
        theme,
    );
}

/// One block with a labelled sparkline per series (the newest at the
/// right; only the newest that fit).
fn sparklines(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    series: &[(&str, &[u64], Style)],
    theme: &Theme,
) {
    let block = Block::bordered()
        .border_style(theme.border())
        .title(Line::from(Span::styled(format!(" {title} "), theme.dim())));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() || series.is_empty() {
        return;
    }
    let label_w = series
        .iter()
        .map(|(l, v, _)| l.len() + 1 + max_of(v).to_string().len() + 1)
        .max()
        .unwrap_or(0);
    let label_w = u16::try_from(label_w)
        .unwrap_or(u16::MAX)
        .min(inner.width / 2);
    let n = u32::try_from(series.len()).unwrap_or(1);
    let rows = Layout::vertical(vec![Constraint::Ratio(1, n); series.len()]).split(inner);
    for ((label, values, style), row) in series.iter().zip(rows.iter()) {
        let [l, s] =
            Layout::horizontal([Constraint::Length(label_w), Constraint::Fill(1)]).areas(*row);
        let text = Line::from(vec![
            Span::raw(format!("{label} ")),
            Span::styled(max_of(values).to_string(), theme.dim()),
        ]);
        frame.render_widget(Paragraph::new(text), l);
        // Each value as wide as the room allows (the newest that fit).
        let room = usize::from(s.width);
        let k = room.checked_div(values.len()).unwrap_or(1).clamp(1, 4);
        let wide: Vec<u64> = values
            .iter()
            .flat_map(|v| std::iter::repeat_n(*v, k))
            .collect();
        let shown = &wide[wide.len().saturating_sub(room)..];
        frame.render_widget(Sparkline::default().data(shown).style(*style), s);
    }
}

fn max_of(values: &[u64]) -> u64 {
    values.iter().copied().max().unwrap_or(0)
}

// ------------------------------------------------------------ 200x60

fn wide(frame: &mut Frame, area: Rect, d: &Dashboard, theme: &Theme) {
    let mut head = vec![stuck_line(d, theme), failure_line(d, theme)];
    if !d.daily.complete {
        head.push(Line::from(Span::styled(
            "the daily sums are still being filled in: figures are partial",
            theme.warning(),
        )));
    }
    let head_h = u16::try_from(head.len()).unwrap_or(u16::MAX);
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Length(head_h),
        Constraint::Fill(1),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(head), top);
    let [chart, today] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(48)]).areas(middle);
    credits_chart(frame, chart, d, theme);
    today_table(frame, today, d, theme);
    let [hours, lists] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(72)]).areas(bottom);
    batches_chart(frame, hours, d, theme);
    let [stuck, adjustments] =
        Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(lists);
    stuck_table(frame, stuck, d, theme);
    adjustments_table(frame, adjustments, d, theme);
}

/// Granted and spent per day: a pair of bars a day, the newest that fit.
fn credits_chart(frame: &mut Frame, area: Rect, d: &Dashboard, theme: &Theme) {
    let block = Block::bordered()
        .border_style(theme.border())
        .title(Line::from(vec![
            Span::styled(" credits per day: ", theme.dim()),
            Span::styled("granted", theme.success()),
            Span::styled(" / ", theme.dim()),
            Span::styled("spent", theme.error()),
            Span::raw(" "),
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // 2 bars of 2 columns and a gap of 1 per day
    let fit = usize::from(inner.width / 5).max(1);
    let days = &d.daily.days;
    let shown = &days[days.len().saturating_sub(fit)..];
    let mut chart = BarChart::default()
        .bar_width(2)
        .bar_gap(0)
        .group_gap(1)
        .value_style(theme.dim())
        .label_style(theme.dim());
    for (i, day) in shown.iter().enumerate() {
        // A label every 5 days, and on the last.
        let label = if i % 5 == 0 || i + 1 == shown.len() {
            day.day.format("%d").to_string()
        } else {
            String::new()
        };
        let bars = [
            Bar::default()
                .value(to_u64(day.credited))
                .text_value(String::new())
                .style(theme.success()),
            Bar::default()
                .value(to_u64(day.debited))
                .text_value(String::new())
                .style(theme.error()),
        ];
        chart = chart.data(BarGroup::default().label(Line::from(label)).bars(&bars));
    }
    frame.render_widget(chart, inner);
}

/// Today by figure against the average of the days before.
fn today_table(frame: &mut Frame, area: Rect, d: &Dashboard, theme: &Theme) {
    let (today, before) = today_and_before(d);
    let rows = Figure::ALL.iter().map(|f| {
        let now = today.map_or(0, |t| f.of(t));
        let avg = average(before, |day| f.of(day));
        let style = unusual(now, avg, theme);
        Row::new(vec![
            Cell::from(f.label()),
            Cell::from(Line::from(Span::styled(now.to_string(), style)).right_aligned()),
            Cell::from(Line::from(avg.to_string()).right_aligned()),
        ])
    });
    let mut rows: Vec<Row> = rows.collect();
    if let Some(t) = today {
        rows.push(Row::new(vec![
            Cell::from("redemptions"),
            Cell::from(
                Line::from(format!(
                    "{}/{}",
                    t.coupon_redemptions, t.gift_card_redemptions
                ))
                .right_aligned(),
            ),
            Cell::from(
                Line::from(format!(
                    "{}/{}",
                    average(before, |x| x.coupon_redemptions),
                    average(before, |x| x.gift_card_redemptions)
                ))
                .right_aligned(),
            ),
        ]));
    }
    let header = Row::new(vec![
        Cell::from("credits"),
        Cell::from(Line::from("today").right_aligned()),
        Cell::from(Line::from(format!("avg {}d", before.len())).right_aligned()),
    ])
    .style(theme.header());
    let table = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(10),
            Constraint::Length(10),
        ],
    )
    .header(header)
    .block(
        Block::bordered()
            .border_style(theme.border())
            .title(Span::styled(" today vs the days before ", theme.dim()))
            .title_bottom(Line::from(Span::styled(
                " redemptions: coupons/gift cards ",
                theme.dim(),
            ))),
    );
    frame.render_widget(table, area);
}

/// Batches per hour by status: one line each.
fn batches_chart(frame: &mut Frame, area: Rect, d: &Dashboard, theme: &Theme) {
    let hours = &d.batches.hours;
    let points = |f: fn(&crate::db::reports::Hour) -> i64| -> Vec<(f64, f64)> {
        hours
            .iter()
            .enumerate()
            .map(|(i, h)| (i as f64, f(h) as f64))
            .collect()
    };
    let completed = points(|h| h.completed);
    let failed = points(|h| h.failed);
    let generating = points(|h| h.generating);
    let top = hours
        .iter()
        .map(|h| h.completed.max(h.failed).max(h.generating))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let span = hours.len().saturating_sub(1).max(1) as f64;
    let first = hours.first().map(|h| h.hour.format("%d %H:00").to_string());
    let last = hours.last().map(|h| h.hour.format("%d %H:00").to_string());
    let datasets = vec![
        Dataset::default()
            .name("completed")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.success())
            .data(&completed),
        Dataset::default()
            .name("failed")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.error())
            .data(&failed),
        Dataset::default()
            .name("generating")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.warning())
            .data(&generating),
    ];
    let chart = Chart::new(datasets)
        .block(
            Block::bordered()
                .border_style(theme.border())
                .title(Line::from(vec![
                    Span::styled(
                        format!(" batches per hour, {} hours (UTC): ", hours.len()),
                        theme.dim(),
                    ),
                    Span::styled("completed", theme.success()),
                    Span::styled(" / ", theme.dim()),
                    Span::styled("failed", theme.error()),
                    Span::styled(" / ", theme.dim()),
                    Span::styled("generating", theme.warning()),
                    Span::raw(" "),
                ])),
        )
        .legend_position(None)
        .x_axis(
            Axis::default()
                .style(theme.dim())
                .bounds([0.0, span])
                .labels(vec![
                    Line::from(first.unwrap_or_default()),
                    Line::from(last.unwrap_or_default()),
                ]),
        )
        .y_axis(
            Axis::default()
                .style(theme.dim())
                .bounds([0.0, top])
                .labels(vec![Line::from("0"), Line::from(format!("{top:.0}"))]),
        );
    frame.render_widget(chart, area);
}

fn stuck_table(frame: &mut Frame, area: Rect, d: &Dashboard, theme: &Theme) {
    let rows = d.batches.stuck.oldest.iter().map(|b| {
        let style = if b.age_seconds >= STUCK_ALERT.num_seconds() {
            theme.error()
        } else if b.age_seconds >= STUCK_WARN.num_seconds() {
            theme.warning()
        } else {
            theme.base()
        };
        Row::new(vec![
            Cell::from(format!("#{}", b.batch_id)),
            Cell::from(Line::from(Span::styled(
                crate::domain::amounts::short_age(b.age_seconds),
                style,
            ))),
            Cell::from(format!("user #{}", b.user_id)),
            Cell::from(Line::from(b.credits_used.to_string()).right_aligned()),
            Cell::from(when(b.created_at)),
        ])
    });
    let header = Row::new(vec!["batch", "age", "user", "credits", "created"]).style(theme.header());
    let table = Table::new(
        rows,
        [
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(12),
            Constraint::Length(7),
            Constraint::Length(16),
        ],
    )
    .header(header)
    .block(
        Block::bordered()
            .border_style(theme.border())
            .title(Span::styled(" oldest generating ", theme.dim())),
    );
    frame.render_widget(table, area);
}

fn adjustments_table(frame: &mut Frame, area: Rect, d: &Dashboard, theme: &Theme) {
    let rows = d.daily.biggest_adjustments.iter().map(|a| {
        Row::new(vec![
            Cell::from(Line::from(Span::styled(
                format!("{:+}", a.amount),
                theme.amount(i64::from(a.amount)),
            ))),
            Cell::from(safe(&a.email)),
            Cell::from(safe_opt(a.description.as_deref())),
            Cell::from(when(a.created_at)),
        ])
    });
    let header = Row::new(vec!["amount", "user", "description", "when"]).style(theme.header());
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Fill(2),
            Constraint::Fill(2),
            Constraint::Length(16),
        ],
    )
    .header(header)
    .block(
        Block::bordered()
            .border_style(theme.border())
            .title(Span::styled(" biggest adjustments, 7 days ", theme.dim())),
    );
    frame.render_widget(table, area);
}
