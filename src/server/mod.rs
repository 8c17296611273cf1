//! The rescard HTTP service: the JSON API of `docs`' contract on axum, over the SQLite registry.
//!
//! [`router`] builds the whole service; `main` and the tests use the same one.

mod apply;
pub mod auth;
mod connections;
mod console;
mod db;
mod error;
pub mod forms;
pub mod i18n;
pub mod image_check;
pub mod jobs;
mod json;
pub mod limits;
mod metrics;
pub mod openapi;
pub mod pages;
mod router;
pub mod routes;
mod state;
pub mod status_mirror;
mod trust_mirror;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;

pub use connections::ConnectionLimits;
pub use db::Db;
pub use error::{AppError, ErrorBody};
pub use limits::ServiceConfig;
pub use router::{RouteInfo, route_table};
pub use state::{AppState, Clock};

/// The largest JSON body accepted, except for issuance (which may carry a portrait).
pub const JSON_LIMIT: usize = 64 * 1024;
/// The largest issuance body: a 1 MiB portrait in base64, and the fields.
pub const ISSUE_LIMIT: usize = 1536 * 1024;

/// The service.
pub fn router(state: AppState) -> Router {
    use routes::ops;
    router::build(state.clone())
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
/// requests in flight finish. Connections are held to the limits of the state's configuration.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config().connections;
    connections::serve_within(listener, router(state), limits, shutdown).await
}

/// Serves `GET /metrics` alone, without a token, on `listener` (`serve --metrics-listen`): for a
/// scraper on an address strangers cannot reach.
pub async fn serve_metrics(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config().connections;
    let app = Router::new()
        .route("/metrics", axum::routing::get(routes::ops::metrics))
        .fallback(routes::ops::not_found)
        .with_state(state);
    connections::serve_within(listener, app, limits, shutdown).await
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
