//! gzip with every member checked (CRC-32 and length trailer), a decompressed-size cap against
//! bombs, and a distinct reason for truncation, corruption and trailing bytes.
//!
//! libdeflate inflates a whole member in one call at about twice zlib-rs's speed (docs/DESIGN.md,
//! "Stage costs"); gunzip was a third of decoding. It only says "bad data", so a member it
//! refuses is decoded again by flate2, whose error tells a cut stream from a corrupt one.

use std::cell::RefCell;
use std::io::Read;
use std::ptr::NonNull;

use flate2::bufread::GzDecoder;

use super::Reject;

/// A libdeflate decompressor: it holds only its Huffman tables, so a thread keeps one.
struct Inflater(NonNull<libdeflate_sys::libdeflate_decompressor>);

impl Inflater {
    fn new() -> Option<Inflater> {
        // SAFETY: no preconditions; null means out of memory.
        NonNull::new(unsafe { libdeflate_sys::libdeflate_alloc_decompressor() }).map(Inflater)
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: allocated by libdeflate_alloc_decompressor and freed once, here.
        unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

thread_local! {
    static INFLATER: RefCell<Option<Inflater>> = const { RefCell::new(None) };
}

/// How one member went in libdeflate.
enum Member {
    /// Done, having read this many compressed bytes.
    Done(usize),
    /// The output did not fit in the space offered.
    Full,
    /// Refused (corrupt, cut short, or a bad checksum): flate2 says which.
    Bad,
}

/// Inflate the first gzip member of `input` into the spare capacity of `out` (at most `limit`
/// bytes of it), appending to `out`.
fn inflate_member(d: &Inflater, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Member {
    use libdeflate_sys::{
        libdeflate_gzip_decompress_ex, libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE,
        libdeflate_result_LIBDEFLATE_SUCCESS,
    };
    let avail = (out.capacity() - out.len()).min(limit);
    let (mut read, mut written) = (0usize, 0usize);
    // SAFETY: `input` is readable for its length; the output pointer is `avail` bytes of `out`'s
    // allocated spare capacity, which libdeflate only writes; `written <= avail` on success.
    let r = unsafe {
        libdeflate_gzip_decompress_ex(
            d.0.as_ptr(),
            input.as_ptr().cast(),
            input.len(),
            out.as_mut_ptr().add(out.len()).cast(),
            avail,
            &mut read,
            &mut written,
        )
    };
    #[allow(non_upper_case_globals)]
    match r {
        libdeflate_result_LIBDEFLATE_SUCCESS if written <= avail && read <= input.len() => {
            // SAFETY: libdeflate initialised `written` bytes past the old length.
            unsafe { out.set_len(out.len() + written) };
            Member::Done(read)
        }
        libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => Member::Full,
        _ => Member::Bad,
    }
}

pub fn is_gzip(bytes: &[u8]) -> bool {
    // One byte is enough: no JSON text starts with 0x1f, and a cut header is still a cut gzip.
    bytes.first() == Some(&0x1f)
}

/// Inflate every gzip member of `bytes` (multi-member files are legal: concatenated members).
pub fn gunzip(bytes: &[u8], cap: u64) -> Result<Vec<u8>, Reject> {
    INFLATER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Inflater::new();
        }
        match slot.as_ref() {
            Some(d) => gunzip_with(d, bytes, cap),
            None => gunzip_streaming(bytes, cap),
        }
    })
}

fn too_large(cap: u64) -> Reject {
    Reject::object(
        "too_large",
        format!("decompresses to more than the {cap} byte cap (--max-object-size)"),
        None,
    )
}

fn trailing(bytes: &[u8], rest: &[u8]) -> Reject {
    Reject::object(
        "gzip_trailing_data",
        format!(
            "{} bytes after the last gzip member are not gzip",
            rest.len()
        ),
        Some((bytes.len() - rest.len()) as i64),
    )
}

