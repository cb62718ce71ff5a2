//! The `chpst` program: see `runit_rs::prog::chpst`.
//!
//! `no_main`, like runit's C chpst: Rust's start-up code would reopen closed fds 0-2 on
//! `/dev/null` and ignore SIGPIPE before `main`, and chpst must hand prog exactly the process
//! state it was given (`chpst -0` with stdin already closed fails as runit's does).
#![no_main]

/// runit's `out of memory.` instead of Rust's abort (`sys::alloc`).
#[global_allocator]
static ALLOC: runit_rs::sys::alloc::Alloc = runit_rs::sys::alloc::Alloc;

#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    runit_rs::run(runit_rs::prog::chpst::main)
}
