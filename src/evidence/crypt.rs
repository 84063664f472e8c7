//! `--encrypt kms:KEY`: envelope encryption of a finished (zip) bundle.
//!
//! A fresh 256-bit data key comes from `kms:GenerateDataKey` before the bundle is written; the
//! zip is sealed with AES-256-GCM in 1 MiB chunks (so neither side holds the bundle in memory),
//! and the data key, encrypted by KMS, is stored in the file's header beside the ciphertext:
//!
//! ```text
//! trailglass-encrypted-bundle v1\n   magic
//! {"algorithm":…,"kms_key":…,"encrypted_data_key":…,…}\n   header (JSON, one line)
//! chunk 0 ‖ tag, chunk 1 ‖ tag, …, last chunk ‖ tag   (the last may be empty)
//! ```
//!
//! Chunk `i` is sealed with the nonce `i` (96-bit big-endian; the key is never reused) and the
//! associated data SHA-256(magic ‖ header) ‖ i ‖ last-flag, so a chunk cannot be moved, dropped,
//! or the stream cut short, and the header (which names the key) cannot be swapped.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::error::Error;

pub const MAGIC: &[u8] = b"trailglass-encrypted-bundle v1\n";
const CHUNK: usize = 1 << 20;
const TAG: usize = 16;

/// The encryption context bound to every data key (KMS checks it again on decrypt).
pub fn context() -> HashMap<String, String> {
    HashMap::from([("purpose".to_string(), "trailglass-evidence".to_string())])
}

