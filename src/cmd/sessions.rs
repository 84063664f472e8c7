//! `trailglass sessions`: every break-glass session (SPEC §6), or one session's timeline.

use std::io::Write;

use anyhow::Result;
use datafusion::prelude::{col, lit};

use super::Cli;
use super::common::{open_answers, open_window, ts_lit, window_flags};
use crate::error::{Error, Exit};
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
