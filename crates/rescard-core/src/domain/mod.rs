//! The card domain: types that can only hold valid values, so a `Card` cannot be invalid.
//!
//! Every type is built by `parse` (or a constructor) that returns a [`DomainError`] naming the field
//! and what is wrong with it; past that boundary nothing re-checks.

mod card;
mod check_digit;
mod countries;
pub mod date;
mod document;
mod itn;
mod name;
mod nationality;
mod passport;
mod permit;
mod serial;
mod sex;
pub mod text;
mod validity;

pub use card::{Card, Holder, PortraitDigest};
pub use document::DocumentType;
pub use itn::Itn;
pub use name::{LatinName, NativeName};
pub use nationality::Nationality;
pub use passport::{PassportNumber, Portrait};
pub use permit::Permit;
pub use serial::Serial;
pub use sex::Sex;
pub use text::Reason;
pub use validity::ValidityPeriod;

/// Why a value is not a valid part of a card. `field()` names the field, in the contract's spelling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A name that is not a passport name.
    #[error("{field}: {problem}")]
    Name {
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// Free text (a reason) that is empty, too long, or holds characters a screen would obey or hide.
    #[error("{field}: {problem}")]
    Text {
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A date that is not a date, or not a plausible one.
    #[error("{field}: {problem}")]
    Date {
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// Not an ISO 3166-1 alpha-3 code (or an ICAO code for stateless persons and refugees).
    #[error("nationality: {0:?} is not an ISO 3166-1 alpha-3 country code")]
    UnknownNationality(String),
    /// Kyrgyz citizens are not foreigners: they get no resident card.
    #[error("nationality: KGZ citizens do not need a resident card")]
    OwnNationality,
    /// Not one of the permits.
    #[error("permit: {0:?} is not one of work, study, family, business, other")]
    Permit(String),
    /// Not F, M or X.
    #[error("sex: {0:?} is not one of F, M, X")]
    Sex(String),
    /// A validity period that ends before it starts.
    #[error("valid_until: {until} is before valid_from {from}")]
    ValidityReversed {
        /// Start.
        from: chrono::NaiveDate,
        /// End.
        until: chrono::NaiveDate,
    },
    /// A validity period longer than one year.
    #[error(
        "valid_until: a period starting {from} may last until {max} at the latest, not {until}"
    )]
    ValidityTooLong {
        /// Start.
        from: chrono::NaiveDate,
        /// Asked end.
        until: chrono::NaiveDate,
        /// Latest allowed end.
        max: chrono::NaiveDate,
    },
    /// Not a document type.
    #[error("document: {0:?} is not a document type (resident_card or interim)")]
    Document(String),
    /// Not a card serial.
    #[error("serial: {0}")]
    Serial(String),
    /// Not an ITN.
    #[error("itn: {0}")]
    Itn(String),
    /// Fields that contradict each other.
    #[error("{field}: {problem}")]
    Inconsistent {
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl DomainError {
    /// The field this error is about, as the CLI flags and the JSON contract name it.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Name { field, .. }
            | Self::Text { field, .. }
            | Self::Date { field, .. }
            | Self::Inconsistent { field, .. } => field,
            Self::UnknownNationality(_) | Self::OwnNationality => "nationality",
            Self::Permit(_) => "permit",
            Self::Sex(_) => "sex",
            Self::ValidityReversed { .. } | Self::ValidityTooLong { .. } => "valid_until",
            Self::Document(_) => "document",
            Self::Serial(_) => "serial",
            Self::Itn(_) => "itn",
        }
    }
}
