//! The `utmpset` program: see `runit_rs::prog::utmpset`.
fn main() {
    runit_rs::run(runit_rs::prog::utmpset::main)
}
