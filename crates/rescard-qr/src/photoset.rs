//! The robustness set: the card's QR code as phones and scanners deliver it. Deterministic (a seeded
//! generator, no files), so tests can assert a decode rate with no flaky bounds, and the same images can
//! be written out for the side-by-side benchmark (`cargo run -p rescard-qr --example photoset DIR`).
//!
//! Built only with the `photoset` feature (it needs `imageproc`).

use std::f32::consts::PI;
use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{GrayImage, ImageFormat, Luma};
use imageproc::drawing::{
    draw_filled_circle_mut, draw_filled_ellipse_mut, draw_filled_rect_mut, draw_hollow_rect_mut,
};
use imageproc::filter::gaussian_blur_f32;
use imageproc::geometric_transformations::{
    Border, Interpolation, Projection, rotate_about_center, warp,
};
use imageproc::rect::Rect;

use crate::render::render_luma;

/// One image of the set.
pub struct Sample {
    /// What was done to the code, e.g. `rotate-30`.
    pub name: String,
    /// The encoded image (PNG or JPEG), as a user would upload it.
    pub bytes: Vec<u8>,
    /// `png` or `jpg`.
    pub extension: &'static str,
}

/// A small xorshift generator: the set must not change with a crate's idea of randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo) as u64) as i64
    }
}

const WHITE: Luma<u8> = Luma([255]);

fn png(image: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = image.write_to(&mut Cursor::new(&mut out), ImageFormat::Png);
    out
}

fn jpeg(image: &GrayImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = JpegEncoder::new_with_quality(&mut out, quality).encode_image(image);
    out
}

/// Pads `image` with `margin` white pixels, so transforms do not cut the code.
fn pad(image: &GrayImage, margin: u32) -> GrayImage {
    let mut out = GrayImage::from_pixel(
        image.width() + 2 * margin,
        image.height() + 2 * margin,
        WHITE,
    );
    image::imageops::overlay(&mut out, image, i64::from(margin), i64::from(margin));
    out
}

fn rotate(image: &GrayImage, degrees: f32) -> GrayImage {
    let padded = pad(image, image.width() / 3);
    rotate_about_center(
        &padded,
        degrees * PI / 180.0,
        Interpolation::Bilinear,
        Border::Constant(WHITE),
    )
}

fn perspective(image: &GrayImage, squeeze: [f32; 4]) -> GrayImage {
    let padded = pad(image, image.width() / 4);
    let (w, h) = (padded.width() as f32, padded.height() as f32);
    let from = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
    let to = [
        (w * squeeze[0], h * squeeze[1]),
        (w * (1.0 - squeeze[2]), h * squeeze[3]),
        (w * (1.0 - squeeze[0] * 0.5), h * (1.0 - squeeze[1])),
        (w * squeeze[2] * 0.5, h * (1.0 - squeeze[3])),
    ];
    match Projection::from_control_points(from, to) {
        Some(p) => warp(&padded, p, Interpolation::Bilinear, Border::Constant(WHITE)),
        None => padded,
    }
}

fn noise(image: &GrayImage, sigma: f32, rng: &mut Rng) -> GrayImage {
    let mut out = image.clone();
    for p in out.pixels_mut() {
        // Sum of uniforms: close enough to Gaussian noise, and the same on every machine.
        let n = (rng.unit() + rng.unit() + rng.unit() - 1.5) * 2.0 * sigma;
        p.0[0] = (f32::from(p.0[0]) + n).clamp(0.0, 255.0) as u8;
    }
    out
}

fn contrast(image: &GrayImage, dark: u8, light: u8) -> GrayImage {
    let mut out = image.clone();
    for p in out.pixels_mut() {
        let t = f32::from(p.0[0]) / 255.0;
        p.0[0] = (f32::from(dark) + t * f32::from(light - dark)) as u8;
    }
    out
}

