//! `trailglass sql`: ad-hoc, read-only SQL over the lake; an interactive shell without a query.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::Cli;
use crate::error::Exit;
use crate::query::catalog::Analysis;
use crate::query::{self, Format};

/// Run read-only SQL over the lake's tables (events, objects, rejects, digests, identity_events,
/// integrity), the configuration tables (bg_roles, bg_users, bg_policy, approvals) and the derived
/// `sessions`, `session_events` and `findings`, which are built only when a statement reads them.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass sql \"SELECT eventname, count(*) AS n FROM events GROUP BY 1 ORDER BY n DESC LIMIT 10\"
  trailglass sql \"SELECT rule_id, count(*) FROM findings GROUP BY 1\"
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
    let (rt, mut analysis) = super::common::open(cli, args.as_of)?;
    match sql {
        Some(sql) => {
            rt.block_on(prepare(&mut analysis, &sql))?;
            let results = rt.block_on(query::run_sql(&analysis.ctx, &sql))?;
            let mut out = std::io::stdout().lock();
            for r in results {
                query::write_batches(&mut out, &r, args.format)?;
            }
            out.flush()?;
        }
        None => shell(&rt, &mut analysis, args.format)?,
    }
    Ok(Exit::Ok)
}

/// Build the derived tables the statements read, and only those: `sessions` costs a session
/// reconstruction, `findings` that plus every rule.
async fn prepare(a: &mut Analysis, sql: &str) -> Result<()> {
    let statements =
        datafusion::sql::parser::DFParser::parse_sql(sql).context("SQL syntax error")?;
    for statement in &statements {
        let refs = a.ctx.state().resolve_table_references(statement)?;
        for r in refs {
            match r.table() {
                "findings" | "tg_findings" => a.findings().await?,
                "sessions" | "session_events" => a.sessions().await?,
                t if t.starts_with("tg_") => a.sessions().await?,
                _ => {}
            }
        }
    }
    Ok(())
}

fn shell(rt: &tokio::runtime::Runtime, a: &mut Analysis, format: Format) -> Result<()> {
    let mut rl = rustyline::DefaultEditor::new()?;
    let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".trailglass_history"));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    eprintln!(
        "trailglass SQL shell (read-only). Tables: events, objects, rejects, digests, identity_events, integrity, bg_roles, bg_users, bg_policy, approvals, sessions, session_events, findings. End statements with ';', \\q quits."
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
        let run = async {
            prepare(a, &buf).await?;
            query::run_sql(&a.ctx, &buf).await
        };
        match rt.block_on(run) {
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
