#![no_main]
//! Properties: see `hookgate::fuzzing::routing_keys`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hookgate::fuzzing::routing_keys(data));
