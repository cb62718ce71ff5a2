//! The `chpst` program: see `runit_rs::prog::chpst`.
fn main() {
    runit_rs::run(runit_rs::prog::chpst::main)
}
