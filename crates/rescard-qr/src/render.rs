use std::io::Cursor;

use qrcode::{QrCode, Version};

pub use qrcode::EcLevel;

/// The resolution the PNG declares (its pHYs chunk), so it prints at the intended size.
pub const PRINT_DPI: u32 = 300;

/// The light border around the symbol, in modules: the 4 that ISO/IEC 18004 requires.
pub const QUIET_ZONE_MODULES: u32 = 4;

/// Why a payload could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The payload does not fit any QR version at this level.
    #[error("payload of {0} characters does not fit a QR code")]
    TooLong(usize),
    /// A module size of 0, or one so large the image would be absurd.
    #[error("module size {0} px is outside 1..=64")]
    ModuleSize(u32),
    /// PNG encoding failed.
    #[error("PNG encoding: {0}")]
    Png(String),
}

/// The QR version (1–40) that `payload` needs at `level`, if it fits.
pub fn version_for(payload: &str, level: EcLevel) -> Option<i16> {
    match QrCode::with_error_correction_level(payload, level)
        .ok()?
        .version()
    {
        Version::Normal(v) => Some(v),
        Version::Micro(_) => None,
    }
}

/// The symbol's width in modules, quiet zone excluded, at `level`.
pub fn module_count(payload: &str, level: EcLevel) -> Option<usize> {
    QrCode::with_error_correction_level(payload, level)
        .ok()
        .map(|c| c.width())
}

/// `payload` as a grayscale image at level M, `module_px` pixels a module, with the quiet zone.
pub fn render_luma(payload: &str, module_px: u32) -> Result<image::GrayImage, RenderError> {
    if !(1..=64).contains(&module_px) {
        return Err(RenderError::ModuleSize(module_px));
    }
    let code = QrCode::with_error_correction_level(payload, EcLevel::M)
        .map_err(|_| RenderError::TooLong(payload.len()))?;
    Ok(code
        .render::<image::Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(module_px, module_px)
        .build())
}

/// `payload` as a grayscale PNG at level M: `module_px` pixels a module, a 4-module quiet zone, and
/// a declared resolution of [`PRINT_DPI`]. At 6 px a module a module prints 0.51 mm wide.
pub fn render_png(payload: &str, module_px: u32) -> Result<Vec<u8>, RenderError> {
    let image = render_luma(payload, module_px)?;
    let (width, height) = image.dimensions();
    encode_png(image.as_raw(), width, height, png::ColorType::Grayscale)
}

/// 8-bit pixels as a PNG that declares [`PRINT_DPI`], so it prints at its intended size.
pub(crate) fn encode_png(
    pixels: &[u8],
    width: u32,
    height: u32,
    color: png::ColorType,
) -> Result<Vec<u8>, RenderError> {
    let png_error = |e: png::EncodingError| RenderError::Png(e.to_string());
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(Cursor::new(&mut out), width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    let per_metre = (f64::from(PRINT_DPI) / 0.0254).round() as u32;
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: per_metre,
        yppu: per_metre,
        unit: png::Unit::Meter,
    }));
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(pixels).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}
