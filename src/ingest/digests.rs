//! The `digests` table's rows: each new digest file's body and captured signature (SPEC §12).

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, ListBuilder, StringBuilder, TimestampMicrosecondBuilder};
use arrow::record_batch::RecordBatch;
use sha2::{Digest, Sha256};

use super::list::Known;
use crate::decode::{self, Limits};
use crate::schema;
use crate::source::{DigestRef, Fetched, Source, classify};

/// Rows for the `digests` table: each new digest's body and captured signature (SPEC §12).
pub(super) fn digest_rows(
    source: &dyn Source,
    digests: &[DigestRef],
    known: &Known,
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
