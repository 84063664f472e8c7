//! How queries see the lake: a DataFusion schema whose Delta tables are loaded when a statement
//! first names them. Loading a table replays its log (≈ 15 ms each here); `sessions` reads two
//! of the five tables, so loading all of them up front was a tenth of its run.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{LogicalPlanBuilder, col, lit};
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use tokio::sync::Mutex;

use super::{APP_ID, LakeLocation, Table};
use crate::schema;

/// The `public` schema of a query session: the lake's tables (loaded on first use) and whatever
/// else the session registers (configuration tables, catalog steps).
#[derive(Debug)]
pub(super) struct LakeSchema {
    registered: MemorySchemaProvider,
    location: LakeLocation,
    /// `events`, loaded by `Lake::open` (pinned to `as_of` when reading).
    events: DeltaTable,
    as_of: Option<i64>,
    /// The rows of `events` and `identity_events` a windowed verb may read (all when unbounded).
    range: ScanRange,
    /// The other tables, not loaded yet (their object stores are registered already).
    unloaded: Mutex<HashMap<Table, DeltaTable>>,
}

impl LakeSchema {
    pub(super) fn install(
        ctx: &SessionContext,
        location: &LakeLocation,
        events: &DeltaTable,
        as_of: Option<i64>,
        range: ScanRange,
    ) -> anyhow::Result<()> {
        let mut unloaded = HashMap::new();
        for t in Table::ALL.into_iter().filter(|t| *t != Table::Events) {
            // Building a table does no I/O; its object store must be known before any scan.
            let table = location.builder(&location.table_url(t)?)?.build()?;
            table.update_datafusion_session(&ctx.state())?;
            unloaded.insert(t, table);
        }
        events.update_datafusion_session(&ctx.state())?;
        let schema = LakeSchema {
            registered: MemorySchemaProvider::new(),
            location: location.clone(),
            events: events.clone(),
            as_of,
            range,
            unloaded: Mutex::new(unloaded),
        };
        let catalog = ctx
            .catalog("datafusion")
            .ok_or_else(|| anyhow::anyhow!("the session has no default catalog"))?;
        catalog.register_schema("public", Arc::new(schema))?;
        Ok(())
    }

    /// A provider for `t`, loading it; `unloaded` is held locked by the caller, so a table is
    /// loaded once even when statements run at the same time.
    async fn provider(
        &self,
        t: Table,
        unloaded: &mut HashMap<Table, DeltaTable>,
    ) -> anyhow::Result<Arc<dyn TableProvider>> {
        if t == Table::Events {
            return self.events_provider().await;
        }
        let Some(mut table) = unloaded.remove(&t) else {
            anyhow::bail!("the lake has no {} table", t.name());
        };
        // A lake from before `validate-logs` has no `integrity` table: nothing was validated,
        // which `sessions` reads as integrity `unknown`, not as an error.
        let empty = || -> anyhow::Result<Arc<dyn TableProvider>> {
            let t = datafusion::datasource::MemTable::try_new(t.schema(), vec![vec![]])?;
            Ok(Arc::new(t))
        };
        if t == Table::Integrity && self.location.lacks_local(t) {
            return empty();
        }
        if t == Table::IdentityEvents && !self.identity_current(&mut table).await? {
            // The same rows, read from `events` (slower, always exact).
            return identity_view(self.events_provider().await?);
        }
        let windowed = t == Table::IdentityEvents;
        // identity_current has loaded identity_events already.
        if t != Table::IdentityEvents {
            let loaded = table.load().await;
            if loaded.is_err() && t == Table::Integrity {
                return empty();
            }
            loaded.map_err(|e| anyhow::anyhow!("cannot open the Delta table {}: {e}", t.name()))?;
            if let Some(v) = self.as_of
                && matches!(t, Table::Objects | Table::Digests | Table::Rejects)
            {
                let batch = batch_of(&self.pinned_events(v).await?).await?;
                pin_to_batch(&mut table, batch).await?;
            }
        }
        let p = table.table_provider().await?;
        if windowed {
            return self.range.restrict(t, p);
        }
        Ok(p)
    }

