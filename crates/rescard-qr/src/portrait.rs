//! The holder's portrait: decoded in full, within limits, when a card is issued (so an image that
//! does not decode, or declares more pixels than a portrait needs, is refused then, not printed as
//! an empty frame), and loaded the same way when the card is drawn.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::decode::DecodeError;

/// The most pixels a portrait may have: 4 megapixels (a passport photo scanned at 600 dpi is
/// about 1.3; the card prints it at 230 × 295 pixels).
pub const MAX_PORTRAIT_PIXELS: u64 = 4_000_000;

/// `bytes` (PNG or JPEG) decoded in full, EXIF orientation applied: refused from its header when it
/// has more than [`MAX_PORTRAIT_PIXELS`], and when any of it fails to decode.
pub fn load_portrait(bytes: &[u8]) -> Result<DynamicImage, DecodeError> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg)) => f,
        _ => return Err(DecodeError::UnsupportedFormat),
    };
    let corrupt = |e: image::ImageError| DecodeError::Corrupt(e.to_string());
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(corrupt)?;
    if width == 0 || height == 0 {
        return Err(DecodeError::Corrupt("the image has no pixels".into()));
    }
    if u64::from(width) * u64::from(height) > MAX_PORTRAIT_PIXELS {
        return Err(DecodeError::TooManyPixels {
            width,
            height,
            limit: MAX_PORTRAIT_PIXELS,
        });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // Four bytes a pixel (RGBA, 16-bit grey and alpha) and the decoder's own buffers.
    limits.max_alloc = Some(MAX_PORTRAIT_PIXELS * 4 + 16 * 1024 * 1024);
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

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::from_pixel(width, height, image::Rgb([200, 180, 160]))
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("png");
        out
    }

    #[test]
    fn a_photo_decodes_and_a_header_declaring_too_many_pixels_is_refused() {
        assert_eq!(
            load_portrait(&png(300, 400)).map(|i| (i.width(), i.height())),
            Ok((300, 400))
        );
        // A few dozen bytes declaring 50000 x 50000: refused before any decoding.
        let bomb = crate::decode::tests::pixel_bomb(50_000, 50_000);
        assert_eq!(
            load_portrait(&bomb),
            Err(DecodeError::TooManyPixels {
                width: 50_000,
                height: 50_000,
                limit: MAX_PORTRAIT_PIXELS
            })
        );
    }

    #[test]
    fn a_portrait_that_does_not_decode_in_full_is_refused() {
        let whole = png(300, 400);
        assert!(matches!(
            load_portrait(&whole[..whole.len() - 40]),
            Err(DecodeError::Corrupt(_))
        ));
        assert!(matches!(
            load_portrait(b"\xff\xd8\xff\xe0 not really a JPEG"),
            Err(DecodeError::Corrupt(_))
        ));
        assert_eq!(
            load_portrait(b"GIF89a"),
            Err(DecodeError::UnsupportedFormat)
        );
    }
}
