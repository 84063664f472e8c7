//! `trailglass demo`: the whole pipeline on the bundled sample trail, no AWS account needed.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::Cli;
use crate::error::Exit;
use crate::ingest::{self, Options};
use crate::lake::{Lake, LakeLocation};
use crate::query::{self, Format};
use crate::source::DirSource;

/// Run the pipeline on the bundled sample organization trail (testdata/sample).
///
/// The demo writes into a new temporary lake unless `--lake` is given on the command line: the
/// default lake and `$TRAILGLASS_LAKE` are never used, so the sample's planted sessions cannot
/// land in an organization's evidence.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass demo
  trailglass --lake ./demo-lake demo")]
pub struct DemoArgs {
    /// The sample trail (default: testdata/sample/trail of this checkout).
    #[arg(long)]
    pub sample: Option<PathBuf>,
}

/// Questions the demo answers, with the SQL that answers them.
const QUESTIONS: &[(&str, &str)] = &[
    (
        "Records per account and day",
        "SELECT recipientaccountid AS account, dt, count(*) AS records, count(DISTINCT eventid) AS distinct_events
         FROM events GROUP BY 1, 2 ORDER BY 1, 2",
    ),
    (
        "Who assumed a break-glass role or signed in as a break-glass principal or root",
        "SELECT eventtime, recipientaccountid AS account, eventname,
                coalesce(useridentity.arn, useridentity.username) AS who, errorcode
         FROM events
         WHERE (eventname IN ('AssumeRole', 'AssumeRoleWithSAML') AND lower(requestparameters) LIKE '%breakglass%')
            OR (eventname = 'ConsoleLogin' AND (lower(useridentity.arn) LIKE '%breakglass%' OR useridentity.type = 'Root'))
         ORDER BY eventtime LIMIT 25",
    ),
    (
        "Audit-tampering calls",
        "SELECT eventtime, recipientaccountid AS account, eventname, useridentity.arn AS who
         FROM events WHERE eventname IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors')
         ORDER BY eventtime",
    ),
    (
        "Objects that were skipped or rejected, and why",
        "SELECT reason, count(*) AS n, min(key) AS example FROM rejects GROUP BY reason ORDER BY n DESC",
    ),
];

fn sample_dir(args: &DemoArgs) -> PathBuf {
    if let Some(s) = &args.sample {
        return s.clone();
    }
    let local = PathBuf::from("testdata/sample/trail");
    if local.is_dir() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/sample/trail")
}

pub fn run(args: &DemoArgs, cli: &Cli) -> Result<Exit> {
    crate::lake::owner_only();
    let dir = sample_dir(args);
    let source = DirSource::new(&dir).with_context(|| {
        format!(
            "the sample trail is missing at {}; run the demo from the repository root",
            dir.display()
        )
    })?;
    let lake_arg = demo_lake(cli)?;
    let location = LakeLocation::parse(&lake_arg)?;
    let mut out = std::io::stdout().lock();
    if !cli.lake_explicit {
        writeln!(
            out,
            "The demo lake is a new temporary directory: {lake_arg} (delete it when done; \
             `trailglass --lake DIR demo` chooses the place)\n"
        )?;
    }
    writeln!(
        out,
        "== 1. Ingest the sample organization trail ({})",
        dir.display()
    )?;
    let summary = ingest::run(&source, location.clone(), &Options::default())?;
    super::ingest::print_summary(&mut out, &summary, &location)?;
    writeln!(
        out,
        "\n== 2. Ingest it again: exactly once, nothing is added"
    )?;
    let again = ingest::run(&source, location.clone(), &Options::default())?;
    super::ingest::print_summary(&mut out, &again, &location)?;

    let rt = crate::lake::runtime().build()?;
    let lake = rt.block_on(Lake::open(location))?;
    let ctx = rt.block_on(query::context(&lake, None))?;
    for (i, (title, sql)) in QUESTIONS.iter().enumerate() {
        writeln!(out, "\n== {}. {title}", i + 3)?;
        writeln!(
            out,
            "-- {}",
            sql.split_whitespace().collect::<Vec<_>>().join(" ")
        )?;
        for r in rt.block_on(query::run_sql(&ctx, sql))? {
            query::write_batches(&mut out, &r, Format::Table)?;
        }
    }
    let first = QUESTIONS.len() + 3;
    sessions_and_findings(&mut out, &rt, &lake, &dir, cli, &lake_arg, first)?;
    writeln!(
        out,
        "\nExplore further: trailglass --lake {lake_arg} sql   (interactive, read-only)"
    )?;
    Ok(Exit::Ok)
}

/// The lake named by an explicit `--lake`, else a new directory under the system's temporary
/// directory (owner-only: the umask is set), never the default lake or `$TRAILGLASS_LAKE`.
fn demo_lake(cli: &Cli) -> Result<String> {
    if cli.lake_explicit {
        return Ok(cli.lake.clone());
    }
    let base = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..100u32 {
        let dir = base.join(format!(
            "trailglass-demo-{}-{nanos:08x}-{attempt}",
            std::process::id()
        ));
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                let lake = dir.join("lake");
                return lake.to_str().map(str::to_string).with_context(|| {
                    format!("the temporary directory {} is not UTF-8", lake.display())
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot create a temporary demo lake under {}",
                        base.display()
                    )
                });
            }
        }
    }
    anyhow::bail!(
        "cannot create a temporary demo lake under {}: every name tried exists",
        base.display()
    )
}

