//! The `svlogd` program: see `runit_rs::prog::svlogd`.
fn main() {
    runit_rs::run(runit_rs::prog::svlogd::main)
}
