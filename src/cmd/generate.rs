//! `trailglass generate` (hidden): write a synthetic organization trail with planted break-glass
//! sessions, its break-glass config, approvals and the exact answer key.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use chrono::NaiveDate;

use trailglass_gen::{self as r#gen, GenConfig, Shape};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// The committed sample: 4 accounts, 3 regions, 2 days, ~5,000 records, every scenario once.
    Sample,
    /// About 1 GiB of JSON over 7 days (benchmarks; pick the layout with --shape).
    Bench,
}

/// Write a synthetic organization trail and its answer key.
///
/// Examples:
///   trailglass generate --preset sample --out testdata/sample
///   trailglass generate --out bench-data/1g --size 1GiB --days 7 --shape large
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Output directory (gets trail/, answer-key.json, trailglass.toml, approvals.csv).
    #[arg(long)]
    pub out: PathBuf,
    /// Start from a preset; the other flags override it.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Seed of every random choice: the same seed and flags give byte-identical output.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of accounts (the first is the management account, the second production).
    #[arg(long)]
    pub accounts: Option<usize>,
    /// Number of regions (us-east-1 first).
    #[arg(long)]
    pub regions: Option<usize>,
    /// Number of days (UTC) of activity.
    #[arg(long)]
    pub days: Option<u32>,
    /// First day (UTC), YYYY-MM-DD.
    #[arg(long)]
    pub start: Option<NaiveDate>,
    /// Approximate number of records.
    #[arg(long, conflicts_with = "size")]
    pub records: Option<usize>,
    /// Target uncompressed JSON size instead of --records, e.g. 1GiB, 500MB, 20M.
    #[arg(long)]
    pub size: Option<String>,
    /// Planted break-glass scenarios (cycling through every kind and variant).
    #[arg(long)]
    pub sessions: Option<usize>,
    /// File layout: small (one file per account/region/5 minutes) or large (~7 MB files).
    #[arg(long, value_enum)]
    pub shape: Option<Shape>,
    /// Organization id (o-…); derived from the seed by default.
    #[arg(long)]
    pub org_id: Option<String>,
    /// gzip level 1–9.
    #[arg(long)]
    pub gzip_level: Option<u32>,
    /// Share (0–0.9) of background events that are AssumeRole* calls by services, Identity Center
    /// and automation (default 0.12; the sample preset 0).
    #[arg(long)]
    pub assume_share: Option<f64>,
    /// Plant the anomaly story instead of scenarios: a routine break-glass role used the same way
    /// every day, then on the last day one instance of each anomaly kind (planted) or only the
    /// routine (steady); the answer key lists the window and the anomalies. Implies --sessions 0.
    #[arg(long, value_enum)]
    pub anomalies: Option<r#gen::planted::Anomalies>,
    /// Replace an existing trail in --out.
    #[arg(long)]
    pub force: bool,
}

/// Parse `1GiB`, `500MB`, `20M`, `1.5G`, `123456` (bytes).
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("bad size {s:?} (expected e.g. 1GiB, 500MB)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024f64.powi(4),
        _ => bail!("bad size unit in {s:?} (use B, KB, KiB, MB, MiB, GB, GiB)"),
    };
    Ok((n * mult) as u64)
}

impl GenerateArgs {
    pub fn config(&self) -> Result<GenConfig> {
        let mut c = match self.preset {
            Some(Preset::Sample) => GenConfig::sample(),
            // The sample's shape with today's realistic (AssumeRole-heavy) background.
            None => GenConfig {
                assume_share: GenConfig::default().assume_share,
                ..GenConfig::sample()
            },
            Some(Preset::Bench) => GenConfig::bench_1gib(self.shape.unwrap_or(Shape::Small)),
        };
        if let Some(v) = self.seed {
            c.seed = v;
        }
        if let Some(v) = self.accounts {
            c.accounts = v;
        }
        if let Some(v) = self.regions {
            c.regions = v;
        }
        if let Some(v) = self.days {
            c.days = v;
        }
        if let Some(v) = self.start {
            c.start = v;
        }
        if let Some(v) = self.records {
            c.records = v;
            c.size_bytes = None;
        }
        if let Some(s) = &self.size {
            c.size_bytes = Some(parse_size(s)?);
        }
        if self.anomalies.is_some() {
            c.anomalies = self.anomalies;
            c.sessions = 0;
        }
        if let Some(v) = self.sessions {
            c.sessions = v;
        }
        if let Some(v) = self.shape {
            c.shape = v;
        }
        if let Some(v) = &self.org_id {
            c.org_id = Some(v.clone());
        }
        if let Some(v) = self.assume_share {
            c.assume_share = v;
        }
        if let Some(v) = self.gzip_level {
            c.gzip_level = v;
        }
        Ok(c)
    }
}

pub fn run(args: &GenerateArgs) -> Result<()> {
    let cfg = args.config()?;
    if args.force {
        r#gen::clean(&args.out)?;
    }
    let t = Instant::now();
    let key = r#gen::generate(&cfg, &args.out)?;
    let secs = t.elapsed().as_secs_f64();
    let g = &key.generator;
    let mib = g.log_bytes as f64 / (1024.0 * 1024.0);
    eprintln!(
        "generated {} records ({} distinct, {} duplicate deliveries) in {} log files ({:.1} MiB JSON, {:.1} MiB gzip), \
         {} sessions, {} findings, into {} in {:.1}s ({:.0} MiB/s)",
        key.records,
        key.distinct_events,
        key.duplicate_deliveries,
        key.objects.logs,
        mib,
        g.log_bytes_gz as f64 / (1024.0 * 1024.0),
        key.sessions.len(),
        key.findings.len(),
        args.out.display(),
        secs,
        mib / secs.max(1e-9)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
        assert_eq!(parse_size("20M").unwrap(), 20_000_000);
        assert_eq!(parse_size("1.5 GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert!(parse_size("12 parsecs").is_err());
    }
}
