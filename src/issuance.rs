//! A request for a card as people type it (CLI flags, a CSV row, a JSON body, a console form, an
//! online application), turned into a validated [`NewCard`]. One place, so every front end refuses
//! the same things with the same words.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rescard_core::domain::date::parse_date;
use rescard_core::{
    DocumentType, DomainError, Holder, LatinName, Nationality, NativeName, PassportNumber,
    Portrait, ValidityPeriod,
};
use rescard_store::NewCard;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The fields of a card request, as text. Field names are the contract's (`given_names`,
/// `date_of_birth`, ...), so the same struct reads CSV headers and JSON bodies.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardRequest {
    /// Surname as in the passport's Latin part: words of letters A-Z joined by single spaces,
    /// hyphens or apostrophes, at most 64 characters.
    #[schema(pattern = "^[A-Z]+(?:[ '-][A-Z]+)*$", min_length = 1, max_length = 64)]
    pub surname: String,
    /// Given names, like the surname; empty (or absent) for a holder with a single name.
    #[serde(default)]
    #[schema(pattern = "^(?:[A-Z]+(?:[ '-][A-Z]+)*)?$", max_length = 64)]
    pub given_names: String,
    /// `YYYY-MM-DD`.
    #[schema(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub date_of_birth: String,
    /// ISO 3166-1 alpha-3 (or an ICAO code for the stateless and refugees: XXA, XXB, XXC, XXX);
    /// not KGZ, whose citizens need no resident card.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub nationality: String,
    /// The purpose of stay.
    #[schema(schema_with = rescard_core::openapi::permit)]
    pub permit: String,
    /// First day of validity, `YYYY-MM-DD`: not more than the registry allows ahead of today.
    #[schema(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub valid_from: String,
    /// Last day of validity, `YYYY-MM-DD`: not past, and at most one year after `valid_from`.
    #[schema(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub valid_until: String,
    /// `F`, `M` or `X`.
    #[serde(default)]
    #[schema(schema_with = rescard_core::openapi::optional_sex)]
    pub sex: Option<String>,
    /// Name in a native script: letters of any script the card's font prints (not Chinese, Japanese
    /// or Korean), with spaces, hyphens, apostrophes and full stops between them; at most 64
    /// characters.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    pub native_name: Option<String>,
    /// Passport number (registry only): 5 to 20 letters A-Z and digits.
    #[serde(default)]
    #[schema(pattern = "^[A-Z0-9]{5,20}$")]
    pub passport_number: Option<String>,
    /// Portrait, a PNG or JPEG of at most 1 MiB, base64 (registry only; its digest travels in the QR).
    #[serde(default)]
    #[schema(content_encoding = "base64", max_length = 1398104)]
    pub portrait: Option<String>,
    /// `resident_card` (the default) or `interim`: the interim permit, valid at most two months.
    #[serde(default)]
    #[schema(schema_with = rescard_core::openapi::optional_document)]
    pub document: Option<String>,
}

