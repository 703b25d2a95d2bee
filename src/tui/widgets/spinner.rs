//! The loading indicator: a spinner frame chosen by the app's tick count, so
//! a snapshot with a fixed tick is stable.

const FRAMES: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

pub fn frame(tick: u64) -> &'static str {
    FRAMES[(tick % FRAMES.len() as u64) as usize]
}

/// e.g. `⠋ loading…`
pub fn loading(tick: u64, what: &str) -> String {
    format!("{} {what}", frame(tick))
}