/// A data key from KMS: the plaintext key (used here, never written) and its KMS ciphertext.
pub struct DataKey {
    pub key_arn: String,
    pub plaintext: Vec<u8>,
    pub encrypted: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Header {
    pub algorithm: String,
    pub kms_key: String,
    /// Base64 of the KMS ciphertext of the data key.
    pub encrypted_data_key: String,
    pub encryption_context: std::collections::BTreeMap<String, String>,
    pub chunk_size: usize,
    /// What the plaintext is.
    pub content: String,
}

/// Whether `path` is an encrypted bundle (by its first bytes).
pub fn is_encrypted(path: &Path) -> bool {
    let mut head = vec![0u8; MAGIC.len()];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == MAGIC
}

fn aad(header_hash: &[u8], i: u64, last: bool) -> Vec<u8> {
    let mut a = header_hash.to_vec();
    a.extend_from_slice(&i.to_be_bytes());
    a.push(u8::from(last));
    a
}

fn nonce(i: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&i.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

fn sealing_key(plaintext: &[u8]) -> Result<LessSafeKey> {
    let k = UnboundKey::new(&AES_256_GCM, plaintext)
        .map_err(|_| anyhow!("the data key is not a 256-bit key"))?;
    Ok(LessSafeKey::new(k))
}

/// Read up to `buf.len()` bytes (fewer only at the end of the input).
fn fill(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let k = r.read(&mut buf[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(n)
}

/// Encrypt the file `plain` into `out` under `key`.
pub fn encrypt(plain: &Path, out: &mut dyn Write, key: &DataKey) -> Result<()> {
    let header = Header {
        algorithm: "AES-256-GCM".into(),
        kms_key: key.key_arn.clone(),
        encrypted_data_key: base64::engine::general_purpose::STANDARD.encode(&key.encrypted),
        encryption_context: context().into_iter().collect(),
        chunk_size: CHUNK,
        content: "application/zip; trailglass evidence bundle".into(),
    };
    let mut head = MAGIC.to_vec();
    head.extend_from_slice(&serde_json::to_vec(&header)?);
    head.push(b'\n');
    let hash = sha2::Sha256::digest(&head);
    out.write_all(&head)?;
    let sealing = sealing_key(&key.plaintext)?;
    let mut input =
        std::fs::File::open(plain).with_context(|| format!("cannot read {}", plain.display()))?;
    // One chunk of look-ahead, so the last chunk is known when it is sealed.
    let mut cur = vec![0u8; CHUNK];
    let mut n = fill(&mut input, &mut cur)?;
    let mut next = vec![0u8; CHUNK];
    let mut i: u64 = 0;
    loop {
        let m = if n == CHUNK {
            fill(&mut input, &mut next)?
        } else {
            0
        };
        let last = n < CHUNK || m == 0;
        let mut block = cur[..n].to_vec();
        sealing
            .seal_in_place_append_tag(nonce(i), Aad::from(aad(&hash, i, last)), &mut block)
            .map_err(|_| anyhow!("AES-GCM sealing failed"))?;
        out.write_all(&block)?;
        if last {
            break;
        }
        std::mem::swap(&mut cur, &mut next);
        n = m;
        i += 1;
    }
    Ok(())
}

/// The header of an encrypted bundle, and how many bytes it takes (magic included).
pub fn read_header(r: &mut dyn Read) -> Result<(Header, Vec<u8>)> {
    let mut head = vec![0u8; MAGIC.len()];
    r.read_exact(&mut head)?;
    if head != MAGIC {
        bail!("not an encrypted trailglass bundle");
    }
    let mut byte = [0u8; 1];
    let mut line = Vec::new();
    loop {
        r.read_exact(&mut byte)
            .context("the encrypted bundle's header is cut off")?;
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
        if line.len() > 1 << 16 {
            bail!("the encrypted bundle's header is too long");
        }
    }
    let header: Header =
        serde_json::from_slice(&line).context("the encrypted bundle's header is not valid")?;
    head.extend_from_slice(&line);
    head.push(b'\n');
    Ok((header, head))
}

/// Why decryption failed: the data was changed (exit 1), or it could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Tampered(pub String);

/// Decrypt the rest of `input` (after [`read_header`]) into `out` with the plaintext data key.
pub fn decrypt(
    input: &mut dyn Read,
    head: &[u8],
    header: &Header,
    plaintext_key: &[u8],
    out: &mut dyn Write,
) -> Result<()> {
    if header.algorithm != "AES-256-GCM" || header.chunk_size != CHUNK {
        return Err(Error::Usage(format!(
            "unknown encryption {} with {}-byte chunks",
            header.algorithm, header.chunk_size
        ))
        .into());
    }
    let hash = sha2::Sha256::digest(head);
    let opening = sealing_key(plaintext_key)?;
    let mut cur = vec![0u8; CHUNK + TAG];
    let mut n = fill(input, &mut cur)?;
    let mut next = vec![0u8; CHUNK + TAG];
    let mut i: u64 = 0;
    loop {
        let m = if n == CHUNK + TAG {
            fill(input, &mut next)?
        } else {
            0
        };
        let last = m == 0;
        let block = &mut cur[..n];
        let plain = opening
            .open_in_place(nonce(i), Aad::from(aad(&hash, i, last)), block)
            .map_err(|_| {
                Tampered(format!(
                    "chunk {i} of the ciphertext does not authenticate: the encrypted bundle was changed or cut short"
                ))
            })?;
        out.write_all(plain)?;
        if last {
            return Ok(());
        }
        std::mem::swap(&mut cur, &mut next);
        n = m;
        i += 1;
    }
}

/// Decrypt the encrypted bundle `enc` (asking KMS for its data key) into the zip file `out`,
/// which must not exist; nothing is left at `out` when it fails. A [`Tampered`] error means the
/// ciphertext or its header was changed.
pub async fn decrypt_file(enc: &Path, out: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut input = std::io::BufReader::new(
        std::fs::File::open(enc)
            .map_err(|e| Error::Usage(format!("cannot read {}: {e}", enc.display())))?,
    );
    let (header, head) =
        read_header(&mut input).map_err(|e| Error::Usage(format!("{}: {e:#}", enc.display())))?;
    let key = super::kms::unwrap_key(&header).await?;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(out)
        .with_context(|| format!("cannot create {}", out.display()))?;
    let mut w = std::io::BufWriter::new(f);
    let done = decrypt(&mut input, &head, &header, &key, &mut w)
        .and_then(|_| Ok(w.into_inner().map_err(|e| e.into_error())?.sync_all()?));
    if done.is_err() {
        let _ = std::fs::remove_file(out);
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(len: usize) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plain");
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let key = DataKey {
            key_arn: "arn:test".into(),
            plaintext: vec![7u8; 32],
            encrypted: vec![1, 2, 3],
        };
        let mut enc = Vec::new();
        encrypt(&p, &mut enc, &key).unwrap();
        let mut r = &enc[..];
        let (h, head) = read_header(&mut r).unwrap();
        let mut out = Vec::new();
        decrypt(&mut r, &head, &h, &key.plaintext, &mut out).unwrap();
        assert_eq!(out, data, "{len}");
        // Any flipped byte after the header, or a cut, is caught.
        for at in [head.len(), head.len() + enc.len() / 3, enc.len() - 1] {
            let mut bad = enc.clone();
            bad[at.min(enc.len() - 1)] ^= 1;
            let mut r = &bad[..];
            let (h, head) = read_header(&mut r).unwrap();
            assert!(decrypt(&mut r, &head, &h, &key.plaintext, &mut Vec::new()).is_err());
        }
        if len > CHUNK {
            let cut = &enc[..enc.len() - (len % CHUNK) - TAG];
            let mut r = cut;
            let (h, head) = read_header(&mut r).unwrap();
            assert!(decrypt(&mut r, &head, &h, &key.plaintext, &mut Vec::new()).is_err());
        }
    }

    #[test]
    fn chunks_round_trip_and_any_change_is_caught() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 5] {
            round_trip(len);
        }
    }
}
