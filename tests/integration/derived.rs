//! Issue 18, item 2: the derived all-history answers (`src/query/derived.rs`) always equal an
//! evaluation from `events`: after incremental ingests with late files for old days, after a
//! commit that no refresh followed, after a configuration or catalog change, and under `--as-of`.
//! The differential test of the acceptance (windows and maintained answers on one incrementally
//! built lake, against lakes built from scratch) is
//! `maintained_answers_equal_a_from_scratch_run_after_late_files`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::sessions::ndjson;
use super::util::{Workdir, bin, copy_tree, walk};
use super::window::{canon, figures, iso, micros, plain};

const FROM_DERIVED: &str = "answers from the derived tables";

/// Run on the lake at `lake`, requiring exit 0.
fn on(lake: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(bin());
    c.arg("--lake").arg(lake).env_remove("RUST_LOG");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).output().expect("run trailglass");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "trailglass {args:?} failed:\n{err}");
    out
}

/// The rows of `verb` (all history) as sorted JSON text, and whether they came from the derived
/// tables (checked against the scan figures: then nothing of the lake is read).
fn answer(lake: &Path, config: &str, verb: &str, extra: &[&str]) -> (Vec<String>, bool) {
    answer_env(lake, config, verb, extra, &[])
}

fn answer_env(
    lake: &Path,
    config: &str,
    verb: &str,
    extra: &[&str],
    env: &[(&str, &Path)],
) -> (Vec<String>, bool) {
    let mut args = vec!["-v", "--config", config, verb, "--format", "ndjson"];
    args.extend_from_slice(extra);
    let out = on(lake, &args, env);
    let derived = plain(&out.stderr).contains(FROM_DERIVED);
    let (files, _) = figures(&out.stderr, verb);
    if derived {
        assert_eq!(files, 0, "{verb} from the derived tables read lake files");
    } else {
        assert!(files > 0, "{verb} evaluated from events read no file");
    }
    let mut rows: Vec<String> = ndjson(&out).iter().map(Value::to_string).collect();
    rows.sort();
    (rows, derived)
}

fn ingest(lake: &Path, config: &str, source: &Path) {
    on(
        lake,
        &[
            "--config",
            config,
            "ingest",
            source.to_str().expect("utf-8"),
            "--json",
            "-q",
        ],
        &[],
    );
}

/// The day of month of a trail file, from its `YYYY/MM/DD` folders (none for the bucket's other
/// files).
fn day_of(p: &Path) -> Option<u32> {
    let parts: Vec<String> = p
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts
        .windows(3)
        .find(|w| w[0].len() == 4 && w[0].parse::<u32>().is_ok() && w[1].len() == 2)
        .and_then(|w| w[2].parse().ok())
}

/// The answers of a lake built in one ingest of `source`, with no derived answers in it.
fn from_scratch(w: &Workdir, name: &str, config: &str, source: &Path) -> [Vec<String>; 2] {
    let lake = w.path().join(name);
    ingest(&lake, config, source);
    std::fs::remove_dir_all(lake.join("derived")).expect("derived answers after ingest");
    ["sessions", "findings"].map(|verb| {
        let (rows, derived) = answer(&lake, config, verb, &[]);
        assert!(!derived);
        rows
    })
}

/// A generated trail in `w`/gen; returns the folder and its `trailglass.toml`.
fn generate(w: &Workdir, seed: &str) -> (PathBuf, String) {
    let out = w.path().join("gen");
    w.run_code(
        &[
            "generate",
            "--out",
            out.to_str().expect("utf-8"),
            "--seed",
            seed,
            "--records",
            "20000",
            "--accounts",
            "3",
            "--regions",
            "2",
            "--days",
            "8",
            "--sessions",
            "24",
        ],
        0,
    );
    let config = out
        .join("trailglass.toml")
        .to_str()
        .expect("utf-8")
        .to_string();
    (out, config)
}

/// The newest version of the `events` table of the lake at `lake`.
fn events_version(lake: &Path) -> i64 {
    std::fs::read_dir(lake.join("events/_delta_log"))
        .expect("log")
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json")?.parse::<i64>().ok()
        })
        .max()
        .expect("a commit")
}

