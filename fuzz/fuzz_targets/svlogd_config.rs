//! Fuzzes svlogd's `config` file and its patterns: the harness is `runit_rs::fuzzing::svlogd_config` (src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| runit_rs::fuzzing::svlogd_config(data));
