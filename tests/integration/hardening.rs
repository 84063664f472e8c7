//! Issue 17: a hostile object cannot stall a run, every file of the lake stays private, the exit
//! code follows the kind of error, and each fault of the reliability plan that needs no network
//! has a test asserting the exact rows of the lake against an oracle.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use super::util::{Workdir, copy_tree, sample, walk};

/// The oracle of a lake: every (`_source`, `_record`, SHA-256 of `_raw`), in order.
fn oracle(w: &Workdir) -> Vec<Value> {
    w.sql("SELECT _source, _record, sha256(_raw) AS h FROM events ORDER BY _source, _record")
}

/// The sample's oracle, from one uninterrupted ingest.
fn sample_oracle() -> Vec<Value> {
    let w = Workdir::new();
    w.ingest(&sample(), &[]);
    let o = oracle(&w);
    assert!(o.len() > 1000, "the sample has thousands of records");
    o
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A copy of the sample with one more log file, `name`, holding `bytes`.
fn sample_with(w: &Workdir, name: &str, bytes: &[u8]) -> (PathBuf, String) {
    let src = w.path().join("trail");
    copy_tree(&sample(), &src);
    let dir = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/01";
    std::fs::create_dir_all(src.join(dir)).expect("mkdir");
    std::fs::write(src.join(dir).join(name), bytes).expect("write");
    (src, format!("{dir}/{name}"))
}

/// `ingest --strict --json` of `src`, requiring exit `code`; returns the summary.
fn strict_ingest(w: &Workdir, src: &Path, code: i32) -> Value {
    let src = src.to_str().expect("utf-8");
    let out = w.run_code(&["ingest", src, "--json", "-q", "--strict"], code);
    serde_json::from_slice(&out.stdout).expect("summary")
}

/// Issue 17: a 2 MB object inflating to 2 GiB never finished, and every other object waited.
/// At the default cap the bomb is rejected `too_large`, every other record is ingested, and
/// `--strict` turns the reject into exit 2.
#[test]
fn r17_a_gzip_bomb_at_the_default_cap_is_rejected_and_the_run_goes_on() {
    let w = Workdir::new();
    let bomb = crate::decode::zeros_gzip(2048, None, false);
    let (src, key) = sample_with(&w, "bomb.json.gz", &bomb);
    let s = strict_ingest(&w, &src, 2);
    assert_eq!(s["rejected_objects"], 1, "{s}");
    let rejects = w.sql("SELECT key, reason, record FROM rejects");
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert!(rejects[0]["key"].as_str().expect("key").ends_with(&key));
    assert_eq!(rejects[0]["reason"], "too_large");
    assert_eq!(oracle(&w), sample_oracle(), "every other record, exactly");
}

/// `--strict` exits 2 on any reject: a changed object is one (issue 17).
#[test]
fn strict_exits_2_on_a_changed_object() {
    let w = Workdir::new();
    let (src, key) = sample_with(&w, "late.json", br#"{"Records":[]}"#);
    w.ingest(&src, &[]);
    std::fs::write(src.join(&key), br#"{"Records": []}"#).expect("rewrite");
    let s = strict_ingest(&w, &src, 2);
    assert_eq!(s["changed_objects"], 1, "{s}");
}

/// Every file the lake writes is 0600 and every folder 0700, after ingest, compact and vacuum.
#[test]
fn every_lake_file_is_owner_only_after_ingest_compact_and_vacuum() {
    let w = Workdir::new();
    let check = |verb: &str| {
        let mut dirs = vec![w.lake()];
        for p in walk(&w.lake()) {
            let mode = std::fs::metadata(&p).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "after {verb}: {} is {mode:o}", p.display());
            let mut d = p.parent().map(Path::to_path_buf);
            while let Some(dir) = d.filter(|d| d.starts_with(w.lake()) && *d != w.lake()) {
                d = dir.parent().map(Path::to_path_buf);
                dirs.push(dir);
            }
        }
        for d in dirs {
            let mode = std::fs::metadata(&d).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "after {verb}: {} is {mode:o}", d.display());
        }
    };
    // Small batches: several files per day, so compact has work.
    w.ingest(&sample(), &["--batch-size", "1"]);
    check("ingest");
    let out = w.run_code(&["compact"], 0);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("compacted"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    check("compact");
    // vacuum deletes, and writes its own log entries.
    let out = w.run_code(&["vacuum", "--retain", "0d"], 0);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("deleted 0 file"),
        "compact's replaced files go"
    );
    check("vacuum");
}

/// `ingest SRC -q` in batches of 1 MiB: several commits from the sample.
fn small_batches(w: &Workdir, src: &Path) -> std::process::Command {
    let mut c = w.cmd();
    c.arg("ingest").arg(src).args(["-q", "--batch-size", "1"]);
    c
}

/// R22: the disk fills while a batch's files are written. Exit 3 naming the cause, the lake
/// still answers with the batches before, and the next run completes to the oracle.
#[test]
fn r22_disk_full_mid_ingest_exits_3_and_the_next_run_completes() {
    let w = Workdir::new();
    let src = sample();
    let out = small_batches(&w, &src)
        .env("TRAILGLASS_FAILPOINT", "enospc_batch_3")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("No space left"), "{}", stderr(&out));
    let partial = w.count("SELECT count(*) FROM events");
    assert!(partial > 0, "batches 1 and 2 are committed");
    assert_eq!(
        w.count("SELECT CAST(coalesce(sum(records), 0) AS BIGINT) FROM objects"),
        partial,
        "objects lists exactly what events holds"
    );
    w.ingest(&src, &["--batch-size", "1"]);
    assert_eq!(oracle(&w), sample_oracle());
}

