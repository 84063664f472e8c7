//! Evidence bundles (SPEC §11): everything about one break-glass session or a period, with the
//! original CloudTrail records byte for byte, that an auditor can check without trailglass.
//!
//! A bundle is a directory or a reproducible zip of fixed file names ([`name::FILES`]):
//! `manifest.json` lists every other file with its size and SHA-256 and records how the bundle
//! was made (lake versions, the digests of `config.toml` and of `queries.json`, which holds the
//! SQL and bound parameters); `SHA256SUMS` repeats the hashes for `sha256sum -c`; `manifest.sig`
//! (optional) is an Ed25519, ECDSA P-256 or RSA-PSS signature over the exact bytes of
//! `manifest.json`, with the public key in `manifest.pub`; `VERIFY.txt` says how
//! to check it all with `sha256sum` and `openssl`. The same lake version, arguments and created
//! time give byte-identical files.

pub mod bundle;
pub mod crypt;
pub mod kms;
pub mod manifest;
pub mod name;
pub mod recipe;
pub mod sign;
pub mod timeline;
pub mod verify;
pub mod zip;

pub use bundle::{Plan, Subject, Written};
pub use verify::{Verdict, verify};
