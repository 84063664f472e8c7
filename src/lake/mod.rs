//! The lake: five Delta tables under one root (SPEC §4), written only through [`Lake::commit`].
//!
//! ```text
//!   LAKE/events   (partitioned by dt)   ← the truth: each commit carries batch n and the aux adds
//!   LAKE/objects  LAKE/rejects  LAKE/digests  LAKE/identity_events
//!                                       ← index tables, committed after events, same batch n
//! ```
//!
//! Exactly-once across five tables that cannot share a transaction (docs/DESIGN.md):
//!
//! ```text
//!  write events + aux files ─► COMMIT events{txn n, aux adds} ─► COMMIT aux{txn n}
//!   crash: orphans, invisible   crash: recover() replays aux adds from the events log
//! ```
//!
//! A batch is visible when its events commit lands; `recover` (run under the writer lock before any
//! ingest) commits the aux adds recorded in every events commit newer than an aux table's own
//! transaction version, so `objects` always ends up listing exactly the objects whose events are in.

mod compact;
mod lock;
mod read;
mod store;
pub use read::ScanRange;
mod vacuum;

use std::collections::HashMap;
use std::future::IntoFuture;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add, StructField, StructType, Transaction};
use deltalake::operations::create::CreateBuilder;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableBuilder, TableProperty};
use futures::StreamExt;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::{Value, json};
use url::Url;

pub use compact::Compacted;
pub use lock::LakeLock;
pub use vacuum::Vacuumed;

use crate::schema;

/// The app id of trailglass's Delta application transactions.
pub const APP_ID: &str = "trailglass-ingest";

/// The tables of a lake, in commit order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Events,
    Objects,
    Rejects,
    Digests,
    /// The `events` rows of STS, sign-in and IAM calls (`schema::identity_events`).
    IdentityEvents,
    /// `validate-logs` results, one commit per run (`schema::integrity`).
    Integrity,
}

impl Table {
    pub const ALL: [Table; 6] = [
        Table::Events,
        Table::Objects,
        Table::Rejects,
        Table::Digests,
        Table::IdentityEvents,
        Table::Integrity,
    ];
    pub const AUX: [Table; 4] = [
        Table::Objects,
        Table::Rejects,
        Table::Digests,
        Table::IdentityEvents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Events => "events",
            Table::Objects => "objects",
            Table::Rejects => "rejects",
            Table::Digests => "digests",
            Table::IdentityEvents => "identity_events",
            Table::Integrity => "integrity",
        }
    }

    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Events => schema::events(),
            Table::Objects => schema::objects(),
            Table::Rejects => schema::rejects(),
            Table::Digests => schema::digests(),
            Table::IdentityEvents => schema::identity_events(),
            Table::Integrity => schema::integrity(),
        }
    }

    /// The columns whose min/max every Delta commit records per file. Files are sorted by
    /// account and time (SPEC §3), so only those two prune; min/max of any other column spans
    /// nearly everything in a file. Each commit re-reads every file's statistics (delta-rs
    /// rebuilds its snapshot of the table), so the default (the first 32 columns, 4 KB of JSON
    /// per file) made every commit slower than the last and the peak memory grow with the run.
    fn stats_columns(self) -> &'static str {
        match self {
            Table::Events | Table::IdentityEvents => "recipientaccountid,eventtime",
            _ => "batch",
        }
    }

    fn partitions(self) -> Vec<String> {
        match self {
            Table::Events | Table::IdentityEvents => vec!["dt".to_string()],
            _ => vec![],
        }
    }
}

/// Where a lake lives and how to open its tables.
#[derive(Debug, Clone)]
pub struct LakeLocation {
    root: Url,
    local: Option<PathBuf>,
    /// object_store options of a lake on S3 (the rest comes from the standard AWS_* variables).
    options: HashMap<String, String>,
}

impl LakeLocation {
    /// Parse `--lake`: a directory path or an `s3://` URL.
    pub fn parse(s: &str) -> Result<Self> {
        if s.contains("://") {
            let root = Url::parse(s).with_context(|| format!("--lake {s:?} is not a valid URL"))?;
            anyhow::ensure!(
                matches!(root.scheme(), "s3" | "s3a"),
                "--lake {s:?}: a lake is a directory or an s3:// URL"
            );
            deltalake::aws::register_handlers(None);
            let root = if root.path().ends_with('/') {
                root
            } else {
                Url::parse(&format!("{s}/"))?
            };
            let mut options = HashMap::new();
            // An http:// endpoint (a local S3-compatible store) must be allowed explicitly.
            if std::env::var("AWS_ENDPOINT_URL").is_ok_and(|e| e.starts_with("http://")) {
                options.insert("AWS_ALLOW_HTTP".to_string(), "true".to_string());
            }
            return Ok(LakeLocation {
                root,
                local: None,
                options,
            });
        }
        let path = std::path::absolute(s).with_context(|| format!("--lake {s:?}"))?;
        let root = Url::from_directory_path(&path)
            .map_err(|_| anyhow!("--lake {s:?} is not a usable directory path"))?;
        Ok(LakeLocation {
            root,
            local: Some(path),
            options: HashMap::new(),
        })
    }

