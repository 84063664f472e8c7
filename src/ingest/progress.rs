//! The ingest's progress on stderr.

use std::time::Instant;

use super::Summary;
use crate::source::ObjectRef;

/// Progress on stderr: a bar on a terminal, a plain line every ten seconds otherwise.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    total_bytes: u64,
    started: Instant,
    last_line: std::cell::Cell<Instant>,
    enabled: bool,
}

impl Progress {
    pub(super) fn new(enabled: bool, logs: &[ObjectRef]) -> Progress {
        use std::io::IsTerminal;
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(logs.iter().map(|o| o.size).sum());
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} [{elapsed_precise}, ETA {eta}] {wide_bar}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            bar,
            total: logs.len(),
            total_bytes: logs.iter().map(|o| o.size).sum(),
            started: Instant::now(),
            last_line: std::cell::Cell::new(Instant::now()),
            enabled,
        }
    }

    pub(super) fn objects(&self, s: &Summary) {
        if !self.enabled {
            return;
        }
        let done = s.ingested_objects + s.already_ingested + s.changed_objects + s.failed.len();
        let records = s.records;
        if let Some(bar) = &self.bar {
            bar.set_position(s.compressed_bytes);
            bar.set_message(format!("{done}/{} objects, {records} records,", self.total));
            return;
        }
        if self.last_line.get().elapsed().as_secs() >= 10 {
            self.last_line.set(Instant::now());
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "trailglass: ingest {done}/{} objects, {:.1}/{:.1} MB, {records} records, {:.1} MB/s",
                self.total,
                s.compressed_bytes as f64 / 1e6,
                self.total_bytes as f64 / 1e6,
                s.compressed_bytes as f64 / 1e6 / secs
            );
        }
    }

    pub(super) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
