//! The error answers operations share, declared once.
//!
//! Each [`Shared`] answer is a reusable response under `components/responses`; the sets below
//! ([`Token`], [`RoleOnly`], [`JsonBody`], [`CardPath`], [`Malformed`], [`Busy`]) put references to
//! them in an operation's `responses(...)`, beside the answers that are the operation's own:
//!
//! ```text
//! #[utoipa::path(post, path = "/api/v1/cards/{serial}/revocation", ...,
//!     responses((status = 200, body = RecordJson), RoleOnly, CardPath, JsonBody, (status = 409, ...)))]
//! ```
//!
//! [`Timeout`] and [`Busy`] are added to every operation by the document itself: the deadline covers
//! every route, any route that reads the registry or checks a token answers 503
//! `storage_unavailable` while the database cannot be reached, and any that signs answers 503
//! `signing_unavailable` while the issuer key's HSM does not sign.

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};

/// An error answer that several operations give, always as an `ErrorBody`.
pub struct Shared {
    /// The HTTP status.
    pub status: u16,
    /// Its name under `components/responses`.
    pub name: &'static str,
    /// What it means, for people and client generators.
    pub description: &'static str,
    /// Whether it carries `Retry-After`.
    pub retry_after: bool,
}

/// 400: a body that is not JSON, or a path or query parameter that cannot be read.
pub const BAD_REQUEST: Shared = Shared {
    status: 400,
    name: "BadRequest",
    description: "The body is not JSON (`malformed_json`), or a path or query parameter cannot be read (`bad_path`, `bad_query`)",
    retry_after: false,
};
/// 401: no token where one is needed, or one that is not live.
pub const UNAUTHORIZED: Shared = Shared {
    status: 401,
    name: "Unauthorized",
    description: "No token where one is needed, an `Authorization` header that is not `Bearer <token>`, or a token that is not live (mistyped, revoked, or from another registry)",
    retry_after: false,
};
/// 403: a live token whose role may not do this.
pub const FORBIDDEN: Shared = Shared {
    status: 403,
    name: "Forbidden",
    description: "The token's role may not do this",
    retry_after: false,
};
/// 404: no card with this serial.
pub const CARD_NOT_FOUND: Shared = Shared {
    status: 404,
    name: "CardNotFound",
    description: "No card with this serial (`card_not_found`); a number with a wrong check digit cannot be one",
    retry_after: false,
};
/// 404: no application with this id.
pub const APPLICATION_NOT_FOUND: Shared = Shared {
    status: 404,
    name: "ApplicationNotFound",
    description: "No application with this id (`application_not_found`), or it holds no such document (`document_not_found`)",
    retry_after: false,
};
/// 408: the deadline every request has, its body included.
pub const TIMEOUT: Shared = Shared {
    status: 408,
    name: "RequestTimeout",
    description: "The request, its body included, took longer than the service allows (`request_timeout`); send it again",
    retry_after: false,
};
/// 413: a body over the endpoint's limit.
pub const TOO_LARGE: Shared = Shared {
    status: 413,
    name: "PayloadTooLarge",
    description: "The body is larger than this endpoint takes (`body_too_large`)",
    retry_after: false,
};
/// 415: a body of a media type the endpoint does not take.
pub const UNSUPPORTED: Shared = Shared {
    status: 415,
    name: "UnsupportedMediaType",
    description: "The body is not of a media type this endpoint takes (`unsupported_media_type`)",
    retry_after: false,
};
/// 422: JSON of the wrong shape, or a field that breaks a rule.
pub const INVALID: Shared = Shared {
    status: 422,
    name: "Unprocessable",
    description: "JSON of the wrong shape (`invalid_body`), or a field that breaks a rule (`invalid_field`; `field` names it)",
    retry_after: false,
};
/// 429: over a per-client allowance.
pub const TOO_MANY: Shared = Shared {
    status: 429,
    name: "TooManyRequests",
    description: "Too many requests from this address: requests with a bad token, or (where an operation says so) verifications without a token; `Retry-After` says when to try again",
    retry_after: true,
};
/// 503: the service cannot do this now: at capacity, or its database unreachable.
pub const SERVICE_BUSY: Shared = Shared {
    status: 503,
    name: "ServiceBusy",
    description: "The service cannot do this now, and did nothing: the registry's database cannot be reached (`storage_unavailable`; any operation that reads or writes the registry, or checks a token), or it is at capacity for this work (`image_checks_busy`: as many photos are being read as the service reads at once), or the issuer key's HSM did not sign (`signing_unavailable`: anything that signs, a card, an act's new payload, the status or the trust list); `Retry-After` says when to try again",
    retry_after: true,
};

