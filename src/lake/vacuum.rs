//! Vacuum: delete the files no retained version of the lake needs (SPEC §4).
//!
//! Two kinds of file pile up: those `compact` replaced (removed from the table by a commit, kept
//! so that `--as-of` an older version still reads) and the orphans of an interrupted batch
//! (written, never committed). delta-rs's vacuum in full mode removes both, judged per file: a
//! removed file once its removal is older than the retention, an orphan once its own age is.
//! The rules that keep readers safe:
//! - a file of the latest version is never removed, whatever the retention;
//! - a version whose successor was committed within the retention keeps every file it reads;
//! - an uncommitted file younger than the retention is kept (an ingest in flight on another
//!   machine cannot be on a local lake: the caller holds the writer lock);
//! - the index adds that an interrupted batch recorded are committed first (`recover`), so they
//!   are never taken for orphans.
//!
//! Each vacuum that deletes commits its VACUUM START/END entries to the table's log, with the
//! retention it used: [`check_retained`] reads them to refuse an `--as-of` version whose files
//! may be gone, with a message instead of a missing-file error.

use anyhow::{Context, Result};
use deltalake::DeltaTable;
use deltalake::operations::vacuum::VacuumMode;
use futures::StreamExt;

use super::{Lake, Table};

/// What a vacuum removed (or, in a dry run, would remove), per table.
#[derive(Debug, Default)]
pub struct Vacuumed {
    pub files: Vec<(Table, Vec<String>)>,
    pub dry_run: bool,
}

impl Vacuumed {
    pub fn count(&self) -> usize {
        self.files.iter().map(|(_, f)| f.len()).sum()
    }
}

impl Lake {
    /// Remove the files no version committed within `retain` needs (see the module comment).
    /// The caller holds the writer lock and has run [`Lake::recover`].
    pub async fn vacuum(&mut self, retain: chrono::Duration, dry_run: bool) -> Result<Vacuumed> {
        let mut done = Vacuumed {
            dry_run,
            ..Default::default()
        };
        let tables: Vec<Table> = Table::ALL
            .into_iter()
            .filter(|t| self.tables.contains_key(t))
            .collect();
        for t in tables {
            // The plan first: it names the removed files whose tombstones are still in the log,
            // deleted or not, so a local lake reports only those still on disk.
            let mut files = self.vacuum_table(t, retain, true).await?;
            if let Some(root) = self.location.local_path() {
                let dir = root.join(t.name());
                files.retain(|f| dir.join(f).exists());
            }
            if !dry_run && !files.is_empty() {
                self.vacuum_table(t, retain, false).await?;
            }
            files.sort();
            done.files.push((t, files));
        }
        Ok(done)
    }

    /// delta-rs's vacuum of one table in full mode (see the module comment); returns the files
    /// it deleted, or would delete in a dry run.
    async fn vacuum_table(
        &mut self,
        t: Table,
        retain: chrono::Duration,
        dry_run: bool,
    ) -> Result<Vec<String>> {
        let (table, metrics) = self
            .table(t)?
            .clone()
            .vacuum()
            .with_retention_period(retain)
            // The retention is the operator's choice (`--retain`); the table's 7-day default
            // is the flag's default.
            .with_enforce_retention_duration(false)
            .with_mode(VacuumMode::Full)
            .with_dry_run(dry_run)
            .await
            .with_context(|| format!("vacuuming the {} table", t.name()))?;
        self.tables.insert(t, table);
        Ok(metrics.files_deleted)
    }
}

/// Refuse `--as-of version` when a vacuum may have removed files it reads: the version was
/// superseded (by the commit after it) before the horizon of some vacuum, that vacuum's time
/// less its retention.
pub(super) async fn check_retained(events: &DeltaTable, version: i64) -> Result<()> {
    let latest = latest_version(events);
    anyhow::ensure!(
        (0..=latest).contains(&version),
        "--as-of {version}: the lake's versions run from 0 to {latest}"
    );
    if version == latest {
        return Ok(());
    }
    // Newest commit first; the log's versions are contiguous, so the n-th entry is latest - n.
    let mut history = events.history(None);
    let (mut horizon, mut superseded) = (None::<i64>, None::<i64>);
    let mut v = latest;
    while let Some(info) = history.next().await {
        let info = info?;
        if v == version + 1 {
            superseded = info.timestamp;
        }
        if info.operation.as_deref() == Some("VACUUM START")
            && let (Some(at), Some(retain)) = (
                info.timestamp,
                info.operation_parameters
                    .as_ref()
                    .and_then(|p| p.get("specifiedRetentionMillis"))
                    .and_then(retention_millis),
            )
        {
            horizon = Some(horizon.map_or(at - retain, |h: i64| h.max(at - retain)));
        }
        v -= 1;
    }
    if let (Some(h), Some(s)) = (horizon, superseded)
        && s < h
    {
        anyhow::bail!(
            "--as-of {version} is outside the lake's retention: `trailglass vacuum` has removed \
             files that version read (it was superseded before the vacuum's retention window); \
             versions {} to {latest} are readable",
            first_retained(events, h).await.unwrap_or(latest)
        );
    }
    Ok(())
}

/// The table's latest version (as the `i64` that `--as-of` takes).
fn latest_version(t: &DeltaTable) -> i64 {
    t.version().and_then(|v| i64::try_from(v).ok()).unwrap_or(0)
}

/// The operation parameter as logged: a number, or a number written as text.
fn retention_millis(v: &serde_json::Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// The oldest version whose successor came after `horizon` (the first one still whole).
async fn first_retained(events: &DeltaTable, horizon: i64) -> Option<i64> {
    let latest = latest_version(events);
    let mut history = events.history(None);
    let mut v = latest;
    let mut first = latest;
    while let Some(Ok(info)) = history.next().await {
        // `info` is version v: while it came after the horizon, version v - 1 is whole.
        if info.timestamp.is_some_and(|t| t >= horizon) && v > 0 {
            first = v - 1;
        } else {
            break;
        }
        v -= 1;
    }
    Some(first)
}
