//! Loading an upload as the grey image the QR search works on, within a bound on memory.
//!
//! A few hundred kilobytes of flat PNG can declare 48 megapixels, and the search makes copies of the
//! image it reads (contrast-stretched, smoothed, halved), so the memory of a check is set by the
//! pixels, not by the upload. Here every image is read as one byte of grey a pixel and never at more
//! than [`WORKING_PIXELS`]: a larger one is reduced while it is read, by averaging each block of
//! pixels that becomes one. A QR code in a photo that large has modules of many pixels, and still
//! has several after the reduction.
//!
//! - A PNG is read row by row and each row folded into the reduced image at once: the full image is
//!   never held. (An interlaced PNG arrives in passes over the whole picture, so it is assembled at
//!   full size, in grey, before the reduction.)
//! - A JPEG is decoded by zune-jpeg straight to grey (only the luma channel is converted), at full
//!   size, then reduced in place: one byte a pixel for a moment. A progressive or CMYK JPEG needs
//!   more (progressive ones keep every coefficient of every channel until the last scan), so such a
//!   JPEG is refused when it would need more than [`MAX_DECODE_BYTES`].

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageFormat};
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use crate::decode::{DecodeError, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS};
use crate::reduce::{Reducer, reduce_in_place, working_size};

/// The largest grey image the search works on. A 12-megapixel phone photo (4032 × 3024) is read as
/// it is; a larger image is reduced to this many pixels (a 48-megapixel photo to about 58% of its
/// width). The search then needs a few copies of it: about 50 MB at most.
pub const WORKING_PIXELS: u64 = 16_000_000;

/// The most memory the decoder itself may take for one image before it is reduced: a
/// 48-megapixel baseline JPEG (one byte a pixel) fits; a progressive or CMYK JPEG that would need
/// more is refused.
pub const MAX_DECODE_BYTES: u64 = 64 * 1024 * 1024;

/// `bytes` as a grey image of at most [`WORKING_PIXELS`], EXIF orientation applied; refused before
/// decoding when it has more than `max_pixels` (capped at [`MAX_IMAGE_PIXELS`]).
pub(crate) fn load_luma(bytes: &[u8], max_pixels: u64) -> Result<GrayImage, DecodeError> {
    let (image, orientation) = match format(bytes)? {
        ImageFormat::Png => png_luma(png_decoder(bytes, max_pixels)?)?,
        _ => jpeg_luma(jpeg_decoder(bytes, max_pixels)?)?,
    };
    let Some(orientation) = orientation.filter(|o| *o != Orientation::NoTransforms) else {
        return Ok(image);
    };
    let mut image = DynamicImage::ImageLuma8(image);
    image.apply_orientation(orientation);
    Ok(image.into_luma8())
}

/// Whether `bytes` would be refused before decoding, and why: over [`MAX_IMAGE_BYTES`], not PNG or
/// JPEG, a header that does not parse, more than `max_pixels` (capped at [`MAX_IMAGE_PIXELS`]), or
/// a JPEG that would take more than [`MAX_DECODE_BYTES`] to decode. Cheap: only the headers are
/// read. [`crate::decode_payload_within`] makes the same checks first.
pub fn check_image(bytes: &[u8], max_pixels: u64) -> Result<(), DecodeError> {
    match format(bytes)? {
        ImageFormat::Png => png_decoder(bytes, max_pixels).map(drop),
        _ => jpeg_decoder(bytes, max_pixels).map(drop),
    }
}

/// PNG or JPEG, of an accepted size.
fn format(bytes: &[u8]) -> Result<ImageFormat, DecodeError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg)) => Ok(f),
        _ => Err(DecodeError::UnsupportedFormat),
    }
}

/// Refuses an image over `max_pixels` (capped at [`MAX_IMAGE_PIXELS`]), from its header.
fn check_pixels(width: u32, height: u32, max_pixels: u64) -> Result<(), DecodeError> {
    let limit = max_pixels.min(MAX_IMAGE_PIXELS);
    if width == 0 || height == 0 {
        return Err(DecodeError::Corrupt("the image has no pixels".into()));
    }
    if u64::from(width) * u64::from(height) > limit {
        return Err(DecodeError::TooManyPixels {
            width,
            height,
            limit,
        });
    }
    Ok(())
}