// ---- sessions and findings (issue 4) ----------------------------------------------------------

/// The sample's own configuration (`testdata/sample/trailglass.toml`, beside the trail) unless
/// `--config` names one.
fn demo_config(dir: &std::path::Path, cli: &Cli) -> Result<crate::config::Config> {
    if let Some(p) = &cli.config {
        return crate::config::Config::from_file(p);
    }
    let beside = dir.parent().map(|p| p.join("trailglass.toml"));
    match beside {
        Some(p) if p.is_file() => crate::config::Config::from_file(&p),
        _ => crate::config::Config::load(None),
    }
}

fn sessions_and_findings(
    out: &mut dyn Write,
    rt: &tokio::runtime::Runtime,
    lake: &Lake,
    dir: &std::path::Path,
    cli: &Cli,
    lake_arg: &str,
    first: usize,
) -> Result<()> {
    use crate::query::catalog::{Analysis, Catalog};
    let config = demo_config(dir, cli)?;
    let mut a = rt.block_on(Analysis::open(lake, None, &config, Catalog::load()?))?;
    writeln!(
        out,
        "\n== {first}. Break-glass sessions (queries/sessions.sql; config: {})",
        config
            .source
            .as_ref()
            .map_or("built-in defaults".to_string(), |p| p.display().to_string())
    )?;
    let sql = "SELECT session_id, kind, account, actor, start, events, after_ttl, without_mfa, \
               mfa_at_entry, approval, depth FROM sessions ORDER BY start, session_id";
    rt.block_on(a.sessions())?;
    for r in rt.block_on(query::run_sql(&a.ctx, sql))? {
        query::write_batches(out, &r, Format::Table)?;
    }
    writeln!(
        out,
        "\n== {}. Findings per rule (queries/rules/*.sql)",
        first + 1
    )?;
    rt.block_on(a.findings())?;
    let sql =
        "SELECT rule_id, severity, count(*) AS findings FROM findings GROUP BY 1, 2 ORDER BY 1";
    for r in rt.block_on(query::run_sql(&a.ctx, sql))? {
        query::write_batches(out, &r, Format::Table)?;
    }
    writeln!(
        out,
        "\nDrill down: trailglass --lake {lake_arg} sessions --id SESSION_ID; trailglass --lake {lake_arg} findings --severity high"
    )?;
    evidence(out, rt, &mut a, config, lake_arg, first + 2)
}

/// Write and verify an evidence bundle for the session with the most findings.
fn evidence(
    out: &mut dyn Write,
    rt: &tokio::runtime::Runtime,
    a: &mut crate::query::catalog::Analysis,
    config: crate::config::Config,
    lake_arg: &str,
    step: usize,
) -> Result<()> {
    use crate::evidence::bundle::{self, Plan, Subject};
    use arrow::array::AsArray;
    let sql = "SELECT f.session_id FROM findings f WHERE f.session_id IS NOT NULL \
               GROUP BY f.session_id ORDER BY count(*) DESC, f.session_id LIMIT 1";
    let batches = rt.block_on(query::run_sql(&a.ctx, sql))?;
    let Some(id) = batches
        .iter()
        .flatten()
        .find(|b| b.num_rows() > 0)
        .and_then(|b| arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).ok())
        .map(|c| c.as_string::<i32>().value(0).to_string())
    else {
        return Ok(());
    };
    let location = LakeLocation::parse(lake_arg)?;
    let dir = match location.local_path() {
        Some(p) => {
            let mut s = p.as_os_str().to_owned();
            s.push("-evidence");
            PathBuf::from(s)
        }
        None => PathBuf::from("trailglass-demo-evidence"),
    };
    // Replaces only a bundle of an earlier demo run, never another directory.
    let earlier = dir.join("manifest.json").is_file();
    let plan = Plan {
        subject: Subject::Session(id.clone()),
        out: dir.clone(),
        force: earlier,
        created: chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0)
            .unwrap_or_default(),
        lake: crate::evidence::manifest::LakeRead {
            location: lake_arg.to_string(),
            as_of: None,
            table_versions: rt.block_on(bundle::table_versions(&location))?,
        },
        config,
        signer: None,
        encrypt: None,
        digest_keys: None,
    };
    writeln!(
        out,
        "\n== {step}. An evidence bundle for session {id} (trailglass evidence {id} --out {})",
        dir.display()
    )?;
    let written = rt.block_on(bundle::write(a, &plan))?;
    writeln!(
        out,
        "wrote {}: {} records, {} findings; manifest sha256 {}",
        written.path.display(),
        written.records,
        written.findings,
        written.manifest_sha256
    )?;
    match crate::evidence::verify(&written.path, None)? {
        crate::evidence::Verdict::Valid { files, .. } => writeln!(
            out,
            "verified: {files} files intact (unsigned; sign with --sign-key, see trailglass keygen); check: trailglass verify {}",
            written.path.display()
        )?,
        crate::evidence::Verdict::Invalid { file, why } => {
            anyhow::bail!("the demo bundle does not verify: {file} {why}")
        }
    }
    Ok(())
}
