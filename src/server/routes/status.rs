//! Status snapshots and the signed trust list, for offline checkers (`rescard sync`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rescard_core::status::Snapshot;
use rescard_core::trust_doc::TrustDocument;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::server::json::ApiQuery;
use crate::server::openapi::responses::Malformed;
use crate::server::{AppError, AppState};

/// The media type of COSE structures (RFC 9052 §9).
const COSE: &str = "application/cose";

/// Which snapshot.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// The sequence number the checker holds: only the changes after it are sent. Without it, or
    /// when it is not a sequence of this registry, the full snapshot.
    #[param(minimum = 0, nullable = false)]
    pub since: Option<i64>,
}

/// `GET /api/v1/status[?since=SEQ]`: a signed status snapshot or delta (COSE_Sign1, `docs/STATUS.md`).
#[utoipa::path(get, path = "/api/v1/status", tag = "offline", params(StatusQuery),
    responses(
        (status = 200, description = "COSE_Sign1 of the snapshot; X-Rescard-Sequence and X-Rescard-Since say what it holds", content_type = "application/cose"),
        (status = 304, description = "Nothing changed since the ETag sent in If-None-Match"),
        Malformed,
    ))]
pub async fn snapshot(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatusQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let since = match q.since {
        None => 0,
        Some(n) => u64::try_from(n).map_err(|_| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("since: {n} is not a sequence number (0 or more)"),
            )
        })?,
    };
    let cached = state.clone();
    let (sequence, since, entries) = state
        .db()
        .read(move |r| {
            let sequence = r.status_sequence()?;
            // A delta from a sequence this registry never reached cannot be right: send everything.
            let since = if since > sequence { 0 } else { since };
            if since == 0 {
                if let Some(entries) = cached.cached_full_snapshot(sequence) {
                    return Ok((sequence, 0, entries));
                }
                let (sequence, entries) = r.status_entries(0)?;
                let entries = Arc::new(entries);
                cached.cache_full_snapshot(sequence, Arc::clone(&entries));
                return Ok((sequence, 0, entries));
            }
            let (sequence, entries) = r.status_entries(since)?;
            Ok((sequence, since, Arc::new(entries)))
        })
        .await?;
    let etag = format!("W/\"{sequence}-{since}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let snapshot = Snapshot {
        sequence,
        since: (since > 0).then_some(since),
        issued_at: state.now(),
        max_age_seconds: state.status_max_age_seconds(),
        entries: entries.as_ref().clone(),
    };
    let keys = state.keyring();
    let bytes = tokio::task::spawn_blocking(move || snapshot.sign(keys.signer(snapshot.issued_at)))
        .await
        .map_err(|e| AppError::internal(e.into()))??;
    let mut response = (
        [
            (header::CONTENT_TYPE, COSE),
            (header::CACHE_CONTROL, "public, max-age=60"),
            (header::ETAG, etag.as_str()),
        ],
        bytes,
    )
        .into_response();
    let h = response.headers_mut();
    h.insert("x-rescard-sequence", HeaderValue::from(sequence));
    h.insert("x-rescard-since", HeaderValue::from(since));
    Ok(response)
}

/// `GET /api/v1/keys/signed`: the trust list, signed by every key that still verifies (COSE_Sign).
#[utoipa::path(get, path = "/api/v1/keys/signed", tag = "offline",
    responses((status = 200, description = "COSE_Sign of {issued_at, keys}, with the root of trust's certificates and revocations in its protected header when the registry has a root; see docs/STATUS.md and docs/CERTIFICATES.md", content_type = "application/cose")))]
pub async fn signed_keys(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let keys = state.keyring();
    let now = state.now();
    let bytes = tokio::task::spawn_blocking(move || {
        TrustDocument {
            issued_at: now,
            keys: keys.trust.clone(),
        }
        .sign(&keys.trust_signers())
    })
    .await
    .map_err(|e| AppError::internal(e.into()))??;
    Ok((
        [
            (header::CONTENT_TYPE, COSE),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        bytes,
    ))
}
