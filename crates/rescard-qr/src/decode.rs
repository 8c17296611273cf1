use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

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

/// Every QR code text readable in `bytes` (PNG or JPEG; EXIF orientation honoured), in the order found.
pub fn decode_image(bytes: &[u8]) -> Result<Vec<String>, DecodeError> {
    let image = load(bytes)?;
    let luma = image.into_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err(DecodeError::NoCode);
    }
    let texts: Vec<String> = grids
        .iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect();
    if texts.is_empty() {
        return Err(DecodeError::Unreadable);
    }
    Ok(texts)
}

/// The payload in `bytes`: the first code whose text starts with `prefix`, else the first code read.
pub fn decode_payload(bytes: &[u8], prefix: &str) -> Result<String, DecodeError> {
    let mut texts = decode_image(bytes)?;
    let index = texts
        .iter()
        .position(|t| t.starts_with(prefix))
        .unwrap_or(0);
    Ok(texts.swap_remove(index))
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
