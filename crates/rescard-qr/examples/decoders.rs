//! Compares QR decoders on the robustness set: which images each reads, and how fast.
//!
//! `cargo run --release -p rescard-qr --features photoset --example decoders`

use std::time::Instant;

use chrono::{DateTime, Utc};
use rescard_core::{IssuerKey, codec, reference};
use rescard_qr::photoset::generate;

/// A decoder under test: image bytes in, text out.
type Decoder = fn(&[u8]) -> Option<String>;

fn luma(bytes: &[u8]) -> image::GrayImage {
    image::load_from_memory(bytes).expect("image").into_luma8()
}

fn rqrr_plain(bytes: &[u8]) -> Option<String> {
    let mut prepared = rqrr::PreparedImage::prepare(luma(bytes));
    prepared
        .detect_grids()
        .iter()
        .find_map(|g| g.decode().ok().map(|(_, t)| t))
}

fn rxing(bytes: &[u8]) -> Option<String> {
    let img = luma(bytes);
    let (w, h) = img.dimensions();
    rxing::helpers::detect_in_luma(img.into_raw(), w, h, Some(rxing::BarcodeFormat::QR_CODE))
        .ok()
        .map(|r| r.getText().to_owned())
}

fn rescard(bytes: &[u8]) -> Option<String> {
    rescard_qr::decode_payload(bytes, "RC1:").ok()
}

fn main() {
    let at: DateTime<Utc> = "2026-11-21T09:00:00Z".parse().expect("time");
    let payload =
        codec::encode(&reference::card(), at, &IssuerKey::from_seed(&[1; 32])).expect("signs");
    let set = generate(&payload, 2026);
    let decoders: [(&str, Decoder); 3] =
        [("rqrr", rqrr_plain), ("rxing", rxing), ("rescard", rescard)];
    let mut totals = vec![(0usize, Vec::new()); decoders.len()];
    for sample in &set {
        let mut line = format!("{:<32}", sample.name);
        for (i, (_, decode)) in decoders.iter().enumerate() {
            let t = Instant::now();
            let ok = decode(&sample.bytes).as_deref() == Some(payload.as_str());
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            totals[i].0 += usize::from(ok);
            totals[i].1.push(ms);
            line.push_str(&format!(
                " {:>4} {:>8.1}ms",
                if ok { "ok" } else { "--" },
                ms
            ));
        }
        println!("{line}");
    }
    for (i, (name, _)) in decoders.iter().enumerate() {
        let mut times = totals[i].1.clone();
        times.sort_by(f64::total_cmp);
        println!(
            "{name:<8} read {}/{}  median {:.1} ms  max {:.1} ms",
            totals[i].0,
            set.len(),
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
}
