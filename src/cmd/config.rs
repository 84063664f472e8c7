//! `trailglass config`: print the effective break-glass configuration (SPEC §5).

use std::io::Write;

use anyhow::Result;

use super::Cli;
use crate::config::Config;
use crate::error::Exit;

/// Print the effective configuration: built-in defaults < trailglass.toml (or --config).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass config
  trailglass --config prod.toml config --json")]
pub struct ConfigArgs {
    /// Print JSON instead of TOML.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ConfigArgs, cli: &Cli) -> Result<Exit> {
    let config = Config::load(cli.config.as_deref())?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&config.to_json())?)?;
    } else {
        write!(out, "{}", config.to_toml()?)?;
    }
    out.flush()?;
    Ok(Exit::Ok)
}
