//! Issue 19: evidence bundles. An untouched bundle verifies (directory and zip) and every
//! tampering is caught and named; the `VERIFY.txt` recipe works with sha256sum and openssl
//! alone; `events.jsonl` is the sample trail's records byte for byte; bundles are reproducible;
//! bad session ids and output paths are refused without writing outside the bundle.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;
use serde_json::value::RawValue;

use super::util::{Workdir, copy_tree, dom_without_console_output, repo, sample, screenshot, walk};

/// One lake of the sample trail, ingested once and only read by these tests.
fn lake() -> &'static Workdir {
    static LAKE: OnceLock<Workdir> = OnceLock::new();
    LAKE.get_or_init(|| {
        let w = Workdir::new();
        w.ingest(&sample(), &[]);
        w
    })
}

fn config() -> String {
    repo()
        .join("testdata/sample/trailglass.toml")
        .to_str()
        .expect("utf-8")
        .to_string()
}

fn key() -> Value {
    serde_json::from_slice(
        &std::fs::read(repo().join("testdata/sample/answer-key.json")).expect("answer key"),
    )
    .expect("answer key JSON")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Run `trailglass --config SAMPLE ARGS` against the shared lake and require `code`.
fn tg(args: &[&str], code: i32) -> Output {
    let cfg = config();
    let mut all = vec!["--config", cfg.as_str()];
    all.extend_from_slice(args);
    lake().run_code(&all, code)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The role session with MFA: findings, a record delivered twice and one delivered late.
const DUP_AND_LATE: &str = "e5c218bb58e4ea8a";
/// The IAM user console session whose entry event was delivered twice.
const ENTRY_TWICE: &str = "37d3fe883852b196";

fn bundle(dir: &Path, id: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("b-{id}"));
    let mut args = vec![
        "evidence",
        id,
        "--out",
        s(&out),
        "--created",
        "2026-03-04T05:06:07Z",
    ];
    args.extend_from_slice(extra);
    tg(&args, 0);
    out
}

fn keygen(dir: &Path, name: &str) -> PathBuf {
    let k = dir.join(name);
    tg(&["keygen", "--out", s(&k)], 0);
    k
}

/// `verify`, requiring `code`; returns stderr.
fn verify(bundle: &Path, extra: &[&str], code: i32) -> String {
    let mut args = vec!["verify", s(bundle)];
    args.extend_from_slice(extra);
    stderr(&tg(&args, code))
}

fn copy(from: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).expect("mkdir");
    copy_tree(from, to);
    to.to_path_buf()
}

#[test]
fn signed_bundle_verifies_and_every_tampering_is_named() {
    let w = Workdir::new();
    let k = keygen(w.path(), "ev.key");
    let b = bundle(w.path(), DUP_AND_LATE, &["--sign-key", s(&k)]);
    let pub_key = format!("{}.pub", s(&k));
    let out = tg(&["verify", s(&b), "--public-key", &pub_key], 0);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("signed by key sha256:"),
        "{out:?}"
    );
    let names: Vec<String> = walk(&b)
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    // Exactly the fixed names (a period bundle has sessions.json instead of session.json; the
    // digest keys come only with --public-keys).
    let mut want: Vec<&str> = crate::evidence::name::FILES
        .iter()
        .copied()
        .filter(|n| !matches!(*n, "sessions.json" | "digest-public-keys.json"))
        .collect();
    want.sort();
    let mut got: Vec<&str> = names.iter().map(String::as_str).collect();
    got.sort();
    assert_eq!(got, want);
    for (i, n) in names.iter().enumerate() {
        // One byte flipped, at a different position in each file.
        let t = copy(&b, &w.path().join(format!("flip-{i}")));
        let p = t.join(n);
        let mut bytes = std::fs::read(&p).expect("read");
        let at = (i * 7919) % bytes.len();
        bytes[at] ^= 0x01;
        std::fs::write(&p, &bytes).expect("write");
        let e = verify(&t, &[], 1);
        assert!(e.contains(n.as_str()), "flipped {n}: {e}");
        // Deleted.
        let t = copy(&b, &w.path().join(format!("del-{i}")));
        std::fs::remove_file(t.join(n)).expect("rm");
        let e = verify(&t, &[], 1);
        assert!(e.contains(n.as_str()), "deleted {n}: {e}");
    }
    // Added.
    let t = copy(&b, &w.path().join("added"));
    std::fs::write(t.join("notes.txt"), b"hi").expect("write");
    assert!(verify(&t, &[], 1).contains("notes.txt"));
    // The manifest edited (still valid JSON) without re-signing.
    let t = copy(&b, &w.path().join("edited"));
    let m = std::fs::read_to_string(t.join("manifest.json")).expect("manifest");
    std::fs::write(
        t.join("manifest.json"),
        m.replace("2026-03-04T05:06:07Z", "2026-03-04T05:06:08Z"),
    )
    .expect("write");
    assert!(verify(&t, &[], 1).contains("manifest"));
    // manifest.pub swapped for another key: the signature no longer verifies, and the key is
    // named; with --public-key the expected key is named too.
    let other = keygen(w.path(), "other.key");
    let t = copy(&b, &w.path().join("swapped"));
    std::fs::copy(format!("{}.pub", s(&other)), t.join("manifest.pub")).expect("cp");
    let e = verify(&t, &[], 1);
    assert!(e.contains("manifest.pub") && e.contains("sha256:"), "{e}");
    let e = verify(&b, &["--public-key", &format!("{}.pub", s(&other))], 1);
    assert!(
        e.contains("manifest.pub") && e.contains("expected key"),
        "{e}"
    );
    // Re-signed with another key (manifest.sig and manifest.pub both replaced): self-consistent,
    // so only --public-key catches it.
    let t = copy(&b, &w.path().join("resigned"));
    std::fs::remove_file(t.join("manifest.sig")).expect("rm");
    std::fs::remove_file(t.join("manifest.pub")).expect("rm");
    assert!(verify(&t, &["--public-key", &pub_key], 1).contains("unsigned"));
    // A truncated signature.
    let t = copy(&b, &w.path().join("truncated"));
    std::fs::write(
        t.join("manifest.sig"),
        &std::fs::read(b.join("manifest.sig")).expect("sig")[..63],
    )
    .expect("write");
    assert!(verify(&t, &[], 1).contains("manifest.sig"));
    // Not a bundle: exit 2.
    let empty = w.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    verify(&empty, &[], 2);
    verify(&w.path().join("nowhere"), &[], 2);
    let text = w.path().join("plain.txt");
    std::fs::write(&text, b"not a zip").expect("write");
    verify(&text, &[], 2);
}

