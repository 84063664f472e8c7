//! The S3 source against moto's S3/KMS server on loopback, through the real SDK clients, with a
//! fault-injecting proxy in between (issue: ingest straight from the KMS-encrypted bucket).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::s3util::{EXPIRING_KEY_PREFIX, Fault, Rule, S3Env, fake_signature};
use super::util::{self, Workdir};

/// Every run uses this secret key: it must never appear in any output.
const SECRET: &str = "tg-secret-8c1f-do-not-print";

pub(super) fn tg(env: &S3Env, lake: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(util::bin());
    c.arg("--lake").arg(lake).args(args).env_remove("RUST_LOG");
    env.env(&mut c, SECRET);
    let out = c.output().expect("run trailglass");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains(SECRET),
        "the secret access key appeared in the output of {args:?}"
    );
    out
}

fn code(out: &Output, want: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(want),
        "{what}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ingest(env: &S3Env, lake: &Path, source: &str, extra: &[&str]) -> Value {
    let mut args = vec!["ingest", source, "--json", "-q"];
    args.extend_from_slice(extra);
    let out = tg(env, lake, &args);
    code(&out, 0, &format!("ingest {source} {extra:?}"));
    serde_json::from_slice(&out.stdout).expect("summary JSON")
}

/// A query's answer as CSV text (the lake may be local or on S3).
fn sql(env: &S3Env, lake: &Path, q: &str) -> String {
    let out = tg(env, lake, &["sql", q, "--format", "csv"]);
    code(&out, 0, q);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn count(env: &S3Env, lake: &Path, q: &str) -> i64 {
    sql(env, lake, q)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count from {q}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A generated organization trail of more than 1,000 objects, laid out as `DIR/BUCKET/AWSLogs/…`.
fn generated_trail(w: &Workdir, bucket: &str) -> PathBuf {
    let out = w.path().join("gen");
    let o = Command::new(util::bin())
        .args(["generate", "--out"])
        .arg(&out)
        .args([
            "--seed",
            "20261126",
            "--accounts",
            "3",
            "--regions",
            "1",
            "--days",
            "5",
            "--records",
            // The fewest records that still put > 1,000 keys in one region folder (one listing page).
            "22000",
            "--sessions",
            "6",
            "--shape",
            "small",
        ])
        .output()
        .expect("generate");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = w.path().join(bucket);
    std::fs::rename(out.join("trail"), &dir).expect("move the trail");
    // A second region, so that a region filter has something to leave out.
    for k in log_keys(&dir).iter().step_by(500) {
        let to = dir.join(k.replace("/us-east-1/", "/eu-west-1/"));
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(dir.join(k), to).expect("copy");
    }
    dir
}

fn log_keys(dir: &Path) -> Vec<String> {
    util::walk(dir)
        .iter()
        .map(|p| {
            p.strip_prefix(dir)
                .expect("inside")
                .to_string_lossy()
                .into_owned()
        })
        .filter(|k| k.contains("/CloudTrail/"))
        .collect()
}

/// A query parameter of a logged request line ("" when absent).
fn param(line: &str, name: &str) -> String {
    let query = line.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
        .to_string()
}

/// `ListObjectsV2` prefixes (and start-after) that the proxy saw.
fn listings(env: &S3Env) -> Vec<String> {
    env.proxy
        .log()
        .iter()
        .filter(|l| l.starts_with("GET ") && l.contains("list-type=2"))
        .map(|l| l.replace("%2F", "/").replace("%2f", "/"))
        .collect()
}

#[test]
fn s3_ingest_is_exact_paginated_incremental_and_filtered() {
    let env = S3Env::start();
    let w = Workdir::new();
    let bucket = "org-trail-bucket";
    let dir = generated_trail(&w, bucket);
    let logs = log_keys(&dir);
    assert!(
        logs.len() > 1000,
        "the trail should paginate: {} objects",
        logs.len()
    );
    std::fs::write(dir.join("AWSLogs/notes.txt"), "not a trail file").expect("foreign");
    env.bucket(bucket);
    env.upload_dir(bucket, &dir);

    let lake = w.path().join("s3-lake");
    let s = ingest(&env, &lake, &format!("s3://{bucket}"), &[]);
    assert_eq!(s["objects_ingested"], logs.len(), "{s:#}");
    assert_eq!(s["rejected_objects"], 0);
    assert_eq!(s["rejected_records"], 0);
    assert_eq!(s["kms_key"], env.key_arn.as_str());
    assert!(s["failed"].as_array().is_some_and(|f| f.is_empty()));
    assert!(
        listings(&env)
            .iter()
            .any(|l| l.contains("continuation-token")),
        "a region folder of > 1,000 keys must have been listed in pages"
    );

    // Exactly the uploaded records: the same as ingesting the objects from a local copy.
    let local = w.path().join("local-lake");
    let l = ingest(&env, &local, dir.to_str().expect("utf-8"), &[]);
    assert_eq!(s["records"], l["records"]);
    let q = "SELECT count(*) AS n, count(DISTINCT _source || ':' || CAST(_record AS VARCHAR)) AS d FROM events";
    assert_eq!(sql(&env, &lake, q), sql(&env, &local, q));
    assert_eq!(
        count(&env, &lake, "SELECT count(*) FROM events"),
        l["records"].as_i64().expect("records")
    );

    // A re-run adds nothing, and downloads only the preflight's probe (one read proving
    // s3:GetObject and kms:Decrypt): the listing's ETags show every object known.
    env.proxy.clear();
    let again = ingest(&env, &lake, &format!("s3://{bucket}"), &[]);
    assert_eq!(again["objects_ingested"], 0, "{again:#}");
    assert_eq!(again["records"], 0);
    assert!(again["objects_already_ingested"].as_u64().expect("n") > 0);
    let reads: Vec<String> = env
        .proxy
        .log()
        .into_iter()
        .filter(|l| l.starts_with("GET ") && l.contains("/CloudTrail"))
        .filter(|l| !l.contains("list-type"))
        .collect();
    assert!(reads.len() <= 1, "a re-run read known objects: {reads:?}");

    // Late deliveries: an object added to the newest day is found by the next scheduled run; one
    // added to a day before the look-back window only by --rescan.
    let newest = logs.iter().max().expect("a log key").clone();
    let late_key = newest.replace(".json.gz", "_late.json.gz");
    let body = std::fs::read(dir.join(&newest)).expect("read");
    env.put_blocking(bucket, &late_key, body.clone());
    let parts: Vec<&str> = newest.split('/').collect();
    let n = parts.len();
    let old_day = format!("{}/01/01", parts[n - 4].parse::<i32>().expect("year") - 1);
    let old_key = format!("{}/{old_day}/old.json.gz", parts[..n - 4].join("/"));
    env.put_blocking(bucket, &old_key, body.clone());
    // The local copy gets them too, for the comparison below.
    for k in [&late_key, &old_key] {
        let p = dir.join(k);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, &body).expect("write");
    }
    let next = ingest(&env, &lake, &format!("s3://{bucket}"), &[]);
    assert_eq!(next["objects_ingested"], 1, "{next:#}");
    assert_eq!(
        count(
            &env,
            &lake,
            &format!("SELECT count(*) FROM objects WHERE key = '{late_key}'")
        ),
        1
    );
    assert_eq!(
        count(
            &env,
            &lake,
            &format!("SELECT count(*) FROM objects WHERE key = '{old_key}'")
        ),
        0
    );
    let rescan = ingest(&env, &lake, &format!("s3://{bucket}"), &["--rescan"]);
    assert_eq!(rescan["objects_ingested"], 1, "{rescan:#}");
    assert_eq!(
        count(
            &env,
            &lake,
            &format!("SELECT count(*) FROM objects WHERE key = '{old_key}'")
        ),
        1
    );

    // Filters list only the matching prefixes.
    let account = parts[n - 7];
    let region = parts[n - 5];
    let day = format!("{}-{}-{}", parts[n - 4], parts[n - 3], parts[n - 2]);
    env.proxy.clear();
    let flake = w.path().join("filtered-lake");
    let filters = [
        "--accounts",
        account,
        "--regions",
        region,
        "--from",
        &day,
        "--to",
        &day,
    ];
    let f = ingest(&env, &flake, &format!("s3://{bucket}"), &filters);
    let lf = ingest(
        &env,
        &w.path().join("filtered-local"),
        dir.to_str().expect("utf-8"),
        &filters,
    );
    assert_eq!(f["records"], lf["records"]);
    assert!(f["objects_ingested"].as_u64().expect("n") > 0);
    let seen = listings(&env);
    let accounts: Vec<&str> = logs.iter().filter_map(|k| k.split('/').nth(2)).collect();
    for l in &seen {
        for other in accounts.iter().filter(|a| **a != account) {
            assert!(!l.contains(other), "listed another account's prefix: {l}");
        }
        let prefix = param(l, "prefix");
        if let Some((_, below)) = prefix.split_once("/CloudTrail/")
            && !below.is_empty()
        {
            assert!(
                below.starts_with(&format!("{region}/")),
                "listed another region: {l}"
            );
            assert!(
                !param(l, "start-after").is_empty(),
                "a dated run lists from its first day: {l}"
            );
        }
    }
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("/{account}/CloudTrail/{region}/")))
    );
}

