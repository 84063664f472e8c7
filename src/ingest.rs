//! Ingest: source → decode → lake, incrementally and exactly once per object.
//!
//! Four stages run at once: a reader fetches a remote source's objects in chunks bounded by bytes
//! (overlapping its requests; local files are read by the decoding task instead), a dispatcher
//! cuts them into pieces that the decode threads (rayon) take as they free up, the caller's
//! thread gathers the decoded pieces, in whatever order they finish, into batches of about
//! `batch_bytes` of JSON text, and a writer thread commits each batch to the lake (the commit
//! protocol is in `lake`). A budget of compressed bytes in flight, channels of one slot, and a
//! cap on what the gatherer holds while the writer holds a batch (`Held`) bound what is held, so
//! memory follows the piece and batch sizes, never the size of the source.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use anyhow::{Context, Result};
use arrow::array::{
    ArrayRef, AsArray, Int64Array, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondArray, TimestampMicrosecondBuilder,
};
use arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use sha2::{Digest, Sha256};

use crate::decode::{self, Decoder, Limits, ObjectDecoded, Reject};
use crate::error::Error;
use crate::lake::{Batch, Lake, LakeLocation, Table};
use crate::schema;
use crate::source::{DigestRef, Fetched, Filter, Kind, ObjectRef, Source, classify};

/// Default batch size, in MiB of decompressed JSON (`--batch-size`): 64 peaked past 1 GiB on a
/// 4 GiB trail, 48 did not and ran as fast.
pub const DEFAULT_BATCH_MIB: u64 = 48;

/// Objects per fetch chunk at most, whatever their size.
const CHUNK_OBJECTS: usize = 1024;

/// How an ingest runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub filter: Filter,
    pub limits: Limits,
    /// Commit after about this many bytes of decompressed JSON.
    pub batch_bytes: u64,
    /// Objects are fetched (from S3: requests in flight together) in chunks of at most this many
    /// compressed bytes; the decode pieces are cut from these chunks.
    pub chunk_bytes: u64,
    /// Worker threads for decoding (0: one per core).
    pub threads: usize,
    pub progress: bool,
    /// Incremental listing: re-list each account/region from this many days before its newest
    /// ingested day (None: list everything within the filter, `--rescan`).
    pub lookback_days: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            filter: Filter::default(),
            limits: Limits::default(),
            batch_bytes: DEFAULT_BATCH_MIB << 20,
            chunk_bytes: 1 << 20,
            threads: 0,
            progress: false,
            lookback_days: Some(2),
        }
    }
}

/// What an ingest did.
#[derive(Debug, Default)]
pub struct Summary {
    pub listed: usize,
    pub already_ingested: usize,
    pub ingested_objects: usize,
    pub records: u64,
    pub rejected_objects: usize,
    pub rejected_records: usize,
    pub changed_objects: usize,
    pub digests: usize,
    pub skipped: BTreeMap<&'static str, Vec<String>>,
    /// Objects that could not be read; left out of `objects` so the next run retries them.
    pub failed: Vec<(String, String)>,
    pub compressed_bytes: u64,
    pub text_bytes: u64,
    pub batches: Vec<i64>,
    pub recovered: usize,
    pub seconds: f64,
    pub listed_prefixes: Vec<String>,
    /// The KMS key the source is encrypted under, when the preflight found it.
    pub kms_key: Option<String>,
    /// Preflight problems that did not stop the run.
    pub warnings: Vec<String>,
    /// Objects whose read overran `--object-timeout` (also counted as rejected objects).
    pub timed_out: Vec<String>,
}

impl Summary {
    /// Every reject of the run, `changed_object` included (what `--strict` turns into exit 2).
    pub fn rejects(&self) -> usize {
        self.rejected_objects + self.rejected_records + self.changed_objects
    }
}

/// One object after reading and decoding.
struct Processed {
    object: ObjectRef,
    etag: String,
    sha256: String,
    outcome: Outcome,
}

enum Outcome {
    Known,
    Changed,
    Decoded(ObjectDecoded),
    Failed(String),
    /// Its read overran `--object-timeout`: rejected for this run, retried by the next.
    TimedOut(Reject),
}

