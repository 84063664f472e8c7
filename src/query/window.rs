//! The time window of a read verb (`--since`, `--from`, `--to`) and what it lets the catalog
//! skip (SESSIONS.md, "Windows").
//!
//! A windowed verb answers for the sessions that *start* in the window. To keep each of them
//! whole it reads `events` from `from - lookback` (a session starting in the window may be a
//! chained child of a credential issued up to a credential lifetime earlier; an Identity Center
//! session's MFA state comes from a sign-in before it) to `to + lookback + rotate_within` (a
//! session starting at `to` can run for a credential lifetime, and BG006 looks `rotate_within`
//! past its end). Everything outside is never opened.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::error::Error;
use crate::lake::ScanRange;

/// A closed time window; an open end is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Window {
    /// The window of `--since DURATION` (before `now`) or `--from`/`--to`.
    pub fn from_flags(
        since: Option<&str>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Window> {
        let from = match since {
            None => from,
            Some(s) => {
                if from.is_some() {
                    return Err(Error::Usage(
                        "--since and --from both set the window's start; give one".into(),
                    )
                    .into());
                }
                let secs = crate::config::parse_duration(s).ok_or_else(|| {
                    Error::Usage(format!(
                        "--since {s:?} is not a duration; use e.g. 24h, 90m, 7d"
                    ))
                })?;
                Some(now - chrono::Duration::seconds(secs))
            }
        };
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(
                Error::Usage(format!("the window's start {f} is after its end {t}")).into(),
            );
        }
        Ok(Window { from, to })
    }

    /// No bound at all: the whole lake.
    pub fn is_all(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// The span of `events` the catalog reads for this window under `config`'s look-back.
    pub fn scan_range(&self, config: &Config) -> ScanRange {
        let us = |s: i64| s.saturating_mul(1_000_000);
        ScanRange {
            from_us: self.from.map(|f| {
                f.timestamp_micros()
                    .saturating_sub(us(config.lookback_seconds))
            }),
            to_us: self.to.map(|t| {
                t.timestamp_micros()
                    .saturating_add(us(config.lookback_seconds))
                    .saturating_add(us(config.rotate_within_seconds))
            }),
        }
    }

    /// Whether a session starting at `start` belongs to the window.
    pub fn holds(&self, start: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| start >= f) && self.to.is_none_or(|t| start <= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        crate::config::parse_time(s).unwrap()
    }

    #[test]
    fn since_and_range() {
        let now = t("2026-03-10T12:00:00Z");
        let w = Window::from_flags(Some("24h"), None, None, now).unwrap();
        assert_eq!(w.from, Some(t("2026-03-09T12:00:00Z")));
        assert_eq!(w.to, None);
        let c = Config::default();
        let r = w.scan_range(&c);
        assert_eq!(
            r.from_us,
            Some(t("2026-03-09T12:00:00Z").timestamp_micros() - c.lookback_seconds * 1_000_000)
        );
        assert_eq!(r.to_us, None);
        assert!(Window::from_flags(Some("24h"), Some(now), None, now).is_err());
        assert!(Window::from_flags(Some("soon"), None, None, now).is_err());
        assert!(Window::from_flags(None, Some(now), Some(t("2026-03-01")), now).is_err());
        assert!(Window::default().is_all());
        assert_eq!(Window::default().scan_range(&c), ScanRange::default());
    }
}
