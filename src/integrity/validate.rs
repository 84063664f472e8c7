//! Validate digest chains and the log files they cover against what was read (the lake's
//! `digests` and `objects`), without network access.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{Digest, KeySet, is_backfill, keys, log_stamp, sha256_hex, signing_string, trail_of};
use crate::decode::parse_time;
use crate::source::{Kind, classify};

/// A digest as read: where it was read from, its uncompressed bytes and the signature captured
/// beside it.
#[derive(Debug, Clone)]
pub struct DigestFile {
    /// The bucket it was read from (None when the lake does not know it).
    pub bucket: Option<String>,
    pub key: String,
    pub body: Vec<u8>,
    pub signature: Option<String>,
    pub signature_algorithm: Option<String>,
}

/// A log object as read, with the SHA-256 of its uncompressed bytes when ingest recorded it.
#[derive(Debug, Clone)]
pub struct LogObject {
    pub key: String,
    pub text_sha256: Option<String>,
}

/// The verdict on one digest or log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `digest` or `log`.
    pub kind: &'static str,
    pub key: String,
    pub account: Option<String>,
    pub region: Option<String>,
    /// `valid` or the first problem: for digests `bad_signature`, `unknown_key`, `no_signature`,
    /// `wrong_location`, `chain_break`, `previous_hash_mismatch`, `previous_signature_mismatch`,
    /// `unreadable`; for logs `modified`, `missing`, `not_covered`, `unhashed` (ingested before
    /// hashes were recorded). `unchecked` is a digest whose signature was not checked (no keys).
    pub status: &'static str,
    /// Every problem found, in words.
    pub detail: String,
    /// The key that verified a digest's signature, or that covers a log file's digest.
    pub fingerprint: Option<String>,
    /// For a log file, the digest that lists it.
    pub digest: Option<String>,
}

impl Row {
    pub fn is_valid(&self) -> bool {
        matches!(self.status, "valid" | "unchecked")
    }
}

/// A break in logging or digest delivery: a digest after the first of its chain whose
/// `previous*` fields are null. Not a failure, but a span with no signed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub account: Option<String>,
    pub region: Option<String>,
    pub trail: Option<String>,
    pub backfill: bool,
    /// The end of the last digest before the gap and the start of the one after it.
    pub from: String,
    pub to: String,
    /// The digest that restarted the chain.
    pub key: String,
}

/// Everything validation found.
#[derive(Debug, Default)]
pub struct Report {
    pub digests: Vec<Row>,
    pub logs: Vec<Row>,
    pub gaps: Vec<Gap>,
    /// Key file entries that could not be used.
    pub bad_keys: Vec<keys::BadKey>,
    /// Whether signatures were checked (public keys were given).
    pub signatures_checked: bool,
}

impl Report {
    pub fn all_valid(&self) -> bool {
        self.bad_keys.is_empty()
            && self.digests.iter().all(Row::is_valid)
            && self.logs.iter().all(Row::is_valid)
    }

    /// Counts by (kind, status), in a stable order.
    pub fn counts(&self) -> BTreeMap<(&'static str, &'static str), usize> {
        let mut m = BTreeMap::new();
        for r in self.digests.iter().chain(&self.logs) {
            *m.entry((r.kind, r.status)).or_default() += 1;
        }
        m
    }
}

/// A key's validity window is widened by this much: a digest is signed when its hour ends.
const KEY_MARGIN_SECONDS: f64 = 2.0 * 3600.0;

/// What to report on: digests whose end time is in `[from, to]` (microseconds) and the log files
/// they list, and log objects delivered in that window; the digests outside it are still used to
/// follow chains.
#[derive(Debug, Default, Clone, Copy)]
pub struct Window {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Window {
    fn contains(&self, t: Option<i64>) -> bool {
        match t {
            None => self.from.is_none() && self.to.is_none(),
            Some(t) => self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t <= e),
        }
    }
}

struct Parsed<'a> {
    file: &'a DigestFile,
    digest: Option<Digest>,
    end: Option<i64>,
    sha256: String,
}

