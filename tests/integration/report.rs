//! Issue 20: `trailglass report` — golden reports of the sample trail (md, json, csv) compared by
//! content, OCSF checked against a trimmed schema, `--out`, suppressions (active, expired, malformed) × `--fail-on` × exit codes, and
//! `--state` reporting each finding once across runs, surviving a crash while it is written.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::util::{Workdir, repo, sample};

/// The sample's folder: its configuration and answer key beside the trail.
fn sample_dir() -> PathBuf {
    repo().join("testdata/sample")
}

/// The report time of every golden report (2026-04-01T00:00:00Z).
const CREATED: &str = "2026-04-01T00:00:00Z";
const CREATED_EPOCH: &str = "1775001600";

fn config() -> String {
    sample_dir()
        .join("trailglass.toml")
        .to_str()
        .expect("utf-8")
        .to_string()
}

fn fixture(name: &str) -> PathBuf {
    repo().join("testdata/report").join(name)
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A lake holding the whole sample trail.
fn sample_lake() -> Workdir {
    let w = Workdir::new();
    w.ingest(&sample(), &[]);
    w
}

/// `report` under the sample's configuration, requiring exit `code`.
fn report(w: &Workdir, args: &[&str], code: i32) -> std::process::Output {
    let cfg = config();
    let mut all = vec!["--config", cfg.as_str(), "report"];
    all.extend_from_slice(args);
    w.run_code(&all, code)
}

fn json_report(w: &Workdir, args: &[&str], code: i32) -> Value {
    let mut all = vec!["--format", "json", "--created", CREATED];
    all.extend_from_slice(args);
    let out = report(w, &all, code);
    serde_json::from_slice(&out.stdout).expect("report JSON")
}

/// The version is the only field that changes with the build: the goldens say `VERSION`.
fn normalise(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "VERSION")
}

/// Parse RFC 4180 CSV (quoted fields, doubled quotes, CRLF) into rows of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quoted CSV field");
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Compare a report with its golden file by content (`TRAILGLASS_BLESS=1` rewrites the golden).
fn check_golden(name: &str, got: &str) {
    let path = fixture(name);
    let got = normalise(got);
    if std::env::var_os("TRAILGLASS_BLESS").is_some() {
        std::fs::write(&path, &got).expect("write golden");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match name.rsplit('.').next() {
        Some("json") => {
            let g: Value = serde_json::from_str(&got).expect("report JSON");
            let w: Value = serde_json::from_str(&want).expect("golden JSON");
            assert_eq!(g, w, "{name}: the JSON report differs from the golden");
        }
        Some("csv") => {
            let (g, w) = (parse_csv(&got), parse_csv(&want));
            assert_eq!(g[0], w[0], "{name}: CSV header");
            assert_eq!(g.len(), w.len(), "{name}: CSV rows");
            for (i, (a, b)) in g.iter().zip(&w).enumerate() {
                assert_eq!(a, b, "{name}: CSV row {i}");
            }
        }
        _ => {
            for (i, (a, b)) in got.lines().zip(want.lines()).enumerate() {
                assert_eq!(a, b, "{name}: line {}", i + 1);
            }
            assert_eq!(got.lines().count(), want.lines().count(), "{name}: lines");
        }
    }
}

#[test]
fn r20_golden_reports_of_the_sample() {
    let w = sample_lake();
    let sup = fixture("suppressions.toml");
    for (fmt, name) in [
        ("md", "sample.md"),
        ("json", "sample.json"),
        ("csv", "sample.csv"),
        ("ocsf", "sample.ocsf.json"),
    ] {
        let out = report(
            &w,
            &[
                "--format",
                fmt,
                "--created",
                CREATED,
                "--suppressions",
                p(&sup),
            ],
            0,
        );
        check_golden(name, &String::from_utf8_lossy(&out.stdout));
    }
    // SOURCE_DATE_EPOCH fixes the creation time as --created does.
    let cfg = config();
    let out = w
        .cmd()
        .args(["--config", &cfg, "report", "--suppressions", p(&sup)])
        .env("SOURCE_DATE_EPOCH", CREATED_EPOCH)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    check_golden("sample.md", &String::from_utf8_lossy(&out.stdout));
}

/// The `<svg id="ID" …>…</svg>` element of a rendered DOM.
fn svg<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom
        .find(&format!("<svg id=\"{id}\""))
        .or_else(|| dom.find(&format!("id=\"{id}\"")))
        .unwrap_or_else(|| panic!("no {id} in the rendered page"));
    let open = dom[..at].rfind("<svg").unwrap_or(at);
    let end = dom[open..].find("</svg>").expect("closed svg") + open;
    &dom[open..end]
}

