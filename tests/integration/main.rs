//! One integration-test binary (one link of the >100 MB dependency set), one module per area.

mod bad_input;
mod cli;
mod compact;
mod crash;
mod identity;
mod ingest;
mod realdata;
mod s3;
mod s3util;
mod sessions;
mod sessions_realdata;
mod slt;
mod util;