/// ISIZE (the last 4 bytes): the size mod 2^32 of the last member, a first guess of the output.
fn size_hint(bytes: &[u8]) -> usize {
    bytes
        .get(bytes.len().saturating_sub(4)..)
        .and_then(|t| <[u8; 4]>::try_from(t).ok())
        .map_or(0, |t| u32::from_le_bytes(t) as usize)
}

fn gunzip_with(d: &Inflater, bytes: &[u8], cap: u64) -> Result<Vec<u8>, Reject> {
    let max = usize::try_from(cap).unwrap_or(usize::MAX);
    // The hint is exact for the usual single member: one call, no growth. Room for one more byte
    // than the cap tells "at the cap" from "over".
    let mut out: Vec<u8> = Vec::with_capacity(
        size_hint(bytes)
            .clamp(64, 256 << 20)
            .min(max.saturating_add(1)),
    );
    let mut rest = bytes;
    while !rest.is_empty() {
        if !is_gzip(rest) {
            return Err(trailing(bytes, rest));
        }
        let limit = max.saturating_add(1) - out.len();
        match inflate_member(d, rest, &mut out, limit) {
            Member::Done(read) => rest = &rest[read..],
            Member::Full if out.capacity() - out.len() >= limit => {
                return Err(too_large(cap));
            }
            Member::Full => {
                let grow = (out.capacity().max(rest.len() * 4)).min(limit);
                out.reserve_exact(grow);
            }
            Member::Bad => return gunzip_streaming(bytes, cap),
        }
    }
    if out.len() > max {
        return Err(too_large(cap));
    }
    Ok(out)
}

/// The streaming decoder: slower, but its errors name the cause (and it needs no whole-member
/// output buffer).
fn gunzip_streaming(bytes: &[u8], cap: u64) -> Result<Vec<u8>, Reject> {
    let mut out = Vec::with_capacity(
        size_hint(bytes)
            .max(bytes.len())
            .min(cap.min(256 << 20) as usize),
    );
    let mut rest = bytes;
    while !rest.is_empty() {
        if !is_gzip(rest) {
            return Err(trailing(bytes, rest));
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
            return Err(too_large(cap));
        }
        rest = dec.into_inner();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(text: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text).expect("compress");
        e.finish().expect("compress")
    }

    /// The fast path agrees with the streaming decoder, byte for byte and reject for reject,
    /// including members whose size the trailer hint gets wrong (it is the last member's).
    #[test]
    fn libdeflate_and_streaming_agree() {
        let big: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect();
        let mut multi = gz(&big);
        multi.extend(gz(b"{}"));
        multi.extend(gz(b""));
        let mut cut = gz(&big);
        cut.truncate(cut.len() / 2);
        let mut bad_crc = gz(b"{\"a\":1}");
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        let mut garbage = gz(b"{}");
        garbage.extend(b"xyz");
        let len = big.len() as u64;
        for (what, input, cap) in [
            ("one member", gz(&big), 1 << 30),
            ("three members", multi.clone(), 1 << 30),
            ("exactly at the cap", gz(&big), len),
            ("one byte over the cap", gz(&big), len - 1),
            ("over the cap in a later member", multi, len + 1),
            ("cut short", cut, 1 << 30),
            ("bad checksum", bad_crc, 1 << 30),
            ("trailing bytes", garbage, 1 << 30),
            ("a lone magic byte", vec![0x1f], 1 << 30),
            ("a cap below the compressed size", gz(&big), 10),
        ] {
            let fast = gunzip(&input, cap).map_err(|r| (r.code, r.offset));
            let slow = gunzip_streaming(&input, cap).map_err(|r| (r.code, r.offset));
            assert_eq!(fast, slow, "{what}");
        }
        assert_eq!(gunzip(&gz(&big), 1 << 30).expect("inflate"), big);
        assert_eq!(
            gunzip(&gz(&big), len - 1).map_err(|r| r.code),
            Err("too_large")
        );
    }
}
