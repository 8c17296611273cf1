//! The JSON shape of a verification, shared by `rescard verify --json` and `POST /api/v1/verify`.
//!
//! Every field of the contract is always present; those that could not be established (for a
//! malformed or forged payload nothing is trusted) are `null`. The one exception is `state_reason`,
//! the officer's own words, which a report for a reader not allowed to see them leaves out.

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::Holder;
use crate::domain::date::rfc3339;
use crate::verify::Verification;

/// The holder fields of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HolderJson {
    /// Surname (Latin).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[A-Z]+(?:[ '-][A-Z]+)*$", max_length = 64)
    )]
    pub surname: String,
    /// Given names (Latin); empty for a holder with a single name.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^(?:[A-Z]+(?:[ '-][A-Z]+)*)?$", max_length = 64)
    )]
    pub given_names: String,
    /// Native-script name, when printed.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub native_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_of_birth: NaiveDate,
    /// `F`, `M`, `X` or null.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::optional_sex))]
    pub sex: Option<&'static str>,
    /// ISO 3166-1 alpha-3.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Z]{3}$"))]
    pub nationality: String,
}

impl From<&Holder> for HolderJson {
    fn from(h: &Holder) -> Self {
        Self {
            surname: h.surname.to_string(),
            given_names: h.given_names.to_string(),
            native_name: h.native_name.as_ref().map(ToString::to_string),
            date_of_birth: h.date_of_birth,
            sex: h.sex.map(|s| s.as_str()),
            nationality: h.nationality.to_string(),
        }
    }
}

/// A verification as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerificationJson {
    /// The verdict name.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::verdict))]
    pub verdict: &'static str,
    /// A sentence saying why.
    pub detail: String,
    /// Card number.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{9}$"))]
    pub serial: Option<String>,
    /// The holder.
    pub holder: Option<HolderJson>,
    /// Taxpayer number.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{14}$"))]
    pub itn: Option<String>,
    /// Purpose of stay.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::optional_permit))]
    pub permit: Option<&'static str>,
    /// `resident_card` or `interim` (the interim permit); a payload without a document type is a
    /// resident card.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::optional_document))]
    pub document: Option<&'static str>,
    /// First day of validity (printed).
    pub valid_from: Option<NaiveDate>,
    /// Current last day of validity (extensions included).
    pub valid_until: Option<NaiveDate>,
    /// Last day of validity as printed on the card.
    pub printed_valid_until: Option<NaiveDate>,
    /// Whole days from today to `valid_until` (0 on the last day, negative when overstayed).
    pub days_remaining: Option<i64>,
    /// `registry`, `snapshot` or `card`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::status_origin))]
    pub status_source: &'static str,
    /// When the status was known (RFC 3339), null for `card`.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub status_as_of: Option<String>,
    /// Whether the status is older than the checker's maximum age.
    pub status_stale: bool,
    /// The signing key's id (hex), when the envelope was readable.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{16}$"))]
    pub kid: Option<String>,
    /// When the card was signed (RFC 3339).
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub issued_at: Option<String>,
    /// The reason an officer gave for a suspension, revocation or replacement (`null` when none).
    /// It is free text meant for the police and staff: a report shown to anyone else leaves the
    /// field out ([`VerificationJson::without_state_reason`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub state_reason: Option<Option<String>>,
    /// The card that replaced this one.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{9}$"))]
    pub replaced_by: Option<String>,
}

impl VerificationJson {
    /// The report without the officer's reason: the field is then absent.
    pub fn without_state_reason(mut self) -> Self {
        self.state_reason = None;
        self
    }
}

impl From<&Verification> for VerificationJson {
    fn from(v: &Verification) -> Self {
        let card = v.card.as_ref();
        let current = v.status.current.as_ref();
        Self {
            verdict: v.verdict.as_str(),
            detail: v.detail.clone(),
            serial: card.map(|c| c.serial().to_string()),
            holder: card.map(|c| HolderJson::from(c.holder())),
            itn: card.map(|c| c.itn().to_string()),
            permit: card.map(|c| c.permit().as_str()),
            document: card.map(|c| c.document().as_str()),
            valid_from: card.map(|c| c.validity().from()),
            valid_until: v.valid_until,
            printed_valid_until: card.map(|c| c.validity().until()),
            days_remaining: v.days_remaining,
            status_source: v.status.origin.as_str(),
            status_as_of: v.status.as_of.map(rfc3339),
            status_stale: v.status.stale,
            kid: v.kid.map(|k| k.to_string()),
            issued_at: v.issued_at.map(rfc3339),
            state_reason: Some(current.and_then(|c| c.reason.clone())),
            replaced_by: current.and_then(|c| c.replaced_by).map(|s| s.to_string()),
        }
    }
}
