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
//!
//! One file per stage: `list` (what to read, cut into chunks and pieces), `fetch`, `decode`,
//! `gather`, `commit` (write and commit, with `digests`' rows), and `progress`.

mod commit;
mod decode;
mod digests;
mod fetch;
mod gather;
mod list;
mod progress;

use std::collections::BTreeMap;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::decode::Limits;
use crate::error::Error;
use crate::lake::{Lake, LakeLocation, Table};
use crate::source::{Filter, Source};
use commit::{Writer, Written};
use decode::{Decode, Piece};
use fetch::{Chunk, fetch};
use gather::{Held, PendingBatch, gather};
use list::{IN_FLIGHT_BYTES_PER_THREAD, IN_FLIGHT_UNIT, cut_owned, listed_as_known, resume_points};
use progress::Progress;

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
        .block_on(lake.known_objects(Table::Objects))
        .map_err(Error::of_lake)?;
    let known_digests = rt
        .block_on(lake.known_objects(Table::Digests))
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
    // Fetch, decode, gather and commit overlap (see the module comment).
    let written = std::thread::scope(|scope| -> Result<Written> {
        let (ftx, frx) = sync_channel::<Chunk>(1);
        let (wtx, wrx) = sync_channel::<PendingBatch>(0);
        let writer = Writer {
            lake: &mut lake,
            rt: &rt,
            pool: &pool,
            source,
            known_digests: &known_digests,
            bucket: &bucket,
            held: &held,
            started,
        };
        let digests = listing.digests.as_slice();
        let writer = scope.spawn(move || writer.run(wrx, digests));
        let pool = &pool;
        scope.spawn(move || fetch(source, pool, chunks, ftx));
        // A token per unit of compressed bytes in flight: the decoder sends a piece's tokens
        // before it starts the piece and the gatherer takes them back when it gathers the piece.
        // (A piece bigger than the whole budget takes all of it.)
        let budget = (pool.current_num_threads() as u64 * IN_FLIGHT_BYTES_PER_THREAD)
            .div_ceil(IN_FLIGHT_UNIT) as usize;
        let (token_tx, token_rx) = sync_channel::<()>(budget);
        let (tx, rx) = std::sync::mpsc::channel::<Piece>();
        let decode = Decode {
            pool,
            source,
            known: &known,
            limits: &opts.limits,
            budget,
        };
        scope.spawn(move || decode.run(frx, tx, token_tx));
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