#[test]
fn s3_faults_end_with_exact_rows_or_a_clean_stop() {
    let env = S3Env::start();
    let w = Workdir::new();
    let bucket = "fault-bucket";
    env.bucket(bucket);
    env.upload_dir(bucket, &util::sample());
    let logs = log_keys(&util::sample());
    let local = w.path().join("local-lake");
    let expected = ingest(&env, &local, util::sample().to_str().expect("utf-8"), &[])["records"]
        .as_i64()
        .expect("records");

    let file = |i: usize| {
        logs[i * 97 % logs.len()]
            .rsplit('/')
            .next()
            .expect("name")
            .to_string()
    };
    let faults = [
        Fault::SlowDown,
        Fault::SlowDown,
        Fault::ResetMidBody,
        Fault::TruncatedBody,
        Fault::ShortBody,
        Fault::SlowBody,
    ];
    for (i, fault) in faults.iter().enumerate() {
        // A slow body succeeds at once; every other fault is served twice, then the read works.
        let times = if matches!(fault, Fault::SlowBody) {
            1
        } else {
            2
        };
        env.proxy.add(Rule::object(file(i), fault.clone(), times));
    }
    env.proxy.add(Rule::query(
        format!("/{bucket}"),
        "list-type",
        Fault::SlowDown,
        2,
    ));
    let lake = w.path().join("lake");
    let s = ingest(&env, &lake, &format!("s3://{bucket}"), &[]);
    assert_eq!(
        env.proxy.faults_served(),
        faults.len() * 2 - 1 + 2,
        "every fault was served"
    );
    assert_eq!(s["records"].as_i64(), Some(expected), "{s:#}");
    assert_eq!(
        s["rejected_objects"], 0,
        "a cut body must never reach decode: {s:#}"
    );
    let q = "SELECT count(*) AS n, count(DISTINCT _source || ':' || CAST(_record AS VARCHAR)) AS d FROM events";
    assert_eq!(sql(&env, &lake, q), format!("n,d\n{expected},{expected}\n"));

    // A key that keeps failing: the run commits the rest, names it and exits 3; the next run
    // (fault gone) completes the lake with no duplicate.
    env.proxy.clear();
    let stuck = file(7);
    env.proxy
        .add(Rule::object(stuck.clone(), Fault::ResetMidBody, usize::MAX));
    let lake2 = w.path().join("lake2");
    let out = tg(
        &env,
        &lake2,
        &["ingest", &format!("s3://{bucket}"), "--json", "-q"],
    );
    code(&out, 3, "a key that keeps failing");
    assert!(stderr(&out).contains(&stuck), "{}", stderr(&out));
    assert_eq!(
        count(
            &env,
            &lake2,
            &format!("SELECT count(*) FROM objects WHERE key LIKE '%{stuck}'")
        ),
        0
    );
    let partial = count(&env, &lake2, "SELECT count(*) FROM events");
    assert!(partial < expected && partial > 0);
    env.proxy.clear();
    let s2 = ingest(&env, &lake2, &format!("s3://{bucket}"), &[]);
    assert_eq!(s2["objects_ingested"], 1, "{s2:#}");
    assert_eq!(
        sql(&env, &lake2, q),
        format!("n,d\n{expected},{expected}\n")
    );
}

