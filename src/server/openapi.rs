//! The OpenAPI document, generated from the handlers' annotations.
//!
//! It is checked against the running service by schemathesis in the test suite
//! (`tests/api/contract.rs`): every status an operation answers is listed, and every constraint the
//! server checks on a request is in its schema, as far as JSON Schema can say it.

pub mod fields;
pub mod responses;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses as _, Modify, OpenApi};

use super::routes::applications::{self, decisions, documents};
use super::routes::{admin, cards, keys, ops, status, verify};

/// The rescard API.
#[derive(OpenApi)]
#[openapi(
    info(title = "rescard", description = "Resident cards for foreign citizens: issue, check, and keep the registry. Every error is JSON: `{\"error\": {\"code\", \"message\", \"field\"?}}`."),
    paths(
        cards::issue, cards::get, cards::qr_png, cards::card_png, cards::extend, cards::suspend, cards::reinstate, cards::revoke, cards::replace,
        verify::verify, verify::verify_batch, keys::list, status::snapshot, status::signed_keys, admin::audit, admin::tokens, admin::create_token, admin::revoke_token,
        ops::healthz, ops::metrics, ops::openapi,
        applications::file, applications::queue, applications::get, documents::put, documents::get, documents::card_png, documents::qr_png,
        decisions::submit, decisions::withdraw, decisions::pay, decisions::review, decisions::decide,
    ),
    modifiers(&BearerAuth, &SharedResponses),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("a staff token from `rescard token create`"))
                    .build(),
            ),
        );
    }
}

/// Puts the shared error answers under `components/responses`, and the deadline's 408 on every
/// operation (the deadline covers every route).
struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for answer in responses::ALL {
            components
                .responses
                .insert(answer.name.to_owned(), answer.response().into());
        }
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .extend(responses::Timeout::responses());
                operation
                    .responses
                    .responses
                    .extend(responses::Busy::responses());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves_and_every_operation_may_time_out() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("json");
        let text = doc.to_string();
        let components = &doc["components"];
        for (prefix, section) in [
            ("#/components/responses/", "responses"),
            ("#/components/schemas/", "schemas"),
        ] {
            for piece in text.split(&format!("\"$ref\":\"{prefix}")).skip(1) {
                let name = piece.split('"').next().expect("name");
                assert!(
                    components[section].get(name).is_some(),
                    "{prefix}{name} is referenced but not defined"
                );
            }
        }
        let paths = doc["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("item") {
                assert!(
                    operation["responses"].get("408").is_some(),
                    "{method} {path} has no 408"
                );
            }
        }
    }
}
