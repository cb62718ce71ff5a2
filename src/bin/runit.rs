//! The `runit` program: see `runit_rs::prog::runit`.
//!
//! `no_main`: Rust's start-up code aborts the process when fds 0-2 are closed and
//! `/dev/null` cannot be opened, which is exactly the state of a fresh PID 1 with no
//! `/dev/console`. Entering at C's `main` skips it (argv is still collected by std's
//! `.init_array` hook on Linux); `runit` repairs fds 0-2 itself.
#![no_main]

/// runit's `out of memory.` instead of Rust's abort (`sys::alloc`).
#[global_allocator]
static ALLOC: runit_rs::sys::alloc::Alloc = runit_rs::sys::alloc::Alloc;

#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    runit_rs::run(runit_rs::prog::runit::main)
}
