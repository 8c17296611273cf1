//! Renders the reference card (with a Cyrillic native name) to a PNG, to look at it.
//!
//! `cargo run --example card OUT.png`

use chrono::{DateTime, Utc};
use rescard_core::{Card, IssuerKey, NativeName, codec, reference};

fn main() {
    let out = std::env::args().nth(1).expect("usage: card OUT.png");
    let base = reference::card();
    let mut holder = base.holder().clone();
    holder.native_name = Some(NativeName::parse("Абдыкадырова-Нурланова Айгерим").expect("name"));
    let card = Card::new(
        base.serial(),
        base.itn(),
        holder,
        base.permit(),
        base.validity(),
        None,
    )
    .expect("card");
    let at: DateTime<Utc> = "2026-11-21T09:00:00Z".parse().expect("time");
    let payload = codec::encode(&card, at, &IssuerKey::from_seed(&[1; 32])).expect("signs");
    let png = rescard_qr::render_card_png(&rescard::views::printed_card(&card, &payload), None)
        .expect("render");
    std::fs::write(out, png).expect("write");
}