#[test]
fn unsigned_bundle_verifies_and_says_so() {
    let w = Workdir::new();
    let b = bundle(w.path(), ENTRY_TWICE, &[]);
    let out = tg(&["verify", s(&b)], 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("UNSIGNED"));
    let k = keygen(w.path(), "k");
    let e = verify(&b, &["--public-key", &format!("{}.pub", s(&k))], 1);
    assert!(e.contains("unsigned"), "{e}");
}

/// The `VERIFY.txt` script, run with `sh` in the bundle directory.
fn run_recipe(dir: &Path) -> Output {
    let text = std::fs::read_to_string(dir.join("VERIFY.txt")).expect("VERIFY.txt");
    let script = trailglass_recipe_script(&text);
    std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("sh")
}

/// The recipe accepts `dir`.
fn assert_recipe_passes(dir: &Path) {
    let ok = run_recipe(dir);
    assert!(
        ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains("bundle verified"),
        "{}\n{}",
        String::from_utf8_lossy(&ok.stdout),
        stderr(&ok)
    );
}

/// A copy of bundle `b` at `to` whose manifest was edited after signing; `verify` names the
/// signature and the recipe fails.
fn edited_manifest_is_rejected(b: &Path, to: &Path) {
    let t = copy(b, to);
    let text = std::fs::read_to_string(t.join("manifest.json")).expect("manifest");
    std::fs::write(
        t.join("manifest.json"),
        text.replace("\"records\"", "\"Records\""),
    )
    .expect("write");
    let e = verify(&t, &[], 1);
    assert!(e.contains("manifest.sig"), "{e}");
    assert!(!run_recipe(&t).status.success());
}

fn trailglass_recipe_script(text: &str) -> String {
    crate::evidence::recipe::script(text)
        .expect("VERIFY.txt has a script block")
        .to_string()
}

