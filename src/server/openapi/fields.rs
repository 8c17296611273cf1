//! Schemas of request fields whose rules are longer than a literal attribute can say: the enums come
//! from the lists the parsers accept, so the document and the server cannot drift apart.

use rescard_store::Role;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

/// The longest `reason` for an act.
pub const REASON_MAX_CHARS: usize = 500;

/// Characters no reason may hold: C0 and C1 controls, the zero-width and joiner characters, and
/// the bidirectional marks, embeddings and isolates, which make a text read differently from how it
/// is stored. ECMA-262 class syntax, as the document's patterns are.
const NOT_IN_A_REASON: &str =
    r"\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff";

/// A token's role: `admin`, `issuer`, `police`, `bank` or `employer`.
pub fn role() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Role::ALL.map(Role::as_str)))
        .description(Some(
            "Its role: `admin` and `issuer` act on cards (`admin` also on tokens and the audit log); `police`, `bank` and `employer` see more of a verification",
        ))
        .build()
}

/// Why an act is done: required, not blank, at most [`REASON_MAX_CHARS`] characters, without
/// control, zero-width or direction-changing characters.
pub fn reason() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(REASON_MAX_CHARS))
        .pattern(Some(format!(
            "^[^{NOT_IN_A_REASON}]*[^{NOT_IN_A_REASON}\\s][^{NOT_IN_A_REASON}]*$"
        )))
        .description(Some(
            "Why: required and not blank, at most 500 characters, with no control, zero-width or direction-changing characters",
        ))
        .build()
}

/// The raw bytes of a PNG or JPEG photo, as a request body.
pub struct Image;

impl PartialSchema for Image {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("The image's bytes"))
            .build()
            .into()
    }
}

impl ToSchema for Image {}
