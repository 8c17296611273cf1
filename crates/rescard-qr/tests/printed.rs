//! The printed card: ID-1 at 300 dpi, and its QR reads back from the rendered card.

use chrono::{DateTime, Utc};
use rescard_core::{IssuerKey, codec, reference};
use rescard_qr::{
    CARD_HEIGHT, CARD_WIDTH, PrintedCard, decode_payload, font_covers, render_card_png,
};

fn printed(native: Option<&str>) -> PrintedCard {
    let at: DateTime<Utc> = "2026-11-21T09:00:00Z".parse().expect("time");
    let payload =
        codec::encode(&reference::card(), at, &IssuerKey::from_seed(&[1; 32])).expect("signs");
    PrintedCard::reference(&payload, native)
}

#[test]
fn the_card_is_id1_at_300_dpi_and_its_code_reads_back() {
    for native in [None, Some("Абдыкадырова-Нурланова Айгерим")] {
        let card = printed(native);
        let png = render_card_png(&card, None).expect("render");
        let image = image::load_from_memory(&png).expect("png");
        assert_eq!((image.width(), image.height()), (CARD_WIDTH, CARD_HEIGHT));
        assert_eq!(
            decode_payload(&png, "RC1:").expect("the QR on the card reads"),
            card.payload
        );
    }
}

#[test]
fn a_portrait_is_placed_and_a_bad_one_leaves_the_frame_empty() {
    let card = printed(None);
    let photo = rescard_qr::render_png("portrait", 8).expect("png");
    let with = render_card_png(&card, Some(&photo)).expect("render");
    let without = render_card_png(&card, None).expect("render");
    assert_ne!(with, without);
    assert_eq!(
        render_card_png(&card, Some(b"not an image")).expect("render"),
        without
    );
}

#[test]
fn the_font_covers_cyrillic_and_says_when_it_cannot_print_a_script() {
    assert!(font_covers("Абдыкадырова Айгерим Жаныбековна"));
    assert!(font_covers("Oʻrinboyeva Ўғилой"));
    assert!(!font_covers("李小龙"));
}
