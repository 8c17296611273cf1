//! The trust list: the signed document a checker syncs, and the JSON list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rescard_core::trust_doc::TrustDocument;
use rescard_core::{Kid, TrustList};

fuzz_target!(|data: &[u8]| {
    let trust = TrustList::from_json(include_str!("../../fixtures/trust.json"))
        .expect("fixture trust list");
    let _ = TrustDocument::open(data, &trust);
    let _ = TrustDocument::open_pinned(data, Kid([0x10, 0xba, 0x68, 0x2c, 0x8a, 0xd1, 0x35, 0x13]));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = TrustList::from_json(text);
    }
});
