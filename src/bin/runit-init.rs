//! The `runit-init` program: see `runit_rs::prog::runit_init`.
//!
//! `no_main` for the same reason as `runit`: as PID 1 it may start with fds 0-2 closed and
//! no `/dev/null`, where Rust's start-up code would abort (and panic the kernel).
#![no_main]

/// runit's `out of memory.` instead of Rust's abort (`sys::alloc`).
#[global_allocator]
static ALLOC: runit_rs::sys::alloc::Alloc = runit_rs::sys::alloc::Alloc;

#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    runit_rs::run(runit_rs::prog::runit_init::main)
}