#[test]
fn s3_access_errors_stop_before_any_write() {
    let env = S3Env::start();
    let w = Workdir::new();
    let bucket = "guarded-bucket";
    env.bucket(bucket);
    env.upload_dir(bucket, &util::sample());
    let src = format!("s3://{bucket}");

    let refused = |lake: &str, args: &[&str], needles: &[&str]| {
        let lake = w.path().join(lake);
        let out = tg(&env, &lake, args);
        code(&out, 3, &format!("{args:?}"));
        for n in needles {
            assert!(
                stderr(&out).contains(n),
                "expected {n:?} in: {}",
                stderr(&out)
            );
        }
        assert!(!lake.exists(), "nothing may be written: {}", lake.display());
    };

    refused(
        "missing",
        &["ingest", "s3://no-such-trail-bucket"],
        &["no-such-trail-bucket", "does not exist"],
    );

    env.proxy.add(Rule::query(
        format!("/{bucket}"),
        "list-type",
        Fault::Error(403, "AccessDenied", "Access Denied".into()),
        usize::MAX,
    ));
    refused(
        "denied-list",
        &["ingest", &src, "-vvvv"],
        &[bucket, "s3:ListBucket"],
    );
    env.proxy.clear();

    env.proxy.add(Rule::object(
        format!("/{bucket}/AWSLogs"),
        Fault::Error(403, "AccessDenied", "Access Denied".into()),
        usize::MAX,
    ));
    refused("denied-get", &["ingest", &src], &[bucket, "s3:GetObject"]);
    env.proxy.clear();

    let arn = env.key_arn.clone();
    env.proxy.add(Rule::object(
        format!("/{bucket}/AWSLogs"),
        Fault::Error(400, "KMS.DisabledException", format!("{arn} is disabled.")),
        usize::MAX,
    ));
    refused("kms-unusable", &["ingest", &src], &[&arn, "kms:Decrypt"]);
    env.proxy.clear();

    // A denied GetBucketEncryption is only a warning.
    env.proxy.add(Rule::query(
        format!("/{bucket}"),
        "encryption",
        Fault::Error(403, "AccessDenied", "Access Denied".into()),
        usize::MAX,
    ));
    let lake = w.path().join("warned");
    let out = tg(&env, &lake, &["ingest", &src, "--json"]);
    code(&out, 0, "denied GetBucketEncryption");
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
    assert!(count(&env, &lake, "SELECT count(*) FROM events") > 0);
    env.proxy.clear();

    // moto does not tie S3 reads to the key's state; the preflight's DescribeKey does.
    env.disable_key();
    refused("kms-disabled", &["ingest", &src], &[&arn, "Disabled"]);
}

