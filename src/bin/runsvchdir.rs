//! The `runsvchdir` program: see `runit_rs::prog::runsvchdir`.
fn main() {
    runit_rs::run(runit_rs::prog::runsvchdir::main)
}
