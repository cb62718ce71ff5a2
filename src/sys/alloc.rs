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
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

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

// ------------------------------------------------------------------ the start-up arena
//
// A supervisor allocates only while it starts (runsv: none per event, proven by the count
// below), and then lives for months next to hundreds of its kind. glibc's malloc, touched
// once, leaves its arena and heap pages private to every one of them. So a program that
// knows it is such a supervisor switches the allocator to a bump arena in `.bss` before it
// allocates anything ([`use_arena`]): its few start-up blocks sit in one or two pages of
// the arena, malloc is never entered, and the rest of the arena stays untouched (zero pages
// cost nothing). Frees in the arena are no-ops (the last block is given back or grown in
// place, which is what a growing `Vec` needs); when the arena is full, the system allocator
// serves, as for everyone else.

const ARENA_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct Arena(std::cell::UnsafeCell<[u8; ARENA_SIZE]>);

// SAFETY: the programs are single-threaded (house rule: no threads); the arena is only
// reached through the bump pointer below, which hands out disjoint blocks.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(std::cell::UnsafeCell::new([0; ARENA_SIZE]));
/// Bytes of the arena handed out; `usize::MAX` while the arena is off.
static ARENA_TOP: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Where the last block handed out begins (it may be grown or given back in place).
static ARENA_LAST: AtomicUsize = AtomicUsize::new(0);

/// Serves the allocations from now on from the start-up arena (call first thing in a
/// supervisor's `main`, before anything allocates).
pub fn use_arena() {
    let _ = ARENA_TOP.compare_exchange(usize::MAX, 0, Ordering::Relaxed, Ordering::Relaxed);
}

fn arena_base() -> usize {
    ARENA.0.get() as usize
}

fn in_arena(p: *mut u8) -> bool {
    let a = p as usize;
    a >= arena_base() && a < arena_base() + ARENA_SIZE
}

/// A block of the arena, or null when it is off or too full.
fn arena_alloc(layout: Layout) -> *mut u8 {
    let top = ARENA_TOP.load(Ordering::Relaxed);
    if top == usize::MAX {
        return std::ptr::null_mut();
    }
    let start = (arena_base() + top).next_multiple_of(layout.align().max(1)) - arena_base();
    let Some(end) = start.checked_add(layout.size()) else {
        return std::ptr::null_mut();
    };
    if end > ARENA_SIZE {
        return std::ptr::null_mut();
    }
    ARENA_TOP.store(end, Ordering::Relaxed);
    ARENA_LAST.store(start, Ordering::Relaxed);
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    (arena_base() + start) as *mut u8
}

// SAFETY: every call outside the arena is forwarded to the system allocator unchanged and
// its result returned unchanged when it is not null; a null result is never returned (the
// program ends or the same call is retried), which the GlobalAlloc contract allows. Arena
// blocks are disjoint, aligned as asked and inside the static buffer; a block is never
// handed out twice while live (the top only moves back over the last block when that block
// is freed).
unsafe impl GlobalAlloc for Alloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = arena_alloc(layout);
        if !p.is_null() {
            return p;
        }
        // SAFETY: same contract as ours.
        Alloc::until_ok(|| unsafe { System.alloc(layout) })
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if in_arena(ptr) {
            // The last block goes back to the arena; others are left (start-up garbage).
            let off = ptr as usize - arena_base();
            if off == ARENA_LAST.load(Ordering::Relaxed)
                && off + layout.size() == ARENA_TOP.load(Ordering::Relaxed)
            {
                ARENA_TOP.store(off, Ordering::Relaxed);
            }
            return;
        }
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = arena_alloc(layout);
        if !p.is_null() {
            // Blocks given back and handed out again may hold old bytes.
            // SAFETY: p is valid for layout.size() bytes.
            unsafe { std::ptr::write_bytes(p, 0, layout.size()) };
            return p;
        }
        // SAFETY: same contract as ours.
        Alloc::until_ok(|| unsafe { System.alloc_zeroed(layout) })
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        if in_arena(ptr) {
            let off = ptr as usize - arena_base();
            // The last block grows (or shrinks) in place while it fits.
            if off == ARENA_LAST.load(Ordering::Relaxed)
                && off + layout.size() == ARENA_TOP.load(Ordering::Relaxed)
                && off + new <= ARENA_SIZE
            {
                ARENA_TOP.store(off + new, Ordering::Relaxed);
                ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
                return ptr;
            }
            let Ok(nl) = Layout::from_size_align(new, layout.align()) else {
                return std::ptr::null_mut();
            };
            // SAFETY: nl is a valid layout; `alloc` never returns null.
            let q = unsafe { self.alloc(nl) };
            // SAFETY: both blocks are valid for the smaller of the two sizes, disjoint.
            unsafe { std::ptr::copy_nonoverlapping(ptr, q, layout.size().min(new)) };
            // SAFETY: ptr was allocated with layout (an arena block: a no-op or give-back).
            unsafe { self.dealloc(ptr, layout) };
            return q;
        }
        // SAFETY: same contract as ours; a failed realloc leaves `ptr` valid, so retrying
        // it is sound.
        Alloc::until_ok(|| unsafe { System.realloc(ptr, layout, new) })
    }
}

/// Allocations so far in this process.
pub fn count() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}
