//! Crash-resume: kill the real binary at every step of a commit (failpoints) and at random moments
//! (SIGKILL), re-run, and compare with an uninterrupted run: same rows, no duplicates, no loss.

use std::process::Stdio;
use std::time::Duration;

use super::util::{Workdir, bin, sample};

/// Small batches so one ingest makes several commits.
const BATCH: &[&str] = &["--batch-size", "1"];

struct Lakeview {
    events: i64,
    objects: i64,
    records_in_objects: i64,
    duplicates: i64,
    /// Rows of the identity_events index, its distinct (_source, _record), and the rows it indexes.
    identity: i64,
    identity_distinct: i64,
    identity_in_events: i64,
}

fn view(w: &Workdir) -> Lakeview {
    Lakeview {
        events: w.count("SELECT count(*) FROM events"),
        objects: w.count("SELECT count(*) FROM objects"),
        records_in_objects: w.count("SELECT CAST(coalesce(sum(records), 0) AS BIGINT) FROM objects"),
        duplicates: w.count(
            "SELECT count(*) FROM (SELECT eventid, _source, _record FROM events GROUP BY 1, 2, 3 HAVING count(*) > 1)",
        ),
        identity: w.count("SELECT count(*) FROM identity_events"),
        identity_distinct: w
            .count("SELECT count(*) FROM (SELECT DISTINCT _source, _record FROM identity_events)"),
        identity_in_events: w.count(
            "SELECT count(*) FROM events WHERE eventsource IN ('sts.amazonaws.com', 'signin.amazonaws.com', 'iam.amazonaws.com')",
        ),
    }
}

fn baseline() -> Lakeview {
    let w = Workdir::new();
    w.ingest(&sample(), BATCH);
    let v = view(&w);
    assert!(v.objects > 10);
    v
}

fn assert_same(got: &Lakeview, want: &Lakeview, what: &str) {
    assert_eq!(got.events, want.events, "{what}: events");
    assert_eq!(got.objects, want.objects, "{what}: objects");
    assert_eq!(
        got.records_in_objects, got.events,
        "{what}: objects agree with events"
    );
    assert_eq!(
        got.duplicates, 0,
        "{what}: duplicate (eventid, _source, _record)"
    );
    assert_eq!(got.identity, want.identity, "{what}: identity_events");
    assert_eq!(
        (got.identity_distinct, got.identity_in_events),
        (got.identity, got.identity),
        "{what}: identity_events holds each identity row of events once"
    );
}

#[test]
fn every_failpoint_of_the_commit_recovers_to_the_same_rows() {
    let want = baseline();
    for fp in [
        "after_events_files",
        "before_events_commit",
        "after_commit_events",
        "after_commit_objects",
        "after_commit_rejects",
        "after_commit_digests",
        "after_commit_identity_events",
    ] {
        let w = Workdir::new();
        let out = w
            .cmd()
            .args(["ingest", sample().to_str().unwrap(), "-q"])
            .args(BATCH)
            .env("TRAILGLASS_FAILPOINT", fp)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "{fp}: the failpoint must stop the run"
        );
        w.ingest(&sample(), BATCH);
        assert_same(&view(&w), &want, fp);
    }
}

#[test]
fn sigkill_at_random_moments_then_rerun_gives_the_same_rows() {
    let want = baseline();
    let w = Workdir::new();
    // Several kills into the same lake, each at a different point of a resumed ingest.
    for delay_ms in [150u64, 400, 700, 1000, 1500] {
        let mut child = std::process::Command::new(bin())
            .arg("--lake")
            .arg(w.lake())
            .args(["ingest", sample().to_str().unwrap(), "-q"])
            .args(BATCH)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    w.ingest(&sample(), BATCH);
    assert_same(&view(&w), &want, "after SIGKILLs");
}
