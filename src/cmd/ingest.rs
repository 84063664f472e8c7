//! `trailglass ingest SOURCE`: pull CloudTrail files into the lake, exactly once per object.

use std::io::Write;

use anyhow::{Context, Result};

use super::Cli;
use super::common::{FilterArgs, S3Args, open_source};
use crate::decode::Limits;
use crate::error::Exit;
use crate::ingest::{self, Options, Summary};
use crate::lake::LakeLocation;

/// Ingest CloudTrail log files into the lake (incremental; re-running adds only what is new).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass ingest s3://org-trail-bucket --profile soc-readonly --region us-east-1
  trailglass ingest s3://org-trail-bucket/prefix --accounts 111122223333 --from 2026-03-01
  trailglass ingest ./my-trail-copy
  trailglass ingest ./org-trail --accounts 111122223333 --regions us-east-1 --from 2026-03-01 --to 2026-03-02
  trailglass --lake /secure/lake ingest ./AWSLogs --strict")]
pub struct IngestArgs {
    /// s3://BUCKET[/PREFIX] (the trail bucket), a directory (a copy of it, searched recursively)
    /// or one file.
    pub source: String,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// List everything within the filters, not only from the look-back window on (a directory
    /// source always does).
    #[arg(long)]
    pub rescan: bool,
    /// Days before each account/region's newest ingested day that an S3 run lists again, so
    /// late deliveries are found.
    #[arg(long, default_value_t = 2)]
    pub lookback: u32,
    #[command(flatten)]
    pub s3: S3Args,
    /// A lake on S3 is written with SSE-KMS under this key (default: the source bucket's key).
    #[arg(long)]
    pub lake_kms_key: Option<String>,
    /// Exit 2 when any object or record was rejected (`changed_object` and `timeout` included).
    #[arg(long)]
    pub strict: bool,
    /// Skip re-evaluating the stored all-history sessions and findings after the commit. That
    /// evaluation reads the whole lake, so frequent small runs into a large lake may leave it to
    /// a later ingest or `compact`; meanwhile all-history verbs evaluate from `events` (never
    /// from stale answers).
    #[arg(long)]
    pub no_refresh: bool,
    /// Largest decompressed object accepted, in MiB (gzip-bomb guard).
    #[arg(long, default_value_t = 1024)]
    pub max_object_size: u64,
    /// Seconds one object may take to read and decode; past it the object is rejected
    /// (`timeout`) and the run goes on. A read that timed out is tried again by the next run.
    #[arg(long, default_value_t = crate::decode::DEFAULT_OBJECT_TIMEOUT_SECS, value_parser = parse_seconds)]
    pub object_timeout: f64,
    /// Deepest JSON nesting accepted in a record.
    #[arg(long, default_value_t = 128)]
    pub max_depth: usize,
    /// Commit after about this many MiB of JSON (bounds memory).
    #[arg(long, default_value_t = ingest::DEFAULT_BATCH_MIB)]
    pub batch_size: u64,
    /// Decode threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v < 1e9)
        .ok_or_else(|| format!("{s:?} is not a positive number of seconds"))
}

pub fn run(args: &IngestArgs, cli: &Cli) -> Result<Exit> {
    let (summary, location) = execute(args, cli)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &summary_json(&summary))?;
        writeln!(out)?;
    } else {
        print_summary(&mut out, &summary, &location)?;
    }
    report_problems(&summary);
    Ok(exit_for(args, &summary))
}

/// Run the ingest of `args` without printing its summary (`report --ingest` embeds it).
pub fn execute(args: &IngestArgs, cli: &Cli) -> Result<(Summary, LakeLocation)> {
    crate::lake::owner_only();
    let timeout = std::time::Duration::from_secs_f64(args.object_timeout);
    let source = open_source(&args.source, &args.s3, Some(timeout))?;
    let location = LakeLocation::parse(&cli.lake)?.with_kms_key(args.lake_kms_key.as_deref());
    let opts = Options {
        filter: args.filter.filter(),
        limits: Limits {
            max_decompressed: args.max_object_size << 20,
            max_depth: args.max_depth,
            object_timeout: Some(timeout),
        },
        batch_bytes: args.batch_size << 20,
        threads: args.threads,
        progress: !cli.quiet,
        lookback_days: (!args.rescan).then_some(args.lookback),
        ..Options::default()
    };
    // Errors are typed where they arise (error.rs): the exit code follows their kind.
    let summary = ingest::run(source.as_ref(), location.clone(), &opts)
        .with_context(|| format!("ingest into {}", location.display()))?;
    // The all-history answers of the new state, for the read verbs (SESSIONS.md).
    if !args.no_refresh {
        crate::query::derived::after_commit(&location, cli.config.as_deref());
    }
    Ok((summary, location))
}

