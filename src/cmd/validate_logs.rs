//! `trailglass validate-logs`: check CloudTrail's digest chains and the log files they hash,
//! offline, from the lake alone (SPEC §12).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use arrow::array::{Array, AsArray};
use futures::StreamExt;

use super::Cli;
use crate::error::{Error, Exit};
use crate::integrity::{self, DigestFile, KeySet, LogObject, Window};
use crate::lake::{Lake, LakeLocation, Table};
use crate::source::{Filter, ObjectRef, Source};
use std::collections::HashMap;

/// Validate CloudTrail log file integrity from the lake, without AWS access: each digest's
/// signature (with saved public keys), where it was delivered, its chain to the previous digest,
/// and each log file's hash of its uncompressed bytes. Gaps in a chain (logging stopped) are
/// listed, not failures. Exit 1 when anything is not valid.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  (on a connected machine: keys are per Region, and without times only the current hour's come)
  aws cloudtrail list-public-keys --region us-east-1 --start-time 2026-01-01 --end-time 2026-04-01 > us-east-1.json
  aws cloudtrail list-public-keys --region eu-west-1 --start-time 2026-01-01 --end-time 2026-04-01 > eu-west-1.json
  trailglass validate-logs --public-keys us-east-1.json --public-keys eu-west-1.json
  trailglass validate-logs --public-keys keys.json --accounts 111122223333 --from 2026-03-01 --to 2026-03-02

Without --public-keys the chains and hashes are still checked, but signatures are not (reported
as unchecked). Log files ingested before hashes were recorded are reported as unhashed.")]
pub struct ValidateLogsArgs {
    /// Saved `aws cloudtrail list-public-keys` output (JSON): the keys that sign digests. Repeat
    /// for each Region's file.
    #[arg(long)]
    pub public_keys: Vec<PathBuf>,
    /// Only digests whose end time is at or after this (RFC 3339 or YYYY-MM-DD), and the log
    /// files delivered from then on.
    #[arg(long)]
    pub from: Option<String>,
    /// Only digests whose end time is at or before this.
    #[arg(long)]
    pub to: Option<String>,
    /// Only these accounts (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Only these regions (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub regions: Vec<String>,
    /// List every digest and log file, not only the ones that are not valid.
    #[arg(long)]
    pub all: bool,
    /// Do not record the results in the lake's `integrity` table (for a lake opened read-only).
    #[arg(long)]
    pub no_record: bool,
    /// Do not refresh the stored all-history sessions and findings after recording (their
    /// `integrity` column and BG015 read this run; until the next refresh, those verbs evaluate
    /// from events).
    #[arg(long)]
    pub no_refresh: bool,
    /// A lake on S3: the KMS key its `integrity` files are written under (default: the bucket's
    /// default encryption).
    #[arg(long)]
    pub lake_kms_key: Option<String>,
    /// Hash the log files the lake has no uncompressed hash for (ingested by an older version)
    /// by reading them again from SOURCE (`s3://BUCKET[/PREFIX]` or the local copy ingested).
    #[arg(long, value_name = "SOURCE")]
    pub rehash: Option<String>,
    #[command(flatten)]
    pub s3: super::common::S3Args,
}

