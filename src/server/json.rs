//! Body and parameter extractors whose rejections use the service's error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};

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

/// The raw body, for endpoints that take more than JSON: one over the limit gets the service's JSON
/// 413, not axum's plain text.
#[derive(Debug)]
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(Bytes::from_request(request, state).await?))
    }
}

/// The media type of a request, lower case, without parameters.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A JSON body read by hand (for an endpoint that also takes other bodies, or none), answered like
/// [`ApiJson`]: 415 unless sent as `application/json`, 400 when it is not JSON, 422 when it is JSON
/// of the wrong shape.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, AppError> {
    if content_type(headers) != "application/json" {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            AppError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string())
        } else {
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                e.to_string(),
            )
        }
    })
}

/// Middleware for routes that take an image or JSON (`POST /api/v1/verify`): the route's body limit
/// is an image's, and a body that is not an image keeps the JSON limit. A body announced larger is
/// refused before it is read; one sent without a length is read no further than the limit.
pub async fn json_unless_image(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let headers = request.headers();
    if content_type(headers).starts_with("image/") {
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
