//! The `runsv` program: see `runit_rs::prog::runsv`.
fn main() {
    runit_rs::run(runit_rs::prog::runsv::main)
}
