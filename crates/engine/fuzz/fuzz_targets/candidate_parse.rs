#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    polyrtc_engine::fuzz_entry::candidate_parse(data);
});
