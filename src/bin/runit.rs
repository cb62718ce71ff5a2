//! The `runit` program: see `runit_rs::prog::runit`.
fn main() {
    runit_rs::run(runit_rs::prog::runit::main)
}
