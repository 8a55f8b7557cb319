#![no_main]
//! Properties: see `hookgate::fuzzing::interlace_envelope`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hookgate::fuzzing::interlace_envelope(data));
