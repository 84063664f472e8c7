//! `trailglass report`: one report of a window for a scheduled job (cron, CI, a SIEM), with
//! suppressions, `--state` to report each finding once, and `--fail-on` for the exit status.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use chrono::{DateTime, Utc};
use datafusion::prelude::col;

use super::Cli;
use super::common::{open_window, ts_lit, window_flags};
use super::findings::rank;
use super::ingest::IngestArgs;
use crate::error::{Error, Exit};
use crate::query::catalog::SEVERITIES;
use crate::query::window::Window;
use crate::report::render::{self, ReportFormat};
use crate::report::{self, Input, State, suppress};

/// Write a report of a window: sessions, findings, suppressions; exit 1 when someone must look.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass report --since 24h
  trailglass report --since 24h --format json --out report.json --fail-on high
  trailglass report --since 7d --format html --out report.html
  trailglass report --from 2026-03-01 --to 2026-03-08 --suppressions suppressions.toml
  trailglass report --since 7d --state report-state.json --fail-on medium   (only new findings)
  trailglass report --since 24h --ingest s3://org-trail-bucket -- --profile soc-readonly --region us-east-1")]
pub struct ReportArgs {
    /// Sessions that started within this long before now, e.g. 24h, 7d (instead of --from).
    #[arg(long, conflicts_with = "from")]
    pub since: Option<String>,
    /// Sessions that started at or after this time (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Sessions that started at or before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
    /// Write the report to this file (atomically: a complete report or the previous file).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit with status 1 when a finding at or above this severity counts (not suppressed, and
    /// with --state not reported before).
    #[arg(long)]
    pub fail_on: Option<String>,
    /// Suppressions: a TOML file of [[suppression]] tables (rule, session, principal glob,
    /// account or event; a required reason; an optional expires). The same tables in
    /// trailglass.toml (--config) apply as well.
    #[arg(long)]
    pub suppressions: Option<PathBuf>,
    /// Remember reported findings in this file and report each one only once across runs.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// The report's creation time (RFC 3339), for reproducible output; else $SOURCE_DATE_EPOCH,
    /// else now. Suppression expiry is judged at this time.
    #[arg(long)]
    pub created: Option<String>,
    /// Read `events` as of this Delta table version (reproducible answers).
    #[arg(long)]
    pub as_of: Option<i64>,
    /// Ingest this source first (a directory or s3://BUCKET[/PREFIX]); its summary is part of
    /// the report.
    #[arg(long, value_name = "SOURCE")]
    pub ingest: Option<String>,
    /// Options of the --ingest run, after `--`, exactly as `trailglass ingest` takes them
    /// (e.g. `-- --profile soc-readonly --accounts 111122223333 --strict`).
    #[arg(last = true, requires = "ingest", value_name = "INGEST OPTIONS")]
    pub ingest_options: Vec<String>,
}

/// `ingest`'s own argument parser, for the options after `--`.
#[derive(clap::Parser, Debug)]
#[command(name = "report --ingest SOURCE --")]
struct IngestLine {
    #[command(flatten)]
    args: IngestArgs,
}

/// The `ingest` arguments of `--ingest SOURCE -- OPTIONS`.
fn ingest_args(source: &str, options: &[String]) -> Result<IngestArgs> {
    use clap::Parser;
    let line = std::iter::once("ingest".to_string())
        .chain(std::iter::once(source.to_string()))
        .chain(options.iter().cloned());
    IngestLine::try_parse_from(line)
        .map(|l| l.args)
        .map_err(|e| Error::Usage(format!("--ingest: {}", e.to_string().trim())).into())
}

/// The creation time: `--created`, else `SOURCE_DATE_EPOCH` (reproducible builds' convention).
fn created(flag: &Option<String>) -> Result<DateTime<Utc>> {
    if let Some(s) = flag {
        return crate::config::parse_time(s).ok_or_else(|| {
            Error::Usage(format!("--created {s:?} is not a time; use RFC 3339")).into()
        });
    }
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .ok_or_else(|| {
                Error::Usage(format!("SOURCE_DATE_EPOCH={v:?} is not seconds since 1970")).into()
            }),
        _ => Ok(Utc::now()),
    }
}

