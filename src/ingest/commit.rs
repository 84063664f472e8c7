//! The write and commit stages: a writer thread takes each gathered batch, adds the next digest
//! files to it, writes its files and commits it to the lake (the protocol is in `lake`).

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use anyhow::Result;
use arrow::array::Int64Array;
use arrow::record_batch::RecordBatch;

use super::digests::digest_rows;
use super::gather::{Held, PendingBatch, Release};
use super::list::{DIGEST_BYTES_ALONE, DIGEST_BYTES_PER_BATCH, Known, take_digests};
use crate::error::Error;
use crate::lake::{Lake, Table};
use crate::source::{DigestRef, Source};

/// What the writer thread committed.
#[derive(Default)]
pub(super) struct Written {
    pub(super) batches: Vec<i64>,
    pub(super) digests: usize,
    /// Digest objects that could not be read.
    pub(super) failed: Vec<(String, String)>,
}

async fn commit(
    lake: &mut Lake,
    pending: PendingBatch,
    encoders: &rayon::ThreadPool,
    written: impl FnOnce(),
) -> Result<i64> {
    let n = lake.next_batch().await?;
    let mut batch = pending.finish(n)?;
    batch.objects = fit_objects(lake, batch.objects)?;
    // Digest rows are built before their batch number is known.
    batch.digests = batch
        .digests
        .into_iter()
        .map(|d| with_batch_column(d, n))
        .collect::<Result<_>>()?;
    lake.commit(batch, n, encoders, written).await
}

/// Objects rows as the lake's `objects` table takes them: a lake written before `text_sha256`
/// existed has no such column, and gets rows without it (its hashes stay unknown, read as null).
fn fit_objects(lake: &Lake, objects: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
    let table = lake.table(Table::Objects)?.snapshot()?.schema();
    if table.field("text_sha256").is_some() {
        return Ok(objects);
    }
    objects
        .into_iter()
        .map(|b| {
            let keep: Vec<usize> = (0..b.num_columns())
                .filter(|&i| b.schema().field(i).name() != "text_sha256")
                .collect();
            Ok(b.project(&keep)?)
        })
        .collect()
}

fn with_batch_column(b: RecordBatch, n: i64) -> Result<RecordBatch> {
    let schema = b.schema();
    let i = schema.index_of("batch")?;
    let mut cols = b.columns().to_vec();
    cols[i] = Arc::new(Int64Array::from(vec![n; b.num_rows()]));
    Ok(RecordBatch::try_new(schema, cols)?)
}

/// What the writer thread works with.
pub(super) struct Writer<'a> {
    pub(super) lake: &'a mut Lake,
    pub(super) rt: &'a tokio::runtime::Runtime,
    /// Encodes the Parquet files.
    pub(super) pool: &'a rayon::ThreadPool,
    pub(super) source: &'a dyn Source,
    pub(super) known_digests: &'a Known,
    pub(super) bucket: &'a Option<String>,
    pub(super) held: &'a Held,
    pub(super) started: Instant,
}

impl Writer<'_> {
    /// Commit each batch as it comes, with the next few digests; digests left when the logs are
    /// done get batches of their own.
    pub(super) fn run(
        self,
        batches: Receiver<PendingBatch>,
        mut digests: &[DigestRef],
    ) -> Result<Written> {
        let Writer {
            lake,
            rt,
            pool,
            source,
            known_digests,
            bucket,
            held,
            started,
        } = self;
        let mut w = Written::default();
        let mut batches = batches.into_iter();
        loop {
            let batch = batches.next();
            if batch.is_none() && digests.is_empty() {
                return Ok(w);
            }
            let limit = match batch {
                Some(_) => DIGEST_BYTES_PER_BATCH,
                None => DIGEST_BYTES_ALONE,
            };
            let mut batch = batch.unwrap_or_else(|| PendingBatch::new(bucket.clone()));
            let group = take_digests(&mut digests, limit);
            if !group.is_empty() {
                batch.digests = digest_rows(source, group, known_digests, bucket, &mut w.failed);
                w.digests += batch.digests.iter().map(|b| b.num_rows()).sum::<usize>();
            }
            if batch.is_empty() {
                continue;
            }
            held.set(batch.text_bytes);
            let _release = Release(held);
            tracing::debug!(
                ms = started.elapsed().as_millis(),
                "ingest stage: batch to the writer"
            );
            let span = tracing::info_span!(
                "batch",
                objects = batch.o_count,
                rejects = batch.r_count,
                text_bytes = batch.text_bytes
            );
            let n = rt
                .block_on(tracing::Instrument::instrument(
                    commit(lake, batch, pool, || {
                        tracing::debug!(
                            ms = started.elapsed().as_millis(),
                            "ingest stage: batch files written"
                        );
                        held.set(0)
                    }),
                    span.clone(),
                ))
                .map_err(Error::of_lake)?;
            span.in_scope(|| {
                tracing::info!(batch = n, ms = started.elapsed().as_millis(), "committed")
            });
            w.batches.push(n);
        }
    }
}
