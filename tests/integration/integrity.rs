//! `validate-logs` against a real signed chain: an RSA-2048 key made here, log files and digest
//! files written as CloudTrail writes them (hashes of the uncompressed bytes, the documented
//! signing string, the signature beside the digest), over two accounts, two regions and 48
//! hours, with a gap and a backfill digest. Then one test per kind of tampering.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use serde_json::{Value, json};

use super::s3util::S3Env;
use super::util::{self, Workdir};
use crate::integrity::{keys::fingerprint, sha256_hex};

const BUCKET: &str = "audit-trail-bucket";
const ACCOUNTS: [&str; 2] = ["111111111111", "222222222222"];
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const HOURS: i64 = 48;
/// Logging was off in 111111111111/us-east-1 for these hours: no logs, no digests.
const GAP: std::ops::Range<i64> = 20..23;

/// An RSA-2048 key pair made by `openssl`, signing with ring.
struct Signer {
    pair: ring::signature::RsaKeyPair,
    /// The public key as published: PKCS#1 or SubjectPublicKeyInfo DER.
    public: Vec<u8>,
}

impl Signer {
    fn new(dir: &Path, name: &str, spki: bool) -> Signer {
        let der = dir.join(format!("{name}.der"));
        let ok = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-outform",
                "DER",
                "-out",
            ])
            .arg(&der)
            .output()
            .expect("the openssl command (needed to make the test's RSA key)");
        assert!(
            ok.status.success(),
            "openssl genpkey: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        // `genpkey -outform DER` writes the PKCS#1 RSAPrivateKey form.
        let private = std::fs::read(&der).expect("key file");
        let pair = ring::signature::RsaKeyPair::from_der(&private).expect("an RSA key");
        let public = if spki {
            let out = Command::new("openssl")
                .args([
                    "pkey", "-inform", "DER", "-pubout", "-outform", "DER", "-in",
                ])
                .arg(&der)
                .output()
                .expect("openssl pkey");
            assert!(out.status.success());
            out.stdout
        } else {
            // ring's public key is the PKCS#1 RSAPublicKey, the form CloudTrail's keys come in.
            use ring::signature::KeyPair;
            pair.public_key().as_ref().to_vec()
        };
        Signer { pair, public }
    }

    fn fingerprint(&self) -> String {
        fingerprint(&self.public)
    }

    fn sign(&self, message: &str) -> String {
        let mut sig = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                message.as_bytes(),
                &mut sig,
            )
            .expect("sign");
        hex::encode(sig)
    }

    /// An `aws cloudtrail list-public-keys` entry for this key.
    fn entry(&self) -> Value {
        json!({
            "ValidityStartTime": 1772323200.0, // 2026-03-01
            "ValidityEndTime": 1775001600.0,   // 2026-04-01
            "Value": base64::engine::general_purpose::STANDARD.encode(&self.public),
            "Fingerprint": self.fingerprint(),
        })
    }
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text).expect("gzip");
    e.finish().expect("gzip")
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).expect("gunzip");
    out
}

fn t(h: i64, m: i64, s: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1772323200 + h * 3600 + m * 60 + s, 0).expect("time")
}

/// A trail bucket's copy (`root` is the folder named after the bucket), with what was written.
struct Trail {
    root: PathBuf,
    signer: Signer,
    /// Every digest key, by (account, region), in time order (the regular chain only).
    chains: Vec<((String, String), Vec<String>)>,
    logs: Vec<String>,
    backfill: String,
}