/// `None` for an absent or blank optional field (an empty CSV cell).
fn present(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A native-script name the printed card can show: parsed, and every letter in the card's font.
fn printable_native_name(text: &str) -> Result<NativeName, DomainError> {
    let name = NativeName::parse(text)?;
    if !rescard_qr::font_covers(name.as_ref()) {
        return Err(DomainError::Name {
            field: "native_name",
            problem: "the card's font cannot print this script (it covers Latin, Cyrillic, Greek, Arabic, Hebrew, Georgian, Armenian and more, but not Chinese, Japanese or Korean)".into(),
        });
    }
    Ok(name)
}

impl CardRequest {
    /// [`Self::validate`] on the async runtime's blocking pool: decoding a portrait of a few
    /// megapixels takes tens of milliseconds, too long for a runtime thread.
    pub async fn validate_off_runtime(
        self,
        portrait_file: Option<Vec<u8>>,
    ) -> Result<Result<NewCard, DomainError>, tokio::task::JoinError> {
        tokio::task::spawn_blocking(move || self.validate(portrait_file)).await
    }

    /// Validates every field and returns the card to issue. The portrait is the base64 `portrait`
    /// field, or else `portrait_file`'s bytes.
    pub fn validate(&self, portrait_file: Option<Vec<u8>>) -> Result<NewCard, DomainError> {
        let portrait = match present(&self.portrait) {
            Some(b64) => Some(
                STANDARD
                    .decode(b64)
                    .map_err(|_| DomainError::Inconsistent {
                        field: "portrait",
                        problem: "is not base64".into(),
                    })?,
            ),
            None => portrait_file,
        };
        let holder = Holder {
            surname: LatinName::surname(&self.surname)?,
            given_names: LatinName::given_names(&self.given_names)?,
            native_name: present(&self.native_name)
                .map(printable_native_name)
                .transpose()?,
            date_of_birth: parse_date("date_of_birth", self.date_of_birth.trim())?,
            sex: present(&self.sex).map(str::parse).transpose()?,
            nationality: Nationality::parse(&self.nationality)?,
        };
        let validity = ValidityPeriod::new(
            parse_date("valid_from", self.valid_from.trim())?,
            parse_date("valid_until", self.valid_until.trim())?,
        )?;
        let document = present(&self.document)
            .map(DocumentType::parse)
            .transpose()?
            .unwrap_or_default();
        document.check(validity)?;
        Ok(NewCard {
            holder,
            permit: self.permit.parse()?,
            document,
            validity,
            passport_number: present(&self.passport_number)
                .map(PassportNumber::parse)
                .transpose()?,
            portrait: portrait.map(decodable_portrait).transpose()?,
        })
    }
}

/// A portrait the card can print: a PNG or JPEG of at most [`Portrait::MAX_BYTES`] that decodes in
/// full, of at most [`rescard_qr::MAX_PORTRAIT_PIXELS`]. Checked here, once for the API, the
/// console and the CLI; the registry stores what passed.
pub(crate) fn decodable_portrait(bytes: Vec<u8>) -> Result<Portrait, DomainError> {
    let portrait = Portrait::parse(bytes)?;
    let problem = match rescard_qr::load_portrait(portrait.bytes()) {
        Ok(_) => return Ok(portrait),
        Err(rescard_qr::DecodeError::TooManyPixels {
            width,
            height,
            limit,
        }) => format!(
            "is {width}x{height} pixels, more than the {:.1} megapixels a portrait may have",
            limit as f64 / 1e6
        ),
        Err(rescard_qr::DecodeError::Corrupt(why)) => {
            format!("is not an image that decodes ({why})")
        }
        Err(_) => "is not a PNG or JPEG image".into(),
    };
    Err(DomainError::Inconsistent {
        field: "portrait",
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> CardRequest {
        CardRequest {
            surname: "Abdykadyrova-Nurlanova".into(),
            given_names: "Aigerim Zhanybekovna".into(),
            date_of_birth: "1991-04-17".into(),
            nationality: "uzb".into(),
            permit: "work".into(),
            valid_from: "2026-12-01".into(),
            valid_until: "2027-11-30".into(),
            sex: Some("F".into()),
            native_name: Some(String::new()),
            passport_number: None,
            portrait: None,
            document: None,
        }
    }

    #[test]
    fn a_good_request_validates_and_blank_optionals_are_absent() {
        let card = reference().validate(None).expect("valid");
        assert_eq!(card.holder.surname.as_ref(), "ABDYKADYROVA-NURLANOVA");
        assert!(card.holder.native_name.is_none());
        assert_eq!(card.document, DocumentType::ResidentCard);
    }

    #[test]
    fn an_interim_permit_lasts_at_most_two_months() {
        let interim = |until: &str| CardRequest {
            document: Some("interim".into()),
            valid_until: until.into(),
            ..reference()
        };
        let card = interim("2027-01-31").validate(None).expect("two months");
        assert_eq!(card.document, DocumentType::Interim);
        let e = interim("2027-02-01")
            .validate(None)
            .expect_err("a day more");
        assert_eq!(e.field(), "valid_until");
        assert!(e.to_string().contains("2027-01-31"), "{e}");
        let e = CardRequest {
            document: Some("visa".into()),
            ..reference()
        }
        .validate(None)
        .expect_err("no such document");
        assert_eq!(e.field(), "document");
    }

    fn portrait_png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::from_pixel(width, height, image::Rgb([190, 170, 150]))
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("png");
        out
    }

    #[test]
    fn a_portrait_is_decoded_at_issuance() {
        let photo = portrait_png(240, 300);
        let mut app = reference();
        app.portrait = Some(STANDARD.encode(&photo));
        let card = app.validate(None).expect("a real photo");
        assert_eq!(
            card.portrait.map(|p| p.bytes().to_vec()),
            Some(photo.clone())
        );
        // The same rule for a file (the console's upload, the CLI's --portrait).
        let bomb = include_bytes!("../fixtures/images/portrait-bomb.png").to_vec();
        let refused = reference().validate(Some(bomb)).expect_err("a pixel bomb");
        assert_eq!(refused.field(), "portrait");
        assert!(refused.to_string().contains("50000x50000"), "{refused}");
        let cut = photo[..photo.len() - 30].to_vec();
        assert_eq!(
            reference()
                .validate(Some(cut))
                .map(|_| ())
                .map_err(|e| e.field()),
            Err("portrait")
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        type Spoil = fn(&mut CardRequest);
        let cases: [(&str, Spoil); 9] = [
            ("surname", |a| a.surname = "Smith1".into()),
            ("date_of_birth", |a| a.date_of_birth = "17.04.1991".into()),
            ("nationality", |a| a.nationality = "KGZ".into()),
            ("permit", |a| a.permit = "tourism".into()),
            ("valid_until", |a| a.valid_until = "2027-12-01".into()),
            ("passport_number", |a| a.passport_number = Some("12".into())),
            ("portrait", |a| a.portrait = Some("not base64!".into())),
            ("portrait", |a| a.portrait = Some("R0lGODlh".into())),
            // A PNG signature with nothing behind it: the first bytes alone are not enough.
            ("portrait", |a| a.portrait = Some("iVBORw0KGgo=".into())),
        ];
        for (field, spoil) in cases {
            let mut app = reference();
            spoil(&mut app);
            assert_eq!(
                app.validate(None).map(|_| ()).map_err(|e| e.field()),
                Err(field)
            );
        }
    }
}