fn corrupt(e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Corrupt(e.to_string())
}

/// A PNG decoder past the header, the image's size checked.
fn png_decoder(bytes: &[u8], max_pixels: u64) -> Result<png::Decoder<Cursor<&[u8]>>, DecodeError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Palettes expanded, 16-bit samples cut to 8: every row is then 1 to 4 bytes a pixel.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let header = decoder.read_header_info().map_err(corrupt)?;
    check_pixels(header.width, header.height, max_pixels)?;
    Ok(decoder)
}

fn png_luma(
    mut decoder: png::Decoder<Cursor<&[u8]>>,
) -> Result<(GrayImage, Option<Orientation>), DecodeError> {
    let header = decoder.read_header_info().map_err(corrupt)?;
    let (width, height, interlaced) = (header.width, header.height, header.interlaced);
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let channels = match reader.output_color_type() {
        (png::ColorType::Grayscale, png::BitDepth::Eight) => 1,
        (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight) => 2,
        (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
        (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
        other => return Err(corrupt(format!("unexpected PNG layout {other:?}"))),
    };
    let orientation = reader
        .info()
        .exif_metadata
        .as_deref()
        .and_then(Orientation::from_exif_chunk);
    let (w, h) = (width as usize, height as usize);
    let mut grey_row = Vec::with_capacity(w);
    let (tw, th) = working_size(width, height);
    let image = if interlaced {
        // Each pass spreads over the whole picture: assemble it in grey, then reduce it in place.
        let mut full = vec![0u8; w * h];
        while let Some(row) = reader.next_interlaced_row().map_err(corrupt)? {
            let png::InterlaceInfo::Adam7(pass) = *row.interlace() else {
                return Err(corrupt("an interlaced PNG row without its pass"));
            };
            grey_row.clear();
            to_grey(row.data(), channels, &mut grey_row);
            png::expand_interlaced_row(&mut full, w, &grey_row, &pass, 8);
        }
        reduce_in_place(full, width, height)
    } else if (tw, th) == (width, height) {
        let mut out = Vec::with_capacity(w * h);
        while let Some(row) = reader.next_row().map_err(corrupt)? {
            to_grey(row.data(), channels, &mut out);
        }
        GrayImage::from_raw(width, height, out)
    } else {
        let mut reducer = Reducer::new(width, height, tw, th);
        let mut out = Vec::with_capacity(tw as usize * th as usize);
        while let Some(row) = reader.next_row().map_err(corrupt)? {
            grey_row.clear();
            to_grey(row.data(), channels, &mut grey_row);
            reducer.push(&grey_row, |reduced| out.extend_from_slice(reduced));
        }
        GrayImage::from_raw(tw, th, out)
    };
    let image = image.ok_or_else(|| corrupt("the PNG ended before its last row"))?;
    Ok((image, orientation))
}

/// One row of 8-bit samples, `channels` a pixel (grey, grey and alpha, RGB, RGBA), as grey,
/// appended to `out`: the luma of RGB by the sRGB weights, alpha ignored (as `image`'s
/// `into_luma8` does).
fn to_grey(row: &[u8], channels: usize, out: &mut Vec<u8>) {
    match channels {
        1 => out.extend_from_slice(row),
        2 => out.extend(row.chunks_exact(2).map(|p| p[0])),
        _ => out.extend(row.chunks_exact(channels).map(|p| {
            let l = 2126 * u32::from(p[0]) + 7152 * u32::from(p[1]) + 722 * u32::from(p[2]);
            (l / 10_000) as u8
        })),
    }
}

/// A JPEG decoder past the headers, set to decode to grey (or RGB when the JPEG's colours cannot
/// go straight to grey); its size, and the memory to decode it, checked.
struct Jpeg<'a> {
    decoder: zune_jpeg::JpegDecoder<zune_jpeg::zune_core::bytestream::ZCursor<&'a [u8]>>,
    width: u32,
    height: u32,
    /// 1 for grey output, 3 for RGB.
    out_bytes: u64,
}

fn jpeg_decoder(bytes: &[u8], max_pixels: u64) -> Result<Jpeg<'_>, DecodeError> {
    let options = DecoderOptions::default()
        .set_strict_mode(false)
        .set_max_width(usize::MAX)
        .set_max_height(usize::MAX);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
        zune_jpeg::zune_core::bytestream::ZCursor::new(bytes),
        options,
    );
    decoder.decode_headers().map_err(corrupt)?;
    let info = decoder
        .info()
        .ok_or_else(|| corrupt("the JPEG has no frame header"))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    check_pixels(width, height, max_pixels)?;
    // zune-jpeg writes grey straight from YCbCr and grey JPEGs; RGB, CMYK and YCCK ones only as RGB.
    let (out_space, out_bytes) = match decoder.input_colorspace() {
        Some(ColorSpace::YCbCr | ColorSpace::Luma) => (ColorSpace::Luma, 1),
        _ => (ColorSpace::RGB, 3),
    };
    let pixels = u64::from(width) * u64::from(height);
    let mut cost = pixels * out_bytes;
    if info.sof.is_progressive() {
        // Two bytes a coefficient, a coefficient a sample, for every channel, until the last scan.
        let chroma = match info.sample_ratio {
            zune_jpeg::SampleRatios::HV => 0.25,
            zune_jpeg::SampleRatios::H | zune_jpeg::SampleRatios::V => 0.5,
            _ => 1.0,
        };
        let channels = 1.0 + f64::from(info.components.saturating_sub(1)) * chroma;
        cost += (pixels as f64 * 2.0 * channels) as u64;
    }
    if cost > MAX_DECODE_BYTES {
        return Err(DecodeError::TooCostly {
            width,
            height,
            limit: MAX_DECODE_BYTES * pixels / cost,
        });
    }
    decoder.set_options(decoder.options().jpeg_set_out_colorspace(out_space));
    Ok(Jpeg {
        decoder,
        width,
        height,
        out_bytes,
    })
}

