//! The size goal of the design brief: the reference card fits QR version 10 or lower at level M.

use chrono::{DateTime, Utc};
use rescard_core::{IssuerKey, codec, reference};
use rescard_qr::{EcLevel, decode_payload, render_png, version_for};

fn payload() -> String {
    let at: DateTime<Utc> = "2026-11-21T09:00:00Z".parse().expect("time");
    codec::encode(&reference::card(), at, &IssuerKey::from_seed(&[1; 32])).expect("signs")
}

#[test]
fn reference_card_fits_version_10_at_level_m() {
    let text = payload();
    let version = version_for(&text, EcLevel::M).expect("fits");
    assert!(
        version <= 10,
        "version {version} for {} characters",
        text.len()
    );
}

#[test]
fn reference_card_qr_reads_back_from_its_png() {
    let text = payload();
    let png = render_png(&text, 6).expect("render");
    assert_eq!(decode_payload(&png, "RC1:").expect("decode"), text);
}
