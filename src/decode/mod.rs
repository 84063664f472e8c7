//! Decode: one source object's bytes → an Arrow batch of the `events` schema plus its rejects.
//!
//! Guarantees (SPEC §9):
//! - never panics on input; every problem becomes a [`Reject`] naming the record index or byte offset;
//! - a bad *container* (gzip CRC/length, JSON syntax, invalid UTF-8, trailing bytes, size or depth
//!   cap) yields 0 rows and exactly one reject for the object; a good container yields every
//!   well-typed record and one reject per ill-typed record; JSON Lines is judged line by line;
//! - `_raw` holds each record's text exactly as it stands in the decompressed object.
//!
//! The format is sniffed from the bytes (gzip magic `1f 8b`), never from the name.

mod columns;
mod group;
mod gzip;
mod reason;
mod record;
mod time;

use std::borrow::Cow;

use arrow::record_batch::RecordBatch;
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

pub use reason::Reason;
pub use time::{format_micros_rfc3339, parse_time};

/// Gzip bombs made cheaply, for the tests.
#[cfg(test)]
pub use gzip::zeros_gzip;

/// Limits on untrusted input. Defaults are documented in the README and SPEC §9.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest decompressed object accepted; bigger ones are rejected `too_large` (gzip bombs).
    pub max_decompressed: u64,
    /// Deepest JSON nesting accepted inside a record.
    pub max_depth: usize,
    /// Time one object may take (`--object-timeout`); past it the object is rejected `timeout`.
    /// Each decode stage is bounded by the size cap, so the check between stages ends it.
    pub object_timeout: Option<std::time::Duration>,
}

/// The default `--object-timeout`, in seconds: generous, since an object at the size cap decodes
/// in a few seconds, yet a stalled read cannot hold a scheduled run for long.
pub const DEFAULT_OBJECT_TIMEOUT_SECS: f64 = 120.0;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed: 1 << 30,
            max_depth: 128,
            object_timeout: Some(std::time::Duration::from_secs_f64(
                DEFAULT_OBJECT_TIMEOUT_SECS,
            )),
        }
    }
}

/// Why an object or record was not ingested. `code` is stable (queried by users); `detail` explains.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub record: Option<i64>,
    pub offset: Option<i64>,
    pub code: Reason,
    pub detail: String,
    pub raw: Option<String>,
}

impl Reject {
    fn object(code: Reason, detail: impl Into<String>, offset: Option<i64>) -> Self {
        Reject {
            record: None,
            offset,
            code,
            detail: detail.into(),
            raw: None,
        }
    }
}

/// The result of decoding one object on its own.
#[derive(Debug)]
pub struct Decoded {
    /// The good records (absent when there were none).
    pub batch: Option<RecordBatch>,
    pub rejects: Vec<Reject>,
    /// Size of the decompressed text (for throughput figures).
    pub text_bytes: u64,
}

impl Decoded {
    pub fn rows(&self) -> usize {
        self.batch.as_ref().map_or(0, |b| b.num_rows())
    }
}

/// What decoding one object into a [`Decoder`] added.
#[derive(Debug, Default)]
pub struct ObjectDecoded {
    pub rows: usize,
    pub rejects: Vec<Reject>,
    pub text_bytes: u64,
    /// Hex SHA-256 of the uncompressed bytes, what CloudTrail's digests list (SPEC §12); absent
    /// when the object could not be inflated.
    pub text_sha256: Option<String>,
}

/// Decodes objects one after another into one set of column builders, so that many small
/// objects make one batch: per-object batches cost more in allocation and copying than the
/// parsing itself on a trail of 5-minute files.
pub struct Decoder {
    cols: columns::Columns,
    limits: Limits,
}

impl Decoder {
    pub fn new(limits: Limits) -> Self {
        Decoder {
            cols: columns::Columns::with_capacity(1024),
            limits,
        }
    }