#[test]
fn verify_txt_recipe_checks_with_sha256sum_and_openssl_alone() {
    let w = Workdir::new();
    let k = keygen(w.path(), "ev.key");
    for (label, extra) in [("signed", vec!["--sign-key", s(&k)]), ("unsigned", vec![])] {
        let b = bundle(&w.path().join(label), DUP_AND_LATE, &extra);
        let ok = run_recipe(&b);
        assert!(
            ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains("bundle verified"),
            "{label}: {}\n{}",
            String::from_utf8_lossy(&ok.stdout),
            stderr(&ok)
        );
        // A record changed, with SHA256SUMS updated to match: the manifest's hash of SHA256SUMS
        // still catches it.
        let t = copy(&b, &w.path().join(format!("{label}-t1")));
        let ev = t.join("events.jsonl");
        let mut bytes = std::fs::read(&ev).expect("read");
        bytes[10] ^= 0x01;
        std::fs::write(&ev, &bytes).expect("write");
        assert!(
            !run_recipe(&t).status.success(),
            "{label}: changed record passed"
        );
        let sums = std::fs::read_to_string(t.join("SHA256SUMS")).expect("sums");
        let new_hash = crate::evidence::manifest::sha256_hex(&bytes);
        let sums: String = sums
            .lines()
            .map(|l| {
                if l.ends_with("  events.jsonl") {
                    format!("{new_hash}  events.jsonl\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(t.join("SHA256SUMS"), sums).expect("write");
        assert!(
            !run_recipe(&t).status.success(),
            "{label}: rewritten sums passed"
        );
        // An added file.
        let t = copy(&b, &w.path().join(format!("{label}-t2")));
        std::fs::write(t.join("extra.txt"), b"x").expect("write");
        assert!(
            !run_recipe(&t).status.success(),
            "{label}: added file passed"
        );
    }
    // An edited manifest of a signed bundle fails the openssl signature check.
    let b = bundle(
        &w.path().join("signed2"),
        DUP_AND_LATE,
        &["--sign-key", s(&k)],
    );
    let m = std::fs::read_to_string(b.join("manifest.json")).expect("manifest");
    std::fs::write(
        b.join("manifest.json"),
        m.replace("\"records\"", "\"Records\""),
    )
    .expect("write");
    assert!(!run_recipe(&b).status.success());
}

/// An RSA private key of `bits` made by OpenSSL at `out` (PKCS#8 PEM, or PKCS#1 DER).
fn openssl_rsa_key(out: &Path, bits: &str, form: &str) {
    let o = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
        .arg(format!("rsa_keygen_bits:{bits}"))
        .args(["-outform", form, "-out", s(out)])
        .output()
        .expect("openssl");
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn rsa_pss_signed_bundle_verifies_with_trailglass_and_the_recipe() {
    // An RSA key signs as KMS's RSASSA_PSS_SHA_256 does (SHA-256, MGF1-SHA-256, 32-byte salt);
    // the key is OpenSSL's and so is the recipe's check, independent of trailglass.
    let w = Workdir::new();
    let k = w.path().join("rsa.pem");
    openssl_rsa_key(&k, "3072", "PEM");
    let public = w.path().join("rsa.pub");
    let o = std::process::Command::new("openssl")
        .args(["pkey", "-in", s(&k), "-pubout", "-out", s(&public)])
        .output()
        .expect("openssl");
    assert!(o.status.success(), "{}", stderr(&o));
    let b = bundle(w.path(), DUP_AND_LATE, &["--sign-key", s(&k)]);
    let m: Value =
        serde_json::from_slice(&std::fs::read(b.join("manifest.json")).expect("m")).expect("m");
    assert_eq!(m["signer"]["algorithm"], "rsa-pss-sha256");
    verify(&b, &["--public-key", s(&public)], 0);
    let text = std::fs::read_to_string(b.join("VERIFY.txt")).expect("VERIFY.txt");
    assert!(text.contains("rsa_pss_saltlen:32"), "{text}");
    assert_recipe_passes(&b);
    edited_manifest_is_rejected(&b, &w.path().join("tampered"));
}

// ---- events.jsonl against the source files ------------------------------------------------

#[derive(serde::Deserialize)]
struct LogFile<'a> {
    #[serde(borrow, rename = "Records")]
    records: Vec<&'a RawValue>,
}

/// One delivered copy of a record in the source files.
struct Copy {
    text: String,
    /// (delivery stamp in the file name, key, index): first delivered is smallest.
    order: (String, String, usize),
    time: i64,
    key: Option<String>,
    late: bool,
}

/// Every record of the sample trail's log files, by event id, every delivered copy.
fn source_records() -> BTreeMap<String, Vec<Copy>> {
    let mut out: BTreeMap<String, Vec<Copy>> = BTreeMap::new();
    let root = sample();
    for p in walk(&root) {
        let rel = p
            .strip_prefix(&root)
            .expect("inside")
            .to_string_lossy()
            .into_owned();
        if !rel.contains("/CloudTrail/") || !rel.ends_with(".json.gz") {
            continue;
        }
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&p).expect("open"))
            .read_to_string(&mut text)
            .expect("gunzip");
        let file: LogFile = serde_json::from_str(&text).expect("log file JSON");
        let stamp = crate::evidence::bundle::delivery_stamp(&rel).to_string();
        for (i, r) in file.records.iter().enumerate() {
            let v: Value = serde_json::from_str(r.get()).expect("record");
            let id = v["eventID"].as_str().expect("eventID").to_string();
            let time = chrono::DateTime::parse_from_rfc3339(v["eventTime"].as_str().expect("time"))
                .expect("RFC 3339")
                .timestamp_micros();
            out.entry(id).or_default().push(Copy {
                text: r.get().to_string(),
                order: (stamp.clone(), rel.clone(), i),
                time,
                key: v["userIdentity"]["accessKeyId"]
                    .as_str()
                    .map(str::to_string),
                late: v["addendum"]["reason"].as_str() == Some("DELIVERY_DELAY"),
            });
        }
    }
    out
}

/// The expected `events.jsonl` of `sessions` (answer-key rows): the entry record and every record
/// carrying the session's key, the first delivered copy of each, in time order.
fn expected_lines(
    src: &BTreeMap<String, Vec<Copy>>,
    sessions: &[&Value],
) -> (String, usize, usize) {
    let mut ids = BTreeSet::new();
    for sess in sessions {
        let key = sess["access_key_id"].as_str().expect("key");
        let entry = sess["entry_event_id"].as_str();
        let actions: BTreeSet<&String> = src
            .iter()
            .filter(|(id, c)| Some(id.as_str()) != entry && c[0].key.as_deref() == Some(key))
            .map(|(id, _)| id)
            .collect();
        // The oracle agrees with the answer key's action count before it is trusted.
        assert_eq!(
            actions.len() as u64,
            sess["events"].as_u64().expect("events"),
            "{}",
            sess["session_id"]
        );
        ids.extend(actions.into_iter().cloned());
        if let Some(e) = entry {
            ids.insert(e.to_string());
        }
    }
    let mut rows: Vec<(i64, &String, &Copy)> = ids
        .iter()
        .map(|id| {
            let first = src[id]
                .iter()
                .min_by(|a, b| a.order.cmp(&b.order))
                .expect("a copy");
            (first.time, id, first)
        })
        .collect();
    rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let dups = ids.iter().filter(|id| src[*id].len() > 1).count();
    let late = ids
        .iter()
        .filter(|id| src[*id].iter().any(|c| c.late))
        .count();
    let text = rows.iter().map(|r| format!("{}\n", r.2.text)).collect();
    (text, dups, late)
}

/// The `_raw` column of a Parquet file, in row order; asserts the lake's other columns are there.
fn parquet_raw(path: &Path) -> Vec<String> {
    use arrow::array::{Array, AsArray};
    let f = std::fs::File::open(path).expect("events.parquet");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .expect("a Parquet file")
        .build()
        .expect("reader");
    let mut out = Vec::new();
    for b in reader {
        let b = b.expect("batch");
        for c in [
            "eventtime",
            "eventname",
            "useridentity",
            "_source",
            "_record",
            "dt",
        ] {
            assert!(b.column_by_name(c).is_some(), "events.parquet has no {c}");
        }
        let raw = arrow::compute::cast(
            b.column_by_name("_raw").expect("_raw"),
            &arrow::datatypes::DataType::Utf8,
        )
        .expect("text");
        let raw = raw.as_string::<i32>();
        out.extend((0..raw.len()).map(|i| raw.value(i).to_string()));
    }
    out
}

#[test]
fn events_jsonl_is_the_sessions_records_byte_for_byte() {
    let src = source_records();
    let k = key();
    let sessions: Vec<&Value> = k["sessions"].as_array().expect("sessions").iter().collect();
    let by_id = |id: &str| -> &Value {
        sessions
            .iter()
            .find(|s| s["session_id"] == id)
            .copied()
            .expect("session in the key")
    };
    let w = Workdir::new();
    for (id, dups, late) in [(DUP_AND_LATE, 1, 1), (ENTRY_TWICE, 1, 0)] {
        let b = bundle(w.path(), id, &[]);
        let (want, d, l) = expected_lines(&src, &[by_id(id)]);
        // The cases this test is about are really there.
        assert_eq!((d, l), (dups, late), "{id}: duplicate and late records");
        let got = std::fs::read_to_string(b.join("events.jsonl")).expect("events.jsonl");
        assert!(
            got == want,
            "{id}: events.jsonl differs from the source records"
        );
        // events.parquet: the same records, in the same order, with the lake's columns.
        assert_eq!(
            parquet_raw(&b.join("events.parquet")),
            want.lines().collect::<Vec<_>>(),
            "{id}"
        );
        let m: Value =
            serde_json::from_slice(&std::fs::read(b.join("manifest.json")).expect("m")).expect("m");
        assert_eq!(m["events"]["duplicate_copies"], dups as u64, "{id}");
        assert_eq!(m["events"]["compacted"], serde_json::json!([]));
    }
    // Every session of the sample at once: a period bundle from before the earliest entry.
    let out = w.path().join("all");
    tg(
        &[
            "evidence",
            "--from",
            "2026-02-28",
            "--to",
            "2026-03-03",
            "--out",
            s(&out),
        ],
        0,
    );
    let (want, d, l) = expected_lines(&src, &sessions);
    assert!(d >= 4 && l >= 2, "{d} {l}");
    let got = std::fs::read_to_string(out.join("events.jsonl")).expect("events.jsonl");
    assert_eq!(got.lines().count(), want.lines().count());
    assert!(
        got == want,
        "period events.jsonl differs from the source records"
    );
    let doc: Value =
        serde_json::from_slice(&std::fs::read(out.join("sessions.json")).expect("s")).expect("s");
    assert_eq!(
        doc["sessions"].as_array().map(Vec::len),
        Some(sessions.len())
    );
    // Parents and children: every chained session names its parent, which lists it as a child.
    let rows = doc["sessions"].as_array().expect("sessions");
    for row in rows {
        if let Some(p) = row["parent_session_id"].as_str() {
            assert_eq!(row["parents"][0], p);
            let parent = rows
                .iter()
                .find(|r| r["session_id"] == p)
                .expect("parent in the bundle");
            let children = parent["children"].as_array().expect("children");
            assert!(children.contains(&row["session_id"]));
        }
    }
    verify(&out, &[], 0);
}

#[test]
fn timeline_html_is_self_contained_and_shows_every_action() {
    let w = Workdir::new();
    let b = bundle(w.path(), DUP_AND_LATE, &[]);
    let html = std::fs::read_to_string(b.join("timeline.html")).expect("timeline.html");
    let csv = std::fs::read_to_string(b.join("timeline.csv")).expect("timeline.csv");
    for line in csv.lines().skip(1) {
        let eid = line.rsplit(',').next().expect("eventid");
        assert!(
            html.contains(&format!("data-eventid=\"{eid}\"")),
            "{eid} not on the page"
        );
    }
    assert!(html.contains("id=\"ttl\"") && html.contains("id=\"entry\""));
    assert!(html.contains("MFA at entry: yes"));
    assert!(html.contains("CHG-1003 ("), "approval window shown");
    assert!(html.contains("class=\"hit\"") && html.contains("BG007"));
    let no_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for external in [
        "http:", "https:", "<script", "<link", "@import", "url(", " src=",
    ] {
        assert!(
            !no_ns.contains(external),
            "timeline.html references {external}"
        );
    }
}

#[test]
fn a_period_without_sessions_is_a_valid_signed_bundle_that_says_so() {
    let w = Workdir::new();
    let k = keygen(w.path(), "k");
    let out = w.path().join("empty.zip");
    let period = [
        "evidence",
        "--from",
        "2020-01-01",
        "--to",
        "2020-01-02",
        "--out",
    ];
    let mut args = period.to_vec();
    args.extend([s(&out), "--sign-key", s(&k)]);
    tg(&args, 0);
    verify(&out, &["--public-key", &format!("{}.pub", s(&k))], 0);
    let dir = w.path().join("empty-dir");
    let mut args = period.to_vec();
    args.push(s(&dir));
    tg(&args, 0);
    let doc: Value =
        serde_json::from_slice(&std::fs::read(dir.join("sessions.json")).expect("s")).expect("s");
    assert_eq!(doc["sessions"], serde_json::json!([]));
    assert!(
        doc["note"]
            .as_str()
            .expect("note")
            .contains("no break-glass session")
    );
    assert_eq!(
        std::fs::read(dir.join("events.jsonl")).expect("events"),
        b""
    );
    let html = std::fs::read_to_string(dir.join("timeline.html")).expect("html");
    assert!(html.contains("no-sessions"));
}

#[test]
fn sources_and_manifest_describe_the_export() {
    let w = Workdir::new();
    let b = bundle(w.path(), DUP_AND_LATE, &[]);
    let m: Value =
        serde_json::from_slice(&std::fs::read(b.join("manifest.json")).expect("m")).expect("m");
    assert_eq!(m["format"], "trailglass-evidence");
    assert_eq!(m["created"], "2026-03-04T05:06:07Z");
    assert!(m["lake"]["table_versions"]["events"].as_i64().is_some());
    assert_eq!(
        m["config"]["sha256"].as_str(),
        Some(
            crate::evidence::manifest::sha256_hex(
                &std::fs::read(b.join("config.toml")).expect("c")
            )
            .as_str()
        )
    );
    // The SQL is in queries.json, which the manifest names by hash; the session id is a bound
    // value, never part of the SQL text.
    let qbytes = std::fs::read(b.join("queries.json")).expect("queries.json");
    assert_eq!(m["queries"]["file"], "queries.json");
    assert_eq!(
        m["queries"]["sha256"].as_str(),
        Some(crate::evidence::manifest::sha256_hex(&qbytes).as_str())
    );
    let q: Value = serde_json::from_slice(&qbytes).expect("queries.json");
    let q = q.as_array().expect("queries");
    assert!(
        q.iter()
            .any(|q| q["query"] == "sessions" && q["path"] == "queries/sessions.sql"),
        "{q:?}"
    );
    assert!(q.iter().any(|q| q["params"]["session_id"] == DUP_AND_LATE));
    assert!(
        q.iter()
            .all(|q| !q["sql"].as_str().unwrap_or("").contains(DUP_AND_LATE))
    );
    let sources: Value =
        serde_json::from_slice(&std::fs::read(b.join("sources.json")).expect("s")).expect("s");
    let sources = sources.as_array().expect("array");
    assert!(!sources.is_empty());
    for o in sources {
        let key = o["key"].as_str().expect("key");
        let file = sample().join(key);
        assert!(file.is_file(), "{key}");
        assert_eq!(o["digest_status"], "unknown");
        assert!(!o["etag"].as_str().unwrap_or("").is_empty(), "{o}");
        let bytes = std::fs::read(&file).expect("source object");
        assert_eq!(o["size"].as_u64(), Some(bytes.len() as u64), "{o}");
        assert_eq!(
            o["sha256"].as_str(),
            Some(crate::evidence::manifest::sha256_hex(&bytes).as_str()),
            "{o}"
        );
    }
    let sess: Value =
        serde_json::from_slice(&std::fs::read(b.join("session.json")).expect("s")).expect("s");
    assert_eq!(sess["session_id"], DUP_AND_LATE);
    let csv = std::fs::read_to_string(b.join("timeline.csv")).expect("csv");
    assert!(csv.starts_with("session_id,eventtime,step,"));
    // Every action of the session (the answer key's count), findings marked by rule.
    assert_eq!(csv.lines().filter(|l| l.contains(",action,")).count(), 13);
    assert!(csv.lines().any(|l| l.contains(",BG007,")), "{csv}");
    let findings: Value =
        serde_json::from_slice(&std::fs::read(b.join("findings.json")).expect("f")).expect("f");
    assert!(!findings.as_array().expect("array").is_empty());
}

#[test]
fn zip_and_directory_bundles_are_reproducible() {
    let w = Workdir::new();
    let k = keygen(w.path(), "ev.key");
    let z1 = w.path().join("one.zip");
    let z2 = w.path().join("two.zip");
    for z in [&z1, &z2] {
        tg(
            &[
                "evidence",
                DUP_AND_LATE,
                "--out",
                s(z),
                "--created",
                "2026-03-04T00:00:00Z",
                "--sign-key",
                s(&k),
            ],
            0,
        );
    }
    assert!(std::fs::read(&z1).expect("z1") == std::fs::read(&z2).expect("z2"));
    verify(&z1, &["--public-key", &format!("{}.pub", s(&k))], 0);
    let t = std::process::Command::new("unzip")
        .arg("-t")
        .arg(&z1)
        .output()
        .expect("unzip");
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stdout));
    // The zip holds exactly the directory bundle's files, with SOURCE_DATE_EPOCH as the time.
    let d1 = w.path().join("d1");
    let d2 = w.path().join("d2");
    for d in [&d1, &d2] {
        lake()
            .cmd()
            .env("SOURCE_DATE_EPOCH", "1772582400")
            .args([
                "--config",
                &config(),
                "evidence",
                DUP_AND_LATE,
                "--out",
                s(d),
                "--sign-key",
                s(&k),
            ])
            .output()
            .expect("run");
    }
    for f in walk(&d1) {
        let n = f.file_name().expect("name");
        assert!(
            std::fs::read(&f).expect("a") == std::fs::read(d2.join(n)).expect("b"),
            "{n:?} differs"
        );
    }
    assert!(
        std::fs::read(d1.join("manifest.json")).expect("m1")
            == std::fs::read(d1.join("manifest.json")).expect("m2")
    );
    let m: Value =
        serde_json::from_slice(&std::fs::read(d1.join("manifest.json")).expect("m")).expect("m");
    assert_eq!(m["created"], "2026-03-04T00:00:00Z");
    // A byte of a stored entry flipped inside the zip: named.
    let mut bytes = std::fs::read(&z1).expect("zip");
    // The local header's name is followed directly by the data (no extra field).
    let at = bytes
        .windows(b"events.jsonl{".len())
        .position(|w| w == b"events.jsonl{")
        .expect("entry")
        + b"events.jsonl".len()
        + 5;
    bytes[at] ^= 0x01;
    let bad = w.path().join("bad.zip");
    std::fs::write(&bad, &bytes).expect("write");
    assert!(verify(&bad, &[], 1).contains("events.jsonl"));
}

