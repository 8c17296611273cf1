//! The rescard HTTP service: the JSON API of `docs`' contract on axum, over the SQLite registry.
//!
//! [`router`] builds the whole service; `main` and the tests use the same one.

pub mod auth;
mod console;
mod db;
mod error;
pub mod image_check;
mod json;
pub mod limits;
mod metrics;
pub mod openapi;
pub mod pages;
pub mod routes;
mod state;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use tokio::net::TcpListener;

pub use db::Db;
pub use error::{AppError, ErrorBody};
pub use limits::ServiceConfig;
pub use state::{AppState, Clock};

/// The largest JSON body accepted, except for issuance (which may carry a portrait).
pub const JSON_LIMIT: usize = 64 * 1024;
/// The largest issuance body: a 1 MiB portrait in base64, and the fields.
pub const ISSUE_LIMIT: usize = 1536 * 1024;

/// The service.
pub fn router(state: AppState) -> Router {
    use routes::{admin, cards, keys, ops, status, verify};
    Router::new()
        .route(
            "/api/v1/cards",
            post(cards::issue).layer(DefaultBodyLimit::max(ISSUE_LIMIT)),
        )
        .route("/api/v1/cards/{serial}", get(cards::get))
        .route("/api/v1/cards/{serial}/qr.png", get(cards::qr_png))
        .route("/api/v1/cards/{serial}/card.png", get(cards::card_png))
        .route("/api/v1/cards/{serial}/extensions", post(cards::extend))
        .route(
            "/api/v1/cards/{serial}/suspension",
            post(cards::suspend).delete(cards::reinstate),
        )
        .route("/api/v1/cards/{serial}/revocation", post(cards::revoke))
        .route("/api/v1/cards/{serial}/replacement", post(cards::replace))
        .route(
            "/api/v1/verify",
            post(verify::verify).layer(DefaultBodyLimit::max(verify::IMAGE_LIMIT)),
        )
        .route(
            "/api/v1/verify/batch",
            post(verify::verify_batch).layer(DefaultBodyLimit::max(verify::BATCH_BODY_LIMIT)),
        )
        .route("/api/v1/keys", get(keys::list))
        .route("/api/v1/keys/signed", get(status::signed_keys))
        .route("/api/v1/status", get(status::snapshot))
        .route("/api/v1/audit", get(admin::audit))
        .route(
            "/api/v1/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/api/v1/tokens/{name}", delete(admin::revoke_token))
        .route("/api/v1/openapi.json", get(ops::openapi))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/", get(pages::index))
        .route(
            "/check",
            post(pages::check).layer(DefaultBodyLimit::max(verify::IMAGE_LIMIT)),
        )
        .route("/static/app.css", get(pages::stylesheet))
        .route("/console", get(console::index))
        .route("/console/sign-in", post(console::sign_in))
        .route("/console/sign-out", post(console::sign_out))
        .route("/console/find", get(console::find))
        .route(
            "/console/issue",
            post(console::issue).layer(DefaultBodyLimit::max(ISSUE_LIMIT)),
        )
        .route("/console/cards/{serial}", get(console::card))
        .route(
            "/console/cards/{serial}/{act}",
            post(console::act).get(console::image),
        )
        .route("/console/stats", get(console::stats))
        .route("/console/stats.csv", get(console::stats_csv))
        .route("/console/audit", get(console::audit))
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            deadline,
        ))
        .layer(axum::middleware::from_fn(pages::security_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// Middleware: a request (its body included) that takes longer than the configured timeout gets 408,
/// so a slow or stalled client cannot hold a worker.
async fn deadline(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match tokio::time::timeout(state.config().request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request took too long; send it again",
        )
        .into_response(),
    }
}

/// Serves `state` on `listener` until `shutdown` resolves; then stops taking connections and lets
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A future that resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is
/// called (inside the runtime), so a signal that comes before the future is first polled is not lost.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down: finishing requests in flight");
    })
}
