//! The fetch stage: a remote source's objects are requested a chunk at a time, overlapping the
//! decoding of the previous chunk; a local file is read later, by the task that decodes it.

use std::sync::mpsc::SyncSender;

use anyhow::Result;

use crate::source::{Fetched, ObjectRef, Source};

/// A chunk of objects and, for a remote source, their fetched bodies (in order).
pub(super) type Chunk = (Vec<ObjectRef>, Vec<Option<Result<Fetched>>>);

/// Send each chunk, fetched when the source is remote, until the chunks run out or the decoder
/// stops listening.
pub(super) fn fetch(
    source: &dyn Source,
    pool: &rayon::ThreadPool,
    chunks: Vec<Vec<ObjectRef>>,
    out: SyncSender<Chunk>,
) {
    for chunk in chunks {
        let fetched = if source.remote() {
            pool.install(|| source.get_many(&chunk))
                .into_iter()
                .map(Some)
                .collect()
        } else {
            chunk.iter().map(|_| None).collect()
        };
        if out.send((chunk, fetched)).is_err() {
            break;
        }
    }
}
