//! Exit codes (SPEC §9) and the error kinds that choose them. The code follows the kind of the
//! error, typed where it arises, never the verb that met it.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ok (a closed stdout, `trailglass … \| head`, included) |
//! | 1 | findings at or above `--fail-on`, or a failed verification |
//! | 2 | usage or input error (including any reject under `--strict`) |
//! | 3 | access or environment error: unreadable source, AWS or KMS denied, lake locked by another writer, storage full, lake unwritable |
//! | 4 | internal error: a bug in trailglass (please report it with the message) |

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Findings = 1,
    Input = 2,
    Access = 3,
    Internal = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// An error that names its kind, and so its exit code. An untyped error whose causes name no
/// kind is taken for a usage or input error (2), as SQL and parameter errors are.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag, argument or configuration that cannot be used.
    #[error("{0}")]
    Usage(String),
    /// Input data that cannot be used as a whole (rejects are not errors: they are rows).
    #[error("{0}")]
    Input(String),
    /// Denied or unreachable: credentials, S3, KMS, an unreadable source, an unwritable lake.
    #[error("{0}")]
    Access(String),
    /// Another process holds the lake's writer lock.
    #[error("{0}")]
    Locked(String),
    /// The disk (or quota) filled up while writing; nothing partial is visible.
    #[error("{0}")]
    StorageFull(String),
    /// A bug: an invariant of trailglass itself broke.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) | Error::Input(_) => Exit::Input,
            Error::Access(_) | Error::Locked(_) | Error::StorageFull(_) => Exit::Access,
            Error::Internal(_) => Exit::Internal,
        }
    }

    /// Type an error met on the lake (opening, locking, writing, committing) by its causes: an
    /// I/O cause says denied or full; an Arrow error is trailglass's own (internal); anything
    /// else there is environment (the store or a concurrent writer answered with an error).
    pub fn of_lake(err: anyhow::Error) -> anyhow::Error {
        if typed(&err).is_some() {
            return err;
        }
        let text = format!("{err:#}");
        match io_kind(&err) {
            Some(std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded) => {
                Error::StorageFull(text).into()
            }
            Some(_) => Error::Access(text).into(),
            // Building Arrow data from rows the decoder made is trailglass's own logic.
            None if err
                .chain()
                .any(|c| c.downcast_ref::<arrow::error::ArrowError>().is_some()) =>
            {
                Error::Internal(text).into()
            }
            None => Error::Access(text).into(),
        }
    }
}

/// The first error of ours in the chain.
fn typed(err: &anyhow::Error) -> Option<&Error> {
    err.chain().find_map(|c| c.downcast_ref::<Error>())
}

/// The kind of the first I/O error in the chain; also found when a library kept only its text
/// (object_store and delta-rs render the OS error into their messages).
fn io_kind(err: &anyhow::Error) -> Option<std::io::ErrorKind> {
    use std::io::ErrorKind;
    if let Some(k) = err
        .chain()
        .find_map(|c| c.downcast_ref::<std::io::Error>().map(std::io::Error::kind))
    {
        return Some(k);
    }
    let text = format!("{err:#}");
    if text.contains("No space left on device") || text.contains("os error 28") {
        Some(ErrorKind::StorageFull)
    } else if text.contains("Disk quota exceeded") || text.contains("os error 122") {
        Some(ErrorKind::QuotaExceeded)
    } else if text.contains("Permission denied") || text.contains("os error 13") {
        Some(ErrorKind::PermissionDenied)
    } else {
        None
    }
}

/// The exit code for an error that ended a command.
pub fn exit_for(err: &anyhow::Error) -> Exit {
    if let Some(e) = typed(err) {
        return e.exit();
    }
    match io_kind(err) {
        Some(
            std::io::ErrorKind::PermissionDenied
            | std::io::ErrorKind::StorageFull
            | std::io::ErrorKind::QuotaExceeded,
        ) => Exit::Access,
        _ => Exit::Input,
    }
}

/// Is this error a closed stdout (`trailglass sql … | head`)? That is success, not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || c.to_string().contains("Broken pipe")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_follows_the_kind_not_the_verb() {
        let full = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::StorageFull))
            .context("writing events files");
        assert_eq!(exit_for(&Error::of_lake(full)), Exit::Access);
        let typed_full = Error::of_lake(anyhow::anyhow!(
            "Generic LocalFileSystem error: No space left on device (os error 28)"
        ));
        assert!(matches!(
            typed_full.downcast_ref::<Error>(),
            Some(Error::StorageFull(_))
        ));
        let bug = anyhow::Error::from(Error::Internal("the writer thread panicked".into()))
            .context("ingest into lake");
        assert_eq!(exit_for(&bug), Exit::Internal);
        assert_eq!(
            exit_for(&Error::of_lake(bug)),
            Exit::Internal,
            "a typed error keeps its kind"
        );
        assert_eq!(
            exit_for(&Error::Locked("another ingest".into()).into()),
            Exit::Access
        );
        assert_eq!(exit_for(&anyhow::anyhow!("SQL error")), Exit::Input);
        let arrow = anyhow::Error::from(arrow::error::ArrowError::InvalidArgumentError(
            "columns of different lengths".into(),
        ))
        .context("writing events files");
        assert_eq!(exit_for(&Error::of_lake(arrow)), Exit::Internal);
        let conflict = anyhow::anyhow!("Transaction failed: Metadata changed since last commit.")
            .context("committing to the events table");
        assert_eq!(exit_for(&Error::of_lake(conflict)), Exit::Access);
    }
}
