//! Issuing cards and the registry acts: `issuer` or `admin` only.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use rescard_core::domain::date::parse_date;
use rescard_core::{Reason, Serial};
use rescard_store::{CardRecord, Registry, StoreError, TokenHolder};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::issuance::CardRequest;
use crate::server::auth::Staff;
use crate::server::error::ErrorBody;
use crate::server::json::{ApiBytes, ApiJson, ApiPath, parse_json};
use crate::server::openapi::fields;
use crate::server::openapi::responses::{CardPath, JsonBody, RoleOnly};
use crate::server::{AppError, AppState};
use crate::views::{IssuedJson, RecordJson};

/// The card number in a path, checked (9 digits, check digit) before anything else happens.
pub fn serial(text: &str) -> Result<Serial, AppError> {
    text.parse::<Serial>().map_err(|e| {
        AppError::new(
            StatusCode::NOT_FOUND,
            "card_not_found",
            format!("{e}: no card can have this number"),
        )
        .with_field("serial")
    })
}

/// `POST /api/v1/cards`: issue a card.
#[utoipa::path(post, path = "/api/v1/cards", tag = "cards", request_body = CardRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Issued", body = IssuedJson),
        RoleOnly, JsonBody,
        (status = 409, description = "The passport is registered with another date of birth (`holder_mismatch`), or the registry refuses the card (`rule_refused`)", body = ErrorBody),
    ))]
pub async fn issue(
    State(state): State<AppState>,
    Staff(staff): Staff,
    ApiJson(app): ApiJson<CardRequest>,
) -> Result<impl IntoResponse, AppError> {
    let actor = staff.name;
    let new = app
        .validate_off_runtime(None)
        .await
        .map_err(|e| AppError::internal(e.into()))?
        .map_err(|e| AppError::invalid(e.field(), e.to_string()))?;
    let now = state.now();
    let keys = state.keyring();
    let issued = state
        .db()
        .write(move |r| r.issue(&new, keys.signer(now), &actor, now))
        .await?;
    Ok((StatusCode::CREATED, Json(IssuedJson::from(&issued))))
}

/// `GET /api/v1/cards/{serial}`: the registry record and history.
#[utoipa::path(get, path = "/api/v1/cards/{serial}", tag = "cards", params(SerialPath), security(("bearer" = [])),
    responses((status = 200, description = "The record", body = RecordJson), RoleOnly, CardPath))]
pub async fn get(
    State(state): State<AppState>,
    _: Staff,
    ApiPath(serial_text): ApiPath<String>,
) -> Result<Json<RecordJson>, AppError> {
    let serial = serial(&serial_text)?;
    let record = state.db().read(move |r| r.card(serial)).await?;
    Ok(Json(RecordJson::from(&record)))
}

/// `GET /api/v1/cards/{serial}/qr.png`: the card's QR code, for print.
#[utoipa::path(get, path = "/api/v1/cards/{serial}/qr.png", tag = "cards", params(SerialPath), security(("bearer" = [])),
    responses((status = 200, description = "PNG, 6 px a module, 300 dpi", body = fields::Image, content_type = "image/png"), RoleOnly, CardPath))]
pub async fn qr_png(
    State(state): State<AppState>,
    _: Staff,
    ApiPath(serial_text): ApiPath<String>,
) -> Result<impl IntoResponse, AppError> {
    card_image(&state, &serial_text, crate::views::qr_png).await
}

/// An image of the card in the path, rendered off the async runtime.
async fn card_image(
    state: &AppState,
    serial_text: &str,
    render: fn(&CardRecord) -> Result<Vec<u8>, rescard_qr::RenderError>,
) -> Result<impl IntoResponse + use<>, AppError> {
    let serial = serial(serial_text)?;
    let record = state.db().read(move |r| r.card(serial)).await?;
    let png = tokio::task::spawn_blocking(move || render(&record))
        .await
        .map_err(|e| AppError::internal(e.into()))?
        .map_err(|e| AppError::internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        png,
    ))
}

/// Runs a registry act on the card in the path as the caller (issuer or admin), and returns the record.
async fn act<F>(
    state: &AppState,
    staff: TokenHolder,
    serial_text: &str,
    f: F,
) -> Result<Json<RecordJson>, AppError>
where
    F: FnOnce(&mut Registry, Serial, &str, DateTime<Utc>) -> Result<CardRecord, StoreError>
        + Send
        + 'static,
{
    let actor = staff.name;
    let serial = serial(serial_text)?;
    let now = state.now();
    let record = state.db().write(move |r| f(r, serial, &actor, now)).await?;
    Ok(Json(RecordJson::from(&record)))
}

/// `GET /api/v1/cards/{serial}/card.png`: the printable card, ID-1 at 300 dpi.
#[utoipa::path(get, path = "/api/v1/cards/{serial}/card.png", tag = "cards", params(SerialPath), security(("bearer" = [])),
    responses((status = 200, description = "PNG, 1011 x 638 pixels: 85.60 x 53.98 mm at 300 dpi", body = fields::Image, content_type = "image/png"), RoleOnly, CardPath))]
pub async fn card_png(
    State(state): State<AppState>,
    _: Staff,
    ApiPath(serial_text): ApiPath<String>,
) -> Result<impl IntoResponse, AppError> {
    card_image(&state, &serial_text, crate::views::card_png).await
}

/// The card number in a path, as the document describes it; the handlers read it as text and check
/// it with [`serial`], so that a number no card can have is a 404 like an unknown one.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SerialPath {
    /// Card number: 9 digits, the last a check digit.
    #[param(pattern = "^[0-9]{9}$")]
    pub serial: String,
}