pub fn run(args: &ValidateLogsArgs, cli: &Cli) -> Result<Exit> {
    let from = super::common::parse_flag_time("--from", &args.from)?;
    let to = super::common::parse_flag_time("--to", &args.to)?;
    let mut keys: Option<KeySet> = None;
    for path in &args.public_keys {
        let set = KeySet::load(path)?;
        let all = keys.get_or_insert_with(KeySet::default);
        all.keys.extend(set.keys);
        all.bad.extend(set.bad);
    }
    let rt = crate::lake::runtime().build()?;
    let location = LakeLocation::parse(&cli.lake)?;
    let lake = rt
        .block_on(Lake::open(location))
        .map_err(|e| Error::Access(format!("{e:#}")))?;
    let wanted = |account: Option<&str>, region: Option<&str>| {
        (args.accounts.is_empty() || account.is_some_and(|a| args.accounts.iter().any(|x| x == a)))
            && (args.regions.is_empty()
                || region.is_some_and(|r| args.regions.iter().any(|x| x == r)))
    };
    let (digests, mut logs) = rt.block_on(read(&lake, &wanted))?;
    if let Some(spec) = &args.rehash {
        let source = super::common::open_source(spec, &args.s3, None)?;
        let filter = crate::source::Filter {
            accounts: args.accounts.clone(),
            regions: args.regions.clone(),
            ..Default::default()
        };
        rehash(source.as_ref(), &filter, &mut logs)?;
    }
    let window = Window {
        from: from.map(|t| t.timestamp_micros()),
        to: to.map(|t| t.timestamp_micros()),
    };
    let report = integrity::validate(&digests, &logs, keys.as_ref(), window);
    drop(lake);
    let run = match args.no_record {
        true => None,
        false => {
            let location =
                LakeLocation::parse(&cli.lake)?.with_kms_key(args.lake_kms_key.as_deref());
            Some(rt.block_on(record(location, &report))?)
        }
    };
    // The stored answers read `integrity`: the new run made them miss; store the current ones.
    if run.is_some() && !args.no_refresh {
        crate::query::derived::after_commit(
            &LakeLocation::parse(&cli.lake)?,
            cli.config.as_deref(),
        );
    }
    let mut out = std::io::stdout().lock();
    print(&mut out, &report, args.all)?;
    if let Some(n) = run {
        writeln!(out, "recorded as run {n} in the lake's integrity table")?;
    }
    out.flush()?;
    Ok(if report.all_valid() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}

/// The lake's digests and log objects of the wanted accounts and regions.
async fn read(
    lake: &Lake,
    wanted: &dyn Fn(Option<&str>, Option<&str>) -> bool,
) -> Result<(Vec<DigestFile>, Vec<LogObject>)> {
    let ctx = crate::query::context(lake, None).await?;
    let mut digests = Vec::new();
    let df = ctx.table("digests").await?.select_columns(&[
        "bucket",
        "key",
        "body",
        "signature",
        "signature_algorithm",
        "account",
        "region",
    ])?;
    let mut stream = df.execute_stream().await?;
    while let Some(b) = stream.next().await {
        let b = b.context("reading the digests table")?;
        let col = |i: usize| strings(b.column(i));
        let (bucket, key, body, sig, alg, acct, region) = (
            col(0)?,
            col(1)?,
            col(2)?,
            col(3)?,
            col(4)?,
            col(5)?,
            col(6)?,
        );
        let get =
            |a: &arrow::array::StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_string());
        for i in 0..b.num_rows() {
            if !wanted(get(&acct, i).as_deref(), get(&region, i).as_deref()) {
                continue;
            }
            digests.push(DigestFile {
                bucket: get(&bucket, i),
                key: key.value(i).to_string(),
                body: body.value(i).as_bytes().to_vec(),
                signature: get(&sig, i),
                signature_algorithm: get(&alg, i),
            });
        }
    }
    // A lake written before uncompressed hashes were recorded has no `text_sha256`.
    let objects = ctx.table("objects").await?;
    let hashed = objects
        .schema()
        .has_column_with_unqualified_name("text_sha256");
    let cols: &[&str] = if hashed {
        &["key", "text_sha256"]
    } else {
        &["key"]
    };
    let mut stream = objects.select_columns(cols)?.execute_stream().await?;
    let mut logs = Vec::new();
    while let Some(b) = stream.next().await {
        let b = b.context("reading the objects table")?;
        let key = strings(b.column(0))?;
        let hash = hashed.then(|| strings(b.column(1))).transpose()?;
        let hash = hash.as_ref();
        for i in 0..b.num_rows() {
            let k = key.value(i);
            let info = crate::source::classify(k);
            if !wanted(info.account.as_deref(), info.region.as_deref()) {
                continue;
            }
            logs.push(LogObject {
                key: k.to_string(),
                text_sha256: hash
                    .filter(|h| h.is_valid(i))
                    .map(|h| h.value(i).to_string()),
            });
        }
    }
    Ok((digests, logs))
}

/// Commit the report to the lake's `integrity` table, as one commit; returns the run's number.
async fn record(location: LakeLocation, r: &integrity::Report) -> Result<i64> {
    use arrow::array::{StringArray, TimestampMicrosecondArray};
    // The lock first, then the tables: a writer that loaded a table and then waited would commit
    // on a stale state.
    crate::lake::owner_only();
    let _lock = location.lock(true)?;
    let mut lake = Lake::open_or_create(location)
        .await
        .map_err(|e| Error::Access(format!("{e:#}")))?;
    let gaps: Vec<integrity::Row> = r
        .gaps
        .iter()
        .map(|g| integrity::Row {
            kind: "gap",
            key: g.key.clone(),
            account: g.account.clone(),
            region: g.region.clone(),
            status: "gap",
            detail: format!(
                "no {}digest from {} to {}",
                if g.backfill { "backfill " } else { "" },
                g.from,
                g.to
            ),
            fingerprint: None,
            digest: None,
        })
        .collect();
    let rows: Vec<&integrity::Row> = r.digests.iter().chain(&r.logs).chain(&gaps).collect();
    let now = chrono::Utc::now().timestamp_micros();
    // The number this run's commit will carry (the lock keeps it ours on a local lake).
    let n = lake.batch_version(Table::Integrity).await? + 1;
    let text = |f: &dyn Fn(&integrity::Row) -> Option<&str>| -> arrow::array::ArrayRef {
        std::sync::Arc::new(rows.iter().map(|r| f(r)).collect::<StringArray>())
    };
    let batch = crate::schema::batch_by_name(
        crate::schema::integrity(),
        vec![
            (
                "batch",
                std::sync::Arc::new(arrow::array::Int64Array::from(vec![n; rows.len()])),
            ),
            (
                "validated_at",
                std::sync::Arc::new(
                    TimestampMicrosecondArray::from(vec![now; rows.len()]).with_timezone("UTC"),
                ),
            ),
            ("kind", text(&|r| Some(r.kind))),
            ("key", text(&|r| Some(&r.key))),
            ("account", text(&|r| r.account.as_deref())),
            ("region", text(&|r| r.region.as_deref())),
            ("status", text(&|r| Some(r.status))),
            (
                "detail",
                text(&|r| {
                    Some(&r.detail)
                        .filter(|d| !d.is_empty())
                        .map(String::as_str)
                }),
            ),
            ("fingerprint", text(&|r| r.fingerprint.as_deref())),
            ("digest", text(&|r| r.digest.as_deref())),
        ],
    )?;
    let committed = lake.append(Table::Integrity, &[batch]).await?;
    anyhow::ensure!(
        committed == n,
        "another validate-logs run committed run {n} first"
    );
    Ok(n)
}

