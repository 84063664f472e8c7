//! Log file integrity, offline (SPEC §12, CLOUDTRAIL.md §3): CloudTrail's digest files, the
//! exact text they sign, the public keys that check them, and the validation of digest chains and
//! the log files they hash against what the lake holds.
//!
//! The facts: each digest lists the SHA-256 of its hour's log files' *uncompressed* bytes and
//! chains to the previous digest (its key, the SHA-256 of its uncompressed bytes, its signature);
//! a starting digest has `null` previous fields; backfill digests (`…_backfill.json.gz`) form a
//! chain of their own. The signature travels outside the digest (S3 metadata, or a sidecar in a
//! local copy) and signs `digestEndTime \n bucket/key \n hex(SHA-256 of the digest) \n
//! previousDigestSignature` with RSASSA-PKCS1-v1_5 over SHA-256.

pub mod keys;
mod validate;

use anyhow::{Context, Result};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

pub use keys::{BadKey, KeySet, PublicKey};
pub use validate::{DigestFile, Gap, LogObject, Report, Row, Window, validate};

/// The fields of a digest file that validation uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Digest {
    pub aws_account_id: Option<String>,
    pub digest_start_time: String,
    pub digest_end_time: String,
    pub digest_s3_bucket: String,
    pub digest_s3_object: String,
    pub digest_public_key_fingerprint: Option<String>,
    pub digest_signature_algorithm: Option<String>,
    #[serde(default)]
    pub previous_digest_s3_bucket: Option<String>,
    #[serde(default)]
    pub previous_digest_s3_object: Option<String>,
    #[serde(default)]
    pub previous_digest_hash_value: Option<String>,
    #[serde(default)]
    pub previous_digest_signature: Option<String>,
    #[serde(default)]
    pub log_files: Vec<DigestLogFile>,
}

/// One `logFiles[]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestLogFile {
    pub s3_bucket: String,
    pub s3_object: String,
    pub hash_value: String,
    pub hash_algorithm: Option<String>,
}

impl Digest {
    /// Parse a digest's uncompressed text.
    pub fn parse(text: &str) -> Result<Digest> {
        serde_json::from_str(text).context("not a CloudTrail digest file")
    }

    /// A starting digest (or the first after logging resumed): its `previous*` fields are null.
    pub fn starts_chain(&self) -> bool {
        self.previous_digest_signature.is_none()
    }
}

/// Hex SHA-256, the form digests give hashes in.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The exact text a digest's signature signs. `body` is the digest's uncompressed bytes; a
/// starting digest's previous signature is the literal `null` (as the AWS CLI writes it).
pub fn signing_string(d: &Digest, body: &[u8]) -> String {
    format!(
        "{}\n{}/{}\n{}\n{}",
        d.digest_end_time,
        d.digest_s3_bucket,
        d.digest_s3_object,
        sha256_hex(body),
        d.previous_digest_signature.as_deref().unwrap_or("null")
    )
}

/// Whether a digest's key names a backfill digest, which chains separately.
pub fn is_backfill(key: &str) -> bool {
    key.ends_with("_backfill.json.gz") || key.ends_with("_backfill.json")
}

/// The trail name in a digest's file name,
/// `ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_STAMP[_backfill].json.gz` (trail names can
/// hold underscores, so it is what lies between the region and the last two fields).
pub fn trail_of(key: &str) -> Option<&str> {
    let name = key.rsplit('/').next()?;
    let name = name
        .strip_suffix(".json.gz")
        .or_else(|| name.strip_suffix(".json"))?;
    let name = name.strip_suffix("_backfill").unwrap_or(name);
    let (_, rest) = name.split_once("_CloudTrail-Digest_")?;
    let (_region, rest) = rest.split_once('_')?;
    let (rest, _stamp) = rest.rsplit_once('_')?;
    let (trail, _home) = rest.rsplit_once('_')?;
    Some(trail)
}

