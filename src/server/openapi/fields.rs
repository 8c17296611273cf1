//! Schemas of request fields whose rules are longer than a literal attribute can say: the enums come
//! from the lists the parsers accept, so the document and the server cannot drift apart.

use rescard_store::Role;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

/// The longest `reason` for an act.
pub const REASON_MAX_CHARS: usize = rescard_core::domain::text::MAX_REASON_CHARS;

/// Characters no reason may hold, as `rescard_core::domain::text::is_hidden_or_control` refuses
/// them in the Basic Multilingual Plane: C0 and C1 controls, every white space but the plain space,
/// and the format characters (bidi marks, embeddings and isolates, zero-width characters and
/// joiners, soft hyphen, invisible fillers). ECMA-262 class syntax, as the document's patterns are.
/// A test checks the class against the function for every character of the plane.
pub const NOT_IN_A_REASON: &str = r"\x00-\x1f\x7f-\xa0\xad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u115f-\u1160\u1680\u17b4-\u17b5\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u3000\u3164\ufeff\uffa0\ufff9-\ufffb";

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

#[cfg(test)]
mod tests {
    use super::NOT_IN_A_REASON;

    /// The class's ranges, read back from its text.
    fn ranges() -> Vec<(u32, u32)> {
        let mut points = Vec::new();
        let mut rest = NOT_IN_A_REASON;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('-') {
                rest = r;
                points.push(None);
                continue;
            }
            let (digits, tail) = if let Some(r) = rest.strip_prefix("\\x") {
                r.split_at(2)
            } else if let Some(r) = rest.strip_prefix("\\u") {
                r.split_at(4)
            } else {
                panic!("unexpected {rest}")
            };
            points.push(Some(u32::from_str_radix(digits, 16).expect("hex")));
            rest = tail;
        }
        let mut out = Vec::new();
        let mut i = 0;
        while i < points.len() {
            let start = points[i].expect("a start");
            if points.get(i + 1) == Some(&None) {
                out.push((start, points[i + 2].expect("an end")));
                i += 3;
            } else {
                out.push((start, start));
                i += 1;
            }
        }
        out
    }

    #[test]
    fn the_documented_reason_characters_are_exactly_what_the_server_refuses() {
        let ranges = ranges();
        for code in 0..=0xFFFFu32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let documented = ranges.iter().any(|&(a, b)| (a..=b).contains(&code));
            assert_eq!(
                documented,
                rescard_core::domain::text::is_hidden_or_control(c),
                "U+{code:04X}"
            );
        }
    }
}