    /// Take the single-writer lock (SPEC §4), before any table is loaded: a writer that loaded
    /// a table and then waited for the lock would commit on a stale state (two ingests started
    /// together on a new lake each created the tables; the second's commits then failed). A local
    /// lake's folder is created here when missing; a missing lake to rewrite is left for
    /// [`Lake::open`] to report.
    pub fn lock(&self, create: bool) -> Result<LakeLock> {
        let Some(p) = self.local_path() else {
            return Ok(LakeLock::none());
        };
        if !create && !p.is_dir() {
            return Ok(LakeLock::none());
        }
        std::fs::create_dir_all(p)
            .with_context(|| format!("cannot create the lake directory {}", p.display()))
            .map_err(crate::error::Error::of_lake)?;
        LakeLock::acquire(p)
    }

    /// Write a lake on S3 with SSE-KMS under `key` (SPEC §4); no effect on a local lake.
    pub fn with_kms_key(mut self, key: Option<&str>) -> Self {
        if let (None, Some(k)) = (&self.local, key)
            && !self.options.contains_key("aws_sse_kms_key_id")
        {
            self.options
                .insert("aws_server_side_encryption".into(), "aws:kms".into());
            self.options.insert("aws_sse_kms_key_id".into(), k.into());
        }
        self
    }

    /// The SSE-KMS key this location writes with, if any.
    pub fn kms_key(&self) -> Option<&str> {
        self.options.get("aws_sse_kms_key_id").map(String::as_str)
    }

    /// Keep writing an existing lake on S3 under the key it was written with, whatever the
    /// source of this run (a local directory has no key; another bucket has another). The key
    /// is read from the lake's first commit; `--lake-kms-key` still wins. A new lake, or a
    /// first commit written without SSE-KMS, changes nothing.
    pub async fn with_existing_kms_key(self) -> Self {
        if self.local.is_some() || self.kms_key().is_some() {
            return self;
        }
        match existing_kms_key(&self).await {
            Ok(key) => self.with_kms_key(key.as_deref()),
            Err(e) => {
                tracing::warn!(
                    "cannot read the lake's KMS key ({e:#}); new files get the bucket's default encryption unless --lake-kms-key is given"
                );
                self
            }
        }
    }

    fn builder(&self, url: &Url) -> Result<DeltaTableBuilder> {
        Ok(DeltaTableBuilder::from_url(url.clone())?.with_storage_options(self.options.clone()))
    }

    pub fn local_path(&self) -> Option<&Path> {
        self.local.as_deref()
    }

    /// Whether table `t` of a local lake has no Delta log (checked before loading: delta-rs logs
    /// a failed load as an error). Always false on S3, where only a load can tell.
    pub(super) fn lacks_local(&self, t: Table) -> bool {
        self.local_path()
            .is_some_and(|p| !p.join(t.name()).join("_delta_log").exists())
    }

    pub fn table_url(&self, t: Table) -> Result<Url> {
        self.root
            .join(&format!("{}/", t.name()))
            .with_context(|| format!("table URL for {}", t.name()))
    }

    pub fn display(&self) -> String {
        match &self.local {
            Some(p) => p.display().to_string(),
            None => self.root.to_string(),
        }
    }
}

/// The SSE-KMS key of the lake's first `events` commit (None: a new lake, or no SSE-KMS).
async fn existing_kms_key(location: &LakeLocation) -> Result<Option<String>> {
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    let url = location.table_url(Table::Events)?;
    let bucket = url
        .host_str()
        .ok_or_else(|| anyhow!("{url} names no bucket"))?;
    let key = format!(
        "{}_delta_log/00000000000000000000.json",
        url.path().trim_start_matches('/')
    );
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let s3 = aws_sdk_s3::config::Builder::from(&conf)
        .force_path_style(std::env::var_os("AWS_ENDPOINT_URL").is_some())
        .build();
    let client = aws_sdk_s3::Client::from_conf(s3);
    match client.head_object().bucket(bucket).key(&key).send().await {
        Ok(head) => Ok(head.ssekms_key_id().map(str::to_string)),
        Err(e) if matches!(e.as_service_error(), Some(HeadObjectError::NotFound(_))) => Ok(None),
        Err(e) => Err(anyhow!("HeadObject s3://{bucket}/{key}: {e}")),
    }
}

