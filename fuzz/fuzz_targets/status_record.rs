//! Fuzzes the supervise/status record and stat line: the harness is `runit_rs::fuzzing::status_record` (src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| runit_rs::fuzzing::status_record(data));
