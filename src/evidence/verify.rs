//! `verify`: check a bundle offline, a directory or a zip, and name the first thing wrong.
//!
//! Order: the signature over the exact bytes of `manifest.json` (so nothing of a tampered
//! manifest is trusted), then every listed file in manifest order (present, size, SHA-256; for a
//! zip also the entry's CRC), then `SHA256SUMS` against the manifest, then files nobody listed.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::manifest::{self, FORMAT, FORMAT_VERSION, Listed};
use super::name;
use super::sign::PublicKey;
use super::zip::{self, ZipError};
use crate::error::Error;

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed; `signer` is the key's fingerprint, `None` for an unsigned bundle.
    Valid {
        files: usize,
        signer: Option<String>,
    },
    /// The first check that failed: the file (or key) and why.
    Invalid { file: String, why: String },
}

fn invalid(file: &str, why: impl Into<String>) -> Verdict {
    Verdict::Invalid {
        file: file.to_string(),
        why: why.into(),
    }
}

/// The bundle's files, wherever they are.
enum Store {
    Dir(PathBuf),
    Zip(Box<zip::Reader>),
}

/// Outcome of hashing one file: size, SHA-256, and whether a zip CRC disagreed.
struct Hashed {
    size: u64,
    sha256: String,
    crc_ok: bool,
}

impl Store {
    /// Names present; a directory entry that is not a regular file is reported as invalid.
    fn names(&self) -> Result<std::result::Result<Vec<String>, Verdict>> {
        match self {
            Store::Zip(z) => Ok(Ok(z.entries.iter().map(|e| e.name.clone()).collect())),
            Store::Dir(d) => {
                let mut out = Vec::new();
                for e in std::fs::read_dir(d)
                    .map_err(|e| Error::Usage(format!("cannot read {}: {e}", d.display())))?
                {
                    let e = e?;
                    let n = e.file_name().to_string_lossy().into_owned();
                    if !e.file_type()?.is_file() {
                        return Ok(Err(invalid(
                            &n,
                            "is not a regular file (a bundle holds only files)",
                        )));
                    }
                    out.push(n);
                }
                out.sort();
                Ok(Ok(out))
            }
        }
    }

    fn open(&mut self, n: &str) -> Result<Box<dyn Read + '_>> {
        match self {
            Store::Dir(d) => Ok(Box::new(std::fs::File::open(name::safe_join(d, n)?)?)),
            Store::Zip(z) => {
                let e = z.entry(n)?;
                Ok(Box::new(z.read(&e)?))
            }
        }
    }

    /// A small file's bytes (manifest, signature, key), at most `cap` bytes.
    fn small(&mut self, n: &str, cap: u64) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.open(n)?.take(cap).read_to_end(&mut v)?;
        Ok(v)
    }

    fn hash(&mut self, n: &str) -> Result<Hashed> {
        match self {
            Store::Dir(d) => {
                let (size, sha256) = manifest::hash_file(&name::safe_join(d, n)?)?;
                Ok(Hashed {
                    size,
                    sha256,
                    crc_ok: true,
                })
            }
            Store::Zip(z) => {
                let e = z.entry(n)?;
                let mut r = z.read(&e)?;
                let (size, sha256) = manifest::hash_reader(&mut r)?;
                Ok(Hashed {
                    size,
                    sha256,
                    crc_ok: r.sum() == e.crc,
                })
            }
        }
    }
}

/// The manifest is small; a multi-megabyte one is not a trailglass manifest.
const MANIFEST_CAP: u64 = 64 << 20;

