//! Failpoints for crash tests: `TRAILGLASS_FAILPOINT=<name>` aborts the process at that point, as a
//! power cut or `kill -9` would, so tests can prove the lake recovers from every step of a commit.

use std::sync::LazyLock;

static ARMED: LazyLock<Option<String>> =
    LazyLock::new(|| std::env::var("TRAILGLASS_FAILPOINT").ok());

/// Abort here if this failpoint is armed.
pub fn point(name: &str) {
    if ARMED.as_deref() == Some(name) {
        eprintln!("trailglass: failpoint {name} reached, aborting");
        std::process::abort();
    }
}

/// Fail here as a full disk would (`ENOSPC`) if this failpoint is armed: the storage-full tests
/// need no small filesystem.
pub fn io(name: &str) -> std::io::Result<()> {
    if ARMED.as_deref() == Some(name) {
        return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
    }
    Ok(())
}
