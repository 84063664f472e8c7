//! Signing `manifest.json` and checking it offline: a local key (Ed25519 from `trailglass
//! keygen`, or an RSA key of the organisation's), or a KMS key (ECDSA P-256 or RSA).
//!
//! Formats are the ones OpenSSL reads, so an auditor needs nothing of trailglass: the private key
//! is PKCS#8 PEM (`PRIVATE KEY`), the public key SubjectPublicKeyInfo PEM (`PUBLIC KEY`), and
//! `manifest.sig` holds the signature over the exact bytes of `manifest.json`: raw 64 bytes for
//! Ed25519 (`openssl pkeyutl -verify -pubin -inkey manifest.pub -rawin -in manifest.json
//! -sigfile manifest.sig`), DER for ECDSA P-256 / SHA-256, and for RSA the RSASSA-PSS signature
//! with SHA-256, MGF1-SHA-256 and a 32-byte salt, the parameters of KMS's RSASSA_PSS_SHA_256.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ED25519, Ed25519KeyPair, KeyPair, RSA_PSS_2048_8192_SHA256,
    RSA_PSS_SHA256, RsaKeyPair, UnparsedPublicKey,
};

use crate::error::Error;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// DER prefix of a P-256 SubjectPublicKeyInfo (RFC 5480, uncompressed point): 65 bytes follow.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// DER prefix of an Ed25519 PKCS#8 v1 private key (RFC 8410 §7): the 32-byte seed follows.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// PEM text of `der` under `label`, 64 characters a line (RFC 7468).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside the first `label` block of `text`.
pub fn pem_decode(label: &str, text: &str) -> Result<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| anyhow!("no {begin} line"))?
        + begin.len();
    let stop = text[start..]
        .find(&end)
        .ok_or_else(|| anyhow!("no {end} line"))?
        + start;
    let b64: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| anyhow!("the {label} block is not base64: {e}"))
}

/// A public key that can check a manifest signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
}

impl PublicKey {
    pub fn ed25519(raw: &[u8]) -> PublicKey {
        let mut spki = ED25519_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(raw);
        PublicKey { spki }
    }

    /// Parse PEM text (`PUBLIC KEY`): an Ed25519, P-256 or RSA key.
    pub fn from_pem(text: &str) -> Result<PublicKey> {
        let spki = pem_decode("PUBLIC KEY", text)?;
        let k = PublicKey { spki };
        k.algorithm()?;
        Ok(k)
    }

    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.spki)
    }

    /// SHA-256 of the DER key: how a key is named in messages and the manifest.
    pub fn fingerprint(&self) -> String {
        super::manifest::sha256_hex(&self.spki)
    }

    /// The PKCS#1 `RSAPublicKey` of an RSA SubjectPublicKeyInfo.
    fn rsa(&self) -> Option<&[u8]> {
        crate::integrity::keys::rsa_pkcs1(&self.spki)
            .ok()
            .filter(|k| k.len() < self.spki.len())
    }

    /// `ed25519` (local keys), `ecdsa-p256-sha256` (KMS keys, DER signatures) or
    /// `rsa-pss-sha256` (KMS or local RSA keys; RSASSA-PSS, SHA-256, 32-byte salt).
    pub fn algorithm(&self) -> Result<&'static str> {
        if self.spki.len() == 44 && self.spki.starts_with(&ED25519_SPKI_PREFIX) {
            Ok("ed25519")
        } else if self.spki.len() == 91 && self.spki.starts_with(&P256_SPKI_PREFIX) {
            Ok("ecdsa-p256-sha256")
        } else if self.rsa().is_some() {
            Ok("rsa-pss-sha256")
        } else {
            bail!("not an Ed25519, P-256 or RSA public key")
        }
    }

    /// Whether `sig` is this key's signature over `msg`. RSA-PSS is checked with the salt as
    /// long as the digest, as KMS and this module sign: ring accepts no other salt length.
    pub fn verifies(&self, msg: &[u8], sig: &[u8]) -> bool {
        let (alg, key): (&dyn ring::signature::VerificationAlgorithm, &[u8]) =
            match self.algorithm() {
                Ok("ed25519") => (&ED25519, &self.spki[12..]),
                Ok("ecdsa-p256-sha256") => (&ECDSA_P256_SHA256_ASN1, &self.spki[26..]),
                Ok("rsa-pss-sha256") => match self.rsa() {
                    Some(k) => (&RSA_PSS_2048_8192_SHA256, k),
                    None => return false,
                },
                _ => return false,
            };
        UnparsedPublicKey::new(alg, key).verify(msg, sig).is_ok()
    }
}

