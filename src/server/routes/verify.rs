//! `POST /api/v1/verify`: one card, from its payload text or a photo of its QR code.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rescard_core::report::VerificationJson;
use rescard_core::verify::BATCH_LIMIT;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rescard_core::{Serial, StatusReport, StatusSource, Verification};
use rescard_store::{CardRecord, HistoryEntry, Registry, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::server::auth::{Caller, Disclosure};
use crate::server::error::ErrorBody;
use crate::server::image_check;
use crate::server::json::{ApiBytes, content_type, parse_json};
use crate::server::limits::ClientIp;
use crate::server::openapi::fields::Image;
use crate::server::openapi::responses::{JsonBody, Token};
use crate::server::{AppError, AppState};

/// A payload to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The QR text, `RC1:…`.
    pub payload: String,
}

/// The result of a check. Every caller gets the verification (without `state_reason`, the officer's
/// reason for a suspension, revocation or replacement); a token adds, by role: `employer`
/// `allowed_to_work`; `bank` also `passport_number`; `police` (and issuing staff) also
/// `state_reason`, `portrait` (base64) and `history`. A field the caller's role may not see is
/// absent, not null.
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
///
/// Anyone may check a card; a token adds registry data by role. Checks without a token are rate
/// limited per address (429 with `Retry-After`), and so are image checks while too many images are
/// being read at once (503 `image_checks_busy`, with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/verify", tag = "verify",
    request_body(description = "JSON `{\"payload\": \"RC1:…\"}`, or a PNG or JPEG image of the QR code", content(
        (VerifyRequest = "application/json"), (Image = "image/png"), (Image = "image/jpeg"))),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The verdict (a forged or revoked card is a verdict, not an error)", body = VerifyResponse),
        Token, JsonBody,
        (status = 413, description = "The body is larger than this endpoint takes (`body_too_large`), or the image has more pixels than the caller may send (`image_too_large`: 48 megapixels with a token, 24 without, by default)", body = ErrorBody),
        (status = 415, description = "Neither JSON nor a PNG or JPEG (`unsupported_media_type`), or an image that is not what its type says (`unsupported_image`)", body = ErrorBody),
        (status = 422, description = "JSON of the wrong shape (`invalid_body`), or an image with no readable QR code (`corrupt_image`, `no_qr_code`, `unreadable_qr_code`)", body = ErrorBody),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Json<VerifyResponse>, AppError> {
    if caller.0.is_none() {
        state
            .anonymous_verify_limit()
            .take(ip)
            .map_err(|wait| AppError::too_many(wait, "verifications without a token"))?;
    }
    let payload = match content_type(&headers).as_str() {
        "application/json" => parse_json::<VerifyRequest>(&headers, &body)?
            .payload
            .trim()
            .to_owned(),
        "image/png" | "image/jpeg" => {
            image_check::read_payload(&state, caller.0.is_none(), body).await?
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
    let verification = state.check(&payload, now)?;
    // For a bank or the police, the card's record: a few lookups by key, short enough to run here.
    let record = match verification.card.as_ref() {
        Some(card) if disclosure >= Disclosure::Bank => {
            let serial = card.serial();
            state
                .db()
                .read_short(move |r| match r.card(serial) {
                    Ok(record) => Ok(Some(record)),
                    Err(StoreError::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                })
                .await?
        }
        _ => None,
    };
    state.metrics().verdict(verification.verdict);
    let passport = record
        .as_ref()
        .and_then(|r| r.passport_number.as_ref().map(ToString::to_string));
    Ok(Json(VerifyResponse::new(
        &verification,
        disclosure,
        passport,
        Some(record.as_ref()),
    )))
}

impl VerifyResponse {
    /// What `disclosure` may see of `verification`: `passport` (the holder's, from the registry) for a
    /// bank and above; the portrait and history of `record` for the police and staff, present only
    /// when the record was looked up (`Some`, holding `None` when the registry has no such card).
    fn new(
        verification: &Verification,
        disclosure: Disclosure,
        passport: Option<String>,
        record: Option<Option<&CardRecord>>,
    ) -> Self {
        let at_least = |level: Disclosure| disclosure >= level;
        let police = record.filter(|_| at_least(Disclosure::Police));
        // The officer's reason is for the police and staff; the others get the verdict alone.
        let result = VerificationJson::from(verification);
        Self {
            result: if at_least(Disclosure::Police) {
                result
            } else {
                result.without_state_reason()
            },
            allowed_to_work: at_least(Disclosure::Employer)
                .then(|| verification.card.as_ref().map(|c| c.permit().allows_work())),
            passport_number: at_least(Disclosure::Bank).then_some(passport),
            portrait: police
                .map(|r| r.and_then(|r| r.portrait.as_ref().map(|p| STANDARD.encode(p.bytes())))),
            history: police.map(|r| r.map(|r| r.history.clone())),
        }
    }
}

/// Payloads to check together.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Up to 10,000 QR texts, `RC1:…`.
    #[schema(max_items = 10000)]
    pub payloads: Vec<String>,
}

/// One card's result in a batch: what `POST /api/v1/verify` answers for it (without the portrait
/// and history, which only the single check gives), and its position in the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItem {
    /// The payload's position in the request, from 0.
    pub index: usize,
    /// The result.
    #[serde(flatten)]
    pub result: VerifyResponse,
}

/// The results of a batch, in the order of the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// How many payloads were checked.
    pub count: usize,
    /// How many cards got each verdict (a verdict no card got is absent).
    pub summary: std::collections::BTreeMap<&'static str, usize>,
    /// One result a payload.
    pub results: Vec<BatchItem>,
}