impl Trail {
    fn build(dir: &Path) -> Trail {
        let root = dir.join(BUCKET);
        let signer = Signer::new(dir, "trail-key", false);
        let mut trail = Trail {
            root,
            signer,
            chains: Vec::new(),
            logs: Vec::new(),
            backfill: String::new(),
        };
        for account in ACCOUNTS {
            for region in REGIONS {
                let mut chain = Vec::new();
                let mut prev: Option<(String, String, String)> = None;
                for h in 0..HOURS {
                    if account == ACCOUNTS[0] && region == REGIONS[0] && GAP.contains(&h) {
                        prev = None;
                        continue;
                    }
                    let logs: Vec<(String, String)> = [5, 35]
                        .iter()
                        .map(|&m| {
                            trail.write_log(account, region, t(h, m, 0), &format!("{h:02}{m:02}"))
                        })
                        .collect();
                    let key = trail.write_digest(
                        account,
                        region,
                        t(h, 0, 0),
                        t(h + 1, 0, 0),
                        &logs,
                        prev.as_ref(),
                        false,
                    );
                    prev = Some(trail.digest_link(&key));
                    chain.push(key);
                }
                trail
                    .chains
                    .push(((account.to_string(), region.to_string()), chain));
            }
        }
        // A backfill digest: a chain of its own, covering a file the regular digests do not.
        let (account, region) = (ACCOUNTS[1], REGIONS[1]);
        let late = trail.write_log(account, region, t(11, 50, 0), "backfilled");
        trail.backfill = trail.write_digest(
            account,
            region,
            t(11, 0, 0),
            t(12, 0, 0),
            &[late],
            None,
            true,
        );
        trail
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn write_file(&self, key: &str, bytes: &[u8]) {
        let p = self.path(key);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    }

    /// A log file delivered at `at`; returns (key, SHA-256 of its uncompressed bytes).
    fn write_log(
        &mut self,
        account: &str,
        region: &str,
        at: chrono::DateTime<chrono::Utc>,
        tag: &str,
    ) -> (String, String) {
        let unique = format!("{:0>16}", format!("{}{tag}", &region[..2])).replace('-', "x");
        let key = format!(
            "AWSLogs/{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{unique}.json.gz",
            at.format("%Y/%m/%d"),
            at.format("%Y%m%dT%H%MZ")
        );
        let event_time = (at - chrono::Duration::minutes(2))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let record = json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": format!("arn:aws:iam::{account}:user/ops"), "accountId": account, "userName": "ops", "accessKeyId": format!("AKIAOPS{account}")},
            "eventTime": event_time,
            "eventSource": "s3.amazonaws.com",
            "eventName": "ListBuckets",
            "awsRegion": region,
            "sourceIPAddress": "198.51.100.7",
            "userAgent": "aws-cli/2",
            "requestID": format!("req-{tag}"),
            "eventID": format!("{account}-{region}-{tag}"),
            "readOnly": true,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": account,
            "eventCategory": "Management"
        });
        self.write_records(key, &[record])
    }

    fn write_records(&mut self, key: String, records: &[Value]) -> (String, String) {
        let text = json!({ "Records": records }).to_string();
        self.write_file(&key, &gzip(text.as_bytes()));
        self.logs.push(key.clone());
        (key, sha256_hex(text.as_bytes()))
    }

    /// A log file holding one CloudTrail control call on trail `org-trail` by a principal that
    /// is not break-glass (`errorcode` set when denied).
    fn write_trail_call(
        &mut self,
        account: &str,
        at: chrono::DateTime<chrono::Utc>,
        name: &str,
        denied: bool,
    ) -> String {
        let region = REGIONS[0];
        let tag = format!("{name}{}", at.format("%H%M"));
        let key = format!(
            "AWSLogs/{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{tag}.json.gz",
            at.format("%Y/%m/%d"),
            at.format("%Y%m%dT%H%MZ")
        );
        let mut record = json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAADMIN", "arn": format!("arn:aws:iam::{account}:user/admin"), "accountId": account, "userName": "admin"},
            "eventTime": at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": "198.51.100.9",
            "userAgent": "aws-cli/2",
            "requestParameters": {"name": format!("arn:aws:cloudtrail:{region}:{account}:trail/org-trail")},
            "eventID": format!("{account}-{tag}"),
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": account,
            "eventCategory": "Management"
        });
        if denied {
            record["errorCode"] = json!("AccessDenied");
        }
        self.write_records(key, &[record]);
        format!("{account}-{tag}")
    }

    /// Write a digest exactly as CloudTrail does, signed; returns its key.
    #[allow(clippy::too_many_arguments)]
    fn write_digest(
        &self,
        account: &str,
        region: &str,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
        logs: &[(String, String)],
        prev: Option<&(String, String, String)>,
        backfill: bool,
    ) -> String {
        let key = format!(
            "AWSLogs/{account}/CloudTrail-Digest/{region}/{}/{account}_CloudTrail-Digest_{region}_org-trail_us-east-1_{}{}.json.gz",
            end.format("%Y/%m/%d"),
            end.format("%Y%m%dT%H%M%SZ"),
            if backfill { "_backfill" } else { "" }
        );
        let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let files: Vec<Value> = logs
            .iter()
            .map(|(k, h)| json!({"s3Bucket": BUCKET, "s3Object": k, "hashValue": h, "hashAlgorithm": "SHA-256",
                "newestEventTime": iso(start), "oldestEventTime": iso(start)}))
            .collect();
        let digest = json!({
            "awsAccountId": account,
            "digestStartTime": iso(start),
            "digestEndTime": iso(end),
            "digestS3Bucket": BUCKET,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": self.signer.fingerprint(),
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": null,
            "oldestEventTime": null,
            "previousDigestS3Bucket": prev.map(|_| BUCKET),
            "previousDigestS3Object": prev.map(|p| p.0.clone()),
            "previousDigestHashValue": prev.map(|p| p.1.clone()),
            "previousDigestHashAlgorithm": prev.map(|_| "SHA-256"),
            "previousDigestSignature": prev.map(|p| p.2.clone()),
            "logFiles": files,
        });
        self.put_digest(&key, &digest, &self.signer);
        key
    }

    /// Write a digest body (as the uncompressed bytes) and its signature sidecar.
    fn put_digest(&self, key: &str, digest: &Value, signer: &Signer) {
        let body = digest.to_string();
        let prev_sig = digest["previousDigestSignature"].as_str().unwrap_or("null");
        let signed = format!(
            "{}\n{}/{}\n{}\n{}",
            digest["digestEndTime"].as_str().expect("end"),
            digest["digestS3Bucket"].as_str().expect("bucket"),
            digest["digestS3Object"].as_str().expect("object"),
            sha256_hex(body.as_bytes()),
            prev_sig
        );
        self.write_file(key, &gzip(body.as_bytes()));
        self.write_sig(key, &signer.sign(&signed));
    }

    fn write_sig(&self, key: &str, signature: &str) {
        let sidecar = json!({"signature": signature, "signature-algorithm": "SHA256withRSA"});
        self.write_file(
            &format!("{key}.metadata.json"),
            sidecar.to_string().as_bytes(),
        );
    }

    fn read_digest(&self, key: &str) -> Value {
        serde_json::from_slice(&gunzip(&std::fs::read(self.path(key)).expect("digest")))
            .expect("digest JSON")
    }

    fn signature(&self, key: &str) -> String {
        let v: Value = serde_json::from_slice(
            &std::fs::read(self.path(&format!("{key}.metadata.json"))).expect("sidecar"),
        )
        .expect("JSON");
        v["signature"].as_str().expect("signature").to_string()
    }

    /// (key, SHA-256 of the uncompressed digest, signature): what the next digest chains to.
    fn digest_link(&self, key: &str) -> (String, String, String) {
        let body = gunzip(&std::fs::read(self.path(key)).expect("digest"));
        (key.to_string(), sha256_hex(&body), self.signature(key))
    }

    fn chain(&self, account: &str, region: &str) -> &[String] {
        &self
            .chains
            .iter()
            .find(|(k, _)| k.0 == account && k.1 == region)
            .expect("chain")
            .1
    }

    fn key_file(&self, dir: &Path, entries: Vec<Value>) -> PathBuf {
        let p = dir.join("public-keys.json");
        std::fs::write(&p, json!({"PublicKeyList": entries}).to_string()).expect("key file");
        p
    }

    fn digest_count(&self) -> usize {
        self.chains.iter().map(|(_, c)| c.len()).sum::<usize>() + 1
    }
}

