//! The `runsv` program: see `runit_rs::prog::runsv`.
//!
//! `no_main`: Rust's start-up code would allocate (the main thread's record) and map an
//! alternate signal stack before `main`; runsv needs neither, and its first act is to move
//! its allocations into the start-up arena (`sys::alloc::use_arena`), which keeps glibc's
//! malloc, and its private pages, out of every runsv.
#![no_main]

/// runit's `out of memory.` instead of Rust's abort, the start-up arena, and the allocation
/// count that proves runsv does no allocation per event (`sys::alloc`).
#[global_allocator]
static ALLOC: runit_rs::sys::alloc::Alloc = runit_rs::sys::alloc::Alloc;

#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    runit_rs::sys::alloc::use_arena();
    runit_rs::run(runit_rs::prog::runsv::main)
}
