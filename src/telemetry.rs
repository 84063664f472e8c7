//! Logging: tracing to stderr (results go to stdout, never mixed). `RUST_LOG` overrides the level.
//! Policy: WARN only when no data was lost, ERROR when an operator must act, nothing per event.

use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    // delta-rs and DataFusion are chatty at info; keep them one level quieter than ours.
    let default = format!("{level},deltalake=warn,deltalake_core=warn,datafusion=warn");
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
