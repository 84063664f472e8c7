//! The bad-input corpus (testdata/bad, made by scripts/make-bad-corpus.py): every bad object or
//! record lands in `rejects` with a reason naming the file and record, every good record is kept.

use std::collections::BTreeMap;

use serde_json::Value;

use super::util::{Workdir, copy_tree, repo};

fn expected() -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(repo().join("testdata/bad/EXPECTED.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn corpus(w: &Workdir) -> std::path::PathBuf {
    let src = w.path().join("bad");
    copy_tree(&repo().join("testdata/bad"), &src);
    std::fs::remove_file(src.join("EXPECTED.json")).unwrap();
    src
}

#[test]
fn each_bad_input_is_rejected_with_its_reason_and_good_records_are_kept() {
    let w = Workdir::new();
    let src = corpus(&w);
    let s = w.ingest(&src, &["--max-object-size", "64"]);
    let exp = expected();
    assert_eq!(s["objects_ingested"], exp.len() as i64, "{s}");

    let mut rows: BTreeMap<String, i64> = BTreeMap::new();
    for r in w.sql("SELECT _source, count(*) AS n FROM events GROUP BY _source") {
        rows.insert(
            r["_source"].as_str().unwrap().into(),
            r["n"].as_i64().unwrap(),
        );
    }
    let mut rejects: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in w.sql("SELECT key, record, reason, detail FROM rejects ORDER BY key, record") {
        let key = r["key"].as_str().unwrap().to_string();
        assert!(!r["detail"].as_str().unwrap().is_empty(), "{r}");
        rejects
            .entry(key)
            .or_default()
            .push(r["reason"].as_str().unwrap().into());
    }
    for (file, e) in &exp {
        assert_eq!(
            rows.get(file).copied().unwrap_or(0),
            e["rows"].as_i64().unwrap(),
            "rows of {file}: {}",
            e["note"]
        );
        let want: Vec<String> = e["rejects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().into())
            .collect();
        assert_eq!(
            rejects.get(file).cloned().unwrap_or_default(),
            want,
            "rejects of {file}: {}",
            e["note"]
        );
    }
    // Record-level rejects name their record index.
    let idx = w.sql("SELECT record FROM rejects WHERE key = 'bad-eventtime.json'");
    assert_eq!(idx[0]["record"], 1);
    // Unknown fields survive in _raw.
    let raw = w.sql("SELECT _raw FROM events WHERE _source = 'unknown-fields.json'");
    assert!(raw[0]["_raw"].as_str().unwrap().contains("brandNewField"));
    // The 50 MB record is stored whole.
    let longest =
        w.count("SELECT max(length(_raw)) FROM events WHERE _source = 'huge-line.json.gz'");
    assert!(longest > 50 * 1024 * 1024, "{longest}");
}

#[test]
fn strict_turns_rejects_into_exit_2_but_still_ingests_the_good_records() {
    let w = Workdir::new();
    let src = corpus(&w);
    let out = w.run_code(
        &[
            "ingest",
            src.to_str().unwrap(),
            "--strict",
            "--json",
            "-q",
            "--max-object-size",
            "64",
        ],
        2,
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let good: i64 = expected()
        .values()
        .map(|e| e["rows"].as_i64().unwrap())
        .sum();
    assert_eq!(s["records"], good);
    assert_eq!(w.count("SELECT count(*) FROM events"), good);
}
