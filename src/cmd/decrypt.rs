//! `trailglass decrypt`: undo `evidence --encrypt` (needs kms:Decrypt on the bundle's key).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Cli;
use crate::error::{Error, Exit};
use crate::evidence::{bundle, crypt, name, zip};

/// Decrypt an encrypted evidence bundle (from `evidence --encrypt kms:KEY`) into a .zip bundle,
/// or into a directory when --out does not end in .zip. Exit 1 when the ciphertext was changed.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass decrypt case-4711.zip.enc --out case-4711.zip
  trailglass decrypt case-4711.zip.enc --out case-4711 && trailglass verify case-4711")]
pub struct DecryptArgs {
    /// The encrypted bundle.
    pub bundle: PathBuf,
    /// Where to write: a .zip file, or a directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing, non-empty --out.
    #[arg(long)]
    pub force: bool,
}

/// A temporary name beside `out`.
fn beside(out: &Path, tag: &str) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(format!(".{tag}-{}", std::process::id()));
    s.into()
}

/// Unpack a bundle zip into a new directory `dir` (fixed, plain names only).
fn unpack(zip_path: &Path, dir: &Path) -> Result<()> {
    let mut z = zip::Reader::open(zip_path).map_err(|e| Error::Usage(format!("{e}")))?;
    std::fs::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for e in z.entries.clone() {
        let path = name::safe_join(dir, &e.name)?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        std::io::copy(&mut z.read(&e)?, &mut f)?;
    }
    Ok(())
}

/// Replace `out` by `new` (both in the same directory).
fn put(new: &Path, out: &Path) -> Result<()> {
    if std::fs::symlink_metadata(out).is_ok() {
        let old = beside(out, "old");
        std::fs::rename(out, &old)?;
        std::fs::rename(new, out)?;
        if old.is_dir() {
            std::fs::remove_dir_all(&old)?;
        } else {
            std::fs::remove_file(&old)?;
        }
    } else {
        std::fs::rename(new, out)?;
    }
    Ok(())
}

pub fn run(args: &DecryptArgs, cli: &Cli) -> Result<Exit> {
    if !crypt::is_encrypted(&args.bundle) {
        return Err(Error::Usage(format!(
            "{} is not an encrypted trailglass bundle",
            args.bundle.display()
        ))
        .into());
    }
    bundle::check_out(&args.out, args.force)?;
    let rt = crate::lake::runtime().build()?;
    let tmp_zip = beside(&args.out, "zip");
    if let Err(e) = rt.block_on(crypt::decrypt_file(&args.bundle, &tmp_zip)) {
        if let Some(t) = e.downcast_ref::<crypt::Tampered>() {
            eprintln!("trailglass: INVALID: {}: {t}", args.bundle.display());
            return Ok(Exit::Findings);
        }
        return Err(e);
    }
    let result = if bundle::is_zip(&args.out) {
        put(&tmp_zip, &args.out)
    } else {
        let dir = beside(&args.out, "dir");
        let unpacked = unpack(&tmp_zip, &dir).and_then(|_| put(&dir, &args.out));
        if unpacked.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        unpacked
    };
    let _ = std::fs::remove_file(&tmp_zip);
    result?;
    if !cli.quiet {
        println!(
            "decrypted {} to {}; check it with: trailglass verify {}",
            args.bundle.display(),
            args.out.display(),
            args.out.display()
        );
    }
    Ok(Exit::Ok)
}
