//! Fuzzes sd_notify datagrams, notification-fd and the sender rule: the harness is `runit_rs::fuzzing::notify_datagram` (src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| runit_rs::fuzzing::notify_datagram(data));
