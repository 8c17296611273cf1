//! Every failure of the service as one JSON shape: `{"error": {"code", "message", "field"?}}`.
//!
//! Policy: 4xx errors say exactly what is wrong with the request, naming the field when there is one.
//! 5xx errors say nothing about the cause (it is logged with the request's route, never with names,
//! ITNs, passport numbers, payloads or tokens).

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rescard_core::DomainError;
use rescard_core::rules::RuleError;
use rescard_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A failed request.
#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<&'static str>,
    cause: Option<anyhow::Error>,
    retry_after: Option<u64>,
}

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The error itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code for programs, e.g. `invalid_field`, `card_not_found`, `rule_refused`.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl AppError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            cause: None,
            retry_after: None,
        }
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// 401: no token, or not a live one.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: the token's role may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 422: a field is invalid.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).with_field(field)
    }

    /// 500, with the cause kept for the log only.
    pub fn internal(cause: anyhow::Error) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "the service failed to complete the request; it has been logged".into(),
            field: None,
            cause: Some(cause),
            retry_after: None,
        }
    }

    /// 429: the client is over its allowance; it may try again in `seconds`.
    pub fn too_many(seconds: u64, what: &str) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!("too many {what} from this address; try again in {seconds} s"),
        );
        e.retry_after = Some(seconds.max(1));
        e
    }

    /// 503: the service runs as many of these requests as it allows at once; try again in
    /// `seconds`.
    pub fn busy(code: &'static str, seconds: u64, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
        e.retry_after = Some(seconds.max(1));
        e
    }

    /// The seconds to wait before trying again, for a 429 or 503.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The field at fault, if one.
    pub fn field(&self) -> Option<&'static str> {
        self.field
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(error = %cause, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

/// A field that is not a valid value of its type: 422 naming the field.
impl From<DomainError> for AppError {
    fn from(d: DomainError) -> Self {
        Self::invalid(d.field(), d.to_string())
    }
}

/// An application's move refused by its rules: 409, with a code a client can act on.
fn application(e: rescard_core::application::ApplicationError) -> AppError {
    use rescard_core::application::ApplicationError as E;
    let code = match &e {
        E::WrongStatus { .. } | E::Closed(_) => "wrong_status",
        E::Missing(_) => "documents_missing",
        E::FourEyes(_) => "four_eyes",
        E::FeeUnpaid(_) => "fee_unpaid",
    };
    AppError::new(StatusCode::CONFLICT, code, e.to_string())
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(serial) => Self::new(
                StatusCode::NOT_FOUND,
                "card_not_found",
                format!("no card with serial {serial}"),
            ),
            StoreError::Domain(d) => d.into(),
            StoreError::Rule(r) => rule(r),
            StoreError::HolderMismatch { .. } => {
                Self::new(StatusCode::CONFLICT, "holder_mismatch", e.to_string())
                    .with_field("passport_number")
            }
            StoreError::Token(m) => Self::new(StatusCode::CONFLICT, "token_refused", m),
            StoreError::LastAdmin(_) => {
                Self::new(StatusCode::CONFLICT, "last_admin_token", e.to_string())
            }
            StoreError::TokenName(m) => Self::invalid("name", m),
            StoreError::NoApplication => Self::new(
                StatusCode::NOT_FOUND,
                "application_not_found",
                e.to_string(),
            ),
            StoreError::NoDocument(_) => {
                Self::new(StatusCode::NOT_FOUND, "document_not_found", e.to_string())
            }
            StoreError::Application(a) => application(a),
            StoreError::Payment(m) => {
                Self::new(StatusCode::CONFLICT, "payment_refused", m).with_field("amount")
            }
            // The database is down or restarting: nothing was done, and the client may try again.
            StoreError::Unavailable(_) => Self::busy(
                "storage_unavailable",
                5,
                "the registry's database cannot be reached; nothing was done: try again shortly",
            ),
            // The HSM is unreachable or refused to sign: nothing was written.
            StoreError::Signing(e) => {
                tracing::error!("the issuer key could not sign: {e}");
                Self::busy(
                    "signing_unavailable",
                    5,
                    "the issuer key could not sign (its HSM did not answer); nothing was done: try again shortly",
                )
            }
            // Keys change on the command line only: no request refuses one.
            StoreError::Key(_)
            | StoreError::NoActor
            | StoreError::Location(_)
            | StoreError::Postgres(_)
            | StoreError::Corrupt(_)
            | StoreError::Exposed(_)
            | StoreError::Commit(_)
            | StoreError::Sqlite(_) => Self::internal(e.into()),
        }
    }
}

/// A signature the issuer key's device did not make: 503 `signing_unavailable`, as from an act.
impl From<rescard_core::KeyError> for AppError {
    fn from(e: rescard_core::KeyError) -> Self {
        StoreError::Signing(e).into()
    }
}

fn rule(r: RuleError) -> AppError {
    match r.field() {
        // A field that breaks a rule of its own (too long a period, an empty reason): the request is wrong.
        Some(field)
            if !matches!(
                r,
                RuleError::WrongState { .. } | RuleError::PastGrace { .. } | RuleError::Expired(_)
            ) =>
        {
            AppError::invalid(field, r.to_string())
        }
        // The card's state refuses the act: the request could be right another time.
        _ => AppError::new(StatusCode::CONFLICT, "rule_refused", r.to_string()),
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                e.body_text(),
            ),
            JsonRejection::JsonSyntaxError(e) => {
                Self::new(StatusCode::BAD_REQUEST, "malformed_json", e.body_text())
            }
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(e) => bytes(e),
            other => Self::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text()),
        }
    }
}

/// A body that could not be read: too large (413), or cut off.
pub fn bytes(e: BytesRejection) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            e.body_text(),
        )
    } else {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text())
    }
}

impl From<BytesRejection> for AppError {
    fn from(e: BytesRejection) -> Self {
        bytes(e)
    }
}

impl From<PathRejection> for AppError {
    fn from(e: PathRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_path", e.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(e: QueryRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text())
    }
}