/// Ingest the trail's local copy and run validate-logs with the trail's key; returns stdout.
fn validate(w: &Workdir, trail: &Trail, keys: &Path, code: i32) -> String {
    w.ingest(&trail.root, &[]);
    let out = w.run_code(
        &[
            "validate-logs",
            "--public-keys",
            keys.to_str().expect("utf-8"),
        ],
        code,
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn setup() -> (Workdir, Trail, PathBuf) {
    let w = Workdir::new();
    let trail = Trail::build(w.path());
    let keys = trail.key_file(w.path(), vec![trail.signer.entry()]);
    (w, trail, keys)
}

fn has(out: &str, line_start: &str) {
    assert!(
        out.lines().any(|l| l.starts_with(line_start)),
        "no line starting {line_start:?} in:\n{out}"
    );
}

#[test]
fn a_signed_chain_validates_from_the_local_lake() {
    let (w, trail, keys) = setup();
    let out = validate(&w, &trail, &keys, 0);
    let digests = trail.digest_count();
    let logs = trail.logs.len();
    assert_eq!(digests, 4 * 48 - 3 + 1);
    has(&out, &format!("digests: {digests}: {digests} valid"));
    has(&out, &format!("log files: {logs}: {logs} valid"));
    has(&out, "gaps: 1");
    has(
        &out,
        "  gap 111111111111 us-east-1 org-trail: no digest from 2026-03-01T20:00:00Z to 2026-03-01T23:00:00Z",
    );
    has(&out, "result: valid");
    has(&out, "recorded as run 1 in the lake's integrity table");
    // One row per digest, log file and gap, with the key that verified it.
    let rows = w.sql("SELECT kind, status, count(*) AS n, count(fingerprint) AS f FROM integrity WHERE batch = 1 GROUP BY 1, 2 ORDER BY 1, 2");
    assert_eq!(
        rows,
        vec![
            json!({"kind": "digest", "status": "valid", "n": digests, "f": digests}),
            json!({"kind": "gap", "status": "gap", "n": 1, "f": 0}),
            json!({"kind": "log", "status": "valid", "n": logs, "f": logs}),
        ]
    );
    // Ingest recorded each log's uncompressed hash: the one the digests list.
    assert_eq!(
        w.count("SELECT count(*) FROM objects WHERE text_sha256 IS NOT NULL"),
        logs as i64
    );
    // Filters: one account and region, one day.
    let out = w.run_code(
        &[
            "validate-logs",
            "--public-keys",
            keys.to_str().expect("utf-8"),
            "--accounts",
            "222222222222",
            "--regions",
            "us-east-1",
            "--from",
            "2026-03-02T00:00:00Z",
            "--to",
            "2026-03-02T23:59:59Z",
        ],
        0,
    );
    let out = String::from_utf8_lossy(&out.stdout);
    has(&out, "digests: 24: 24 valid");
    has(&out, "log files: 48: 48 valid");
    has(&out, "gaps: 0");
    // One key file per Region: another Region's keys beside the trail's change nothing.
    let other = Signer::new(w.path(), "other-region-key", true);
    let other_file = w.path().join("eu-west-1.json");
    std::fs::write(
        &other_file,
        json!({"PublicKeyList": [other.entry()]}).to_string(),
    )
    .expect("key file");
    let out = w.run_code(
        &[
            "validate-logs",
            "--public-keys",
            other_file.to_str().expect("utf-8"),
            "--public-keys",
            keys.to_str().expect("utf-8"),
        ],
        0,
    );
    has(
        &String::from_utf8_lossy(&out.stdout),
        &format!("digests: {digests}: {digests} valid"),
    );
    // Without keys, the chain and hashes are still checked; signatures are said to be unchecked.
    let out = w.run_code(&["validate-logs"], 0);
    has(
        &String::from_utf8_lossy(&out.stdout),
        "signatures: not checked (no --public-keys)",
    );
}

#[test]
fn a_modified_log_file_is_named() {
    let (w, trail, keys) = setup();
    let key = &trail.logs[100];
    let mut text = gunzip(&std::fs::read(trail.path(key)).expect("log"));
    let at = text
        .windows(11)
        .position(|b| b == b"ListBuckets")
        .expect("event name");
    text[at] = b'l'; // one byte
    trail.write_file(key, &gzip(&text));
    let out = validate(&w, &trail, &keys, 1);
    has(
        &out,
        &format!("modified log {key}: its uncompressed bytes hash to"),
    );
    has(&out, "result: NOT VALID");
    let rows = w.sql("SELECT key, status FROM integrity WHERE status <> 'valid' AND kind <> 'gap'");
    assert_eq!(rows, vec![json!({"key": key, "status": "modified"})]);
}

#[test]
fn a_deleted_log_file_is_missing() {
    let (w, trail, keys) = setup();
    let key = &trail.logs[7];
    std::fs::remove_file(trail.path(key)).expect("delete");
    let out = validate(&w, &trail, &keys, 1);
    has(&out, &format!("missing log {key}"));
}

#[test]
fn an_injected_log_file_is_not_covered() {
    let (w, mut trail, keys) = setup();
    let (key, _) = trail.write_log(ACCOUNTS[1], REGIONS[0], t(30, 40, 0), "injected");
    let out = validate(&w, &trail, &keys, 1);
    has(&out, &format!("not_covered log {key}"));
}

#[test]
fn a_deleted_digest_breaks_the_chain_and_is_no_gap() {
    let (w, trail, keys) = setup();
    let chain = trail.chain(ACCOUNTS[1], REGIONS[0]);
    std::fs::remove_file(trail.path(&chain[30])).expect("delete");
    std::fs::remove_file(trail.path(&format!("{}.metadata.json", chain[30]))).expect("delete");
    let out = validate(&w, &trail, &keys, 1);
    has(&out, &format!("chain_break digest {}", chain[31]));
    has(&out, "gaps: 1");
}

#[test]
fn a_digest_signed_with_another_key_is_named() {
    let (w, trail, keys) = setup();
    let other = Signer::new(w.path(), "other-key", true);
    let key = &trail.chain(ACCOUNTS[0], REGIONS[1])[10];
    let digest = trail.read_digest(key);
    trail.put_digest(key, &digest, &other);
    let out = validate(&w, &trail, &keys, 1);
    has(
        &out,
        &format!(
            "bad_signature digest {key}: bad_signature: the signature does not verify with key {}",
            trail.signer.fingerprint()
        ),
    );
}

#[test]
fn a_wrong_previous_digest_hash_is_named() {
    let (w, trail, keys) = setup();
    let key = &trail.chain(ACCOUNTS[0], REGIONS[0])[5];
    let mut digest = trail.read_digest(key);
    digest["previousDigestHashValue"] = json!("0".repeat(64));
    // Signed with the real key: the signature holds, the chain does not.
    trail.put_digest(key, &digest, &trail.signer);
    let out = validate(&w, &trail, &keys, 1);
    has(&out, &format!("previous_hash_mismatch digest {key}"));
}

#[test]
fn a_digest_moved_to_another_key_is_named() {
    let (w, trail, keys) = setup();
    let key = &trail.chain(ACCOUNTS[1], REGIONS[1])[40];
    let moved = key.replace("0000Z.json.gz", "0001Z.json.gz");
    assert_ne!(&moved, key);
    std::fs::rename(trail.path(key), trail.path(&moved)).expect("move");
    std::fs::rename(
        trail.path(&format!("{key}.metadata.json")),
        trail.path(&format!("{moved}.metadata.json")),
    )
    .expect("move");
    let out = validate(&w, &trail, &keys, 1);
    has(
        &out,
        &format!(
            "wrong_location digest {moved}: wrong_location: signed for s3://{BUCKET}/{key} but read at s3://{BUCKET}/{moved}"
        ),
    );
}

#[test]
fn a_public_key_with_the_wrong_fingerprint_is_refused() {
    let (w, trail, _) = setup();
    let other = Signer::new(w.path(), "other-key", true);
    // The trail key's fingerprint, with another key's bytes.
    let mut entry = other.entry();
    entry["Fingerprint"] = json!(trail.signer.fingerprint());
    let keys = trail.key_file(w.path(), vec![entry]);
    let out = validate(&w, &trail, &keys, 1);
    has(
        &out,
        &format!(
            "public key {}: unusable: the key's bytes have fingerprint {}",
            trail.signer.fingerprint(),
            other.fingerprint()
        ),
    );
    has(
        &out,
        &format!(
            "unknown_key digest {}",
            trail.chain(ACCOUNTS[0], REGIONS[0])[0]
        ),
    );
    has(&out, "result: NOT VALID");
}

#[test]
fn the_signed_chain_validates_from_an_s3_lake_and_from_a_mirror() {
    let w = Workdir::new();
    let trail = Trail::build(w.path());
    let keys = trail.key_file(w.path(), vec![trail.signer.entry()]);
    let env = S3Env::start();
    env.direct.set(true);
    env.bucket(BUCKET);
    // As CloudTrail delivers: the signature in the digest object's metadata, no sidecar.
    env.rt.block_on(async {
        for p in util::walk(&trail.root) {
            let key = p
                .strip_prefix(&trail.root)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            if key.ends_with(".metadata.json") {
                continue;
            }
            let mut req = env
                .s3
                .put_object()
                .bucket(BUCKET)
                .key(&key)
                .body(std::fs::read(&p).expect("read").into());
            if key.contains("/CloudTrail-Digest/") {
                req = req
                    .metadata("signature", trail.signature(&key))
                    .metadata("signature-algorithm", "SHA256withRSA");
            }
            req.send()
                .await
                .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
        }
    });
    env.bucket("lake-bucket");
    let run = |lake: &str, args: &[&str]| -> Output {
        let mut c = Command::new(util::bin());
        c.arg("--lake").arg(lake).args(args).env_remove("RUST_LOG");
        env.env(&mut c, "tg-test-secret");
        let out = c.output().expect("run trailglass");
        // Every step, validation included, must succeed: the chain is untouched.
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let src = format!("s3://{BUCKET}");
    let keys = keys.to_str().expect("utf-8");
    let expect_valid = |out: Output| {
        let text = String::from_utf8_lossy(&out.stdout);
        let d = trail.digest_count();
        has(&text, &format!("digests: {d}: {d} valid"));
        has(
            &text,
            &format!("log files: {0}: {0} valid", trail.logs.len()),
        );
        has(&text, "gaps: 1");
    };
    // The bucket into a lake on S3 (SSE-KMS), validated from there.
    let s3_lake = "s3://lake-bucket/trailglass";
    run(
        s3_lake,
        &["ingest", &src, "-q", "--lake-kms-key", &env.key_arn],
    );
    expect_valid(run(s3_lake, &["validate-logs", "--public-keys", keys]));
    // A local mirror (signatures kept in sidecars) into a local lake.
    let copies = w.path().join("copies");
    let copy = copies.join(BUCKET);
    let local = w.lake();
    let local = local.to_str().expect("utf-8");
    run(
        local,
        &["mirror", &src, copies.to_str().expect("utf-8"), "-q"],
    );
    assert!(
        copy.join(format!(
            "{}.metadata.json",
            trail.chain(ACCOUNTS[0], REGIONS[0])[0]
        ))
        .is_file()
    );
    run(local, &["ingest", copy.to_str().expect("utf-8"), "-q"]);
    expect_valid(run(local, &["validate-logs", "--public-keys", keys]));
}

#[test]
fn a_lake_from_before_uncompressed_hashes_still_ingests_and_reads_as_unhashed() {
    use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
    use std::future::IntoFuture;
    let (w, trail, keys) = setup();
    // The `objects` table as lakes written before `text_sha256` have it.
    let old = crate::schema::objects();
    let fields: Vec<_> = old
        .fields()
        .iter()
        .filter(|f| f.name() != "text_sha256")
        .cloned()
        .collect();
    let old = arrow::datatypes::Schema::new(fields);
    let kernel: deltalake::kernel::StructType = (&old).try_into_kernel().expect("schema");
    let dir = w.lake().join("objects");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let url = url::Url::from_directory_path(&dir).expect("url");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(
            deltalake::operations::create::CreateBuilder::new()
                .with_location(url.to_string())
                .with_table_name("objects")
                .with_columns(kernel.fields().cloned())
                .into_future(),
        )
        .expect("create the old objects table");
    let out = validate(&w, &trail, &keys, 1);
    let n = trail.logs.len();
    has(&out, &format!("log files: {n}: {n} unhashed"));
    has(
        &out,
        &format!(
            "unhashed log {}: ingested before uncompressed hashes were recorded",
            trail.logs[0]
        ),
    );
    let d = trail.digest_count();
    has(&out, &format!("digests: {d}: {d} valid"));
    assert_eq!(w.count("SELECT count(*) FROM objects"), n as i64);
    // Re-hashed from the source on request: everything is provable again.
    let root = trail.root.to_str().expect("utf-8");
    let keys = keys.to_str().expect("utf-8");
    let out = w.run_code(
        &["validate-logs", "--public-keys", keys, "--rehash", root],
        0,
    );
    let out = String::from_utf8_lossy(&out.stdout);
    has(&out, &format!("log files: {n}: {n} valid"));
    // A log file changed in the source since is modified, not silently re-blessed.
    let key = &trail.logs[3];
    let mut text = gunzip(&std::fs::read(trail.path(key)).expect("log"));
    text.push(b'\n');
    trail.write_file(key, &gzip(&text));
    let out = w.run_code(
        &["validate-logs", "--public-keys", keys, "--rehash", root],
        1,
    );
    has(
        &String::from_utf8_lossy(&out.stdout),
        &format!("modified log {key}"),
    );
}

#[test]
fn a_lake_that_starts_mid_chain_is_no_chain_break() {
    let (w, trail, keys) = setup();
    // Only the second day ingested: each chain's first digest in the lake points at one that
    // was never ingested. That is where the lake begins, not a deleted digest.
    w.ingest(&trail.root, &["--from", "2026-03-02"]);
    let keys = keys.to_str().expect("utf-8");
    let out = w.run_code(
        &[
            "validate-logs",
            "--public-keys",
            keys,
            "--from",
            "2026-03-02T01:00:00Z",
        ],
        0,
    );
    let out = String::from_utf8_lossy(&out.stdout);
    // Each of the four chains: the digests ending 2026-03-02T01:00 .. 2026-03-03T00:00.
    has(&out, "digests: 96: 96 valid");
    has(&out, "gaps: 0");
    has(&out, "result: valid");
}

/// `ops` is break-glass here: its long-term key is one session per account, over 48 hours and
/// both regions, whose actions come from every log file of its account.
fn ops_config(w: &Workdir) -> String {
    let p = w.path().join("trailglass.toml");
    std::fs::write(
        &p,
        "[breakglass]\nusers = [\"arn:aws:iam::*:user/ops\"]\nttl = \"1h\"\n",
    )
    .expect("config");
    p.to_str().expect("utf-8").to_string()
}

/// (account, integrity) of every session: from the stored all-history answer (`sessions`) and
/// evaluated from scratch (`sql`), which must agree.
fn session_integrity(w: &Workdir, config: &str) -> Vec<(String, String)> {
    let pairs = |out: Output| -> Vec<(String, String)> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("ndjson");
                let f = |k: &str| v[k].as_str().expect(k).to_string();
                (f("account"), f("integrity"))
            })
            .collect()
    };
    let stored = pairs(w.run_code(&["--config", config, "sessions", "--format", "ndjson"], 0));
    let out = w.run_code(
        &[
            "--config",
            config,
            "sql",
            "SELECT account, integrity FROM sessions ORDER BY start, session_id",
            "--format",
            "ndjson",
        ],
        0,
    );
    let fresh = pairs(out);
    assert_eq!(stored, fresh, "stored answer and a from-scratch run differ");
    stored
}