/// Check the bundle at `path`. `Err` (exit 2) when it cannot be read or is not a bundle at all;
/// a bundle that fails a check is `Ok(Verdict::Invalid)` (exit 1).
pub fn verify(path: &Path, expected_key: Option<&PublicKey>) -> Result<Verdict> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::Usage(format!("cannot read the bundle {}: {e}", path.display())))?;
    let mut store = if meta.is_dir() {
        Store::Dir(path.to_path_buf())
    } else {
        match zip::Reader::open(path) {
            Ok(z) => Store::Zip(Box::new(z)),
            Err(ZipError::NotZip) => {
                return Err(Error::Usage(format!(
                    "{} is not a bundle: neither a directory nor a zip file",
                    path.display()
                ))
                .into());
            }
            Err(ZipError::Damaged(m)) => {
                let file = path.file_name().map_or_else(
                    || path.display().to_string(),
                    |f| f.to_string_lossy().into_owned(),
                );
                return Ok(invalid(&file, m));
            }
            Err(ZipError::Io(e)) => {
                return Err(Error::Usage(format!(
                    "cannot read the bundle {}: {e}",
                    path.display()
                ))
                .into());
            }
        }
    };
    let names = match store.names()? {
        Ok(n) => n,
        Err(v) => return Ok(v),
    };
    let present: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    if present.len() != names.len() {
        let mut once = BTreeSet::new();
        if let Some(d) = names.iter().find(|n| !once.insert(n.as_str())) {
            return Ok(invalid(d, "appears twice in the zip"));
        }
    }
    if !present.contains("manifest.json") {
        if ["SHA256SUMS", "manifest.sig", "VERIFY.txt"]
            .iter()
            .any(|n| present.contains(n))
        {
            return Ok(invalid("manifest.json", "is missing"));
        }
        return Err(Error::Usage(format!(
            "{} is not an evidence bundle: it has no manifest.json",
            path.display()
        ))
        .into());
    }
    let manifest_bytes = store.small("manifest.json", MANIFEST_CAP)?;

    // The signature first: nothing a changed manifest says is believed.
    let signer = if present.contains("manifest.sig") {
        if !present.contains("manifest.pub") {
            return Ok(invalid(
                "manifest.pub",
                "is missing (manifest.sig is there, the key to check it is not)",
            ));
        }
        let pem = store.small("manifest.pub", 1 << 16)?;
        let key = match PublicKey::from_pem(&String::from_utf8_lossy(&pem)) {
            Ok(k) => k,
            Err(e) => {
                return Ok(invalid(
                    "manifest.pub",
                    format!("is not a public key: {e:#}"),
                ));
            }
        };
        if let Some(want) = expected_key
            && want != &key
        {
            return Ok(invalid(
                "manifest.pub",
                format!(
                    "is key sha256:{}, not the expected key sha256:{} (--public-key)",
                    key.fingerprint(),
                    want.fingerprint()
                ),
            ));
        }
        let sig = store.small("manifest.sig", 1 << 16)?;
        if !key.verifies(&manifest_bytes, &sig) {
            return Ok(invalid(
                "manifest.sig",
                format!(
                    "does not verify manifest.json with the key in manifest.pub (sha256:{}): the manifest, the signature or the key was changed",
                    key.fingerprint()
                ),
            ));
        }
        Some(key.fingerprint())
    } else {
        if expected_key.is_some() {
            return Ok(invalid(
                "manifest.sig",
                "is missing: the bundle is unsigned, but --public-key asks for a signature",
            ));
        }
        if present.contains("manifest.pub") {
            return Ok(invalid(
                "manifest.sig",
                "is missing while manifest.pub is there (signature removed?)",
            ));
        }
        None
    };

    let listed: Listed = match serde_json::from_slice(&manifest_bytes) {
        Ok(l) => l,
        Err(e) => {
            return Ok(invalid(
                "manifest.json",
                format!("is not a valid manifest: {e}"),
            ));
        }
    };
    if listed.format != FORMAT {
        return Ok(invalid(
            "manifest.json",
            format!("has format {:?}, not {FORMAT:?}", listed.format),
        ));
    }
    if !(1..=FORMAT_VERSION).contains(&listed.format_version) {
        return Err(Error::Usage(format!(
            "{}: bundle format version {} is not known to this trailglass (it reads {FORMAT_VERSION})",
            path.display(),
            listed.format_version
        ))
        .into());
    }
    let mut seen = BTreeSet::new();
    for f in &listed.files {
        if !name::is_plain(&f.name)
            || matches!(
                f.name.as_str(),
                "manifest.json" | "manifest.sig" | "SHA256SUMS"
            )
            || !seen.insert(f.name.as_str())
        {
            return Ok(invalid(
                "manifest.json",
                format!("lists {:?}, which no bundle holds", f.name),
            ));
        }
    }
    for f in &listed.files {
        if !present.contains(f.name.as_str()) {
            return Ok(invalid(&f.name, "is missing"));
        }
        let h = store.hash(&f.name)?;
        if !h.crc_ok {
            return Ok(invalid(&f.name, "fails its zip CRC check: changed"));
        }
        if h.size != f.size || h.sha256 != f.sha256 {
            return Ok(invalid(
                &f.name,
                format!(
                    "does not match the manifest: {} bytes, SHA-256 {}; the manifest says {} bytes, {}",
                    h.size, h.sha256, f.size, f.sha256
                ),
            ));
        }
    }
    if !present.contains("SHA256SUMS") {
        return Ok(invalid("SHA256SUMS", "is missing"));
    }
    let sums = store.small("SHA256SUMS", MANIFEST_CAP)?;
    if manifest::sha256_hex(&sums) != listed.sha256sums
        || sums != manifest::sha256sums(&listed.files).as_bytes()
    {
        return Ok(invalid(
            "SHA256SUMS",
            "does not match the manifest (changed)",
        ));
    }
    for n in &names {
        if !seen.contains(n.as_str())
            && !matches!(n.as_str(), "manifest.json" | "manifest.sig" | "SHA256SUMS")
        {
            return Ok(invalid(n, "is not listed in the manifest (added)"));
        }
    }
    Ok(Verdict::Valid {
        files: listed.files.len() + 2 + usize::from(signer.is_some()),
        signer,
    })
}