#[test]
fn s3_mirror_keeps_signatures_and_gives_the_same_lake() {
    let env = S3Env::start();
    let w = Workdir::new();
    let bucket = "mirror-bucket";
    env.bucket(bucket);
    env.upload_dir(bucket, &util::sample());
    let copies = w.path().join("copies");
    let mirror = || {
        let src = format!("s3://{bucket}");
        let out = tg(
            &env,
            &w.lake(),
            &["mirror", &src, copies.to_str().expect("utf-8"), "--json"],
        );
        code(&out, 0, "mirror");
        serde_json::from_slice::<Value>(&out.stdout).expect("mirror JSON")
    };
    let m = mirror();
    let copy = copies.join(bucket);
    let logs = log_keys(&util::sample());
    for k in &logs {
        assert_eq!(
            std::fs::read(copy.join(k)).expect("mirrored file"),
            std::fs::read(util::sample().join(k)).expect("sample file"),
            "{k}"
        );
    }
    let digests: Vec<String> = util::walk(&util::sample())
        .iter()
        .map(|p| {
            p.strip_prefix(util::sample())
                .expect("inside")
                .to_string_lossy()
                .into_owned()
        })
        .filter(|k| k.contains("/CloudTrail-Digest/"))
        .collect();
    assert!(!digests.is_empty());
    assert_eq!(m["digest_signatures"], digests.len());
    for d in &digests {
        let side: Value = serde_json::from_slice(
            &std::fs::read(copy.join(format!("{d}.metadata.json"))).expect("sidecar"),
        )
        .expect("sidecar JSON");
        assert_eq!(side["signature"], fake_signature(d).as_str());
        assert_eq!(side["signature-algorithm"], "SHA256withRSA");
    }
    let again = mirror();
    assert_eq!(again["written"], 0);
    assert_eq!(again["already_present"], m["written"]);

    // The S3 path and the local copy give the same lake (etags aside: S3's vs a content hash).
    let from_s3 = w.path().join("from-s3");
    let from_dir = w.path().join("from-dir");
    ingest(&env, &from_s3, &format!("s3://{bucket}"), &[]);
    ingest(&env, &from_dir, copy.to_str().expect("utf-8"), &[]);
    for q in [
        "SELECT _source, _record, eventid, dt, _raw FROM events ORDER BY _source, _record",
        "SELECT bucket, key, size, sha256, records, rejects FROM objects ORDER BY key",
        "SELECT key, record, reason FROM rejects ORDER BY key, record",
        "SELECT bucket, key, account, region, body, signature, signature_algorithm FROM digests ORDER BY key",
    ] {
        let a = sql(&env, &from_s3, q);
        assert!(a.lines().count() > 1 || q.contains("rejects"), "{q}");
        assert!(
            a == sql(&env, &from_dir, q),
            "S3 and local lakes differ on {q}"
        );
    }
}

