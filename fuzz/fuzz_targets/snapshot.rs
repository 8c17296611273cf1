//! The status snapshot decoder and a checker's view applying it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rescard_core::TrustList;
use rescard_core::status::{Snapshot, StatusView};

fuzz_target!(|data: &[u8]| {
    let trust = TrustList::from_json(include_str!("../../fixtures/trust.json"))
        .expect("fixture trust list");
    if let Ok((snapshot, _)) = Snapshot::open(data, &trust) {
        if let Ok(mut view) = StatusView::from_full(snapshot.clone()) {
            let _ = view.apply(snapshot);
        }
    }
});
