//! OpenAPI schemas for the domain's closed sets of names (feature `openapi`).
//!
//! The service's document takes each enum from the list its parser accepts, so the two cannot drift
//! apart. Use them as `#[schema(schema_with = rescard_core::openapi::permit)]`.

use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

use crate::{CardState, DocumentType, Permit, Sex, StatusOrigin, Verdict};

/// A string that is one of `names`.
fn one_of(names: impl IntoIterator<Item = &'static str>, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .description(Some(description))
}

/// Like [`one_of`], or `null`.
fn one_of_or_null(names: impl IntoIterator<Item = &'static str>, description: &str) -> Object {
    let values = names
        .into_iter()
        .map(serde_json::Value::from)
        .chain([serde_json::Value::Null]);
    ObjectBuilder::new()
        .schema_type(
            [Type::String, Type::Null]
                .into_iter()
                .collect::<SchemaType>(),
        )
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

/// The purpose of stay: `work`, `study`, `family`, `business` or `other`.
pub fn permit() -> Object {
    one_of(Permit::ALL.map(Permit::as_str), "Purpose of stay.").build()
}

/// The purpose of stay, or `null` when nothing could be trusted.
pub fn optional_permit() -> Object {
    one_of_or_null(
        Permit::ALL.map(Permit::as_str),
        "Purpose of stay (null when the card could not be read).",
    )
}

/// The document type: `resident_card` or `interim`.
pub fn document() -> Object {
    one_of(
        DocumentType::ALL.map(DocumentType::as_str),
        "The document type: `resident_card`, or `interim` for the interim permit (at most two months).",
    )
    .build()
}

/// The document type, or `null` when nothing could be trusted.
pub fn optional_document() -> Object {
    one_of_or_null(
        DocumentType::ALL.map(DocumentType::as_str),
        "The document type: `resident_card` or `interim` (null when the card could not be read).",
    )
}

/// `F`, `M` or `X` (ICAO 9303), or `null` when not given.
pub fn optional_sex() -> Object {
    one_of_or_null(
        Sex::ALL.map(Sex::as_str),
        "Sex as in the passport: `F`, `M` or `X` (unspecified); absent or null when not given.",
    )
}

/// The verdict of a check.
pub fn verdict() -> Object {
    one_of(
        Verdict::ALL.map(Verdict::as_str),
        "The verdict: `valid`, or why the card is not.",
    )
    .build()
}

/// Where a check's status came from.
pub fn status_origin() -> Object {
    one_of(
        StatusOrigin::ALL.map(StatusOrigin::as_str),
        "Where the status came from: the live `registry`, a signed `snapshot`, or only the `card`'s printed dates.",
    )
    .build()
}

/// A card's state in the registry.
pub fn card_state() -> Object {
    one_of(
        CardState::ALL.map(CardState::as_str),
        "The card's state in the registry.",
    )
    .build()
}
