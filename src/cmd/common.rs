//! What the verbs share: opening the lake and the catalog for a read verb, the time-window flags,
//! and the source's filter and S3 flags. A verb imports these from here,
//! never from another verb.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::lit;

use super::Cli;
use crate::config::Config;
use crate::error::Error;
use crate::lake::{Lake, LakeLocation};
use crate::query::catalog::{Analysis, Catalog};
use crate::query::window::Window;
use crate::source::{DirSource, Filter, S3Options, S3Source, Source};

/// Parse a `--from`/`--to` value.
pub(crate) fn parse_flag_time(flag: &str, v: &Option<String>) -> Result<Option<DateTime<Utc>>> {
    match v {
        None => Ok(None),
        Some(s) => crate::config::parse_time(s).map(Some).ok_or_else(|| {
            Error::Usage(format!(
                "{flag} {s:?} is not a time; use RFC 3339 like 2026-03-01T10:00:00Z or a date like 2026-03-01"
            ))
            .into()
        }),
    }
}

/// A literal timestamp for DataFrame filters (a value, never SQL text).
pub(crate) fn ts_lit(t: DateTime<Utc>) -> datafusion::prelude::Expr {
    lit(datafusion::common::ScalarValue::TimestampMicrosecond(
        Some(t.timestamp_micros()),
        Some("UTC".into()),
    ))
}

/// Open the lake, the configuration and the catalog for a read verb.
pub(crate) fn open(cli: &Cli, as_of: Option<i64>) -> Result<(tokio::runtime::Runtime, Analysis)> {
    open_window(cli, as_of, &Window::default())
}

/// The window of `--since`/`--from`/`--to`.
pub(crate) fn window_flags(
    since: &Option<String>,
    from: &Option<String>,
    to: &Option<String>,
) -> Result<Window> {
    Window::from_flags(
        since.as_deref(),
        parse_flag_time("--from", from)?,
        parse_flag_time("--to", to)?,
        Utc::now(),
    )
}

/// [`open`], reading only what sessions starting in `window` need.
pub(crate) fn open_window(
    cli: &Cli,
    as_of: Option<i64>,
    window: &Window,
) -> Result<(tokio::runtime::Runtime, Analysis)> {
    open_for(cli, as_of, window, false)
}

/// [`open_window`] for the listing verbs (`sessions`, `findings`): with no window and no
/// `--as-of`, the stored all-history answers of the lake's current state when there are
/// (`query::derived`), otherwise an evaluation from `events`.
pub(crate) fn open_answers(
    cli: &Cli,
    as_of: Option<i64>,
    window: &Window,
) -> Result<(tokio::runtime::Runtime, Analysis)> {
    open_for(cli, as_of, window, window.is_all() && as_of.is_none())
}

fn open_for(
    cli: &Cli,
    as_of: Option<i64>,
    window: &Window,
    derived: bool,
) -> Result<(tokio::runtime::Runtime, Analysis)> {
    let config = Config::load(cli.config.as_deref())?;
    let catalog = Catalog::load()?;
    let rt = crate::lake::runtime().build()?;
    let location = LakeLocation::parse(&cli.lake)?;
    let lake = rt
        .block_on(Lake::open(location))
        .map_err(|e| Error::Access(format!("{e:#}")))?;
    if derived
        && let Some(a) = rt.block_on(crate::query::derived::open(&lake, &config, &catalog))?
    {
        return Ok((rt, a));
    }
    let analysis = rt.block_on(Analysis::open_window(
        &lake, as_of, &config, catalog, window,
    ))?;
    Ok((rt, analysis))
}

/// A day, or an RFC 3339 time whose day is taken.
pub fn parse_day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s).map(|t| t.date_naive()))
        .map_err(|_| format!("{s:?} is not a date: expected YYYY-MM-DD or an RFC 3339 time"))
}

/// Which objects to read, by the key layout (shared by `ingest` and `mirror`).
#[derive(clap::Args, Debug)]
pub struct FilterArgs {
    /// Only these accounts (comma-separated), pruned by the key layout before reading.
    #[arg(long, value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Only these regions (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub regions: Vec<String>,
    /// First delivery day (YYYY-MM-DD, by the date in the object key).
    #[arg(long, value_parser = parse_day)]
    pub from: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD); objects of the following day are read too (late deliveries).
    #[arg(long, value_parser = parse_day)]
    pub to: Option<NaiveDate>,
}

impl FilterArgs {
    pub fn filter(&self) -> Filter {
        Filter {
            accounts: self.accounts.clone(),
            regions: self.regions.clone(),
            from: self.from,
            to: self.to,
            ..Filter::default()
        }
    }
}

/// How to reach an S3 bucket (shared by `ingest` and `mirror`).
#[derive(clap::Args, Debug)]
pub struct S3Args {
    /// S3: an S3-compatible endpoint URL (also used for KMS).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// S3: the named profile of the AWS config files (default: the standard credential chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// S3: the bucket's region (default: from the environment or profile, else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// S3: requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

impl S3Args {
    pub fn options(&self) -> S3Options {
        S3Options {
            endpoint_url: self.endpoint_url.clone(),
            profile: self.profile.clone(),
            region: self.region.clone(),
            concurrency: self.concurrency,
            object_timeout: None,
        }
    }
}

/// The source named on the command line: `s3://BUCKET[/PREFIX]`, a directory or one file.
pub fn open_source(
    spec: &str,
    s3: &S3Args,
    object_timeout: Option<std::time::Duration>,
) -> Result<Box<dyn Source>> {
    Ok(if spec.starts_with("s3://") {
        let options = S3Options {
            object_timeout,
            ..s3.options()
        };
        Box::new(S3Source::connect(spec, &options).map_err(|e| Error::Usage(format!("{e:#}")))?)
    } else {
        Box::new(DirSource::new(spec).map_err(|e| Error::Usage(format!("{e:#}")))?)
    })
}