fn scale(image: &GrayImage, factor: f32) -> GrayImage {
    let w = ((image.width() as f32) * factor).round().max(1.0) as u32;
    let h = ((image.height() as f32) * factor).round().max(1.0) as u32;
    image::imageops::resize(image, w, h, image::imageops::FilterType::Triangle)
}

/// A bright elliptical highlight, as a lamp reflects off a laminated card.
fn glare(image: &GrayImage, cx: f32, cy: f32, radius: f32, strength: f32) -> GrayImage {
    let mut out = image.clone();
    for (x, y, p) in out.enumerate_pixels_mut() {
        let dx = (x as f32 - cx) / radius;
        let dy = (y as f32 - cy) / (radius * 0.6);
        let d = (dx * dx + dy * dy).sqrt();
        if d < 1.0 {
            let add = strength * (1.0 - d * d);
            p.0[0] = (f32::from(p.0[0]) + add * 255.0).min(255.0) as u8;
        }
    }
    out
}

/// A dark smudge over part of the code.
fn smudge(image: &GrayImage, cx: i32, cy: i32, rx: i32, ry: i32, shade: u8) -> GrayImage {
    let mut out = image.clone();
    draw_filled_ellipse_mut(&mut out, (cx, cy), rx, ry, Luma([shade]));
    out
}

/// A 12-megapixel "photo" of a desk with clutter, with `code` placed at (`x`, `y`).
fn cluttered(code: &GrayImage, x: i64, y: i64, rng: &mut Rng) -> GrayImage {
    let (w, h) = (4000u32, 3000u32);
    let mut photo = GrayImage::from_pixel(w, h, Luma([150]));
    for _ in 0..300 {
        let shade = Luma([rng.range(20, 235) as u8]);
        let (cx, cy) = (
            rng.range(0, i64::from(w)) as i32,
            rng.range(0, i64::from(h)) as i32,
        );
        match rng.next() % 4 {
            0 => draw_filled_rect_mut(
                &mut photo,
                Rect::at(cx, cy).of_size(rng.range(20, 400) as u32, rng.range(20, 400) as u32),
                shade,
            ),
            1 => draw_filled_circle_mut(&mut photo, (cx, cy), rng.range(5, 150) as i32, shade),
            2 => draw_hollow_rect_mut(
                &mut photo,
                Rect::at(cx, cy).of_size(rng.range(20, 600) as u32, rng.range(20, 600) as u32),
                shade,
            ),
            _ => draw_filled_ellipse_mut(
                &mut photo,
                (cx, cy),
                rng.range(5, 200) as i32,
                rng.range(5, 80) as i32,
                shade,
            ),
        }
    }
    // The card: a light rectangle the code sits on.
    let card =
        Rect::at(x as i32 - 60, y as i32 - 60).of_size(code.width() + 500, code.height() + 120);
    draw_filled_rect_mut(&mut photo, card, Luma([235]));
    image::imageops::overlay(&mut photo, code, x, y);
    noise(&gaussian_blur_f32(&photo, 0.8), 6.0, rng)
}

