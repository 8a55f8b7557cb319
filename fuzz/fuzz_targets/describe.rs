#![no_main]
//! Properties: see `hookgate::fuzzing::describe_event`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hookgate::fuzzing::describe_event(data));
