//! `compact`: one sorted file per day afterwards, and no answer changes (SPEC §4).

use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::TimestampMicrosecondType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use super::util::{Workdir, repo, sample};

fn lines(out: &std::process::Output) -> Vec<String> {
    let mut l: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    l.sort();
    l
}

/// Every answer compaction must not change: each row with a digest of its text, the sessions and
/// the findings.
fn answers(w: &Workdir) -> (Vec<Value>, Vec<String>, Vec<String>) {
    let config = repo().join("testdata/sample/trailglass.toml");
    let config = config.to_str().expect("utf-8");
    let mut rows = w.sql(
        "SELECT dt, eventid, _source, _record, recipientaccountid, eventtime, sha256(_raw) AS raw \
         FROM events ORDER BY _source, _record",
    );
    // The index tables are compacted too.
    rows.extend(
        w.sql("SELECT bucket, key, size, sha256, records, rejects FROM objects ORDER BY key"),
    );
    rows.extend(w.sql("SELECT key, account, region, body, signature FROM digests ORDER BY key"));
    rows.extend(w.sql("SELECT * FROM identity_events ORDER BY _source, _record"));
    let sessions = lines(&w.run_code(&["--config", config, "sessions", "--format", "ndjson"], 0));
    let findings = lines(&w.run_code(&["--config", config, "findings", "--format", "ndjson"], 0));
    (rows, sessions, findings)
}

/// The paths the last `n` commits of `events` added.
fn added_files(lake: &Path, n: usize) -> Vec<String> {
    let log = lake.join("events/_delta_log");
    let mut commits: Vec<_> = std::fs::read_dir(&log)
        .expect("delta log")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    commits.sort();
    commits
        .iter()
        .rev()
        .take(n)
        .flat_map(|c| {
            std::fs::read_to_string(c)
                .expect("commit")
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter_map(|v| v["add"]["path"].as_str().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Is the file sorted by (account, nulls first; time; `_source`; `_record`)?
fn assert_sorted(file: &Path) {
    let f = std::fs::File::open(file).expect("parquet file");
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .expect("parquet")
        .build()
        .expect("reader");
    let mut last: Option<(Option<String>, i64, String, i64)> = None;
    let mut rows = 0;
    for b in reader {
        let b = b.expect("batch");
        let acct = b.column_by_name("recipientaccountid").expect("account");
        let acct = acct.as_string::<i32>();
        let time = b.column_by_name("eventtime").expect("time");
        let time = time.as_primitive::<TimestampMicrosecondType>();
        let src = b.column_by_name("_source").expect("source");
        let src = src.as_string::<i32>();
        let rec = b.column_by_name("_record").expect("record");
        let rec = rec.as_primitive::<arrow::datatypes::Int64Type>();
        for i in 0..b.num_rows() {
            let key = (
                acct.is_valid(i).then(|| acct.value(i).to_string()),
                time.value(i),
                src.value(i).to_string(),
                rec.value(i),
            );
            if let Some(prev) = &last {
                assert!(prev <= &key, "{} not sorted at row {rows}", file.display());
            }
            last = Some(key);
            rows += 1;
        }
    }
    assert!(rows > 0, "{} is empty", file.display());
}

#[test]
fn compact_leaves_one_sorted_file_per_day_and_every_answer_unchanged() {
    let w = Workdir::new();
    // One commit per object batch of 1 MiB: several files per day.
    w.ingest(&sample(), &["--batch-size", "1"]);
    let before = answers(&w);
    let days = w.count("SELECT count(DISTINCT dt) FROM events");
    let events = w.count("SELECT count(*) FROM events");
    assert!(!before.0.is_empty() && !before.1.is_empty() && !before.2.is_empty());

    let out = w.run_code(&["compact"], 0);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        said.contains(&format!("compacted {days} day(s) of events"))
            && said.contains(&format!("-> {days} files")),
        "{said}"
    );
    let commits: usize = said
        .lines()
        .find(|l| l.contains("commit(s)"))
        .and_then(|l| l.split(", ").find_map(|p| p.strip_suffix(" commit(s)")))
        .and_then(|n| n.parse().ok())
        .expect("commit count");
    assert!(
        said.contains("compacted objects, rejects, digests and identity_events"),
        "{said}"
    );
    assert_eq!(answers(&w), before, "compaction changed an answer");

    // The files the compaction added hold every row, each sorted like an ingest file.
    let files = added_files(&w.lake(), commits);
    assert!(files.len() >= days as usize, "{files:?}");
    for f in &files {
        assert_sorted(&w.lake().join("events").join(f));
    }

    // Nothing left to do; ingest is still exactly once; old versions still read the old files.
    let again = w.run_code(&["compact"], 0);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to compact"));
    let second = w.ingest(&sample(), &[]);
    assert_eq!(second["objects_ingested"], 0, "{second}");
    assert_eq!(answers(&w), before);
    // The version before the compaction still reads its own files.
    let latest = std::fs::read_dir(w.lake().join("events/_delta_log"))
        .expect("delta log")
        .filter_map(|e| {
            let name = e.expect("entry").file_name().into_string().ok()?;
            name.strip_suffix(".json")?.parse::<usize>().ok()
        })
        .max()
        .expect("a version");
    let pinned = (latest - commits).to_string();
    let out = w.run_code(
        &[
            "sql",
            "--as-of",
            &pinned,
            "--format",
            "csv",
            "SELECT count(*) AS n FROM events",
        ],
        0,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("n\n{events}")
    );
}

#[test]
fn a_compaction_killed_before_its_commit_changes_nothing() {
    let w = Workdir::new();
    w.ingest(&sample(), &["--batch-size", "1"]);
    let before = answers(&w);
    let out = w
        .cmd()
        .args(["compact"])
        .env("TRAILGLASS_FAILPOINT", "before_compact_commit")
        .output()
        .expect("run trailglass");
    assert!(!out.status.success(), "the failpoint aborts the run");
    // The new files were written but never committed: readers do not see them.
    assert_eq!(answers(&w), before);
    // The lock is an flock: the kill released it. A second run does the work.
    w.run_code(&["compact"], 0);
    assert_eq!(answers(&w), before);
}