/// R23: two real ingest processes on one lake at once. One writes; the other waits its turn or
/// is refused with a clear message (exit 3). After a last run the lake equals the oracle: no
/// duplicate batch, nothing lost.
#[test]
fn r23_two_ingest_processes_on_one_lake() {
    let w = Workdir::new();
    let src = sample();
    let spawn = || {
        small_batches(&w, &src)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    for out in [a, b].map(|c| c.wait_with_output().expect("wait")) {
        match out.status.code() {
            Some(0) => {}
            Some(3) => assert!(stderr(&out).contains("another ingest"), "{}", stderr(&out)),
            other => panic!("exit {other:?}: {}", stderr(&out)),
        }
    }
    let last = w.ingest(&src, &[]);
    assert_eq!(oracle(&w), sample_oracle(), "{last}");
    assert_eq!(
        w.count("SELECT count(*) FROM (SELECT key FROM objects GROUP BY key HAVING count(*) > 1)"),
        0,
        "an object in two batches"
    );
}

/// R24: a closed stdout (`trailglass … | head`) is exit 0 with nothing on stderr, for every verb
/// that prints.
#[test]
fn r24_a_closed_stdout_is_success_for_every_verb_that_prints() {
    let w = Workdir::new();
    w.ingest(&sample(), &["--batch-size", "1"]);
    let src = sample();
    let verbs: Vec<Vec<&str>> = vec![
        vec!["sql", "SELECT * FROM events"],
        vec!["sql", "SELECT * FROM events", "--format", "json"],
        vec!["queries"],
        vec!["query", "audit_tampering"],
        vec!["sessions"],
        vec!["findings"],
        vec!["config"],
        vec!["ingest", src.to_str().expect("utf-8"), "--json", "-q"],
        vec!["compact"],
    ];
    for args in verbs {
        let mut child = w
            .cmd()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Close the reading end before the verb writes anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

/// The Parquet files on disk under the lake, by path.
fn parquet_files(w: &Workdir) -> Vec<PathBuf> {
    walk(&w.lake())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect()
}

/// The latest version of the `events` table (its newest log entry).
fn events_version(w: &Workdir) -> i64 {
    let log = w.lake().join("events/_delta_log");
    std::fs::read_dir(&log)
        .expect("events log")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".json")?.parse::<i64>().ok()
        })
        .max()
        .expect("a version")
}

