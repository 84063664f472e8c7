//! Scan figures: which lake files a verb read and how many bytes, from the Parquet scans'
//! metrics (one `bytes_scanned` per file opened, labelled with its path). A file that partition
//! pruning or file statistics skipped is never opened, so it is not counted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

/// Bytes read per file, summed over every statement a session ran.
#[derive(Debug, Default)]
pub struct ScanLog {
    files: Mutex<BTreeMap<String, u64>>,
}

/// What a verb read from the lake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanFigures {
    /// Files opened, with the bytes read from each.
    pub files: BTreeMap<String, u64>,
}

impl ScanFigures {
    pub fn bytes(&self) -> u64 {
        self.files.values().sum()
    }

    /// The `dt` partitions the files belong to.
    pub fn partitions(&self) -> std::collections::BTreeSet<String> {
        self.files
            .keys()
            .filter_map(|f| {
                let at = f.find("dt=")?;
                let rest = &f[at + 3..];
                Some(rest[..rest.find('/').unwrap_or(rest.len())].to_string())
            })
            .collect()
    }
}

impl ScanLog {
    /// Add the files an executed plan read.
    pub fn record(&self, plan: &Arc<dyn ExecutionPlan>) {
        let mut found = Vec::new();
        collect(plan, &mut found);
        if found.is_empty() {
            return;
        }
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        for (f, n) in found {
            *files.entry(f).or_default() += n;
        }
    }

    pub fn figures(&self) -> ScanFigures {
        ScanFigures {
            files: self.files.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}

fn collect(plan: &Arc<dyn ExecutionPlan>, out: &mut Vec<(String, u64)>) {
    if let Some(m) = plan.metrics() {
        for metric in m.iter() {
            if metric.value().name() != "bytes_scanned" {
                continue;
            }
            if let Some(file) = metric.labels().iter().find(|l| l.name() == "filename") {
                out.push((file.value().to_string(), metric.value().as_usize() as u64));
            }
        }
    }
    for child in plan.children() {
        collect(child, out);
    }
}

/// The session's scan log (every context built by [`super::context`] has one).
pub fn log(ctx: &SessionContext) -> Option<Arc<ScanLog>> {
    ctx.state_ref().read().config().get_extension::<ScanLog>()
}

/// Record what `plan` read in `ctx`'s log, if it keeps one.
pub fn record(ctx: &SessionContext, plan: &Arc<dyn ExecutionPlan>) {
    if let Some(l) = log(ctx) {
        l.record(plan);
    }
}

/// Log the figures at info level (`-v`): files, bytes and the partitions they belong to.
pub fn report(ctx: &SessionContext, verb: &str) {
    let Some(l) = log(ctx) else { return };
    let f = l.figures();
    let parts = f.partitions();
    let span = parts.iter().cloned().collect::<Vec<_>>().join(",");
    tracing::info!(
        verb,
        files = f.files.len(),
        bytes = f.bytes(),
        partitions = parts.len(),
        dt = %span,
        "read from the lake"
    );
    for (file, bytes) in &f.files {
        tracing::debug!(file = %file, bytes, "lake file read");
    }
}