/// Fill in the uncompressed hashes the lake lacks by reading those objects from `source`, a few
/// at a time (never the whole trail in memory). Objects the source no longer has stay unhashed.
fn rehash(source: &dyn Source, filter: &Filter, logs: &mut [LogObject]) -> Result<()> {
    let mut want: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, o) in logs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.text_sha256.is_none())
    {
        want.entry(o.key.as_str()).or_default().push(i);
    }
    if want.is_empty() {
        return Ok(());
    }
    let listing = source
        .list(filter)
        .with_context(|| format!("listing {}", source.describe()))?;
    let objects: Vec<ObjectRef> = listing
        .logs
        .into_iter()
        .filter(|o| want.contains_key(o.key.as_str()))
        .collect();
    let mut hashes: Vec<(Vec<usize>, String)> = Vec::new();
    for chunk in objects.chunks(64) {
        for (o, fetched) in chunk.iter().zip(source.get_many(chunk)) {
            let bytes = fetched.with_context(|| format!("reading {}", o.key))?.bytes;
            let text = crate::decode::inflate(&bytes, &crate::decode::Limits::default())
                .map_err(|r| anyhow::anyhow!("{}: {}", o.key, r.detail))?;
            let rows = want.get(o.key.as_str()).cloned().unwrap_or_default();
            hashes.push((rows, integrity::sha256_hex(&text)));
        }
    }
    for (rows, h) in hashes {
        for i in rows {
            logs[i].text_sha256 = Some(h.clone());
        }
    }
    Ok(())
}

/// A text column as plain strings (scans may hand back string views).
fn strings(a: &arrow::array::ArrayRef) -> Result<arrow::array::StringArray> {
    let a = arrow::compute::cast(a, &arrow::datatypes::DataType::Utf8)?;
    Ok(a.as_string::<i32>().clone())
}

fn print(out: &mut impl Write, r: &integrity::Report, all: bool) -> Result<()> {
    for b in &r.bad_keys {
        writeln!(out, "public key {}: unusable: {}", b.claimed, b.reason)?;
    }
    let counts = r.counts();
    for kind in ["digest", "log"] {
        let parts: Vec<String> = counts
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, s), n)| format!("{n} {s}"))
            .collect();
        let total: usize = counts
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, n)| n)
            .sum();
        let label = if kind == "digest" {
            "digests"
        } else {
            "log files"
        };
        writeln!(
            out,
            "{label}: {total}{}{}",
            if parts.is_empty() { "" } else { ": " },
            parts.join(", ")
        )?;
    }
    if !r.signatures_checked {
        writeln!(out, "signatures: not checked (no --public-keys)")?;
    }
    writeln!(out, "gaps: {}", r.gaps.len())?;
    for g in &r.gaps {
        writeln!(
            out,
            "  gap {} {} {}{}: no digest from {} to {} (restarted by {})",
            g.account.as_deref().unwrap_or("-"),
            g.region.as_deref().unwrap_or("-"),
            g.trail.as_deref().unwrap_or("-"),
            if g.backfill { " (backfill)" } else { "" },
            g.from,
            g.to,
            g.key
        )?;
    }
    for row in r.digests.iter().chain(&r.logs) {
        if all || !row.is_valid() {
            write!(out, "{} {} {}", row.status, row.kind, row.key)?;
            if !row.detail.is_empty() {
                write!(out, ": {}", row.detail)?;
            }
            writeln!(out)?;
        }
    }
    writeln!(
        out,
        "{}",
        if r.all_valid() {
            "result: valid"
        } else {
            "result: NOT VALID"
        }
    )?;
    Ok(())
}