/// Issue 17 item 4: vacuum removes what compact replaced and the orphans of an interrupted batch,
/// never a file a retained version reads; `--as-of` inside the retention answers, outside it
/// fails saying why; the next ingest completes the interrupted batch to the oracle.
#[test]
fn vacuum_removes_replaced_files_and_orphans_but_keeps_retained_versions() {
    let w = Workdir::new();
    let (src, key) = sample_with(&w, "held-back.json", b"");
    let held_back = src.join(&key);
    std::fs::remove_file(&held_back).expect("hold one file back");
    w.ingest(&src, &["--batch-size", "1"]);
    let before = oracle(&w);
    let v_before = events_version(&w).to_string();
    let at = |v: &str| {
        w.run(&[
            "sql",
            "SELECT _source, _record, sha256(_raw) AS h FROM events ORDER BY _source, _record",
            "--format",
            "ndjson",
            "--as-of",
            v,
        ])
    };
    w.run_code(&["compact"], 0);
    // An ingest killed after writing its batch's files, before any commit: orphans.
    let extra = walk(&src)
        .into_iter()
        .find(|p| {
            p.to_string_lossy().contains("/CloudTrail/")
                && p.to_string_lossy().ends_with(".json.gz")
        })
        .expect("a log");
    std::fs::copy(&extra, &held_back).expect("a new log");
    let on_disk = parquet_files(&w);
    let out = w
        .cmd()
        .args(["ingest", src.to_str().expect("utf-8"), "-q"])
        .env("TRAILGLASS_FAILPOINT", "after_events_files")
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0), "the failpoint stops the run");
    let orphans: Vec<PathBuf> = parquet_files(&w)
        .into_iter()
        .filter(|p| !on_disk.contains(p))
        .collect();
    assert!(!orphans.is_empty(), "the interrupted batch left files");

    let dry = w.run_code(&["vacuum", "--dry-run", "--retain", "0d"], 0);
    let listed = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(listed.contains("would delete"), "{listed}");
    assert_eq!(
        parquet_files(&w).len(),
        on_disk.len() + orphans.len(),
        "a dry run deletes nothing"
    );

    // Within the default retention nothing compact replaced goes, and the old version reads.
    let kept = w.run_code(&["vacuum"], 0);
    assert!(
        String::from_utf8_lossy(&kept.stdout).contains("deleted 0 file"),
        "{}",
        String::from_utf8_lossy(&kept.stdout)
    );
    let old = at(&v_before);
    assert_eq!(old.status.code(), Some(0), "{}", stderr(&old));

    let gone = w.run_code(&["vacuum", "--retain", "0d"], 0);
    let text = String::from_utf8_lossy(&gone.stdout).into_owned();
    for o in &orphans {
        assert!(!o.exists(), "orphan {} survived:\n{text}", o.display());
    }
    assert!(
        parquet_files(&w).len() < on_disk.len(),
        "compact's replaced files go: {text}"
    );
    let again = w.run_code(&["vacuum", "--retain", "0d", "--dry-run"], 0);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("would delete 0 file"),
        "every file left is live: {}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(oracle(&w), before, "the latest version reads every row");
    let refused = at(&v_before);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("outside the lake's retention"),
        "{}",
        stderr(&refused)
    );

    // The interrupted batch is ingested whole by the next run.
    let s = w.ingest(&src, &[]);
    assert_eq!(s["objects_ingested"], 1, "{s}");
    assert_eq!(
        w.count("SELECT count(*) FROM (SELECT _source, _record FROM events GROUP BY 1, 2 HAVING count(*) > 1)"),
        0
    );
    assert_eq!(
        oracle(&w).len(),
        before.len() + s["records"].as_u64().expect("n") as usize
    );
}

