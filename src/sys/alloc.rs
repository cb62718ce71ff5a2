//! The one global allocator of every runit-rs binary: the system allocator, plus
//!
//! - **runit's voice when memory runs out.** Rust's default reaction to a failed allocation
//!   is `memory allocation of N bytes failed` and an abort (SIGABRT, maybe a core). Ours
//!   prints the program's fatal line, `PREFIX fatal: out of memory.` (formats.md §7 and §8:
//!   `svlogd: fatal: out of memory.`, `chpst: fatal: out of memory.`; sv, which has no
//!   prefix, says `fatal: out of memory.`), and `_exit`s with the program's fatal code,
//!   set by its `main` next to its message prefix ([`set_oom_exit`]; 111 until then). The
//!   report allocates nothing: [`msg`](crate::msg) builds lines in a stack buffer.
//!   As PID 1 (runit, runit-init, or any program a container starts first) dying would take
//!   the system with it (house rule 12), so there it warns `PREFIX warning: out of memory,
//!   pausing.`, waits a second and tries again, for as long as it takes.
//! - **a count of allocations**, which runsv reports at exit when `RUNSV_ALLOC_AUDIT` is set,
//!   so tests can prove it does no heap allocation per supervision event (issue 2).
//!
//! Because the allocator never returns null, `try_reserve` cannot report a failure either;
//! the program ends instead (no code of ours relies on `try_reserve`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// The exit code after `out of memory.`: the program's fatal code.
static OOM_EXIT: AtomicI32 = AtomicI32::new(111);

/// How long PID 1 waits before it tries a failed allocation again.
const PID1_RETRY_MS: u64 = 1000;

/// Sets the exit code used when memory runs out (each program's `main`, next to
/// [`crate::msg::set_prefix`]).
pub fn set_oom_exit(code: i32) {
    OOM_EXIT.store(code, Ordering::Relaxed);
}

/// The system allocator with runit's out-of-memory handling and a counter of allocations.
pub struct Alloc;

impl Alloc {
    /// Runs `get` (one system allocation) until it gives memory: a failure ends the program
    /// with its fatal line, or, as PID 1, pauses and retries.
    fn until_ok(get: impl Fn() -> *mut u8) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        loop {
            let p = get();
            if !p.is_null() {
                return p;
            }
            if super::getpid() != 1 {
                crate::msg::say(crate::msg::Kind::Fatal, &[b"out of memory."], None);
                super::exit_now(OOM_EXIT.load(Ordering::Relaxed));
            }
            crate::msg::say(
                crate::msg::Kind::Warning,
                &[b"out of memory, pausing."],
                None,
            );
            super::sleep_ms(PID1_RETRY_MS);
        }
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged and its result returned
// unchanged when it is not null; a null result is never returned (the program ends or the
// same call is retried), which the GlobalAlloc contract allows.
unsafe impl GlobalAlloc for Alloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        Alloc::until_ok(|| unsafe { System.alloc(layout) })
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        Alloc::until_ok(|| unsafe { System.alloc_zeroed(layout) })
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        // SAFETY: same contract as ours; a failed realloc leaves `ptr` valid, so retrying
        // it is sound.
        Alloc::until_ok(|| unsafe { System.realloc(ptr, layout, new) })
    }
}

/// Allocations so far in this process.
pub fn count() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}