/// The lake is as sensitive as the trail: every file and folder a writing verb (ingest,
/// compact, vacuum) creates is owner-only, 0600 in 0700 folders (SPEC §4). delta-rs and
/// object_store create files with the process's mask, so the mask is where it is enforced.
pub fn owner_only() {
    // SAFETY: umask only changes this process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// The tokio runtime for work on the lake (ingest and the read verbs). delta-rs and object_store
/// do their file I/O on tokio's blocking threads, and every thread that ever ran keeps an
/// allocator heap (see `alloc`): unbounded, the pool grew to 60 threads and a quarter more memory
/// on a 4 GiB ingest, and to a dozen threads and 1.5× the memory in a `sessions` run. Four,
/// because delta's snapshot loading blocks one blocking thread on another (with one it
/// deadlocks); tables are loaded one at a time (`read::LakeSchema` holds a lock while it loads).
pub fn runtime() -> tokio::runtime::Builder {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all().max_blocking_threads(4);
    b
}

/// The order of the rows in every `events` file within its `dt` (SPEC §3: statistics prune by
/// account and time), ascending, a row without an account first. `sorted_runs` writes it and
/// `compact` merges by it.
const EVENTS_ORDER: [&str; 4] = ["recipientaccountid", "eventtime", "_source", "_record"];

/// What one ingest batch adds: its events (any number of batches) and its index rows.
#[derive(Default)]
pub struct Batch {
    pub events: Vec<RecordBatch>,
    pub objects: Vec<RecordBatch>,
    pub rejects: Vec<RecordBatch>,
    pub digests: Vec<RecordBatch>,
}

/// The rows of one `dt` partition as (batch, row) pairs, the index form `interleave` takes.
type Run = (String, Vec<(usize, usize)>);

/// The rows of `batches` in (dt, recipientaccountid, eventtime, _source, _record) order, cut into
/// runs of one `dt`.
fn sorted_runs(batches: &[RecordBatch]) -> Result<Vec<Run>> {
    use arrow::array::{Array, AsArray, Int64Array, TimestampMicrosecondArray};
    struct Cols<'a> {
        dt: &'a arrow::array::StringArray,
        acct: &'a arrow::array::StringArray,
        time: &'a TimestampMicrosecondArray,
        src: &'a arrow::array::StringArray,
        rec: &'a Int64Array,
    }
    let cols = batches
        .iter()
        .map(|b| {
            let col = |name: &str| {
                b.column_by_name(name)
                    .ok_or_else(|| anyhow!("events batch without {name}"))
            };
            let string = |name: &str| {
                col(name)?
                    .as_string_opt::<i32>()
                    .ok_or_else(|| anyhow!("{name} is not text"))
            };
            Ok(Cols {
                dt: string("dt")?,
                acct: string(EVENTS_ORDER[0])?,
                time: col(EVENTS_ORDER[1])?
                    .as_any()
                    .downcast_ref::<TimestampMicrosecondArray>()
                    .ok_or_else(|| anyhow!("eventtime is not a timestamp"))?,
                src: string(EVENTS_ORDER[2])?,
                rec: col(EVENTS_ORDER[3])?
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .ok_or_else(|| anyhow!("_record is not an integer"))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // Day and account compare as ranks, not text (comparing text was a tenth of the writer's
    // time): ids in first-seen order while the keys are built, mapped to ranks before the sort.
    let mut dts = Ranks::default();
    let mut accts = Ranks::default();
    let mut keys = Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
    for (bi, c) in cols.iter().enumerate() {
        for i in 0..c.dt.len() {
            // Accounts count from 1: a row without one sorts first, as None did.
            let acct = if c.acct.is_null(i) {
                0
            } else {
                accts.id(c.acct.value(i)) + 1
            };
            keys.push((
                dts.id(c.dt.value(i)),
                acct,
                c.time.value(i),
                c.src.value(i),
                c.rec.value(i),
                bi,
                i,
            ));
        }
    }
    let (dt_rank, dt_names) = dts.order();
    let (acct_rank, _) = accts.order();
    for k in &mut keys {
        k.0 = dt_rank[k.0 as usize];
        if k.1 > 0 {
            k.1 = acct_rank[k.1 as usize - 1] + 1;
        }
    }
    keys.sort_unstable();
    let mut runs: Vec<Run> = Vec::new();
    for (dt, _, _, _, _, b, i) in keys {
        let dt = dt_names[dt as usize];
        match runs.last_mut() {
            Some((d, rows)) if d == dt => rows.push((b, i)),
            _ => runs.push((dt.to_string(), vec![(b, i)])),
        }
    }
    Ok(runs)
}

/// Small ids for the distinct values of a text column, then their ranks in sorted order.
#[derive(Default)]
struct Ranks<'a> {
    ids: HashMap<&'a str, u32>,
    names: Vec<&'a str>,
    last: Option<(&'a str, u32)>,
}

impl<'a> Ranks<'a> {
    fn id(&mut self, v: &'a str) -> u32 {
        // Neighbouring rows mostly share their day and account: skip the hash for them.
        if let Some((l, id)) = self.last
            && l == v
        {
            return id;
        }
        let names = &mut self.names;
        let id = *self.ids.entry(v).or_insert_with(|| {
            names.push(v);
            names.len() as u32 - 1
        });
        self.last = Some((v, id));
        id
    }

    /// Each id's rank, and the values in rank order.
    fn order(self) -> (Vec<u32>, Vec<&'a str>) {
        let mut by_value: Vec<u32> = (0..self.names.len() as u32).collect();
        by_value.sort_unstable_by_key(|&id| self.names[id as usize]);
        let mut rank = vec![0; by_value.len()];
        for (r, &id) in by_value.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        let sorted = by_value.iter().map(|&id| self.names[id as usize]).collect();
        (rank, sorted)
    }
}

/// Cut the runs into parts of about equal size, at least one per encoder thread for a large
/// batch, so that every thread encodes a file; small runs stay whole (fewer, larger files).
fn split_runs(runs: &[Run], threads: usize) -> Vec<(&str, &[(usize, usize)])> {
    let total: usize = runs.iter().map(|(_, r)| r.len()).sum();
    let target = total.div_ceil(threads.max(1)).max(MIN_PART_ROWS);
    let mut parts = Vec::new();
    for (dt, rows) in runs {
        let n = rows.len().div_ceil(target).max(1);
        for c in rows.chunks(rows.len().div_ceil(n).max(1)) {
            parts.push((dt.as_str(), c));
        }
    }
    parts
}

/// Rows below which a run is not split across encoders: a file per thread is only worth it when
/// each has real work.
const MIN_PART_ROWS: usize = 16 * 1024;

/// The files written for each index table.
type IndexAdds = Vec<(Table, Vec<Add>)>;

/// An open lake.
pub struct Lake {
    pub location: LakeLocation,
    tables: HashMap<Table, DeltaTable>,
}

fn writer_properties() -> WriterProperties {
    use parquet::file::properties::EnabledStatistics;
    use parquet::schema::types::ColumnPath;
    // Row groups ≤ 64k rows keep `_raw` pages and memory bounded. zstd(1) where the bytes are
    // (higher levels gained nothing: docs/DESIGN.md, "Stage costs"); LZ4 for the other columns,
    // which are dictionary codes, flags and times of a few bytes a row: parquet makes a zstd
    // context per column chunk, and for some sixty small columns per file those cost more than
    // they saved (4% of an ingest, for a lake 3% smaller).
    let zstd = Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default());
    let mut b = WriterProperties::builder()
        .set_compression(Compression::LZ4_RAW)
        .set_max_row_group_row_count(Some(64 * 1024))
        .set_column_compression(ColumnPath::from("useragent"), zstd)
        .set_column_dictionary_enabled(ColumnPath::from("_record"), false)
        .set_column_statistics_enabled(ColumnPath::from("_record"), EnabledStatistics::None);
    // Record text, JSON documents and unique ids: the bytes of a file. A dictionary never pays
    // off (every value is new) and min/max statistics prune nothing, yet both hash or compare
    // every byte; they were a fifth of the writer's time.
    for c in [
        "_raw",
        "requestparameters",
        "responseelements",
        "additionaleventdata",
        "serviceeventdetails",
        "edgedevicedetails",
        "insightdetails",
        "errormessage",
        "eventid",
        "requestid",
        "sharedeventid",
        "body",
        "detail",
        "raw",
    ] {
        b = b
            .set_column_compression(ColumnPath::from(c), zstd)
            .set_column_dictionary_enabled(ColumnPath::from(c), false)
            .set_column_statistics_enabled(ColumnPath::from(c), EnabledStatistics::None);
    }
    b.build()
}

/// A writer of `table`'s files with the lake's Parquet settings.
fn file_writer(table: &DeltaTable) -> Result<RecordBatchWriter> {
    Ok(RecordBatchWriter::for_table(table)?
        .with_writer_properties(writer_properties())
        .with_target_file_size(512 << 20))
}

async fn open_table(location: &LakeLocation, url: Url) -> Result<DeltaTable> {
    let mut t = location.builder(&url)?.build()?;
    t.load()
        .await
        .with_context(|| format!("cannot open the Delta table at {url}"))?;
    Ok(t)
}

impl Lake {
    /// Open an existing lake for reading. Only `events` is loaded here (proving the lake is
    /// there); queries load the others when they name them (`register`), `compact` through
    /// `load_index_tables`.
    pub async fn open(location: LakeLocation) -> Result<Lake> {
        let url = location.table_url(Table::Events)?;
        let events = open_table(&location, url).await.map_err(|e| {
            anyhow!(
                "no trailglass lake at {} ({e:#}); run `trailglass ingest SOURCE` first or pass --lake",
                location.display()
            )
        })?;
        Ok(Lake {
            location,
            tables: HashMap::from([(Table::Events, events)]),
        })
    }

    /// Open an existing lake to rewrite it (compact, vacuum): on S3, new files carry the key
    /// the lake was written with.
    pub async fn open_for_writing(location: LakeLocation) -> Result<Lake> {
        Lake::open(location.with_existing_kms_key().await).await
    }

    /// Load the index tables of a lake opened with [`Lake::open`]; `identity_events` may be
    /// missing from an older lake.
    pub async fn load_index_tables(&mut self) -> Result<()> {
        for t in Table::AUX {
            if self.tables.contains_key(&t) {
                continue;
            }
            if t == Table::IdentityEvents && self.location.lacks_local(t) {
                continue;
            }
            match open_table(&self.location, self.location.table_url(t)?).await {
                Ok(table) => {
                    self.tables.insert(t, table);
                }
                Err(_) if t == Table::IdentityEvents => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Open the lake for writing, creating missing tables (owner-only on a local disk).
    pub async fn open_or_create(location: LakeLocation) -> Result<Lake> {
        if let Some(p) = location.local_path() {
            std::fs::create_dir_all(p)
                .with_context(|| format!("cannot create the lake directory {}", p.display()))?;
        }
        let mut tables = HashMap::new();
        for t in Table::ALL {
            let url = location.table_url(t)?;
            if let Some(p) = location.local_path() {
                let dir = p.join(t.name());
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let mut table = location.builder(&url)?.build()?;
            // A missing log is a new table (checked first: delta-rs logs a failed load as an error).
            if location.lacks_local(t) || table.load().await.is_err() {
                let schema: StructType =
                    deltalake::kernel::engine::arrow_conversion::TryIntoKernel::try_into_kernel(
                        t.schema().as_ref(),
                    )?;
                let columns: Vec<StructField> = schema.fields().cloned().collect();
                table = CreateBuilder::new()
                    .with_location(url.to_string())
                    .with_storage_options(location.options.clone())
                    .with_table_name(t.name())
                    .with_columns(columns)
                    .with_partition_columns(t.partitions())
                    .with_configuration_property(
                        TableProperty::DataSkippingStatsColumns,
                        Some(t.stats_columns()),
                    )
                    .with_save_mode(SaveMode::Ignore)
                    .await
                    .with_context(|| format!("cannot create the Delta table {url}"))?;
            }
            tables.insert(t, table);
        }
        Ok(Lake { location, tables })
    }

    pub fn table(&self, t: Table) -> Result<&DeltaTable> {
        self.tables
            .get(&t)
            .ok_or_else(|| anyhow!("the lake has no {} table", t.name()))
    }

    /// The index tables this lake has (`identity_events` may be missing from an older lake).
    fn aux_tables(&self) -> Vec<Table> {
        Table::AUX
            .into_iter()
            .filter(|t| self.tables.contains_key(t))
            .collect()
    }

    /// Append `batches` to `t` as one commit numbered after the table's last (a table outside
    /// ingest's batches, such as `integrity`); returns that number.
    pub async fn append(&mut self, t: Table, batches: &[RecordBatch]) -> Result<i64> {
        let n = self.batch_version(t).await? + 1;
        let adds = self.write_files(t, batches).await?;
        self.commit_table(t, adds, n, None).await?;
        Ok(n)
    }

    /// The last batch number whose events are committed (0 when none).
    /// The current Delta version of table `t`, read from the store now (not from what this
    /// `Lake` loaded); `None` when the lake has no such table (a lake from before it).
    pub async fn current_version(&self, t: Table) -> Result<Option<i64>> {
        if self.location.lacks_local(t) {
            return Ok(None);
        }
        let mut table = self
            .location
            .builder(&self.location.table_url(t)?)?
            .build()?;
        if table.load().await.is_err() {
            return Ok(None);
        }
        Ok(table.version().and_then(|v| i64::try_from(v).ok()))
    }

    pub async fn batch_version(&self, t: Table) -> Result<i64> {
        read::batch_of(self.table(t)?).await
    }

    /// Finish the index-table commits of batches whose events commit landed before a crash.
    /// Returns how many aux commits were replayed.
    pub async fn recover(&mut self) -> Result<usize> {
        let events_v = self.batch_version(Table::Events).await?;
        let mut behind = Vec::new();
        for t in self.aux_tables() {
            let aux_v = self.batch_version(t).await?;
            if aux_v < events_v {
                behind.push((t, aux_v));
            }
        }
        if behind.is_empty() {
            return Ok(0);
        }
        let meta = self.batch_metadata().await?;
        let mut replayed = 0;
        for (t, aux_v) in behind {
            // An empty identity_events beside a lake with batches: a lake from before the
            // table (its batches record no adds for it), or one whose index was deleted. It is
            // built from `events` once, as of the last batch.
            if t == Table::IdentityEvents {
                if aux_v == 0 {
                    self.build_identity_events(events_v).await?;
                    continue;
                }
                let predates = |n: &i64| {
                    meta.get(n)
                        .and_then(|m| m.get(t.name()))
                        .is_none_or(Value::is_null)
                };
                if let Some(n) = ((aux_v + 1)..=events_v).find(predates) {
                    bail!(
                        "the identity_events table lacks batch {n}, which recorded no files for it; delete {} and run ingest again to rebuild it from events",
                        self.location.table_url(t)?
                    );
                }
            }
            for n in (aux_v + 1)..=events_v {
                let adds: Vec<Add> = match meta.get(&n).and_then(|m| m.get(t.name())) {
                    Some(v) => serde_json::from_value(v.clone())
                        .with_context(|| format!("batch {n}: recorded {} adds", t.name()))?,
                    None => Vec::new(),
                };
                tracing::warn!(
                    table = t.name(),
                    batch = n,
                    files = adds.len(),
                    "completing an ingest batch interrupted after its events commit"
                );
                self.commit_table(t, adds, n, None).await?;
                replayed += 1;
            }
        }
        Ok(replayed)
    }

    /// The aux adds recorded in each events commit, by batch number.
    async fn batch_metadata(&self) -> Result<HashMap<i64, Value>> {
        let table = self.table(Table::Events)?;
        let mut out = HashMap::new();
        let mut history = table.history(None);
        while let Some(ci) = history.next().await {
            let ci = ci?;
            if let Some(tg) = ci.info.get("trailglass")
                && let Some(n) = tg.get("batch").and_then(Value::as_i64)
            {
                out.insert(n, tg.get("aux").cloned().unwrap_or(Value::Null));
            }
        }
        Ok(out)
    }

    async fn write_files(&self, t: Table, batches: &[RecordBatch]) -> Result<Vec<Add>> {
        if batches.iter().all(|b| b.num_rows() == 0) {
            return Ok(Vec::new());
        }
        let mut w = file_writer(self.table(t)?)?;
        for b in batches.iter().filter(|b| b.num_rows() > 0) {
            w.write(b.clone())
                .await
                .with_context(|| format!("writing {} files", t.name()))?;
        }
        Ok(w.flush().await?)
    }

    /// Write every file of a batch: the events files sorted by (account, time) within each `dt`
    /// so Parquet statistics prune by both (SPEC §3), one file per part, and the index tables'
    /// files, all encoded in parallel on `encoders`. Encoding is a third of an ingest's work; the
    /// index tables written one after another on the committing thread held the pipeline back.
    /// Rows are gathered straight from the decoded batches a slice at a time: one copy of each
    /// row, never a whole batch at once. Returns the events adds and each index table's adds.
    fn write_batch(
        &self,
        batch: &Batch,
        encoders: &rayon::ThreadPool,
    ) -> Result<(Vec<Add>, IndexAdds)> {
        use rayon::prelude::*;
        enum Job<'a> {
            Events(&'a str, &'a [(usize, usize)]),
            Index(Table),
        }
        let runs = sorted_runs(&batch.events)?;
        let mut jobs: Vec<Job> = split_runs(&runs, encoders.current_num_threads())
            .into_iter()
            .map(|(dt, rows)| Job::Events(dt, rows))
            .collect();
        jobs.extend(self.aux_tables().into_iter().map(Job::Index));
        let events_table = self.table(Table::Events)?;
        let refs: Vec<&RecordBatch> = batch.events.iter().collect();
        let handle = tokio::runtime::Handle::current();
        let run = |job: &Job| -> Result<Vec<Add>> {
            handle.block_on(async {
                match *job {
                    Job::Events(dt, rows) => {
                        let mut w = file_writer(events_table)?;
                        let part =
                            deltalake::DeltaTablePartition::try_from(format!("dt={dt}").as_str())?;
                        let values = indexmap::IndexMap::from([(part.key, part.value)]);
                        for slice in rows.chunks(8 * 1024) {
                            let b = arrow::compute::interleave_record_batch(&refs, slice)?;
                            w.write_partition(b, &values, deltalake::writer::WriteMode::Default)
                                .await
                                .context("writing events files")?;
                        }
                        Ok(w.flush().await?)
                    }
                    Job::Index(Table::IdentityEvents) => {
                        let rows = identity_rows(&batch.events)?;
                        self.write_files(Table::IdentityEvents, &rows).await
                    }
                    Job::Index(t) => {
                        let rows = match t {
                            Table::Objects => &batch.objects,
                            Table::Rejects => &batch.rejects,
                            _ => &batch.digests,
                        };
                        self.write_files(t, rows).await
                    }
                }
            })
        };
        // The calling task leaves the runtime while the encoders block on it.
        let written = tokio::task::block_in_place(|| {
            encoders.install(|| jobs.par_iter().map(run).collect::<Vec<_>>())
        });
        let mut events = Vec::new();
        let mut aux = Vec::new();
        for (job, adds) in jobs.iter().zip(written) {
            match job {
                Job::Events(..) => events.extend(adds?),
                Job::Index(t) => aux.push((*t, adds?)),
            }
        }
        Ok((events, aux))
    }

    async fn commit_table(
        &mut self,
        t: Table,
        adds: Vec<Add>,
        batch: i64,
        metadata: Option<Value>,
    ) -> Result<i64> {
        let table = self
            .tables
            .get_mut(&t)
            .ok_or_else(|| anyhow!("no table {}", t.name()))?;
        let mut props = CommitProperties::default()
            .with_application_transaction(Transaction::new(APP_ID, batch));
        if let Some(m) = metadata {
            props = props.with_metadata([("trailglass".to_string(), m)]);
        }
        let partition_by = match t.partitions() {
            p if p.is_empty() => None,
            p => Some(p),
        };
        let op = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by,
            predicate: None,
        };
        let actions = adds.into_iter().map(Action::Add).collect();
        let span = tracing::debug_span!("commit", table = t.name(), batch);
        let finalized = tracing::Instrument::instrument(
            CommitBuilder::from(props)
                .with_actions(actions)
                .build(Some(table.snapshot()?), table.log_store(), op)
                .into_future(),
            span,
        )
        .await
        .with_context(|| format!("committing to the {} table", t.name()))?;
        let version = finalized.version() as i64;
        // The commit's post-commit step has already brought a copy of the snapshot up to this
        // version; loading it again (`update_state`) replayed the log a second time, and that
        // replay grows with every file in the table.
        table.state = Some(finalized.snapshot);
        crate::fault::point(&format!("after_commit_{}", t.name()));
        Ok(version)
    }

    /// The number the next committed batch will carry.
    pub async fn next_batch(&self) -> Result<i64> {
        Ok(self.batch_version(Table::Events).await? + 1)
    }

    /// Write and commit batch `n` (from [`Lake::next_batch`]) with the protocol above.
    /// `written` is called once the batch's files are written and its rows freed.
    pub async fn commit(
        &mut self,
        batch: Batch,
        n: i64,
        encoders: &rayon::ThreadPool,
        written: impl FnOnce(),
    ) -> Result<i64> {
        if n != self.next_batch().await? {
            return Err(crate::error::Error::Internal(format!("batch {n} is out of order")).into());
        }
        let (events, aux_adds) = self.write_batch(&batch, encoders)?;
        // Its files are written, not committed: a full disk here leaves only orphans.
        crate::fault::io(&format!("enospc_batch_{n}"))
            .with_context(|| format!("writing the files of batch {n}"))?;
        // Its rows are in the files now; the commits below take a while, and the next batch is
        // being gathered meanwhile.
        drop(batch);
        written();
        crate::fault::point("after_events_files");
        let mut aux = serde_json::Map::new();
        for (t, adds) in &aux_adds {
            aux.insert(t.name().to_string(), serde_json::to_value(adds)?);
        }
        crate::fault::point("before_events_commit");
        self.commit_table(
            Table::Events,
            events,
            n,
            Some(json!({"batch": n, "aux": aux})),
        )
        .await?;
        for (t, adds) in aux_adds {
            self.commit_table(t, adds, n, None).await?;
        }
        Ok(n)
    }

    /// Make the lake's tables visible to a DataFusion session (read through delta-rs, never a
    /// listing), each loaded when a statement first names it. `as_of` pins `events` to a Delta
    /// version. `identity_events` is read from its own files only when it holds every batch of
    /// the `events` read (not for `as_of`); otherwise it is a view over `events` (slower, exact).
    pub async fn register(
        &self,
        ctx: &datafusion::prelude::SessionContext,
        as_of: Option<i64>,
    ) -> Result<()> {
        self.register_range(ctx, as_of, read::ScanRange::default())
            .await
    }

    /// Build `identity_events` from every row of `events` and commit it as of batch `n`, the
    /// last batch of `events` (a lake from before the table; the caller holds the lock).
    async fn build_identity_events(&mut self, n: i64) -> Result<()> {
        tracing::warn!(
            batch = n,
            "building the identity_events index from the events already in the lake (once)"
        );
        let ctx = datafusion::prelude::SessionContext::new();
        let events = self.table(Table::Events)?;
        events.update_datafusion_session(&ctx.state())?;
        let view = read::identity_view(events.table_provider().await?)?;
        let mut stream = ctx.read_table(view)?.execute_stream().await?;
        let target = schema::identity_events();
        let mut w = file_writer(self.table(Table::IdentityEvents)?)?;
        while let Some(b) = stream.next().await {
            w.write(cast_to(&b?, &target)?)
                .await
                .context("writing identity_events files")?;
        }
        let adds = w.flush().await?;
        self.commit_table(Table::IdentityEvents, adds, n, None)
            .await?;
        Ok(())
    }
}

/// A batch read back from the lake (text as views, `dt` as the provider gives it) in `schema`'s
/// types, for writing.
fn cast_to(b: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let c = b
                .column_by_name(f.name())
                .ok_or_else(|| anyhow!("no column {} in the rows read", f.name()))?;
            Ok(arrow::compute::cast(c, f.data_type())?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// The `identity_events` rows of a batch's events: those of `IDENTITY_SOURCES`, without `_raw`
/// (dropped before the filter, which would otherwise copy the kept rows' text).
fn identity_rows(events: &[RecordBatch]) -> Result<Vec<RecordBatch>> {
    use arrow::array::{AsArray, BooleanArray};
    let target = schema::identity_events();
    let mut out = Vec::new();
    for b in events {
        let source = b
            .column_by_name("eventsource")
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or_else(|| anyhow!("events batch without eventsource text"))?;
        let keep: BooleanArray = source
            .iter()
            .map(|s| Some(s.is_some_and(|s| schema::IDENTITY_SOURCES.contains(&s))))
            .collect();
        if keep.true_count() == 0 {
            continue;
        }
        let projected = cast_to(b, &target)?;
        out.push(arrow::compute::filter_record_batch(&projected, &keep)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each table is created from its schema in `schema.rs`, and reads back as exactly that: the
    /// same columns by name, in order, with the same types and nullability.
    #[test]
    fn every_tables_delta_schema_is_its_schema() -> Result<()> {
        use deltalake::kernel::engine::arrow_conversion::TryIntoArrow;
        let dir = tempfile::tempdir()?;
        let rt = tokio::runtime::Runtime::new()?;
        let lake = rt.block_on(Lake::open_or_create(LakeLocation::parse(
            &dir.path().display().to_string(),
        )?))?;
        for t in Table::ALL {
            let delta = lake.table(t)?.snapshot()?.schema();
            let delta: arrow::datatypes::Schema = delta.as_ref().try_into_arrow()?;
            let ours = t.schema();
            let names = |s: &arrow::datatypes::Schema| -> Vec<String> {
                s.fields().iter().map(|f| f.name().clone()).collect()
            };
            assert_eq!(names(&delta), names(&ours), "{}", t.name());
            for f in ours.fields() {
                let (_, d) = delta.fields().find(f.name()).expect("same names");
                assert_eq!(d.data_type(), f.data_type(), "{}.{}", t.name(), f.name());
                assert_eq!(
                    d.is_nullable(),
                    f.is_nullable(),
                    "{}.{}",
                    t.name(),
                    f.name()
                );
            }
        }
        Ok(())
    }

    #[test]
    fn runs_split_into_parts_per_encoder_only_when_large() {
        let rows = |n: usize| (0..n).map(|i| (0, i)).collect::<Vec<_>>();
        let runs: Vec<Run> = vec![
            ("2026-03-01".into(), rows(1_000)),
            ("2026-03-02".into(), rows(60_000)),
        ];
        let parts = split_runs(&runs, 2);
        let sizes: Vec<(&str, usize)> = parts.iter().map(|(d, r)| (*d, r.len())).collect();
        // 61k rows on 2 threads: parts of at most 30.5k rows; the small day stays whole.
        assert_eq!(
            sizes,
            [
                ("2026-03-01", 1_000),
                ("2026-03-02", 30_000),
                ("2026-03-02", 30_000)
            ]
        );
        // A small batch is never split, whatever the thread count.
        let small: Vec<Run> = vec![("2026-03-01".into(), rows(10_000))];
        assert_eq!(split_runs(&small, 8).len(), 1);
        // Every row lands in exactly one part.
        let total: usize = split_runs(&runs, 3).iter().map(|(_, r)| r.len()).sum();
        assert_eq!(total, 61_000);
    }
}