#[test]
fn sessions_carry_the_integrity_of_their_log_files() {
    let (w, trail, keys) = setup();
    let config = ops_config(&w);
    w.ingest(&trail.root, &["--config", &config]);
    let s = |a: &str, i: &str| (a.to_string(), i.to_string());
    // Nothing validated yet.
    assert_eq!(
        session_integrity(&w, &config),
        vec![s(ACCOUNTS[0], "unknown"), s(ACCOUNTS[1], "unknown")]
    );
    let keys = keys.to_str().expect("utf-8");
    w.run_code(
        &["--config", &config, "validate-logs", "--public-keys", keys],
        0,
    );
    assert_eq!(
        session_integrity(&w, &config),
        vec![s(ACCOUNTS[0], "valid"), s(ACCOUNTS[1], "valid")]
    );
    // A run over one account only: the other keeps its newest verdicts.
    w.run_code(
        &[
            "--config",
            &config,
            "validate-logs",
            "--public-keys",
            keys,
            "--accounts",
            ACCOUNTS[1],
        ],
        0,
    );
    assert_eq!(
        session_integrity(&w, &config),
        vec![s(ACCOUNTS[0], "valid"), s(ACCOUNTS[1], "valid")]
    );
}

#[test]
fn a_tampered_log_file_makes_its_session_invalid() {
    let (w, mut trail, keys) = setup();
    let config = ops_config(&w);
    // One byte of an account-0 file changed, and a file no digest lists added to account 1.
    let key = trail.logs[100].clone();
    assert!(key.contains(ACCOUNTS[0]));
    let mut text = gunzip(&std::fs::read(trail.path(&key)).expect("log"));
    let at = text
        .windows(11)
        .position(|b| b == b"ListBuckets")
        .expect("event name");
    text[at] = b'l';
    trail.write_file(&key, &gzip(&text));
    trail.write_log(ACCOUNTS[1], REGIONS[0], t(30, 40, 0), "injected");
    w.ingest(&trail.root, &["--config", &config]);
    let keys = keys.to_str().expect("utf-8");
    w.run_code(
        &["--config", &config, "validate-logs", "--public-keys", keys],
        1,
    );
    let s = |a: &str, i: &str| (a.to_string(), i.to_string());
    assert_eq!(
        session_integrity(&w, &config),
        vec![s(ACCOUNTS[0], "invalid"), s(ACCOUNTS[1], "not_covered")]
    );
}

