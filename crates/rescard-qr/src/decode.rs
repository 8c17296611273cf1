use std::borrow::Cow;

use image::GrayImage;

use crate::filter::{blur, double, half, stretch_contrast};
use crate::load::load_luma;

/// The largest image file accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 25 * 1024 * 1024;

/// The most pixels accepted (width × height): a 48-megapixel phone photo. A caller may set a lower
/// limit ([`decode_payload_within`]); none can set a higher one.
pub const MAX_IMAGE_PIXELS: u64 = 48_000_000;

/// Why no payload could be read from an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// More bytes than [`MAX_IMAGE_BYTES`].
    #[error("image is {0} bytes, more than the {MAX_IMAGE_BYTES} accepted")]
    TooLarge(usize),
    /// More pixels than the limit, found from the header before decoding.
    #[error(
        "image is {width}x{height} pixels ({}), more than the {} accepted",
        megapixels(u64::from(*width) * u64::from(*height)),
        megapixels(*limit)
    )]
    TooManyPixels {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// The most pixels accepted.
        limit: u64,
    },
    /// A JPEG whose decoding would take more memory than an image check may
    /// ([`crate::MAX_DECODE_BYTES`]): a progressive or CMYK one, found from the header.
    #[error(
        "image is a {width}x{height} JPEG of a kind (progressive or CMYK) that takes more memory to decode than allowed: at most {} of it; send a baseline JPEG or a PNG",
        megapixels(*limit)
    )]
    TooCostly {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// The most pixels accepted for a JPEG of this kind.
        limit: u64,
    },
    /// Not PNG or JPEG.
    #[error("not a PNG or JPEG image")]
    UnsupportedFormat,
    /// A PNG or JPEG that cannot be decoded (truncated, corrupt).
    #[error("the image cannot be decoded: {0}")]
    Corrupt(String),
    /// No QR code was found in the image.
    #[error("no QR code found in the image")]
    NoCode,
    /// QR codes were found but none could be read.
    #[error("a QR code was found but could not be read (blurred, damaged or too small)")]
    Unreadable,
}

/// `pixels` as people say it: `48.0 megapixels`.
pub(crate) fn megapixels(pixels: u64) -> String {
    format!("{:.1} megapixels", pixels as f64 / 1e6)
}

/// Every QR code text readable in `bytes` (PNG or JPEG; EXIF orientation honoured), best guess first.
pub fn decode_image(bytes: &[u8]) -> Result<Vec<String>, DecodeError> {
    decode_luma(load_luma(bytes, MAX_IMAGE_PIXELS)?, None)
}

/// The payload in `bytes`: the code whose text starts with `prefix` when the image holds several,
/// else the code read. Images of up to [`MAX_IMAGE_PIXELS`].
pub fn decode_payload(bytes: &[u8], prefix: &str) -> Result<String, DecodeError> {
    decode_payload_within(bytes, prefix, MAX_IMAGE_PIXELS)
}

/// [`decode_payload`] for images of at most `max_pixels` (and never more than
/// [`MAX_IMAGE_PIXELS`]): a larger one is refused from its header, before any decoding.
///
/// Whatever the limit, an image is searched at no more than [`crate::WORKING_PIXELS`] (a larger one
/// is reduced as it is read), so the memory of one call is bounded: about 50 MB at most.
pub fn decode_payload_within(
    bytes: &[u8],
    prefix: &str,
    max_pixels: u64,
) -> Result<String, DecodeError> {
    let mut texts = decode_luma(load_luma(bytes, max_pixels)?, Some(prefix))?;
    let index = texts
        .iter()
        .position(|t| t.starts_with(prefix))
        .unwrap_or(0);
    Ok(texts.swap_remove(index))
}

/// Above this many pixels, a failed search is retried at half size (a large blurry photo reads
/// better smaller), and the rqrr second opinion is skipped (it is slow on large images).
const LARGE_IMAGE_PIXELS: u64 = 4_000_000;

/// At or below this many pixels, a failed search is retried at double size.
const SMALL_IMAGE_PIXELS: u64 = 250_000;

