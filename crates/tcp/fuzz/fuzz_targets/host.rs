//! A host with a listener under arbitrary datagrams, socket calls and time jumps.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| synack_tcp::fuzzing::host(data));