/// The largest batch body: [`BATCH_LIMIT`] payloads of the longest length, with room for the JSON.
pub const BATCH_BODY_LIMIT: usize =
    BATCH_LIMIT * (rescard_core::codec::MAX_PAYLOAD_CHARS + 8) + 1024;

/// `POST /api/v1/verify/batch`.
#[utoipa::path(post, path = "/api/v1/verify/batch", tag = "verify",
    request_body(description = "JSON `{\"payloads\": [\"RC1:…\", …]}`, at most 10,000", content(
        (BatchRequest = "application/json"))),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One verdict a payload, in order, and a count of each verdict", body = BatchResponse),
        Token, JsonBody,
        (status = 401, description = "No token (a batch needs one, of any role), or a token that is not valid", body = ErrorBody),
        (status = 413, description = "More than 10,000 payloads (`batch_too_large`), or a larger body (`body_too_large`)", body = ErrorBody),
    ))]
pub async fn verify_batch(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Json<BatchResponse>, AppError> {
    if caller.0.is_none() {
        return Err(AppError::unauthorized(
            "batch checks need a token (any role): Authorization: Bearer <token>",
        ));
    }
    if content_type(&headers) != "application/json" {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json {\"payloads\": [\"RC1:…\", …]}",
        ));
    }
    let request: BatchRequest = parse_json(&headers, &body)?;
    drop(body);
    if request.payloads.len() > BATCH_LIMIT {
        return Err(AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "{} payloads; a batch holds at most {BATCH_LIMIT}: split it",
                request.payloads.len()
            ),
        ));
    }
    let disclosure = caller.disclosure();
    let now = state.now();
    let keys = state.keyring();
    let cache = state.clone();
    let payloads = request.payloads;
    let (verifications, passports) = if disclosure >= Disclosure::Bank {
        // A bank sees each holder's passport number: one registry lookup a card, all of them in one
        // read transaction, the status read with it.
        state
            .db()
            .read(move |registry| {
                let refs: Vec<&str> = payloads.iter().map(|p| p.trim()).collect();
                let signatures = Some(cache.signatures());
                registry.consistent(|r| {
                    let source = WithPassports {
                        registry: r,
                        passports: Default::default(),
                    };
                    let v =
                        rescard_core::verify_batch(&refs, &keys.cards, &source, now, signatures)?;
                    Ok((v, source.passports.into_inner()))
                })
            })
            .await?
    } else {
        // Below a bank a batch needs nothing from the registry: the statuses come from memory, as
        // a single check's do. The signatures are still checked off the async runtime.
        let checked = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = payloads.iter().map(|p| p.trim()).collect();
            let Ok(v) = rescard_core::verify_batch(
                &refs,
                &keys.cards,
                cache.db().mirror(),
                now,
                Some(cache.signatures()),
            );
            v
        })
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("batch check failed: {e}")))?;
        (checked, HashMap::new())
    };
    let mut summary = std::collections::BTreeMap::new();
    let results = verifications
        .iter()
        .enumerate()
        .map(|(index, v)| {
            state.metrics().verdict(v.verdict);
            *summary.entry(v.verdict.as_str()).or_insert(0) += 1;
            let passport = v
                .card
                .as_ref()
                .and_then(|c| passports.get(&c.serial()).cloned().flatten());
            BatchItem {
                index,
                result: VerifyResponse::new(v, disclosure, passport, None),
            }
        })
        .collect();
    Ok(Json(BatchResponse {
        count: verifications.len(),
        summary,
        results,
    }))
}

/// The registry as a status source that also keeps each card's passport number (one lookup a card).
struct WithPassports<'a> {
    registry: &'a Registry,
    passports: std::cell::RefCell<HashMap<Serial, Option<String>>>,
}

impl StatusSource for WithPassports<'_> {
    type Error = StoreError;

    fn status(&self, serial: Serial, now: DateTime<Utc>) -> Result<StatusReport, StoreError> {
        let (report, passport) = self.registry.status_and_passport(serial, now)?;
        self.passports.borrow_mut().insert(serial, passport);
        Ok(report)
    }
}
