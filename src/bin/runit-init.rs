//! The `runit-init` program: see `runit_rs::prog::runit_init`.
//!
//! `no_main` for the same reason as `runit`: as PID 1 it may start with fds 0-2 closed and
//! no `/dev/null`, where Rust's start-up code would abort (and panic the kernel).
#![no_main]

#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    runit_rs::run(runit_rs::prog::runit_init::main)
}
