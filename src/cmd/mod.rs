//! The command line: one module per verb, each with its clap `Args` and a `run`.

pub mod compact;
pub mod config;
pub mod demo;
pub mod findings;
pub mod generate;
pub mod ingest;
pub mod mirror;
pub mod queries;
pub mod query;
pub mod sessions;
pub mod sql;
pub mod vacuum;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::error::Exit;

/// trailglass: who broke the glass, what did they do, and did they stay inside the rules?
///
/// Offline analytics for AWS CloudTrail: ingest trail files into a Delta Lake, query it with SQL,
/// reconstruct break-glass sessions and flag rule breaks.
#[derive(Parser, Debug)]
#[command(name = "trailglass", version, about, long_about = None)]
pub struct Cli {
    /// The lake: a directory (created owner-only) or an s3:// URL.
    #[arg(
        long,
        global = true,
        env = "TRAILGLASS_LAKE",
        default_value = "trailglass-lake"
    )]
    pub lake: String,
    /// Break-glass configuration (default: ./trailglass.toml if present, else built-in defaults).
    #[arg(long, global = true, env = "TRAILGLASS_CONFIG")]
    pub config: Option<PathBuf>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Ingest(ingest::IngestArgs),
    Mirror(mirror::MirrorArgs),
    Sql(sql::SqlArgs),
    Sessions(sessions::SessionsArgs),
    Findings(findings::FindingsArgs),
    Queries(queries::QueriesArgs),
    Query(query::QueryArgs),
    Config(config::ConfigArgs),
    Compact(compact::CompactArgs),
    Vacuum(vacuum::VacuumArgs),
    Demo(demo::DemoArgs),
    /// Write a synthetic organization trail with planted break-glass sessions and its answer key.
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

/// Run the parsed command line; returns the process exit status.
pub fn run(cli: Cli) -> Result<Exit> {
    match &cli.command {
        Command::Ingest(a) => ingest::run(a, &cli),
        Command::Mirror(a) => mirror::run(a, &cli),
        Command::Sql(a) => sql::run(a, &cli),
        Command::Sessions(a) => sessions::run(a, &cli),
        Command::Findings(a) => findings::run(a, &cli),
        Command::Queries(a) => queries::run(a),
        Command::Query(a) => query::run(a, &cli),
        Command::Config(a) => config::run(a, &cli),
        Command::Compact(a) => compact::run(a, &cli),
        Command::Vacuum(a) => vacuum::run(a, &cli),
        Command::Demo(a) => demo::run(a, &cli),
        Command::Generate(a) => generate::run(a).map(|_| Exit::Ok),
    }
}
