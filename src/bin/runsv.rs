//! The `runsv` program: see `runit_rs::prog::runsv`.

/// runit's `out of memory.` instead of Rust's abort, and the allocation count that proves
/// runsv does no allocation per event (`sys::alloc`).
#[global_allocator]
static ALLOC: runit_rs::sys::alloc::Alloc = runit_rs::sys::alloc::Alloc;

fn main() {
    runit_rs::run(runit_rs::prog::runsv::main)
}
