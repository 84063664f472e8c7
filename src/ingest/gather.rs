//! The gather stage: decoded pieces are counted in the summary and gathered, with their index
//! rows (`objects`, `rejects`), into the next batch to commit.

use std::sync::Arc;

use anyhow::Result;
use arrow::array::{
    Int64Array, Int64Builder, StringBuilder, TimestampMicrosecondArray, TimestampMicrosecondBuilder,
};
use arrow::record_batch::RecordBatch;

use super::Summary;
use super::decode::{Outcome, Processed};
use crate::decode::Reject;
use crate::lake::Batch;
use crate::schema;
use crate::source::ObjectRef;

/// Count one processed object in the summary and add its index rows to the pending batch.
pub(super) fn gather(p: Processed, summary: &mut Summary, pending: &mut PendingBatch) {
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

/// Text bytes of the batch the writer holds (0 once its files are written), so that the
/// gatherer fills the next batch only so far meanwhile. In Arrow a batch takes about three times
/// its text (147 MB for 48 MiB). Where writing was the slower stage the gatherer held a full
/// batch while the writer held another, and longer runs have more such stretches: the 4 GiB
/// peak was 10% above the 1 GiB one, now 7%, at 2–3% of the time. Decoding waits a little sooner
/// in those stretches.
#[derive(Default)]
pub(super) struct Held {
    bytes: std::sync::Mutex<u64>,
    freed: std::sync::Condvar,
}

/// Clears what the writer holds when dropped: a writer that fails must not leave the gatherer
/// waiting.
pub(super) struct Release<'a>(pub(super) &'a Held);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.set(0);
    }
}

impl Held {
    pub(super) fn set(&self, bytes: u64) {
        if let Ok(mut b) = self.bytes.lock() {
            *b = bytes;
        }
        self.freed.notify_all();
    }

    /// Wait until `pending` more bytes fit beside what the writer holds, within `limit`.
    pub(super) fn wait_for_room(&self, pending: u64, limit: u64) {
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

/// Rows gathered for the next commit.
pub(super) struct PendingBatch {
    bucket: Option<String>,
    pub(super) events: Vec<RecordBatch>,
    pub(super) digests: Vec<RecordBatch>,
    pub(super) text_bytes: u64,
    o_bucket: StringBuilder,
    o_key: StringBuilder,
    o_etag: StringBuilder,
    o_size: Int64Builder,
    o_modified: TimestampMicrosecondBuilder,
    o_sha: StringBuilder,
    o_text_sha: StringBuilder,
    o_records: Int64Builder,
    o_rejects: Int64Builder,
    pub(super) o_count: usize,
    r_key: StringBuilder,
    r_etag: StringBuilder,
    r_record: Int64Builder,
    r_offset: Int64Builder,
    r_reason: StringBuilder,
    r_detail: StringBuilder,
    r_raw: StringBuilder,
    pub(super) r_count: usize,
}

impl PendingBatch {
    pub(super) fn new(bucket: Option<String>) -> Self {
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

    pub(super) fn is_empty(&self) -> bool {
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

    pub(super) fn finish(mut self, batch: i64) -> Result<Batch> {
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
