//! `trailglass query NAME --param k=v`: run one prebuilt query with bound parameters.

use std::io::Write;

use anyhow::Result;

use super::Cli;
use super::sessions::open;
use crate::error::{Error, Exit};
use crate::query::{self, Format};

/// Run one query of the catalog (`trailglass queries` lists them). Parameters are bound as
/// values, never pasted into the SQL.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass query breakglass_this_week
  trailglass query session_actions --param session_id=3f1c0d9a2b7e4c11
  trailglass query principal_activity --param 'principal=arn:aws:iam::*:role/BreakGlass*' --param from=2026-03-01
  trailglass query BG004 --format json        (one rule's findings)")]
pub struct QueryArgs {
    /// The query's name.
    pub name: String,
    /// A parameter value, NAME=VALUE (repeatable); `null` means no value.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Read `events` as of this Delta table version (reproducible answers).
    #[arg(long)]
    pub as_of: Option<i64>,
}

pub fn run(args: &QueryArgs, cli: &Cli) -> Result<Exit> {
    let mut params = Vec::new();
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
    catalog.find(&args.name)?.bind(&params)?;
    let (rt, mut a) = open(cli, args.as_of)?;
    let (_, batches) = rt.block_on(a.run(&args.name, &params))?;
    let mut out = std::io::stdout().lock();
    query::write_batches(&mut out, &batches, args.format)?;
    out.flush()?;
    Ok(Exit::Ok)
}
