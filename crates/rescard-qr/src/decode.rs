use std::borrow::Cow;
use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// The largest image file accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 25 * 1024 * 1024;

/// The most pixels accepted (width × height): a 48-megapixel phone photo.
pub const MAX_IMAGE_PIXELS: u64 = 48_000_000;

/// Why no payload could be read from an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// More bytes than [`MAX_IMAGE_BYTES`].
    #[error("image is {0} bytes, more than the {MAX_IMAGE_BYTES} accepted")]
    TooLarge(usize),
    /// More pixels than [`MAX_IMAGE_PIXELS`], found from the header before decoding.
    #[error("image is {width}x{height} pixels, more than the {MAX_IMAGE_PIXELS} accepted")]
    TooManyPixels {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
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

/// Every QR code text readable in `bytes` (PNG or JPEG; EXIF orientation honoured), best guess first.
pub fn decode_image(bytes: &[u8]) -> Result<Vec<String>, DecodeError> {
    decode_luma(load(bytes)?.into_luma8(), None)
}

/// The payload in `bytes`: the code whose text starts with `prefix` when the image holds several,
/// else the code read.
pub fn decode_payload(bytes: &[u8], prefix: &str) -> Result<String, DecodeError> {
    let mut texts = decode_luma(load(bytes)?.into_luma8(), Some(prefix))?;
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
fn decode_luma(image: GrayImage, prefix: Option<&str>) -> Result<Vec<String>, DecodeError> {
    let mut saw_code = false;
    let pixels = u64::from(image.width()) * u64::from(image.height());
    let stretched = std::cell::OnceCell::new();
    let stretched = || stretched.get_or_init(|| stretch_contrast(&image)).as_ref();
    for step in 0..4 {
        let candidate: Cow<'_, GrayImage> = match step {
            0 => Cow::Borrowed(&image),
            1 => match stretched() {
                Some(s) => Cow::Borrowed(s),
                None => continue,
            },
            2 => Cow::Owned(image::imageops::blur(stretched().unwrap_or(&image), 1.2)),
            _ if pixels > LARGE_IMAGE_PIXELS => Cow::Owned(half(stretched().unwrap_or(&image))),
            // A small image of a code with tiny modules (a scan at low resolution) reads better enlarged.
            _ if pixels <= SMALL_IMAGE_PIXELS => Cow::Owned(double(stretched().unwrap_or(&image))),
            _ => continue,
        };
        match rxing_read(&candidate) {
            Read::Found(text) => return Ok(prefer_prefixed(text, &candidate, prefix)),
            Read::Damaged => saw_code = true,
            Read::Nothing => {}
        }
    }
    if pixels <= LARGE_IMAGE_PIXELS {
        let mut prepared =
            rqrr::PreparedImage::prepare(stretched().cloned().unwrap_or_else(|| image.clone()));
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

/// Stretches the 1st to 99th percentile of brightness to the full range; `None` when the image is
/// already high in contrast (nothing to gain).
fn stretch_contrast(image: &GrayImage) -> Option<GrayImage> {
    let mut histogram = [0u64; 256];
    for p in image.pixels() {
        histogram[usize::from(p.0[0])] += 1;
    }
    let total: u64 = histogram.iter().sum();
    let percentile = |q: u64| {
        let mut seen = 0;
        for (level, count) in histogram.iter().enumerate() {
            seen += count;
            if seen * 100 >= total * q {
                return level as u8;
            }
        }
        255
    };
    let (lo, hi) = (percentile(1), percentile(99));
    if hi <= lo || (lo <= 30 && hi >= 225) {
        return None;
    }
    let span = f32::from(hi - lo);
    let mut out = image.clone();
    for p in out.pixels_mut() {
        p.0[0] = ((f32::from(p.0[0].clamp(lo, hi) - lo) / span) * 255.0).round() as u8;
    }
    Some(out)
}

fn double(image: &GrayImage) -> GrayImage {
    image::imageops::resize(
        image,
        image.width() * 2,
        image.height() * 2,
        image::imageops::FilterType::CatmullRom,
    )
}

fn half(image: &GrayImage) -> GrayImage {
    image::imageops::resize(
        image,
        (image.width() / 2).max(1),
        (image.height() / 2).max(1),
        image::imageops::FilterType::Triangle,
    )
}

fn load(bytes: &[u8]) -> Result<DynamicImage, DecodeError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    let format = image::guess_format(bytes).map_err(|_| DecodeError::UnsupportedFormat)?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg) {
        return Err(DecodeError::UnsupportedFormat);
    }
    let corrupt = |e: image::ImageError| DecodeError::Corrupt(e.to_string());
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(corrupt)?;
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(DecodeError::TooManyPixels { width, height });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_IMAGE_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let orientation = decoder.orientation().map_err(corrupt)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    image.apply_orientation(orientation);
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render_png;

    #[test]
    fn rendered_codes_read_back() {
        let text = "RC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEPWK G2EP4J0BGJLFX3R3VHXK.PJ:2DPF6R:5SVBHABVCNN95SWMPHQUHQN%A0SOE+QQAB-HQ/HQ7IR.SQEEOK9SO:0D2B4*4";
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

    #[test]
    fn a_pixel_bomb_is_refused_from_its_header() {
        // A PNG claiming 100000 x 100000 pixels, with one tiny data chunk behind it.
        let mut out = Vec::new();
        {
            let encoder = png::Encoder::new(Cursor::new(&mut out), 100_000, 100_000);
            let mut writer = encoder.write_header().expect("header");
            writer
                .write_chunk(
                    png::chunk::IDAT,
                    &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
                )
                .expect("chunk");
        }
        assert_eq!(
            decode_image(&out),
            Err(DecodeError::TooManyPixels {
                width: 100_000,
                height: 100_000
            })
        );
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
