//! `trailglass query NAME --param k=v`: run one prebuilt query with bound parameters.

use std::io::Write;

use anyhow::Result;

use super::Cli;
use super::common::{open_window, parse_flag_time};
use crate::error::{Error, Exit};
use crate::query::window::Window;
use crate::query::{self, Format};

/// Run one query of the catalog (`trailglass queries` lists them). Parameters are bound as
/// values, never pasted into the SQL.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass query breakglass_this_week
  trailglass query breakglass_this_week --since 24h
  trailglass query session_actions --param session_id=3f1c0d9a2b7e4c11
  trailglass query principal_activity --param 'principal=arn:aws:iam::*:role/BreakGlass*' --param from=2026-03-01
  trailglass query BG004 --format json        (one rule's findings)")]
pub struct QueryArgs {
    /// The query's name.
    pub name: String,
    /// A parameter value, NAME=VALUE (repeatable); `null` means no value.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// For a query with a `from` parameter: from this long before now, e.g. 24h, 7d. A query's
    /// `from`/`to` values also narrow what is read from the lake (SESSIONS.md, "Windows").
    #[arg(long)]
    pub since: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Read `events` as of this Delta table version (reproducible answers).
    #[arg(long)]
    pub as_of: Option<i64>,
}

pub fn run(args: &QueryArgs, cli: &Cli) -> Result<Exit> {
    let mut params: Vec<(String, String)> = Vec::new();
    for p in &args.params {
        let (k, v) = p.split_once('=').ok_or_else(|| {
            Error::Usage(format!(
                "--param {p:?}: expected NAME=VALUE, e.g. --param session_id=3f1c0d9a2b7e4c11"
            ))
        })?;
        params.push((k.trim().to_string(), v.to_string()));
    }
    // Check the name and parameters before opening the lake: a typo should not cost a scan.
    let catalog = crate::query::catalog::Catalog::load()?;
    let q = catalog.find(&args.name)?;
    let declares = |n: &str| q.params.iter().any(|p| p.name == n);
    let given = |params: &[(String, String)], n: &str| {
        params
            .iter()
            .find(|(k, v)| k == n && v != "null")
            .map(|(_, v)| v.clone())
    };
    if let Some(s) = &args.since {
        if !declares("from") {
            return Err(Error::Usage(format!(
                "--since: query {} has no `from` parameter (`trailglass queries` shows each query's parameters)",
                q.name
            ))
            .into());
        }
        if given(&params, "from").is_some() {
            return Err(Error::Usage(
                "--since and --param from=… both set the window's start; give one".into(),
            )
            .into());
        }
        let w = Window::from_flags(Some(s), None, None, chrono::Utc::now())?;
        if let Some(f) = w.from {
            params.push((
                "from".into(),
                f.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ));
        }
    }
    q.bind(&params)?;
    // A query given a `from` (and perhaps a `to`) reads only that span of the lake, widened by
    // the look-back so the sessions it names are whole. Without a start it reads all of it: a
    // query's default start may depend on the newest event (breakglass_this_week).
    let window = if declares("from") && given(&params, "from").is_some() {
        Window::from_flags(
            None,
            parse_flag_time("--param from", &given(&params, "from"))?,
            parse_flag_time("--param to", &given(&params, "to"))?,
            chrono::Utc::now(),
        )?
    } else {
        Window::default()
    };
    let (rt, mut a) = open_window(cli, args.as_of, &window)?;
    let (_, batches) = rt.block_on(a.run(&args.name, &params))?;
    let mut out = std::io::stdout().lock();
    query::write_batches(&mut out, &batches, args.format)?;
    out.flush()?;
    query::scan::report(&a.ctx, "query");
    Ok(Exit::Ok)
}
