//! The command line: read-only SQL, output formats, exit codes, broken pipes.

use std::io::Read;
use std::process::Stdio;

use super::util::{Workdir, bin, sample};

fn lake_with_sample() -> Workdir {
    let w = Workdir::new();
    w.ingest(&sample(), &[]);
    w
}

#[test]
fn sql_refuses_statements_that_change_the_lake_or_files() {
    let w = lake_with_sample();
    let target = w.path().join("exfil.csv");
    for sql in [
        "CREATE TABLE t AS SELECT 1".to_string(),
        "DROP TABLE events".to_string(),
        "INSERT INTO events SELECT * FROM events".to_string(),
        format!("COPY (SELECT * FROM events) TO '{}'", target.display()),
        "SET datafusion.execution.batch_size = 1".to_string(),
        format!(
            "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '{}'",
            w.path().display()
        ),
    ] {
        let out = w.run(&["sql", &sql]);
        assert_eq!(out.status.code(), Some(2), "{sql} must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error"), "{sql}: {err}");
    }
    assert!(!target.exists(), "COPY wrote a file");
    assert!(w.count("SELECT count(*) FROM events") > 0);
}

#[test]
fn sql_has_the_catalog_functions() {
    let w = lake_with_sample();
    let n = w.count(
        "SELECT count(*) FROM events \
         WHERE arn_glob(useridentity.arn, 'arn:aws:sts::*:assumed-role/*') \
           AND json_get_str(requestparameters, 'roleArn') IS NULL",
    );
    assert!(n > 0, "arn_glob and json_get_str answer in ad-hoc SQL");
}