    /// Decode one object; `source` is the key stored in `_source`. Its good records are
    /// appended; a bad container appends none.
    pub fn decode(&mut self, source: &str, bytes: &[u8]) -> ObjectDecoded {
        let before = self.cols.len();
        let started = std::time::Instant::now();
        let reject = |r: Reject| ObjectDecoded {
            rejects: vec![r],
            ..Default::default()
        };
        let data = match inflate(bytes, &self.limits) {
            Ok(d) => d,
            Err(r) => return reject(r),
        };
        if let Some(r) = self.overran(started) {
            return reject(r);
        }
        // Hashed here, where the inflated bytes exist anyway: a second inflate to validate
        // digests later would cost more than the hash.
        let text_sha256 = Some(hex::encode(Sha256::digest(&data)));
        let text = match std::str::from_utf8(&data) {
            Ok(t) => t,
            Err(e) => {
                return ObjectDecoded {
                    text_sha256,
                    ..reject(Reject::object(
                        Reason::InvalidUtf8,
                        format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                        Some(e.valid_up_to() as i64),
                    ))
                };
            }
        };
        let mut start = before;
        let rejects = match records_in_one_pass(&mut self.cols, source, text, &self.limits) {
            Some(rejects) => rejects,
            None => {
                // Not the plain shape, or a bad container: take back what the fast path
                // appended and let the general path decide.
                self.cols.discard_from(before);
                start = self.cols.len();
                match split_records(text) {
                    Ok(records) => build(&mut self.cols, source, records, &self.limits),
                    Err(r) => vec![r],
                }
            }
        };
        if let Some(r) = self.overran(started) {
            // Its rows go with it: an object is kept whole or not at all.
            self.cols.discard_from(before);
            return ObjectDecoded {
                text_bytes: data.len() as u64,
                ..reject(r)
            };
        }
        ObjectDecoded {
            rows: self.cols.len() - start,
            rejects,
            text_bytes: data.len() as u64,
            text_sha256,
        }
    }

    /// A `timeout` reject when the object has taken longer than its budget.
    fn overran(&self, started: std::time::Instant) -> Option<Reject> {
        let budget = self.limits.object_timeout?;
        (started.elapsed() >= budget).then(|| timeout_reject(budget))
    }

    /// The batch of every row appended since the last call (None when there were none).
    pub fn finish(&mut self) -> Option<RecordBatch> {
        (self.cols.len() > 0)
            .then(|| self.cols.finish())
            .filter(|b| b.num_rows() > 0)
    }
}

/// A record's text: borrowed from the object, or owned when it was a JSON string in the container
/// (the `CloudTrailEvent` of `aws cloudtrail lookup-events` output).
type RecordText<'a> = Cow<'a, str>;

/// An object's text bytes: gunzipped when the bytes are gzip (every member, CRC and length
/// checked), capped at `limits.max_decompressed` either way; an empty object is a reject.
pub fn inflate<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Cow<'a, [u8]>, Reject> {
    if bytes.is_empty() {
        return Err(Reject::object(
            Reason::Empty,
            "the object is empty (0 bytes)",
            None,
        ));
    }
    if gzip::is_gzip(bytes) {
        return gzip::gunzip(bytes, limits.max_decompressed).map(Cow::Owned);
    }
    if bytes.len() as u64 > limits.max_decompressed {
        return Err(Reject::object(
            Reason::TooLarge,
            format!(
                "object is {} bytes, over the {} byte cap (--max-object-size)",
                bytes.len(),
                limits.max_decompressed
            ),
            None,
        ));
    }
    Ok(Cow::Borrowed(bytes))
}

/// The reject of an object that took longer than its budget (`--object-timeout`).
pub fn timeout_reject(budget: std::time::Duration) -> Reject {
    Reject::object(
        Reason::Timeout,
        format!(
            "took longer than the {:.1} s budget (--object-timeout)",
            budget.as_secs_f64()
        ),
        None,
    )
}

/// Decode one object on its own. `source` is the object key stored in `_source`.
pub fn decode_object(source: &str, bytes: &[u8], limits: &Limits) -> Decoded {
    let mut d = Decoder::new(*limits);
    let o = d.decode(source, bytes);
    Decoded {
        batch: d.finish(),
        rejects: o.rejects,
        text_bytes: o.text_bytes,
    }
}

/// One element of a container: a record's text, or why that element is not a record.
enum Item<'a> {
    Record(RecordText<'a>),
    Bad(Reject),
}

#[derive(Deserialize)]
struct Container<'a> {
    #[serde(rename = "Records", borrow, default)]
    records: Option<Vec<&'a RawValue>>,
    #[serde(rename = "Events", default)]
    events: Option<Vec<LookupEvent>>,
}

#[derive(Deserialize)]
struct LookupEvent {
    #[serde(rename = "CloudTrailEvent")]
    cloud_trail_event: Option<String>,
}