#[test]
fn bad_ids_and_outputs_are_refused_and_nothing_leaves_the_bundle() {
    let w = Workdir::new();
    let before = walk(w.path());
    for id in [
        "no-such-session",
        "../../escape",
        "/etc/passwd",
        "a/../../x",
        "%2e%2e/x",
    ] {
        let out = w.path().join("out").join("b");
        let e = stderr(&tg(&["evidence", id, "--out", s(&out)], 2));
        assert!(e.contains("no session"), "{id}: {e}");
        assert!(!out.exists(), "{id}");
    }
    // Nothing new anywhere in the work directory (no staging leftovers either).
    assert_eq!(walk(w.path()), before);
    // An existing, non-empty --out is refused unless --force; a symlink planted there is
    // replaced, never followed.
    let out = w.path().join("case");
    std::fs::create_dir(&out).expect("mkdir");
    let outside = w.path().join("outside.txt");
    std::fs::write(&outside, b"keep").expect("write");
    std::os::unix::fs::symlink(&outside, out.join("events.jsonl")).expect("symlink");
    let e = stderr(&tg(&["evidence", DUP_AND_LATE, "--out", s(&out)], 2));
    assert!(e.contains("--force"), "{e}");
    tg(&["evidence", DUP_AND_LATE, "--out", s(&out), "--force"], 0);
    assert_eq!(std::fs::read(&outside).expect("outside"), b"keep");
    assert!(
        !std::fs::symlink_metadata(out.join("events.jsonl"))
            .expect("f")
            .file_type()
            .is_symlink()
    );
    verify(&out, &[], 0);
    let leftovers: Vec<PathBuf> = std::fs::read_dir(w.path())
        .expect("ls")
        .map(|e| e.expect("e").path())
        .filter(|p| p.to_string_lossy().contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn keygen_writes_an_owner_only_key_openssl_reads() {
    use std::os::unix::fs::PermissionsExt;
    let w = Workdir::new();
    let k = keygen(w.path(), "k.pem");
    let mode = std::fs::metadata(&k).expect("key").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let public = format!("{}.pub", s(&k));
    let o = std::process::Command::new("openssl")
        .args(["pkey", "-pubin", "-in", &public, "-noout", "-text"])
        .output()
        .expect("openssl");
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("ED25519"),
        "{o:?}"
    );
    let o = std::process::Command::new("openssl")
        .args(["pkey", "-in", s(&k), "-noout"])
        .output()
        .expect("openssl");
    assert!(o.status.success(), "{}", stderr(&o));
    // Not over an existing key.
    let e = stderr(&tg(&["keygen", "--out", s(&k)], 2));
    assert!(e.contains("--force"), "{e}");
}

#[test]
fn a_multi_line_original_is_written_compacted_and_listed() {
    // A hand-made copy of the trail in which one record of a session spans lines.
    let src = source_records();
    let k = key();
    let sess = k["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["session_id"] == ENTRY_TWICE)
        .expect("session");
    let akey = sess["access_key_id"].as_str().expect("key");
    let (id, copy) = src
        .iter()
        .find(|(_, c)| c.len() == 1 && c[0].key.as_deref() == Some(akey))
        .map(|(id, c)| (id.clone(), &c[0]))
        .expect("an action delivered once");
    let w = Workdir::new();
    let trail = w.path().join("trail");
    copy_tree(&sample(), &trail);
    let file = trail.join(&copy.order.1);
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&file).expect("open"))
        .read_to_string(&mut text)
        .expect("gunzip");
    let spread = copy.text.replace(",\"", ",\n    \"");
    assert_ne!(spread, copy.text);
    let text = text.replacen(&copy.text, &spread, 1);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, text.as_bytes()).expect("gzip");
    std::fs::write(&file, gz.finish().expect("gzip")).expect("write");
    w.ingest(&trail, &[]);
    let out = w.path().join("b");
    let cfg = config();
    w.run_code(
        &["--config", &cfg, "evidence", ENTRY_TWICE, "--out", s(&out)],
        0,
    );
    let m: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("m")).expect("m");
    assert_eq!(m["events"]["compacted"], serde_json::json!([id]));
    // Compacting the multi-line copy gives back the single-line original, byte for byte.
    let got = std::fs::read_to_string(out.join("events.jsonl")).expect("events");
    let (want, _, _) = expected_lines(&src, &[sess]);
    assert!(got == want, "events.jsonl differs");
    w.run_code(&["verify", s(&out)], 0);
}

