//! `trailglass vacuum`: delete the lake's files that no retained version needs (SPEC §4).

use std::io::Write;

use anyhow::Result;

use super::Cli;
use super::compact::Rewrite;
use crate::error::{Error, Exit};

/// Delete the files that no version of the lake committed within the retention reads: those
/// `compact` replaced, and the orphans of an interrupted ingest. The latest version, and every
/// version superseded within the retention, stay readable with --as-of.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass vacuum --dry-run
  trailglass vacuum --retain 30d
  trailglass --lake s3://audit-lake/trailglass vacuum

Takes the lake's writer lock, like ingest and compact, and first completes an interrupted
ingest's commits. A version superseded before the retention window can no longer be read with
--as-of once vacuum ran: such a query fails and says so.")]
pub struct VacuumArgs {
    /// Keep every file a version superseded within this long reads: a number of days, hours or
    /// minutes (`7d`, `36h`, `90m`; `0d` keeps the latest version only).
    #[arg(long, default_value = "7d", value_parser = parse_retention)]
    pub retain: chrono::Duration,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `7d`, `36h`, `90m`: a retention.
pub fn parse_retention(s: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("{s:?} is not a retention: expected e.g. 7d, 36h or 90m");
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    if n < 0 {
        return Err(bad());
    }
    match unit {
        "d" => chrono::Duration::try_days(n),
        "h" => chrono::Duration::try_hours(n),
        "m" => chrono::Duration::try_minutes(n),
        _ => None,
    }
    .ok_or_else(bad)
}

pub fn run(args: &VacuumArgs, cli: &Cli) -> Result<Exit> {
    let mut out = std::io::stdout().lock();
    // An interrupted batch's recorded index files are committed first, not taken for orphans.
    let mut rw = Rewrite::open(cli, &mut out)?;
    let done = rw
        .rt
        .block_on(rw.lake.vacuum(args.retain, args.dry_run))
        .map_err(Error::of_lake)?;
    let verb = if done.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for (t, files) in &done.files {
        for f in files {
            writeln!(out, "{verb} {}/{f}", t.name())?;
        }
    }
    writeln!(
        out,
        "{verb} {} file(s) that no version superseded within {} h reads",
        done.count(),
        args.retain.num_hours()
    )?;
    out.flush()?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::parse_retention;

    #[test]
    fn retention_flags() {
        assert_eq!(parse_retention("7d"), Ok(chrono::Duration::days(7)));
        assert_eq!(parse_retention("36h"), Ok(chrono::Duration::hours(36)));
        assert_eq!(parse_retention("0d"), Ok(chrono::Duration::zero()));
        for bad in ["", "d", "7", "-1d", "7w", "1.5d"] {
            assert!(parse_retention(bad).is_err(), "{bad}");
        }
    }
}