/// The decoding pipeline, chosen by measurement on the robustness set (`examples/decoders.rs`,
/// README): rxing (a port of ZXing) reads far more degraded codes than rqrr, ten times faster, but
/// misses low-contrast ones. So: rxing on the image as it is; then on a contrast-stretched copy; then
/// on a smoothed copy (heavy noise); then at half size (large photos) or double size (small scans with
/// tiny modules); then rqrr, which reads
/// low-contrast codes well, as a last opinion on images of modest size. Each step runs only when the
/// ones before it found nothing.
///
/// Memory: the image, or once stretched only its stretched copy (every later step works on that),
/// plus the one candidate being tried: two images' worth, and rxing's rotated copy.
fn decode_luma(image: GrayImage, prefix: Option<&str>) -> Result<Vec<String>, DecodeError> {
    let mut saw_code = false;
    let pixels = u64::from(image.width()) * u64::from(image.height());
    let mut base = image;
    for step in 0..4 {
        let candidate: Cow<'_, GrayImage> = match step {
            0 => Cow::Borrowed(&base),
            1 => match stretch_contrast(&base) {
                Some(stretched) => {
                    base = stretched;
                    Cow::Borrowed(&base)
                }
                None => continue,
            },
            2 => Cow::Owned(blur(&base, 1.2)),
            _ if pixels > LARGE_IMAGE_PIXELS => Cow::Owned(half(&base)),
            // A small image of a code with tiny modules (a scan at low resolution) reads better enlarged.
            _ if pixels <= SMALL_IMAGE_PIXELS => Cow::Owned(double(&base)),
            _ => continue,
        };
        match rxing_read(&candidate) {
            Read::Found(text) => return Ok(prefer_prefixed(text, &candidate, prefix)),
            Read::Damaged => saw_code = true,
            Read::Nothing => {}
        }
    }
    if pixels <= LARGE_IMAGE_PIXELS {
        let mut prepared = rqrr::PreparedImage::prepare(base);
        let grids = prepared.detect_grids();
        saw_code |= !grids.is_empty();
        let texts: Vec<String> = grids
            .iter()
            .filter_map(|g| g.decode().ok().map(|(_, text)| text))
            .collect();
        if !texts.is_empty() {
            return Ok(texts);
        }
    }
    Err(if saw_code {
        DecodeError::Unreadable
    } else {
        DecodeError::NoCode
    })
}

enum Read {
    Found(String),
    /// A code was located but could not be read (checksum or format error).
    Damaged,
    Nothing,
}

fn rxing_read(image: &GrayImage) -> Read {
    let (w, h) = image.dimensions();
    let mut hints = qr_hints();
    // rxing is a port of Java code that indexes arrays freely: a panic inside it on a hostile image
    // must cost that image, not the process.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rxing::helpers::detect_in_luma_slice_with_hints(
            image.as_raw(),
            w,
            h,
            Some(rxing::BarcodeFormat::QR_CODE),
            &mut hints,
        )
    }));
    match result {
        Ok(Ok(found)) => Read::Found(found.getText().to_owned()),
        Ok(Err(
            rxing::Exceptions::ChecksumException(_)
            | rxing::Exceptions::FormatException(_)
            | rxing::Exceptions::ReedSolomonException(_),
        )) => Read::Damaged,
        Ok(Err(_)) | Err(_) => Read::Nothing,
    }
}

fn qr_hints() -> rxing::DecodeHints {
    rxing::DecodeHints::default()
        .with(rxing::DecodeHintValue::TryHarder(true))
        .with(rxing::DecodeHintValue::PossibleFormats(
            std::collections::HashSet::from([rxing::BarcodeFormat::QR_CODE]),
        ))
}

