//! Fuzzes chpst's user:group specifications and numbers: the harness is `runit_rs::fuzzing::chpst_ids` (src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| runit_rs::fuzzing::chpst_ids(data));
