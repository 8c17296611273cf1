//! `POST /api/v1/verify`: one card, from its payload text or a photo of its QR code.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rescard_core::report::VerificationJson;
use rescard_core::{PREFIX, verify_cached};
use rescard_qr::DecodeError;
use rescard_store::{HistoryEntry, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::server::auth::{Caller, Disclosure};
use crate::server::error::ErrorBody;
use crate::server::limits::ClientIp;
use crate::server::{AppError, AppState};

/// A payload to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The QR text, `RC1:…`.
    pub payload: String,
}

/// The result of a check. Every caller gets the verification; a token adds, by role: `employer`
/// `allowed_to_work`; `bank` also `passport_number`; `police` (and issuing staff) also `portrait`
/// (base64) and `history`. A field the caller's role may not see is absent, not null.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    /// The verification.
    #[serde(flatten)]
    pub result: VerificationJson,
    /// Whether the permit allows work (employer, bank, police, staff).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<bool>)]
    pub allowed_to_work: Option<Option<bool>>,
    /// The passport number from the registry (bank, police, staff).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub passport_number: Option<Option<String>>,
    /// The registry portrait, base64 (police, staff): compare it with the photo on the card.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub portrait: Option<Option<String>>,
    /// Every act on the card (police, staff).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub history: Option<Option<Vec<HistoryEntry>>>,
}

/// The largest image body accepted.
pub const IMAGE_LIMIT: usize = rescard_qr::MAX_IMAGE_BYTES;

/// `POST /api/v1/verify`.
#[utoipa::path(post, path = "/api/v1/verify", tag = "verify",
    request_body(description = "JSON `{\"payload\": \"RC1:…\"}`, or a PNG or JPEG image of the QR code", content(
        (VerifyRequest = "application/json"), (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"))),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The verdict (a forged or revoked card is a verdict, not an error)", body = VerifyResponse),
        (status = 401, description = "A token was sent and is not valid", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "No readable QR code in the image, or a bad JSON body", body = ErrorBody),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<VerifyResponse>, AppError> {
    if caller.0.is_none() {
        state
            .anonymous_verify_limit()
            .take(ip)
            .map_err(|wait| AppError::too_many(wait, "verifications without a token"))?;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let payload = match content_type.as_str() {
        "application/json" => {
            let request: VerifyRequest = serde_json::from_slice(&body).map_err(|e| {
                if e.is_syntax() || e.is_eof() {
                    AppError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string())
                } else {
                    AppError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_body",
                        e.to_string(),
                    )
                }
            })?;
            request.payload.trim().to_owned()
        }
        "image/png" | "image/jpeg" => {
            tokio::task::spawn_blocking(move || rescard_qr::decode_payload(&body, PREFIX))
                .await
                .map_err(|e| AppError::internal(e.into()))?
                .map_err(image_error)?
        }
        _ => {
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/json {\"payload\": \"RC1:…\"}, or an image/png or image/jpeg photo of the QR code",
            ));
        }
    };
    let disclosure = caller.disclosure();
    let now = state.now();
    let keys = state.keyring();
    let cache = state.clone();
    let (verification, record) = state
        .db()
        .read(move |r| {
            let v = verify_cached(&payload, &keys.trust, r, now, cache.signatures())?;
            let record = match v.card.as_ref() {
                Some(card) if disclosure >= Disclosure::Bank => match r.card(card.serial()) {
                    Ok(record) => Some(record),
                    Err(StoreError::NotFound(_)) => None,
                    Err(e) => return Err(e),
                },
                _ => None,
            };
            Ok((v, record))
        })
        .await?;
    state.metrics().verdict(verification.verdict);
    let card = verification.card.as_ref();
    let at_least = |level: Disclosure| disclosure >= level;
    Ok(Json(VerifyResponse {
        result: VerificationJson::from(&verification),
        allowed_to_work: at_least(Disclosure::Employer)
            .then(|| card.map(|c| c.permit().allows_work())),
        passport_number: at_least(Disclosure::Bank)
            .then(|| record.as_ref().and_then(|r| r.passport_number.clone())),
        portrait: at_least(Disclosure::Police).then(|| {
            record
                .as_ref()
                .and_then(|r| r.portrait.as_ref().map(|p| STANDARD.encode(p)))
        }),
        history: at_least(Disclosure::Police).then(|| record.as_ref().map(|r| r.history.clone())),
    }))
}

fn image_error(e: DecodeError) -> AppError {
    let (status, code) = match e {
        DecodeError::TooLarge(_) | DecodeError::TooManyPixels { .. } => {
            (StatusCode::PAYLOAD_TOO_LARGE, "image_too_large")
        }
        DecodeError::UnsupportedFormat => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_image"),
        DecodeError::Corrupt(_) => (StatusCode::UNPROCESSABLE_ENTITY, "corrupt_image"),
        DecodeError::NoCode => (StatusCode::UNPROCESSABLE_ENTITY, "no_qr_code"),
        DecodeError::Unreadable => (StatusCode::UNPROCESSABLE_ENTITY, "unreadable_qr_code"),
    };
    AppError::new(status, code, e.to_string())
}
