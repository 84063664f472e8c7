//! `trailglass sessions`: every break-glass session (SPEC §6), or one session's timeline.

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};
use datafusion::prelude::{col, lit};

use super::Cli;
use crate::config::Config;
use crate::error::{Error, Exit};
use crate::lake::{Lake, LakeLocation};
use crate::query::catalog::{Analysis, Catalog};
use crate::query::window::Window;
use crate::query::{self, Format};

/// List break-glass sessions: who broke the glass, when, from where, what they did.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass sessions
  trailglass sessions --since 24h
  trailglass sessions --from 2026-03-01 --account 111122223333 --format csv
  trailglass sessions --id 3f1c0d9a2b7e4c11          (one session's timeline)")]
pub struct SessionsArgs {
    /// Show one session's timeline: its entry event and every action, with the rules' flags.
    #[arg(long)]
    pub id: Option<String>,
    /// Only sessions that started within this long before now, e.g. 24h, 7d (instead of --from).
    /// Like --from/--to, it also narrows what is read from the lake (SESSIONS.md, "Windows").
    #[arg(long, conflicts_with = "from")]
    pub since: Option<String>,
    /// Only sessions that started at or after this time (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Only sessions that started at or before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Only sessions in this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Read `events` as of this Delta table version (reproducible answers).
    #[arg(long)]
    pub as_of: Option<i64>,
}

/// Parse a `--from`/`--to` value.
pub(crate) fn parse_flag_time(flag: &str, v: &Option<String>) -> Result<Option<DateTime<Utc>>> {
    match v {
        None => Ok(None),
        Some(s) => crate::config::parse_time(s).map(Some).ok_or_else(|| {
            Error::Usage(format!(
                "{flag} {s:?} is not a time; use RFC 3339 like 2026-03-01T10:00:00Z or a date like 2026-03-01"
            ))
            .into()
        }),
    }
}

/// A literal timestamp for DataFrame filters (a value, never SQL text).
pub(crate) fn ts_lit(t: DateTime<Utc>) -> datafusion::prelude::Expr {
    lit(datafusion::common::ScalarValue::TimestampMicrosecond(
        Some(t.timestamp_micros()),
        Some("UTC".into()),
    ))
}

/// Open the lake, the configuration and the catalog for a read verb.
pub(crate) fn open(cli: &Cli, as_of: Option<i64>) -> Result<(tokio::runtime::Runtime, Analysis)> {
    open_window(cli, as_of, &Window::default())
}

/// The window of `--since`/`--from`/`--to`.
pub(crate) fn window_flags(
    since: &Option<String>,
    from: &Option<String>,
    to: &Option<String>,
) -> Result<Window> {
    Window::from_flags(
        since.as_deref(),
        parse_flag_time("--from", from)?,
        parse_flag_time("--to", to)?,
        Utc::now(),
    )
}

/// [`open`], reading only what sessions starting in `window` need.
pub(crate) fn open_window(
    cli: &Cli,
    as_of: Option<i64>,
    window: &Window,
) -> Result<(tokio::runtime::Runtime, Analysis)> {
    open_for(cli, as_of, window, false)
}

/// [`open_window`] for the listing verbs (`sessions`, `findings`): with no window and no
/// `--as-of`, the stored all-history answers of the lake's current state when there are
/// (`query::derived`), otherwise an evaluation from `events`.
pub(crate) fn open_answers(
    cli: &Cli,
    as_of: Option<i64>,
    window: &Window,
) -> Result<(tokio::runtime::Runtime, Analysis)> {
    open_for(cli, as_of, window, window.is_all() && as_of.is_none())
}

fn open_for(
    cli: &Cli,
    as_of: Option<i64>,
    window: &Window,
    derived: bool,
) -> Result<(tokio::runtime::Runtime, Analysis)> {
    let config = Config::load(cli.config.as_deref())?;
    let catalog = Catalog::load()?;
    let rt = crate::lake::runtime().build()?;
    let location = LakeLocation::parse(&cli.lake)?;
    let lake = rt
        .block_on(Lake::open(location))
        .map_err(|e| Error::Access(format!("{e:#}")))?;
    if derived
        && let Some(a) = rt.block_on(crate::query::derived::open(&lake, &config, &catalog))?
    {
        return Ok((rt, a));
    }
    let analysis = rt.block_on(Analysis::open_window(
        &lake, as_of, &config, catalog, window,
    ))?;
    Ok((rt, analysis))
}

pub fn run(args: &SessionsArgs, cli: &Cli) -> Result<Exit> {
    let window = window_flags(&args.since, &args.from, &args.to)?;
    let (from, to) = (window.from, window.to);
    // A timeline is asked for by id, whenever the session started: it reads the whole lake.
    let scan = if args.id.is_some() {
        Window::default()
    } else {
        window
    };
    let (rt, mut a) = if args.id.is_some() {
        open_window(cli, args.as_of, &scan)?
    } else {
        open_answers(cli, args.as_of, &scan)?
    };
    let mut out = std::io::stdout().lock();
    if let Some(id) = &args.id {
        let (_, batches) =
            rt.block_on(a.run("session_timeline", &[("session_id".into(), id.clone())]))?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        if rows == 0 {
            let known = rt.block_on(async {
                a.ctx
                    .table("sessions")
                    .await?
                    .filter(col("session_id").eq(lit(id.as_str())))?
                    .count()
                    .await
            })?;
            if known == 0 {
                return Err(Error::Usage(format!(
                    "no session {id:?}; `trailglass sessions` lists the session ids"
                ))
                .into());
            }
        }
        query::write_batches(&mut out, &batches, args.format)?;
        out.flush()?;
        query::scan::report(&a.ctx, "sessions");
        return Ok(Exit::Ok);
    }
    let batches = rt.block_on(async {
        a.sessions().await?;
        let mut df = a.ctx.table("sessions").await?;
        if let Some(t) = from {
            df = df.filter(col("start").gt_eq(ts_lit(t)))?;
        }
        if let Some(t) = to {
            df = df.filter(col("start").lt_eq(ts_lit(t)))?;
        }
        if let Some(acct) = &args.account {
            df = df.filter(col("account").eq(lit(acct.as_str())))?;
        }
        df = df.sort(vec![
            col("start").sort(true, false),
            col("session_id").sort(true, false),
        ])?;
        anyhow::Ok(df.collect().await?)
    })?;
    query::write_batches(&mut out, &batches, args.format)?;
    out.flush()?;
    query::scan::report(&a.ctx, "sessions");
    Ok(Exit::Ok)
}
