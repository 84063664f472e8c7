//! trailglass: offline audit-log analytics for AWS CloudTrail.
//!
//! Data flows one way: [`source`] → [`decode`] → [`lake`] → [`query`]; [`ingest`] drives the first
//! three and the verbs in [`cmd`] drive everything.

pub mod alloc;
pub mod cmd;
pub mod config;
pub mod decode;
pub mod error;
pub mod evidence;
pub mod fault;
pub mod r#gen;
pub mod ingest;
pub mod integrity;
pub mod lake;
pub mod query;
pub mod report;
pub mod schema;
pub mod source;
pub mod telemetry;

// The integration tests (tests/integration) build into this crate's test binary: see there.
#[cfg(test)]
#[path = "../tests/integration/main.rs"]
mod integration;
