//! The `sv` program: see `runit_rs::prog::sv`.
fn main() {
    runit_rs::run(runit_rs::prog::sv::main)
}
