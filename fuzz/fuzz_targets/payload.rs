//! The payload text decoder and the verifier: any text, a verdict, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rescard_core::{NoStatus, TrustList, verify};

fuzz_target!(|data: &[u8]| {
    let trust = TrustList::from_json(include_str!("../../fixtures/trust.json"))
        .expect("fixture trust list");
    let text = String::from_utf8_lossy(data);
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time");
    let _ = verify(&text, &trust, &NoStatus, now);
    // The direct envelope reader accepts nothing the coset path refuses, and reads it the same.
    let direct = rescard_core::codec::decode_cose(data).ok();
    assert_eq!(direct, rescard_core::codec::decode_cose_checked(data).ok());
});
