//! Fuzzes every program's getopt: the harness is `runit_rs::fuzzing::getopt` (src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| runit_rs::fuzzing::getopt(data));