#[test]
fn s3_lake_is_kms_encrypted_and_exactly_once() {
    let env = S3Env::start();
    let w = Workdir::new();
    env.bucket("lake-bucket");
    // delta-rs's object_store writes go straight to moto (the proxy relays only what the source reads).
    env.direct.set(true);
    let lake = PathBuf::from("s3://lake-bucket/trailglass");
    // The lake's key is not the bucket's default key, so a file written without it shows.
    let lake_key = env.rt.block_on(async {
        let k = env.kms.create_key().send().await.expect("CreateKey");
        k.key_metadata()
            .and_then(|m| m.arn())
            .expect("key ARN")
            .to_string()
    });
    // A local copy short of one log: the second run, from a local directory and without
    // --lake-kms-key, writes that log's batch under the lake's key all the same.
    let sample = w.path().join("trail");
    util::copy_tree(&util::sample(), &sample);
    let held_back = sample.join(&log_keys(&sample)[0]);
    let aside = w.path().join("held-back");
    std::fs::rename(&held_back, &aside).expect("hold a log back");
    // Small batches: several files per day, for `compact` below.
    let s = ingest(
        &env,
        &lake,
        sample.to_str().expect("utf-8"),
        &["--lake-kms-key", &lake_key, "--batch-size", "1"],
    );
    let first = s["records"].as_i64().expect("records");
    std::fs::rename(&aside, &held_back).expect("put it back");
    let again = ingest(&env, &lake, sample.to_str().expect("utf-8"), &[]);
    assert_eq!(again["objects_ingested"], 1, "{again:#}");
    let records = first + again["records"].as_i64().expect("records");
    assert!(records > 4000);
    assert_eq!(count(&env, &lake, "SELECT count(*) FROM events"), records);
    // compact works on a lake on S3 too, and changes no row.
    let rows =
        "SELECT _source, _record, eventid, dt, sha256(_raw) FROM events ORDER BY _source, _record";
    let before = sql(&env, &lake, rows);
    let out = tg(&env, &lake, &["compact"]);
    code(&out, 0, "compact");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("compacted"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(sql(&env, &lake, rows) == before, "compact changed the rows");
    // vacuum deletes what compact replaced and logs its own commits, under the lake's key too.
    let out = tg(&env, &lake, &["vacuum", "--retain", "0d"]);
    code(&out, 0, "vacuum");
    assert!(sql(&env, &lake, rows) == before, "vacuum changed the rows");
    // Every object of the lake, data and log, those of both ingests, compact and vacuum, is
    // under the lake's key.
    let heads = env.rt.block_on(async {
        let mut keys = Vec::new();
        let mut pages = env
            .s3
            .list_objects_v2()
            .bucket("lake-bucket")
            .prefix("trailglass/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.expect("list the lake");
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .map(str::to_string),
            );
        }
        let mut heads = Vec::new();
        for key in &keys {
            let head = env
                .s3
                .head_object()
                .bucket("lake-bucket")
                .key(key)
                .send()
                .await
                .expect("HeadObject");
            heads.push((key.to_string(), head));
        }
        heads
    });
    assert!(
        heads
            .iter()
            .filter(|(k, _)| k.ends_with(".parquet"))
            .count()
            > 1,
        "ingest and compact files"
    );
    for (key, head) in heads {
        assert_eq!(
            head.server_side_encryption().map(|s| s.as_str()),
            Some("aws:kms"),
            "{key}"
        );
        let kid = head.ssekms_key_id().expect("a KMS key id");
        assert!(
            lake_key.ends_with(kid.rsplit('/').next().expect("id")),
            "{key}: {kid} vs the lake's {lake_key}"
        );
    }
    drop(w);
}