// ---- KMS signing, against moto on 127.0.0.1 ---------------------------------------------------
// A session's manifest fits in the 4 KiB kms:Sign takes as RAW (the SQL is in queries.json), and
// that is the path tested end to end against moto. Longer manifests (a period of many sessions
// with compacted records) are sent as their SHA-256 (DIGEST), which real KMS signs the same way;
// moto 5.2 does not implement DIGEST (it signs the digest as if it were the message), so that
// path is not exercised here.

mod kms {
    use std::path::Path;
    use std::process::Output;

    use super::super::s3util::{Fault, Rule, S3Env};
    use super::super::util::Workdir;
    use super::{DUP_AND_LATE, config, lake, s, verify};
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};

    /// moto with an ECC_NIST_P256 signing key; returns the key's ARN.
    fn env() -> (S3Env, String) {
        let env = S3Env::start();
        let arn = env.rt.block_on(async {
            env.kms
                .create_key()
                .key_spec(KeySpec::EccNistP256)
                .key_usage(KeyUsageType::SignVerify)
                .send()
                .await
                .expect("CreateKey")
                .key_metadata()
                .and_then(|m| m.arn())
                .expect("ARN")
                .to_string()
        });
        (env, arn)
    }

    /// `trailglass --config SAMPLE ARGS` on the shared lake, through the proxy to moto (the S3
    /// tests' runner: it also checks that no secret is printed); requires `code`.
    fn tg(env: &S3Env, args: &[&str], code: i32) -> Output {
        let cfg = config();
        let mut all = vec!["--config", cfg.as_str()];
        all.extend_from_slice(args);
        let out = super::super::s3::tg(env, &lake().lake(), &all);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn no_partial(dir: &Path) {
        let left: Vec<String> = std::fs::read_dir(dir)
            .expect("ls")
            .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".partial-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn kms_signed_bundle_verifies_offline_and_with_openssl() {
        let (env, arn) = env();
        let w = Workdir::new();
        let out = w.path().join("signed");
        let sign = format!("kms:{arn}");
        let args = [
            "evidence",
            DUP_AND_LATE,
            "--out",
            s(&out),
            "--sign",
            &sign,
            "--created",
            "2026-03-04T05:06:07Z",
        ];
        tg(&env, &args, 0);
        let manifest = std::fs::read(out.join("manifest.json")).expect("manifest");
        assert!(
            manifest.len() <= 4096,
            "the manifest ({} bytes) no longer fits kms:Sign's RAW limit",
            manifest.len()
        );
        let m: serde_json::Value = serde_json::from_slice(&manifest).expect("manifest JSON");
        assert_eq!(m["signer"]["algorithm"], "ecdsa-p256-sha256");
        // The key KMS reports, fetched independently of trailglass, is the bundle's key.
        let der = env.rt.block_on(async {
            env.kms
                .get_public_key()
                .key_id(&arn)
                .send()
                .await
                .expect("GetPublicKey")
                .public_key()
                .expect("key")
                .as_ref()
                .to_vec()
        });
        let pem = w.path().join("kms.pub");
        std::fs::write(&pem, crate::evidence::sign::pem_encode("PUBLIC KEY", &der)).expect("write");
        assert_eq!(
            std::fs::read_to_string(out.join("manifest.pub")).expect("pub"),
            std::fs::read_to_string(&pem).expect("pem")
        );
        assert_eq!(
            m["signer"]["public_key_sha256"].as_str(),
            Some(crate::evidence::manifest::sha256_hex(&der).as_str())
        );
        verify(&out, &["--public-key", s(&pem)], 0);
        // VERIFY.txt's script (openssl dgst -verify) accepts it, and both reject a manifest
        // changed after signing.
        super::assert_recipe_passes(&out);
        super::edited_manifest_is_rejected(&out, &w.path().join("tampered"));
    }

    #[test]
    fn kms_refusals_exit_3_naming_key_and_permission_and_leave_no_bundle() {
        let (env, arn) = env();
        let w = Workdir::new();
        let sign = format!("kms:{arn}");
        // kms:Sign denied (the last call, after every file is written).
        env.proxy.add(Rule::kms(
            "Sign",
            Fault::KmsError(
                400,
                "AccessDeniedException",
                "User is not authorized to perform: kms:Sign".into(),
            ),
            1,
        ));
        let out = w.path().join("denied");
        let e = tg(
            &env,
            &["evidence", DUP_AND_LATE, "--out", s(&out), "--sign", &sign],
            3,
        );
        let e = String::from_utf8_lossy(&e.stderr).into_owned();
        assert!(
            e.contains("kms:Sign") && e.contains(&arn) && e.contains("denied"),
            "{e}"
        );
        assert!(!out.exists());
        no_partial(w.path());
        // With --force over an earlier bundle, the earlier bundle is left as it was.
        let earlier = w.path().join("earlier");
        super::tg(&["evidence", DUP_AND_LATE, "--out", s(&earlier)], 0);
        let before = std::fs::read(earlier.join("manifest.json")).expect("m");
        env.proxy.add(Rule::kms(
            "Sign",
            Fault::KmsError(400, "AccessDeniedException", "denied".into()),
            1,
        ));
        let args = [
            "evidence",
            DUP_AND_LATE,
            "--out",
            s(&earlier),
            "--force",
            "--sign",
            &sign,
        ];
        tg(&env, &args, 3);
        assert_eq!(
            std::fs::read(earlier.join("manifest.json")).expect("m"),
            before
        );
        verify(&earlier, &[], 0);
        no_partial(w.path());
        // A disabled key is refused before anything is written.
        env.rt.block_on(async {
            env.kms
                .disable_key()
                .key_id(arn.rsplit('/').next().unwrap_or_default())
                .send()
                .await
                .expect("DisableKey")
        });
        let out = w.path().join("disabled");
        let e = tg(
            &env,
            &["evidence", DUP_AND_LATE, "--out", s(&out), "--sign", &sign],
            3,
        );
        let e = String::from_utf8_lossy(&e.stderr).into_owned();
        assert!(
            e.contains("disabled") && e.contains(&arn) && e.contains("kms:Sign"),
            "{e}"
        );
        assert!(!out.exists());
        no_partial(w.path());
    }

    /// moto, a work directory, and `kms:ARN` of moto's symmetric key.
    fn encrypting() -> (S3Env, Workdir, String) {
        let (env, _) = env();
        let key = format!("kms:{}", env.key_arn);
        (env, Workdir::new(), key)
    }

    #[test]
    fn encrypted_bundle_round_trips_and_verifies_through_kms() {
        let (env, w, key) = encrypting();
        let enc = w.path().join("case.zip.enc");
        let created = "2026-03-04T00:00:00Z";
        let args = [
            "evidence",
            DUP_AND_LATE,
            "--out",
            s(&enc),
            "--created",
            created,
        ];
        let mut with_key = args.to_vec();
        with_key.extend(["--encrypt", &key]);
        tg(&env, &with_key, 0);
        let bytes = std::fs::read(&enc).expect("encrypted bundle");
        assert!(bytes.starts_with(crate::evidence::crypt::MAGIC));
        for plain in [DUP_AND_LATE.as_bytes(), b"eventVersion", b"manifest.json"] {
            assert!(
                !bytes.windows(plain.len()).any(|w| w == plain),
                "plaintext in the file"
            );
        }
        let o = tg(&env, &["verify", s(&enc)], 0);
        assert!(String::from_utf8_lossy(&o.stdout).contains("valid"));
        // Decrypted: byte for byte the zip the same arguments give without --encrypt.
        let plain = w.path().join("plain.zip");
        super::tg(
            &[
                "evidence",
                DUP_AND_LATE,
                "--out",
                s(&plain),
                "--created",
                created,
            ],
            0,
        );
        let back = w.path().join("back.zip");
        tg(&env, &["decrypt", s(&enc), "--out", s(&back)], 0);
        assert!(std::fs::read(&back).expect("back") == std::fs::read(&plain).expect("plain"));
        let dir = w.path().join("back-dir");
        tg(&env, &["decrypt", s(&enc), "--out", s(&dir)], 0);
        verify(&dir, &[], 0);
        // A changed byte of the ciphertext: verify and decrypt exit 1, and write nothing.
        let mut bad = bytes.clone();
        let at = bad.len() - 100;
        bad[at] ^= 1;
        let bad_path = w.path().join("bad.zip.enc");
        std::fs::write(&bad_path, &bad).expect("write");
        let e = tg(&env, &["verify", s(&bad_path)], 1);
        assert!(String::from_utf8_lossy(&e.stderr).contains("INVALID"));
        let never = w.path().join("never.zip");
        tg(&env, &["decrypt", s(&bad_path), "--out", s(&never)], 1);
        assert!(!never.exists());
        no_partial(w.path());
    }

    #[test]
    fn encryption_refusals_exit_3_and_write_nothing() {
        let (env, w, key) = encrypting();
        env.proxy.add(Rule::kms(
            "GenerateDataKey",
            Fault::KmsError(400, "AccessDeniedException", "not authorized".into()),
            1,
        ));
        let out = w.path().join("x.zip.enc");
        let args = [
            "evidence",
            DUP_AND_LATE,
            "--out",
            s(&out),
            "--encrypt",
            &key,
        ];
        let e = tg(&env, &args, 3);
        let e = String::from_utf8_lossy(&e.stderr).into_owned();
        assert!(
            e.contains("kms:GenerateDataKey") && e.contains(&env.key_arn),
            "{e}"
        );
        assert!(!out.exists());
        // Decrypting needs kms:Decrypt: denied, it exits 3 naming it.
        tg(&env, &args, 0);
        env.proxy.add(Rule::kms(
            "Decrypt",
            Fault::KmsError(400, "AccessDeniedException", "not authorized".into()),
            1,
        ));
        let back = w.path().join("back.zip");
        let e = tg(&env, &["decrypt", s(&out), "--out", s(&back)], 3);
        assert!(String::from_utf8_lossy(&e.stderr).contains("kms:Decrypt"));
        assert!(!back.exists());
        no_partial(w.path());
    }
}