/// A run of objects decoded by one task into one batch (their rows, in order).
struct Piece {
    objects: Vec<Processed>,
    batch: Option<RecordBatch>,
    /// In-flight tokens it holds (see `IN_FLIGHT_UNIT`).
    tokens: usize,
}

/// Compressed bytes per decode task (a piece). Small objects share one decoder and one Arrow
/// batch per piece: a piece of 25 of them made batches of a few hundred rows, and the builders,
/// batches and the writer's gather across them cost a twentieth of the run.
const PIECE_BYTES: u64 = 256 << 10;

/// Objects per piece at most, whatever their size (empty objects still cost a request).
const PIECE_OBJECTS: usize = 1024;

/// Compressed bytes of the pieces decoding or decoded but not yet gathered, per decode thread:
/// three small-object pieces, so that a thread never waits for the dispatcher; counted in bytes,
/// not pieces, so that pieces of large objects (several MB of text each) hold no more memory.
const IN_FLIGHT_BYTES_PER_THREAD: u64 = 3 * PIECE_BYTES;

/// The unit in which the in-flight bytes are counted.
const IN_FLIGHT_UNIT: u64 = 64 << 10;

/// Compressed bytes of digest files that a batch of logs carries. Digests were all read before
/// the first batch, and a 4 GiB trail's 312 digests (33 MB of JSON) then held 76 MB until that
/// batch committed; now each batch carries a few.
const DIGEST_BYTES_PER_BATCH: u64 = 256 << 10;

/// The same for the digests left when the logs are done: these batches hold nothing else, and a
/// run of new digests over logs already ingested should not take a commit per few of them.
const DIGEST_BYTES_ALONE: u64 = 4 << 20;

/// Take the digests of the next batch off `digests`: about `bytes` compressed (at least one).
fn take_digests<'a>(digests: &mut &'a [DigestRef], bytes: u64) -> &'a [DigestRef] {
    let n = run_len(digests.iter().map(|d| d.object.size), bytes, usize::MAX);
    let (run, rest) = digests.split_at(n);
    *digests = rest;
    run
}

/// How many of the objects with these compressed `sizes` make the first run of about `bytes`
/// (at least one object, at most `max_objects`).
fn run_len(sizes: impl Iterator<Item = u64>, bytes: u64, max_objects: usize) -> usize {
    let mut acc = 0u64;
    let mut n = 0;
    for size in sizes {
        acc += size.max(1);
        n += 1;
        if acc >= bytes || n >= max_objects {
            break;
        }
    }
    n
}

/// Cut `objects` into runs of about `bytes` compressed bytes (at least one object each).
fn cut(mut objects: &[ObjectRef], bytes: u64, max_objects: usize) -> Vec<&[ObjectRef]> {
    let mut out = Vec::new();
    while !objects.is_empty() {
        let n = run_len(objects.iter().map(|o| o.size), bytes, max_objects);
        let (run, rest) = objects.split_at(n);
        out.push(run);
        objects = rest;
    }
    out
}

/// Cut `objects` into owned runs, as [`cut`] does: each run is freed once it is processed, so the
/// listing held shrinks as the run goes (a key per object: 17 MB for an 83,000-object trail).
fn cut_owned(objects: Vec<ObjectRef>, bytes: u64, max_objects: usize) -> Vec<Vec<ObjectRef>> {
    let lens: Vec<usize> = cut(&objects, bytes, max_objects)
        .iter()
        .map(|r| r.len())
        .collect();
    let mut rest = objects.into_iter();
    lens.into_iter()
        .map(|n| rest.by_ref().take(n).collect())
        .collect()
}

fn process(
    decoder: &mut Decoder,
    o: ObjectRef,
    fetched: Result<Fetched>,
    known: &HashMap<String, HashSet<String>>,
) -> Processed {
    let bytes = match fetched {
        Ok(f) => f.bytes,
        Err(e) => {
            let outcome = match e.downcast_ref::<crate::source::TimedOut>() {
                Some(t) => Outcome::TimedOut(decode::timeout_reject(t.budget)),
                None => Outcome::Failed(format!("{e:#}")),
            };
            return Processed {
                etag: o.etag.clone().unwrap_or_default(),
                object: o,
                sha256: String::new(),
                outcome,
            };
        }
    };
    let sha256 = hex::encode(Sha256::digest(&bytes));
    // A local file's tag is its content hash: stable across copies, changed by any edit.
    let etag = o.etag.clone().unwrap_or_else(|| sha256.clone());
    let outcome = match known.get(&o.key) {
        Some(tags) if tags.contains(&etag) => Outcome::Known,
        Some(_) => Outcome::Changed,
        None => Outcome::Decoded(decoder.decode(&o.key, &bytes)),
    };
    Processed {
        object: o,
        etag,
        sha256,
        outcome,
    }
}

