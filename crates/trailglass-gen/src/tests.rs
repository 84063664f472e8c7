//! Generator tests: determinism, and an independent re-derivation of the answer key from the
//! files actually written (an oracle over the raw records, not over the generator's bookkeeping).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::planted::{PERSISTENCE, RESOURCE_ACCESS, TAMPERING, is_write, session_id};
use super::*;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn gunzip(p: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    GzDecoder::new(File::open(p).unwrap())
        .read_to_end(&mut v)
        .unwrap();
    v
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct Container<'a> {
    #[serde(borrow)]
    Records: Vec<&'a RawValue>,
}

fn ts(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

struct Rec {
    v: Value,
    raw: String,
    key: String,
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut x = v;
    for p in path {
        x = x.get(*p)?;
    }
    x.as_str()
}

fn glob_bg(arn: &str) -> bool {
    let a = arn.to_ascii_lowercase();
    let role = a.split(":role/").nth(1).unwrap_or("");
    a.contains(":user/breakglass")
        || (a.starts_with("arn:aws:iam::")
            && (role.starts_with("breakglass")
                || (role.contains('/') && role.contains("/awsreservedsso_breakglass"))))
}

/// Re-derive every number of the answer key from the written files.
fn check(out: &Path, key: &AnswerKey) {
    let trail = out.join("trail");
    let mut paths = Vec::new();
    walk(&trail, &mut paths);
    let mut recs: Vec<Rec> = Vec::new();
    let mut log_sha: HashMap<String, String> = HashMap::new();
    let mut objects = ObjectCounts::default();
    let mut late = 0;
    let mut digests: Vec<(String, Value, String)> = Vec::new();
    for p in &paths {
        let rel = p
            .strip_prefix(&trail)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.contains("/CloudTrail/") {
            objects.logs += 1;
            let body = gunzip(p);
            log_sha.insert(rel.clone(), hex::encode(Sha256::digest(&body)));
            let text = std::str::from_utf8(&body).unwrap();
            let c: Container = serde_json::from_str(text).unwrap();
            assert!(!c.Records.is_empty(), "{rel}");
            // Key date and delivery stamp come after every event of the file.
            let name = rel.rsplit('/').next().unwrap();
            let stamp = name.split('_').nth(3).unwrap();
            let delivered = ts(&format!(
                "{}-{}-{}T{}:{}:00Z",
                &stamp[0..4],
                &stamp[4..6],
                &stamp[6..8],
                &stamp[9..11],
                &stamp[11..13]
            ));
            let mut oldest = i64::MAX;
            for r in c.Records {
                let v: Value = serde_json::from_str(r.get()).unwrap();
                let t = ts(v["eventTime"].as_str().unwrap());
                assert!(t < delivered, "{rel}: event at {t} delivered {delivered}");
                oldest = oldest.min(t);
                let ver = v["eventVersion"].as_str().unwrap();
                assert!(["1.08", "1.09", "1.10", "1.11"].contains(&ver), "{ver}");
                recs.push(Rec {
                    v,
                    raw: r.get().to_string(),
                    key: rel.clone(),
                });
            }
            if delivered.div_euclid(86_400) > oldest.div_euclid(86_400) {
                late += 1;
            }
        } else if rel.contains("/CloudTrail-Digest/") {
            objects.digests += 1;
            let body = gunzip(p);
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["digestS3Object"].as_str().unwrap(), rel);
            digests.push((rel, v, hex::encode(Sha256::digest(&body))));
        } else if rel.contains("/CloudTrail-Insight/") {
            objects.insights += 1;
        } else if rel.ends_with("ConfigWritabilityCheckFile") {
            assert_eq!(fs::metadata(p).unwrap().len(), 0);
            objects.config += 1;
        } else {
            objects.foreign += 1;
        }
    }
    assert_eq!(objects.logs, key.objects.logs);
    assert_eq!(objects.digests, key.objects.digests);
    assert_eq!(
        (objects.insights, objects.config, objects.foreign),
        (1, 1, 1)
    );
    assert_eq!(late, key.late_files);

    // Digests: every log file listed once with its real hash; chain hashes match.
    let by_key: HashMap<&str, &String> = digests.iter().map(|(k, _, h)| (k.as_str(), h)).collect();
    let mut listed = BTreeSet::new();
    for (_, v, _) in &digests {
        for f in v["logFiles"].as_array().unwrap() {
            let k = f["s3Object"].as_str().unwrap();
            assert_eq!(f["hashValue"].as_str().unwrap(), log_sha[k], "{k}");
            assert!(listed.insert(k.to_string()));
        }
        if let Some(prev) = v["previousDigestS3Object"].as_str() {
            assert_eq!(
                v["previousDigestHashValue"].as_str().unwrap(),
                by_key[prev].as_str()
            );
        }
    }
    assert_eq!(listed.len() as u64, key.objects.logs);

    // Records, distinct events, duplicates byte-identical.
    assert_eq!(recs.len() as u64, key.records);
    let mut by_id: HashMap<&str, Vec<&Rec>> = HashMap::new();
    for r in &recs {
        by_id
            .entry(r.v["eventID"].as_str().unwrap())
            .or_default()
            .push(r);
    }
    assert_eq!(by_id.len() as u64, key.distinct_events);
    assert_eq!(key.records - key.distinct_events, key.duplicate_deliveries);
    let mut dup_events = 0;
    for copies in by_id.values() {
        if copies.len() > 1 {
            dup_events += 1;
            assert_eq!(copies.len(), 2);
            assert_eq!(copies[0].raw, copies[1].raw);
            assert_ne!(copies[0].key, copies[1].key);
        }
    }
    assert_eq!(dup_events, key.duplicate_deliveries);
    let distinct: Vec<&Value> = by_id.values().map(|c| &c[0].v).collect();

    // Sessions, from the raw records.
    let sessions: HashMap<&str, &SessionTruth> = key
        .sessions
        .iter()
        .map(|x| (x.session_id.as_str(), x))
        .collect();
    let keys: HashMap<&str, &SessionTruth> = key
        .sessions
        .iter()
        .map(|x| (x.access_key_id.as_str(), x))
        .collect();
    assert_eq!(keys.len(), key.sessions.len(), "one key per session");
    let mut actions: HashMap<&str, Vec<&Value>> = HashMap::new();
    for v in &distinct {
        if let Some(k) = s(v, &["userIdentity", "accessKeyId"])
            && let Some(sess) = keys.get(k)
        {
            assert_eq!(v["recipientAccountId"].as_str().unwrap(), sess.account);
            if Some(v["eventID"].as_str().unwrap()) != sess.entry_event_id.as_deref() {
                actions.entry(sess.session_id.as_str()).or_default().push(v);
            }
        }
    }
    let ua_by_user = |user: &str, before: i64| -> Option<String> {
        distinct
            .iter()
            .filter(|v| v["eventName"] == "UserAuthentication")
            .filter(|v| {
                s(v, &["additionalEventData", "UserName"]) == Some(user)
                    || s(v, &["userIdentity", "userName"]) == Some(user)
            })
            .filter(|v| ts(v["eventTime"].as_str().unwrap()) <= before)
            .max_by_key(|v| ts(v["eventTime"].as_str().unwrap()))
            .and_then(|v| s(v, &["additionalEventData", "CredentialType"]).map(str::to_string))
    };
    for sess in &key.sessions {
        let start = ts(&sess.start);
        assert_eq!(
            session_id(
                &sess.account,
                kind_of(&sess.kind),
                &sess.access_key_id,
                start
            ),
            sess.session_id
        );
        let acts = actions
            .get(sess.session_id.as_str())
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            acts.len() as u64,
            sess.events,
            "{} {}",
            sess.variant,
            sess.session_id
        );
        let deadline = ts(&sess.ttl_deadline);
        let root = {
            let mut r = sess;
            while let Some(p) = &r.parent_session_id {
                r = sessions[p.as_str()];
            }
            r
        };
        assert_eq!(deadline, ts(&root.start) + 3600);
        assert_eq!(sess.depth == 0, sess.parent_session_id.is_none());
        let mfa_state = match sess.kind.as_str() {
            "chained" => Some(root.mfa_at_entry),
            "identity_center" => {
                let ct = ua_by_user(&sess.actor, start).expect("a sign-in before the session");
                let m = ct.split(',').any(|f| f.trim() != "PASSWORD");
                assert_eq!(m, sess.mfa_at_entry, "{}", sess.variant);
                Some(m)
            }
            _ => None,
        };
        let (mut w, mut e, mut after, mut nomfa) = (0, 0, 0, 0);
        let mut end = start;
        for v in &acts {
            let t = ts(v["eventTime"].as_str().unwrap());
            end = end.max(t);
            assert_ne!(t, deadline, "no action on the TTL boundary");
            if is_write(v["eventName"].as_str().unwrap(), v["readOnly"].as_bool()) {
                w += 1;
            }
            if v.get("errorCode").is_some() {
                e += 1;
            }
            if t > deadline {
                after += 1;
            }
            let without = match mfa_state {
                Some(m) => !m,
                None => {
                    s(
                        v,
                        &[
                            "userIdentity",
                            "sessionContext",
                            "attributes",
                            "mfaAuthenticated",
                        ],
                    ) != Some("true")
                }
            };
            if without {
                nomfa += 1;
            }
        }
        assert_eq!(
            (w, e, after, nomfa),
            (sess.writes, sess.errors, sess.after_ttl, sess.without_mfa),
            "{}",
            sess.variant
        );
        if !acts.is_empty() {
            assert_eq!(time::iso_us(end), sess.end);
        }
        // The entry event names the key (or, for Identity Center, the role session and time).
        if let Some(ev) = &sess.entry_event_id {
            let v = &by_id[ev.as_str()][0].v;
            if v["eventName"] == "AssumeRoot" {
                // Logged once, in the calling (management) account.
                assert_eq!(
                    s(v, &["requestParameters", "targetPrincipal"]),
                    Some(sess.account.as_str())
                );
            } else {
                assert_eq!(
                    v["recipientAccountId"].as_str().unwrap(),
                    sess.account,
                    "{}",
                    sess.variant
                );
            }
            assert_eq!(ts(v["eventTime"].as_str().unwrap()), start);
            match v["eventName"].as_str().unwrap() {
                "ConsoleLogin" => {
                    assert_eq!(
                        s(v, &["userIdentity", "arn"]),
                        Some(sess.principal_arn.as_str())
                    );
                    for a in &acts {
                        let cd = s(
                            a,
                            &[
                                "userIdentity",
                                "sessionContext",
                                "attributes",
                                "creationDate",
                            ],
                        )
                        .unwrap();
                        assert_eq!(ts(cd), start);
                    }
                }
                "AssumeRoleWithSAML" => {
                    let k1 = s(v, &["responseElements", "credentials", "accessKeyId"]).unwrap();
                    assert_ne!(k1, sess.access_key_id);
                    let arn = s(v, &["responseElements", "assumedRoleUser", "arn"]).unwrap();
                    for a in &acts {
                        assert_eq!(s(a, &["userIdentity", "arn"]), Some(arn));
                        let cd = s(
                            a,
                            &[
                                "userIdentity",
                                "sessionContext",
                                "attributes",
                                "creationDate",
                            ],
                        )
                        .unwrap();
                        assert_eq!(ts(cd), start);
                    }
                }
                _ => {
                    assert_eq!(
                        s(v, &["responseElements", "credentials", "accessKeyId"]),
                        Some(sess.access_key_id.as_str())
                    );
                }
            }
        } else {
            assert!(
                sess.access_key_id.starts_with("AKIA") || start < ts(&key.generator.start),
                "{}",
                sess.variant
            );
        }
        // A child was issued by an action of its parent.
        if let Some(p) = &sess.parent_session_id {
            let parent_acts = &actions[p.as_str()];
            assert!(parent_acts.iter().any(|a| s(
                a,
                &["responseElements", "credentials", "accessKeyId"]
            ) == Some(sess.access_key_id.as_str())));
        }
    }

    // Nothing but the planted sessions is break-glass.
    let finding_events: BTreeSet<&str> = key
        .findings
        .iter()
        .filter_map(|f| f.eventid.as_deref())
        .collect();
    let entries: BTreeSet<&str> = key
        .sessions
        .iter()
        .filter_map(|x| x.entry_event_id.as_deref())
        .collect();
    let prod = key.generator.production_account.as_str();
    for v in &distinct {
        let id = &v["userIdentity"];
        let ty = s(id, &["type"]).unwrap_or("");
        let bg = ty == "Root"
            || s(id, &["arn"]).is_some_and(glob_bg)
            || s(id, &["sessionContext", "sessionIssuer", "arn"]).is_some_and(glob_bg);
        let ev = v["eventID"].as_str().unwrap();
        let name = v["eventName"].as_str().unwrap_or("");
        if bg {
            match s(id, &["accessKeyId"]).filter(|k| !k.is_empty()) {
                Some(k) => assert!(
                    keys.contains_key(k),
                    "break-glass key {k} outside the answer key: {name}"
                ),
                None => assert!(
                    entries.contains(ev)
                        || finding_events.contains(ev)
                        || name == "PasswordUpdated",
                    "unexpected break-glass record {name} {ev}"
                ),
            }
        }
        let in_session = s(id, &["accessKeyId"]).is_some_and(|k| keys.contains_key(k));
        if !in_session
            && (PERSISTENCE.contains(&name)
                || TAMPERING.contains(&name)
                || RESOURCE_ACCESS.contains(&name))
        {
            let ok = (name == "PutRolePolicy"
                && s(v, &["requestParameters", "policyName"]) == Some("AWSRevokeOlderSessions"))
                || (name == "UpdateLoginProfile"
                    && s(v, &["requestParameters", "userName"])
                        .is_some_and(|u| u.starts_with("breakglass")));
            assert!(ok, "rule-looking background event {name}");
        }
        if name.contains("MFADevice") {
            assert!(in_session || finding_events.contains(ev), "{name}");
        }
        // Human access to production: only the planted BG014 events. A person is an IAM user,
        // root, a SAML user or an Identity Center role session; services, CI roles
        // (`AssumedRole` of a non-SSO role, web identities) and partners (`AWSAccount`) are not.
        let person = matches!(ty, "IAMUser" | "Root" | "SAMLUser")
            || (ty == "AssumedRole"
                && s(id, &["sessionContext", "sessionIssuer", "arn"])
                    .is_some_and(|a| a.contains("AWSReservedSSO_")));
        if v["recipientAccountId"] == prod
            && (name == "ConsoleLogin" || (name.starts_with("AssumeRole") && person))
            && !bg
        {
            assert!(
                key.findings
                    .iter()
                    .any(|f| f.rule_id == "BG014" && f.eventid.as_deref() == Some(ev)),
                "{name} {ev}"
            );
        }
    }

    // Rule totals agree with the sessions and the findings list.
    let count = |r: &str| key.findings.iter().filter(|f| f.rule_id == r).count() as u64;
    for (r, n) in &key.rules {
        assert_eq!(*n, count(r), "{r}");
    }
    assert_eq!(key.rules["BG001"], key.sessions.len() as u64);
    assert_eq!(
        key.rules["BG002"],
        key.sessions.iter().map(|x| x.after_ttl).sum::<u64>()
    );
    assert_eq!(
        key.rules["BG003"],
        key.sessions.iter().map(|x| x.without_mfa).sum::<u64>()
    );
    assert_eq!(
        key.rules["BG005"],
        key.sessions.iter().filter(|x| x.approval.is_none()).count() as u64
    );
    let bg012: u64 = key
        .sessions
        .iter()
        .filter(|x| x.access_key_id.starts_with("AKIA"))
        .map(|x| x.events)
        .sum();
    assert_eq!(key.rules["BG012"], bg012);
    for f in &key.findings {
        if let Some(e) = &f.eventid {
            assert!(by_id.contains_key(e.as_str()), "{} {e}", f.rule_id);
        }
    }
}

