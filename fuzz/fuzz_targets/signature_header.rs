#![no_main]
//! Properties: see `hookgate::fuzzing::signature_header`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hookgate::fuzzing::signature_header(data));
