//! Fuzzes runsvdir's inotify event buffer: the harness is `runit_rs::fuzzing::inotify_events` (src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| runit_rs::fuzzing::inotify_events(data));
