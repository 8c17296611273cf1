//! Health, metrics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::{OpenApi as _, ToSchema};

use crate::server::error::ErrorBody;
use crate::server::openapi::ApiDoc;
use crate::server::openapi::responses::RoleOnly;
use crate::server::{AppError, AppState};

/// The service's health.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`: the registry answered.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub registry: &'static str,
    /// The registry's status sequence number now.
    pub status_sequence: u64,
    /// The sequence this replica's checks are up to date with (the registry's, or a moment behind
    /// when another replica just acted).
    pub checks_sequence: u64,
    /// The registry's trust list version now (moved on by every key made, rotated or retired).
    pub keys_version: u64,
    /// The trust list version this replica signs and checks with: the registry's, a moment behind
    /// after a change, or older while the keys a new list names cannot be loaded (see the log).
    pub keys_in_use: u64,
    /// Mail waiting in the outbox (all of it when the service runs without `--smtp`).
    pub outbox_pending: u64,
    /// When the oldest waiting message was written.
    pub outbox_oldest: Option<chrono::DateTime<chrono::Utc>>,
}

/// `GET /healthz`: 200 when the registry answers; 503 `storage_unavailable` when its database
/// cannot be reached (checks from payloads still answer then, from memory).
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 500, description = "The registry answers, but with an error", body = ErrorBody)))]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    let (status_sequence, keys_version, (outbox_pending, outbox_oldest)) = state
        .db()
        .read(|r| {
            Ok((
                r.status_sequence()?,
                r.trust_version()?,
                r.outbox_pending()?,
            ))
        })
        .await?;
    Ok(Json(Health {
        status: "ok",
        registry: if state.db().location().is_postgres() {
            "postgres"
        } else {
            "sqlite"
        },
        status_sequence,
        checks_sequence: state.db().mirror().sequence(),
        keys_version,
        keys_in_use: state.keyring().version,
        outbox_pending,
        outbox_oldest,
    }))
}

/// `GET /metrics`: Prometheus text format. On the service's address it needs an `admin` token (the
/// counts of tokens and cards are not for strangers); `serve --metrics-listen ADDR` also serves it
/// without a token on an address of its own, for a scraper on a private network.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("bearer" = [])),
    responses((status = 200, description = "Requests and latency by route and status, verdicts, cards by state", body = String, content_type = "text/plain"), RoleOnly))]
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let cards = state.db().read(|r| r.count_by_state()).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics().render(&cards),
    ))
}

/// `GET /api/v1/openapi.json`: this API, generated from the code.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "This document (OpenAPI 3.1)", body = Object)))]
pub async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

/// Any path the service does not have.
pub async fn not_found() -> AppError {
    AppError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /api/v1/openapi.json",
    )
}

/// A known path with a method it does not take.
pub async fn method_not_allowed() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see /api/v1/openapi.json",
    )
}
