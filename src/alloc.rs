//! The allocator: mimalloc, tuned for ingest's pattern of large, short-lived batch buffers.
//!
//! Decoding allocates many buffers on the rayon threads that the writer's threads free. glibc's
//! allocator spent a quarter of an ingest there; mimalloc does not. By default mimalloc hands
//! freed memory back to the OS after 10 ms, and faulting those pages in again (the kernel zeroes
//! every one) cost a quarter of the CPU time; with a one-second delay it was still a fifth. So
//! freed memory is never handed back during a run: ingest's working set is the same batch after
//! batch, so its peak RSS stays flat with input size (measured in docs/DESIGN.md), and every page
//! is faulted in once. `MIMALLOC_PURGE_DELAY` (milliseconds) overrides, for a long-lived process
//! that would rather give memory back. glibc's malloc, which the C libraries use, is told the same
//! (`GLIBC_TUNABLES` overrides).

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_t` (the same in mimalloc v2 and v3).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// Set the allocators' options; call first thing in `main`. `MIMALLOC_PURGE_DELAY` overrides.
pub fn init() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mimalloc's C API; options may be set at any time. -1: never purge.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
    keep_c_heap();
}

/// The C libraries (zstd above all: the Parquet codec makes a compression and a decompression
/// context for every column chunk it reads or writes) allocate with glibc's malloc. By default
/// glibc hands the top of each thread's heap back to the OS on free and maps large blocks
/// afresh, so those contexts were faulted in and zeroed again and again: 33k page faults in one
/// `sessions` run, 4k with this. Same reasoning as above: a run's working set is steady.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_c_heap() {
    if std::env::var_os("GLIBC_TUNABLES").is_some() {
        return;
    }
    // SAFETY: mallopt only sets malloc parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
        // Fixing the threshold (32 MiB, glibc's largest) also stops glibc from adapting it.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_c_heap() {}
