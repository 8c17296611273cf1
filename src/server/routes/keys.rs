//! `GET /api/v1/keys`: the trust list, for checkers to copy.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use rescard_core::TrustedKey;

use crate::server::AppState;

/// `GET /api/v1/keys`.
#[utoipa::path(get, path = "/api/v1/keys", tag = "keys",
    responses((status = 200, description = "Every issuer key with its status and validity window", body = Vec<TrustedKey>)))]
pub async fn list(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.keyring().trust.keys().to_vec()),
    )
}