/// The lake holds exactly the sample's records: every (`_source`, `_record`, SHA-256 of `_raw`)
/// of a clean local run, no more, no less.
fn assert_sample_oracle(env: &S3Env, w: &Workdir, lake: &Path) {
    let local = w.path().join("oracle-lake");
    ingest(env, &local, util::sample().to_str().expect("utf-8"), &[]);
    let q = "SELECT _source, _record, sha256(_raw) FROM events ORDER BY _source, _record";
    assert!(sql(env, lake, q) == sql(env, &local, q), "the oracle");
}

/// Issue 17: a read that stalls ends at `--object-timeout`: the object is rejected `timeout`
/// and left out of `objects`, every other object is ingested, and the next run reads it.
#[test]
fn s3_a_stalled_read_is_rejected_at_the_object_timeout_and_the_run_goes_on() {
    let env = S3Env::start();
    let w = Workdir::new();
    let bucket = "stalling-bucket";
    env.bucket(bucket);
    env.upload_dir(bucket, &util::sample());
    let logs = log_keys(&util::sample());
    let stuck = logs[logs.len() / 2]
        .rsplit('/')
        .next()
        .expect("name")
        .to_string();
    env.proxy.add(Rule::object(
        stuck.clone(),
        Fault::Stall(std::time::Duration::from_secs(30)),
        1,
    ));
    let lake = w.path().join("lake");
    let src = format!("s3://{bucket}");
    let s = ingest(&env, &lake, &src, &["--object-timeout", "3"]);
    assert_eq!(env.proxy.faults_served(), 1);
    assert_eq!(s["rejected_objects"], 1, "{s:#}");
    assert_eq!(s["objects_ingested"], logs.len() - 1, "{s:#}");
    let rejects = sql(&env, &lake, "SELECT key, reason FROM rejects");
    assert_eq!(rejects.lines().count(), 2, "{rejects}");
    assert!(
        rejects.contains(&stuck) && rejects.contains(",timeout"),
        "{rejects}"
    );
    let listed = format!("SELECT count(*) FROM objects WHERE key LIKE '%{stuck}'");
    assert_eq!(count(&env, &lake, &listed), 0, "retried by the next run");

    let again = ingest(&env, &lake, &src, &[]);
    assert_eq!(again["objects_ingested"], 1, "{again:#}");
    assert_sample_oracle(&env, &w, &lake);
}

/// A small seeded generator (PCG-style LCG): fault schedules that are random but reproducible.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// GET requests of the object `key` that the proxy saw (listings excluded).
fn reads_of(env: &S3Env, key: &str) -> usize {
    env.proxy
        .log()
        .iter()
        .filter(|l| l.starts_with("GET ") && l.contains(key) && !l.contains("list-type"))
        .count()
}

/// R10: 503 SlowDown, 500 InternalError and 400 RequestTimeout on a seeded 30 % of the object
/// reads, each served one to three times. The lake equals a clean run's (the oracle), and no
/// object is requested more than its faults plus one, within the SDK's four attempts.
#[test]
fn r10_throttling_and_5xx_on_a_seeded_30_percent_of_reads() {
    let env = S3Env::start();
    let w = Workdir::new();
    let bucket = "flaky-bucket";
    env.bucket(bucket);
    env.upload_dir(bucket, &util::sample());
    let logs = log_keys(&util::sample());
    let mut rng = Seeded(20261204);
    let mut faulted = Vec::new();
    for k in &logs {
        if rng.next(10) >= 3 {
            continue;
        }
        let fault = match rng.next(3) {
            0 => Fault::SlowDown,
            1 => Fault::Error(500, "InternalError", "We encountered an internal error.".into()),
            _ => Fault::Error(
                400,
                "RequestTimeout",
                "Your socket connection to the server was not read from or written to within the timeout period.".into(),
            ),
        };
        let times = 1 + rng.next(3);
        env.proxy.add(Rule::object(k.clone(), fault, times));
        faulted.push((k.clone(), times));
    }
    assert!(
        faulted.len() * 5 > logs.len(),
        "about 30 % of {} keys",
        logs.len()
    );
    let lake = w.path().join("lake");
    let s = ingest(&env, &lake, &format!("s3://{bucket}"), &[]);
    assert_eq!(
        env.proxy.faults_served(),
        faulted.iter().map(|(_, t)| t).sum::<usize>(),
        "every fault was served"
    );
    assert_eq!(s["rejected_objects"], 0, "{s:#}");
    for (k, times) in &faulted {
        let n = reads_of(&env, k);
        assert!(
            n <= times + 1 && n <= 4,
            "{k}: {n} requests for {times} faults"
        );
    }
    assert_sample_oracle(&env, &w, &lake);
}

