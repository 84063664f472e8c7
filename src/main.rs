//! The `trailglass` binary: parse, set up logging, dispatch, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use trailglass::cmd::{self, Cli};
use trailglass::error::{self, Exit};

// Decoding allocates many short-lived buffers on the rayon threads that the writer thread frees;
// glibc's allocator spent a quarter of the ingest there (measured with perf, docs/DESIGN.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_t` (the same in mimalloc v2 and v3).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

fn main() -> ExitCode {
    // mimalloc hands freed memory back to the OS after 10 ms by default; an ingest frees and
    // re-allocates a batch's worth every few hundred ms, and re-faulting those pages cost a quarter
    // of its CPU time. One second keeps them while memory stays bounded by the batch size.
    // SAFETY: mimalloc's C API, called once before any other thread exists.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
    let cli = Cli::parse();
    trailglass::telemetry::init(cli.verbose, cli.quiet);
    match cmd::run(cli) {
        Ok(code) => code.into(),
        Err(e) if error::is_broken_pipe(&e) => Exit::Ok.into(),
        Err(e) => {
            eprintln!("trailglass: error: {e:#}");
            error::exit_for(&e).into()
        }
    }
}
