#![no_main]
//! Properties: see `hookgate::fuzzing::time`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hookgate::fuzzing::time(data));
