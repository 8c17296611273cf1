//! The JSON shapes of cards that the CLI prints and the service returns: one definition for both.

use chrono::NaiveDate;
use rescard_core::report::HolderJson;
use rescard_store::{CardRecord, HistoryEntry, IssuedCard};
use serde::Serialize;
use utoipa::ToSchema;

/// A card just issued (`issue --json`, `POST /api/v1/cards`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedJson {
    /// Card number, 9 digits.
    #[schema(pattern = "^[0-9]{9}$")]
    pub serial: String,
    /// Taxpayer number, 14 digits.
    #[schema(pattern = "^[0-9]{14}$")]
    pub itn: String,
    /// The signed QR payload (`RC1:…`).
    pub payload: String,
    /// First day of validity.
    pub valid_from: NaiveDate,
    /// Last day of validity.
    pub valid_until: NaiveDate,
}

impl From<&IssuedCard> for IssuedJson {
    fn from(i: &IssuedCard) -> Self {
        Self {
            serial: i.card.serial().to_string(),
            itn: i.card.itn().to_string(),
            payload: i.payload.clone(),
            valid_from: i.card.validity().from(),
            valid_until: i.card.validity().until(),
        }
    }
}

/// Everything the registry holds about a card (`show --json`, `GET /api/v1/cards/{serial}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordJson {
    /// Card number.
    #[schema(pattern = "^[0-9]{9}$")]
    pub serial: String,
    /// `active`, `suspended`, `revoked` or `replaced`.
    #[schema(schema_with = rescard_core::openapi::card_state)]
    pub state: &'static str,
    /// Why it was suspended, revoked or replaced.
    pub state_reason: Option<String>,
    /// The holder as printed.
    pub holder: HolderJson,
    /// Taxpayer number.
    #[schema(pattern = "^[0-9]{14}$")]
    pub itn: String,
    /// Passport number (registry only).
    pub passport_number: Option<String>,
    /// Purpose of stay.
    #[schema(schema_with = rescard_core::openapi::permit)]
    pub permit: &'static str,
    /// `resident_card` or `interim` (the interim permit).
    #[schema(schema_with = rescard_core::openapi::document)]
    pub document: &'static str,
    /// First day of validity as printed.
    pub valid_from: NaiveDate,
    /// Last day of validity as printed.
    pub printed_valid_until: NaiveDate,
    /// Current last day of validity.
    pub valid_until: NaiveDate,
    /// The card this one replaced.
    #[schema(pattern = "^[0-9]{9}$")]
    pub replaces: Option<String>,
    /// The card that replaced this one.
    #[schema(pattern = "^[0-9]{9}$")]
    pub replaced_by: Option<String>,
    /// Whether the registry holds a portrait.
    pub has_portrait: bool,
    /// The signing key's id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub kid: String,
    /// When issued (RFC 3339).
    #[schema(format = DateTime)]
    pub issued_at: String,
    /// Who issued it.
    pub issued_by: String,
    /// The QR payload.
    pub payload: String,
    /// Every act on the card, oldest first: `at`, `actor`, `action`, `details`.
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<HistoryEntry>,
}

impl From<&CardRecord> for RecordJson {
    fn from(r: &CardRecord) -> Self {
        let c = &r.card;
        Self {
            serial: c.serial().to_string(),
            state: r.state.as_str(),
            state_reason: r.state_reason.clone(),
            holder: HolderJson::from(c.holder()),
            itn: c.itn().to_string(),
            passport_number: r.passport_number.as_ref().map(ToString::to_string),
            permit: c.permit().as_str(),
            document: c.document().as_str(),
            valid_from: c.validity().from(),
            printed_valid_until: c.validity().until(),
            valid_until: r.valid_until,
            replaces: r.replaces.map(|s| s.to_string()),
            replaced_by: r.replaced_by.map(|s| s.to_string()),
            has_portrait: r.portrait.is_some(),
            kid: r.kid.to_string(),
            issued_at: rescard_store::timestamp(r.issued_at),
            issued_by: r.issued_by.clone(),
            payload: r.payload.clone(),
            history: r.history.clone(),
        }
    }
}

/// What the printed card shows: its title by document type, dates as people in the region write them
/// (`17.04.1991`), the permit in English and Russian.
pub fn printed_card(card: &rescard_core::Card, payload: &str) -> rescard_qr::PrintedCard {
    let h = card.holder();
    let date = |d: NaiveDate| d.format("%d.%m.%Y").to_string();
    let permit = match card.permit() {
        rescard_core::Permit::Work => "WORK / РАБОТА",
        rescard_core::Permit::Study => "STUDY / УЧЁБА",
        rescard_core::Permit::Family => "FAMILY / СЕМЬЯ",
        rescard_core::Permit::Business => "BUSINESS / БИЗНЕС",
        rescard_core::Permit::Other => "OTHER / ИНОЕ",
    };
    let title = match card.document() {
        rescard_core::DocumentType::ResidentCard => rescard_qr::RESIDENT_CARD_TITLE,
        rescard_core::DocumentType::Interim => rescard_qr::INTERIM_PERMIT_TITLE,
    };
    rescard_qr::PrintedCard {
        title: title.to_owned(),
        serial: card.serial().to_string(),
        surname: h.surname.to_string(),
        given_names: h.given_names.to_string(),
        native_name: h.native_name.as_ref().map(ToString::to_string),
        date_of_birth: date(h.date_of_birth),
        sex: h.sex.map(|s| s.as_str().to_owned()),
        nationality: h.nationality.to_string(),
        itn: card.itn().to_string(),
        permit: permit.to_owned(),
        valid_from: date(card.validity().from()),
        valid_until: date(card.validity().until()),
        payload: payload.to_owned(),
    }
}

/// The printable card of a registry record, as a PNG (the API and the console serve the same one).
pub fn card_png(record: &CardRecord) -> Result<Vec<u8>, rescard_qr::RenderError> {
    rescard_qr::render_card_png(
        &printed_card(&record.card, &record.payload),
        record.portrait.as_ref().map(rescard_core::Portrait::bytes),
    )
}

/// The QR code of a registry record, as a PNG for print (6 px a module).
pub fn qr_png(record: &CardRecord) -> Result<Vec<u8>, rescard_qr::RenderError> {
    rescard_qr::render_png(&record.payload, 6)
}
