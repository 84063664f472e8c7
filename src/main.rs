//! The `trailglass` binary: parse, set up logging, dispatch, map the outcome to an exit code.

use std::process::ExitCode;

use trailglass::cmd::{self, Cli};
use trailglass::error::{self, Exit};

fn main() -> ExitCode {
    trailglass::alloc::init();
    let cli = Cli::parse_args();
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
