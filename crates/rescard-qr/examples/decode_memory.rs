//! Reads the QR code in one image and reports how long it took and the process's peak resident
//! memory (VmHWM, Linux), before and after: the memory of one image check, measured alone.
//!
//! `cargo run --release -p rescard-qr --example decode_memory FILE [MAX_PIXELS]`

use std::time::Instant;

fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: decode_memory FILE [MAX_PIXELS]");
    let max_pixels = args.next().map_or(rescard_qr::MAX_IMAGE_PIXELS, |m| {
        m.parse().expect("a pixel count")
    });
    let bytes = std::fs::read(&path).expect("read");
    let before = peak_kb();
    let started = Instant::now();
    let result = rescard_qr::decode_payload_within(&bytes, "RC1:", max_pixels);
    let seconds = started.elapsed().as_secs_f64();
    let shown = match &result {
        Ok(text) => format!("read {} characters", text.len()),
        Err(e) => e.to_string(),
    };
    println!(
        "{path}: {shown}; {seconds:.2} s; peak memory {} MB before, {} MB after ({} kB bytes read)",
        before / 1024,
        peak_kb() / 1024,
        bytes.len() / 1024
    );
}