#[test]
fn r20_html_report_opens_in_headless_chromium_with_its_charts() {
    let w = sample_lake();
    let sup = fixture("suppressions.toml");
    let html = w.path().join("report.html");
    report(
        &w,
        &[
            "--format",
            "html",
            "--created",
            CREATED,
            "--suppressions",
            p(&sup),
            "--out",
            p(&html),
        ],
        0,
    );
    let page = format!("file://{}", html.display());
    let dom = super::util::dom_without_console_output(&w.path().join("profile"), &page);
    let doc = json_report(&w, &["--suppressions", p(&sup)], 0);
    let sessions: Vec<&str> = doc["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| s["session_id"].as_str().expect("id"))
        .collect();
    assert_eq!(sessions.len(), 18);
    // Both charts are drawn with a bar per session; the timeline has a TTL line per session and
    // marks the actions past the deadline.
    let timeline = svg(&dom, "timeline-chart");
    let per_session = svg(&dom, "actions-chart");
    for id in &sessions {
        let bar = format!("data-session=\"{id}\"");
        assert!(timeline.contains(&bar), "{id} not on the timeline");
        assert!(
            per_session.contains(&bar),
            "{id} not in actions per session"
        );
        assert!(
            timeline.contains(&format!("data-ttl=\"{id}\"")),
            "{id} has no TTL line"
        );
    }
    let after_ttl = doc["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .filter(|s| s["after_ttl"].as_u64().unwrap_or(0) > 0)
        .count();
    assert!(after_ttl > 0);
    assert!(timeline.matches("class=\"late\"").count() >= 1);
    // Every section is there, and every finding (suppressed ones too) is a row.
    for section in [
        "summary",
        "sessions",
        "actions",
        "findings",
        "anomalies",
        "suppressed",
    ] {
        assert!(
            dom.contains(&format!("id=\"{section}\"")),
            "no {section} section"
        );
    }
    for f in doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .chain(doc["suppressed"].as_array().expect("suppressed"))
    {
        let id = f["id"].as_str().expect("id");
        assert!(dom.contains(&format!("data-finding=\"{id}\"")), "{id}");
    }
    // It renders to pixels (what scripts/report_screenshot.sh saves for the README).
    super::util::screenshot(w.path(), &page);
}

#[test]
fn r20_report_content_and_out_file() {
    let w = sample_lake();
    let sup = fixture("suppressions.toml");
    let doc = json_report(&w, &["--suppressions", p(&sup)], 0);
    assert_eq!(doc["schema_version"], 1);
    let sessions = doc["sessions"].as_array().expect("sessions");
    let findings = doc["findings"].as_array().expect("findings");
    let suppressed = doc["suppressed"].as_array().expect("suppressed");
    assert_eq!(doc["summary"]["sessions"], sessions.len());
    assert_eq!(doc["summary"]["findings"], findings.len());
    // The sample's answer key: 18 sessions, each with its BG001.
    let key: Value = serde_json::from_slice(
        &std::fs::read(sample_dir().join("answer-key.json")).expect("answer key"),
    )
    .expect("answer key JSON");
    let want: BTreeSet<&str> = key["sessions"]
        .as_array()
        .expect("key sessions")
        .iter()
        .filter_map(|s| s["session_id"].as_str())
        .collect();
    let got: BTreeSet<&str> = sessions
        .iter()
        .filter_map(|s| s["session_id"].as_str())
        .collect();
    assert_eq!(got, want);
    let by_kind: u64 = doc["summary"]["sessions_by_kind"]
        .as_object()
        .expect("by kind")
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(by_kind as usize, sessions.len());
    // Every finding id is listed under its session; ids are unique.
    let ids: BTreeSet<&str> = findings
        .iter()
        .chain(suppressed)
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(ids.len(), findings.len() + suppressed.len());
    for s in sessions {
        for id in s["findings"].as_array().expect("session findings") {
            assert!(ids.contains(id.as_str().expect("id")));
        }
    }
    // Active suppressions hide with their reason; the expired one hides nothing and is named.
    assert!(!suppressed.is_empty());
    for f in suppressed {
        let rule = f["rule_id"].as_str().expect("rule");
        assert!(rule == "BG014" || rule == "BG011", "{f}");
        assert!(
            !f["suppressed_by"]["reason"]
                .as_str()
                .expect("reason")
                .is_empty()
        );
    }
    assert!(findings.iter().all(|f| f["rule_id"] != "BG014"));
    let expired = doc["expired_suppressions"].as_array().expect("expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["rule"], "BG012");
    let bg012 = findings.iter().filter(|f| f["rule_id"] == "BG012").count();
    assert!(bg012 > 0);
    assert_eq!(expired[0]["matched"], bg012);
    assert!(
        findings
            .iter()
            .filter(|f| f["rule_id"] == "BG012")
            .all(|f| f["expired_suppression"]["line"] == 17)
    );

    // --out: the same report in a file, nothing on stdout, no temporary file left.
    let out_file = w.path().join("reports").join("r.json");
    std::fs::create_dir_all(out_file.parent().expect("parent")).expect("mkdir");
    let out = report(
        &w,
        &[
            "--format",
            "json",
            "--created",
            CREATED,
            "--suppressions",
            p(&sup),
            "--out",
            p(&out_file),
        ],
        0,
    );
    assert!(out.stdout.is_empty());
    let written: Value =
        serde_json::from_slice(&std::fs::read(&out_file).expect("report file")).expect("JSON");
    assert_eq!(written, doc);
    let left: Vec<_> = std::fs::read_dir(out_file.parent().expect("parent"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("r.json")]);

    // A window: only sessions that start in it, findings in it.
    let win = json_report(
        &w,
        &["--from", "2026-03-01T10:00:00Z", "--to", "2026-03-02"],
        0,
    );
    let n = win["sessions"].as_array().expect("sessions").len();
    assert!(n > 0 && n < sessions.len());
    for s in win["sessions"].as_array().expect("sessions") {
        let start = s["start"].as_str().expect("start");
        assert!(
            ("2026-03-01T10:00:00Z".."2026-03-02T00:00:01Z").contains(&start),
            "{start}"
        );
    }
}

/// Write a suppressions file into the work dir.
fn write(w: &Workdir, name: &str, text: &str) -> PathBuf {
    let path = w.path().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn r20_fail_on_suppression_matrix() {
    let w = sample_lake();
    // The sample's only critical findings are BG008's (audit tampering); the worst otherwise is
    // high.
    let active = write(
        &w,
        "active.toml",
        "[[suppression]]\nrule = \"BG008\"\nreason = \"audit change CHG-77\"\nexpires = \"2027-01-01\"\n",
    );
    let expired = write(
        &w,
        "expired.toml",
        "[[suppression]]\nrule = \"BG008\"\nreason = \"audit change CHG-77\"\nexpires = \"2026-03-20\"\n",
    );
    let no_reason = write(
        &w,
        "no_reason.toml",
        "[[suppression]]\nrule = \"BG001\"\nreason = \"ok\"\n\n[[suppression]]\nrule = \"BG008\"\n",
    );
    let syntax = write(
        &w,
        "syntax.toml",
        "[[suppression]]\nrule = \"BG008\"\nreason = \"unterminated\n",
    );
    let levels = ["info", "low", "medium", "high", "critical"];
    // (suppressions, expected exit per level, text the stderr must hold)
    let cases: [(Option<&Path>, [i32; 5], &str); 5] = [
        (None, [1, 1, 1, 1, 1], ""),
        (Some(&active), [1, 1, 1, 1, 0], ""),
        (Some(&expired), [1, 1, 1, 1, 1], ""),
        (Some(&no_reason), [2, 2, 2, 2, 2], "no_reason.toml:5:"),
        (Some(&syntax), [2, 2, 2, 2, 2], "syntax.toml:3:"),
    ];
    for (sup, codes, err) in cases {
        for (level, code) in levels.iter().zip(codes) {
            // `findings` takes the same file; the levels where the suppression decides suffice.
            let verbs: &[&str] = if ["high", "critical"].contains(level) {
                &["report", "findings"]
            } else {
                &["report"]
            };
            for &verb in verbs {
                let cfg = config();
                let mut args = vec!["--config", cfg.as_str(), verb, "--fail-on", level];
                if verb == "report" {
                    args.extend(["--created", CREATED, "--format", "json"]);
                } else {
                    args.extend(["--format", "ndjson"]);
                }
                if let Some(s) = sup {
                    args.extend(["--suppressions", p(s)]);
                }
                let cmd = w.cmd().args(&args).output().expect("run");
                let stderr = String::from_utf8_lossy(&cmd.stderr);
                // `findings` judges expiry at the real time, which is past both dates.
                assert_eq!(cmd.status.code(), Some(code), "{args:?}\n{stderr}");
                assert!(stderr.contains(err), "{args:?}: {stderr}");
            }
        }
    }
    // A window holding no finding passes every level.
    for level in levels {
        report(&w, &["--from", "2027-01-01", "--fail-on", level], 0);
    }
    // An unknown level is a usage error.
    report(&w, &["--fail-on", "severe"], 2);
}

/// Copy the sample trail's files whose path `keep` accepts into `to`.
fn split_copy(to: &Path, keep: impl Fn(&str) -> bool) {
    let from = sample();
    for f in super::util::walk(&from) {
        let rel = f.strip_prefix(&from).expect("under the trail");
        if keep(&rel.to_string_lossy()) {
            let dest = to.join(rel);
            std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
            std::fs::copy(&f, &dest).expect("copy");
        }
    }
}

fn ids(doc: &Value) -> BTreeSet<String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn r20_state_reports_each_finding_once() {
    let w = Workdir::new();
    let first = w.path().join("first");
    let rest = w.path().join("rest");
    split_copy(&first, |p| p.contains("/2026/03/01/"));
    split_copy(&rest, |p| !p.contains("/2026/03/01/"));
    let state = w.path().join("state").join("report-state.json");
    std::fs::create_dir_all(state.parent().expect("parent")).expect("mkdir");
    let st = p(&state).to_string();

    w.ingest(&first, &[]);
    let run1 = json_report(&w, &["--state", &st, "--fail-on", "info"], 1);
    let ids1 = ids(&run1);
    assert!(!ids1.is_empty());
    assert_eq!(run1["summary"]["already_reported"], 0);

    w.ingest(&rest, &[]);
    let run2 = json_report(&w, &["--state", &st, "--fail-on", "info"], 1);
    let ids2 = ids(&run2);
    assert!(!ids2.is_empty());
    assert!(ids1.is_disjoint(&ids2), "the second run repeated findings");
    // Together the two runs reported every finding of the whole lake that the first could see.
    let full = ids(&json_report(&w, &[], 0));
    let union: BTreeSet<String> = ids1.union(&ids2).cloned().collect();
    let missing: Vec<&String> = full.difference(&union).collect();
    assert!(missing.is_empty(), "never reported: {missing:?}");
    assert_eq!(
        run2["summary"]["already_reported"].as_u64().expect("count") as usize,
        full.len() - ids2.len()
    );

    // Nothing new: nothing reported, and --fail-on passes.
    let run3 = json_report(&w, &["--state", &st, "--fail-on", "info"], 0);
    assert!(ids(&run3).is_empty());
    let saved: Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state")).expect("state JSON");
    assert_eq!(
        saved["reported"].as_object().expect("reported").len(),
        full.len()
    );

    // A run killed between writing the new state and renaming it leaves the old state intact.
    let before = std::fs::read(&state).expect("state");
    std::fs::write(&state, br#"{"version": 1, "reported": {}}"#).expect("reset");
    let cfg = config();
    let killed = w
        .cmd()
        .args([
            "--config", &cfg, "report", "--format", "json", "--state", &st,
        ])
        .env("TRAILGLASS_FAILPOINT", "report_state_before_rename")
        .output()
        .expect("run");
    assert!(!killed.status.success());
    assert_eq!(
        std::fs::read(&state).expect("state"),
        br#"{"version": 1, "reported": {}}"#
    );
    // The next run still sees everything as new and writes a whole state.
    let again = json_report(&w, &["--state", &st], 0);
    assert_eq!(ids(&again), full);
    let now: Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state")).expect("state JSON");
    let old: Value = serde_json::from_slice(&before).expect("state JSON");
    let keys = |v: &Value| -> BTreeSet<String> {
        v["reported"]
            .as_object()
            .expect("reported")
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(keys(&now), keys(&old));
}

#[test]
fn r20_concurrent_runs_lose_no_state_entry() {
    let w = Workdir::new();
    let first = w.path().join("first");
    split_copy(&first, |p| p.contains("/2026/03/01/"));
    w.ingest(&first, &[]);
    let state = w.path().join("report-state.json");
    let cfg = config();
    // Two runs over different windows at once: each records its own findings; the lock makes the
    // second read what the first wrote, so the file ends with both sets.
    let spawn = |from: &str, to: &str| {
        w.cmd()
            .args([
                "--config",
                &cfg,
                "report",
                "--format",
                "json",
                "--state",
                p(&state),
                "--from",
                from,
                "--to",
                to,
                "--created",
                CREATED,
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let a = spawn("2026-02-01", "2026-03-01T12:00:00Z");
    let b = spawn("2026-03-01T12:00:01Z", "2026-03-09");
    let (a, b) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    assert!(a.status.success() && b.status.success());
    let ra: Value = serde_json::from_slice(&a.stdout).expect("a JSON");
    let rb: Value = serde_json::from_slice(&b.stdout).expect("b JSON");
    let saved: Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state")).expect("state JSON");
    let keys: BTreeSet<String> = saved["reported"]
        .as_object()
        .expect("reported")
        .keys()
        .cloned()
        .collect();
    let both: BTreeSet<String> = ids(&ra).union(&ids(&rb)).cloned().collect();
    assert!(!ids(&ra).is_empty() && !ids(&rb).is_empty());
    assert_eq!(keys, both);
}

/// Check `v` against attribute set `attrs` of the trimmed OCSF schema; returns the problems.
fn ocsf_check(schema: &Value, attrs: &Value, v: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(obj) = v.as_object() else {
        problems.push(format!("{at}: not an object"));
        return;
    };
    let attrs = attrs.as_object().expect("schema attributes");
    for (name, spec) in attrs {
        let present = obj.get(name).is_some_and(|x| !x.is_null());
        if spec["requirement"] == "required" && !present {
            problems.push(format!("{at}.{name}: required, missing"));
        }
    }
    for (name, value) in obj {
        let Some(spec) = attrs.get(name) else {
            problems.push(format!("{at}.{name}: not an attribute of the schema"));
            continue;
        };
        if value.is_null() {
            continue;
        }
        let items: Vec<&Value> = if spec["is_array"] == true {
            match value.as_array() {
                Some(a) => a.iter().collect(),
                None => {
                    problems.push(format!("{at}.{name}: not an array"));
                    continue;
                }
            }
        } else {
            vec![value]
        };
        for item in items {
            let ok = match spec["type"].as_str().expect("type") {
                "integer_t" | "long_t" | "timestamp_t" => item.is_i64() || item.is_u64(),
                "string_t" => item.is_string(),
                "json_t" => true,
                "object_t" => {
                    let ty = spec["object_type"].as_str().expect("object_type");
                    let sub = &schema["objects"][ty]["attributes"];
                    assert!(sub.is_object(), "schema lacks object {ty}");
                    ocsf_check(schema, sub, item, &format!("{at}.{name}"), problems);
                    true
                }
                other => panic!("schema type {other} unknown to the checker"),
            };
            if !ok {
                problems.push(format!("{at}.{name}: {item} is not {}", spec["type"]));
            }
            if let Some(en) = spec["enum"].as_object()
                && !en.contains_key(&item.to_string())
            {
                problems.push(format!("{at}.{name}: {item} is not in its enum"));
            }
        }
    }
}

#[test]
fn r20_ocsf_detection_findings_match_the_schema() {
    let w = sample_lake();
    let sup = fixture("suppressions.toml");
    let doc = json_report(&w, &["--suppressions", p(&sup)], 0);
    let out = report(
        &w,
        &[
            "--format",
            "ocsf",
            "--created",
            CREATED,
            "--suppressions",
            p(&sup),
        ],
        0,
    );
    let items: Vec<Value> = serde_json::from_slice(&out.stdout).expect("OCSF JSON array");
    let schema: Value = serde_json::from_slice(
        &std::fs::read(repo().join("testdata/ocsf/detection_finding.json")).expect("schema"),
    )
    .expect("schema JSON");
    let class = &schema["classes"]["detection_finding"];
    assert_eq!(class["uid"], 2004);
    let mut problems = Vec::new();
    for (i, item) in items.iter().enumerate() {
        ocsf_check(
            &schema,
            &class["attributes"],
            item,
            &format!("[{i}]"),
            &mut problems,
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // One object per finding, suppressed ones included as Suppressed, uid the report's stable id.
    let mut want: Vec<(String, String, bool)> = Vec::new();
    for (list, sup) in [("findings", false), ("suppressed", true)] {
        for f in doc[list].as_array().expect("list") {
            want.push((
                f["id"].as_str().expect("id").into(),
                f["severity"].as_str().expect("severity").into(),
                sup,
            ));
        }
    }
    assert_eq!(items.len(), want.len());
    let sev = |s: &str| match s {
        "info" => 1,
        "low" => 2,
        "medium" => 3,
        "high" => 4,
        "critical" => 5,
        _ => 0,
    };
    for (item, (id, severity, suppressed)) in items.iter().zip(&want) {
        assert_eq!(item["finding_info"]["uid"], id.as_str());
        assert_eq!(item["severity_id"], sev(severity));
        assert_eq!(item["status_id"], if *suppressed { 3 } else { 1 });
        assert!(item["resources"].as_array().is_some_and(|r| !r.is_empty()));
    }
    // Events are evidence; the principal is a resource where the finding has a session.
    assert!(
        items
            .iter()
            .any(|i| i["evidences"][0]["data"]["cloudtrail_event_id"].is_string())
    );
    assert!(items.iter().any(|i| {
        i["resources"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["type"] == "AWS::IAM::Principal"))
    }));
}

#[test]
fn r20_ingest_first_with_ingest_options() {
    let w = Workdir::new();
    let trail = sample();
    let doc = json_report(&w, &["--ingest", p(&trail)], 0);
    assert!(doc["ingest"]["objects_ingested"].as_u64().expect("count") > 0);
    assert!(doc["ingest"]["records"].as_u64().expect("count") > 0);
    assert_eq!(doc["summary"]["sessions"], 18);
    // A second run finds nothing new to ingest; the Markdown summary says so.
    let out = report(&w, &["--ingest", p(&trail), "--created", CREATED], 0);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("- ingest: 0 objects new ("), "{md}");
    // The options after `--` are ingest's own: --strict over a corpus with rejects exits 2 after
    // writing the report; an unknown option is a usage error naming --ingest.
    let bad = w.path().join("bad");
    super::util::copy_tree(&repo().join("testdata/bad"), &bad);
    let out = report(
        &w,
        &["--ingest", p(&bad), "--format", "json", "--", "--strict"],
        2,
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    assert!(doc["ingest"]["rejected_objects"].as_u64().expect("count") > 0);
    let out = report(&w, &["--ingest", p(&bad), "--", "--no-such-option"], 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ingest"));
    report(&w, &["--", "--strict"], 2);
}

#[test]
fn r20_suppressions_from_trailglass_toml_for_report_and_findings() {
    let w = sample_lake();
    // The sample's configuration with suppressions appended, beside its approvals.
    std::fs::copy(
        sample_dir().join("approvals.csv"),
        w.path().join("approvals.csv"),
    )
    .expect("copy approvals");
    let base = std::fs::read_to_string(sample_dir().join("trailglass.toml")).expect("config");
    let lines = base.lines().count();
    let with = |extra: &str| write(&w, "trailglass.toml", &format!("{base}{extra}"));
    let run = |cfg: &Path, args: &[&str], code: i32| {
        let mut all = vec!["--config", p(cfg)];
        all.extend_from_slice(args);
        w.run_code(&all, code)
    };
    // Without a suppression the audit-tampering findings (critical) fail both verbs.
    let plain = with("");
    run(&plain, &["report", "--fail-on", "critical"], 1);
    run(&plain, &["findings", "--fail-on", "critical"], 1);
    // Suppressed in trailglass.toml: both verbs exit 0, and the report names file and line.
    let cfg =
        with("\n[[suppression]]\nrule = \"BG008\"\nreason = \"trail rebuilt in drill CHG-7\"\n");
    run(&cfg, &["findings", "--fail-on", "critical"], 0);
    let out = run(
        &cfg,
        &[
            "report",
            "--fail-on",
            "critical",
            "--format",
            "json",
            "--created",
            CREATED,
        ],
        0,
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    let hidden: Vec<&Value> = doc["suppressed"]
        .as_array()
        .expect("suppressed")
        .iter()
        .filter(|f| f["rule_id"] == "BG008")
        .collect();
    assert_eq!(hidden.len(), 4);
    for f in hidden {
        assert_eq!(f["suppressed_by"]["file"], "trailglass.toml");
        assert_eq!(f["suppressed_by"]["line"], lines + 2);
    }
    let md = run(&cfg, &["report", "--created", CREATED], 0);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains(&format!(
            "suppressed (trailglass.toml line {}): trail rebuilt",
            lines + 2
        )),
        "{md}"
    );
    // With --suppressions too, both files' suppressions apply.
    let sup = fixture("suppressions.toml");
    let out = run(
        &cfg,
        &[
            "report",
            "--format",
            "json",
            "--created",
            CREATED,
            "--suppressions",
            p(&sup),
        ],
        0,
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    let rules: BTreeSet<&str> = doc["suppressed"]
        .as_array()
        .expect("suppressed")
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert_eq!(rules, BTreeSet::from(["BG008", "BG011", "BG014"]));
    // Malformed (no reason): exit 2 naming trailglass.toml and the line, for both verbs.
    let bad = with("\n[[suppression]]\nrule = \"BG008\"\n");
    for verb in ["report", "findings"] {
        let out = run(&bad, &[verb], 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("trailglass.toml:{}:", lines + 2)) && err.contains("reason"),
            "{verb}: {err}"
        );
    }
    // The configuration itself still rejects unknown tables.
    let unknown = with("\n[[suppresion]]\nrule = \"BG008\"\nreason = \"typo\"\n");
    run(&unknown, &["findings"], 2);
}

/// A tiny CloudTrail writer for the anomaly tests: break-glass role sessions (an `AssumeRole` by
/// a user, then actions with the issued key), one file per session under the key layout.
struct Trail {
    dir: PathBuf,
    n: usize,
    /// Where the next session's actions come from.
    region: &'static str,
    ip: &'static str,
    agent: &'static str,
}

impl Trail {
    /// A session of `role` in `account` starting at `start`, lasting `minutes`, with `writes`
    /// write actions among `actions`.
    fn session(
        &mut self,
        account: &str,
        role: &str,
        start: &str,
        minutes: i64,
        actions: usize,
        writes: usize,
    ) {
        self.n += 1;
        let n = self.n;
        let t0 = chrono::DateTime::parse_from_rfc3339(start).expect("start");
        let at = |m: i64| {
            (t0 + chrono::Duration::minutes(m))
                .to_utc()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        };
        let key = format!("ASIATEST{n:012}");
        let role_arn = format!("arn:aws:iam::{account}:role/{role}");
        let mut records = vec![serde_json::json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDATEST", "arn": format!("arn:aws:iam::{account}:user/dana"),
                             "accountId": account, "accessKeyId": "AKIATESTDANA", "userName": "dana"},
            "eventTime": at(0), "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
            "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.30",
            "requestParameters": {"roleArn": role_arn, "roleSessionName": "dana", "durationSeconds": 43200,
                                  "serialNumber": format!("arn:aws:iam::{account}:mfa/dana")},
            "responseElements": {"credentials": {"accessKeyId": key, "expiration": "Dec 31, 2026, 12:00:00 AM"},
                                 "assumedRoleUser": {"assumedRoleId": "AROATEST:dana", "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/dana")}},
            "eventID": format!("00000000-0000-4000-8000-{n:06}000000"), "readOnly": true, "eventType": "AwsApiCall",
            "managementEvent": true, "recipientAccountId": account, "eventCategory": "Management"
        })];
        for i in 0..actions {
            let m = if actions > 1 {
                minutes * i as i64 / (actions as i64 - 1)
            } else {
                0
            }
            .max(1);
            let write = i < writes;
            records.push(serde_json::json!({
                "eventVersion": "1.08",
                "userIdentity": {"type": "AssumedRole", "principalId": "AROATEST:dana",
                                 "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/dana"),
                                 "accountId": account, "accessKeyId": key,
                                 "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROATEST", "arn": role_arn, "accountId": account, "userName": role},
                                                    "attributes": {"creationDate": at(0), "mfaAuthenticated": "true"}}},
                "eventTime": at(m), "eventSource": "ec2.amazonaws.com",
                "eventName": if write { "RebootInstances" } else { "DescribeInstances" },
                "awsRegion": self.region, "sourceIPAddress": self.ip, "userAgent": self.agent,
                "requestParameters": {}, "responseElements": null,
                "eventID": format!("00000000-0000-4000-8000-{n:06}{i:06}"), "readOnly": !write,
                "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": account,
                "eventCategory": "Management"
            }));
        }
        self.write(account, start, records);
    }

    /// `count` denied `AssumeRole` calls of `role` by dana, a minute apart from `start`.
    fn failed_attempts(&mut self, account: &str, role: &str, start: &str, count: usize) {
        self.n += 1;
        let n = self.n;
        let t0 = chrono::DateTime::parse_from_rfc3339(start).expect("start");
        let role_arn = format!("arn:aws:iam::{account}:role/{role}");
        let records: Vec<Value> = (0..count)
            .map(|i| {
                let at = (t0 + chrono::Duration::minutes(i as i64))
                    .to_utc()
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string();
                serde_json::json!({
                    "eventVersion": "1.08",
                    "userIdentity": {"type": "IAMUser", "principalId": "AIDATEST", "arn": format!("arn:aws:iam::{account}:user/dana"),
                                     "accountId": account, "accessKeyId": "AKIATESTDANA", "userName": "dana"},
                    "eventTime": at, "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
                    "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.30",
                    "errorCode": "AccessDenied",
                    "errorMessage": format!("User: arn:aws:iam::{account}:user/dana is not authorized to perform: sts:AssumeRole on resource: {role_arn}"),
                    "requestParameters": {"roleArn": role_arn, "roleSessionName": "dana", "durationSeconds": 3600},
                    "responseElements": null,
                    "eventID": format!("00000000-0000-4000-9000-{n:06}{i:06}"), "readOnly": true, "eventType": "AwsApiCall",
                    "managementEvent": true, "recipientAccountId": account, "eventCategory": "Management"
                })
            })
            .collect();
        self.write(account, start, records);
    }

    fn write(&self, account: &str, start: &str, records: Vec<Value>) {
        let n = self.n;
        let day = &start[..10].replace('-', "/");
        let path = self.dir.join(format!(
            "AWSLogs/{account}/CloudTrail/us-east-1/{day}/{account}_CloudTrail_us-east-1_{n}.json"
        ));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, serde_json::json!({"Records": records}).to_string()).expect("write");
    }
}

/// The anomaly tests' configuration: the `BreakGlass*` roles, and approvals that cover every
/// session of the quiet history and of the window except 11:00–12:00 on the window's day.
fn anomaly_config(w: &Workdir) -> PathBuf {
    write(
        w,
        "approvals.csv",
        "ticket,principal,not_before,not_after,approver\n\
         CHG-1,arn:aws:iam::*:role/BreakGlass*,2026-03-01T00:00:00Z,2026-03-09T11:00:00Z,ciso\n\
         CHG-2,arn:aws:iam::*:role/BreakGlass*,2026-03-09T12:00:00Z,2026-03-10T00:00:00Z,ciso\n",
    );
    write(
        w,
        "trailglass.toml",
        "[breakglass]\nroles = [\"arn:aws:iam::*:role/BreakGlass*\"]\nusers = []\nroot = false\napprovals = \"approvals.csv\"\n",
    )
}

/// Eight quiet days: the same principal at 10:00 every day (every day of the week), 30 minutes,
/// 3 writes of 6 actions; then the window's day starts with an ordinary session.
fn quiet_history(dir: &Path) -> Trail {
    let mut t = Trail {
        dir: dir.to_path_buf(),
        n: 0,
        region: "us-east-1",
        ip: "198.51.100.7",
        agent: "aws-cli/2.15.30",
    };
    for d in 1..=8 {
        t.session(
            "111122223333",
            "BreakGlassAdmin",
            &format!("2026-03-{d:02}T10:00:00Z"),
            30,
            6,
            3,
        );
    }
    t.session(
        "111122223333",
        "BreakGlassAdmin",
        "2026-03-09T10:05:00Z",
        25,
        6,
        2,
    );
    t
}

fn anomalies(w: &Workdir, config: &Path) -> BTreeSet<(String, String)> {
    let out = w.run_code(
        &[
            "--config",
            p(config),
            "report",
            "--from",
            "2026-03-09",
            "--to",
            "2026-03-10",
            "--format",
            "json",
            "--created",
            CREATED,
        ],
        0,
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    // The window holds sessions to judge (the anomaly-free case is not an empty window).
    assert!(doc["summary"]["sessions"].as_u64().expect("count") >= 1);
    // Each anomaly says which baseline it broke and how far.
    for f in doc["findings"].as_array().expect("findings") {
        if f["rule_id"] == "AN004" {
            let s = f["summary"].as_str().expect("summary");
            assert!(s.contains("240 min long, baseline at most 60 min"), "{s}");
            assert!(s.contains("19 writes, baseline at most 8"), "{s}");
        }
        if f["rule_id"] == "AN008" {
            let s = f["summary"].as_str().expect("summary");
            assert!(
                s.contains("outside any approval window: 4 use(s) from 2026-03-09T11:02:00Z"),
                "{s}"
            );
        }
        if f["rule_id"] == "AN009" {
            let s = f["summary"].as_str().expect("summary");
            assert!(s.starts_with("5 failed break-glass attempts"), "{s}");
            assert!(s.contains("from 2026-03-09T00:00:00Z in 1 account(s); baseline median 0.0, MAD 0.0 per 24 h over 7 earlier periods, threshold 3.0"), "{s}");
        }
    }
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"].as_str().is_some_and(|r| r.starts_with("AN")))
        .map(|f| {
            (
                f["rule_id"].as_str().expect("rule").to_string(),
                f["session_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn r20_anomalies_steady_history_reports_none() {
    let w = Workdir::new();
    let trail = w.path().join("trail");
    let mut t = quiet_history(&trail);
    // One failed attempt a day is the history's habit; one more in the window is no spike.
    for d in 2..=9 {
        t.failed_attempts(
            "111122223333",
            "BreakGlassAdmin",
            &format!("2026-03-{d:02}T16:00:00Z"),
            1,
        );
    }
    let config = anomaly_config(&w);
    w.ingest(&trail, &[]);
    assert_eq!(anomalies(&w, &config), BTreeSet::new());
}

#[test]
fn r20_anomalies_planted_after_a_quiet_history_are_found_exactly() {
    let w = Workdir::new();
    let trail = w.path().join("trail");
    let mut t = quiet_history(&trail);
    // Planted in the window: a new principal; a new account (and so a new principal too); the
    // usual principal at 03:00, a new hour of its week, for 4 hours with 20 writes.
    t.session(
        "111122223333",
        "BreakGlassNetwork",
        "2026-03-09T12:00:00Z",
        20,
        4,
        1,
    );
    t.session(
        "444455556666",
        "BreakGlassAdmin",
        "2026-03-09T14:00:00Z",
        20,
        4,
        1,
    );
    t.session(
        "111122223333",
        "BreakGlassAdmin",
        "2026-03-09T03:00:00Z",
        240,
        30,
        20,
    );
    // At its usual hour, but used on past the approval window closing at 11:00.
    t.session(
        "111122223333",
        "BreakGlassAdmin",
        "2026-03-09T10:50:00Z",
        30,
        6,
        3,
    );
    // Five failed assumptions in an hour, after a history without any.
    t.failed_attempts("111122223333", "BreakGlassAdmin", "2026-03-09T16:00:00Z", 5);
    // And at its usual hour, from a new network, region and user agent.
    (t.region, t.ip, t.agent) = ("ap-southeast-2", "203.0.113.50", "curl/8.5.0");
    t.session(
        "111122223333",
        "BreakGlassAdmin",
        "2026-03-09T10:40:00Z",
        10,
        3,
        1,
    );
    let config = anomaly_config(&w);
    w.ingest(&trail, &[]);
    let sessions = w.run_code(
        &[
            "--config",
            p(&config),
            "sessions",
            "--from",
            "2026-03-09",
            "--format",
            "ndjson",
        ],
        0,
    );
    let by_principal_start: Vec<(String, String, String)> = super::sessions::ndjson(&sessions)
        .iter()
        .map(|s| {
            (
                s["principal_arn"].as_str().expect("arn").to_string(),
                s["start"].as_str().expect("start").to_string(),
                s["session_id"].as_str().expect("id").to_string(),
            )
        })
        .collect();
    let id = |arn: &str, start: &str| {
        by_principal_start
            .iter()
            .find(|(a, s, _)| a == arn && s.starts_with(start))
            .map(|(_, _, i)| i.clone())
            .unwrap_or_else(|| panic!("no session of {arn} at {start}: {by_principal_start:?}"))
    };
    let network = id(
        "arn:aws:iam::111122223333:role/BreakGlassNetwork",
        "2026-03-09T12:00",
    );
    let other_account = id(
        "arn:aws:iam::444455556666:role/BreakGlassAdmin",
        "2026-03-09T14:00",
    );
    let odd = id(
        "arn:aws:iam::111122223333:role/BreakGlassAdmin",
        "2026-03-09T03:00",
    );
    let moved = id(
        "arn:aws:iam::111122223333:role/BreakGlassAdmin",
        "2026-03-09T10:40",
    );
    let unapproved = id(
        "arn:aws:iam::111122223333:role/BreakGlassAdmin",
        "2026-03-09T10:50",
    );
    let want: BTreeSet<(String, String)> = [
        ("AN001", &network),
        ("AN001", &other_account),
        ("AN002", &other_account),
        ("AN003", &odd),
        ("AN004", &odd),
        ("AN005", &moved),
        ("AN006", &moved),
        ("AN007", &moved),
        ("AN008", &unapproved),
        ("AN009", &String::new()),
    ]
    .iter()
    .map(|(r, s)| (r.to_string(), s.to_string()))
    .collect();
    assert_eq!(anomalies(&w, &config), want);
}

/// An anomaly as (rule, session, event).
type Anomaly = (String, String, String);

/// Generate the anomaly story (`generate --anomalies MODE`), ingest it, report its window, and
/// return the anomalies found and those the answer key lists.
fn generated_anomalies(mode: &str) -> (BTreeSet<Anomaly>, BTreeSet<Anomaly>) {
    let w = Workdir::new();
    let out = w.path().join("gen");
    w.run_code(
        &[
            "generate",
            "--out",
            p(&out),
            "--days",
            "9",
            "--anomalies",
            mode,
        ],
        0,
    );
    w.ingest(&out.join("trail"), &[]);
    let key: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("answer-key.json")).expect("answer key"),
    )
    .expect("answer key JSON");
    let window = key["anomaly_window"].as_array().expect("anomaly_window");
    // Under the generated configuration: its approvals are what AN008 judges.
    let cfg = out.join("trailglass.toml");
    let run = w.run_code(
        &[
            "--config",
            p(&cfg),
            "report",
            "--from",
            window[0].as_str().expect("from"),
            "--to",
            window[1].as_str().expect("to"),
            "--format",
            "json",
            "--created",
            CREATED,
        ],
        0,
    );
    let doc: Value = serde_json::from_slice(&run.stdout).expect("report JSON");
    assert!(doc["summary"]["sessions"].as_u64().expect("count") >= 1);
    let triple = |f: &Value| {
        let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
        (s("rule_id"), s("session_id"), s("eventid"))
    };
    let found = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"].as_str().is_some_and(|r| r.starts_with("AN")))
        .map(triple)
        .collect();
    let want = key["anomalies"]
        .as_array()
        .expect("anomalies in the key")
        .iter()
        .map(triple)
        .collect();
    (found, want)
}

#[test]
fn r20_generated_trail_plants_each_anomaly_kind_once_and_the_report_finds_exactly_those() {
    let (found, want) = generated_anomalies("planted");
    let kinds: BTreeSet<String> = want.iter().map(|(r, _, _)| r.clone()).collect();
    let every: BTreeSet<String> = (1..=9).map(|i| format!("AN{i:03}")).collect();
    assert_eq!(kinds, every, "the key plants every anomaly kind");
    assert_eq!(want.len(), 9, "one instance of each kind: {want:?}");
    assert_eq!(found, want);
}

#[test]
fn r20_generated_steady_trail_reports_no_anomaly() {
    let (found, want) = generated_anomalies("steady");
    assert!(want.is_empty(), "{want:?}");
    assert_eq!(found, BTreeSet::new());
}