/// A local signing key: Ed25519 (`keygen`), or RSA (signed like KMS's RSASSA_PSS_SHA_256).
pub enum LocalKey {
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl LocalKey {
    /// A new key and its PKCS#8 v1 DER (RFC 8410), the form OpenSSL reads: ring makes v2
    /// (RFC 5958, with the public key), which OpenSSL 3.0 refuses, so the seed is re-wrapped.
    pub fn generate() -> Result<(LocalKey, Vec<u8>)> {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| anyhow!("the system random source failed"))?;
        let v2 = doc.as_ref();
        let seed = v2
            .get(16..48)
            .filter(|_| v2.get(5..16) == Some(&PKCS8_V1_PREFIX[5..]))
            .ok_or_else(|| anyhow!("unexpected PKCS#8 layout from the key generator"))?;
        let mut der = PKCS8_V1_PREFIX.to_vec();
        der.extend_from_slice(seed);
        Ok((LocalKey::from_pkcs8(&der)?, der))
    }

    /// From PKCS#8 DER: Ed25519 (v1 as `openssl genpkey -algorithm ed25519` writes, or v2), or
    /// RSA of 2048 to 4096 bits (`openssl genpkey -algorithm RSA`).
    pub fn from_pkcs8(der: &[u8]) -> Result<LocalKey> {
        match Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            Ok(pair) => Ok(LocalKey::Ed25519(pair)),
            Err(ed) => RsaKeyPair::from_pkcs8(der)
                .map(LocalKey::Rsa)
                .map_err(|rsa| {
                    anyhow!("neither an Ed25519 ({ed}) nor an RSA ({rsa}) PKCS#8 private key")
                }),
        }
    }

    /// Read a `PRIVATE KEY` PEM file.
    pub fn read(path: &Path) -> Result<LocalKey> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the signing key {}", path.display()))
            .map_err(|e| Error::Usage(format!("{e:#}")))?;
        pem_decode("PRIVATE KEY", &text)
            .and_then(|der| LocalKey::from_pkcs8(&der))
            .map_err(|e| {
                Error::Usage(format!(
                    "{} is not an Ed25519 or RSA private key in PEM: {e:#} (make one with `trailglass keygen --out FILE`)",
                    path.display()
                ))
                .into()
            })
    }

    pub fn public(&self) -> PublicKey {
        match self {
            LocalKey::Ed25519(pair) => PublicKey::ed25519(pair.public_key().as_ref()),
            LocalKey::Rsa(pair) => {
                // SubjectPublicKeyInfo { rsaEncryption, NULL } around the PKCS#1 key.
                let pkcs1 = pair.public_key().as_ref();
                let mut bits = vec![0u8];
                bits.extend_from_slice(pkcs1);
                let alg = der(0x30, &RSA_ALGORITHM_ID);
                let spki = der(0x30, &[alg, der(0x03, &bits)].concat());
                PublicKey { spki }
            }
        }
    }

    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        match self {
            LocalKey::Ed25519(pair) => Ok(pair.sign(msg).as_ref().to_vec()),
            LocalKey::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public().modulus_len()];
                pair.sign(
                    &RSA_PSS_SHA256,
                    &ring::rand::SystemRandom::new(),
                    msg,
                    &mut sig,
                )
                .map_err(|_| anyhow!("RSA signing failed"))?;
                Ok(sig)
            }
        }
    }
}

/// The rsaEncryption OID and NULL parameters (the body of an AlgorithmIdentifier).
const RSA_ALGORITHM_ID: [u8; 13] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// One DER element of `tag` around `body`.
fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = body.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let len: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | len.len() as u8);
        out.extend_from_slice(&len);
    }
    out.extend_from_slice(body);
    out
}

/// Whoever signs a manifest: a local key or a KMS key.
pub enum Signer {
    Local(LocalKey),
    Kms(super::kms::KmsSigner),
}

impl Signer {
    pub fn public(&self) -> PublicKey {
        match self {
            Signer::Local(k) => k.public(),
            Signer::Kms(k) => k.public.clone(),
        }
    }

    pub async fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        match self {
            Signer::Local(k) => k.sign(msg),
            Signer::Kms(k) => k.sign(msg).await,
        }
    }
}

/// Write `path` (the private key, PEM, mode 0600, never over an existing file) and `path.pub`.
pub fn keygen(path: &Path, force: bool) -> Result<PublicKey> {
    let public_path = pub_path(path);
    for p in [path, public_path.as_path()] {
        if !force && std::fs::symlink_metadata(p).is_ok() {
            return Err(Error::Usage(format!(
                "{} exists; pass --force to replace it",
                p.display()
            ))
            .into());
        }
    }
    let (key, der) = LocalKey::generate()?;
    let public = key.public();
    write_new(
        path,
        pem_encode("PRIVATE KEY", &der).as_bytes(),
        0o600,
        force,
    )?;
    write_new(&public_path, public.to_pem().as_bytes(), 0o644, force)?;
    Ok(public)
}

/// `FILE.pub` beside `FILE`.
pub fn pub_path(path: &Path) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".pub");
    s.into()
}