/// Run one ingest of `source` into the lake.
pub fn run(source: &dyn Source, location: LakeLocation, opts: &Options) -> Result<Summary> {
    let started = Instant::now();
    crate::alloc::no_huge_pages();
    // Before anything is written: a source that cannot be listed or read stops the run here.
    let preflight = source
        .preflight(&opts.filter)
        .map_err(|e| Error::Access(format!("{e:#}")))?;
    let rt = crate::lake::runtime().worker_threads(2).build()?;
    // A lake on S3 keeps the key it was written with (unless --lake-kms-key names one); a new
    // lake is encrypted like the trail it copies.
    let location = rt
        .block_on(location.with_existing_kms_key())
        .with_kms_key(preflight.kms_key.as_deref());
    let _lock = location.lock(true)?;
    let mut lake = rt
        .block_on(Lake::open_or_create(location))
        .map_err(Error::of_lake)?;
    let mut summary = Summary {
        recovered: rt.block_on(lake.recover()).map_err(Error::of_lake)?,
        kms_key: preflight.kms_key,
        warnings: preflight.warnings,
        ..Default::default()
    };
    let known = rt
        .block_on(known_keys(&lake, Table::Objects))
        .map_err(Error::of_lake)?;
    let known_digests = rt
        .block_on(known_keys(&lake, Table::Digests))
        .map_err(Error::of_lake)?;
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        "ingest stage: lake opened"
    );

    let mut filter = opts.filter.clone();
    if let Some(days) = opts.lookback_days {
        filter.resume = resume_points(&known, days);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .context("cannot start the decode threads")?;
    // A directory is walked on the decode threads (see `DirSource::walk`).
    let mut listing = pool
        .install(|| source.list(&filter))
        .map_err(|e| Error::Access(format!("{e:#}")))?;
    summary.listed = listing.logs.len();
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        objects = summary.listed,
        "ingest stage: listed"
    );
    // S3 lists each object's ETag: one already in the lake needs no request. Without this a
    // scheduled run would download and decrypt every object of its look-back window again.
    listing.logs.retain(|o| !listed_as_known(o, &known));
    summary.already_ingested += summary.listed - listing.logs.len();
    listing
        .digests
        .retain(|d| !listed_as_known(&d.object, &known_digests));
    summary.skipped = listing.skipped;
    summary.listed_prefixes = listing.listed_prefixes;
    let bucket = source.bucket();
    let progress = Progress::new(opts.progress, &listing.logs);

    // Chunks bounded by compressed bytes, so a few huge objects cannot exhaust memory.
    let chunks = cut_owned(
        std::mem::take(&mut listing.logs),
        opts.chunk_bytes,
        CHUNK_OBJECTS,
    );

    let mut pending = PendingBatch::new(bucket.clone());

    let held = Held::default();
    // Read, decode, gather and commit overlap (see the module comment).
    let written = std::thread::scope(|scope| -> Result<Written> {
        let (ftx, frx) = sync_channel::<(Vec<ObjectRef>, Vec<Option<Result<Fetched>>>)>(1);
        let (wtx, wrx) = sync_channel::<PendingBatch>(0);
        let lake = &mut lake;
        let pool = &pool;
        let rt = &rt;
        let known_digests = &known_digests;
        let mut digests = listing.digests.as_slice();
        let held = &held;
        let bucket = &bucket;
        let writer = scope.spawn(move || -> Result<Written> {
            let mut w = Written::default();
            // Each batch takes the next few digests; digests left when the logs are done get
            // batches of their own.
            let mut batches = wrx.into_iter();
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
                    batch.digests =
                        digest_rows(source, group, known_digests, bucket, &mut w.failed);
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
        });
        let known = &known;
        let limits = &opts.limits;
        // A token per unit of compressed bytes in flight: the dispatcher sends a piece's tokens
        // before it starts the piece and the gatherer takes them back when it gathers the piece.
        // (A piece bigger than the whole budget takes all of it.)
        let budget = (pool.current_num_threads() as u64 * IN_FLIGHT_BYTES_PER_THREAD)
            .div_ceil(IN_FLIGHT_UNIT) as usize;
        let (token_tx, token_rx) = sync_channel::<()>(budget);
        scope.spawn(move || {
            for chunk in chunks {
                // A remote source's requests overlap decoding of the previous chunk; a local file is
                // read by the task that decodes it, while it is hot in cache.
                let fetched = if source.remote() {
                    pool.install(|| source.get_many(&chunk))
                        .into_iter()
                        .map(Some)
                        .collect()
                } else {
                    chunk.iter().map(|_| None).collect()
                };
                if ftx.send((chunk, fetched)).is_err() {
                    break;
                }
            }
        });
        let (tx, rx) = std::sync::mpsc::channel::<Piece>();
        scope.spawn(move || {
            // Pieces go to the pool one by one, so a thread that finishes takes the next piece
            // at once; decoding a chunk with a parallel iterator left threads waiting for its
            // slowest piece.
            pool.in_place_scope(|s| {
                for (chunk, fetched) in frx {
                    let mut fetched = fetched.into_iter();
                    for piece in cut_owned(chunk, PIECE_BYTES, PIECE_OBJECTS) {
                        let bytes: u64 = piece.iter().map(|o| o.size).sum();
                        let tokens = (bytes.div_ceil(IN_FLIGHT_UNIT) as usize).clamp(1, budget);
                        for _ in 0..tokens {
                            if token_tx.send(()).is_err() {
                                return; // the gatherer stopped
                            }
                        }
                        let fetched: Vec<_> = fetched.by_ref().take(piece.len()).collect();
                        let tx = tx.clone();
                        s.spawn(move |_| {
                            let mut decoder = Decoder::new(*limits);
                            let objects = piece
                                .into_iter()
                                .zip(fetched)
                                .map(|(o, f)| {
                                    let f = f.unwrap_or_else(|| source.get(&o));
                                    process(&mut decoder, o, f, known)
                                })
                                .collect();
                            let _ = tx.send(Piece {
                                objects,
                                batch: decoder.finish(),
                                tokens,
                            });
                        });
                    }
                }
            });
        });
        for piece in rx {
            held.wait_for_room(pending.text_bytes, opts.batch_bytes + opts.batch_bytes / 2);
            for _ in 0..piece.tokens {
                let _ = token_rx.try_recv();
            }
            for p in piece.objects {
                gather(p, &mut summary, &mut pending);
            }
            // A piece's rows belong to its objects above: both land in the same batch.
            if let Some(b) = piece.batch {
                pending.events.push(b);
            }
            progress.objects(&summary);
            if pending.text_bytes >= opts.batch_bytes {
                let batch = std::mem::replace(&mut pending, PendingBatch::new(bucket.clone()));
                if wtx.send(batch).is_err() {
                    break; // the writer failed: its error is reported below
                }
            }
        }
        drop(token_rx);
        tracing::debug!(ms = started.elapsed().as_millis(), "ingest stage: decoded");
        let last = std::mem::replace(&mut pending, PendingBatch::new(bucket.clone()));
        if !last.is_empty() {
            let _ = wtx.send(last);
        }
        drop(wtx);
        writer
            .join()
            .map_err(|_| Error::Internal("the lake writer thread panicked".into()))?
    })?;
    // Sessions read identity_events first; a file per batch made that read mostly per-file
    // overhead (opening, footers, statistics). It is small, so each run merges the days it added to.
    if !written.batches.is_empty() {
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            "ingest stage: committed"
        );
        rt.block_on(lake.compact_index(Table::IdentityEvents))
            .map_err(Error::of_lake)?;
    }
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        "ingest stage: index merged"
    );
    summary.batches = written.batches;
    summary.digests = written.digests;
    summary.failed.extend(written.failed);
    progress.finish();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// What the writer thread committed.
