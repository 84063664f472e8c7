//! The allocator: mimalloc, tuned for ingest's pattern of large, short-lived batch buffers.
//!
//! Decoding allocates many buffers on the rayon threads that the writer thread frees. glibc's
//! allocator spent a quarter of an ingest there; mimalloc does not. By default mimalloc hands
//! freed memory back to the OS after 10 ms, and re-faulting those pages cost a quarter of the CPU
//! time again, so the delay is one second; instead the writer returns what is free once per
//! committed batch ([`release`]). Peak RSS still grows slowly over a long run (docs/DESIGN.md).

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_t` (the same in mimalloc v2 and v3).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    fn mi_collect(force: bool);
}

/// Set the allocator's options; call first thing in `main`. `MIMALLOC_PURGE_DELAY` overrides.
pub fn init() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mimalloc's C API; options may be set at any time.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
    }
}

/// Return freed memory to the OS now (after a batch is committed).
pub fn release() {
    // SAFETY: mimalloc's C API, safe to call from any thread at any time.
    unsafe { mi_collect(true) };
}
