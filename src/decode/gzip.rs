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

use super::{Reason, Reject};

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
        Reason::TooLarge,
        format!("decompresses to more than the {cap} byte cap (--max-object-size)"),
        None,
    )
}

fn trailing(bytes: &[u8], rest: &[u8]) -> Reject {
    Reject::object(
        Reason::GzipTrailingData,
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
    // Room for one more byte than the cap tells "at the cap" from "over".
    let budget = max.saturating_add(1);
    // The trailer is untrusted: it is the last member's size mod 2^32, and a bomb may state
    // anything. It only sizes the one libdeflate call per member. A trailer above the cap gets
    // the whole budget, so an honest bomb costs the cap's worth of inflating and no more; a
    // member that does not fit the room is finished by the streaming decoder, whose work stops
    // at the cap too. Growing the room and calling libdeflate again (it cannot resume) is what
    // once looped forever on a 2 GB bomb: the growth was asked of `reserve_exact` relative to a
    // length that a failed call leaves at 0, so the room never grew.
    let hint = size_hint(bytes);
    let room = if hint >= budget {
        budget
    } else {
        hint.clamp(64, 256 << 20).min(budget)
    };
    let mut out: Vec<u8> = Vec::with_capacity(room);
    let mut rest = bytes;
    while !rest.is_empty() {
        if !is_gzip(rest) {
            return Err(trailing(bytes, rest));
        }
        let left = budget - out.len();
        match inflate_member(d, rest, &mut out, left) {
            // A member reads its header and trailer at least: `read` is never 0.
            Member::Done(read) if read > 0 => rest = &rest[read..],
            Member::Full if out.capacity() - out.len() >= left => return Err(too_large(cap)),
            _ => return stream_members(bytes, rest, out, cap),
        }
    }
    if out.len() > max {
        return Err(too_large(cap));
    }
    // A trailer that overstated the size left a large reservation behind.
    if out.capacity() > (out.len() + (1 << 20)).saturating_mul(2) {
        out.shrink_to_fit();
    }
    Ok(out)
}

/// The streaming decoder: slower, but its errors name the cause (and it needs no whole-member
/// output buffer).
fn gunzip_streaming(bytes: &[u8], cap: u64) -> Result<Vec<u8>, Reject> {
    let out = Vec::with_capacity(
        size_hint(bytes)
            .max(bytes.len())
            .min(cap.min(256 << 20) as usize),
    );
    stream_members(bytes, bytes, out, cap)
}

/// Inflate the members of `rest` (the tail of `bytes`) with flate2, appending to `out`. Work and
/// output stop one byte past the cap, whatever the members' trailers say.
fn stream_members(
    bytes: &[u8],
    mut rest: &[u8],
    mut out: Vec<u8>,
    cap: u64,
) -> Result<Vec<u8>, Reject> {
    while !rest.is_empty() {
        if !is_gzip(rest) {
            return Err(trailing(bytes, rest));
        }
        let member_start = (bytes.len() - rest.len()) as i64;
        let budget = cap.saturating_sub(out.len() as u64);
        // Room for the whole budget up front (address space, not memory, until written):
        // `read_to_end` growing by doubling copied a bomb's gigabyte into two, twice the cap
        // resident. Too large to reserve, it grows as before.
        let _ =
            out.try_reserve_exact(usize::try_from(budget.saturating_add(1)).unwrap_or(usize::MAX));
        let mut dec = GzDecoder::new(rest);
        let read = (&mut dec)
            .take(budget.saturating_add(1))
            .read_to_end(&mut out);
        if let Err(e) = read {
            let (code, what) = match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    (Reason::GzipTruncated, "gzip stream cut short")
                }
                _ => (Reason::GzipCorrupt, "corrupt gzip data"),
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
        let next = dec.into_inner();
        // A member always consumes its header; one that did not would spin here forever.
        if next.len() >= rest.len() {
            return Err(Reject::object(
                Reason::GzipCorrupt,
                format!("corrupt gzip data (member at byte {member_start}): no progress"),
                Some(member_start),
            ));
        }
        rest = next;
    }
    Ok(out)
}

#[cfg(test)]
/// A gzip member of `mib` MiB of zeros whose trailer states `isize` (None: the truth), made
/// without compressing gigabytes: a full-flushed deflate of 1 MiB of zeros is byte-aligned and
/// refers to nothing before it, so copies of it make one long stream. The CRC is computed
/// only when `crc` asks (a bomb is rejected before its trailer is read).
pub fn zeros_gzip(mib: usize, isize: Option<u32>, crc: bool) -> Vec<u8> {
    let chunk = vec![0u8; 1 << 20];
    let mut c = flate2::Compress::new(flate2::Compression::best(), false);
    let mut block = Vec::with_capacity(8 << 10);
    c.compress_vec(&chunk, &mut block, flate2::FlushCompress::Full)
        .expect("deflate");
    assert_eq!(c.total_in(), chunk.len() as u64, "one call takes the chunk");
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.reserve(block.len() * mib + 10);
    for _ in 0..mib {
        out.extend_from_slice(&block);
    }
    // An empty final block (fixed Huffman, end-of-block only).
    out.extend_from_slice(&[0x03, 0x00]);
    let mut sum = flate2::Crc::new();
    if crc {
        for _ in 0..mib {
            sum.update(&chunk);
        }
    }
    out.extend_from_slice(&sum.sum().to_le_bytes());
    let size = isize.unwrap_or(((mib as u64) << 20) as u32);
    out.extend_from_slice(&size.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::decode::Limits;

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
            gunzip(&gz(&big), len - 1).map_err(|r| r.code.as_str()),
            Err("too_large")
        );
    }

    fn code(r: Result<Vec<u8>, Reject>) -> Result<usize, &'static str> {
        r.map(|v| v.len()).map_err(|r| r.code.as_str())
    }

    /// Issue 17: a 2 MB object inflating to 2 GB never finished. At the default cap every bomb
    /// is rejected after at most the cap's worth of output, whatever its trailer says, on both
    /// paths; the multi-member case adds up members that each fit.
    #[test]
    fn r17_bombs_at_the_default_cap_are_rejected_whatever_the_trailer_says() {
        let cap = Limits::default().max_decompressed;
        let gib = (cap >> 20) as usize;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            // 2 GiB mod 2^32: the trailer states the truth, above the cap.
            (
                "2x the cap, honest trailer",
                zeros_gzip(2 * gib, None, false),
            ),
            // 4 GiB mod 2^32 is 0: the trailer says empty.
            (
                "4x the cap, trailer wrapped to 0",
                zeros_gzip(4 * gib, None, false),
            ),
            (
                "2x the cap, trailer says 100 bytes",
                zeros_gzip(2 * gib, Some(100), false),
            ),
            (
                "2x the cap, trailer says 4 GiB",
                zeros_gzip(2 * gib, Some(u32::MAX), false),
            ),
            (
                "the issue's trailer",
                zeros_gzip(2 * gib, Some(1_999_635_278), false),
            ),
        ];
        for (what, bomb) in &cases {
            assert_eq!(code(gunzip(bomb, cap)), Err("too_large"), "{what}");
        }
        // Three members of 400 MiB, each under the cap, 1.2 GiB together; the trailer is the
        // last member's, so it fits the room it claims.
        let third = zeros_gzip(400, None, true);
        let mut multi = third.clone();
        multi.extend_from_slice(&third);
        multi.extend_from_slice(&third);
        assert_eq!(code(gunzip(&multi, cap)), Err("too_large"), "multi-member");
        assert_eq!(
            code(gunzip_streaming(&multi, cap)),
            Err("too_large"),
            "multi-member, streaming"
        );
        // The streaming path alone, on the smaller bomb (the larger one adds nothing: work stops
        // at the cap).
        assert_eq!(
            code(gunzip_streaming(&cases[0].1, cap)),
            Err("too_large"),
            "streaming"
        );
    }

    /// A trailer that lies about a small member, in either direction, is a corrupt member (the
    /// length check), found at once, on both paths; members that fit are still read.
    #[test]
    fn r17_a_lying_trailer_is_corrupt_not_a_stall() {
        let cap = Limits::default().max_decompressed;
        let truth = zeros_gzip(3, None, true);
        assert_eq!(code(gunzip(&truth, cap)), Ok(3 << 20));
        for (what, isize) in [
            ("too small", 1u32),
            ("too large", u32::MAX),
            ("above the cap", (cap + 1) as u32),
        ] {
            let liar = zeros_gzip(3, Some(isize), true);
            assert_eq!(code(gunzip(&liar, cap)), Err("gzip_corrupt"), "{what}");
            assert_eq!(
                code(gunzip_streaming(&liar, cap)),
                Err("gzip_corrupt"),
                "{what}, streaming"
            );
        }
        // Two members whose last trailer understates the first: the first does not fit the
        // room, and is finished by the streaming decoder.
        let mut two = zeros_gzip(3, None, true);
        two.extend(gz(b"{}"));
        assert_eq!(code(gunzip(&two, cap)), Ok((3 << 20) + 2));
    }
}
