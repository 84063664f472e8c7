//! `trailglass sql`: ad-hoc, read-only SQL over the lake; an interactive shell without a query.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::Cli;
use crate::error::{Error, Exit};
use crate::lake::{Lake, LakeLocation};
use crate::query::{self, Format};

/// Run read-only SQL over the lake's tables: events, objects, rejects, digests.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass sql \"SELECT eventname, count(*) AS n FROM events GROUP BY 1 ORDER BY n DESC LIMIT 10\"
  trailglass sql -f investigation.sql --format csv > out.csv
  trailglass sql            (interactive shell; end statements with ';', \\q to quit)")]
pub struct SqlArgs {
    /// The SQL to run (one or more statements separated by ';').
    pub query: Option<String>,
    /// Read the SQL from a file.
    #[arg(short = 'f', long = "file", conflicts_with = "query")]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Read `events` as of this Delta table version (reproducible answers).
    #[arg(long)]
    pub as_of: Option<i64>,
}

pub fn run(args: &SqlArgs, cli: &Cli) -> Result<Exit> {
    let sql = match (&args.query, &args.file) {
        (Some(q), _) => Some(q.clone()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the SQL file {}", f.display()))?,
        ),
        (None, None) => None,
    };
    let rt = tokio::runtime::Runtime::new()?;
    let location = LakeLocation::parse(&cli.lake)?;
    let lake = rt
        .block_on(Lake::open(location))
        .map_err(|e| Error::Access(format!("{e:#}")))?;
    let ctx = rt.block_on(query::context(&lake, args.as_of))?;
    match sql {
        Some(sql) => {
            let results = rt.block_on(query::run_sql(&ctx, &sql))?;
            let mut out = std::io::stdout().lock();
            for r in results {
                query::write_batches(&mut out, &r, args.format)?;
            }
            out.flush()?;
        }
        None => shell(&rt, &ctx, args.format)?,
    }
    Ok(Exit::Ok)
}

fn shell(
    rt: &tokio::runtime::Runtime,
    ctx: &datafusion::prelude::SessionContext,
    format: Format,
) -> Result<()> {
    let mut rl = rustyline::DefaultEditor::new()?;
    let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".trailglass_history"));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    eprintln!(
        "trailglass SQL shell (read-only). Tables: events, objects, rejects, digests. End statements with ';', \\q quits."
    );
    let mut buf = String::new();
    loop {
        let prompt = if buf.is_empty() {
            "trailglass> "
        } else {
            "        ...> "
        };
        let line = match rl.readline(prompt) {
            Ok(l) => l,
            Err(rustyline::error::ReadlineError::Interrupted) => {
                buf.clear();
                continue;
            }
            Err(_) => break,
        };
        let t = line.trim();
        if buf.is_empty() && matches!(t, "\\q" | "quit" | "exit") {
            break;
        }
        buf.push_str(&line);
        buf.push('\n');
        if !t.ends_with(';') {
            continue;
        }
        let _ = rl.add_history_entry(buf.trim());
        match rt.block_on(query::run_sql(ctx, &buf)) {
            Ok(results) => {
                let mut out = std::io::stdout().lock();
                for r in results {
                    query::write_batches(&mut out, &r, format)?;
                }
            }
            Err(e) => eprintln!("error: {e:#}"),
        }
        buf.clear();
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    Ok(())
}