#[derive(Default)]
struct Written {
    batches: Vec<i64>,
    digests: usize,
    /// Digest objects that could not be read.
    failed: Vec<(String, String)>,
}

/// Count one processed object in the summary and add its index rows to the pending batch.
fn gather(p: Processed, summary: &mut Summary, pending: &mut PendingBatch) {
    summary.compressed_bytes += p.object.size;
    match p.outcome {
        Outcome::Known => summary.already_ingested += 1,
        Outcome::Failed(e) => summary.failed.push((p.object.key.clone(), e)),
        Outcome::TimedOut(r) => {
            summary.rejected_objects += 1;
            summary.timed_out.push(p.object.key.clone());
            pending.add_reject(&p.object, &p.etag, r);
        }
        Outcome::Changed => {
            summary.changed_objects += 1;
            let r = Reject {
                record: None,
                offset: None,
                code: crate::decode::Reason::ChangedObject,
                detail: format!(
                    "{} was ingested before with other content; CloudTrail never rewrites a log file, so this may be tampering. The new content is not ingested",
                    p.object.key
                ),
                raw: None,
            };
            pending.add(&p.object, &p.etag, &p.sha256, None, 0, vec![r], 0);
        }
        Outcome::Decoded(d) => {
            summary.ingested_objects += 1;
            summary.text_bytes += d.text_bytes;
            summary.records += d.rows as u64;
            // An object-level reject has no record index; record rejects do.
            for r in &d.rejects {
                match r.record {
                    None => summary.rejected_objects += 1,
                    Some(_) => summary.rejected_records += 1,
                }
            }
            pending.add(
                &p.object,
                &p.etag,
                &p.sha256,
                d.text_sha256.as_deref(),
                d.rows as i64,
                d.rejects,
                d.text_bytes,
            );
        }
    }
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

/// Text bytes of the batch the writer holds (0 once its files are written), so that the
/// gatherer fills the next batch only so far meanwhile. In Arrow a batch takes about three times
/// its text (147 MB for 48 MiB). Where writing was the slower stage the gatherer held a full
/// batch while the writer held another, and longer runs have more such stretches: the 4 GiB
/// peak was 10% above the 1 GiB one, now 7%, at 2–3% of the time. Decoding waits a little sooner
/// in those stretches.
#[derive(Default)]
struct Held {
    bytes: std::sync::Mutex<u64>,
    freed: std::sync::Condvar,
}

/// Clears what the writer holds when dropped: a writer that fails must not leave the gatherer
/// waiting.
struct Release<'a>(&'a Held);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.set(0);
    }
}