/// An extension.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRequest {
    /// The new last day of validity, `YYYY-MM-DD`: later than the current one, and at most one
    /// year after it.
    #[schema(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub valid_until: String,
    /// Why: one line, at most 500 characters, no control, invisible or direction-changing characters.
    #[schema(schema_with = fields::reason)]
    pub reason: String,
}

/// A reason for an act.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why (required): one line, at most 500 characters, no control, invisible or direction-changing
    /// characters.
    #[schema(schema_with = fields::reason)]
    pub reason: String,
}

/// `POST /api/v1/cards/{serial}/extensions`.
#[utoipa::path(post, path = "/api/v1/cards/{serial}/extensions", tag = "cards", request_body = ExtensionRequest,
    params(SerialPath), security(("bearer" = [])),
    responses((status = 200, description = "Extended", body = RecordJson), RoleOnly, CardPath, JsonBody,
        (status = 409, description = "Revoked, replaced, or expired past the grace period (`rule_refused`)", body = ErrorBody)))]
pub async fn extend(
    State(state): State<AppState>,
    Staff(staff): Staff,
    ApiPath(serial_text): ApiPath<String>,
    ApiJson(body): ApiJson<ExtensionRequest>,
) -> Result<Json<RecordJson>, AppError> {
    let until: NaiveDate = parse_date("valid_until", body.valid_until.trim())
        .map_err(|e| AppError::invalid("valid_until", e.to_string()))?;
    let reason = Reason::parse(&body.reason)?;
    act(&state, staff, &serial_text, move |r, serial, actor, now| {
        r.extend(serial, until, &reason, actor, now)
    })
    .await
}

/// `POST /api/v1/cards/{serial}/suspension`.
#[utoipa::path(post, path = "/api/v1/cards/{serial}/suspension", tag = "cards", request_body = ReasonRequest,
    params(SerialPath), security(("bearer" = [])),
    responses((status = 200, description = "Suspended", body = RecordJson), RoleOnly, CardPath, JsonBody,
        (status = 409, description = "Not active (`rule_refused`)", body = ErrorBody)))]
pub async fn suspend(
    State(state): State<AppState>,
    Staff(staff): Staff,
    ApiPath(serial_text): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonRequest>,
) -> Result<Json<RecordJson>, AppError> {
    let reason = Reason::parse(&body.reason)?;
    act(&state, staff, &serial_text, move |r, serial, actor, now| {
        r.suspend(serial, &reason, actor, now)
    })
    .await
}

/// `DELETE /api/v1/cards/{serial}/suspension`: reinstate. An optional JSON body `{"reason"}`.
#[utoipa::path(delete, path = "/api/v1/cards/{serial}/suspension", tag = "cards",
    request_body(content = Option<ReasonRequest>, description = "Optional: why the suspension ends (no body, or `null`, for none)", content_type = "application/json"),
    params(SerialPath), security(("bearer" = [])),
    responses((status = 200, description = "Reinstated", body = RecordJson), RoleOnly, CardPath, JsonBody,
        (status = 409, description = "Not suspended (`rule_refused`)", body = ErrorBody)))]
pub async fn reinstate(
    State(state): State<AppState>,
    Staff(staff): Staff,
    ApiPath(serial_text): ApiPath<String>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Json<RecordJson>, AppError> {
    // No body, a blank one or `null` is no reason; a body that is there is JSON like any other.
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        parse_json::<Option<ReasonRequest>>(&headers, &body)?
            .map(|r| Reason::parse(&r.reason))
            .transpose()?
    };
    act(&state, staff, &serial_text, move |r, serial, actor, now| {
        r.reinstate(serial, reason.as_ref(), actor, now)
    })
    .await
}

/// `POST /api/v1/cards/{serial}/revocation`.
#[utoipa::path(post, path = "/api/v1/cards/{serial}/revocation", tag = "cards", request_body = ReasonRequest,
    params(SerialPath), security(("bearer" = [])),
    responses((status = 200, description = "Revoked", body = RecordJson), RoleOnly, CardPath, JsonBody,
        (status = 409, description = "Already revoked or replaced (`rule_refused`)", body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Staff(staff): Staff,
    ApiPath(serial_text): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonRequest>,
) -> Result<Json<RecordJson>, AppError> {
    let reason = Reason::parse(&body.reason)?;
    act(&state, staff, &serial_text, move |r, serial, actor, now| {
        r.revoke(serial, &reason, actor, now)
    })
    .await
}

/// `POST /api/v1/cards/{serial}/replacement`: re-issue under a new serial.
#[utoipa::path(post, path = "/api/v1/cards/{serial}/replacement", tag = "cards", request_body = ReasonRequest,
    params(SerialPath), security(("bearer" = [])),
    responses((status = 201, description = "The new card", body = IssuedJson), RoleOnly, CardPath, JsonBody,
        (status = 409, description = "Revoked, already replaced, or expired (`rule_refused`)", body = ErrorBody)))]
pub async fn replace(
    State(state): State<AppState>,
    Staff(staff): Staff,
    ApiPath(serial_text): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonRequest>,
) -> Result<impl IntoResponse, AppError> {
    let actor = staff.name;
    let serial = serial(&serial_text)?;
    let reason = Reason::parse(&body.reason)?;
    let now = state.now();
    let keys = state.keyring();
    let issued = state
        .db()
        .write(move |r| r.replace(serial, &reason, keys.signer(now), &actor, now))
        .await?;
    Ok((StatusCode::CREATED, Json(IssuedJson::from(&issued))))
}