/// Does this object look like a CloudTrail record (rather than some other JSON document)?
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "eventVersion", default)]
    event_version: Option<serde::de::IgnoredAny>,
    #[serde(rename = "eventTime", default)]
    event_time: Option<serde::de::IgnoredAny>,
    #[serde(rename = "eventName", default)]
    event_name: Option<serde::de::IgnoredAny>,
    #[serde(rename = "eventSource", default)]
    event_source: Option<serde::de::IgnoredAny>,
}

fn looks_like_record(text: &str) -> bool {
    matches!(serde_json::from_str::<Probe>(text), Ok(p)
        if p.event_version.is_some() || p.event_time.is_some() || p.event_name.is_some() || p.event_source.is_some())
}

fn json_error(e: &serde_json::Error) -> Reject {
    let code = if e.is_eof() {
        Reason::JsonTruncated
    } else if e.to_string().starts_with("recursion limit") {
        Reason::TooDeep
    } else if e.to_string().starts_with("trailing characters") {
        Reason::TrailingData
    } else {
        Reason::JsonSyntax
    };
    Reject::object(code, format!("not valid JSON: {e}"), None)
}

fn skip_ws(b: &[u8], mut p: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = b.get(p) {
        p += 1;
    }
    p
}

/// The shape CloudTrail delivers, `{"Records":[…]}`, parsed in one pass: each record is parsed
/// straight out of the container and its text taken from the parser's offsets, instead of a first
/// pass that splits the container and a second that parses each record (a fifth of decoding).
///
/// Returns None, possibly after appending rows, when the text is not exactly that shape or is not
/// valid JSON; the caller then discards those rows and takes the general path, which decides
/// what the object is and how it is rejected. A record that is valid JSON but not a valid record
/// goes through the general path's per-record code, so its reject is the same either way.
fn records_in_one_pass(
    cols: &mut columns::Columns,
    source: &str,
    text: &str,
    limits: &Limits,
) -> Option<Vec<Reject>> {
    const HEAD: &[u8] = b"\"Records\"";
    let b = text.as_bytes();
    let mut p = skip_ws(b, 0);
    if b.get(p) != Some(&b'{') {
        return None;
    }
    p = skip_ws(b, p + 1);
    if !b.get(p..)?.starts_with(HEAD) {
        return None;
    }
    p = skip_ws(b, p + HEAD.len());
    if b.get(p) != Some(&b':') {
        return None;
    }
    p = skip_ws(b, p + 1);
    if b.get(p) != Some(&b'[') {
        return None;
    }
    p = skip_ws(b, p + 1);
    let mut rejects = Vec::new();
    let mut index = 0i64;
    if b.get(p) == Some(&b']') {
        p += 1;
    } else {
        loop {
            let rest = text.get(p..)?;
            let mut parsed = serde_json::Deserializer::from_str(rest).into_iter::<record::Record>();
            let (r, outcome) = match parsed.next()? {
                Ok(rec) => {
                    let r = &rest[..parsed.byte_offset()];
                    let pushed = record::check_depth(r, limits.max_depth)
                        .and_then(|_| columns::push(cols, &rec, r, source, index));
                    (r, pushed)
                }
                Err(e) if e.is_data() => {
                    // Valid JSON (maybe) but not a record: find its end, then judge it alone.
                    let mut raw = serde_json::Deserializer::from_str(rest).into_iter::<&RawValue>();
                    raw.next()?.ok()?;
                    let r = &rest[..raw.byte_offset()];
                    (r, append_record(cols, source, r, index, limits))
                }
                Err(_) => return None,
            };
            if let Err(failure) = outcome {
                rejects.push(record_reject(index, r, failure));
            }
            p = skip_ws(b, p + r.len());
            index += 1;
            match b.get(p) {
                Some(b',') => p = skip_ws(b, p + 1),
                Some(b']') => {
                    p += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    p = skip_ws(b, p);
    if b.get(p) != Some(&b'}') || skip_ws(b, p + 1) != b.len() {
        return None;
    }
    Some(rejects)
}

/// Find the records of a container: `{"Records":[…]}`, a JSON array of records, lookup-events output
/// `{"Events":[{"CloudTrailEvent":"…"}]}`, one record object, or JSON Lines.
fn split_records(text: &str) -> Result<Vec<Item<'_>>, Reject> {
    let body = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if body.trim_end().is_empty() {
        return Err(Reject::object(
            Reason::Empty,
            "the object holds no JSON (only white space)",
            None,
        ));
    }
    match body.as_bytes()[0] {
        b'{' => match serde_json::from_str::<Container>(body) {
            Ok(Container {
                records: Some(records),
                ..
            }) => Ok(records
                .into_iter()
                .map(|r| Item::Record(Cow::Borrowed(r.get())))
                .collect()),
            Ok(Container {
                events: Some(events),
                ..
            }) => Ok(events
                .into_iter()
                .enumerate()
                .map(|(i, e)| match e.cloud_trail_event {
                    Some(t) => Item::Record(Cow::Owned(t)),
                    None => Item::Bad(Reject {
                        record: Some(i as i64),
                        offset: None,
                        code: Reason::NotCloudtrail,
                        detail: "lookup-events entry without a CloudTrailEvent string".into(),
                        raw: None,
                    }),
                })
                .collect()),
            Ok(_) if looks_like_record(body) => {
                Ok(vec![Item::Record(Cow::Borrowed(body.trim_end()))])
            }
            Ok(_) => Err(Reject::object(
                Reason::NotCloudtrail,
                "a JSON object with neither \"Records\", \"Events\" nor CloudTrail record fields",
                None,
            )),
            Err(e) if e.to_string().starts_with("trailing characters") => json_lines(body, e),
            Err(e) if e.is_data() => Err(Reject::object(
                Reason::NotCloudtrail,
                format!("not a CloudTrail container: {e}"),
                None,
            )),
            Err(e) => Err(json_error(&e)),
        },
        b'[' => match serde_json::from_str::<Vec<&RawValue>>(body) {
            Ok(records) => Ok(records
                .into_iter()
                .map(|r| Item::Record(Cow::Borrowed(r.get())))
                .collect()),
            Err(e) => Err(json_error(&e)),
        },
        _ => Err(Reject::object(
            Reason::JsonSyntax,
            "not JSON: the text starts with neither '{' nor '['",
            None,
        )),
    }
}

/// JSON Lines: each non-blank line is one record, judged on its own. The first line decides whether
/// the object is JSON Lines of CloudTrail records at all; otherwise the whole object is one reject.
fn json_lines<'a>(body: &'a str, whole: serde_json::Error) -> Result<Vec<Item<'a>>, Reject> {
    let mut items = Vec::new();
    let mut offset = 0usize;
    for (n, line) in body.split('\n').enumerate() {
        let start = offset;
        offset += line.len() + 1;
        let line = line.trim_end_matches('\r').trim();
        if line.is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<&RawValue>(line);
        let ok_record =
            matches!(&parsed, Ok(v) if v.get().starts_with('{')) && looks_like_record(line);
        if items.is_empty() && !ok_record {
            // Not JSON Lines of records: report the container error.
            return Err(json_error(&whole));
        }
        if ok_record {
            items.push(Item::Record(Cow::Borrowed(line)));
        } else {
            let detail = match parsed {
                Err(e) => format!("line {}: not valid JSON: {e}", n + 1),
                Ok(_) => format!("line {}: not a CloudTrail record", n + 1),
            };
            items.push(Item::Bad(Reject {
                record: Some(items.len() as i64),
                offset: Some(start as i64),
                code: Reason::BadRecord,
                detail,
                raw: Some(line.to_string()),
            }));
        }
    }
    Ok(items)
}

/// Check one record's text and append it: the per-record judgement both paths share.
fn append_record(
    cols: &mut columns::Columns,
    source: &str,
    text: &str,
    index: i64,
    limits: &Limits,
) -> Result<(), record::Failure> {
    record::check_depth(text, limits.max_depth)
        .and_then(|_| columns::append(cols, text, source, index))
}

fn record_reject(index: i64, text: &str, (code, detail): record::Failure) -> Reject {
    Reject {
        record: Some(index),
        offset: None,
        code,
        detail,
        raw: Some(text.to_string()),
    }
}

/// Append the good records of `items` to `cols`; the rest come back as rejects.
fn build(
    cols: &mut columns::Columns,
    source: &str,
    items: Vec<Item<'_>>,
    limits: &Limits,
) -> Vec<Reject> {
    let mut rejects = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let index = i as i64;
        match item {
            Item::Bad(mut r) => {
                r.record = Some(index);
                rejects.push(r);
            }
            Item::Record(text) => {
                if let Err(failure) = append_record(cols, source, &text, index, limits) {
                    rejects.push(record_reject(index, &text, failure));
                }
            }
        }
    }
    rejects
}

#[cfg(test)]
mod tests;
