//! One writer at a time: an exclusive `flock` on `LAKE/_trailglass.lock`.
//!
//! The kernel drops the lock when its holder dies (even by `kill -9`), so a crashed ingest never
//! leaves a stale lock behind; the file's text (pid, host, time) only serves the error message.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Context, Result};

/// Held for the life of an ingest; released on drop or process exit.
pub struct LakeLock {
    _file: Option<File>,
}

impl LakeLock {
    pub fn none() -> Self {
        LakeLock { _file: None }
    }

    pub fn acquire(root: &Path) -> Result<Self> {
        let path = root.join("_trailglass.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lake lock {}", path.display()))
            .map_err(crate::error::Error::of_lake)?;
        // SAFETY: flock on a file descriptor we own; no memory is shared with the kernel.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(crate::error::Error::Locked(format!(
                "another ingest is writing to this lake ({}); wait for it to finish. Lock file: {} — \
                 it is released automatically when that process exits",
                holder.trim(),
                path.display()
            ))
            .into());
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let text = format!(
            "pid {} on {} since {}\n",
            std::process::id(),
            host.trim(),
            chrono::Utc::now().to_rfc3339()
        );
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(text.as_bytes())?;
        Ok(LakeLock { _file: Some(file) })
    }
}
