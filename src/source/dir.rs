//! A local directory as a source: a copy of a bucket (or of any folder of CloudTrail files).
//!
//! Keys are paths relative to the directory, `/`-separated. Folders of the key layout that the
//! filter excludes are never entered. Symlinked folders are not followed (no loops, no escapes).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{DigestRef, Fetched, Filter, Kind, Listing, ObjectRef, Source, classify, is_account};

pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let meta = std::fs::metadata(&root)
            .with_context(|| format!("cannot read the source {}", root.display()))?;
        anyhow::ensure!(
            meta.is_dir() || meta.is_file(),
            "the source {} is neither a directory nor a file",
            root.display()
        );
        Ok(DirSource { root })
    }

    fn path_of(&self, key: &str) -> PathBuf {
        if self.root.is_file() {
            self.root.clone()
        } else {
            self.root.join(key)
        }
    }
}

/// Should the walk enter the folder at `parts` (relative to the root)?
fn enter(parts: &[String], f: &Filter) -> bool {
    let Some(at) = parts.iter().rposition(|p| p == "AWSLogs") else {
        return true;
    };
    let mut rest = &parts[at + 1..];
    if rest.first().is_some_and(|p| p.starts_with("o-")) {
        rest = &rest[1..];
    }
    let Some(account) = rest.first() else {
        return true;
    };
    if is_account(account) && !f.account(account) {
        return false;
    }
    if let Some(region) = rest.get(2)
        && !f.region(region)
    {
        return false;
    }
    let year: Option<i32> = rest.get(3).and_then(|y| y.parse().ok());
    let month: Option<u32> = rest.get(4).and_then(|m| m.parse().ok());
    match (year, month, rest.get(5).and_then(|d| d.parse::<u32>().ok())) {
        (Some(y), Some(m), Some(d)) => {
            chrono::NaiveDate::from_ymd_opt(y, m, d).is_none_or(|date| f.date(date))
        }
        (Some(y), Some(m), None) => f.year_month(y, Some(m)),
        (Some(y), None, _) => f.year_month(y, None),
        _ => true,
    }
}

fn micros(t: std::io::Result<std::time::SystemTime>) -> Option<i64> {
    let d = t.ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_micros()).ok()
}

/// What one folder of the walk holds: its objects and the folders listed, in key order.
type Walked = (Vec<ObjectRef>, Vec<String>);

impl DirSource {
    /// List the folder at `parts`. Sub-folders are walked in parallel (on the caller's rayon
    /// pool): a trail copy has a folder per account, region and day, and stating 20,000 files
    /// one after another kept a core idle at the start of every ingest.
    fn walk(&self, dir: &Path, parts: &[String], f: &Filter) -> Result<Walked> {
        use rayon::prelude::*;
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot list {}", dir.display()))?;
        entries.sort_by_key(|e| e.file_name());
        let prefix = parts.join("/");
        let found = entries
            .par_iter()
            .map(|e| -> Result<Walked> {
                let name = e.file_name().to_string_lossy().into_owned();
                let ft = e.file_type()?;
                if ft.is_dir() {
                    let mut parts = parts.to_vec();
                    parts.push(name);
                    if enter(&parts, f) {
                        return self.walk(&e.path(), &parts, f);
                    }
                } else if !ft.is_symlink() || e.path().is_file() {
                    let meta = e.metadata()?;
                    let o = ObjectRef {
                        // Sized exactly: a listing holds a key per object for the whole run, and
                        // `format!` left a third of each one's allocation unused.
                        key: if prefix.is_empty() {
                            name
                        } else {
                            let mut key = String::with_capacity(prefix.len() + 1 + name.len());
                            key.push_str(&prefix);
                            key.push('/');
                            key.push_str(&name);
                            key
                        },
                        size: meta.len(),
                        last_modified: micros(meta.modified()),
                        etag: None,
                    };
                    return Ok((vec![o], Vec::new()));
                }
                Ok((Vec::new(), Vec::new()))
            })
            .collect::<Result<Vec<Walked>>>()?;
        let mut listed = vec![prefix];
        let mut out = Vec::new();
        for (objects, folders) in found {
            out.extend(objects);
            listed.extend(folders);
        }
        Ok((out, listed))
    }
}

/// Read a digest's signature sidecar: `{"signature": "…", "signature-algorithm": "…"}` or bare hex.
fn read_sidecar(path: &Path) -> Option<(String, Option<String>)> {
    let text = std::fs::read_to_string(path).ok()?;
    if path.extension().is_some_and(|e| e == "sig") {
        return Some((text.trim().to_string(), None));
    }
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let sig = v.get("signature")?.as_str()?.to_string();
    let alg = v
        .get("signature-algorithm")
        .and_then(|a| a.as_str())
        .map(str::to_string);
    Some((sig, alg))
}

impl Source for DirSource {
    fn bucket(&self) -> Option<String> {
        let dir = if self.root.is_file() {
            self.root.parent()?
        } else {
            &self.root
        };
        std::path::absolute(dir)
            .ok()?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn list(&self, f: &Filter) -> Result<Listing> {
        let mut all = Vec::new();
        let mut listing = Listing::default();
        if self.root.is_file() {
            let meta = std::fs::metadata(&self.root)?;
            let key = self
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            all.push(ObjectRef {
                key,
                size: meta.len(),
                last_modified: micros(meta.modified()),
                etag: None,
            });
        } else {
            (all, listing.listed_prefixes) = self.walk(&self.root, &[], f)?;
        }
        let mut sidecars: HashMap<String, ObjectRef> = HashMap::new();
        let mut digests = Vec::new();
        for o in all {
            let info = classify(&o.key);
            match info.kind {
                // Files outside the key layout are still decoded when the user points at them
                // directly or at a plain folder of logs; only known non-log layouts are skipped.
                Kind::Skip("foreign") if !o.key.contains("AWSLogs/") && looks_like_log(&o.key) => {
                    listing.logs.push(o)
                }
                Kind::Log if f.key(&info) => listing.logs.push(o),
                Kind::Log => {}
                Kind::Digest if f.key(&info) => digests.push(o),
                Kind::Digest => {}
                Kind::DigestSidecar => {
                    sidecars.insert(o.key.clone(), o);
                }
                Kind::Skip(why) => listing.skipped.entry(why).or_default().push(o.key),
            }
        }
        for d in digests {
            let mut sig = None;
            for ext in [".metadata.json", ".sig"] {
                if let Some(s) = sidecars.get(&format!("{}{ext}", d.key)) {
                    sig = read_sidecar(&self.path_of(&s.key));
                    break;
                }
            }
            let (signature, signature_algorithm) = match sig {
                Some((s, a)) => (Some(s), a.or(Some("SHA256withRSA".to_string()))),
                None => (None, None),
            };
            listing.digests.push(DigestRef {
                object: d,
                signature,
                signature_algorithm,
            });
        }
        Ok(listing)
    }

    fn get(&self, o: &ObjectRef) -> Result<Fetched> {
        let path = self.path_of(&o.key);
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Fetched {
            bytes,
            metadata: HashMap::new(),
        })
    }
}

/// A file outside the `AWSLogs/` layout that may hold records (a downloaded log, an export).
fn looks_like_log(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    [
        ".json",
        ".json.gz",
        ".jsonl",
        ".ndjson",
        ".log",
        ".gz",
        ".jsonl.gz",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
}