/// With a `prefix`, when the code read is not ours, look for every code in the image: a photo may hold
/// another QR code (a poster, a payment code) beside the card's.
fn prefer_prefixed(first: String, image: &GrayImage, prefix: Option<&str>) -> Vec<String> {
    let Some(prefix) = prefix.filter(|p| !first.starts_with(p)) else {
        return vec![first];
    };
    let (w, h) = image.dimensions();
    let luma = image.as_raw().clone();
    let mut hints = qr_hints();
    let all = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rxing::helpers::detect_multiple_in_luma_with_hints(luma, w, h, &mut hints)
    }));
    let mut texts: Vec<String> = match all {
        Ok(Ok(results)) => results.iter().map(|r| r.getText().to_owned()).collect(),
        _ => Vec::new(),
    };
    texts.sort_by_key(|t| !t.starts_with(prefix));
    if !texts.contains(&first) {
        texts.push(first);
    }
    texts
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Cursor;

    use image::ImageFormat;

    use super::*;
    use crate::render_png;

    const TEXT: &str = "RC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEPWK G2EP4J0BGJLFX3R3VHXK.PJ:2DPF6R:5SVBHABVCNN95SWMPHQUHQN%A0SOE+QQAB-HQ/HQ7IR.SQEEOK9SO:0D2B4*4";

    #[test]
    fn rendered_codes_read_back() {
        let text = TEXT;
        for module in [1, 2, 6] {
            let png = render_png(text, module).expect("render");
            assert_eq!(
                decode_payload(&png, "RC1:"),
                Ok(text.to_owned()),
                "module {module} px"
            );
        }
    }

    #[test]
    fn hostile_images_get_their_own_error() {
        assert_eq!(
            decode_image(b"GIF89a...."),
            Err(DecodeError::UnsupportedFormat)
        );
        assert_eq!(decode_image(b"hello"), Err(DecodeError::UnsupportedFormat));
        let png = render_png("RC1:ABC", 4).expect("render");
        assert!(matches!(
            decode_image(&png[..png.len() / 2]),
            Err(DecodeError::Corrupt(_))
        ));
        let blank = {
            let img = image::GrayImage::from_pixel(200, 200, image::Luma([255]));
            let mut out = Vec::new();
            img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
                .expect("png");
            out
        };
        assert_eq!(decode_image(&blank), Err(DecodeError::NoCode));
        assert!(matches!(
            decode_image(&vec![0u8; MAX_IMAGE_BYTES + 1]),
            Err(DecodeError::TooLarge(_))
        ));
    }

    /// A few dozen bytes of PNG claiming `width` x `height` pixels, with one tiny data chunk behind.
    pub(crate) fn pixel_bomb(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let encoder = png::Encoder::new(Cursor::new(&mut out), width, height);
            let mut writer = encoder.write_header().expect("header");
            writer
                .write_chunk(
                    png::chunk::IDAT,
                    &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
                )
                .expect("chunk");
        }
        out
    }

    #[test]
    fn a_pixel_bomb_is_refused_from_its_header() {
        let out = pixel_bomb(100_000, 100_000);
        assert_eq!(
            decode_image(&out),
            Err(DecodeError::TooManyPixels {
                width: 100_000,
                height: 100_000,
                limit: MAX_IMAGE_PIXELS
            })
        );
    }

    /// A 48-megapixel phone photo (8000 x 6000) of a desk with the card's code on it, softened and
    /// noisy around the card (a PNG noisy all over would pass the upload limit), as a JPEG and as a
    /// PNG, with modules of `module` pixels.
    fn big_photo(module: u32) -> (Vec<u8>, Vec<u8>) {
        let code = crate::render_luma(TEXT, module).expect("render");
        let mut photo = GrayImage::from_pixel(8000, 6000, image::Luma([140]));
        let card =
            image::GrayImage::from_pixel(code.width() * 3, code.height() + 200, image::Luma([230]));
        image::imageops::overlay(&mut photo, &card, 2500, 2600);
        let code = image::imageops::blur(&code, 1.0);
        image::imageops::overlay(&mut photo, &code, 2500 + i64::from(code.width()), 2700);
        let mut state = 0x2545_f491u32;
        for (_, _, p) in photo
            .enumerate_pixels_mut()
            .filter(|(x, y, _)| (2000..6000).contains(x) && (2200..4200).contains(y))
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            p.0[0] = p.0[0].saturating_add((state >> 28) as u8).saturating_sub(8);
        }
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
            .encode_image(&photo)
            .expect("jpeg");
        let mut png = Vec::new();
        photo
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .expect("png");
        (jpeg, png)
    }

    #[test]
    fn a_48_megapixel_photo_is_searched_reduced_and_still_reads() {
        // Modules of 8 pixels: a card a sixth as wide as the photo. Reduced, they are 4.6 pixels.
        let (jpeg, png) = big_photo(8);
        for (kind, bytes) in [("jpeg", &jpeg), ("png", &png)] {
            let working = load_luma(bytes, MAX_IMAGE_PIXELS).expect("load");
            assert!(
                u64::from(working.width()) * u64::from(working.height()) <= crate::WORKING_PIXELS,
                "{kind}: searched at {:?}",
                working.dimensions()
            );
            assert_eq!(decode_payload(bytes, "RC1:"), Ok(TEXT.to_owned()), "{kind}");
        }
        // A caller's lower limit refuses it from the header, naming the limit.
        let refused = decode_payload_within(&jpeg, "RC1:", 24_000_000).expect_err("over the limit");
        assert_eq!(
            refused,
            DecodeError::TooManyPixels {
                width: 8000,
                height: 6000,
                limit: 24_000_000
            }
        );
        assert!(refused.to_string().contains("24.0 megapixels"), "{refused}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            let _ = decode_image(&bytes);
            let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
            png.extend_from_slice(&bytes);
            let _ = decode_image(&png);
        }
    }
}
