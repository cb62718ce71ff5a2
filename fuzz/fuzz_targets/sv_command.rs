//! Fuzzes sv's command words and service names: the harness is `runit_rs::fuzzing::sv_command` (src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| runit_rs::fuzzing::sv_command(data));
