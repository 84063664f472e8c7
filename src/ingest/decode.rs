//! The decode stage: chunks are cut into pieces that the decode threads take as they free up;
//! each object is hashed, checked against what the lake knows, and decoded.

use std::sync::mpsc::{Receiver, Sender, SyncSender};

use anyhow::Result;
use arrow::record_batch::RecordBatch;
use sha2::{Digest, Sha256};

use super::fetch::Chunk;
use super::list::{IN_FLIGHT_UNIT, Known, PIECE_BYTES, PIECE_OBJECTS, cut_owned};
use crate::decode::{Decoder, Limits, ObjectDecoded, Reject};
use crate::source::{Fetched, ObjectRef, Source};

/// One object after reading and decoding.
pub(super) struct Processed {
    pub(super) object: ObjectRef,
    pub(super) etag: String,
    pub(super) sha256: String,
    pub(super) outcome: Outcome,
}

pub(super) enum Outcome {
    Known,
    Changed,
    Decoded(ObjectDecoded),
    Failed(String),
    /// Its read overran `--object-timeout`: rejected for this run, retried by the next.
    TimedOut(Reject),
}

/// A run of objects decoded by one task into one batch (their rows, in order).
pub(super) struct Piece {
    pub(super) objects: Vec<Processed>,
    pub(super) batch: Option<RecordBatch>,
    /// In-flight tokens it holds (see `IN_FLIGHT_UNIT`).
    pub(super) tokens: usize,
}

/// What the decode threads share.
pub(super) struct Decode<'a> {
    pub(super) pool: &'a rayon::ThreadPool,
    pub(super) source: &'a dyn Source,
    pub(super) known: &'a Known,
    pub(super) limits: &'a Limits,
    /// In-flight tokens in all (see `IN_FLIGHT_UNIT`).
    pub(super) budget: usize,
}

impl Decode<'_> {
    /// Decode every chunk, sending each piece when it is done. A piece takes its tokens before
    /// it starts; the gatherer gives them back when it gathers the piece.
    pub(super) fn run(&self, chunks: Receiver<Chunk>, out: Sender<Piece>, tokens: SyncSender<()>) {
        let (source, known, limits, budget) = (self.source, self.known, self.limits, self.budget);
        // Pieces go to the pool one by one, so a thread that finishes takes the next piece
        // at once; decoding a chunk with a parallel iterator left threads waiting for its
        // slowest piece.
        self.pool.in_place_scope(|s| {
            for (chunk, fetched) in chunks {
                let mut fetched = fetched.into_iter();
                for piece in cut_owned(chunk, PIECE_BYTES, PIECE_OBJECTS) {
                    let bytes: u64 = piece.iter().map(|o| o.size).sum();
                    let n = (bytes.div_ceil(IN_FLIGHT_UNIT) as usize).clamp(1, budget);
                    for _ in 0..n {
                        if tokens.send(()).is_err() {
                            return; // the gatherer stopped
                        }
                    }
                    let fetched: Vec<_> = fetched.by_ref().take(piece.len()).collect();
                    let out = out.clone();
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
                        let _ = out.send(Piece {
                            objects,
                            batch: decoder.finish(),
                            tokens: n,
                        });
                    });
                }
            }
        });
    }
}

fn process(
    decoder: &mut Decoder,
    o: ObjectRef,
    fetched: Result<Fetched>,
    known: &Known,
) -> Processed {
    let bytes = match fetched {
        Ok(f) => f.bytes,
        Err(e) => {
            let outcome = match e.downcast_ref::<crate::source::TimedOut>() {
                Some(t) => Outcome::TimedOut(crate::decode::timeout_reject(t.budget)),
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
