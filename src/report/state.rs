//! `--state FILE`: what earlier runs already reported, so a scheduled job reports each finding
//! once.
//!
//! The file is JSON (`{"version": 1, "reported": {"<finding id>": "<first reported>"}}`). A run
//! holds an exclusive lock on `FILE.lock` from reading the state to writing it back, so two
//! concurrent runs are serialised: the second sees what the first recorded, and neither loses the
//! other's entries. The new state is written to a temporary file in the same directory, synced,
//! and renamed over the old one: a run killed at any point leaves either the old or the new state,
//! never a mixture.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::error::Error;

const VERSION: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Doc {
    version: u32,
    reported: BTreeMap<String, String>,
}

/// The state of earlier runs, locked until dropped.
#[derive(Debug)]
pub struct State {
    path: PathBuf,
    doc: Doc,
    _lock: File,
}

impl State {
    /// Lock and read `path` (a missing file is an empty state). Waits for a concurrent run.
    pub fn open(path: &Path) -> Result<State> {
        let lock_path = sibling(path, ".lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                Error::Access(format!(
                    "cannot open the state lock {}: {e}",
                    lock_path.display()
                ))
            })?;
        lock.lock()
            .map_err(|e| Error::Access(format!("cannot lock {}: {e}", lock_path.display())))?;
        let doc = match std::fs::read(path) {
            Ok(bytes) => {
                let doc: Doc = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::Usage(format!(
                        "the state file {} is not a trailglass report state: {e}",
                        path.display()
                    ))
                })?;
                if doc.version != VERSION {
                    return Err(Error::Usage(format!(
                        "the state file {} has version {}, this trailglass reads version {VERSION}",
                        path.display(),
                        doc.version
                    ))
                    .into());
                }
                doc
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Doc {
                version: VERSION,
                ..Doc::default()
            },
            Err(e) => {
                return Err(Error::Access(format!(
                    "cannot read the state file {}: {e}",
                    path.display()
                ))
                .into());
            }
        };
        Ok(State {
            path: path.to_path_buf(),
            doc,
            _lock: lock,
        })
    }

    /// Was this finding reported by an earlier run?
    pub fn seen(&self, id: &str) -> bool {
        self.doc.reported.contains_key(id)
    }

    /// Record findings as reported at `when` (an entry keeps its first time).
    pub fn record<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>, when: &str) {
        for id in ids {
            self.doc
                .reported
                .entry(id.to_string())
                .or_insert_with(|| when.to_string());
        }
    }

    /// How many findings have been reported so far.
    pub fn len(&self) -> usize {
        self.doc.reported.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc.reported.is_empty()
    }

    /// Write the state back atomically (the lock is still held).
    pub fn save(&self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.doc)?;
        write_atomic(&self.path, &bytes, Some("report_state_before_rename"))
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Replace `path` with `bytes` atomically: a temporary file in the same directory, fsync, rename,
/// then fsync of the directory so the rename itself survives a power cut. `failpoint` is armed by
/// crash tests between the sync and the rename.
pub fn write_atomic(path: &Path, bytes: &[u8], failpoint: Option<&str>) -> Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = sibling(path, &format!(".tmp.{}", std::process::id()));
    let access = |what: &str, e: std::io::Error| {
        Error::Access(format!("cannot {what} {}: {e}", tmp.display()))
    };
    let mut f = File::create(&tmp).map_err(|e| access("create", e))?;
    f.write_all(bytes).map_err(|e| access("write", e))?;
    f.sync_all().map_err(|e| access("sync", e))?;
    drop(f);
    if let Some(p) = failpoint {
        crate::fault::point(p);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Access(format!("cannot rename onto {}: {e}", path.display()))
    })?;
    if let Ok(d) = File::open(&dir) {
        // Directories cannot be synced on every platform; the rename is already done.
        let _ = d.sync_all();
    }
    Ok(())
}

/// The report's stable id for a finding: SHA-256 over the rule and the sorted event ids (and the
/// session, which tells apart a session-level finding without events), never the row's position.
pub fn finding_id(rule_id: &str, session_id: Option<&str>, event_ids: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut ids: Vec<&str> = event_ids.to_vec();
    ids.sort_unstable();
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0]);
    h.update(session_id.unwrap_or("").as_bytes());
    for e in ids {
        h.update([0]);
        h.update(e.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_do_not_depend_on_order() {
        let a = finding_id("BG003", Some("s1"), &["e2", "e1"]);
        assert_eq!(a, finding_id("BG003", Some("s1"), &["e1", "e2"]));
        assert_ne!(a, finding_id("BG004", Some("s1"), &["e1", "e2"]));
        assert_ne!(a, finding_id("BG003", Some("s2"), &["e1", "e2"]));
        assert_eq!(a.len(), 64);
    }
}
