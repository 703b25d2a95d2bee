//! A visible list refreshes on its own every [`EVERY`] (polling: LISTEN/
//! NOTIFY doesn't pass through transaction poolers); `p` pauses it.

use chrono::{DateTime, Duration, Utc};

/// How often a visible list loads again by itself.
pub const EVERY: Duration = Duration::seconds(5);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Poll {
    paused: bool,
    /// When the list last arrived.
    last: Option<DateTime<Utc>>,
}

impl Poll {
    /// The list arrived at `now`.
    pub fn loaded(&mut self, now: DateTime<Utc>) {
        self.last = Some(now);
    }

    /// Time to load it again (not paused, loaded once, [`EVERY`] ago).
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        !self.paused && self.last.is_some_and(|t| now - t >= EVERY)
    }

    /// `p`: pauses, or resumes; returns whether it is paused now.
    pub fn toggle(&mut self) -> bool {
        self.paused = !self.paused;
        self.paused
    }

    pub fn paused(&self) -> bool {
        self.paused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn due_every_few_seconds_unless_paused() {
        let t = Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 0).unwrap();
        let mut p = Poll::default();
        assert!(
            !p.due(t + EVERY),
            "never loaded: the first load is not a poll"
        );
        p.loaded(t);
        assert!(!p.due(t + Duration::seconds(4)));
        assert!(p.due(t + EVERY));
        assert!(p.toggle());
        assert!(!p.due(t + Duration::minutes(5)));
        assert!(!p.toggle());
        assert!(p.due(t + Duration::minutes(5)));
    }
}
