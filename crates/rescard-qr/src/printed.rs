//! The printed card: ID-1 size (85.60 × 53.98 mm) at 300 dpi, 1011 × 638 pixels.
//!
//! Text is set in DejaVu Sans (embedded; it covers Latin, Cyrillic and many other scripts; its licence
//! is in `assets/fonts/DejaVu-LICENSE.txt`). The QR code sits at the right at 5 pixels a module:
//! 0.42 mm modules, a 27 mm square for the reference card, which a phone reads from arm's length.

use ab_glyph::{Font as _, FontRef, PxScale};
use image::{GenericImageView as _, Rgb, RgbImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_hollow_rect_mut, draw_text_mut, text_size};
use imageproc::rect::Rect;

use crate::render::{RenderError, encode_png, render_luma};

/// Card width in pixels at 300 dpi (85.60 mm).
pub const CARD_WIDTH: u32 = 1011;
/// Card height in pixels at 300 dpi (53.98 mm).
pub const CARD_HEIGHT: u32 = 638;
/// Pixels a QR module on the printed card.
pub const CARD_MODULE_PX: u32 = 5;
/// The resident card's title.
pub const RESIDENT_CARD_TITLE: &str = "RESIDENT CARD · КАРТА РЕЗИДЕНТА";
/// The interim permit's title.
pub const INTERIM_PERMIT_TITLE: &str = "INTERIM PERMIT · ВРЕМЕННОЕ РАЗРЕШЕНИЕ";

/// What the card prints, as text.
#[derive(Debug, Clone, Default)]
pub struct PrintedCard {
    /// The document's title under the state's name (e.g. `RESIDENT CARD · КАРТА РЕЗИДЕНТА`).
    pub title: String,
    /// Card number.
    pub serial: String,
    /// Surname (Latin).
    pub surname: String,
    /// Given names (Latin).
    pub given_names: String,
    /// Name in a native script, if any.
    pub native_name: Option<String>,
    /// Date of birth, as printed (e.g. `17.04.1991`).
    pub date_of_birth: String,
    /// Sex, if printed.
    pub sex: Option<String>,
    /// Nationality code.
    pub nationality: String,
    /// Taxpayer number.
    pub itn: String,
    /// Purpose of stay, as printed (e.g. `WORK / РАБОТА`).
    pub permit: String,
    /// First day of validity, as printed.
    pub valid_from: String,
    /// Last day of validity, as printed.
    pub valid_until: String,
    /// The signed QR payload.
    pub payload: String,
}

impl PrintedCard {
    /// The reference card (`rescard_core::reference`) as printed, with `payload` in its QR code and
    /// `native_name` if any: the robustness set's photographed card and the tests' card.
    pub fn reference(payload: &str, native_name: Option<&str>) -> Self {
        Self {
            title: RESIDENT_CARD_TITLE.to_owned(),
            serial: "000000013".into(),
            surname: "ABDYKADYROVA-NURLANOVA".into(),
            given_names: "AIGERIM ZHANYBEKOVNA".into(),
            native_name: native_name.map(Into::into),
            date_of_birth: "17.04.1991".into(),
            sex: Some("F".into()),
            nationality: "UZB".into(),
            itn: "31704199100013".into(),
            permit: "WORK / РАБОТА".into(),
            valid_from: "01.12.2026".into(),
            valid_until: "30.11.2027".into(),
            payload: payload.to_owned(),
        }
    }
}

const INK: Rgb<u8> = Rgb([20, 24, 40]);
const MUTED: Rgb<u8> = Rgb([90, 98, 120]);
const BAND: Rgb<u8> = Rgb([176, 28, 46]);
const PAPER: Rgb<u8> = Rgb([250, 248, 240]);
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);

fn font(bold: bool) -> Option<FontRef<'static>> {
    FontRef::try_from_slice(if bold {
        dejavu::sans::bold()
    } else {
        dejavu::sans::regular()
    })
    .ok()
}

/// Whether the card's font has a glyph for every character of `text` (a native-script name, say).
pub fn font_covers(text: &str) -> bool {
    font(false).is_some_and(|f| {
        text.chars()
            .filter(|c| !c.is_whitespace())
            .all(|c| f.glyph_id(c).0 != 0)
    })
}