#[test]
fn timeline_html_opens_in_headless_chromium_without_console_errors() {
    let w = Workdir::new();
    let b = bundle(w.path(), DUP_AND_LATE, &[]);
    let page = format!("file://{}", b.join("timeline.html").display());
    let dom = dom_without_console_output(&w.path().join("profile"), &page);
    let csv = std::fs::read_to_string(b.join("timeline.csv")).expect("timeline.csv");
    let actions: Vec<&str> = csv
        .lines()
        .filter(|l| l.contains(",action,"))
        .map(|l| l.rsplit(',').next().expect("eventid"))
        .collect();
    assert_eq!(actions.len(), 13);
    for eid in actions {
        assert!(
            dom.contains(&format!("data-eventid=\"{eid}\"")),
            "{eid} not rendered"
        );
    }
    assert!(
        dom.contains("id=\"ttl\""),
        "no TTL line in the rendered page"
    );
    // It also renders to pixels (what scripts/timeline_screenshot.sh saves for the README).
    screenshot(w.path(), &page);
}

#[test]
fn as_of_pins_the_lake_version_and_is_recorded() {
    let w = Workdir::new();
    let now = bundle(w.path(), ENTRY_TWICE, &[]);
    let m: Value =
        serde_json::from_slice(&std::fs::read(now.join("manifest.json")).expect("m")).expect("m");
    let v = m["lake"]["table_versions"]["events"]
        .as_i64()
        .expect("events version");
    assert_eq!(m["lake"]["as_of"], Value::Null);
    let pinned = w.path().join("pinned");
    let v_text = v.to_string();
    tg(
        &[
            "evidence",
            ENTRY_TWICE,
            "--out",
            s(&pinned),
            "--as-of",
            &v_text,
        ],
        0,
    );
    let p: Value = serde_json::from_slice(&std::fs::read(pinned.join("manifest.json")).expect("m"))
        .expect("m");
    assert_eq!(p["lake"]["as_of"], v);
    assert_eq!(p["lake"]["table_versions"]["events"], v);
    for f in [
        "events.jsonl",
        "session.json",
        "findings.json",
        "timeline.csv",
    ] {
        assert!(
            std::fs::read(now.join(f)).expect("a") == std::fs::read(pinned.join(f)).expect("b"),
            "{f} differs under --as-of {v}"
        );
    }
}

