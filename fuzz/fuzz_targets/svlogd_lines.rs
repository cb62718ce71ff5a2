//! Fuzzes svlogd's line splitter: the harness is `runit_rs::fuzzing::svlogd_lines` (src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| runit_rs::fuzzing::svlogd_lines(data));
