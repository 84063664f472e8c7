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

/// The property tests' configuration: a fixed seed and case count, so every CI run tries the same
/// inputs, and no failure files written into the source tree.
#[cfg(test)]
pub(crate) fn proptest_config(seed: u64, cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