#[test]
fn sql_sees_the_configuration_sessions_and_findings() {
    let w = lake_with_sample();
    let config = sample().join("../trailglass.toml");
    let config = config.to_str().expect("UTF-8 path");
    let rows = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = w.run_code(args, 0);
        serde_json::from_slice(&out.stdout).expect("JSON rows")
    };
    let one = |sql: &str| -> i64 {
        let r = rows(&["--config", config, "sql", sql, "--format", "json"]);
        r[0].as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v.as_i64())
            .expect("a count")
    };
    // The derived tables equal what the verbs print.
    let sessions = rows(&["--config", config, "sessions", "--format", "json"]).len() as i64;
    let findings = rows(&["--config", config, "findings", "--format", "json"]).len() as i64;
    assert!(sessions > 0 && findings > 0);
    assert_eq!(one("SELECT count(*) FROM sessions"), sessions);
    assert_eq!(one("SELECT count(*) FROM findings"), findings);
    assert_eq!(
        one("SELECT count(*) FROM session_events e JOIN sessions s USING (session_id)"),
        one("SELECT count(*) FROM session_events")
    );
    assert!(one("SELECT count(*) FROM bg_roles") > 0);
    // Still read-only with the derived tables in place.
    let out = w.run(&["--config", config, "sql", "DROP TABLE findings"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn formats_are_parseable() {
    let w = lake_with_sample();
    let q = "SELECT eventname, count(*) AS n FROM events GROUP BY eventname ORDER BY n DESC, eventname LIMIT 5";
    let csv = w.run_code(&["sql", q, "--format", "csv"], 0);
    let text = String::from_utf8(csv.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("eventname,n"));
    assert_eq!(lines.count(), 5);
    let json = w.run_code(&["sql", q, "--format", "json"], 0);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 5);
    let table = w.run_code(&["sql", q], 0);
    let t = String::from_utf8(table.stdout).unwrap();
    assert!(t.contains("| eventname") && t.contains("5 rows"), "{t}");
    let empty = w.run_code(
        &[
            "sql",
            "SELECT eventname FROM events WHERE false",
            "--format",
            "json",
        ],
        0,
    );
    let v: serde_json::Value = serde_json::from_slice(&empty.stdout).unwrap();
    assert_eq!(v, serde_json::json!([]));
    let file = w.path().join("q.sql");
    std::fs::write(&file, "SELECT 1 AS a; SELECT 'x;y' AS b;").unwrap();
    let out = w.run_code(
        &["sql", "-f", file.to_str().unwrap(), "--format", "ndjson"],
        0,
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"a\":1}\n{\"b\":\"x;y\"}\n"
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let w = lake_with_sample();
    let mut child = std::process::Command::new(bin())
        .arg("--lake")
        .arg(w.lake())
        .args(["sql", "SELECT _raw FROM events", "--format", "ndjson"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_2_and_missing_lakes_exit_3() {
    let w = Workdir::new();
    w.run_code(&["ingest"], 2);
    w.run_code(&["ingest", "/nonexistent/trail"], 2);
    w.run_code(
        &["ingest", sample().to_str().unwrap(), "--from", "yesterday"],
        2,
    );
    let out = w.run_code(&["sql", "SELECT 1"], 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("trailglass ingest"));
}

#[test]
fn demo_runs_on_the_bundled_sample() {
    let w = Workdir::new();
    let out = w.run_code(&["demo"], 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Ingest it again"), "{text}");
    assert!(text.contains("0 new"), "second ingest adds nothing: {text}");
    // An explicit --lake is where the demo writes.
    assert!(w.lake().join("events").is_dir(), "{text}");
    assert!(!text.contains("temporary"), "{text}");
    // Issue 19: the demo writes an evidence bundle and verifies it.
    assert!(text.contains("verified:"), "{text}");
    let bundle = w.path().join("lake-evidence");
    w.run_code(&["verify", bundle.to_str().unwrap()], 0);
}

/// Issue 22: without an explicit `--lake` the demo never writes into the default lake or
/// `$TRAILGLASS_LAKE` (the sample's planted sessions must not land in real evidence), but into a
/// new temporary lake, which it names; `--lake` after the verb is explicit too.
#[test]
fn demo_uses_a_temporary_lake_unless_lake_is_given_explicitly() {
    let w = Workdir::new();
    let cwd = w.path().join("cwd");
    let tmp = w.path().join("tmp");
    let env_lake = w.path().join("env-lake");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    // The demo as a user runs it: in some directory, with $TRAILGLASS_LAKE set.
    let demo = |extra: &[&std::ffi::OsStr]| {
        std::process::Command::new(bin())
            .arg("demo")
            .arg("--sample")
            .arg(sample())
            .args(extra)
            .current_dir(&cwd)
            .env("TRAILGLASS_LAKE", &env_lake)
            .env("TMPDIR", &tmp)
            .env_remove("RUST_LOG")
            .output()
            .expect("run trailglass demo")
    };
    let out = demo(&[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!env_lake.exists(), "$TRAILGLASS_LAKE was written: {text}");
    assert!(
        !cwd.join("trailglass-lake").exists(),
        "./trailglass-lake was written: {text}"
    );
    let made: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let lake = made[0].join("lake");
    assert!(
        made[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("trailglass-demo-"),
        "{made:?}"
    );
    assert!(lake.join("events").is_dir(), "{text}");
    assert!(text.contains(lake.to_str().unwrap()), "{text}");
    assert!(text.contains("0 new"), "{text}");

    // `--lake` after the verb is as explicit as before it.
    let chosen = w.path().join("chosen");
    let out = demo(&["--lake".as_ref(), chosen.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(chosen.join("events").is_dir());
    assert!(!env_lake.exists());
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 1);
}

/// `-v` is for operators: trailglass's own units of work (each committed batch with its span's
/// fields, the catalog's scan figures), not the libraries' INFO lines, which delta-rs writes per
/// snapshot at kilobytes a line. Those come with `-vvv`. Nothing is coloured when stderr is a file.
#[test]
fn verbose_shows_trailglass_events_and_keeps_the_libraries_quiet() {
    let w = Workdir::new();
    let sample = sample();
    let source = sample.to_str().expect("UTF-8 path");
    let out = w.run_code(&["-v", "ingest", source], 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .any(|l| l.contains("batch{objects=") && l.contains("committed batch=1")),
        "{err}"
    );
    assert!(
        !err.contains("snapshot"),
        "a library's INFO line at -v:\n{err}"
    );
    assert!(!err.contains('\u{1b}'), "escape codes in a file:\n{err}");
    assert!(err.lines().all(|l| l.len() < 400), "{err}");

    let out = w.run_code(&["-v", "sessions", "--format", "ndjson"], 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("read from the lake"), "{err}");

    let out = w.run_code(&["-vvv", "sql", "SELECT count(*) FROM events"], 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("snapshot"),
        "-vvv shows the libraries' lines:\n{err}"
    );
}
