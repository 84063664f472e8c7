//! `trailglass compact`: merge each day's small `events` files into sorted files (SPEC §4).

use std::io::Write;

use anyhow::Result;

use super::Cli;
use crate::error::{Error, Exit};
use crate::lake::{Lake, LakeLocation, LakeLock};

/// Merge the small files ingest leaves in each day of `events` (one per day per commit) into
/// files sorted by account and time. Query results do not change; scans open fewer files.
/// Files of 256 MiB or more are left alone.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass compact
  trailglass --lake s3://audit-lake/trailglass compact

Takes the lake's writer lock, like ingest. Each merged day is one Delta commit that removes the
old files and adds the new ones; earlier versions stay readable with --as-of.")]
pub struct CompactArgs {}

/// An existing lake opened to be rewritten (compact, vacuum): owner-only files, the writer lock
/// taken before any table is loaded, new files under the lake's KMS key, and a batch interrupted
/// after its events commit finished first, as ingest would.
pub(super) struct Rewrite {
    pub rt: tokio::runtime::Runtime,
    pub lake: Lake,
    /// Held until the rewrite is done (released on drop).
    _lock: LakeLock,
}

impl Rewrite {
    pub fn open(cli: &Cli, out: &mut dyn Write) -> Result<Rewrite> {
        crate::lake::owner_only();
        let rt = crate::lake::runtime().build()?;
        let location = LakeLocation::parse(&cli.lake)?;
        let lock = location.lock(false)?;
        let mut lake = rt
            .block_on(Lake::open_for_writing(location))
            .map_err(|e| Error::Access(format!("{e:#}")))?;
        rt.block_on(lake.load_index_tables())
            .map_err(Error::of_lake)?;
        let recovered = rt.block_on(lake.recover()).map_err(Error::of_lake)?;
        if recovered > 0 {
            writeln!(out, "completed {recovered} interrupted ingest commit(s)")?;
        }
        Ok(Rewrite {
            rt,
            lake,
            _lock: lock,
        })
    }
}

pub fn run(_args: &CompactArgs, cli: &Cli) -> Result<Exit> {
    let mut out = std::io::stdout().lock();
    let mut rw = Rewrite::open(cli, &mut out)?;
    let done = rw.rt.block_on(rw.lake.compact()).map_err(Error::of_lake)?;
    if done.commits == 0 {
        writeln!(
            out,
            "nothing to compact: no day of events has two small files ({} files)",
            done.files_before
        )?;
    } else {
        writeln!(
            out,
            "compacted {} day(s) of events: {} files -> {} files, {} rows rewritten, {} commit(s)",
            done.partitions, done.files_before, done.files_after, done.rows, done.commits
        )?;
    }
    if done.index_files_removed > 0 {
        writeln!(
            out,
            "compacted objects, rejects, digests and identity_events: {} files -> {} files",
            done.index_files_removed, done.index_files_added
        )?;
    }
    out.flush()?;
    // Compaction moves the events version; the stored answers follow (SESSIONS.md).
    crate::query::derived::after_commit(&rw.lake.location, cli.config.as_deref());
    Ok(Exit::Ok)
}