/// The robustness set for `payload`: every sample should decode to it.
pub fn generate(payload: &str, seed: u64) -> Vec<Sample> {
    let mut rng = Rng(seed | 1);
    let Ok(clean) = render_luma(payload, 6) else {
        return Vec::new();
    };
    let mut set = Vec::new();
    let mut add = |name: String, image: &GrayImage, quality: Option<u8>| {
        let (bytes, extension) = match quality {
            Some(q) => (jpeg(image, q), "jpg"),
            None => (png(image), "png"),
        };
        set.push(Sample {
            name,
            bytes,
            extension,
        });
    };
    add("clean".into(), &clean, None);
    for degrees in [5.0, 15.0, 30.0, 45.0, 90.0, 135.0, 180.0] {
        add(format!("rotate-{degrees}"), &rotate(&clean, degrees), None);
    }
    for (i, squeeze) in [
        [0.12, 0.05, 0.0, 0.0],
        [0.0, 0.0, 0.15, 0.08],
        [0.1, 0.12, 0.1, 0.0],
    ]
    .into_iter()
    .enumerate()
    {
        add(
            format!("perspective-{i}"),
            &perspective(&clean, squeeze),
            None,
        );
    }
    for sigma in [1.0, 2.0, 3.0] {
        add(
            format!("blur-{sigma}"),
            &gaussian_blur_f32(&clean, sigma),
            None,
        );
    }
    for sigma in [20.0, 40.0, 60.0] {
        add(
            format!("noise-{sigma}"),
            &noise(&clean, sigma, &mut rng),
            None,
        );
    }
    for quality in [15, 8, 4] {
        add(format!("jpeg-q{quality}"), &clean, Some(quality));
    }
    add(
        "low-contrast-100-160".into(),
        &contrast(&clean, 100, 160),
        None,
    );
    add(
        "low-contrast-115-140".into(),
        &contrast(&clean, 115, 140),
        None,
    );
    add(
        "low-contrast-dark-30-80".into(),
        &contrast(&clean, 30, 80),
        None,
    );
    add("scale-2px".into(), &scale(&clean, 2.0 / 6.0), None);
    add("scale-1.5px".into(), &scale(&clean, 1.5 / 6.0), None);
    let (w, h) = (clean.width() as f32, clean.height() as f32);
    add(
        "glare-corner".into(),
        &glare(&clean, w * 0.3, h * 0.35, w * 0.25, 0.9),
        None,
    );
    add(
        "glare-centre".into(),
        &glare(&clean, w * 0.5, h * 0.5, w * 0.2, 0.8),
        None,
    );
    let (cw, ch) = (clean.width() as i32, clean.height() as i32);
    add(
        "smudge-edge".into(),
        &smudge(&clean, cw * 3 / 4, ch / 2, cw / 12, ch / 9, 60),
        None,
    );
    add(
        "smudge-grey".into(),
        &smudge(&clean, cw / 2, ch * 2 / 3, cw / 10, ch / 12, 120),
        None,
    );
    let photo_code = scale(&clean, 0.75);
    add(
        "photo-12mp-small-code".into(),
        &cluttered(&photo_code, 1700, 1200, &mut rng),
        Some(88),
    );
    add(
        "photo-12mp-tilted".into(),
        &cluttered(&rotate(&photo_code, 12.0), 900, 1800, &mut rng),
        Some(85),
    );
    let combo = noise(
        &gaussian_blur_f32(&rotate(&clean, 20.0), 1.5),
        15.0,
        &mut rng,
    );
    add("combo-rotate-blur-noise-jpeg".into(), &combo, Some(30));
    let combo = contrast(&perspective(&clean, [0.08, 0.04, 0.05, 0.03]), 60, 190);
    add("combo-perspective-contrast".into(), &combo, Some(50));
    let combo = glare(
        &scale(&rotate(&clean, 8.0), 0.5),
        w * 0.35,
        h * 0.3,
        w * 0.12,
        0.6,
    );
    add("combo-small-rotate-glare".into(), &combo, Some(70));

    // The printed card itself, photographed: tilted, in perspective, and small and soft.
    let printed = crate::printed::render_card_png(
        &crate::printed::PrintedCard::reference(payload, Some("Абдыкадырова Айгерим")),
        None,
    );
    if let Some(card) = printed
        .ok()
        .and_then(|png| image::load_from_memory(&png).ok())
        .map(|i| i.into_luma8())
    {
        add("card-tilted".into(), &rotate(&card, 11.0), Some(75));
        add(
            "card-perspective".into(),
            &perspective(&card, [0.1, 0.05, 0.02, 0.04]),
            Some(70),
        );
        add(
            "card-small-soft".into(),
            &gaussian_blur_f32(&scale(&card, 0.8), 1.0),
            Some(60),
        );
    }
    set
}
