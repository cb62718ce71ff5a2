//! The `svjson` program: see `runit_rs::prog::svjson`.

/// runit's `out of memory.` instead of Rust's abort (`sys::alloc`).
#[global_allocator]
static ALLOC: runit_rs::sys::alloc::Alloc = runit_rs::sys::alloc::Alloc;

fn main() {
    runit_rs::run(runit_rs::prog::svjson::main)
}