pub fn run(args: &ReportArgs, cli: &Cli) -> Result<Exit> {
    let window = window_flags(&args.since, &args.from, &args.to)?;
    let fail = rank("--fail-on", &args.fail_on)?;
    let now = created(&args.created)?;
    // Input errors first, before the lake is read or the state locked.
    let suppressions = suppress::load_all(cli.config.as_deref(), args.suppressions.as_deref())?;
    let ingest = match &args.ingest {
        Some(src) => Some(ingest_args(src, &args.ingest_options)?),
        None => None,
    };
    let mut state = args.state.as_deref().map(State::open).transpose()?;
    let ingested = match &ingest {
        Some(ia) => {
            let (summary, _) = super::ingest::execute(ia, cli)?;
            super::ingest::report_problems(&summary);
            Some((super::ingest::exit_for(ia, &summary), summary))
        }
        None => None,
    };
    // The anomalies' baselines are the sessions before the window, so the lake is read from its
    // beginning to the window's end (docs/REPORTS.md, "Anomalies": the cost of that read).
    let scan = Window {
        from: None,
        to: window.to,
    };
    let (rt, mut a) = open_window(cli, args.as_of, &scan)?;
    let (sessions, findings, principals) = rt.block_on(async {
        a.findings().await?;
        let anomalies = match window.from {
            Some(from) => a.anomalies(from, window.to).await?,
            None => Vec::new(),
        };
        let mut s = a.ctx.table("sessions").await?;
        let mut f = a.ctx.table("findings").await?;
        if let Some(t) = window.from {
            s = s.filter(col("start").gt_eq(ts_lit(t)))?;
            f = f.filter(col("eventtime").gt_eq(ts_lit(t)))?;
        }
        if let Some(t) = window.to {
            s = s.filter(col("start").lt_eq(ts_lit(t)))?;
            f = f.filter(col("eventtime").lt_eq(ts_lit(t)))?;
        }
        let s = s.sort(vec![
            col("start").sort(true, false),
            col("session_id").sort(true, false),
        ])?;
        let sessions = report::rows(&s.collect().await?)?;
        let mut findings = report::rows(&f.collect().await?)?;
        findings.extend(report::rows(&anomalies)?);
        let principals = report::principals(&a.ctx).await?;
        anyhow::Ok((sessions, findings, principals))
    })?;
    let rep = report::build(
        Input {
            created: now,
            window,
            sessions,
            findings,
            principals,
            suppressions,
            ingest: ingested
                .as_ref()
                .map(|(_, s)| super::ingest::summary_json(s)),
        },
        state.as_ref(),
    );
    let text = render::render(&rep, args.format)?;
    match &args.out {
        Some(path) => report::state::write_atomic(path, text.as_bytes(), None)?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    // Recorded only once the report is out: a run that fails before reports them again.
    if let (Some(st), Some(path)) = (state.as_mut(), &args.state) {
        st.record(rep.findings.iter().map(|f| f.id.as_str()), &rep.created);
        st.save()
            .map_err(|e| e.context(format!("writing the report state {}", path.display())))?;
    }
    crate::query::scan::report(&a.ctx, "report");
    // An ingest that could not read everything (3) or rejected under --strict (2) says so first.
    if let Some((exit, _)) = &ingested
        && *exit != Exit::Ok
    {
        return Ok(*exit);
    }
    if let (Some(f), Some(worst)) = (fail, rep.worst())
        && worst >= f
    {
        if !cli.quiet {
            eprintln!(
                "trailglass: findings at or above {} (--fail-on): exit 1",
                SEVERITIES[f]
            );
        }
        return Ok(Exit::Findings);
    }
    Ok(Exit::Ok)
}