fn jpeg_luma(jpeg: Jpeg<'_>) -> Result<(GrayImage, Option<Orientation>), DecodeError> {
    let Jpeg {
        mut decoder,
        width,
        height,
        out_bytes,
    } = jpeg;
    let pixels = u64::from(width) * u64::from(height);
    let orientation = decoder.exif().and_then(|e| Orientation::from_exif_chunk(e));
    let mut full = decoder.decode().map_err(corrupt)?;
    if out_bytes == 3 {
        // RGB to grey in place: pixel i's grey lands at i, before the RGB still to read at 3i.
        for i in 0..full.len() / 3 {
            let (r, g, b) = (full[3 * i], full[3 * i + 1], full[3 * i + 2]);
            let l = 2126 * u32::from(r) + 7152 * u32::from(g) + 722 * u32::from(b);
            full[i] = (l / 10_000) as u8;
        }
        full.truncate(full.len() / 3);
    }
    if full.len() != pixels as usize {
        return Err(corrupt("the JPEG decoded to an unexpected size"));
    }
    let image = reduce_in_place(full, width, height)
        .ok_or_else(|| corrupt("the JPEG decoded to an unexpected size"))?;
    Ok((image, orientation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_png_is_read_reduced_and_a_small_one_as_it_is() {
        for (w, h) in [(640, 480), (6400, 3000)] {
            let image = GrayImage::from_fn(w, h, |x, y| {
                image::Luma([((x / 7 + y / 5) % 2 * 255) as u8])
            });
            let mut png = Vec::new();
            image
                .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
                .expect("png");
            let loaded = load_luma(&png, crate::MAX_IMAGE_PIXELS).expect("load");
            assert_eq!(loaded.dimensions(), working_size(w, h), "{w}x{h}");
        }
    }
}
