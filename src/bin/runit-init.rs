//! The `runit-init` program: see `runit_rs::prog::runit_init`.
fn main() {
    runit_rs::run(runit_rs::prog::runit_init::main)
}