// ---- digest validation carried into sources.json ------------------------------------------

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).expect("gunzip");
    out
}

fn gzip(text: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text).expect("gzip");
    e.finish().expect("gzip")
}

/// A copy of the sample trail whose digests are chained and signed as CloudTrail does, with an
/// RSA key made here: the copy's folder is named after the digests' bucket, each digest's
/// `previousDigest*` fields name the previous digest of its account and region, and its
/// signature (RSASSA-PKCS1-v1_5, SHA-256, over the documented signing string) is beside it.
/// Returns the copy's root, the `list-public-keys` file and the key's fingerprint.
fn signed_sample(dir: &Path) -> (PathBuf, PathBuf, String) {
    let digests: Vec<PathBuf> = super::util::walk(&sample())
        .into_iter()
        .filter(|p| s(p).contains("/CloudTrail-Digest/") && s(p).ends_with(".json.gz"))
        .collect();
    assert!(!digests.is_empty(), "the sample trail has digests");
    let first: Value =
        serde_json::from_slice(&gunzip(&std::fs::read(&digests[0]).expect("digest"))).expect("j");
    let bucket = first["digestS3Bucket"]
        .as_str()
        .expect("bucket")
        .to_string();
    let root = dir.join(&bucket);
    copy(&sample(), &root);
    let der = dir.join("digest-key.der");
    openssl_rsa_key(&der, "2048", "DER");
    let pair = ring::signature::RsaKeyPair::from_der(&std::fs::read(&der).expect("key"))
        .expect("an RSA key");
    let public = ring::signature::KeyPair::public_key(&pair)
        .as_ref()
        .to_vec();
    let fp = crate::integrity::keys::fingerprint(&public);
    // By account and region (the folders above the date), each chain in time order.
    let mut chains: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &digests {
        let key = s(p.strip_prefix(sample()).expect("inside")).to_string();
        let chain = key.split("/CloudTrail-Digest/").collect::<Vec<_>>();
        let region = chain[1].split('/').next().expect("region");
        chains
            .entry(format!("{}/{region}", chain[0]))
            .or_default()
            .push(key);
    }
    for keys in chains.values_mut() {
        keys.sort();
        let mut prev: Option<(String, String, String)> = None;
        for key in keys.iter() {
            let path = root.join(key);
            let mut d: Value =
                serde_json::from_slice(&gunzip(&std::fs::read(&path).expect("d"))).expect("d");
            d["digestPublicKeyFingerprint"] = fp.clone().into();
            d["previousDigestS3Bucket"] = prev.as_ref().map(|_| bucket.clone()).into();
            d["previousDigestS3Object"] = prev.as_ref().map(|p| p.0.clone()).into();
            d["previousDigestHashValue"] = prev.as_ref().map(|p| p.1.clone()).into();
            d["previousDigestHashAlgorithm"] = prev.as_ref().map(|_| "SHA-256").into();
            d["previousDigestSignature"] = prev.as_ref().map(|p| p.2.clone()).into();
            let body = d.to_string();
            let signed = format!(
                "{}\n{bucket}/{key}\n{}\n{}",
                d["digestEndTime"].as_str().expect("end"),
                crate::integrity::sha256_hex(body.as_bytes()),
                prev.as_ref().map_or("null", |p| p.2.as_str())
            );
            let mut sig = vec![0; pair.public().modulus_len()];
            pair.sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signed.as_bytes(),
                &mut sig,
            )
            .expect("sign");
            let sig = hex::encode(sig);
            std::fs::write(&path, gzip(body.as_bytes())).expect("write");
            let sidecar =
                serde_json::json!({"signature": sig, "signature-algorithm": "SHA256withRSA"});
            std::fs::write(
                root.join(format!("{key}.metadata.json")),
                sidecar.to_string(),
            )
            .expect("write");
            prev = Some((
                key.clone(),
                crate::integrity::sha256_hex(body.as_bytes()),
                sig,
            ));
        }
    }
    let keys = dir.join("public-keys.json");
    let entry = serde_json::json!({
        "ValidityStartTime": 1772323200.0, // 2026-03-01
        "ValidityEndTime": 1775001600.0,   // 2026-04-01
        "Value": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &public),
        "Fingerprint": fp,
    });
    std::fs::write(
        &keys,
        serde_json::json!({"PublicKeyList": [entry]}).to_string(),
    )
    .expect("write");
    (root, keys, fp)
}