/// Draws `text` at `scale`, shrunk until it fits `max_width`.
fn fitted(
    image: &mut RgbImage,
    color: Rgb<u8>,
    (x, y): (i32, i32),
    (scale, font): (f32, &FontRef<'_>),
    text: &str,
    max_width: u32,
) {
    let mut s = scale;
    while s > 10.0 && text_size(PxScale::from(s), font, text).0 > max_width {
        s -= 1.0;
    }
    draw_text_mut(image, color, x, y, PxScale::from(s), font, text);
}

/// The card as a PNG at 300 dpi, with the portrait (PNG or JPEG) when there is one.
pub fn render_card_png(
    card: &PrintedCard,
    portrait: Option<&[u8]>,
) -> Result<Vec<u8>, RenderError> {
    let (regular, bold) = match (font(false), font(true)) {
        (Some(r), Some(b)) => (r, b),
        _ => return Err(RenderError::Png("the embedded font does not load".into())),
    };
    let mut img = RgbImage::from_pixel(CARD_WIDTH, CARD_HEIGHT, PAPER);
    draw_filled_rect_mut(&mut img, Rect::at(0, 0).of_size(CARD_WIDTH, 92), BAND);
    draw_text_mut(
        &mut img,
        WHITE,
        30,
        12,
        PxScale::from(30.0),
        &bold,
        "KYRGYZ REPUBLIC · КЫРГЫЗ РЕСПУБЛИКАСЫ",
    );
    draw_text_mut(
        &mut img,
        WHITE,
        30,
        50,
        PxScale::from(28.0),
        &regular,
        &card.title,
    );

    // Portrait, or an empty frame where a photo would be.
    let (px, py, pw, ph) = (30i32, 118i32, 230u32, 295u32);
    // Loaded within the portrait's limits: a record from before they applied cannot make this huge.
    match portrait.and_then(|bytes| crate::portrait::load_portrait(bytes).ok()) {
        Some(photo) => {
            let (w, h) = photo.dimensions();
            // Cover the frame, cropping the longer side.
            let scale = (pw as f32 / w as f32).max(ph as f32 / h as f32);
            let resized = photo.resize_exact(
                ((w as f32) * scale).ceil() as u32,
                ((h as f32) * scale).ceil() as u32,
                image::imageops::FilterType::Triangle,
            );
            let (rw, rh) = resized.dimensions();
            let cropped = resized
                .crop_imm((rw - pw) / 2, (rh - ph) / 2, pw, ph)
                .to_rgb8();
            image::imageops::overlay(&mut img, &cropped, i64::from(px), i64::from(py));
        }
        None => {
            draw_filled_rect_mut(
                &mut img,
                Rect::at(px, py).of_size(pw, ph),
                Rgb([226, 228, 236]),
            );
            draw_text_mut(
                &mut img,
                MUTED,
                px + 70,
                py + 130,
                PxScale::from(24.0),
                &regular,
                "PHOTO",
            );
        }
    }
    draw_hollow_rect_mut(&mut img, Rect::at(px, py).of_size(pw, ph), MUTED);

    // The QR code first: its size (the version grows with a native-script name) bounds the fields.
    let mut module_px = CARD_MODULE_PX;
    let mut qr = render_luma(&card.payload, module_px)?;
    if qr.width() > 340 {
        module_px -= 1;
        qr = render_luma(&card.payload, module_px)?;
    }
    let (qw, qh) = qr.dimensions();
    let qx = CARD_WIDTH.saturating_sub(qw + 20);
    let qy = 92 + (CARD_HEIGHT - 92 - 46).saturating_sub(qh) / 2;

    // The fields, label above value, in rows between the portrait and the code.
    let fx = 290i32;
    let right = i32::try_from(qx).unwrap_or(700) - 12;
    let width_from = |x: i32| u32::try_from(right - x).unwrap_or(0);
    let field = |img: &mut RgbImage, x: i32, y: i32, label: &str, value: &str, width: u32| {
        fitted(img, MUTED, (x, y), (16.0, &regular), label, width);
        fitted(img, INK, (x, y + 18), (29.0, &bold), value, width);
    };
    let half = 205;
    field(
        &mut img,
        fx,
        104,
        "SURNAME / ФАМИЛИЯ",
        &card.surname,
        width_from(fx),
    );
    field(
        &mut img,
        fx,
        160,
        "GIVEN NAMES / ИМЯ",
        if card.given_names.is_empty() {
            "—"
        } else {
            &card.given_names
        },
        width_from(fx),
    );
    let mut y = 216;
    if let Some(native) = &card.native_name {
        fitted(
            &mut img,
            INK,
            (fx, y + 2),
            (25.0, &regular),
            native,
            width_from(fx),
        );
        y += 36;
    }
    field(
        &mut img,
        fx,
        y,
        "DATE OF BIRTH / ДАТА РОЖДЕНИЯ",
        &card.date_of_birth,
        half as u32 - 10,
    );
    field(
        &mut img,
        fx + half,
        y,
        "SEX / ПОЛ",
        card.sex.as_deref().unwrap_or("—"),
        width_from(fx + half),
    );
    y += 56;
    field(
        &mut img,
        fx,
        y,
        "NATIONALITY / ГРАЖД.",
        &card.nationality,
        half as u32 - 10,
    );
    field(
        &mut img,
        fx + half,
        y,
        "ITN / ИНН",
        &card.itn,
        width_from(fx + half),
    );
    y += 56;
    field(
        &mut img,
        fx,
        y,
        "PERMIT / ЦЕЛЬ ПРЕБЫВАНИЯ",
        &card.permit,
        width_from(fx),
    );
    y += 56;
    field(
        &mut img,
        fx,
        y,
        "VALID FROM / С",
        &card.valid_from,
        half as u32 - 10,
    );
    field(
        &mut img,
        fx + half,
        y,
        "VALID UNTIL / ДО",
        &card.valid_until,
        width_from(fx + half),
    );
    draw_text_mut(
        &mut img,
        MUTED,
        30,
        430,
        PxScale::from(17.0),
        &regular,
        "CARD No. / № КАРТЫ",
    );
    draw_text_mut(
        &mut img,
        INK,
        30,
        450,
        PxScale::from(34.0),
        &bold,
        &card.serial,
    );
    draw_text_mut(
        &mut img,
        MUTED,
        30,
        CARD_HEIGHT as i32 - 40,
        PxScale::from(17.0),
        &regular,
        "Scan the code for the current stay · Отсканируйте код: актуальный срок пребывания",
    );

    let qr_rgb = image::DynamicImage::ImageLuma8(qr).to_rgb8();
    image::imageops::overlay(&mut img, &qr_rgb, i64::from(qx), i64::from(qy));

    encode_png(img.as_raw(), CARD_WIDTH, CARD_HEIGHT, png::ColorType::Rgb)
}
