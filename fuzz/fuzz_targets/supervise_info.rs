//! Fuzzes the supervise/info file: the harness is `runit_rs::fuzzing::supervise_info` (src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| runit_rs::fuzzing::supervise_info(data));