/// Windows on `lake` (built incrementally) answer like the whole answers `full` of a lake built
/// from scratch, restricted to the window: sessions that start in it, findings whose event time
/// lies in it. The windows are whole days (one of them among the late files' days), open ends,
/// and, for sessions whose actions cross a UTC midnight, a window beginning 1 s after the start
/// (the session is outside, its later actions inside) and one ending 1 s after it (the session
/// is inside, its actions run past the edge and the day boundary).
fn check_windows(lake: &Path, config: &str, full: &[Vec<String>; 2], run: usize) {
    let parse = |rows: &[String]| -> Vec<Value> {
        rows.iter()
            .map(|r| serde_json::from_str(r).expect("row"))
            .collect()
    };
    let (sessions, findings) = (parse(&full[0]), parse(&full[1]));
    let start = |s: &Value| micros(s["start"].as_str().expect("start"));
    let end = |s: &Value| micros(s["end"].as_str().expect("end"));
    let day = 86_400_000_000i64;
    let straddling: Vec<&Value> = sessions
        .iter()
        .filter(|s| start(s).div_euclid(day) != end(s).div_euclid(day))
        .collect();
    assert!(
        !straddling.is_empty(),
        "run {run}: no session crosses a UTC midnight"
    );
    let t0 = micros("2026-03-01T00:00:00Z");
    let mut windows: Vec<(Option<i64>, Option<i64>)> = vec![
        (Some(t0 + day), Some(t0 + 2 * day)),
        (Some(t0 + 4 * day + day / 2), Some(t0 + 6 * day)),
        (Some(t0 + 5 * day), None),
        (None, Some(t0 + day + day / 3)),
    ];
    for s in straddling.iter().take(3) {
        windows.push((Some(start(s) + 1_000_000), Some(end(s) + day)));
        windows.push((Some(start(s) - day / 2), Some(start(s) + 1_000_000)));
    }
    let mut seen = 0;
    for (from, to) in windows {
        let inside = |t: i64| from.is_none_or(|f| t >= f) && to.is_none_or(|x| t <= x);
        for (verb, all, field) in [
            ("sessions", &sessions, "start"),
            ("findings", &findings, "eventtime"),
        ] {
            let mut args: Vec<String> = vec![
                "--config".into(),
                config.into(),
                verb.into(),
                "--format".into(),
                "ndjson".into(),
            ];
            if let Some(f) = from {
                args.extend(["--from".into(), iso(f)]);
            }
            if let Some(t) = to {
                args.extend(["--to".into(), iso(t)]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let got = ndjson(&on(lake, &args, &[]));
            let want: Vec<&Value> = all
                .iter()
                .filter(|r| r[field].as_str().is_some_and(|t| inside(micros(t))))
                .collect();
            seen += want.len();
            assert_eq!(
                canon(&got.iter().collect::<Vec<_>>()),
                canon(&want),
                "run {run}: {verb} in window {:?}..{:?}",
                from.map(iso),
                to.map(iso)
            );
        }
    }
    assert!(seen > 0, "run {run}: every window was empty");
}

/// The differential test of issue 18. A trail ingested in four runs, the third bringing late
/// files for days already ingested: after each run the answers the verbs read from the derived
/// tables equal those of a lake built from scratch from the same files (sessions and findings as
/// sets of full rows); `--as-of` the version before the run equals the previous run's
/// from-scratch answers, and the stored answers are still read and still equal after it; from
/// the late files on, windows on the incremental lake equal the from-scratch answers restricted
/// to them (`check_windows`). A commit that no refresh followed (the previous run's answers put
/// back) is never answered from.
#[test]
fn maintained_answers_equal_a_from_scratch_run_after_late_files() {
    let w = Workdir::new();
    let (gen_dir, c) = generate(&w, "1820");
    let trail = gen_dir.join("trail");
    let mut files = walk(&trail);
    files.sort();
    let first = files
        .iter()
        .filter_map(|f| day_of(f))
        .min()
        .expect("dated files");
    // Every fourth file of the first five days arrives late, in the third run.
    let run_of = |i: usize, f: &Path| {
        let d = day_of(f).map_or(0, |d| d - first);
        match d {
            _ if d < 5 && i.is_multiple_of(4) => 2,
            0..=2 => 0,
            3..=4 => 1,
            5 => 2,
            _ => 3,
        }
    };
    let stage = w.path().join("stage");
    let lake = w.lake();
    let mut before: Option<PathBuf> = None;
    let mut last: [Vec<String>; 2] = Default::default();
    for run in 0..4 {
        let mut n = 0;
        for (i, f) in files.iter().enumerate() {
            if run_of(i, f) == run {
                let dest = stage.join(f.strip_prefix(&gen_dir).expect("inside"));
                std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
                std::fs::copy(f, &dest).expect("copy");
                n += 1;
            }
        }
        assert!(n > 0, "run {run} has no files");
        let staged = stage.join("trail");
        let version_before = (run > 0).then(|| events_version(&lake).to_string());
        ingest(&lake, &c, &staged);
        let scratch = from_scratch(&w, &format!("scratch{run}"), &c, &staged);
        assert!(
            !scratch[0].is_empty() && !scratch[1].is_empty(),
            "run {run}"
        );
        for (verb, want) in ["sessions", "findings"].iter().zip(&scratch) {
            let (got, derived) = answer(&lake, &c, verb, &[]);
            assert!(
                derived,
                "{verb} after run {run} was not answered from the derived tables"
            );
            assert_eq!(&got, want, "{verb} after run {run}");
        }
        // `--as-of` the state before this run: the previous run's answers, evaluated from
        // events; it stores nothing and leaves the current answers in place.
        if let Some(v) = &version_before {
            for (verb, want) in ["sessions", "findings"].iter().zip(&last) {
                let (got, derived) = answer(&lake, &c, verb, &["--as-of", v]);
                assert!(!derived, "{verb} --as-of {v} read the stored answers");
                assert_eq!(&got, want, "{verb} --as-of {v} after run {run}");
            }
            for (verb, want) in ["sessions", "findings"].iter().zip(&scratch) {
                let (got, derived) = answer(&lake, &c, verb, &[]);
                assert!(
                    derived,
                    "{verb} after --as-of, run {run}: no stored answers"
                );
                assert_eq!(&got, want, "{verb} after --as-of, run {run}");
            }
        }
        if run >= 2 {
            check_windows(&lake, &c, &scratch, run);
        }
        // The previous run's answers in place of this run's, as if this commit had no refresh
        // after it: the verbs evaluate from events instead, and still answer right.
        if let Some(old) = before.take() {
            let current = w.path().join("current-derived");
            std::fs::rename(lake.join("derived"), &current).expect("move derived");
            copy_tree(&old, &lake.join("derived"));
            for (verb, want) in ["sessions", "findings"].iter().zip(&scratch) {
                let (got, derived) = answer(&lake, &c, verb, &[]);
                assert!(
                    !derived,
                    "{verb} after run {run} read stale derived answers"
                );
                assert_eq!(&got, want, "{verb} after run {run}, stale derived answers");
            }
            std::fs::remove_dir_all(lake.join("derived")).expect("rm");
            std::fs::rename(&current, lake.join("derived")).expect("move back");
        }
        let saved = w.path().join(format!("derived{run}"));
        copy_tree(&lake.join("derived"), &saved);
        before = Some(saved);
        last = scratch;
    }
    // `compact` (the late files left days of several files) moves the version and stores the
    // answers of the new one: the same rows.
    let out = on(&lake, &["--config", &c, "compact"], &[]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("compacted"),
        "nothing compacted"
    );
    for (verb, want) in ["sessions", "findings"].iter().zip(&last) {
        let (got, derived) = answer(&lake, &c, verb, &[]);
        assert!(derived, "{verb}: no stored answers after compact");
        assert_eq!(&got, want, "{verb} after compact");
    }
}

/// The derived answers are keyed by the configuration (trailglass.toml and approvals.csv), the
/// catalog's SQL and the `events` version: a change of any of them, or `--as-of`, evaluates from
/// `events`, and the answer equals that of a lake without derived answers.
#[test]
fn config_catalog_and_as_of_bypass_the_derived_answers() {
    let w = Workdir::new();
    let (gen_dir, c) = generate(&w, "1821");
    let lake = w.lake();
    ingest(&lake, &c, &gen_dir.join("trail"));
    let (stored, derived) = answer(&lake, &c, "findings", &[]);
    assert!(derived);
    let scratch = w.path().join("scratch");
    copy_tree(&lake, &scratch);
    std::fs::remove_dir_all(scratch.join("derived")).expect("rm derived");
    let exact = |config: &str, env: &[(&str, &Path)]| {
        let (rows, derived) = answer_env(&scratch, config, "findings", &[], env);
        assert!(!derived);
        rows
    };
    assert_eq!(stored, exact(&c, &[]));

    // An approval withdrawn: BG005 findings appear; the stored answer must not be read.
    let approvals = gen_dir.join("approvals.csv");
    let text = std::fs::read_to_string(&approvals).expect("approvals");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("CHG-1001,"))
        .collect();
    assert!(
        kept.len() < text.lines().count(),
        "no approval CHG-1001 to withdraw"
    );
    std::fs::write(&approvals, kept.join("\n") + "\n").expect("write approvals");
    let (got, derived) = answer(&lake, &c, "findings", &[]);
    assert!(!derived, "a changed approvals.csv read the stored answer");
    assert_eq!(got, exact(&c, &[]));
    assert_ne!(got, stored, "withdrawing an approval changed nothing");
    std::fs::write(&approvals, &text).expect("restore approvals");

    // trailglass.toml changed: a shorter time-to-live.
    let toml = gen_dir.join("trailglass.toml");
    let conf = std::fs::read_to_string(&toml).expect("toml");
    let other = gen_dir.join("other.toml");
    std::fs::write(&other, conf.replace("ttl = \"1h\"", "ttl = \"20m\"")).expect("write toml");
    let o = other.to_str().expect("utf-8");
    let (got, derived) = answer(&lake, o, "findings", &[]);
    assert!(!derived, "another trailglass.toml read the stored answer");
    assert_eq!(got, exact(o, &[]));

    // The catalog's SQL changed (TRAILGLASS_QUERIES): even a comment is another catalog.
    let queries = w.path().join("queries");
    copy_tree(&super::util::repo().join("queries"), &queries);
    let rule = queries.join("rules/BG001_session.sql");
    let sql = std::fs::read_to_string(&rule).expect("BG001");
    std::fs::write(&rule, sql + "\n-- edited\n").expect("write BG001");
    let env: [(&str, &Path); 1] = [("TRAILGLASS_QUERIES", &queries)];
    let (got, derived) = answer_env(&lake, &c, "findings", &[], &env);
    assert!(!derived, "an edited catalog read the stored answer");
    assert_eq!(got, exact(&c, &env));
    assert_eq!(got, stored);

    // --as-of, even of the current version, evaluates from events.
    let v = events_version(&lake).to_string();
    let (got, derived) = answer(&lake, &c, "findings", &["--as-of", &v]);
    assert!(!derived, "--as-of read the stored answer");
    assert_eq!(got, stored);
    let (sessions, derived) = answer(&lake, &c, "sessions", &["--as-of", &v]);
    assert!(!derived);
    assert_eq!(sessions, answer(&scratch, &c, "sessions", &[]).0);
}

/// `ingest --no-refresh` stores no answer: the verbs evaluate from `events` (the same rows), and
/// the next ingest without it stores them again.
#[test]
fn no_refresh_leaves_the_verbs_evaluating_from_events() {
    let w = Workdir::new();
    let (gen_dir, c) = generate(&w, "1822");
    let lake = w.lake();
    let trail = gen_dir.join("trail");
    let t = trail.to_str().expect("utf-8");
    on(
        &lake,
        &["--config", &c, "ingest", t, "--no-refresh", "-q"],
        &[],
    );
    assert!(
        !lake.join("derived").exists(),
        "--no-refresh stored answers"
    );
    let (evaluated, derived) = answer(&lake, &c, "sessions", &[]);
    assert!(!derived);
    assert!(!evaluated.is_empty());
    ingest(&lake, &c, &trail);
    let (stored, derived) = answer(&lake, &c, "sessions", &[]);
    assert!(derived, "an ingest without --no-refresh stored no answer");
    assert_eq!(stored, evaluated);
}
