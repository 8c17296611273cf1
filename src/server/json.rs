//! A JSON body extractor whose rejections use the service's error shape.

use axum::extract::{FromRequest, FromRequestParts};

use super::AppError;

/// Like `axum::Json`, but a malformed, mistyped, oversized or non-JSON body gets the service's JSON error.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// Like `axum::extract::Query`, with the service's JSON error.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// Like `axum::extract::Path`, with the service's JSON error.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// Middleware for routes that take an image or JSON (`POST /api/v1/verify`): the route's body limit
/// is an image's, and a body that is not an image keeps the JSON limit. A body announced larger is
/// refused before it is read; one sent without a length is read no further than the limit.
pub async fn json_unless_image(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let headers = request.headers();
    let media = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if media.starts_with("image/") {
        return next.run(request).await;
    }
    let too_large = || {
        AppError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "a JSON body may be at most {} bytes; only an image may be larger",
                super::JSON_LIMIT
            ),
        )
        .into_response()
    };
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > super::JSON_LIMIT as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, super::JSON_LIMIT).await {
        Ok(bytes) => {
            next.run(axum::extract::Request::from_parts(
                parts,
                axum::body::Body::from(bytes),
            ))
            .await
        }
        Err(_) => too_large(),
    }
}
