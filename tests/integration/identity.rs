//! `identity_events`, the index of STS, sign-in and IAM events that ingest keeps beside `events`:
//! it holds exactly those rows of `events`, and a reader falls back to `events` whenever it is
//! not current (an older lake, an ingest stopped between its commits, `--as-of`).

use serde_json::Value;

use super::util::{Workdir, repo, sample};

const IDENTITY_ROWS: &str = "SELECT * EXCLUDE (_raw) FROM events \
     WHERE eventsource IN ('sts.amazonaws.com', 'signin.amazonaws.com', 'iam.amazonaws.com') \
     ORDER BY _source, _record";

fn index_rows(w: &Workdir) -> Vec<Value> {
    w.sql("SELECT * FROM identity_events ORDER BY _source, _record")
}

/// Where `identity_events` is read from: its own files, or `events` (the fallback).
fn reads_own_files(w: &Workdir, extra: &[&str]) -> bool {
    let mut args = vec!["sql", "--format", "csv"];
    args.extend_from_slice(extra);
    args.push("EXPLAIN SELECT count(eventname) FROM identity_events");
    let plan = String::from_utf8_lossy(&w.run_code(&args, 0).stdout).to_string();
    let own = plan.contains("/identity_events/");
    assert!(own || plan.contains("/events/"), "{plan}");
    own
}

fn sessions_and_findings(w: &Workdir) -> (String, String) {
    let config = repo().join("testdata/sample/trailglass.toml");
    let config = config.to_str().expect("utf-8");
    let run = |verb: &str| {
        let out = w.run_code(&["--config", config, verb, "--format", "ndjson"], 0);
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    (run("sessions"), run("findings"))
}

#[test]
fn the_index_holds_exactly_the_identity_rows_of_events() {
    let w = Workdir::new();
    // Many batches: the index gets a commit per batch, like events.
    w.ingest(&sample(), &["--batch-size", "1"]);
    let expected = w.sql(IDENTITY_ROWS);
    assert!(expected.len() > 100, "{} identity rows", expected.len());
    assert!(reads_own_files(&w, &[]));
    assert_eq!(index_rows(&w), expected);
    // A pinned version reads events as of then, so the index is not used.
    assert!(!reads_own_files(&w, &["--as-of", "1"]));
}

#[test]
fn an_index_behind_events_is_not_read_and_the_next_ingest_completes_it() {
    let w = Workdir::new();
    let lake = w.lake();
    let out = w
        .cmd()
        .env("TRAILGLASS_FAILPOINT", "after_commit_events")
        .args(["ingest", sample().to_str().expect("utf-8"), "-q"])
        .output()
        .expect("run trailglass");
    assert!(!out.status.success(), "the failpoint should stop the run");
    assert!(lake.join("identity_events/_delta_log").exists());
    // events has batch 1, the index none: readers use events.
    assert!(w.count("SELECT count(*) FROM events") > 0);
    assert!(!reads_own_files(&w, &[]));
    assert_eq!(index_rows(&w), w.sql(IDENTITY_ROWS));
    let lagging = sessions_and_findings(&w);

    w.ingest(&sample(), &[]);
    assert!(reads_own_files(&w, &[]));
    assert_eq!(index_rows(&w), w.sql(IDENTITY_ROWS));
    assert_eq!(sessions_and_findings(&w), lagging);
}

/// Drop the index's files from the batch records of the events log.
fn forget_index_files(w: &Workdir) {
    let log = w.lake().join("events/_delta_log");
    for e in std::fs::read_dir(&log).expect("events log") {
        let path = e.expect("entry").path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("commit");
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).expect("action");
                if let Some(aux) = v.pointer_mut("/commitInfo/trailglass/aux") {
                    aux.as_object_mut().map(|m| m.remove("identity_events"));
                }
                v.to_string()
            })
            .collect();
        std::fs::write(&path, lines.join("\n") + "\n").expect("rewrite commit");
    }
}

#[test]
fn a_lake_from_before_the_index_reads_events_until_ingest_builds_it() {
    let w = Workdir::new();
    w.ingest(&sample(), &["--batch-size", "2"]);
    let answers = sessions_and_findings(&w);
    let expected = w.sql(IDENTITY_ROWS);
    // As an older trailglass left it: no table, and no files of it recorded in the events log.
    std::fs::remove_dir_all(w.lake().join("identity_events")).expect("remove the index");
    forget_index_files(&w);

    // Every read verb works on the older lake, with the same answers.
    assert!(!reads_own_files(&w, &[]));
    assert_eq!(index_rows(&w), expected);
    assert_eq!(sessions_and_findings(&w), answers);
    w.run_code(&["compact"], 0);
    assert!(!w.lake().join("identity_events").exists());

    // The next ingest (nothing new to read) builds the index once, as of the last batch.
    let again = w.ingest(&sample(), &[]);
    assert_eq!(again["objects_ingested"], 0, "{again}");
    assert!(reads_own_files(&w, &[]));
    assert_eq!(index_rows(&w), expected);
    assert_eq!(sessions_and_findings(&w), answers);
    // Built once: a further ingest leaves it alone.
    let log = w.lake().join("identity_events/_delta_log");
    let commits = || std::fs::read_dir(&log).expect("log").count();
    let before = commits();
    w.ingest(&sample(), &[]);
    assert_eq!(commits(), before);
}
