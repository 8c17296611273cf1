//! Measures the reference card's payload: bytes, characters, QR version at L/M/Q/H, and what zlib
//! compression of the claims or of the whole COSE structure would change.
//!
//! `cargo run -p rescard-qr --example payload_size`

use std::io::Write as _;

use chrono::{DateTime, Utc};
use flate2::{Compression, write::ZlibEncoder};
use rescard_core::{IssuerKey, codec, reference};
use rescard_qr::{EcLevel, version_for};

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
    enc.write_all(bytes).expect("write to Vec");
    enc.finish().expect("finish Vec")
}

fn versions(text: &str) -> String {
    [
        ("L", EcLevel::L),
        ("M", EcLevel::M),
        ("Q", EcLevel::Q),
        ("H", EcLevel::H),
    ]
    .iter()
    .map(|(name, level)| format!("{name}: v{}", version_for(text, *level).unwrap_or(-1)))
    .collect::<Vec<_>>()
    .join(", ")
}

fn main() {
    let key = IssuerKey::from_seed(&[1; 32]);
    let at: DateTime<Utc> = "2026-11-21T09:00:00Z".parse().expect("time");
    let card = reference::card();
    let claims = codec::claims::encode_claims(&card, at);
    let cose = codec::encode_cose(&card, at, &key).expect("signs");
    let text = codec::encode(&card, at, &key).expect("signs");
    println!("claims (CBOR)            {:4} bytes", claims.len());
    println!("claims, zlib             {:4} bytes", zlib(&claims).len());
    println!("COSE_Sign1               {:4} bytes", cose.len());
    let zipped = zlib(&cose);
    println!("COSE_Sign1, zlib         {:4} bytes", zipped.len());
    println!(
        "payload text             {:4} chars  ({})",
        text.len(),
        versions(&text)
    );
    let zipped_text = format!("RC1:{}", base45::encode(&zipped));
    println!(
        "payload text if zlib'd   {:4} chars  ({})",
        zipped_text.len(),
        versions(&zipped_text)
    );
}
