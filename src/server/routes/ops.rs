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
    /// `ok` when the registry answers.
    pub status: &'static str,
}

/// `GET /healthz`.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 500, description = "The registry does not answer", body = ErrorBody)))]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    state.db().read(|r| r.has_tokens()).await?;
    Ok(Json(Health { status: "ok" }))
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
