//! `compact` (SPEC §4): rewrite the small files of each `dt` partition of `events` as one sorted run.
//!
//! Ingest commits one file per day per batch, so a day soon has dozens of small files, and every
//! scan pays for opening each of them. Compaction merges them without changing any row: every
//! file is already sorted by (account, time, `_source`, `_record`) (see `sorted_runs`), so a
//! streaming k-way merge (DataFusion's, one small batch per input file in memory) yields the
//! day's rows in that order, written with the lake's usual writer. The new files and the removal
//! of the old ones are one Delta commit (`dataChange: false`): a reader sees the old files or the
//! new ones, never both; a crash before the commit leaves only unreferenced files. Old versions
//! stay readable (`--as-of`), as nothing is vacuumed.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, ensure};
use arrow::compute::SortOptions;
use datafusion::datasource::physical_plan::parquet::{
    DefaultParquetFileReaderFactory, ParquetFileReaderFactory,
};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, UnboundedMemoryPool};
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr, expressions::col};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet};
use datafusion::physical_plan::sorts::streaming_merge::StreamingMergeBuilder;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Remove};
use deltalake::protocol::DeltaOperation;
use deltalake::writer::DeltaWriter;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectMeta;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::async_reader::AsyncFileReader;

use super::{EVENTS_ORDER, Lake, Table, file_writer};

/// At most this many files are merged at once: each input holds a batch and a row group's
/// column chunks in memory. A day with more is merged in rounds, one commit each.
const MAX_INPUTS: usize = 32;

/// Files of at least this many bytes are left as they are (the writer's target is 512 MiB).
const SMALL_FILE: u64 = 256 << 20;

/// Rows per batch read from each input (small: there is one per input file in memory).
const INPUT_BATCH_ROWS: usize = 1024;

/// A live file of `events`: where it is, and the action that removes it.
struct LiveFile {
    meta: ObjectMeta,
    remove: Remove,
}

/// What a compaction did.
#[derive(Debug, Default)]
pub struct Compacted {
    /// Partitions (days) rewritten.
    pub partitions: usize,
    pub files_before: usize,
    pub files_after: usize,
    /// Rows rewritten (all of them kept).
    pub rows: u64,
    /// Delta versions of `events` committed (one per merge round).
    pub commits: usize,
    /// Files of `objects`, `rejects` and `digests` merged, and the files that replaced them.
    pub index_files_removed: u64,
    pub index_files_added: u64,
}

impl Lake {
    /// Merge the small files of every `dt` partition of `events` that has more than one. The
    /// caller holds the lake lock.
    pub async fn compact(&mut self) -> Result<Compacted> {
        let mut done = Compacted::default();
        let mut touched = std::collections::BTreeSet::new();
        let mut files = self.events_files().await?;
        done.files_before = files.values().map(Vec::len).sum();
        loop {
            let live = files.values().map(Vec::len).sum();
            // Only small files are merged: a round turns k >= 2 of them into files of which at
            // most the last is small, so the rounds end, and large files are never rewritten.
            let Some((dt, group)) = files.into_iter().find_map(|(dt, f)| {
                let mut small: Vec<LiveFile> =
                    f.into_iter().filter(|f| f.meta.size < SMALL_FILE).collect();
                // Oldest first: merged in rounds, the earliest batches meet first.
                small.sort_by_key(|a| a.meta.last_modified);
                small.truncate(MAX_INPUTS);
                (small.len() > 1).then_some((dt, small))
            }) else {
                done.files_after = live;
                break;
            };
            let inputs = group.len();
            let rows = self.merge_files(&dt, group).await?;
            tracing::info!(dt = %dt, files = inputs, rows, "merged");
            done.rows += rows;
            done.commits += 1;
            touched.insert(dt);
            files = self.events_files().await?;
        }
        done.partitions = touched.len();
        // The index tables get one small file per commit too. Their row order means nothing,
        // so delta-rs's own optimize (bin-packing, one commit per table) suits them.
        for t in self.aux_tables() {
            let (removed, added) = self.compact_index(t).await?;
            done.index_files_removed += removed;
            done.index_files_added += added;
        }
        Ok(done)
    }

    /// Merge the small files of an index table (delta-rs's optimize: bin-packing per partition,
    /// one commit, no application transaction). Returns (files removed, files added). The caller
    /// holds the lake lock.
    pub async fn compact_index(&mut self, t: Table) -> Result<(u64, u64)> {
        let table = self.table(t)?.clone();
        let (table, metrics) = table
            .optimize()
            .with_writer_properties(super::writer_properties())
            .await
            .with_context(|| format!("compacting the {} table", t.name()))?;
        self.tables.insert(t, table);
        Ok((metrics.num_files_removed, metrics.num_files_added))
    }