impl Held {
    fn set(&self, bytes: u64) {
        if let Ok(mut b) = self.bytes.lock() {
            *b = bytes;
        }
        self.freed.notify_all();
    }

    /// Wait until `pending` more bytes fit beside what the writer holds, within `limit`.
    fn wait_for_room(&self, pending: u64, limit: u64) {
        let Ok(mut held) = self.bytes.lock() else {
            return;
        };
        while *held > 0 && *held + pending > limit {
            held = match self.freed.wait(held) {
                Ok(h) => h,
                Err(_) => return,
            };
        }
    }
}

fn with_batch_column(b: RecordBatch, n: i64) -> Result<RecordBatch> {
    let schema = b.schema();
    let i = schema.index_of("batch")?;
    let mut cols = b.columns().to_vec();
    cols[i] = Arc::new(Int64Array::from(vec![n; b.num_rows()]));
    Ok(RecordBatch::try_new(schema, cols)?)
}

/// Progress on stderr: a bar on a terminal, a plain line every ten seconds otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    total_bytes: u64,
    started: Instant,
    last_line: std::cell::Cell<Instant>,
    enabled: bool,
}

impl Progress {
    fn new(enabled: bool, logs: &[ObjectRef]) -> Progress {
        use std::io::IsTerminal;
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(logs.iter().map(|o| o.size).sum());
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} [{elapsed_precise}, ETA {eta}] {wide_bar}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            bar,
            total: logs.len(),
            total_bytes: logs.iter().map(|o| o.size).sum(),
            started: Instant::now(),
            last_line: std::cell::Cell::new(Instant::now()),
            enabled,
        }
    }

    fn objects(&self, s: &Summary) {
        if !self.enabled {
            return;
        }
        let done = s.ingested_objects + s.already_ingested + s.changed_objects + s.failed.len();
        let records = s.records;
        if let Some(bar) = &self.bar {
            bar.set_position(s.compressed_bytes);
            bar.set_message(format!("{done}/{} objects, {records} records,", self.total));
            return;
        }
        if self.last_line.get().elapsed().as_secs() >= 10 {
            self.last_line.set(Instant::now());
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "trailglass: ingest {done}/{} objects, {:.1}/{:.1} MB, {records} records, {:.1} MB/s",
                self.total,
                s.compressed_bytes as f64 / 1e6,
                self.total_bytes as f64 / 1e6,
                s.compressed_bytes as f64 / 1e6 / secs
            );
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Whether the store's listing already shows this object as ingested (its tag is in the lake). A
/// local file has no listed tag: its tag is its content hash, so it must be read to be known.
fn listed_as_known(o: &ObjectRef, known: &HashMap<String, HashSet<String>>) -> bool {
    o.etag
        .as_ref()
        .is_some_and(|t| known.get(&o.key).is_some_and(|tags| tags.contains(t)))
}

/// Per account and region, the first day an incremental run lists again: the newest day already
/// ingested minus the look-back window, so late deliveries to recent days are still found.
fn resume_points(
    known: &HashMap<String, HashSet<String>>,
    lookback_days: u32,
) -> HashMap<(String, String), chrono::NaiveDate> {
    let mut newest: HashMap<(String, String), chrono::NaiveDate> = HashMap::new();
    for key in known.keys() {
        let info = classify(key);
        if let (Kind::Log, Some(a), Some(r), Some(d)) =
            (info.kind, info.account, info.region, info.date)
        {
            let e = newest.entry((a, r)).or_insert(d);
            *e = (*e).max(d);
        }
    }
    newest
        .into_iter()
        .map(|(k, d)| (k, d - chrono::Days::new(u64::from(lookback_days))))
        .collect()
}

/// Keys already in an index table, with their tags.
async fn known_keys(lake: &Lake, t: Table) -> Result<HashMap<String, HashSet<String>>> {
    let ctx = SessionContext::new();
    lake.register(&ctx, None).await?;
    let batches = ctx
        .sql(&format!("SELECT key, etag FROM {}", t.name()))
        .await?
        .collect()
        .await?;
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    for b in batches {
        // DataFusion may hand strings back as views; normalise before reading.
        let keys = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)?;
        let tags = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Utf8)?;
        let (Some(keys), Some(tags)) = (keys.as_string_opt::<i32>(), tags.as_string_opt::<i32>())
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

/// Rows for the `digests` table: each new digest's body and captured signature (SPEC §12).
fn digest_rows(
    source: &dyn Source,
    digests: &[DigestRef],
    known: &HashMap<String, HashSet<String>>,
    bucket: &Option<String>,
    failed: &mut Vec<(String, String)>,
) -> Vec<RecordBatch> {
    let element = Arc::new(arrow::datatypes::Field::new(
        "element",
        arrow::datatypes::DataType::Utf8,
        true,
    ));
    let mut b = DigestBuilder {
        rows: 0,
        bucket: StringBuilder::new(),
        key: StringBuilder::new(),
        etag: StringBuilder::new(),
        account: StringBuilder::new(),
        region: StringBuilder::new(),
        end: TimestampMicrosecondBuilder::new(),
        body: StringBuilder::new(),
        signature: StringBuilder::new(),
        algorithm: StringBuilder::new(),
        files: ListBuilder::new(StringBuilder::new()).with_field(element),
    };
    for d in digests {
        let Fetched { bytes, metadata } = match source.get(&d.object) {
            Ok(f) => f,
            Err(e) => {
                failed.push((d.object.key.clone(), format!("{e:#}")));
                continue;
            }
        };
        let etag = d
            .object
            .etag
            .clone()
            .unwrap_or_else(|| hex::encode(Sha256::digest(&bytes)));
        if known.get(&d.object.key).is_some_and(|t| t.contains(&etag)) {
            continue;
        }
        let text = match decode::inflate(&bytes, &Limits::default()) {
            Ok(t) => String::from_utf8_lossy(&t).into_owned(),
            Err(r) => {
                failed.push((d.object.key.clone(), format!("digest file: {}", r.detail)));
                continue;
            }
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let info = classify(&d.object.key);
        b.bucket.append_option(bucket.as_deref());
        b.key.append_value(&d.object.key);
        b.etag.append_value(&etag);
        b.account.append_option(info.account.as_deref());
        b.region.append_option(info.region.as_deref());
        b.end.append_option(
            json.get("digestEndTime")
                .and_then(|v| v.as_str())
                .and_then(decode::parse_time),
        );
        b.body.append_value(&text);
        // A local copy has the signature in a sidecar; S3 has it in the object's metadata.
        let signature = d
            .signature
            .as_deref()
            .or(metadata.get("signature").map(String::as_str));
        let algorithm = d
            .signature_algorithm
            .as_deref()
            .or(metadata.get("signature-algorithm").map(String::as_str));
        b.signature.append_option(signature);
        b.algorithm.append_option(algorithm);
        let files = json.get("logFiles").and_then(|v| v.as_array());
        for f in files.into_iter().flatten() {
            b.files
                .values()
                .append_option(f.get("s3Object").and_then(|v| v.as_str()));
        }
        b.files.append(files.is_some());
        b.rows += 1;
    }
    if b.rows == 0 {
        return Vec::new();
    }
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("bucket", Arc::new(b.bucket.finish())),
        ("key", Arc::new(b.key.finish())),
        ("etag", Arc::new(b.etag.finish())),
        ("account", Arc::new(b.account.finish())),
        ("region", Arc::new(b.region.finish())),
        (
            "digest_end_time",
            Arc::new(b.end.finish().with_timezone("UTC")),
        ),
        ("body", Arc::new(b.body.finish())),
        ("signature", Arc::new(b.signature.finish())),
        ("signature_algorithm", Arc::new(b.algorithm.finish())),
        ("log_files", Arc::new(b.files.finish())),
        ("batch", Arc::new(Int64Array::from(vec![0; b.rows]))),
    ];
    match schema::batch_by_name(schema::digests(), cols) {
        Ok(b) => vec![b],
        Err(e) => {
            failed.push(("digests".into(), e.to_string()));
            Vec::new()
        }
    }
}

struct DigestBuilder {
    rows: usize,
    bucket: StringBuilder,
    key: StringBuilder,
    etag: StringBuilder,
    account: StringBuilder,
    region: StringBuilder,
    end: TimestampMicrosecondBuilder,
    body: StringBuilder,
    signature: StringBuilder,
    algorithm: StringBuilder,
    files: ListBuilder<StringBuilder>,
}

/// Rows gathered for the next commit.
struct PendingBatch {
    bucket: Option<String>,
    events: Vec<RecordBatch>,
    digests: Vec<RecordBatch>,
    text_bytes: u64,
    o_bucket: StringBuilder,
    o_key: StringBuilder,
    o_etag: StringBuilder,
    o_size: Int64Builder,
    o_modified: TimestampMicrosecondBuilder,
    o_sha: StringBuilder,
    o_text_sha: StringBuilder,
    o_records: Int64Builder,
    o_rejects: Int64Builder,
    o_count: usize,
    r_key: StringBuilder,
    r_etag: StringBuilder,
    r_record: Int64Builder,
    r_offset: Int64Builder,
    r_reason: StringBuilder,
    r_detail: StringBuilder,
    r_raw: StringBuilder,
    r_count: usize,
}

impl PendingBatch {
    fn new(bucket: Option<String>) -> Self {
        PendingBatch {
            bucket,
            events: Vec::new(),
            digests: Vec::new(),
            text_bytes: 0,
            o_bucket: StringBuilder::new(),
            o_key: StringBuilder::new(),
            o_etag: StringBuilder::new(),
            o_size: Int64Builder::new(),
            o_modified: TimestampMicrosecondBuilder::new(),
            o_sha: StringBuilder::new(),
            o_text_sha: StringBuilder::new(),
            o_records: Int64Builder::new(),
            o_rejects: Int64Builder::new(),
            o_count: 0,
            r_key: StringBuilder::new(),
            r_etag: StringBuilder::new(),
            r_record: Int64Builder::new(),
            r_offset: Int64Builder::new(),
            r_reason: StringBuilder::new(),
            r_detail: StringBuilder::new(),
            r_raw: StringBuilder::new(),
            r_count: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.o_count == 0 && self.r_count == 0 && self.digests.is_empty()
    }

    /// A reject row of `o`. Alone (not through `add`) for an object that stays out of
    /// `objects` (its read timed out), so that the next run reads it again.
    fn add_reject(&mut self, o: &ObjectRef, etag: &str, r: Reject) {
        self.r_key.append_value(&o.key);
        self.r_etag.append_value(etag);
        self.r_record.append_option(r.record);
        self.r_offset.append_option(r.offset);
        self.r_reason.append_value(r.code.as_str());
        self.r_detail.append_value(&r.detail);
        // A huge rejected record is kept in part: the reject must stay queryable.
        self.r_raw
            .append_option(r.raw.as_deref().map(|s| truncate(s, 1 << 20)));
        self.r_count += 1;
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        o: &ObjectRef,
        etag: &str,
        sha256: &str,
        text_sha256: Option<&str>,
        records: i64,
        rejects: Vec<Reject>,
        text_bytes: u64,
    ) {
        self.o_bucket.append_option(self.bucket.as_deref());
        self.o_key.append_value(&o.key);
        self.o_etag.append_value(etag);
        self.o_size.append_value(o.size as i64);
        self.o_modified.append_option(o.last_modified);
        self.o_sha.append_value(sha256);
        self.o_text_sha.append_option(text_sha256);
        self.o_records.append_value(records);
        self.o_rejects.append_value(rejects.len() as i64);
        self.o_count += 1;
        for r in rejects {
            self.add_reject(o, etag, r);
        }
        self.text_bytes += text_bytes.max(o.size);
    }

    fn finish(mut self, batch: i64) -> Result<Batch> {
        let now = chrono::Utc::now().timestamp_micros();
        let n = self.o_count;
        let objects = schema::batch_by_name(
            schema::objects(),
            vec![
                ("bucket", Arc::new(self.o_bucket.finish())),
                ("key", Arc::new(self.o_key.finish())),
                ("etag", Arc::new(self.o_etag.finish())),
                ("size", Arc::new(self.o_size.finish())),
                (
                    "last_modified",
                    Arc::new(self.o_modified.finish().with_timezone("UTC")),
                ),
                ("sha256", Arc::new(self.o_sha.finish())),
                ("records", Arc::new(self.o_records.finish())),
                ("rejects", Arc::new(self.o_rejects.finish())),
                ("batch", Arc::new(Int64Array::from(vec![batch; n]))),
                (
                    "ingested_at",
                    Arc::new(TimestampMicrosecondArray::from(vec![now; n]).with_timezone("UTC")),
                ),
                ("text_sha256", Arc::new(self.o_text_sha.finish())),
            ],
        )?;
        let r = self.r_count;
        let mut r_bucket = StringBuilder::new();
        for _ in 0..r {
            r_bucket.append_option(self.bucket.as_deref());
        }
        let rejects = schema::batch_by_name(
            schema::rejects(),
            vec![
                ("bucket", Arc::new(r_bucket.finish())),
                ("key", Arc::new(self.r_key.finish())),
                ("etag", Arc::new(self.r_etag.finish())),
                ("record", Arc::new(self.r_record.finish())),
                ("offset", Arc::new(self.r_offset.finish())),
                ("reason", Arc::new(self.r_reason.finish())),
                ("detail", Arc::new(self.r_detail.finish())),
                ("raw", Arc::new(self.r_raw.finish())),
                ("batch", Arc::new(Int64Array::from(vec![batch; r]))),
            ],
        )?;
        Ok(Batch {
            events: self.events,
            objects: vec![objects],
            rejects: vec![rejects],
            digests: self.digests,
        })
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(size: u64) -> DigestRef {
        DigestRef {
            object: ObjectRef {
                key: format!("d{size}"),
                size,
                last_modified: None,
                etag: None,
            },
            signature: None,
            signature_algorithm: None,
        }
    }

    #[test]
    fn digests_are_taken_a_few_bytes_at_a_time_and_each_once() {
        let all: Vec<DigestRef> = [100, 200, 300, 50, 1000, 10].map(digest).into();
        let mut rest = all.as_slice();
        let mut runs = Vec::new();
        while !rest.is_empty() {
            let run = take_digests(&mut rest, 300);
            runs.push(run.iter().map(|d| d.object.size).collect::<Vec<_>>());
        }
        // At least one digest per run, however large; every digest exactly once, in order.
        assert_eq!(runs, [vec![100, 200], vec![300], vec![50, 1000], vec![10]]);
        let mut none: &[DigestRef] = &[];
        assert!(take_digests(&mut none, 300).is_empty());
    }
}
