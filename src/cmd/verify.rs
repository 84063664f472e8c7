//! `trailglass verify`: check an evidence bundle offline (SPEC §11).

use std::path::PathBuf;

use anyhow::Result;

use super::Cli;
use crate::error::{Error, Exit};
use crate::evidence::sign::PublicKey;
use crate::evidence::{Verdict, verify};

/// Check an evidence bundle (directory or .zip) offline: every file's SHA-256, that no listed
/// file is missing and no unlisted file is present, and the manifest's signature. An encrypted
/// bundle (`evidence --encrypt`) is decrypted first, which needs kms:Decrypt.
///
/// Exit status: 0 valid, 1 invalid (names the first file or key that does not match), 2 not a
/// bundle or unreadable.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass verify case-4711
  trailglass verify case-4711.zip --public-key evidence.key.pub")]
pub struct VerifyArgs {
    /// The bundle: a directory or a .zip file.
    pub bundle: PathBuf,
    /// Require a signature by this key (PEM); the bundle's manifest.pub must be the same key.
    #[arg(long)]
    pub public_key: Option<PathBuf>,
}

/// A file removed when dropped.
struct Temp(PathBuf);

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn run(args: &VerifyArgs, cli: &Cli) -> Result<Exit> {
    let expected =
        match &args.public_key {
            None => None,
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    Error::Usage(format!("cannot read the public key {}: {e}", p.display()))
                })?;
                Some(PublicKey::from_pem(&text).map_err(|e| {
                    Error::Usage(format!("{} is not a public key: {e:#}", p.display()))
                })?)
            }
        };
    // An encrypted bundle is decrypted (kms:Decrypt) into a private temporary zip and checked.
    let mut _plain = None;
    let mut target = args.bundle.clone();
    if crate::evidence::crypt::is_encrypted(&args.bundle) {
        let tmp = Temp(
            std::env::temp_dir().join(format!("trailglass-verify-{}.zip", std::process::id())),
        );
        let _ = std::fs::remove_file(&tmp.0);
        let rt = crate::lake::runtime().build()?;
        if let Err(e) = rt.block_on(crate::evidence::crypt::decrypt_file(&args.bundle, &tmp.0)) {
            if let Some(t) = e.downcast_ref::<crate::evidence::crypt::Tampered>() {
                eprintln!("trailglass: INVALID: {}: {t}", args.bundle.display());
                return Ok(Exit::Findings);
            }
            return Err(e);
        }
        target = tmp.0.clone();
        _plain = Some(tmp);
    }
    match verify(&target, expected.as_ref())? {
        Verdict::Valid { files, signer } => {
            if !cli.quiet {
                match signer {
                    Some(k) => println!(
                        "valid: {}: {files} files intact, manifest signed by key sha256:{k}",
                        args.bundle.display()
                    ),
                    None => println!(
                        "valid: {}: {files} files intact; UNSIGNED (no manifest.sig): this shows the files agree with the manifest, not who made it",
                        args.bundle.display()
                    ),
                }
            }
            Ok(Exit::Ok)
        }
        Verdict::Invalid { file, why } => {
            eprintln!(
                "trailglass: INVALID: {}: {file} {why}",
                args.bundle.display()
            );
            Ok(Exit::Findings)
        }
    }
}
