//! Writes the robustness set for the reference card into DIR (for `bench/photos`).
//!
//! `cargo run --release -p rescard-qr --features photoset --example photoset DIR`

use chrono::{DateTime, Utc};
use rescard_core::{IssuerKey, codec, reference};

fn main() {
    let dir = std::env::args().nth(1).expect("usage: photoset DIR");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let at: DateTime<Utc> = "2026-11-21T09:00:00Z".parse().expect("time");
    let payload =
        codec::encode(&reference::card(), at, &IssuerKey::from_seed(&[1; 32])).expect("signs");
    std::fs::write(format!("{dir}/payload.txt"), &payload).expect("write");
    for sample in rescard_qr::photoset::generate(&payload, 2026) {
        std::fs::write(
            format!("{dir}/{}.{}", sample.name, sample.extension),
            &sample.bytes,
        )
        .expect("write");
    }
}
