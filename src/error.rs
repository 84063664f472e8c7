//! Exit codes (SPEC §9) and the error kinds that choose them.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ok |
//! | 1 | findings at or above `--fail-on`, or a failed verification |
//! | 2 | usage or input error (including rejects under `--strict`) |
//! | 3 | access or environment error (unreadable source, lake locked or unwritable, AWS denied) |

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Findings = 1,
    Input = 2,
    Access = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// An error that names its exit code; anything else is an input error (2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Access(String),
}

/// The exit code for an error that ended a command.
pub fn exit_for(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return match e {
                Error::Usage(_) => Exit::Input,
                Error::Access(_) => Exit::Access,
            };
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::StorageFull
            )
        {
            return Exit::Access;
        }
    }
    Exit::Input
}

/// Is this error a closed stdout (`trailglass sql … | head`)? That is success, not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || c.to_string().contains("Broken pipe")
    })
}
