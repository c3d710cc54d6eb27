//! One endpoint under arbitrary segments, user calls and time jumps.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| synack_tcp::fuzzing::endpoint(data));
