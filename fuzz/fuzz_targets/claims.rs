//! The claims parsers behind the signature: a card's CWT claims and a snapshot's status claims.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rescard_core::codec::claims::decode_claims(data);
    let _ = rescard_core::status::decode_claims_unverified(data);
});
