//! How the robustness set reads across payloads: the QR pattern changes with every card (and every
//! signature), and a marginal image can read for one pattern and not another. Decodes the set (less
//! the two 12-megapixel photos, for time) for 40 cards signed by 40 keys and counts failures by image.
//!
//! `cargo run --release -p rescard-qr --features photoset --example variance`

use chrono::{DateTime, Utc};
use rescard_core::{IssuerKey, codec, reference};

fn main() {
    let at: DateTime<Utc> = "2026-11-21T09:00:00Z".parse().expect("time");
    let mut failures = std::collections::BTreeMap::<String, u32>::new();
    let payloads = 40u8;
    let mut images = 0;
    for k in 0..payloads {
        let payload = codec::encode(&reference::card(), at, &IssuerKey::from_seed(&[k + 10; 32]))
            .expect("signs");
        for s in rescard_qr::photoset::generate(&payload, 2026)
            .into_iter()
            .filter(|s| !s.name.starts_with("photo-12mp"))
        {
            images += 1;
            if rescard_qr::decode_payload(&s.bytes, "RC1:").ok().as_deref()
                != Some(payload.as_str())
            {
                *failures.entry(s.name).or_default() += 1;
            }
        }
    }
    println!("{images} images from {payloads} payloads; failures by image: {failures:?}");
}