/// Every shared answer, for `components/responses`.
pub const ALL: [&Shared; 11] = [
    &BAD_REQUEST,
    &UNAUTHORIZED,
    &FORBIDDEN,
    &CARD_NOT_FOUND,
    &APPLICATION_NOT_FOUND,
    &TIMEOUT,
    &TOO_LARGE,
    &UNSUPPORTED,
    &INVALID,
    &TOO_MANY,
    &SERVICE_BUSY,
];

impl Shared {
    /// The response object itself.
    pub fn response(&self) -> Response {
        let body = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build();
        let mut response = ResponseBuilder::new()
            .description(self.description)
            .content("application/json", body);
        if self.retry_after {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1)),
                    )
                    .description(Some("Seconds to wait before trying again"))
                    .build(),
            );
        }
        response.build()
    }

    /// A reference to it, keyed by its status.
    fn entry(&self) -> (String, RefOr<Response>) {
        (
            self.status.to_string(),
            RefOr::Ref(Ref::from_response_name(self.name)),
        )
    }
}

fn set(answers: &[&Shared]) -> BTreeMap<String, RefOr<Response>> {
    answers.iter().map(|a| a.entry()).collect()
}

/// Every operation's deadline: 408.
pub struct Timeout;

impl IntoResponses for Timeout {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set(&[&TIMEOUT])
    }
}

/// An operation that reads a token when one is sent: 401 for a bad one, 429 past the allowance of bad
/// ones (and, where the operation says so, of anonymous requests).
pub struct Token;

impl IntoResponses for Token {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set(&[&UNAUTHORIZED, &TOO_MANY])
    }
}

/// An operation for some roles only: [`Token`]'s answers and 403 for the other roles.
pub struct RoleOnly;

impl IntoResponses for RoleOnly {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set(&[&UNAUTHORIZED, &FORBIDDEN, &TOO_MANY])
    }
}

/// An operation with a JSON body: 400 not JSON, 413 too large, 415 not sent as JSON, 422 wrong shape
/// or a bad field.
pub struct JsonBody;

impl IntoResponses for JsonBody {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set(&[&BAD_REQUEST, &TOO_LARGE, &UNSUPPORTED, &INVALID])
    }
}

/// An operation on the card in its path: 400 for a path that cannot be read, 404 for no such card.
pub struct CardPath;

impl IntoResponses for CardPath {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set(&[&BAD_REQUEST, &CARD_NOT_FOUND])
    }
}

/// An operation on the application in its path: 401 and 403 for a caller it is not for (its secret,
/// or staff), 404 for no such application, 429 past the bad-secret allowance.
pub struct ApplicationPath;

impl IntoResponses for ApplicationPath {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set(&[
            &BAD_REQUEST,
            &UNAUTHORIZED,
            &FORBIDDEN,
            &APPLICATION_NOT_FOUND,
            &TOO_MANY,
        ])
    }
}

/// An operation with path or query parameters that may not parse: 400.
pub struct Malformed;

impl IntoResponses for Malformed {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set(&[&BAD_REQUEST])
    }
}

/// An operation that may be at capacity: 503 with `Retry-After`.
pub struct Busy;

impl IntoResponses for Busy {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set(&[&SERVICE_BUSY])
    }
}
