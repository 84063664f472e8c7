//! `trailglass findings`: every rule break (SPEC §7), filtered; `--fail-on` for scheduled jobs.

use std::io::Write;

use anyhow::Result;
use datafusion::prelude::{col, in_list, lit};

use super::Cli;
use super::common::{open_answers, ts_lit, window_flags};
use crate::error::{Error, Exit};
use crate::query::catalog::{SEVERITIES, severity_rank};
use crate::query::{self, Format};

/// List findings: break-glass sessions and the rules they broke (BG001–BG015).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass findings
  trailglass findings --since 24h
  trailglass findings --from 2026-03-01 --to 2026-03-08 --severity high
  trailglass findings --rule BG003,BG004 --account 111122223333 --format ndjson
  trailglass findings --fail-on high -q --format json > findings.json   (exit 1 when any)")]
pub struct FindingsArgs {
    /// Only findings within this long before now, e.g. 24h, 7d (instead of --from). Like
    /// --from/--to, it also narrows what is read from the lake (SESSIONS.md, "Windows").
    #[arg(long, conflicts_with = "from")]
    pub since: Option<String>,
    /// Only findings at or after this time (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Only findings at or before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Only findings in this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Only these rules (comma-separated ids, e.g. BG002,BG003).
    #[arg(long, value_delimiter = ',')]
    pub rule: Vec<String>,
    /// Only findings at or above this severity: info, low, medium, high, critical.
    #[arg(long)]
    pub severity: Option<String>,
    /// Exit with status 1 when a (shown) finding is at or above this severity.
    #[arg(long)]
    pub fail_on: Option<String>,
    /// Suppressions (TOML, as for `report`): a finding they hide is still listed but does not
    /// count for --fail-on. The [[suppression]] tables of trailglass.toml apply as well.
    #[arg(long)]
    pub suppressions: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Read `events` as of this Delta table version (reproducible answers).
    #[arg(long)]
    pub as_of: Option<i64>,
}

pub(crate) fn rank(flag: &str, v: &Option<String>) -> Result<Option<usize>> {
    match v {
        None => Ok(None),
        Some(s) => severity_rank(s).map(Some).ok_or_else(|| {
            Error::Usage(format!(
                "{flag} {s:?} is not a severity; use one of {}",
                SEVERITIES.join(", ")
            ))
            .into()
        }),
    }
}

pub fn run(args: &FindingsArgs, cli: &Cli) -> Result<Exit> {
    let window = window_flags(&args.since, &args.from, &args.to)?;
    let (from, to) = (window.from, window.to);
    let min = rank("--severity", &args.severity)?;
    let fail = rank("--fail-on", &args.fail_on)?;
    let suppressions =
        crate::report::suppress::load_all(cli.config.as_deref(), args.suppressions.as_deref())?;
    let rules: Vec<String> = args
        .rule
        .iter()
        .map(|r| r.trim().to_ascii_uppercase())
        .filter(|r| !r.is_empty())
        .collect();
    let (rt, mut a) = open_answers(cli, args.as_of, &window)?;
    let known: Vec<String> = a.catalog.rules().map(|q| q.name.clone()).collect();
    if let Some(bad) = rules.iter().find(|r| !known.contains(r)) {
        return Err(Error::Usage(format!(
            "--rule {bad}: no such rule; the rules are {}",
            known.join(", ")
        ))
        .into());
    }
    let batches = rt.block_on(async {
        a.findings().await?;
        let mut df = a.ctx.table("findings").await?;
        if let Some(t) = from {
            df = df.filter(col("eventtime").gt_eq(ts_lit(t)))?;
        }
        if let Some(t) = to {
            df = df.filter(col("eventtime").lt_eq(ts_lit(t)))?;
        }
        if let Some(acct) = &args.account {
            df = df.filter(col("account").eq(lit(acct.as_str())))?;
        }
        if !rules.is_empty() {
            df = df.filter(in_list(
                col("rule_id"),
                rules.iter().map(|r| lit(r.as_str())).collect(),
                false,
            ))?;
        }
        if let Some(m) = min {
            df = df.filter(in_list(
                col("severity"),
                SEVERITIES[m..].iter().map(|s| lit(*s)).collect(),
                false,
            ))?;
        }
        anyhow::Ok(df.collect().await?)
    })?;
    let mut out = std::io::stdout().lock();
    query::write_batches(&mut out, &batches, args.format)?;
    out.flush()?;
    query::scan::report(&a.ctx, "findings");
    if let Some(f) = fail {
        let principals = rt.block_on(crate::report::principals(&a.ctx))?;
        let counting =
            crate::report::counting(&batches, &principals, &suppressions, chrono::Utc::now())?;
        let hit = crate::report::worst(&counting).is_some_and(|w| w >= f);
        if hit {
            if !cli.quiet {
                eprintln!(
                    "trailglass: findings at or above {} (--fail-on): exit 1",
                    SEVERITIES[f]
                );
            }
            return Ok(Exit::Findings);
        }
    }
    Ok(Exit::Ok)
}
