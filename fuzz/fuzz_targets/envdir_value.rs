//! Fuzzes chpst's envdir reader: the harness is `runit_rs::fuzzing::envdir_value` (src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| runit_rs::fuzzing::envdir_value(data));
