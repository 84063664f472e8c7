//! Query: a DataFusion session over the lake, read-only SQL, and result formatting.
//!
//! The session is built in one place so that every verb (and, later, a Ballista executor) sees the
//! same tables and functions. Tables are read through delta-rs's provider, never as a folder listing.

pub mod catalog;
pub mod derived;
mod format;
pub mod scan;
pub mod udf;
pub mod window;

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::record_batch::RecordBatch;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use datafusion::sql::parser::DFParser;

pub use format::{Format, write_batches};

use crate::config::Config;
use crate::lake::{Lake, ScanRange};

/// A session with the lake's tables registered. `as_of` pins `events` to a Delta version.
pub async fn context(lake: &Lake, as_of: Option<i64>) -> Result<SessionContext> {
    ContextBuilder::new(lake).as_of(as_of).build().await
}

/// The one place a query session over the lake is made: its tables, trailglass's functions (JSON
/// extraction, ARN globs), the memory pool and, for the catalog, its scan options and the
/// configuration's tables. Every verb's session comes from here; only the lake's own bookkeeping
/// reads (which keys are known, rebuilding an index table) use a bare session inside `lake`.
pub struct ContextBuilder<'a> {
    lake: &'a Lake,
    as_of: Option<i64>,
    range: ScanRange,
    config: Option<&'a Config>,
}

impl<'a> ContextBuilder<'a> {
    pub fn new(lake: &'a Lake) -> Self {
        ContextBuilder {
            lake,
            as_of: None,
            range: ScanRange::default(),
            config: None,
        }
    }

    /// Read `events` as of this Delta version.
    pub fn as_of(mut self, as_of: Option<i64>) -> Self {
        self.as_of = as_of;
        self
    }

    /// Read only `range` of `events` and `identity_events`.
    pub fn range(mut self, range: ScanRange) -> Self {
        self.range = range;
        self
    }

    /// A session for the catalog: the configuration's tables (`bg_roles`, `bg_users`,
    /// `bg_policy`, `approvals`) and the scan options its queries are tuned for.
    pub fn catalog(mut self, config: &'a Config) -> Self {
        self.config = Some(config);
        self
    }

    pub async fn build(self) -> Result<SessionContext> {
        let config = SessionConfig::new()
            .with_extension(Arc::new(scan::ScanLog::default()))
            .with_information_schema(true)
            .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get()));
        let runtime = RuntimeEnvBuilder::new()
            // Queries spill or fail cleanly rather than exhaust the machine.
            .with_memory_pool(Arc::new(FairSpillPool::new(memory_limit()?)))
            .build_arc()?;
        let mut ctx = SessionContext::new_with_config_rt(config, runtime);
        // Ad-hoc SQL gets the same functions as the catalog (JSON extraction, ARN globs).
        udf::register(&mut ctx)?;
        self.lake
            .register_range(&ctx, self.as_of, self.range)
            .await?;
        if let Some(config) = self.config {
            {
                // Late materialization: the selective predicates (event source and name, and
                // the dynamic filters a hash join pushes into its probe side) are applied while
                // decoding, so the wide JSON and identity columns are decoded only for the rows
                // that match.
                let state = ctx.state_ref();
                let mut st = state.write();
                let opts = st.config_mut().options_mut();
                opts.execution.parquet.pushdown_filters = true;
                opts.execution.parquet.reorder_filters = true;
                // The lake's files have no bloom filters (every filtered column is sorted or
                // dictionary encoded); looking for them costs a read per row group.
                opts.execution.parquet.bloom_filter_on_read = false;
            }
            config.register(&ctx)?;
        }
        Ok(ctx)
    }
}

/// The query memory pool: 4 GiB, or `TRAILGLASS_MEMORY_LIMIT` (e.g. `512MiB`; tests run the
/// catalog in a small pool to catch operators that are charged far more than they hold).
fn memory_limit() -> Result<usize> {
    match std::env::var("TRAILGLASS_MEMORY_LIMIT") {
        Ok(v) if !v.trim().is_empty() => {
            let n = crate::cmd::generate::parse_size(&v)
                .with_context(|| format!("TRAILGLASS_MEMORY_LIMIT={v:?}"))?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        }
        _ => Ok(4 << 30),
    }
}

/// What ad-hoc SQL may do: read. DDL, DML (including `COPY … TO`) and `SET` are refused.
pub fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Split SQL text into statements (DataFusion's parser, so `;` inside strings is not a separator).
pub fn statements(sql: &str) -> Result<Vec<String>> {
    let parsed = DFParser::parse_sql(sql).context("SQL syntax error")?;
    Ok(parsed.into_iter().map(|s| s.to_string()).collect())
}

/// Run read-only SQL (one or more statements); returns the result of each, stopping at the first
/// failure.
pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<Vec<Vec<RecordBatch>>> {
    let stmts = statements(sql)?;
    if stmts.is_empty() {
        bail!("no SQL statement given");
    }
    let mut out = Vec::new();
    for s in stmts {
        let df = ctx.sql_with_options(&s, read_only()).await.map_err(|e| {
            let msg = e.to_string();
            if msg.contains("not supported") || msg.contains("Unsupported") {
                anyhow::anyhow!(
                    "{msg}\ntrailglass sql is read-only: statements that change the lake or files are refused"
                )
            } else {
                anyhow::anyhow!("{msg}")
            }
        })?;
        out.push(df.collect().await?);
    }
    Ok(out)
}
