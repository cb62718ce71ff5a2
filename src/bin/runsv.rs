//! The `runsv` program: see `runit_rs::prog::runsv`.
//! Its allocator counts allocations, so tests can prove runsv does none per event.
#[global_allocator]
static ALLOC: runit_rs::sys::alloc_audit::Counting = runit_rs::sys::alloc_audit::Counting;

fn main() {
    runit_rs::run(runit_rs::prog::runsv::main)
}