/// (account, eventid) of every BG015 finding.
fn blind_spots(w: &Workdir, config: &str) -> Vec<(String, Option<String>, String)> {
    let out = w.run_code(&["--config", config, "findings", "--format", "ndjson"], 0);
    let mut got: Vec<(String, Option<String>, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("ndjson"))
        .filter(|v| v["rule_id"] == "BG015")
        .map(|v| {
            (
                v["account"].as_str().expect("account").to_string(),
                v["eventid"].as_str().map(str::to_string),
                v["summary"].as_str().expect("summary").to_string(),
            )
        })
        .collect();
    got.sort();
    got
}

#[test]
fn a_logging_blind_spot_during_a_session_is_bg015() {
    let (w, mut trail, _keys) = setup();
    let config = ops_config(&w);
    // Not blind spots: a denied stop and its restart; a stop never restarted in the data (the
    // events after it show logging went on).
    trail.write_trail_call(ACCOUNTS[1], t(5, 10, 0), "StopLogging", true);
    trail.write_trail_call(ACCOUNTS[1], t(5, 20, 0), "StartLogging", false);
    trail.write_trail_call(ACCOUNTS[1], t(40, 10, 0), "StopLogging", false);
    w.ingest(&trail.root, &["--config", &config]);
    // The digest gap of 111111111111/us-east-1 lies inside that account's session; the other
    // account's session has none.
    let spots = blind_spots(&w, &config);
    assert_eq!(spots.len(), 1, "{spots:?}");
    assert_eq!(spots[0].0, ACCOUNTS[0]);
    assert_eq!(spots[0].1, None);
    assert!(
        spots[0].2.starts_with(
            "no signed CloudTrail digest in 111111111111 us-east-1 from 2026-03-01T20:00:00Z to 2026-03-01T23:00:00Z (logging or digest delivery restarted), during a user session"
        ),
        "{spots:?}"
    );
    // A stop restarted an hour later, while the second account's session was active: a blind
    // spot of the whole account, named by the stopping call.
    let stop = trail.write_trail_call(ACCOUNTS[1], t(30, 10, 0), "StopLogging", false);
    trail.write_trail_call(ACCOUNTS[1], t(31, 15, 0), "StartLogging", false);
    w.ingest(&trail.root, &["--config", &config]);
    let spots = blind_spots(&w, &config);
    assert_eq!(spots.len(), 2, "{spots:?}");
    assert_eq!(spots[1].0, ACCOUNTS[1]);
    assert_eq!(spots[1].1.as_deref(), Some(stop.as_str()));
    assert!(
        spots[1].2.starts_with(
            "trail org-trail in 222222222222 stopped by StopLogging at 2026-03-02T06:10:00Z until 2026-03-02T07:15:00Z"
        ),
        "{spots:?}"
    );
    // A deleted digest leaves a hole in the chain: a blind spot too.
    let chain = trail.chain(ACCOUNTS[1], REGIONS[1]).to_vec();
    let w2 = Workdir::new();
    std::fs::remove_file(trail.path(&chain[10])).expect("delete");
    w2.ingest(&trail.root, &["--config", &config]);
    let spots = blind_spots(&w2, &config);
    assert!(
        spots.iter().any(|s| s.2.starts_with(
            "no signed CloudTrail digest in 222222222222 eu-west-1 from 2026-03-01T10:00:00Z to 2026-03-01T11:00:00Z (a digest of the chain is missing)"
        )),
        "{spots:?}"
    );
}