/// Issue 17: vacuum is safe beside readers. Reader processes of the current version run while
/// `vacuum --retain 0d` deletes compact's replaced files and an orphan; every read succeeds with
/// the exact count, and the replaced files and the orphan are gone afterwards.
#[test]
fn vacuum_is_safe_beside_readers_of_the_current_version() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let w = Workdir::new();
    w.ingest(&sample(), &["--batch-size", "1"]);
    let want = w.count("SELECT count(*) FROM events");
    w.run_code(&["compact"], 0);
    let after_compact = parquet_files(&w);
    // A file no version references, as a killed ingest leaves behind.
    let events = w.lake().join("events");
    let live = after_compact
        .iter()
        .find(|p| p.starts_with(&events))
        .expect("an events file");
    let orphan = live.with_file_name("part-orphan-of-a-killed-run.parquet");
    std::fs::copy(live, &orphan).expect("orphan");

    let done = AtomicBool::new(false);
    let reads = std::thread::scope(|s| {
        let readers: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let mut counts = Vec::new();
                    // Bounded: read until vacuum has finished (at least once after), at most 40 times.
                    for _ in 0..40 {
                        let finished = done.load(Ordering::SeqCst);
                        let out = w.run(&[
                            "sql",
                            "SELECT count(*) AS n FROM events",
                            "--format",
                            "ndjson",
                        ]);
                        assert_eq!(
                            out.status.code(),
                            Some(0),
                            "a reader failed: {}",
                            stderr(&out)
                        );
                        let row: Value =
                            serde_json::from_slice(&out.stdout).expect("one ndjson row");
                        counts.push(row["n"].as_i64().expect("a count"));
                        if finished {
                            break;
                        }
                    }
                    counts
                })
            })
            .collect();
        let vac = w.run(&["vacuum", "--retain", "0d"]);
        done.store(true, Ordering::SeqCst);
        assert_eq!(vac.status.code(), Some(0), "vacuum: {}", stderr(&vac));
        readers
            .into_iter()
            .flat_map(|r| r.join().expect("reader thread"))
            .collect::<Vec<i64>>()
    });
    assert!(reads.len() >= 3, "every reader read");
    assert!(
        reads.iter().all(|&n| n == want),
        "want {want} every time: {reads:?}"
    );
    assert!(!orphan.exists(), "vacuum removed the orphan");
    let left = parquet_files(&w);
    assert!(
        left.len() < after_compact.len(),
        "vacuum removed compact's replaced files: {} of {}",
        left.len(),
        after_compact.len()
    );
    assert_eq!(w.count("SELECT count(*) FROM events"), want, "after vacuum");
}

