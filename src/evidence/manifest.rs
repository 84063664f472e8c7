//! `manifest.json` and `SHA256SUMS`: what a bundle holds, byte-exact.
//!
//! The manifest is written once, pretty-printed with a fixed field order and the files sorted by
//! name, so that the same inputs give the same bytes (and the same signature with a
//! deterministic scheme such as Ed25519). `verify` reads only `format`, `format_version` and
//! `files`; everything else is there for the auditor.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The value of `format`.
pub const FORMAT: &str = "trailglass-evidence";
/// The value of `format_version`; `verify` reads this one and the earlier ones (the part it
/// relies on has not changed): 2 moved the SQL out of the manifest into `queries.json`.
pub const FORMAT_VERSION: u32 = 2;

/// One file of the bundle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// The lake as read.
#[derive(Debug, Clone, Serialize)]
pub struct LakeRead {
    /// `--lake` as given.
    pub location: String,
    /// `--as-of` when given.
    pub as_of: Option<i64>,
    /// Delta table versions read, by table name.
    pub table_versions: BTreeMap<String, i64>,
}

/// A file of the bundle the manifest points to (the configuration, the SQL), with its hash.
#[derive(Debug, Clone, Serialize)]
pub struct FileRef {
    pub file: String,
    pub sha256: String,
}

/// One statement run to fill the bundle: catalog queries by name and path, with their text.
#[derive(Debug, Clone, Serialize)]
pub struct QueryUse {
    /// What it produced (`session.json`, `events.jsonl`, …).
    pub purpose: String,
    /// The catalog query (`sessions`, `session_timeline`) or `bundle` for the bundle's own SQL.
    pub query: String,
    /// Its file under `queries/` for catalog queries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub sql: String,
    /// Bound parameter values, as text (`null` for NULL); never part of the SQL text.
    pub params: BTreeMap<String, String>,
}

/// What `events.jsonl` holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EventsSummary {
    /// Records written (distinct event ids).
    pub records: u64,
    /// Further delivered copies of those records, not written (the first delivered is kept).
    pub duplicate_copies: u64,
    /// Event ids whose original text spanned lines and is written compacted (insignificant
    /// whitespace removed, nothing else changed).
    pub compacted: Vec<String>,
    /// Source objects the written records came from.
    pub source_objects: u64,
}

/// Who signed `manifest.json` (recorded in the manifest itself, so a swapped key shows).
#[derive(Debug, Clone, Serialize)]
pub struct SignerRef {
    pub algorithm: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo in `manifest.pub`.
    pub public_key_sha256: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub format: &'static str,
    pub format_version: u32,
    pub trailglass_version: &'static str,
    pub created: String,
    pub subject: serde_json::Value,
    pub lake: LakeRead,
    pub config: FileRef,
    /// The SQL and bound parameters, in `queries.json` (a list of [`QueryUse`]): kept out of
    /// the manifest so that it stays small enough for `kms:Sign` to take whole (4 KiB).
    pub queries: FileRef,
    pub events: EventsSummary,
    pub signer: Option<SignerRef>,
    /// SHA-256 of `SHA256SUMS`: ties that file (which `sha256sum -c` reads) to the signed
    /// manifest, so a recipe with `sha256sum` and `openssl` alone covers every file.
    pub sha256sums: String,
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// The exact bytes of `manifest.json`.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut v = serde_json::to_vec_pretty(self).context("cannot write the manifest")?;
        v.push(b'\n');
        Ok(v)
    }
}

/// The part of a manifest `verify` relies on.
#[derive(Debug, Deserialize)]
pub struct Listed {
    pub format: String,
    pub format_version: u32,
    pub sha256sums: String,
    pub files: Vec<FileEntry>,
}

/// Size and SHA-256 of a file, read in pieces.
pub fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    hash_reader(&mut f).with_context(|| format!("cannot read {}", path.display()))
}

/// Size and SHA-256 of everything `r` yields.
pub fn hash_reader(r: &mut dyn Read) -> std::io::Result<(u64, String)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, hex::encode(h.finalize())))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `SHA256SUMS` in the format `sha256sum -c` reads (`HASH  NAME`, text mode), sorted by name:
/// every file the manifest lists (all but `manifest.json`, `manifest.sig` and itself).
pub fn sha256sums(files: &[FileEntry]) -> String {
    let mut lines: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (f.name.as_str(), f.sha256.as_str()))
        .collect();
    lines.sort();
    lines
        .into_iter()
        .map(|(n, h)| format!("{h}  {n}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_sorted_and_in_sha256sum_format() {
        let files = vec![
            FileEntry {
                name: "z.txt".into(),
                size: 1,
                sha256: "b".repeat(64),
            },
            FileEntry {
                name: "a.txt".into(),
                size: 1,
                sha256: "a".repeat(64),
            },
        ];
        let s = sha256sums(&files);
        assert_eq!(
            s,
            format!("{}  a.txt\n{}  z.txt\n", "a".repeat(64), "b".repeat(64))
        );
    }
}
