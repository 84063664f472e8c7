//! The command line: one module per verb, each with its clap `Args` and a `run`.

pub mod common;
pub mod compact;
pub mod config;
pub mod decrypt;
pub mod demo;
pub mod evidence;
pub mod findings;
pub mod generate;
pub mod ingest;
pub mod keygen;
pub mod mirror;
pub mod queries;
pub mod query;
pub mod report;
pub mod sessions;
pub mod sql;
pub mod vacuum;
pub mod validate_logs;
pub mod verify;

use std::path::PathBuf;

use anyhow::Result;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// More log output: -v trailglass's progress and scan figures, -vv its debug detail, -vvv the
    /// libraries' INFO lines too (`RUST_LOG` overrides all of these).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// `--lake` was on the command line, not the default or `$TRAILGLASS_LAKE`: `demo` writes its
    /// planted sessions only into a lake named that explicitly (set by [`Cli::parse_args`]).
    #[arg(skip)]
    pub lake_explicit: bool,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parse the process's arguments, noting whether `--lake` was given on the command line.
    pub fn parse_args() -> Cli {
        Cli::from_args(std::env::args_os())
    }

    /// Parse `args` (the program name first); on a usage error, print it and exit 2 as clap does.
    pub fn from_args<I, T>(args: I) -> Cli
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Cli::command().get_matches_from(args);
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        // A global flag given after the verb is recorded in the verb's matches.
        let from_line =
            |m: &clap::ArgMatches| m.value_source("lake") == Some(ValueSource::CommandLine);
        cli.lake_explicit =
            from_line(&matches) || matches.subcommand().is_some_and(|(_, m)| from_line(m));
        cli
    }
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
    Report(report::ReportArgs),
    Config(config::ConfigArgs),
    Compact(compact::CompactArgs),
    Vacuum(vacuum::VacuumArgs),
    Demo(demo::DemoArgs),
    Evidence(evidence::EvidenceArgs),
    Verify(verify::VerifyArgs),
    Keygen(keygen::KeygenArgs),
    Decrypt(decrypt::DecryptArgs),
    ValidateLogs(validate_logs::ValidateLogsArgs),
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
        Command::Report(a) => report::run(a, &cli),
        Command::Config(a) => config::run(a, &cli),
        Command::Compact(a) => compact::run(a, &cli),
        Command::Vacuum(a) => vacuum::run(a, &cli),
        Command::Demo(a) => demo::run(a, &cli),
        Command::Evidence(a) => evidence::run(a, &cli),
        Command::Verify(a) => verify::run(a, &cli),
        Command::Keygen(a) => keygen::run(a, &cli),
        Command::Decrypt(a) => decrypt::run(a, &cli),
        Command::ValidateLogs(a) => validate_logs::run(a, &cli),
        Command::Generate(a) => generate::run(a).map(|_| Exit::Ok),
    }
}