/// Vacuum takes the writer lock: beside a running ingest it is refused, exit 3.
#[test]
fn vacuum_waits_for_no_writer() {
    use std::os::fd::AsRawFd;
    let w = Workdir::new();
    w.ingest(&sample(), &[]);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(w.lake().join("_trailglass.lock"))
        .expect("lock file");
    // SAFETY: flock on our own descriptor.
    assert_eq!(
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let out = w.run_code(&["vacuum", "--retain", "0d"], 3);
    assert!(stderr(&out).contains("another ingest"), "{}", stderr(&out));
}

/// A number from the environment, or `default`: the longer scripted run raises the counts.
fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// R1's source: the bundled sample, or with `TRAILGLASS_R1_RECORDS` a generated trail of that
/// many records (the scripted run uses 50,000).
fn r1_source(w: &Workdir) -> PathBuf {
    let records = env_or("TRAILGLASS_R1_RECORDS", 0);
    if records == 0 {
        return sample();
    }
    let out = w.path().join("gen");
    let records = records.to_string();
    let o = std::process::Command::new(super::util::bin())
        .args(["generate", "--out"])
        .arg(&out)
        .args(["--seed", "20261204", "--accounts", "3", "--regions", "2"])
        .args(["--days", "3", "--records", &records, "--sessions", "6"])
        .output()
        .expect("generate");
    assert!(o.status.success(), "{}", stderr(&o));
    out.join("trail")
}

/// R1: `kill -9` at seeded random moments of a resumed ingest (4 here; `TRAILGLASS_R1_KILLS=30`
/// and `TRAILGLASS_R1_SEED` for the longer run), then a run to completion: the lake equals the
/// oracle of an uninterrupted run. `vacuum` then sweeps every orphan the kills left, and the
/// answer is unchanged.
#[test]
fn r1_seeded_sigkills_then_vacuum_leave_exactly_the_oracle() {
    let clean = Workdir::new();
    let src = r1_source(&clean);
    clean.ingest(&src, &["--batch-size", "1"]);
    let want = oracle(&clean);
    assert!(want.len() > 1000, "{} records", want.len());
    let w = Workdir::new();
    let mut seed = env_or("TRAILGLASS_R1_SEED", 17);
    for _ in 0..env_or("TRAILGLASS_R1_KILLS", 4) {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = 50 + (seed >> 33) % 1500;
        let mut child = small_batches(&w, &src)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    w.ingest(&src, &["--batch-size", "1"]);
    assert_eq!(oracle(&w), want, "after the kills");
    w.run_code(&["vacuum", "--retain", "0d"], 0);
    let left = w.run_code(&["vacuum", "--retain", "0d", "--dry-run"], 0);
    let text = String::from_utf8_lossy(&left.stdout).into_owned();
    assert!(text.contains("would delete 0 file"), "orphans left: {text}");
    assert_eq!(oracle(&w), want, "after vacuum");
}

/// Ingest the bundled sample; returns the path of its break-glass configuration.
fn ingest_sample_with_config(w: &Workdir) -> String {
    let dir = super::util::repo().join("testdata/sample");
    w.ingest(&dir.join("trail"), &[]);
    dir.join("trailglass.toml")
        .to_str()
        .expect("utf-8")
        .to_string()
}

/// Issue 17 item 7: every output format of `sessions` and `findings` carries the same rows (not
/// only exit 0), and `--account` keeps exactly that account's findings, a non-empty set.
#[test]
fn every_format_carries_the_same_rows_and_account_filters_exactly() {
    let w = Workdir::new();
    let config = ingest_sample_with_config(&w);
    let config = config.as_str();
    let run = |args: &[&str]| {
        let mut all = vec!["--config", config];
        all.extend_from_slice(args);
        String::from_utf8(w.run_code(&all, 0).stdout).expect("utf-8")
    };
    let rows = |text: &str| -> Vec<Value> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("ndjson row"))
            .collect()
    };
    for (verb, key) in [("sessions", "session_id"), ("findings", "rule_id")] {
        let nd = rows(&run(&[verb, "--format", "ndjson"]));
        assert!(!nd.is_empty(), "{verb}");
        let json: Value = serde_json::from_str(&run(&[verb, "--format", "json"])).expect("json");
        assert_eq!(json.as_array(), Some(&nd), "{verb}: json and ndjson");
        let csv = run(&[verb, "--format", "csv"]);
        let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
        // ndjson leaves out null fields: every field it has is a csv column, once.
        let columns: std::collections::BTreeSet<&str> = header.iter().copied().collect();
        assert_eq!(columns.len(), header.len(), "{verb}: csv columns once each");
        for r in &nd {
            for k in r.as_object().expect("row").keys() {
                assert!(columns.contains(k.as_str()), "{verb}: {k} not in the csv");
            }
        }
        let at = header.iter().position(|h| *h == key).expect("key column");
        let mut from_csv: Vec<String> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(at).unwrap_or_default().to_string())
            .collect();
        let mut from_nd: Vec<String> = nd
            .iter()
            .map(|r| r[key].as_str().expect("key").to_string())
            .collect();
        from_csv.sort();
        from_nd.sort();
        assert_eq!(from_csv, from_nd, "{verb}: csv rows");
        let table = run(&[verb, "--format", "table"]);
        for k in &from_nd {
            assert!(
                table.contains(k.as_str()),
                "{verb}: {k} missing from the table"
            );
        }
    }
    let all = rows(&run(&["findings", "--format", "ndjson"]));
    let acct = all[0]["account"].as_str().expect("account");
    let want: Vec<&Value> = all.iter().filter(|f| f["account"] == acct).collect();
    let got = rows(&run(&["findings", "--account", acct, "--format", "ndjson"]));
    assert!(!got.is_empty());
    assert_eq!(got.iter().collect::<Vec<_>>(), want, "--account {acct}");
}

/// Issue 17 item 7: the demo prints the sample's sessions and findings, not only its headings:
/// every session of `sessions` is in its table, and its per-rule counts are those of `findings`.
#[test]
fn the_demo_prints_the_samples_sessions_and_findings() {
    let w = Workdir::new();
    let demo = String::from_utf8(w.run_code(&["demo"], 0).stdout).expect("utf-8");
    let config = super::util::repo().join("testdata/sample/trailglass.toml");
    let config = config.to_str().expect("utf-8");
    let rows = |verb: &str| -> Vec<Value> {
        let out = w.run_code(&["--config", config, verb, "--format", "ndjson"], 0);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("ndjson row"))
            .collect()
    };
    let sessions = rows("sessions");
    assert!(!sessions.is_empty());
    for s in &sessions {
        let id = s["session_id"].as_str().expect("id");
        assert!(
            demo.contains(&format!("| {id} |")),
            "session {id} not shown"
        );
    }
    assert!(demo.contains(&format!("{} rows", sessions.len())), "{demo}");
    let mut per_rule = std::collections::BTreeMap::<String, (String, usize)>::new();
    for f in rows("findings") {
        let e = per_rule
            .entry(f["rule_id"].as_str().expect("rule").to_string())
            .or_insert((f["severity"].as_str().expect("severity").to_string(), 0));
        e.1 += 1;
    }
    assert!(!per_rule.is_empty());
    for (rule, (severity, n)) in &per_rule {
        let line = demo
            .lines()
            .find(|l| l.starts_with(&format!("| {rule} ")))
            .unwrap_or_else(|| panic!("{rule} not shown"));
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cells[2..4], [severity.as_str(), &n.to_string()], "{line}");
    }
}

