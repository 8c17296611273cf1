//! The OpenAPI document, generated from the handlers' annotations.

pub mod fields;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::routes::{admin, cards, keys, ops, status, verify};

/// The rescard API.
#[derive(OpenApi)]
#[openapi(
    info(title = "rescard", description = "Resident cards for foreign citizens: issue, check, and keep the registry."),
    paths(
        cards::issue, cards::get, cards::qr_png, cards::card_png, cards::extend, cards::suspend, cards::reinstate, cards::revoke, cards::replace,
        verify::verify, verify::verify_batch, keys::list, status::snapshot, status::signed_keys, admin::audit, admin::tokens, admin::create_token, admin::revoke_token,
        ops::healthz, ops::metrics,
    ),
    modifiers(&BearerAuth),
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
