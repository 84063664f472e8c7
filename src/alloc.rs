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

/// For ingest: no transparent huge pages from here on. mimalloc asks for them (`madvise`), so
/// the first touch of any 2 MiB of heap faults in and zeroes all of it. On this project's
/// two-core VM that zeroing was a fifth of an ingest's CPU time (`clear_page_erms` under
/// `do_huge_pmd_anonymous_page`); with 4 KiB pages the kernel time halved and the 1 GiB
/// benchmark ran 4.9 → 4.4 s, at the same peak RSS. Queries are not switched: short-lived, they
/// ran 7% slower with small pages. The flag covers the whole process, existing mappings
/// included (the kernel reads it at each fault). `MIMALLOC_ALLOW_THP=1` keeps huge pages.
#[cfg(target_os = "linux")]
pub fn no_huge_pages() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return;
    }
    // SAFETY: prctl with PR_SET_THP_DISABLE only sets a flag of this process's address space;
    // a kernel without it returns an error, which changes nothing.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

#[cfg(not(target_os = "linux"))]
pub fn no_huge_pages() {}

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