/// The delivery stamp in a log file's name (`…_YYYYMMDDTHHmmZ_UNIQUE.json.gz`), as microseconds.
pub fn log_stamp(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?;
    // By bytes: a key is input data, and slicing text at a byte offset can split a character.
    let stamp = name.split('_').find(|p| {
        let b = p.as_bytes();
        b.len() == 14 && b[8] == b'T' && b[13] == b'Z' && b[..8].iter().all(u8::is_ascii_digit)
    })?;
    let t = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%MZ").ok()?;
    Some(t.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/realdata/digest-validation"
    );

    #[test]
    fn documented_key_has_its_documented_fingerprint() {
        let text =
            std::fs::read_to_string(format!("{FIXTURES}/aws-cli-list-public-keys-example.json"))
                .unwrap();
        let set = KeySet::parse(&text).unwrap();
        assert!(set.bad.is_empty(), "{:?}", set.bad);
        assert_eq!(set.keys.len(), 1);
        let k = &set.keys[0];
        assert_eq!(k.fingerprint, "7f3f401420072e50a65a141430817ab3");
        // The documented key is PKCS#1 (2048-bit): used as is.
        assert_eq!(k.pkcs1, k.der);
        assert_eq!(k.valid_from, Some(1453076702.0));
        assert!(
            set.find(
                "7F3F401420072E50A65A141430817AB3",
                Some(1453076702.0 + 10.0),
                0.0
            )
            .is_some()
        );
        assert!(
            set.find(
                "7f3f401420072e50a65a141430817ab3",
                Some(1455668702.0 + 7200.0),
                3600.0
            )
            .is_none()
        );
    }

    #[test]
    fn spki_key_yields_its_pkcs1_and_a_fingerprint_over_the_spki_bytes() {
        let text =
            std::fs::read_to_string(format!("{FIXTURES}/aws-cli-list-public-keys-example.json"))
                .unwrap();
        let pkcs1 = KeySet::parse(&text).unwrap().keys.remove(0).der;
        // Wrap it: SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING { 0, RSAPublicKey } }.
        let alg = [
            &[0x30, 0x0d][..],
            &[
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
            ],
        ]
        .concat();
        let bits = [
            &[0x03, 0x82][..],
            &((pkcs1.len() + 1) as u16).to_be_bytes(),
            &[0],
            &pkcs1,
        ]
        .concat();
        let inner = [alg, bits].concat();
        let spki = [
            &[0x30, 0x82][..],
            &(inner.len() as u16).to_be_bytes(),
            &inner,
        ]
        .concat();
        use base64::Engine;
        let json = serde_json::json!({"PublicKeyList": [{
            "Value": base64::engine::general_purpose::STANDARD.encode(&spki),
            "Fingerprint": keys::fingerprint(&spki),
            "ValidityStartTime": "2016-01-18T00:25:02Z",
        }]});
        let set = KeySet::parse(&json.to_string()).unwrap();
        assert!(set.bad.is_empty(), "{:?}", set.bad);
        assert_eq!(set.keys[0].pkcs1, pkcs1);
        assert_eq!(set.keys[0].fingerprint, keys::fingerprint(&spki));
        assert_eq!(set.keys[0].valid_from, Some(1453076702.0));
    }

    #[test]
    fn key_with_a_wrong_fingerprint_is_named_not_used() {
        let text =
            std::fs::read_to_string(format!("{FIXTURES}/aws-cli-list-public-keys-example.json"))
                .unwrap()
                .replace(
                    "7f3f401420072e50a65a141430817ab3",
                    "00000000000000000000000000000000",
                );
        let set = KeySet::parse(&text).unwrap();
        assert!(set.keys.is_empty());
        assert_eq!(set.bad[0].claimed, "00000000000000000000000000000000");
        assert!(
            set.bad[0]
                .reason
                .contains("7f3f401420072e50a65a141430817ab3"),
            "{}",
            set.bad[0].reason
        );
        let garbage = r#"{"PublicKeyList":[{"Value":"AAAA","Fingerprint":"x"}]}"#;
        assert!(
            KeySet::parse(garbage).unwrap().bad[0]
                .reason
                .contains("DER")
        );
        assert!(KeySet::parse("{}").is_err());
    }

    #[test]
    fn documented_digests_parse() {
        for (n, files, starts) in [(1, 1, false), (2, 0, false)] {
            let text = std::fs::read_to_string(format!(
                "{FIXTURES}/cloudtrail-user-guide__digest_example_{n}.json"
            ))
            .unwrap();
            let d = Digest::parse(&text).unwrap();
            assert_eq!(d.aws_account_id.as_deref(), Some("111122223333"));
            assert_eq!(
                d.digest_public_key_fingerprint.as_deref(),
                Some("31e8b5433410dfb61a9dc45cc65b22ff")
            );
            assert_eq!(d.log_files.len(), files);
            assert_eq!(d.starts_chain(), starts);
            assert_eq!(
                d.previous_digest_hash_value.as_ref().map(String::len),
                Some(64)
            );
            assert_eq!(
                trail_of(&d.digest_s3_object),
                Some(if n == 1 {
                    "your-trail-name"
                } else {
                    "example-trail-name"
                })
            );
            let s = signing_string(&d, text.as_bytes());
            let lines: Vec<&str> = s.split('\n').collect();
            assert_eq!(lines.len(), 4);
            assert_eq!(lines[0], d.digest_end_time);
            assert_eq!(
                lines[1],
                format!("{}/{}", d.digest_s3_bucket, d.digest_s3_object)
            );
            assert_eq!(lines[2], sha256_hex(text.as_bytes()));
            assert_eq!(Some(lines[3]), d.previous_digest_signature.as_deref());
        }
        let first = r#"{"digestStartTime":"a","digestEndTime":"2015-08-17T15:01:31Z","digestS3Bucket":"b","digestS3Object":"k",
            "previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestSignature":null,"logFiles":[]}"#;
        let d = Digest::parse(first).unwrap();
        assert!(d.starts_chain());
        assert!(signing_string(&d, b"x").ends_with("\nnull"));
    }

    #[test]
    fn names_and_stamps() {
        assert_eq!(
            trail_of(
                "AWSLogs/1/CloudTrail-Digest/eu-west-1/2025/03/06/1_CloudTrail-Digest_eu-west-1_my_trail_us-east-1_20250306T010203Z_backfill.json.gz"
            ),
            Some("my_trail")
        );
        assert!(is_backfill("x_20250306T010203Z_backfill.json.gz"));
        // Multi-byte text where a stamp could be is no stamp, and no panic.
        assert_eq!(log_stamp("a/1_CloudTrail_r_20250é1T1445Z_x.json.gz"), None);
        assert_eq!(
            log_stamp(
                "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_us-east-2_20150817T1445Z_9nYN7gp2eWAJHIfT.json.gz"
            ),
            crate::decode::parse_time("2015-08-17T14:45:00Z")
        );
    }
}
