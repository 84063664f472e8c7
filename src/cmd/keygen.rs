//! `trailglass keygen`: a local Ed25519 key for signing evidence bundles.

use std::path::PathBuf;

use anyhow::Result;

use super::Cli;
use crate::error::Exit;
use crate::evidence::sign;

/// Make an Ed25519 signing key for `evidence --sign-key`: FILE (private, PKCS#8 PEM, mode 0600)
/// and FILE.pub (public, PEM), both readable by OpenSSL.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass keygen --out evidence.key      (writes evidence.key and evidence.key.pub)")]
pub struct KeygenArgs {
    /// The private key file; the public key goes to FILE.pub.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &KeygenArgs, cli: &Cli) -> Result<Exit> {
    let public = sign::keygen(&args.out, args.force)?;
    if !cli.quiet {
        println!(
            "wrote {} (private, keep it secret) and {} (public); key sha256:{}",
            args.out.display(),
            sign::pub_path(&args.out).display(),
            public.fingerprint()
        );
    }
    Ok(Exit::Ok)
}