/// Every read of `keys` answers `fault`, for good; returns the lake and source of a run.
fn fail_reads(
    env: &S3Env,
    w: &Workdir,
    bucket: &str,
    keys: &[String],
    fault: Fault,
) -> (PathBuf, String) {
    for k in keys {
        env.proxy
            .add(Rule::object(k.clone(), fault.clone(), usize::MAX));
    }
    (w.path().join("lake"), format!("s3://{bucket}"))
}

/// R13: kms:Decrypt denied for some keys mid-run (moto does not enforce KMS, so the proxy answers
/// as S3 does). Those keys are named with the permission, read once (a denial is not retried),
/// kept out of `objects`, the rest committed, exit 3; once the permission is fixed, the next run
/// ingests exactly those keys, and the lake equals the oracle.
#[test]
fn r13_kms_denied_for_some_keys_mid_run() {
    let env = S3Env::start();
    let w = Workdir::new();
    let bucket = "denied-bucket";
    env.bucket(bucket);
    env.upload_dir(bucket, &util::sample());
    let logs = log_keys(&util::sample());
    let denied: Vec<String> = logs
        .iter()
        .skip(3)
        .step_by(logs.len() / 4)
        .cloned()
        .collect();
    let why = "User: arn:aws:iam::123456789012:user/soc is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext because no identity-based policy allows the kms:Decrypt action";
    let (lake, src) = fail_reads(
        &env,
        &w,
        bucket,
        &denied,
        Fault::Error(403, "AccessDenied", why.into()),
    );
    let out = tg(&env, &lake, &["ingest", &src, "--json", "-q"]);
    code(&out, 3, "kms:Decrypt denied");
    for k in &denied {
        assert!(
            stderr(&out).contains(k.as_str()),
            "{k} named: {}",
            stderr(&out)
        );
        assert_eq!(reads_of(&env, k), 1, "{k}: a denial is not retried");
        let q = format!("SELECT count(*) FROM objects WHERE key = '{k}'");
        assert_eq!(count(&env, &lake, &q), 0, "{k} is left for the next run");
    }
    assert!(stderr(&out).contains("kms:Decrypt"), "{}", stderr(&out));
    let s: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(s["objects_ingested"], logs.len() - denied.len(), "{s:#}");

    env.proxy.clear();
    let again = ingest(&env, &lake, &src, &[]);
    assert_eq!(again["objects_ingested"], denied.len(), "{again:#}");
    assert_sample_oracle(&env, &w, &lake);
}

/// R14: credentials that expire mid-run (every read of the later half of the keys answers
/// `ExpiredToken`, which no refresh cures here). The run commits what it read, names what it
/// could not, exits 3, and leaves nothing partial; the next run, with fresh credentials, reads
/// exactly the rest, and the lake equals the oracle.
#[test]
fn r14_credentials_expiring_mid_run() {
    let env = S3Env::start();
    let w = Workdir::new();
    let bucket = "expiring-bucket";
    env.bucket(bucket);
    env.upload_dir(bucket, &util::sample());
    let logs = log_keys(&util::sample());
    let mut sorted = logs.clone();
    sorted.sort();
    let expired = &sorted[sorted.len() / 2..];
    let expired_token = Fault::Error(
        400,
        "ExpiredToken",
        "The provided token has expired.".into(),
    );
    let (lake, src) = fail_reads(&env, &w, bucket, expired, expired_token);
    let out = tg(&env, &lake, &["ingest", &src, "--json", "-q"]);
    code(&out, 3, "expired credentials");
    let s: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(s["objects_ingested"], logs.len() - expired.len(), "{s:#}");
    assert_eq!(
        s["failed"].as_array().map(Vec::len),
        Some(expired.len()),
        "{s:#}"
    );
    let objects = count(&env, &lake, "SELECT count(*) FROM objects");
    assert_eq!(objects as usize, logs.len() - expired.len());
    // Nothing partial: objects lists exactly the objects whose rows are in events.
    assert_eq!(
        count(
            &env,
            &lake,
            "SELECT count(*) FROM (SELECT DISTINCT _source FROM events)"
        ),
        count(
            &env,
            &lake,
            "SELECT count(*) FROM objects WHERE records > 0"
        )
    );

    env.proxy.clear();
    let again = ingest(&env, &lake, &src, &[]);
    assert_eq!(again["objects_ingested"], expired.len(), "{again:#}");
    assert_sample_oracle(&env, &w, &lake);
}

