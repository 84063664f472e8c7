//! CloudTrail's digest-signing public keys, from saved `aws cloudtrail list-public-keys` output
//! (CLOUDTRAIL.md §3): base64 DER, as PKCS#1 `RSAPublicKey` or as `SubjectPublicKeyInfo`, each
//! named by its fingerprint, the MD5 of the DER bytes as delivered.

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use md5::{Digest, Md5};
use serde::Deserialize;

/// One public key, with the fingerprint computed from its bytes.
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// MD5 of the DER bytes, lower-case hex: what digests name in `digestPublicKeyFingerprint`.
    pub fingerprint: String,
    /// The DER bytes as delivered (PKCS#1 or SPKI).
    pub der: Vec<u8>,
    /// The key as PKCS#1 `RSAPublicKey` DER, the form the verifier takes.
    pub pkcs1: Vec<u8>,
    /// Validity window, seconds since the epoch (absent when the file does not say).
    pub valid_from: Option<f64>,
    pub valid_to: Option<f64>,
}

/// A key file entry that cannot be used, and why (reported, never silently dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadKey {
    /// The fingerprint the file claims for it.
    pub claimed: String,
    pub reason: String,
}

/// The keys of one `list-public-keys` file.
#[derive(Debug, Default)]
pub struct KeySet {
    pub keys: Vec<PublicKey>,
    pub bad: Vec<BadKey>,
}

#[derive(Deserialize)]
struct ListOutput {
    #[serde(rename = "PublicKeyList")]
    list: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "Value")]
    value: String,
    #[serde(rename = "Fingerprint")]
    fingerprint: Option<String>,
    #[serde(rename = "ValidityStartTime")]
    start: Option<TimeValue>,
    #[serde(rename = "ValidityEndTime")]
    end: Option<TimeValue>,
}

/// The CLI prints times as epoch seconds by default and as ISO text with `--cli-timestamp-format`.
#[derive(Deserialize)]
#[serde(untagged)]
enum TimeValue {
    Epoch(f64),
    Text(String),
}

impl TimeValue {
    fn seconds(&self) -> Option<f64> {
        match self {
            TimeValue::Epoch(s) => Some(*s),
            TimeValue::Text(t) => chrono::DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|d| d.timestamp() as f64),
        }
    }
}

/// MD5 of the DER bytes, lower-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Md5::digest(der))
}

impl KeySet {
    /// Parse `list-public-keys` JSON. An entry whose bytes do not match its fingerprint, or that
    /// is not an RSA public key, goes to `bad` with the reason; a file that is not that JSON at
    /// all is an error.
    pub fn parse(json: &str) -> Result<KeySet> {
        let out: ListOutput = serde_json::from_str(json)
            .context("not `aws cloudtrail list-public-keys` output (no PublicKeyList)")?;
        let mut set = KeySet::default();
        for e in out.list {
            let claimed = e.fingerprint.clone().unwrap_or_default().to_lowercase();
            match key_from_entry(&e) {
                Ok(k) if !claimed.is_empty() && k.fingerprint != claimed => set.bad.push(BadKey {
                    claimed,
                    reason: format!(
                        "the key's bytes have fingerprint {}, not the {} the file gives",
                        k.fingerprint,
                        e.fingerprint.as_deref().unwrap_or_default()
                    ),
                }),
                Ok(k) => set.keys.push(k),
                Err(err) => set.bad.push(BadKey {
                    claimed,
                    reason: format!("{err:#}"),
                }),
            }
        }
        Ok(set)
    }

    /// Read and parse a key file.
    pub fn load(path: &std::path::Path) -> Result<KeySet> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the public key file {}", path.display()))?;
        KeySet::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// The key with this fingerprint whose validity window (widened by `margin` seconds either
    /// side: a digest is signed at the end of its hour, and keys rotate) contains `at`.
    pub fn find(&self, fingerprint: &str, at: Option<f64>, margin: f64) -> Option<&PublicKey> {
        self.keys.iter().find(|k| {
            k.fingerprint.eq_ignore_ascii_case(fingerprint)
                && at.is_none_or(|t| {
                    k.valid_from.is_none_or(|f| t >= f - margin)
                        && k.valid_to.is_none_or(|e| t <= e + margin)
                })
        })
    }
}

fn key_from_entry(e: &Entry) -> Result<PublicKey> {
    let der = base64::engine::general_purpose::STANDARD
        .decode(e.value.trim())
        .context("the key Value is not base64")?;
    let pkcs1 = rsa_pkcs1(&der)?.to_vec();
    Ok(PublicKey {
        fingerprint: fingerprint(&der),
        der,
        pkcs1,
        valid_from: e.start.as_ref().and_then(TimeValue::seconds),
        valid_to: e.end.as_ref().and_then(TimeValue::seconds),
    })
}

/// The OID 1.2.840.113549.1.1.1 (rsaEncryption), DER-encoded with its tag and length.
const RSA_ENCRYPTION_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

/// The PKCS#1 `RSAPublicKey` inside `der`: `der` itself when it is one (SEQUENCE of two
/// INTEGERs), or the BIT STRING of an RSA `SubjectPublicKeyInfo`.
pub fn rsa_pkcs1(der: &[u8]) -> Result<&[u8]> {
    let (tag, body, rest) = tlv(der)?;
    if tag != 0x30 || !rest.is_empty() {
        bail!("not a DER public key (no outer SEQUENCE)");
    }
    let (first, first_body, after) = tlv(body)?;
    match first {
        // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
        0x02 => {
            let (t, _, tail) = tlv(after)?;
            if t != 0x02 || !tail.is_empty() {
                bail!("not an RSA public key (PKCS#1 needs modulus and exponent)");
            }
            Ok(der)
        }
        // SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier, BIT STRING }
        0x30 => {
            if !first_body.starts_with(RSA_ENCRYPTION_OID) {
                bail!("not an RSA key (SubjectPublicKeyInfo of another algorithm)");
            }
            let (t, bits, tail) = tlv(after)?;
            if t != 0x03 || !tail.is_empty() {
                bail!("SubjectPublicKeyInfo without its BIT STRING");
            }
            match bits.split_first() {
                Some((0, key)) => {
                    rsa_pkcs1(key)?;
                    Ok(key)
                }
                _ => bail!("SubjectPublicKeyInfo BIT STRING has unused bits"),
            }
        }
        t => Err(anyhow!("not a DER public key (unexpected tag {t:#04x})")),
    }
}

/// One DER element: (tag, contents, the bytes after it).
fn tlv(b: &[u8]) -> Result<(u8, &[u8], &[u8])> {
    let short = || anyhow!("truncated DER");
    let (&tag, rest) = b.split_first().ok_or_else(short)?;
    let (&len0, mut rest) = rest.split_first().ok_or_else(short)?;
    let len = if len0 < 0x80 {
        len0 as usize
    } else {
        let n = (len0 & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            bail!("bad DER length");
        }
        let len = rest[..n].iter().fold(0usize, |a, &d| (a << 8) | d as usize);
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(short());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// Does `signature` sign `message` under `key` (RSASSA-PKCS1-v1_5, SHA-256)?
pub fn verify(key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        &key.pkcs1,
    )
    .verify(message, signature)
    .is_ok()
}