fn kind_of(k: &str) -> planted::Kind {
    match k {
        "role" => planted::Kind::Role,
        "identity_center" => planted::Kind::IdentityCenter,
        "user" => planted::Kind::User,
        "root" => planted::Kind::Root,
        _ => planted::Kind::Chained,
    }
}

fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut paths = Vec::new();
    walk(dir, &mut paths);
    paths
        .iter()
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().to_string_lossy().into_owned(),
                fs::read(p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn sample_is_deterministic_and_parallel_invariant() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let cfg = GenConfig::sample();
    let ka = generate(&cfg, a.path()).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let kb = pool.install(|| generate(&cfg, b.path())).unwrap();
    assert_eq!(
        serde_json::to_string(&ka).unwrap(),
        serde_json::to_string(&kb).unwrap()
    );
    let (ta, tb) = (read_tree(a.path()), read_tree(b.path()));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(v == &tb[k], "{k} differs");
    }
    // A different seed changes the trail.
    let c = tempfile::tempdir().unwrap();
    let kc = generate(&GenConfig { seed: 99, ..cfg }, c.path()).unwrap();
    assert_ne!(ka.sessions[0].session_id, kc.sessions[0].session_id);
}

#[test]
fn sample_answer_key_matches_the_files() {
    let d = tempfile::tempdir().unwrap();
    let cfg = GenConfig::sample();
    let key = generate(&cfg, d.path()).unwrap();
    check(d.path(), &key);
    // Every kind and every rule at least once; the sample stays small.
    for k in ["role", "identity_center", "user", "root", "chained"] {
        assert!(key.sessions.iter().any(|x| x.kind == k), "kind {k}");
    }
    for (r, n) in &key.rules {
        assert!(*n >= 1, "rule {r} not planted");
    }
    assert!(key.sessions.iter().any(|x| x.depth == 2));
    assert!(
        key.sessions
            .iter()
            .any(|x| x.entry_event_id.is_none() && x.access_key_id.starts_with("ASIA"))
    );
    assert!(key.late_files >= 1);
    assert!(
        key.duplicate_deliveries >= 3,
        "{}",
        key.duplicate_deliveries
    );
    let delayed = read_tree(&d.path().join("trail"))
        .iter()
        .filter(|(k, _)| k.contains("/CloudTrail/"))
        .any(|(_, v)| {
            let mut s = String::new();
            GzDecoder::new(&v[..]).read_to_string(&mut s).unwrap();
            s.contains(r#""addendum":{"reason":"DELIVERY_DELAY"}"#)
        });
    assert!(delayed, "no late delivery with an addendum");
    assert!((4_000..=6_500).contains(&key.records), "{}", key.records);
    let total: u64 = read_tree(d.path()).values().map(|v| v.len() as u64).sum();
    assert!(total < 5 * 1024 * 1024, "sample is {total} bytes");
    let planter_ok = {
        let wd = World::new(&cfg);
        let mut p = Planter::new(&wd, SMALL_WINDOW, (2 * 86_400 / SMALL_WINDOW) as u32);
        p.plant(cfg.sessions);
        p.chained_approvals_agree()
    };
    assert!(planter_ok);
    let csv = fs::read_to_string(d.path().join("approvals.csv")).unwrap();
    assert!(csv.starts_with("ticket,principal,not_before,not_after,approver\n"));
    let toml = fs::read_to_string(d.path().join("trailglass.toml")).unwrap();
    assert!(toml.contains(&key.generator.production_account));
}

#[test]
fn other_shapes_and_sizes_keep_the_key_exact() {
    // Large files, one day (BG006 all pending), a second partial cycle of scenarios.
    let d = tempfile::tempdir().unwrap();
    let cfg = GenConfig {
        seed: 5,
        accounts: 3,
        regions: 2,
        days: 1,
        records: 40_000,
        sessions: 20,
        shape: Shape::Large,
        ..GenConfig::default()
    };
    let key = generate(&cfg, d.path()).unwrap();
    check(d.path(), &key);
    assert_eq!(key.rules["BG006"], 0);
    assert!(key.objects.logs < 40, "{}", key.objects.logs);
    // Small files over several days, many regions.
    let d = tempfile::tempdir().unwrap();
    let cfg = GenConfig {
        seed: 11,
        accounts: 6,
        regions: 5,
        days: 4,
        records: 15_000,
        sessions: 31,
        ..GenConfig::default()
    };
    let key = generate(&cfg, d.path()).unwrap();
    check(d.path(), &key);
    assert!(key.rules["BG006"] >= 2);
}

#[test]
fn refuses_to_overwrite() {
    let d = tempfile::tempdir().unwrap();
    let cfg = GenConfig {
        records: 500,
        sessions: 0,
        ..GenConfig::default()
    };
    generate(&cfg, d.path()).unwrap();
    assert!(generate(&cfg, d.path()).is_err());
    clean(d.path()).unwrap();
    generate(&cfg, d.path()).unwrap();
}

#[test]
fn mean_record_is_about_one_and_a_half_kb() {
    let wd = World::new(&GenConfig::default());
    let m = mean_record_bytes(&wd, SMALL_WINDOW);
    assert!((1_100.0..2_000.0).contains(&m), "mean {m}");
}

/// Check a generated directory against its answer key: the committed sample by default, or any
/// directory with `TRAILGLASS_GEN_CHECK=dir cargo test --release -p trailglass-gen check_dir`.
#[test]
fn check_dir() {
    let dir = std::env::var_os("TRAILGLASS_GEN_CHECK")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample"));
    let key: AnswerKey =
        serde_json::from_slice(&fs::read(dir.join("answer-key.json")).unwrap()).unwrap();
    check(&dir, &key);
}

/// The default background is AssumeRole-heavy like a real organization trail (services,
/// Identity Center, CI and partners), deterministic whatever the thread count, and its key is
/// still exact (none of it is break-glass or BG014).
#[test]
fn assume_role_traffic_is_heavy_deterministic_and_outside_the_key() {
    let cfg = GenConfig {
        seed: 18,
        records: 12_000,
        days: 3,
        ..GenConfig::default()
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let key = generate(&cfg, a.path()).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| generate(&cfg, b.path())).unwrap();
    assert!(read_tree(a.path()) == read_tree(b.path()));
    check(a.path(), &key);
    let mut names: BTreeMap<String, u64> = BTreeMap::new();
    let mut callers: BTreeSet<String> = BTreeSet::new();
    let mut total = 0u64;
    for (path, body) in read_tree(&a.path().join("trail")) {
        if !path.contains("_CloudTrail_") {
            continue;
        }
        let mut text = String::new();
        GzDecoder::new(&body[..]).read_to_string(&mut text).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        for r in v["Records"].as_array().unwrap() {
            total += 1;
            let name = r["eventName"].as_str().unwrap_or("").to_string();
            if name.starts_with("AssumeRole") {
                let id = &r["userIdentity"];
                callers.insert(format!(
                    "{}:{}",
                    id["type"].as_str().unwrap_or(""),
                    id["invokedBy"].as_str().unwrap_or("")
                ));
            }
            *names.entry(name).or_default() += 1;
        }
    }
    let assumed: u64 = names
        .iter()
        .filter(|(n, _)| n.starts_with("AssumeRole"))
        .map(|(_, c)| c)
        .sum();
    assert!(assumed * 10 >= total, "{assumed} of {total}");
    let top = names.values().max().copied().unwrap_or(0);
    assert_eq!(names["AssumeRole"], top, "AssumeRole is the top event name");
    for c in [
        "AWSService:lambda.amazonaws.com",
        "AWSService:ecs-tasks.amazonaws.com",
        "AWSService:config.amazonaws.com",
        "SAMLUser:",
        "WebIdentityUser:",
        "AssumedRole:",
        "AWSAccount:",
    ] {
        assert!(callers.contains(c), "no AssumeRole* by {c}: {callers:?}");
    }
}
