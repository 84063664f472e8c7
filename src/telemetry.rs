//! Logging: tracing to stderr (results go to stdout, never mixed). `RUST_LOG` overrides the level.
//! Policy: WARN only when no data was lost, ERROR when an operator must act, nothing per event.
//!
//! The units of work carry spans (`batch` of an ingest, `commit` of a table, `fetch` of an S3 object, `catalog step`) whose
//! fields say which batch, table, object or step a line belongs to.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The filter for `-v` counts: trailglass's own events first; the dependencies' INFO lines
/// (delta-rs logs every snapshot it builds, kilobytes a line) only from `-vvv`.
pub fn filter(verbose: u8, quiet: bool) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "warn,trailglass=info",
        (false, 2) => "warn,trailglass=debug",
        (false, 3) => "info,trailglass=debug",
        (false, _) => "debug",
    }
}

pub fn init(verbose: u8, quiet: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(filter(verbose, quiet)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Escape codes only for a person at a terminal, never into a cron mail or a CI log.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(verbose >= 3)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::filter;

    #[test]
    fn dependencies_stay_at_warn_until_three_vs() {
        for v in 0..3 {
            assert!(filter(v, false).starts_with("warn"), "-v x{v}");
        }
        assert_eq!(filter(1, false), "warn,trailglass=info");
        assert!(filter(3, false).starts_with("info"));
        assert_eq!(filter(2, true), "error");
    }
}