fn write_new(path: &Path, bytes: &[u8], mode: u32, replace: bool) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if replace {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot replace {}", path.display()));
            }
            _ => {}
        }
    }
    // Created with its final mode (no window in which a private key is readable by others), and
    // never through a symlink.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_round_trip_through_pem() {
        let (key, der) = LocalKey::generate().unwrap();
        let pem = pem_encode("PRIVATE KEY", &der);
        let again = LocalKey::from_pkcs8(&pem_decode("PRIVATE KEY", &pem).unwrap()).unwrap();
        let public = PublicKey::from_pem(&key.public().to_pem()).unwrap();
        assert_eq!(public, again.public());
        let sig = again.sign(b"manifest").unwrap();
        assert_eq!(sig.len(), 64);
        assert!(public.verifies(b"manifest", &sig));
        assert!(!public.verifies(b"manifest!", &sig));
        let (other, _) = LocalKey::generate().unwrap();
        assert!(!other.public().verifies(b"manifest", &sig));
    }

    /// `openssl ARGS` run in `dir`, required to succeed.
    fn openssl_in(dir: &Path) -> impl Fn(&[&str]) + '_ {
        move |args| {
            let o = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl is installed");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    }

    /// A directory with a message `m`, a private key `k.pem` made by `openssl GEN -out k.pem`,
    /// and its public key `k.pub`, which is returned as read by [`PublicKey::from_pem`].
    fn openssl_key(generate: &[&str]) -> (tempfile::TempDir, PublicKey) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m"), b"manifest bytes").unwrap();
        {
            let run = openssl_in(dir.path());
            run(&[generate, &["-out", "k.pem"]].concat());
            run(&["pkey", "-in", "k.pem", "-pubout", "-out", "k.pub"]);
        }
        let key = PublicKey::from_pem(&std::fs::read_to_string(dir.path().join("k.pub")).unwrap())
            .unwrap();
        (dir, key)
    }

    #[test]
    fn p256_signatures_made_by_openssl_verify() {
        // The same key type and signature encoding as an ECC_NIST_P256 KMS key's
        // (SubjectPublicKeyInfo, DER ECDSA over SHA-256), made independently by OpenSSL.
        let (dir, key) = openssl_key(&["ecparam", "-name", "prime256v1", "-genkey", "-noout"]);
        openssl_in(dir.path())(&["dgst", "-sha256", "-sign", "k.pem", "-out", "m.sig", "m"]);
        assert_eq!(key.algorithm().unwrap(), "ecdsa-p256-sha256");
        let sig = std::fs::read(dir.path().join("m.sig")).unwrap();
        assert!(key.verifies(b"manifest bytes", &sig));
        assert!(!key.verifies(b"manifest bytes!", &sig));
    }

    #[test]
    fn rsa_pss_signatures_made_by_openssl_verify_with_kms_parameters() {
        // KMS's RSASSA_PSS_SHA_256 (SHA-256, MGF1-SHA-256, 32-byte salt), made independently by
        // OpenSSL; a signature with another salt length (OpenSSL's and moto's maximum) is not one.
        let (dir, key) = openssl_key(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ]);
        let run = openssl_in(dir.path());
        // `openssl dgst` with PSS: (-sign k.pem -out SIG) or (-verify k.pub -signature SIG).
        let pss = |salt: &str, how: [&str; 4]| {
            let salt = format!("rsa_pss_saltlen:{salt}");
            let head = [
                "dgst",
                "-sha256",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
            ];
            run(&[&head[..], &[salt.as_str()], &how, &["m"]].concat())
        };
        pss("32", ["-sign", "k.pem", "-out", "m.sig"]);
        pss("max", ["-sign", "k.pem", "-out", "m.max.sig"]);
        assert_eq!(key.algorithm().unwrap(), "rsa-pss-sha256");
        let sig = std::fs::read(dir.path().join("m.sig")).unwrap();
        assert!(key.verifies(b"manifest bytes", &sig));
        assert!(!key.verifies(b"manifest bytes!", &sig));
        let max = std::fs::read(dir.path().join("m.max.sig")).unwrap();
        assert!(!key.verifies(b"manifest bytes", &max));
        // The same key read as a local signing key: the same public key, and signatures that
        // OpenSSL checks with the 32-byte salt.
        let local = LocalKey::from_pkcs8(
            &pem_decode(
                "PRIVATE KEY",
                &std::fs::read_to_string(dir.path().join("k.pem")).unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(local.public(), key);
        std::fs::write(
            dir.path().join("l.sig"),
            local.sign(b"manifest bytes").unwrap(),
        )
        .unwrap();
        pss("32", ["-verify", "k.pub", "-signature", "l.sig"]);
    }

    #[test]
    fn non_keys_are_refused() {
        assert!(PublicKey::from_pem("hello").is_err());
        assert!(PublicKey::from_pem(&pem_encode("PUBLIC KEY", &[1, 2, 3])).is_err());
        assert!(LocalKey::from_pkcs8(&[0x30, 0x00]).is_err());
    }
}