/// Validate `digests` and the `logs` against each other. `keys` None: signatures are not
/// checked (reported `unchecked`).
pub fn validate(
    digests: &[DigestFile],
    logs: &[LogObject],
    keys: Option<&KeySet>,
    window: Window,
) -> Report {
    let mut report = Report {
        bad_keys: keys.map(|k| k.bad.clone()).unwrap_or_default(),
        signatures_checked: keys.is_some(),
        ..Default::default()
    };
    let parsed: Vec<Parsed> = digests
        .iter()
        .map(|f| {
            let digest = std::str::from_utf8(&f.body)
                .ok()
                .and_then(|t| Digest::parse(t).ok());
            let end = digest.as_ref().and_then(|d| parse_time(&d.digest_end_time));
            Parsed {
                file: f,
                digest,
                end,
                sha256: sha256_hex(&f.body),
            }
        })
        .collect();
    let by_key: HashMap<&str, &Parsed> = parsed.iter().map(|p| (p.file.key.as_str(), p)).collect();

    // Chains: per account, region, trail, and backfill or not, in time order.
    let mut chains: BTreeMap<_, Vec<&Parsed>> = BTreeMap::new();
    for p in parsed.iter().filter(|p| p.digest.is_some()) {
        let info = classify(&p.file.key);
        let chain = (
            info.account,
            info.region,
            trail_of(&p.file.key).map(str::to_string),
            is_backfill(&p.file.key),
        );
        chains.entry(chain).or_default().push(p);
    }
    let mut position: HashMap<&str, usize> = HashMap::new();
    for (chain, members) in &mut chains {
        members.sort_by(|a, b| (a.end, &a.file.key).cmp(&(b.end, &b.file.key)));
        for (i, p) in members.iter().enumerate() {
            position.insert(p.file.key.as_str(), i);
            let Some(d) = &p.digest else { continue };
            if i > 0 && d.starts_chain() && window.contains(p.end) {
                let before = members[i - 1].digest.as_ref();
                report.gaps.push(Gap {
                    account: chain.0.clone(),
                    region: chain.1.clone(),
                    trail: chain.2.clone(),
                    backfill: chain.3,
                    from: before
                        .map(|b| b.digest_end_time.clone())
                        .unwrap_or_default(),
                    to: d.digest_start_time.clone(),
                    key: p.file.key.clone(),
                });
            }
        }
    }

    let mut listed: HashSet<&str> = HashSet::new();
    for p in &parsed {
        if let Some(d) = &p.digest {
            listed.extend(d.log_files.iter().map(|f| f.s3_object.as_str()));
        }
    }
    let mut hashes: HashMap<&str, Vec<Option<&str>>> = HashMap::new();
    for o in logs {
        hashes
            .entry(o.key.as_str())
            .or_default()
            .push(o.text_sha256.as_deref());
    }

    for p in parsed.iter().filter(|p| window.contains(p.end)) {
        let info = classify(&p.file.key);
        let mut row = Row {
            kind: "digest",
            key: p.file.key.clone(),
            account: info.account.clone(),
            region: info.region.clone(),
            status: "valid",
            detail: String::new(),
            fingerprint: None,
            digest: None,
        };
        let mut problems: Vec<(&'static str, String)> = Vec::new();
        let Some(d) = &p.digest else {
            problems.push(("unreadable", "not a CloudTrail digest file".into()));
            report.digests.push(finish(row, problems));
            continue;
        };
        check_signature(p, d, keys, &mut row, &mut problems);
        // The signed location must be where the digest was read: a digest copied or moved to
        // another key would otherwise still verify.
        let bucket_ok = p
            .file
            .bucket
            .as_deref()
            .is_none_or(|b| b == d.digest_s3_bucket);
        if !bucket_ok || d.digest_s3_object != p.file.key {
            problems.push((
                "wrong_location",
                format!(
                    "signed for s3://{}/{} but read at {}{}",
                    d.digest_s3_bucket,
                    d.digest_s3_object,
                    p.file
                        .bucket
                        .as_deref()
                        .map(|b| format!("s3://{b}/"))
                        .unwrap_or_default(),
                    p.file.key
                ),
            ));
        }
        check_previous(
            p,
            d,
            &by_key,
            position.get(p.file.key.as_str()),
            &mut problems,
        );
        for f in &d.log_files {
            report
                .logs
                .push(log_row(f, p, &row, hashes.get(f.s3_object.as_str())));
        }
        report.digests.push(finish(row, problems));
    }

    // Log files no digest lists, delivered while digests of their account and region were.
    let mut spans: HashMap<(Option<String>, Option<String>), (i64, i64)> = HashMap::new();
    for p in &parsed {
        let (Some(d), Some(end)) = (&p.digest, p.end) else {
            continue;
        };
        let start = parse_time(&d.digest_start_time).unwrap_or(end);
        let info = classify(&p.file.key);
        let s = spans
            .entry((info.account, info.region))
            .or_insert((start, end));
        s.0 = s.0.min(start);
        s.1 = s.1.max(end);
    }
    let mut seen: HashSet<&str> = HashSet::new();
    for o in logs {
        if listed.contains(o.key.as_str()) || !seen.insert(o.key.as_str()) {
            continue;
        }
        let info = classify(&o.key);
        let stamp = log_stamp(&o.key);
        if info.kind != Kind::Log || !window.contains(stamp) {
            continue;
        }
        let covered_span = spans
            .get(&(info.account.clone(), info.region.clone()))
            .zip(stamp)
            .is_some_and(|(&(s, e), t)| t >= s && t <= e);
        if covered_span {
            report.logs.push(Row {
                kind: "log",
                key: o.key.clone(),
                account: info.account,
                region: info.region,
                status: "not_covered",
                detail: "in the lake, but listed by no digest of its account and region".into(),
                fingerprint: None,
                digest: None,
            });
        }
    }
    report
}

fn finish(mut row: Row, problems: Vec<(&'static str, String)>) -> Row {
    if let Some((status, _)) = problems.first() {
        row.status = status;
        row.detail = problems
            .iter()
            .map(|(s, d)| format!("{s}: {d}"))
            .collect::<Vec<_>>()
            .join("; ");
    }
    row
}

fn check_signature(
    p: &Parsed,
    d: &Digest,
    keys: Option<&KeySet>,
    row: &mut Row,
    problems: &mut Vec<(&'static str, String)>,
) {
    let Some(sig_hex) = p.file.signature.as_deref() else {
        problems.push((
            "no_signature",
            "no signature was captured beside the digest".into(),
        ));
        return;
    };
    let Some(keys) = keys else {
        row.status = "unchecked";
        return;
    };
    if let Some(alg) = &p.file.signature_algorithm
        && alg != "SHA256withRSA"
    {
        problems.push((
            "bad_signature",
            format!("unknown signature algorithm {alg}"),
        ));
        return;
    }
    let fp = d
        .digest_public_key_fingerprint
        .as_deref()
        .unwrap_or_default();
    let at = p.end.map(|t| t as f64 / 1e6);
    let Some(key) = keys.find(fp, at, KEY_MARGIN_SECONDS) else {
        let why = match keys.bad.iter().find(|b| b.claimed.eq_ignore_ascii_case(fp)) {
            Some(b) => format!("the key file's entry for {fp} is unusable: {}", b.reason),
            None => format!(
                "no public key with fingerprint {fp} valid at {}",
                d.digest_end_time
            ),
        };
        problems.push(("unknown_key", why));
        return;
    };
    row.fingerprint = Some(key.fingerprint.clone());
    let ok = hex::decode(sig_hex.trim())
        .is_ok_and(|sig| keys::verify(key, signing_string(d, &p.file.body).as_bytes(), &sig));
    if !ok {
        problems.push((
            "bad_signature",
            format!("the signature does not verify with key {}", key.fingerprint),
        ));
    }
}

fn check_previous(
    p: &Parsed,
    d: &Digest,
    by_key: &HashMap<&str, &Parsed>,
    position: Option<&usize>,
    problems: &mut Vec<(&'static str, String)>,
) {
    let (Some(prev_key), Some(prev_sig)) =
        (&d.previous_digest_s3_object, &d.previous_digest_signature)
    else {
        return;
    };
    match by_key.get(prev_key.as_str()) {
        Some(prev) => {
            if d.previous_digest_hash_value.as_deref() != Some(prev.sha256.as_str()) {
                problems.push((
                    "previous_hash_mismatch",
                    format!(
                        "previousDigestHashValue {} but {prev_key} hashes to {}",
                        d.previous_digest_hash_value.as_deref().unwrap_or("null"),
                        prev.sha256
                    ),
                ));
            }
            if prev.file.signature.as_deref().map(str::trim) != Some(prev_sig.as_str()) {
                problems.push((
                    "previous_signature_mismatch",
                    format!("previousDigestSignature is not {prev_key}'s signature"),
                ));
            }
        }
        // The first digest the lake holds of its chain points before what was ingested: that
        // is where reading starts, not a break.
        None if position.is_none_or(|&i| i == 0) => {}
        None => problems.push((
            "chain_break",
            format!(
                "the previous digest {prev_key} is not in the lake ({} is not the start of logging)",
                p.file.key
            ),
        )),
    }
}

fn log_row(
    f: &super::DigestLogFile,
    p: &Parsed,
    digest_row: &Row,
    hashes: Option<&Vec<Option<&str>>>,
) -> Row {
    let info = classify(&f.s3_object);
    let (status, detail) = match hashes {
        None => (
            "missing",
            "listed by its digest, not in the lake".to_string(),
        ),
        Some(hs) if hs.iter().all(Option::is_none) => (
            "unhashed",
            "ingested before uncompressed hashes were recorded".to_string(),
        ),
        Some(hs) => match hs
            .iter()
            .flatten()
            .find(|h| !h.eq_ignore_ascii_case(&f.hash_value))
        {
            Some(h) => (
                "modified",
                format!(
                    "its uncompressed bytes hash to {h}, the digest says {}",
                    f.hash_value
                ),
            ),
            None => ("valid", String::new()),
        },
    };
    Row {
        kind: "log",
        key: f.s3_object.clone(),
        account: info.account,
        region: info.region,
        status,
        detail,
        fingerprint: digest_row.fingerprint.clone(),
        digest: Some(p.file.key.clone()),
    }
}
