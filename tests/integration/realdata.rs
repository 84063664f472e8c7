//! Real, public CloudTrail records (`testdata/realdata/`): all of them ingest, byte-faithfully.

use std::collections::HashMap;
use std::io::Read;

use serde_json::Value;

use super::util::{Workdir, realdata};

fn listed(name: &str) -> Vec<String> {
    std::fs::read_to_string(realdata().join(name))
        .expect("list")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn text_of(bytes: &[u8]) -> String {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_string(&mut s)
            .expect("gunzip");
        s
    } else {
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }
}

/// The records of a file as JSON values, found independently of trailglass's decoder.
fn records_of(text: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut o)) if o.contains_key("Records") => match o.remove("Records") {
            Some(Value::Array(a)) => a,
            _ => panic!("Records is not an array"),
        },
        Ok(Value::Array(a)) => a,
        Ok(v @ Value::Object(_)) => vec![v],
        _ => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect(),
    }
}

#[test]
fn every_listed_file_ingests_with_no_rejects_and_raw_is_byte_identical() {
    let w = Workdir::new();
    let src = w.path().join("src");
    for f in listed("EVENTS.txt") {
        let dest = src.join(&f);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(realdata().join(&f), &dest).unwrap();
    }
    let s = w.ingest(&src, &[]);
    assert_eq!(s["records"], 521, "{s}");
    assert_eq!(s["rejected_records"], 0, "{s}");
    assert_eq!(s["rejected_objects"], 0, "{s}");
    assert_eq!(s["objects_ingested"], 50, "{s}");
    assert_eq!(w.count("SELECT count(*) FROM events"), 521);
    assert_eq!(w.count("SELECT count(*) FROM rejects"), 0);
    assert_eq!(w.count("SELECT count(DISTINCT eventid) FROM events"), 477);
    assert_eq!(
        w.count("SELECT count(*) FROM events WHERE eventid IS NULL"),
        7
    );
    assert_eq!(w.count("SELECT count(*) FROM objects"), 50);

    // _raw: byte for byte a slice of the decompressed file, and the same JSON as record _record.
    let rows = w.sql("SELECT _source, _record, _raw FROM events");
    let mut by_file: HashMap<String, Vec<(usize, String)>> = HashMap::new();
    for r in rows {
        by_file
            .entry(r["_source"].as_str().unwrap().to_string())
            .or_default()
            .push((
                r["_record"].as_u64().unwrap() as usize,
                r["_raw"].as_str().unwrap().to_string(),
            ));
    }
    assert_eq!(by_file.len(), 50);
    for (file, recs) in by_file {
        let text = text_of(&std::fs::read(src.join(&file)).unwrap());
        let expected = records_of(&text);
        assert_eq!(recs.len(), expected.len(), "{file}");
        for (i, raw) in recs {
            assert!(
                text.contains(&raw),
                "{file} record {i}: _raw is not a slice of the file"
            );
            let v: Value = serde_json::from_str(&raw).unwrap();
            assert_eq!(v, expected[i], "{file} record {i}");
        }
    }
}

#[test]
fn files_that_are_not_events_are_skipped_or_rejected_with_a_reason() {
    let w = Workdir::new();
    let src = w.path().join("src");
    for f in listed("NOT_EVENTS.txt") {
        let dest = src.join(&f);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(realdata().join(&f), &dest).unwrap();
    }
    let s = w.ingest(&src, &[]);
    let n = listed("NOT_EVENTS.txt").len() as i64;
    let skipped: i64 = s["skipped"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    let rejected = w.count("SELECT count(DISTINCT key) FROM rejects");
    let ingested_keys = w.count("SELECT count(DISTINCT _source) FROM events");
    assert_eq!(
        skipped + rejected + ingested_keys,
        n,
        "every file accounted for: {s}"
    );
    for r in w.sql("SELECT key, reason, detail FROM rejects") {
        assert!(!r["reason"].as_str().unwrap().is_empty());
        assert!(!r["detail"].as_str().unwrap().is_empty());
    }
}
