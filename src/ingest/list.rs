//! The list stage's arithmetic: what an incremental run lists again, what it can skip unread,
//! and how the listing is cut into fetch chunks, decode pieces and digest runs.

use std::collections::{HashMap, HashSet};

use crate::source::{DigestRef, Kind, ObjectRef, classify};

/// Each key the lake knows, with every tag it was ingested under.
pub(super) type Known = HashMap<String, HashSet<String>>;

/// Compressed bytes per decode task (a piece). Small objects share one decoder and one Arrow
/// batch per piece: a piece of 25 of them made batches of a few hundred rows, and the builders,
/// batches and the writer's gather across them cost a twentieth of the run.
pub(super) const PIECE_BYTES: u64 = 256 << 10;

/// Objects per piece at most, whatever their size (empty objects still cost a request).
pub(super) const PIECE_OBJECTS: usize = 1024;

/// Compressed bytes of the pieces decoding or decoded but not yet gathered, per decode thread:
/// three small-object pieces, so that a thread never waits for the dispatcher; counted in bytes,
/// not pieces, so that pieces of large objects (several MB of text each) hold no more memory.
pub(super) const IN_FLIGHT_BYTES_PER_THREAD: u64 = 3 * PIECE_BYTES;

/// The unit in which the in-flight bytes are counted.
pub(super) const IN_FLIGHT_UNIT: u64 = 64 << 10;

/// Compressed bytes of digest files that a batch of logs carries. Digests were all read before
/// the first batch, and a 4 GiB trail's 312 digests (33 MB of JSON) then held 76 MB until that
/// batch committed; now each batch carries a few.
pub(super) const DIGEST_BYTES_PER_BATCH: u64 = 256 << 10;

/// The same for the digests left when the logs are done: these batches hold nothing else, and a
/// run of new digests over logs already ingested should not take a commit per few of them.
pub(super) const DIGEST_BYTES_ALONE: u64 = 4 << 20;

/// Take the digests of the next batch off `digests`: about `bytes` compressed (at least one).
pub(super) fn take_digests<'a>(digests: &mut &'a [DigestRef], bytes: u64) -> &'a [DigestRef] {
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
pub(super) fn cut_owned(
    objects: Vec<ObjectRef>,
    bytes: u64,
    max_objects: usize,
) -> Vec<Vec<ObjectRef>> {
    let lens: Vec<usize> = cut(&objects, bytes, max_objects)
        .iter()
        .map(|r| r.len())
        .collect();
    let mut rest = objects.into_iter();
    lens.into_iter()
        .map(|n| rest.by_ref().take(n).collect())
        .collect()
}

/// Whether the store's listing already shows this object as ingested (its tag is in the lake). A
/// local file has no listed tag: its tag is its content hash, so it must be read to be known.
pub(super) fn listed_as_known(o: &ObjectRef, known: &Known) -> bool {
    o.etag
        .as_ref()
        .is_some_and(|t| known.get(&o.key).is_some_and(|tags| tags.contains(t)))
}

/// Per account and region, the first day an incremental run lists again: the newest day already
/// ingested minus the look-back window, so late deliveries to recent days are still found.
pub(super) fn resume_points(
    known: &Known,
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
