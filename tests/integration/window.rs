//! Issue 18: the catalog on AssumeRole-heavy trails (exact answers in a small memory pool),
//! windows (`--since`, `--from`/`--to`) that read only what the window needs and answer like the
//! whole lake, and the scan figures of `-v`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use super::sessions::{compare, ndjson};
use super::util::Workdir;

/// Generate a trail into `w`/gen and ingest it; returns the generated directory.
fn generated(w: &Workdir, args: &[&str]) -> PathBuf {
    let out = w.path().join("gen");
    let mut all = vec!["generate", "--out", out.to_str().expect("utf-8")];
    all.extend_from_slice(args);
    w.run_code(&all, 0);
    w.ingest(&out.join("trail"), &[]);
    out
}

fn config(dir: &Path) -> String {
    dir.join("trailglass.toml")
        .to_str()
        .expect("utf-8")
        .to_string()
}

/// Run with a memory pool of `limit`, requiring exit 0.
fn run_in_pool(w: &Workdir, limit: &str, args: &[&str]) -> Output {
    let out = w
        .cmd()
        .env("TRAILGLASS_MEMORY_LIMIT", limit)
        .args(args)
        .output()
        .expect("run trailglass");
    assert_eq!(
        out.status.code(),
        Some(0),
        "trailglass {args:?}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Sixty days of organization trail in which a fifth of the records are AssumeRole* calls of
/// services, Identity Center and automation: `sessions`, `findings`, a catalog query and
/// `report` run in a small pool with answers equal to the key. Before step results were stored as plain strings,
/// `tg_sts` was charged many times the memory it held (string views sharing whole buffers) and
/// failed with "Not enough memory to continue external sort" (on this trail even in a 512 MiB
/// pool); here a 256 MiB pool must do, and the answers must equal the key. (128 MiB passes on
/// its own, but which partition sorts first varies, and under load it once ran out.)
#[test]
fn assume_role_heavy_trail_is_exact_in_a_small_pool() {
    let w = Workdir::new();
    let dir = generated(
        &w,
        &[
            "--seed",
            "1818",
            "--records",
            "60000",
            "--accounts",
            "6",
            "--regions",
            "2",
            "--days",
            "60",
            "--sessions",
            "30",
            "--assume-share",
            "0.2",
        ],
    );
    let share = w.sql(
        "SELECT CAST(sum(CASE WHEN eventname LIKE 'AssumeRole%' THEN 1 ELSE 0 END) AS DOUBLE) / count(*) AS s FROM events",
    );
    let share = share[0]["s"].as_f64().expect("share");
    assert!(share >= 0.10, "AssumeRole* share {share}");
    let key: Value = serde_json::from_slice(&std::fs::read(dir.join("answer-key.json")).unwrap())
        .expect("answer key");
    let c = config(&dir);
    let sessions = ndjson(&run_in_pool(
        &w,
        "256MiB",
        &["--config", &c, "sessions", "--format", "ndjson"],
    ));
    let findings = ndjson(&run_in_pool(
        &w,
        "256MiB",
        &["--config", &c, "findings", "--format", "ndjson"],
    ));
    let problems = compare(&sessions, &findings, &key);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        sessions.len(),
        key["sessions"].as_array().map_or(0, Vec::len)
    );
    // A catalog query that builds the sessions too.
    let listed = ndjson(&run_in_pool(
        &w,
        "256MiB",
        &[
            "--config",
            &c,
            "query",
            "breakglass_this_week",
            "--param",
            "from=2026-03-01",
            "--format",
            "ndjson",
        ],
    ));
    assert_eq!(
        listed.len(),
        key["sessions"].as_array().map_or(0, Vec::len) - before_start(&key)
    );
    // A scheduled report of the same window: its sessions, and its break-glass findings equal
    // the `findings` rows of the window.
    let out = run_in_pool(
        &w,
        "256MiB",
        &[
            "--config",
            &c,
            "report",
            "--from",
            "2026-03-01",
            "--format",
            "json",
        ],
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    assert_eq!(
        report["sessions"].as_array().map_or(0, Vec::len),
        listed.len()
    );
    let triple = |f: &Value| format!("{} {} {}", f["rule_id"], f["session_id"], f["eventid"]);
    let mut reported: Vec<String> = report["findings"]
        .as_array()
        .expect("report findings")
        .iter()
        .filter(|f| f["rule_id"].as_str().is_some_and(|r| r.starts_with("BG")))
        .map(triple)
        .collect();
    let mut want: Vec<String> = findings
        .iter()
        .filter(|f| f["eventtime"].as_str().is_some_and(|t| t >= "2026-03-01"))
        .map(triple)
        .collect();
    reported.sort();
    want.sort();
    assert_eq!(reported, want);
}

/// Sessions of the key that start before the trail (their entry lies before the data).
fn before_start(key: &Value) -> usize {
    key["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .filter(|s| s["start"].as_str().is_some_and(|t| t < "2026-03-01"))
        .count()
}

pub(super) fn micros(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339")
        .timestamp_micros()
}

pub(super) fn iso(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Rows as sorted JSON text, for comparing multisets of rows.
pub(super) fn canon(rows: &[&Value]) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    v.sort();
    v
}

/// For a set of windows — whole days, windows cut through sessions (a session starting just
/// inside, one whose actions run past the end, one that started just before), open-ended ones —
/// the windowed answers equal the whole lake's answers restricted to the window: sessions that
/// start in it, findings whose event time lies in it.
#[test]
fn windowed_answers_equal_the_whole_lake_restricted() {
    let w = Workdir::new();
    let dir = generated(
        &w,
        &[
            "--seed",
            "1819",
            "--records",
            "30000",
            "--accounts",
            "4",
            "--regions",
            "2",
            "--days",
            "8",
            "--sessions",
            "30",
        ],
    );
    let c = config(&dir);
    let all_sessions = ndjson(&w.run_code(&["--config", &c, "sessions", "--format", "ndjson"], 0));
    let all_findings = ndjson(&w.run_code(&["--config", &c, "findings", "--format", "ndjson"], 0));
    assert!(all_sessions.len() >= 30, "{}", all_sessions.len());
    let start = |s: &Value| micros(s["start"].as_str().expect("start"));
    let end = |s: &Value| micros(s["end"].as_str().expect("end"));
    let day = 86_400_000_000i64;
    // Sessions whose actions cross a UTC midnight.
    let straddling: Vec<&Value> = all_sessions
        .iter()
        .filter(|s| start(s).div_euclid(day) != end(s).div_euclid(day))
        .collect();
    assert!(!straddling.is_empty(), "no session crosses a UTC midnight");
    let t0 = micros("2026-03-01T00:00:00Z");
    let mut windows: Vec<(Option<i64>, Option<i64>)> = vec![
        (Some(t0 + 2 * day), Some(t0 + 3 * day)),
        (Some(t0 + 3 * day + day / 2), Some(t0 + 5 * day)),
        (Some(t0 + 6 * day), None),
        (None, Some(t0 + day + day / 3)),
    ];
    // Windows that cut through sessions with actions: starting 1 s after one (its actions are in
    // the window, the session is not), ending 1 s after one starts (its later actions are read
    // through the look-ahead), and around a session crossing midnight.
    for s in all_sessions
        .iter()
        .filter(|s| s["events"].as_i64().unwrap_or(0) > 1)
        .take(4)
        .chain(straddling.iter().copied().take(2))
    {
        windows.push((Some(start(s) + 1_000_000), Some(start(s) + day)));
        windows.push((Some(start(s) - day / 2), Some(start(s) + 1_000_000)));
    }
    for (from, to) in windows {
        let flags: Vec<String> = vec!["--config".into(), c.clone()];
        let mut tail: Vec<String> = Vec::new();
        if let Some(f) = from {
            tail.extend(["--from".into(), iso(f)]);
        }
        if let Some(t) = to {
            tail.extend(["--to".into(), iso(t)]);
        }
        tail.extend(["--format".into(), "ndjson".into()]);
        let inside = |t: i64| from.is_none_or(|f| t >= f) && to.is_none_or(|x| t <= x);
        for verb in ["sessions", "findings"] {
            let mut args = flags.clone();
            args.push(verb.into());
            args.extend(tail.iter().cloned());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let got = ndjson(&w.run_code(&args, 0));
            let (all, field) = if verb == "sessions" {
                (&all_sessions, "start")
            } else {
                (&all_findings, "eventtime")
            };
            let want: Vec<&Value> = all
                .iter()
                .filter(|r| r[field].as_str().is_some_and(|t| inside(micros(t))))
                .collect();
            let got: Vec<&Value> = got.iter().collect();
            assert_eq!(
                canon(&got),
                canon(&want),
                "{verb} in window {:?}..{:?}",
                from.map(iso),
                to.map(iso)
            );
        }
    }
    // `--since` far enough back is the whole lake.
    let since = ndjson(&w.run_code(
        &[
            "--config", &c, "sessions", "--since", "100000d", "--format", "ndjson",
        ],
        0,
    ));
    assert_eq!(
        canon(&since.iter().collect::<Vec<_>>()),
        canon(&all_sessions.iter().collect::<Vec<_>>())
    );
    // A catalog query's --since is its `from` parameter.
    let listed = ndjson(&w.run_code(
        &[
            "--config",
            &c,
            "query",
            "breakglass_this_week",
            "--since",
            "100000d",
            "--format",
            "ndjson",
        ],
        0,
    ));
    assert_eq!(listed.len(), all_sessions.len());
    let err = w.run_code(&["--config", &c, "sessions", "--since", "soon"], 2);
    assert!(String::from_utf8_lossy(&err.stderr).contains("--since \"soon\" is not a duration"));
}

/// Strip ANSI colour codes from log output.
pub(super) fn plain(s: &[u8]) -> String {
    let s = String::from_utf8_lossy(s);
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The scan figures `-v` prints for `verb`: (files, partitions read).
pub(super) fn figures(stderr: &[u8], verb: &str) -> (usize, BTreeSet<String>) {
    let text = plain(stderr);
    let line = text
        .lines()
        .find(|l| l.contains("read from the lake") && l.contains(&format!("verb=\"{verb}\"")))
        .unwrap_or_else(|| panic!("no scan figures for {verb} in:\n{text}"));
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {line}"))
            .to_string()
    };
    let files = field("files").parse().expect("files");
    let dts = field("dt")
        .split(',')
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect();
    (files, dts)
}

/// A one-day window on a three-week lake reads only the days the window and its look-back and
/// look-ahead can touch (default look-back 48 h, rotate_within 24 h): 2026-03-09 … 2026-03-15 for
/// the window 2026-03-11 … 2026-03-12; the whole lake reads all 21 days.
#[test]
fn a_one_day_window_reads_only_its_partitions() {
    let w = Workdir::new();
    let dir = generated(
        &w,
        &[
            "--seed",
            "1820",
            "--records",
            "20000",
            "--accounts",
            "3",
            "--regions",
            "1",
            "--days",
            "21",
            "--sessions",
            "15",
        ],
    );
    let c = config(&dir);
    let all = w.run_code(&["--config", &c, "-v", "sessions", "--format", "ndjson"], 0);
    let (all_files, all_days) = figures(&all.stderr, "sessions");
    assert_eq!(all_days.len(), 21, "{all_days:?}");
    let allowed: BTreeSet<String> = (9..=15).map(|d| format!("2026-03-{d:02}")).collect();
    for verb in ["sessions", "findings"] {
        let out = w.run_code(
            &[
                "--config",
                &c,
                "-v",
                verb,
                "--from",
                "2026-03-11T00:00:00Z",
                "--to",
                "2026-03-12T00:00:00Z",
                "--format",
                "ndjson",
            ],
            0,
        );
        let (files, days) = figures(&out.stderr, verb);
        assert!(days.is_subset(&allowed), "{verb} read {days:?}");
        assert!(days.contains("2026-03-11"), "{verb} read {days:?}");
        assert!(
            files * 2 < all_files,
            "{verb}: {files} of {all_files} files"
        );
    }
    let q = w.run_code(
        &[
            "--config",
            &c,
            "-v",
            "query",
            "sessions_by_account",
            "--param",
            "from=2026-03-11",
            "--param",
            "to=2026-03-12",
        ],
        0,
    );
    let (_, days) = figures(&q.stderr, "query");
    assert!(days.is_subset(&allowed), "query read {days:?}");
    // --since needs a query with a `from` parameter.
    let bad = w.run_code(
        &[
            "--config",
            &c,
            "query",
            "session_timeline",
            "--since",
            "24h",
            "-p",
            "session_id=x",
        ],
        2,
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("has no `from` parameter"));
}
