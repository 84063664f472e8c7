//! gzip with every member checked (CRC-32 and length trailer), a decompressed-size cap against
//! bombs, and a distinct reason for truncation, corruption and trailing bytes.

use std::io::Read;

use flate2::bufread::GzDecoder;

use super::Reject;

pub fn is_gzip(bytes: &[u8]) -> bool {
    // One byte is enough: no JSON text starts with 0x1f, and a cut header is still a cut gzip.
    bytes.first() == Some(&0x1f)
}

/// Inflate every gzip member of `bytes` (multi-member files are legal: concatenated members).
pub fn gunzip(bytes: &[u8], cap: u64) -> Result<Vec<u8>, Reject> {
    // ISIZE (the last 4 bytes) is the size mod 2^32 of the last member: a good first guess.
    let hint = bytes
        .get(bytes.len().saturating_sub(4)..)
        .and_then(|t| <[u8; 4]>::try_from(t).ok())
        .map_or(0, |t| u32::from_le_bytes(t) as usize);
    let mut out = Vec::with_capacity(hint.clamp(bytes.len(), cap.min(256 << 20) as usize));
    let mut rest = bytes;
    while !rest.is_empty() {
        if !is_gzip(rest) {
            let offset = (bytes.len() - rest.len()) as i64;
            return Err(Reject::object(
                "gzip_trailing_data",
                format!(
                    "{} bytes after the last gzip member are not gzip",
                    rest.len()
                ),
                Some(offset),
            ));
        }
        let member_start = (bytes.len() - rest.len()) as i64;
        let budget = cap.saturating_sub(out.len() as u64);
        let mut dec = GzDecoder::new(rest);
        let read = (&mut dec).take(budget + 1).read_to_end(&mut out);
        if let Err(e) = read {
            let (code, what) = match e.kind() {
                std::io::ErrorKind::UnexpectedEof => ("gzip_truncated", "gzip stream cut short"),
                _ => ("gzip_corrupt", "corrupt gzip data"),
            };
            return Err(Reject::object(
                code,
                format!("{what} (member at byte {member_start}): {e}"),
                Some(member_start),
            ));
        }
        if out.len() as u64 > cap {
            return Err(Reject::object(
                "too_large",
                format!("decompresses to more than the {cap} byte cap (--max-object-size)"),
                None,
            ));
        }
        rest = dec.into_inner();
    }
    Ok(out)
}