/// R14, the refresh half: credentials that expire mid-run and that the SDK refreshes. A
/// `credential_process` profile hands out a new access key id on every call, valid for 4 s; the
/// proxy answers `ExpiredToken` to any request signed with a key after its expiry. 4 s is inside
/// the SDK identity cache's refresh buffer (10 s, less up to half of it as jitter), so the SDK
/// fetches a fresh key before each expiry: the run completes to the oracle, signed by more than
/// one key.
#[test]
fn r14_credentials_refreshed_mid_run() {
    use std::os::unix::fs::PermissionsExt;
    let env = S3Env::start();
    let w = Workdir::new();
    let bucket = "refresh-bucket";
    env.bucket(bucket);
    env.upload_dir(bucket, &util::sample());
    let script = w.path().join("creds.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexp=$(( $(date +%s) + 4 ))\n\
             printf '{{\"Version\":1,\"AccessKeyId\":\"{prefix}%sN%s\",\"SecretAccessKey\":\"{SECRET}\",\
             \"SessionToken\":\"token\",\"Expiration\":\"%s\"}}' \"$exp\" \"$$\" \
             \"$(date -u -d @$exp +%Y-%m-%dT%H:%M:%SZ)\"\n",
            prefix = EXPIRING_KEY_PREFIX
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let config = w.path().join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile expiring]\nregion = us-east-1\ncredential_process = {}\n",
            script.display()
        ),
    )
    .expect("config");
    let lake = w.path().join("lake");
    let src = format!("s3://{bucket}");
    let mut c = Command::new(util::bin());
    c.arg("--lake")
        .arg(&lake)
        .args(["ingest", &src, "--json", "-q"])
        .env_remove("RUST_LOG");
    env.env(&mut c, SECRET);
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_PROFILE", "expiring");
    let out = c.output().expect("run trailglass");
    code(&out, 0, "refreshed credentials");
    let keys = env.proxy.key_ids();
    assert!(
        keys.iter().all(|k| k.starts_with(EXPIRING_KEY_PREFIX)),
        "only the profile's keys signed: {keys:?}"
    );
    assert!(keys.len() >= 2, "the SDK refreshed: {keys:?}");
    assert_sample_oracle(&env, &w, &lake);
}

/// R23 on S3: two ingest processes into one `s3://` lake at once. S3 has no lock: put-if-absent
/// commits and delta-rs's conflict check let one batch through per version, and a loser exits 3.
/// After a last run the lake equals the oracle, and no object is in two batches.
#[test]
fn r23_two_ingest_processes_on_one_s3_lake() {
    let env = S3Env::start();
    let w = Workdir::new();
    env.bucket("race-bucket");
    env.direct.set(true);
    let lake = PathBuf::from("s3://race-bucket/trailglass");
    let sample = util::sample();
    let spawn = || {
        let mut c = Command::new(util::bin());
        c.arg("--lake")
            .arg(&lake)
            .args(["ingest", sample.to_str().expect("utf-8"), "-q"])
            .args(["--batch-size", "1", "--lake-kms-key", &env.key_arn])
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        env.env(&mut c, SECRET);
        c.spawn().expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    for out in [a, b].map(|c| c.wait_with_output().expect("wait")) {
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "exit {:?}: {}",
            out.status.code(),
            stderr(&out)
        );
    }
    ingest(&env, &lake, sample.to_str().expect("utf-8"), &[]);
    assert_sample_oracle(&env, &w, &lake);
    assert_eq!(
        count(
            &env,
            &lake,
            "SELECT count(*) FROM (SELECT key FROM objects GROUP BY key HAVING count(*) > 1)"
        ),
        0,
        "an object in two batches"
    );
}
