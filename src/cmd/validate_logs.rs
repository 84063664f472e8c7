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
use crate::lake::{Lake, LakeLocation};

/// Validate CloudTrail log file integrity from the lake, without AWS access: each digest's
/// signature (with saved public keys), where it was delivered, its chain to the previous digest,
/// and each log file's hash of its uncompressed bytes. Gaps in a chain (logging stopped) are
/// listed, not failures. Exit 1 when anything is not valid.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  aws cloudtrail list-public-keys --region us-east-1 > keys.json   (on a connected machine)
  trailglass validate-logs --public-keys keys.json
  trailglass validate-logs --public-keys keys.json --accounts 111122223333 --from 2026-03-01 --to 2026-03-02

Without --public-keys the chains and hashes are still checked, but signatures are not (reported
as unchecked). Log files ingested before hashes were recorded are reported as unhashed.")]
pub struct ValidateLogsArgs {
    /// Saved `aws cloudtrail list-public-keys` output (JSON): the keys that sign digests.
    #[arg(long)]
    pub public_keys: Option<PathBuf>,
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
}

pub fn run(args: &ValidateLogsArgs, cli: &Cli) -> Result<Exit> {
    let from = super::sessions::parse_flag_time("--from", &args.from)?;
    let to = super::sessions::parse_flag_time("--to", &args.to)?;
    let keys = args.public_keys.as_deref().map(KeySet::load).transpose()?;
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
    let (digests, logs) = rt.block_on(read(&lake, &wanted))?;
    let window = Window {
        from: from.map(|t| t.timestamp_micros()),
        to: to.map(|t| t.timestamp_micros()),
    };
    let report = integrity::validate(&digests, &logs, keys.as_ref(), window);
    let mut out = std::io::stdout().lock();
    print(&mut out, &report, args.all)?;
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
