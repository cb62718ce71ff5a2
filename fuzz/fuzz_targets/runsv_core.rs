//! Fuzzes runsv's pure core, driven by the shell's part: the harness is `runit_rs::fuzzing::runsv_core` (src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| runit_rs::fuzzing::runsv_core(data));