    /// `events` (at `as_of` when pinned) narrowed to the scan range; already loaded, so building
    /// a provider does no I/O.
    async fn events_provider(&self) -> anyhow::Result<Arc<dyn TableProvider>> {
        let Some(v) = self.as_of else {
            return self
                .range
                .restrict(Table::Events, self.events.table_provider().await?);
        };
        let pinned = self.pinned_events(v).await?;
        self.range
            .restrict(Table::Events, pinned.table_provider().await?)
    }

    /// `events` loaded at version `v`.
    async fn pinned_events(&self, v: i64) -> anyhow::Result<DeltaTable> {
        super::vacuum::check_retained(&self.events, v).await?;
        // The table is loaded at its newest version, and a provider built from a loaded table
        // reads that snapshot whatever version it is asked for (`with_table_version` applies only
        // to a builder without one): `--as-of` read the newest rows. Load the pinned version.
        let version =
            u64::try_from(v).map_err(|_| anyhow::anyhow!("--as-of must not be negative"))?;
        let mut pinned = self.events.clone();
        pinned
            .load_version(version)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read events as of version {v}: {e}"))?;
        Ok(pinned)
    }

    /// Whether `identity_events` holds exactly the identity rows of the `events` read here: it
    /// exists and has every batch of `events`. Not so for an `--as-of` version, a lake from before
    /// the table, or after an ingest stopped between its `events` and index commits. Loads the
    /// table when it is to be read.
    async fn identity_current(&self, table: &mut DeltaTable) -> anyhow::Result<bool> {
        if self.as_of.is_some()
            || self.location.lacks_local(Table::IdentityEvents)
            || table.load().await.is_err()
        {
            return Ok(false);
        }
        Ok(batch_of(table).await? == batch_of(&self.events).await?)
    }

    async fn table_or_load(&self, t: Table) -> anyhow::Result<Arc<dyn TableProvider>> {
        let mut unloaded = self.unloaded.lock().await;
        if let Some(p) = self.registered.table(t.name()).await? {
            return Ok(p);
        }
        let p = self.provider(t, &mut unloaded).await?;
        self.registered
            .register_table(t.name().to_string(), p.clone())?;
        Ok(p)
    }
}

/// Bring a loaded index table (`objects`, `digests`, `rejects`) back to where it stood when
/// `events` held ingest batch `batch`: its newest version of no later batch. An ingest commits
/// every table of a batch under the batch's number, so this is the lake `--as-of` names; reading
/// the newest `digests` beside old `events` made BG015 see digests that arrived later.
/// Batch numbers grow with versions, so a binary search loads a few versions at most.
async fn pin_to_batch(table: &mut DeltaTable, batch: i64) -> anyhow::Result<()> {
    if batch_of(table).await? <= batch {
        return Ok(());
    }
    let Some(mut hi) = table.version() else {
        return Ok(());
    };
    // Version 0 creates the table and holds no batch.
    let mut lo = 0;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        table.load_version(mid).await?;
        if batch_of(table).await? <= batch {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    table
        .load_version(lo)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read version {lo} of an index table: {e}"))
}

/// The last ingest batch a table's loaded snapshot holds.
pub(super) async fn batch_of(t: &DeltaTable) -> anyhow::Result<i64> {
    Ok(t.snapshot()?
        .transaction_version(t.log_store().as_ref(), APP_ID)
        .await?
        .unwrap_or(0))
}

#[async_trait]
impl SchemaProvider for LakeSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.registered.table_names();
        for t in Table::ALL {
            if !names.iter().any(|n| n == t.name()) {
                names.push(t.name().to_string());
            }
        }
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some(p) = self.registered.table(name).await? {
            return Ok(Some(p));
        }
        let Some(t) = Table::ALL.into_iter().find(|t| t.name() == name) else {
            return Ok(None);
        };
        self.table_or_load(t)
            .await
            .map(Some)
            .map_err(|e| DataFusionError::External(e.into()))
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> DfResult<Option<Arc<dyn TableProvider>>> {
        self.registered.register_table(name, table)
    }

    fn deregister_table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        self.registered.deregister_table(name)
    }

    fn table_exist(&self, name: &str) -> bool {
        self.registered.table_exist(name) || Table::ALL.iter().any(|t| t.name() == name)
    }
}

