//! The audit log and staff tokens: `admin` only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rescard_store::{AuditCheck, AuditEntry, Role, TokenInfo};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::server::auth::Admin;
use crate::server::error::ErrorBody;
use crate::server::json::{ApiJson, ApiPath, ApiQuery};
use crate::server::openapi::fields;
use crate::server::openapi::responses::{JsonBody, Malformed, RoleOnly};
use crate::server::{AppError, AppState};

/// The most entries a page of the audit log holds.
const AUDIT_PAGE_MAX: u32 = 1000;

/// A page of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries after this sequence number (default 0: from the start).
    #[param(minimum = 0, nullable = false)]
    pub after: Option<i64>,
    /// At most this many entries (default and maximum 1000).
    #[param(minimum = 1, maximum = 1000, nullable = false)]
    pub limit: Option<u32>,
}

impl AuditQuery {
    /// The sequence to start after and the page size, or 400 for a value out of range.
    fn page(&self) -> Result<(u64, u32), AppError> {
        let bad = |message: String| AppError::new(StatusCode::BAD_REQUEST, "bad_query", message);
        let after = match self.after {
            None => 0,
            Some(n) if n >= 0 => n.unsigned_abs(),
            Some(n) => {
                return Err(bad(format!(
                    "after: {n} is not a sequence number (0 or more)"
                )));
            }
        };
        let limit = match self.limit {
            None => AUDIT_PAGE_MAX,
            Some(n) if (1..=AUDIT_PAGE_MAX).contains(&n) => n,
            Some(n) => return Err(bad(format!("limit: {n} is not 1 to {AUDIT_PAGE_MAX}"))),
        };
        Ok((after, limit))
    }
}

/// The audit log, with the state of its hash chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Whether the whole chain checks out.
    pub intact: bool,
    /// Where it breaks, and how.
    pub problem: Option<String>,
    /// The entries, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<AuditEntry>,
}

/// `GET /api/v1/audit`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of entries and the state of the whole chain", body = AuditPage), RoleOnly, Malformed))]
pub async fn audit(
    State(state): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, AppError> {
    let (after, limit) = q.page()?;
    let (check, entries) = state
        .db()
        .read(move |r| Ok((r.verify_audit()?, r.audit_page(after, limit)?)))
        .await?;
    let (intact, problem) = match check {
        AuditCheck::Intact { .. } => (true, None),
        AuditCheck::Broken { problem, .. } => (false, Some(problem)),
    };
    Ok(Json(AuditPage {
        intact,
        problem,
        entries,
    }))
}

/// A token to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Its name: who holds it (1-64 of letters, digits, `.`, `_`, `-`, `@`); names are never reused.
    #[schema(pattern = "^[A-Za-z0-9._@-]{1,64}$", min_length = 1, max_length = 64)]
    pub name: String,
    /// `admin`, `issuer`, `police`, `bank` or `employer`.
    #[schema(schema_with = fields::role)]
    pub role: String,
}

/// A token just made: the only time it is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewToken {
    /// Its name.
    pub name: String,
    /// Its role.
    #[schema(schema_with = fields::role)]
    pub role: &'static str,
    /// The bearer token. Store it now: only its hash is kept.
    pub token: String,
}

/// `GET /api/v1/tokens`.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "Every token made, never the secret", body = Vec<Object>), RoleOnly))]
pub async fn tokens(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<Vec<TokenInfo>>, AppError> {
    Ok(Json(state.db().read(|r| r.tokens()).await?))
}

/// `POST /api/v1/tokens`.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = TokenRequest, security(("bearer" = [])),
    responses((status = 201, description = "Made; the token is shown this once", body = NewToken), RoleOnly, JsonBody,
        (status = 409, description = "A token of this name exists or existed (`token_refused`)", body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<impl IntoResponse, AppError> {
    let actor = admin.name;
    let role: Role = body
        .role
        .parse()
        .map_err(|e: rescard_store::StoreError| AppError::invalid("role", e.to_string()))?;
    let now = state.now();
    let name = body.name.clone();
    let token = state
        .db()
        .write(move |r| r.create_token(&name, role, &actor, now))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewToken {
            name: body.name,
            role: role.as_str(),
            token,
        }),
    ))
}

/// `DELETE /api/v1/tokens/{name}`: the token stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{name}", tag = "admin",
    params(("name" = String, Path, description = "The token's name", pattern = "^[A-Za-z0-9._@-]{1,64}$", max_length = 64)),
    security(("bearer" = [])),
    responses((status = 204, description = "Revoked"), RoleOnly, Malformed,
        (status = 409, description = "No live token of this name, or it is the last live `admin` token (`token_refused`)", body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    let actor = admin.name;
    let now = state.now();
    state
        .db()
        .write(move |r| r.revoke_token(&name, &actor, now))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
