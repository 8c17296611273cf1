//! Reads every PNG and JPEG in DIR from file to verdict (read, decode the image, find and read the QR
//! code, verify the payload), as `rescard verify IMAGE` does, and times each. The counterpart of
//! `bench/zxing_photos.py`, for `bench/photos`.
//!
//! `cargo run --release -p rescard-qr --example decode_dir DIR`

use std::time::Instant;

use chrono::{DateTime, Utc};
use rescard_core::{IssuerKey, NoStatus, TrustList, TrustedKey, verify};

fn main() {
    let dir = std::env::args().nth(1).expect("usage: decode_dir DIR");
    let expected = std::fs::read_to_string(format!("{dir}/payload.txt")).expect("payload.txt");
    let key = IssuerKey::from_seed(&[1; 32]);
    let since: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("time");
    let trust =
        TrustList::new(vec![TrustedKey::active(key.verifying_key(), since)]).expect("trust");
    let now: DateTime<Utc> = "2027-01-15T12:00:00Z".parse().expect("time");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".png") || n.ends_with(".jpg"))
        .collect();
    names.sort();
    let (mut read, mut times) = (0, Vec::new());
    for name in &names {
        let started = Instant::now();
        let bytes = std::fs::read(format!("{dir}/{name}")).expect("read");
        let ok = match rescard_qr::decode_payload(&bytes, "RC1:") {
            Ok(text) => {
                text == expected.trim()
                    && verify(&text, &trust, &NoStatus, now)
                        .is_ok_and(|v| v.verdict.exit_code() == 0)
            }
            Err(_) => false,
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        times.push(ms);
        read += usize::from(ok);
        println!("{name:<40} {} {ms:8.1}", if ok { "ok" } else { "--" });
    }
    times.sort_by(f64::total_cmp);
    println!(
        "rescard read {read}/{} median {:.2} ms",
        names.len(),
        times[times.len() / 2]
    );
}