/// `events` narrowed to the rows and columns of `identity_events`, as a view.
pub(super) fn identity_view(
    events: Arc<dyn TableProvider>,
) -> anyhow::Result<Arc<dyn TableProvider>> {
    let sources = schema::IDENTITY_SOURCES.iter().map(|s| lit(*s)).collect();
    let columns = schema::identity_events()
        .fields()
        .iter()
        .map(|f| col(f.name().as_str()))
        .collect::<Vec<_>>();
    let plan = LogicalPlanBuilder::scan(
        Table::Events.name(),
        datafusion::datasource::provider_as_source(events),
        None,
    )?
    .filter(col("eventsource").in_list(sources, false))?
    .project(columns)?
    .build()?;
    Ok(Arc::new(datafusion::datasource::ViewTable::new(plan, None)))
}

/// The time span of `events` (and `identity_events`) a verb reads, inclusive, in microseconds
/// since the epoch; unbounded ends read everything. A windowed verb reads its window widened by
/// the look-back (SESSIONS.md, "Windows").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanRange {
    pub from_us: Option<i64>,
    pub to_us: Option<i64>,
}

impl ScanRange {
    /// `provider` seen through a filter on `dt` (the partitions the Delta provider skips without
    /// opening them) and on `eventtime` (the files and row groups whose statistics lie outside).
    /// The filters sit in a view, so the optimizer pushes them into the scan of every statement
    /// that reads the table.
    fn restrict(
        &self,
        t: Table,
        provider: Arc<dyn TableProvider>,
    ) -> anyhow::Result<Arc<dyn TableProvider>> {
        if self.from_us.is_none() && self.to_us.is_none() {
            return Ok(provider);
        }
        let ts = |us: i64| {
            lit(datafusion::common::ScalarValue::TimestampMicrosecond(
                Some(us),
                Some("UTC".into()),
            ))
        };
        let day = |us: i64| {
            chrono::DateTime::from_timestamp_micros(us)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .ok_or_else(|| anyhow::anyhow!("a window end out of range"))
        };
        let mut filter = lit(true);
        if let Some(f) = self.from_us {
            filter = filter
                .and(col("dt").gt_eq(lit(day(f)?)))
                .and(col("eventtime").gt_eq(ts(f)));
        }
        if let Some(to) = self.to_us {
            filter = filter
                .and(col("dt").lt_eq(lit(day(to)?)))
                .and(col("eventtime").lt_eq(ts(to)));
        }
        let plan = LogicalPlanBuilder::scan(
            t.name(),
            datafusion::datasource::provider_as_source(provider),
            None,
        )?
        .filter(filter)?
        .build()?;
        Ok(Arc::new(datafusion::datasource::ViewTable::new(plan, None)))
    }
}

impl super::Lake {
    /// Register the lake's tables in `ctx`, `events` and `identity_events` narrowed to `range`.
    pub async fn register_range(
        &self,
        ctx: &SessionContext,
        as_of: Option<i64>,
        range: ScanRange,
    ) -> anyhow::Result<()> {
        LakeSchema::install(
            ctx,
            &self.location,
            self.table(Table::Events)?,
            as_of,
            range,
        )
    }

    /// The keys in an index table (`objects` or `digests`), each with every tag it was ingested
    /// under: what an ingest may skip.
    pub async fn known_objects(
        &self,
        t: Table,
    ) -> anyhow::Result<HashMap<String, std::collections::HashSet<String>>> {
        use arrow::array::AsArray;
        use arrow::datatypes::DataType;
        let ctx = SessionContext::new();
        self.register(&ctx, None).await?;
        let batches = ctx
            .sql(&format!("SELECT key, etag FROM {}", t.name()))
            .await?
            .collect()
            .await?;
        let mut out: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
        for b in batches {
            // DataFusion may hand strings back as views; normalise before reading.
            let keys = arrow::compute::cast(b.column(0), &DataType::Utf8)?;
            let tags = arrow::compute::cast(b.column(1), &DataType::Utf8)?;
            let (Some(keys), Some(tags)) =
                (keys.as_string_opt::<i32>(), tags.as_string_opt::<i32>())
            else {
                anyhow::bail!("{}: key and etag are not text", t.name());
            };
            for i in 0..b.num_rows() {
                out.entry(keys.value(i).to_string())
                    .or_default()
                    .insert(tags.value(i).to_string());
            }
        }
        Ok(out)
    }
}