#[test]
fn sources_carry_digest_validation_and_the_keys_that_signed() {
    let w = Workdir::new();
    let (root, keys, fp) = signed_sample(w.path());
    w.ingest(&root, &[]);
    let cfg = config();
    let out = |name: &str| w.path().join(name);
    let args = |o: &Path| {
        vec![
            "--config".to_string(),
            cfg.clone(),
            "evidence".into(),
            DUP_AND_LATE.into(),
            "--out".into(),
            s(o).into(),
            "--public-keys".into(),
            s(&keys).into(),
        ]
    };
    let run = |o: &Path| {
        let a = args(o);
        w.run_code(&a.iter().map(String::as_str).collect::<Vec<_>>(), 0);
        let v: Value =
            serde_json::from_slice(&std::fs::read(o.join("sources.json")).expect("s")).expect("s");
        v.as_array().expect("array").clone()
    };
    // Before validate-logs nothing is claimed, and no key is included.
    let before = run(&out("before"));
    assert!(!before.is_empty());
    assert!(
        before.iter().all(|o| o["digest_status"] == "unknown"),
        "{before:?}"
    );
    assert!(!out("before").join("digest-public-keys.json").exists());
    let v = w.run_code(&["validate-logs", "--public-keys", s(&keys)], 0);
    assert!(
        String::from_utf8_lossy(&v.stdout).contains("result: valid"),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    let after = run(&out("after"));
    for o in &after {
        assert_eq!(o["digest_status"], "valid", "{o}");
        assert_eq!(o["validation_run"], 1, "{o}");
        let d = o["digests"].as_array().expect("digests");
        assert_eq!(d.len(), 1, "{o}");
        assert_eq!(d[0]["status"], "valid", "{o}");
        assert_eq!(d[0]["public_key_fingerprint"], fp.as_str(), "{o}");
        let key = d[0]["key"].as_str().expect("digest key");
        assert!(key.contains("/CloudTrail-Digest/"), "{o}");
        // The digest named is one that lists the file.
        let digest: Value =
            serde_json::from_slice(&gunzip(&std::fs::read(root.join(key)).expect("d"))).expect("d");
        assert!(
            digest["logFiles"]
                .as_array()
                .expect("logFiles")
                .iter()
                .any(|f| f["s3Object"] == o["key"]),
            "{o}"
        );
    }
    // The key that signed those digests is in the bundle, in the form validate-logs reads, and
    // the bundle verifies with it listed.
    let included: Value = serde_json::from_slice(
        &std::fs::read(out("after").join("digest-public-keys.json")).expect("keys"),
    )
    .expect("keys JSON");
    let list = included["PublicKeyList"].as_array().expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["Fingerprint"], fp.as_str());
    let set = crate::integrity::keys::KeySet::parse(&included.to_string()).expect("parses");
    assert!(set.bad.is_empty() && set.keys.len() == 1);
    w.run_code(&["verify", s(&out("after"))], 0);
}
