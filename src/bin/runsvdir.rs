//! The `runsvdir` program: see `runit_rs::prog::runsvdir`.
fn main() {
    runit_rs::run(runit_rs::prog::runsvdir::main)
}
