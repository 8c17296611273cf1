//! The image path: any bytes as an uploaded photo.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rescard_qr::decode_payload(data, "RC1:");
});
