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