/// Issue 17 item 7: `findings --from/--to` over a non-empty window inside the data gives exactly
/// the findings whose event time is in it, both ends included (the window's ends are times of
/// findings).
#[test]
fn a_findings_window_gives_exactly_the_findings_inside_it() {
    let w = Workdir::new();
    let config = ingest_sample_with_config(&w);
    let config = config.as_str();
    let findings = |extra: &[&str]| -> Vec<Value> {
        let mut args = vec!["--config", config, "findings", "--format", "ndjson"];
        args.extend_from_slice(extra);
        let out = w.run_code(&args, 0);
        let mut rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("ndjson row"))
            .collect();
        rows.sort_by_key(|r| r.to_string());
        rows
    };
    let time = |r: &Value| {
        chrono::DateTime::parse_from_rfc3339(r["eventtime"].as_str().expect("eventtime"))
            .expect("a time")
    };
    let all = findings(&[]);
    let mut times: Vec<_> = all.iter().map(time).collect();
    times.sort();
    let (from, to) = (times[times.len() / 4], times[times.len() * 3 / 4]);
    let want: Vec<Value> = all
        .iter()
        .filter(|r| (from..=to).contains(&time(r)))
        .cloned()
        .collect();
    assert!(
        !want.is_empty() && want.len() < all.len(),
        "{} of {}",
        want.len(),
        all.len()
    );
    let got = findings(&["--from", &from.to_rfc3339(), "--to", &to.to_rfc3339()]);
    assert_eq!(got, want, "--from {from} --to {to}");
}

/// `--as-of` names a state of the whole lake, not of `events` alone: `objects`, `digests` and
/// `rejects` read as they stood when `events` was at that version. Reading the newest `digests`
/// beside old `events` let BG015 see digests that arrived later.
#[test]
fn as_of_reads_the_index_tables_as_they_stood() {
    let w = Workdir::new();
    let src = w.path().join("trail");
    copy_tree(&sample(), &src);
    let mut files: Vec<PathBuf> = walk(&src)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    files.sort();
    let held = w.path().join("held");
    std::fs::create_dir_all(&held).expect("mkdir");
    let mut later = Vec::new();
    for (i, f) in files.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
        let to = held.join(i.to_string());
        std::fs::rename(f, &to).expect("hold back");
        later.push((to, f.clone()));
    }
    let counts = |extra: &[&str]| -> Vec<Value> {
        let mut args = vec![
            "sql",
            "SELECT (SELECT count(*) FROM objects) AS objects, \
                    (SELECT count(*) FROM digests) AS digests, \
                    (SELECT count(*) FROM events) AS events",
            "--format",
            "ndjson",
        ];
        args.extend_from_slice(extra);
        String::from_utf8_lossy(&w.run_code(&args, 0).stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("ndjson row"))
            .collect()
    };
    // Many batches, so that the pinned version lies inside each table's history.
    w.ingest(&src, &["--batch-size", "1"]);
    let first = counts(&[]);
    let v = events_version(&w).to_string();
    assert!(first[0]["digests"].as_i64() > Some(0), "{first:?}");
    for (from, to) in later {
        std::fs::rename(from, to).expect("bring back");
    }
    w.ingest(&src, &["--batch-size", "1"]);
    let now = counts(&[]);
    for t in ["objects", "digests", "events"] {
        assert!(
            now[0][t].as_i64() > first[0][t].as_i64(),
            "{t}: {first:?} {now:?}"
        );
    }
    assert_eq!(counts(&["--as-of", &v]), first, "--as-of {v}");
}
