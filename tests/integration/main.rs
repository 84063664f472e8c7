//! The integration tests, one module per area. They compile into the library's test binary
//! (`src/lib.rs` includes this file under `cfg(test)`): a separate test crate was a third
//! compilation and link of the whole dependency graph's code, alone at the end of a cold CI build.
//! They drive the real binary (`util::bin`) and use only the library's public surface.

mod bad_input;
mod cli;
mod compact;
mod crash;
mod derived;
mod evidence;
mod hardening;
mod identity;
mod ingest;
mod integrity;
mod realdata;
mod repo;
mod report;
mod s3;
mod s3util;
mod sessions;
mod sessions_realdata;
mod slt;
mod util;
mod window;
