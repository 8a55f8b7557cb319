#![no_main]
//! Properties: see `hookgate::fuzzing::traceparent`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hookgate::fuzzing::traceparent(data));