    /// The live files of `events`, by `dt`.
    async fn events_files(&self) -> Result<BTreeMap<String, Vec<LiveFile>>> {
        let table = self.table(Table::Events)?;
        let snapshot = table.snapshot()?;
        let log_store = table.log_store();
        let mut files = snapshot.snapshot().file_views(log_store.as_ref(), None);
        let mut by_dt: BTreeMap<String, Vec<LiveFile>> = BTreeMap::new();
        while let Some(f) = files.next().await {
            let f = f?;
            let dt = f
                .partition_values_map()
                .get("dt")
                .cloned()
                .flatten()
                .ok_or_else(|| anyhow!("events file {} has no dt partition value", f.path()))?;
            by_dt.entry(dt).or_default().push(LiveFile {
                meta: ObjectMeta::try_from(&f)?,
                remove: f.remove_action(false),
            });
        }
        Ok(by_dt)
    }

    /// Merge `files` (all of partition `dt`) into sorted files and commit the swap. Returns the
    /// rows written, which must equal the rows read or nothing is committed.
    async fn merge_files(&mut self, dt: &str, files: Vec<LiveFile>) -> Result<u64> {
        let table = self.table(Table::Events)?;
        let store = table.log_store().object_store(None);
        let mut streams: Vec<SendableRecordBatchStream> = Vec::with_capacity(files.len());
        let mut schema = None;
        let mut rows_in = 0u64;
        let readers = DefaultParquetFileReaderFactory::new(store);
        let metrics = ExecutionPlanMetricsSet::new();
        for f in &files {
            let name = f.meta.location.to_string();
            // (`dyn AsyncFileReader` is Send already: the trait requires it.)
            let reader: Box<dyn AsyncFileReader> =
                readers.create_reader(0, f.meta.clone().into(), None, &metrics)?;
            let builder = ParquetRecordBatchStreamBuilder::new(reader)
                .await
                .with_context(|| format!("reading events file {name}"))?;
            rows_in += u64::try_from(builder.metadata().file_metadata().num_rows())?;
            let s = builder.schema().clone();
            match &schema {
                None => schema = Some(s.clone()),
                Some(first) => ensure!(
                    first == &s,
                    "the files of dt={dt} have different schemas ({} and {name}); not compacting",
                    files[0].meta.location
                ),
            }
            let stream = builder
                .with_batch_size(INPUT_BATCH_ROWS)
                .build()?
                .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)));
            streams.push(Box::pin(RecordBatchStreamAdapter::new(s, stream)));
        }
        let schema = schema.ok_or_else(|| anyhow!("no files to merge in dt={dt}"))?;

        let asc = SortOptions {
            descending: false,
            nulls_first: true,
        };
        let ordering = LexOrdering::new(
            EVENTS_ORDER
                .into_iter()
                .map(|c| Ok(PhysicalSortExpr::new(col(c, &schema)?, asc)))
                .collect::<Result<Vec<_>>>()?,
        )
        .ok_or_else(|| anyhow!("empty sort order"))?;
        let pool: Arc<dyn MemoryPool> = Arc::new(UnboundedMemoryPool::default());
        let mut merged = StreamingMergeBuilder::new()
            .with_streams(streams)
            .with_schema(schema)
            .with_expressions(&ordering)
            .with_metrics(BaselineMetrics::new(&metrics, 0))
            .with_batch_size(8 * 1024)
            .with_reservation(MemoryConsumer::new("compact").register(&pool))
            .build()?;

        let mut w = file_writer(table)?;
        let part = deltalake::DeltaTablePartition::try_from(format!("dt={dt}").as_str())?;
        let values = indexmap::IndexMap::from([(part.key, part.value)]);
        let mut rows_out = 0u64;
        while let Some(b) = merged.next().await {
            let b = b.with_context(|| format!("merging the files of dt={dt}"))?;
            rows_out += b.num_rows() as u64;
            w.write_partition(b, &values, deltalake::writer::WriteMode::Default)
                .await
                .context("writing compacted events files")?;
        }
        let mut adds = w.flush().await?;
        ensure!(
            rows_out == rows_in,
            "compacting dt={dt} read {rows_in} rows but wrote {rows_out}; nothing was committed"
        );
        crate::fault::point("before_compact_commit");

        let mut actions: Vec<Action> = files
            .into_iter()
            .map(|f| {
                let mut r = f.remove;
                r.deletion_timestamp = Some(chrono::Utc::now().timestamp_millis());
                Action::Remove(r)
            })
            .collect();
        for a in &mut adds {
            a.data_change = false;
        }
        actions.extend(adds.into_iter().map(Action::Add));
        let table = self
            .tables
            .get_mut(&Table::Events)
            .ok_or_else(|| anyhow!("no events table"))?;
        let op = DeltaOperation::Optimize {
            target_size: 512 << 20,
            predicate: Some(format!("dt = '{dt}'")),
        };
        CommitBuilder::from(CommitProperties::default())
            .with_actions(actions)
            .build(Some(table.snapshot()?), table.log_store(), op)
            .await
            .with_context(|| format!("committing the compaction of dt={dt}"))?;
        table.update_state().await?;
        Ok(rows_out)
    }
}
