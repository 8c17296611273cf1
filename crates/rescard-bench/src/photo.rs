//! `rescard-bench photo`: a large PNG "photo" for the image-memory benchmark, written row by row so
//! the generator itself never holds the image.
//!
//! The picture is mostly flat (a grey desk and a lighter card), so a 48-megapixel PNG is a few
//! hundred kilobytes: the cheap upload that costs a server its memory. Without a payload the card is
//! blank, which is the decoder's worst case: no code is found, so every step of its pipeline runs
//! (the light card on the grey desk is low in contrast, so the contrast-stretched copy is made too).
//! With a payload, the card's QR code sits on the card with modules of `module` pixels.

use std::io::{BufWriter, Write as _};
use std::path::Path;

use anyhow::{Context as _, Result};

const DESK: u8 = 150;
const CARD: u8 = 235;

/// Writes an RGB PNG of at most `megapixels`, about 4:3, to `out`, with `payload`'s QR code when given.
pub fn write(megapixels: f64, payload: Option<&str>, module: u32, out: &Path) -> Result<()> {
    // About 4:3, and never more pixels than asked for (a limit is then met exactly).
    let height = (megapixels * 1e6 * 3.0 / 4.0).sqrt().floor().max(1.0) as u32;
    let width = (megapixels * 1e6 / f64::from(height)).floor().max(1.0) as u32;
    let code = payload
        .map(|p| rescard_qr::render_luma(p, module))
        .transpose()
        .context("rendering the QR code")?;
    // The card covers the middle ninth of the picture; the code sits at its right.
    let (card_x, card_y, card_w, card_h) = (width / 3, height / 3, width / 3, height / 3);
    let (code_w, code_h) = code.as_ref().map_or((0, 0), |c| (c.width(), c.height()));
    let code_x = (card_x + card_w).saturating_sub(code_w + card_w / 20);
    let code_y = card_y + card_h.saturating_sub(code_h) / 2;

    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header()?;
    let mut stream = writer.stream_writer()?;
    let mut row = vec![0u8; width as usize * 3];
    for y in 0..height {
        for x in 0..width {
            let on_card =
                (card_x..card_x + card_w).contains(&x) && (card_y..card_y + card_h).contains(&y);
            let mut shade = if on_card { CARD } else { DESK };
            if let Some(code) = &code {
                if (code_x..code_x + code_w).contains(&x) && (code_y..code_y + code_h).contains(&y)
                {
                    shade = code.get_pixel(x - code_x, y - code_y).0[0];
                }
            }
            let i = x as usize * 3;
            row[i..i + 3].fill(shade);
        }
        stream.write_all(&row)?;
    }
    stream.finish()?;
    writer.finish()?;
    println!(
        "{}: {width}x{height} ({:.1} MP), {} bytes{}",
        out.display(),
        f64::from(width) * f64::from(height) / 1e6,
        std::fs::metadata(out)?.len(),
        if code.is_some() {
            ", with the card's QR code"
        } else {
            ", no code"
        }
    );
    Ok(())
}
