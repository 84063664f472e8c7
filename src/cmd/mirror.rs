//! `trailglass mirror s3://BUCKET[/PREFIX] DIR`: a local copy of the trail that keeps each digest's
//! signature beside it (SPEC §12), for air-gapped analysis; `trailglass ingest DIR/BUCKET` reads it.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

use super::Cli;
use super::common::{FilterArgs, S3Args};
use crate::error::{Error, Exit};
use crate::source::{ObjectRef, S3Source, Source};

/// Copy the trail's log and digest objects from S3 to a local folder, with digest signatures.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass mirror s3://org-trail-bucket ./copies --from 2026-03-01 --to 2026-03-07
  trailglass ingest ./copies/org-trail-bucket")]
pub struct MirrorArgs {
    /// s3://BUCKET[/PREFIX]
    pub source: String,
    /// The copy is written to DIR/BUCKET/KEY: its top folder is named after the bucket, which the
    /// digest signatures name.
    pub dir: PathBuf,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub s3: S3Args,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Objects read per round: bounds memory whatever the bucket holds.
const ROUND: usize = 256;

pub fn run(args: &MirrorArgs, cli: &Cli) -> Result<Exit> {
    if !args.source.starts_with("s3://") {
        return Err(Error::Usage(format!(
            "{}: mirror copies from S3 (s3://BUCKET[/PREFIX]); a local folder can be ingested as it is",
            args.source
        ))
        .into());
    }
    // The copy is as sensitive as the trail.
    crate::lake::owner_only();
    let source = S3Source::connect(&args.source, &args.s3.options())
        .map_err(|e| Error::Usage(format!("{e:#}")))?;
    let filter = args.filter.filter();
    let pre = source
        .preflight(&filter)
        .map_err(|e| Error::Access(format!("{e:#}")))?;
    if !cli.quiet {
        for w in &pre.warnings {
            eprintln!("trailglass: warning: {w}");
        }
    }
    let listing = source
        .list(&filter)
        .map_err(|e| Error::Access(format!("{e:#}")))?;
    let bucket = source.bucket().unwrap_or_default();
    let top = args.dir.join(&bucket);

    let mut wanted: Vec<(ObjectRef, bool)> = listing.logs.into_iter().map(|o| (o, false)).collect();
    wanted.extend(listing.digests.into_iter().map(|d| (d.object, true)));
    let (mut written, mut present, mut signed, mut bytes) = (0usize, 0usize, 0usize, 0u64);
    let mut failed: Vec<(String, String)> = Vec::new();
    for round in wanted.chunks(ROUND) {
        let mut todo = Vec::new();
        for (o, digest) in round {
            match local_path(&top, &o.key) {
                None => failed.push((o.key.clone(), "unsafe key (.. or an absolute path)".into())),
                Some(p) if std::fs::metadata(&p).is_ok_and(|m| m.len() == o.size) => present += 1,
                Some(p) => todo.push((o.clone(), *digest, p)),
            }
        }
        let objects: Vec<ObjectRef> = todo.iter().map(|(o, _, _)| o.clone()).collect();
        for ((o, digest, path), got) in todo.into_iter().zip(source.get_many(&objects)) {
            let result = got.and_then(|f| {
                write_atomic(&path, &f.bytes)?;
                let mut has_sig = false;
                if digest && let Some(sig) = f.metadata.get("signature") {
                    let side = serde_json::json!({
                        "signature": sig,
                        "signature-algorithm": f.metadata.get("signature-algorithm")
                            .map(String::as_str).unwrap_or("SHA256withRSA"),
                    });
                    let mut name = path.clone().into_os_string();
                    name.push(".metadata.json");
                    write_atomic(Path::new(&name), side.to_string().as_bytes())?;
                    has_sig = true;
                }
                Ok((f.bytes.len() as u64, has_sig))
            });
            match result {
                Ok((n, has_sig)) => {
                    written += 1;
                    bytes += n;
                    signed += usize::from(has_sig);
                }
                Err(e) => failed.push((o.key, format!("{e:#}"))),
            }
        }
    }

    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({
            "dir": top.display().to_string(),
            "written": written,
            "already_present": present,
            "digest_signatures": signed,
            "bytes": bytes,
            "failed": failed.iter().map(|(k, e)| serde_json::json!({"key": k, "error": e})).collect::<Vec<_>>(),
        });
        writeln!(out, "{v:#}")?;
    } else {
        writeln!(
            out,
            "mirrored {} into {}: {written} written ({:.1} MB), {present} already present, \
             {signed} digest signatures kept",
            source.describe(),
            top.display(),
            bytes as f64 / 1e6
        )?;
        writeln!(out, "  next: trailglass ingest {}", top.display())?;
    }
    for (key, why) in &failed {
        eprintln!("trailglass: could not copy {key}: {why}");
    }
    Ok(if failed.is_empty() {
        Exit::Ok
    } else {
        Exit::Access
    })
}

/// Where a key goes under the copy's top folder; None for a key that would leave it.
fn local_path(top: &Path, key: &str) -> Option<PathBuf> {
    let rel = Path::new(key);
    let safe = rel.components().all(|c| matches!(c, Component::Normal(_)));
    (safe && !key.is_empty()).then(|| top.join(rel))
}

/// Write through a temporary file and a rename, so an interrupted copy never leaves a short file
/// that a later run would take as complete.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("a key with no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".partial-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_the_copy() {
        let top = Path::new("/copy/bucket");
        assert_eq!(
            local_path(top, "AWSLogs/1/CloudTrail/x.json.gz"),
            Some(PathBuf::from("/copy/bucket/AWSLogs/1/CloudTrail/x.json.gz"))
        );
        assert_eq!(local_path(top, "AWSLogs/../../etc/passwd"), None);
        assert_eq!(local_path(top, "/etc/passwd"), None);
        assert_eq!(
            local_path(top, "a/./b"),
            Some(PathBuf::from("/copy/bucket/a/b"))
        );
    }
}

/// R21: for random keys (traversal, absolute, empty and odd segments, Unicode, NUL; proptest,
/// fixed seed), a key is refused or lands inside the copy's top folder, never above it.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    const PARTS: &[&str] = &[
        "AWSLogs", "..", ".", "", "a", "é", "x\0y", "..\\x", "%2e%2e", "CON", "/", "//", "~",
        "a..b", "…",
    ];

    proptest! {
        #![proptest_config(crate::proptest_config(1621, 20_000))]

        #[test]
        fn r21_no_key_leaves_the_copy(
            parts in prop::collection::vec(prop::sample::select(PARTS), 1..=6),
        ) {
            let top = Path::new("/copy/bucket");
            let key = parts.join("/");
            if let Some(p) = local_path(top, &key) {
                prop_assert!(p.starts_with(top), "{:?} -> {}", key, p.display());
                prop_assert!(
                    p.components().all(|c| !matches!(c, Component::ParentDir)),
                    "{:?} -> {}",
                    key,
                    p.display()
                );
                prop_assert_ne!(p.as_path(), top, "{:?} names the top folder itself", key);
            }
        }
    }
}
