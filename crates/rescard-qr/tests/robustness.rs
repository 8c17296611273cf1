//! The robustness set (rotation, perspective, blur, noise, hard JPEG, low contrast, 2 px modules, a
//! small code in a cluttered 12-megapixel photo, glare, smudges): every image must read. The set is
//! generated from a fixed seed, so the rate is exact, not a flaky bound.

use std::io::Cursor;

use chrono::{DateTime, Utc};
use rescard_core::{IssuerKey, codec, reference};
use rescard_qr::photoset::generate;
use rescard_qr::{DecodeError, decode_payload, render_luma};

fn payload() -> String {
    let at: DateTime<Utc> = "2026-11-21T09:00:00Z".parse().expect("time");
    codec::encode(&reference::card(), at, &IssuerKey::from_seed(&[1; 32])).expect("signs")
}

#[test]
fn every_image_of_the_robustness_set_reads() {
    let payload = payload();
    let set = generate(&payload, 2026);
    assert!(set.len() >= 37, "the set shrank to {}", set.len());
    let failed: Vec<String> = set
        .iter()
        .filter(|s| decode_payload(&s.bytes, "RC1:").ok().as_deref() != Some(payload.as_str()))
        .map(|s| s.name.clone())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} images did not read: {failed:?}",
        failed.len(),
        set.len()
    );
}

#[test]
fn when_an_image_holds_several_codes_ours_wins() {
    let ours = render_luma(&payload(), 4).expect("ours");
    let other = render_luma("HTTPS://EXAMPLE.KG/PAY?AMOUNT=1200", 4).expect("other");
    let mut photo = image::GrayImage::from_pixel(
        ours.width() + other.width() + 60,
        ours.height().max(other.height()) + 40,
        image::Luma([255]),
    );
    image::imageops::overlay(&mut photo, &other, 20, 20);
    image::imageops::overlay(&mut photo, &ours, i64::from(other.width()) + 40, 20);
    let mut png = Vec::new();
    photo
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    assert_eq!(decode_payload(&png, "RC1:").expect("decode"), payload());
}

#[test]
fn a_code_that_is_not_ours_is_read_as_it_is() {
    let other = render_luma("HTTPS://EXAMPLE.KG", 4).expect("other");
    let mut png = Vec::new();
    other
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    // The verifier, not the decoder, then calls it malformed.
    assert_eq!(
        decode_payload(&png, "RC1:").as_deref(),
        Ok("HTTPS://EXAMPLE.KG")
    );
}

#[test]
fn a_photo_without_a_code_says_so() {
    let mut noise = image::GrayImage::new(640, 480);
    let mut x = 12345u32;
    for p in noise.pixels_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p.0[0] = (x >> 24) as u8;
    }
    let mut jpg = Vec::new();
    noise
        .write_to(&mut Cursor::new(&mut jpg), image::ImageFormat::Jpeg)
        .expect("jpeg");
    assert!(matches!(
        decode_payload(&jpg, "RC1:"),
        Err(DecodeError::NoCode | DecodeError::Unreadable)
    ));
}
