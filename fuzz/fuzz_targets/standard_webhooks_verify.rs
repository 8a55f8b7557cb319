#![no_main]
//! Properties: see `hookgate::fuzzing::standard_webhooks_verify`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hookgate::fuzzing::standard_webhooks_verify(data));