/// Warnings and unreadable objects of an ingest, on stderr.
pub fn report_problems(summary: &Summary) {
    for w in &summary.warnings {
        eprintln!("trailglass: warning: {w}");
    }
    for key in &summary.timed_out {
        eprintln!(
            "trailglass: {key} took longer than --object-timeout; rejected (timeout), left for the next run"
        );
    }
    for (key, why) in &summary.failed {
        eprintln!("trailglass: could not read {key}: {why} (left for the next run)");
    }
}

/// An ingest's exit status: 3 when an object could not be read, 2 for rejects under --strict.
pub fn exit_for(args: &IngestArgs, summary: &Summary) -> Exit {
    if !summary.failed.is_empty() {
        Exit::Access
    } else if args.strict && summary.rejects() > 0 {
        Exit::Input
    } else {
        Exit::Ok
    }
}

pub fn summary_json(s: &Summary) -> serde_json::Value {
    let skipped: serde_json::Map<String, serde_json::Value> = s
        .skipped
        .iter()
        .map(|(k, v)| (k.to_string(), v.len().into()))
        .collect();
    serde_json::json!({
        "objects_listed": s.listed,
        "objects_ingested": s.ingested_objects,
        "objects_already_ingested": s.already_ingested,
        "records": s.records,
        "rejected_objects": s.rejected_objects,
        "rejected_records": s.rejected_records,
        "changed_objects": s.changed_objects,
        "digests": s.digests,
        "skipped": skipped,
        "failed": s.failed.iter().map(|(k, e)| serde_json::json!({"key": k, "error": e})).collect::<Vec<_>>(),
        "batches": s.batches,
        "recovered_commits": s.recovered,
        "compressed_bytes": s.compressed_bytes,
        "json_bytes": s.text_bytes,
        "seconds": s.seconds,
        "kms_key": s.kms_key,
        "warnings": s.warnings,
        "timed_out": s.timed_out,
        "listed_prefixes": s.listed_prefixes,
    })
}

pub fn print_summary(out: &mut dyn Write, s: &Summary, lake: &LakeLocation) -> Result<()> {
    let mb = s.text_bytes as f64 / 1e6;
    let secs = s.seconds.max(1e-9);
    writeln!(out, "ingested into {}", lake.display())?;
    if let Some(k) = &s.kms_key {
        writeln!(out, "  source encrypted with KMS key {k}")?;
    }
    writeln!(
        out,
        "  objects: {} listed, {} new, {} already ingested, {} changed (rejected)",
        s.listed, s.ingested_objects, s.already_ingested, s.changed_objects
    )?;
    writeln!(
        out,
        "  records: {} ingested, {} rejected records, {} rejected objects",
        s.records, s.rejected_records, s.rejected_objects
    )?;
    if !s.skipped.is_empty() {
        let parts: Vec<String> = s
            .skipped
            .iter()
            .map(|(k, v)| format!("{} {k}", v.len()))
            .collect();
        writeln!(out, "  skipped: {}", parts.join(", "))?;
    }
    if s.digests > 0 {
        writeln!(out, "  digests: {} recorded", s.digests)?;
    }
    if s.recovered > 0 {
        writeln!(
            out,
            "  recovered: {} index commits of an interrupted run",
            s.recovered
        )?;
    }
    writeln!(
        out,
        "  {:.1} MB of JSON in {:.2} s ({:.0} MB/s, {:.0} records/s), {} commit(s)",
        mb,
        s.seconds,
        mb / secs,
        s.records as f64 / secs,
        s.batches.len()
    )?;
    if s.rejects() > 0 {
        writeln!(
            out,
            "  see why: trailglass sql \"SELECT key, record, reason, detail FROM rejects\""
        )?;
    }
    Ok(())
}
