//! An application's documents (uploaded by its applicant, read by staff) and, once approved, the
//! card's images for its applicant.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use rescard_core::application::DocumentName;
use rescard_store::applications::DocumentMeta;
use sha2::{Digest, Sha256};

use super::json::DocumentJson;
use super::{ApplicationId, application_id};
use crate::server::auth::{ApplicationCaller, Staff};
use crate::server::error::ErrorBody;
use crate::server::json::{ApiBytes, ApiPath};
use crate::server::openapi::fields;
use crate::server::openapi::responses::ApplicationPath;
use crate::server::{AppError, AppState};

/// The largest document accepted.
pub const DOCUMENT_LIMIT: usize = 8 * 1024 * 1024;
/// The most pixels of a scanned document (a 40-megapixel camera's photo).
pub const DOCUMENT_MAX_PIXELS: u64 = 40_000_000;

/// A document's name in a path.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DocumentPath {
    /// The application's id.
    pub id: String,
    /// `passport`, `photo`, `contract`, `statement` or `other`.
    pub name: String,
}

pub(crate) fn document_name(text: &str) -> Result<DocumentName, AppError> {
    DocumentName::parse(text).ok_or_else(|| {
        AppError::new(
            StatusCode::NOT_FOUND,
            "document_not_found",
            format!("{text:?} is not a document an application holds (passport, photo, contract, statement, other)"),
        )
    })
}

/// Refuses bytes that are not what `content_type` says, or too large for a document: a PNG or JPEG
/// whose header reads (within [`DOCUMENT_MAX_PIXELS`]), or a PDF from `%PDF-` to `%%EOF`. The photo
/// becomes the card's portrait, so it must be one the card can print (the issuance rule).
fn check_document(name: DocumentName, content_type: &str, bytes: &[u8]) -> Result<(), AppError> {
    let invalid = |why: String| AppError::invalid("document", format!("document: {why}"));
    if bytes.is_empty() {
        return Err(invalid("the body is empty".into()));
    }
    match content_type {
        "image/png" | "image/jpeg" => {
            let png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
            let jpeg = bytes.starts_with(&[0xff, 0xd8, 0xff]);
            if (content_type == "image/png" && !png) || (content_type == "image/jpeg" && !jpeg) {
                return Err(invalid(format!("the bytes are not a {content_type} image")));
            }
            if name == DocumentName::Photo {
                return crate::issuance::decodable_portrait(bytes.to_vec())
                    .map(drop)
                    .map_err(|e| invalid(e.to_string()));
            }
            rescard_qr::check_image(bytes, DOCUMENT_MAX_PIXELS).map_err(|e| invalid(e.to_string()))
        }
        "application/pdf" => {
            if name == DocumentName::Photo {
                return Err(invalid("the photo must be a JPEG or PNG image".into()));
            }
            let tail = &bytes[bytes.len().saturating_sub(1024)..];
            let ends = tail.windows(5).any(|w| w == b"%%EOF");
            if bytes.starts_with(b"%PDF-") && ends {
                Ok(())
            } else {
                Err(invalid(
                    "the bytes are not a PDF (from %PDF- to %%EOF)".into(),
                ))
            }
        }
        other => Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("a document is image/jpeg, image/png or application/pdf, not {other:?}"),
        )),
    }
}

/// `PUT /api/v1/applications/{id}/documents/{name}`: upload or replace a document (the applicant,
/// while the application is a draft or asked for more).
#[utoipa::path(put, path = "/api/v1/applications/{id}/documents/{name}", tag = "applications", params(DocumentPath),
    request_body(description = "The document: JPEG, PNG (at most 40 megapixels) or PDF, at most 8 MiB; the photo a JPEG or PNG the card can print", content(
        (fields::Image = "image/jpeg"), (fields::Image = "image/png"), (fields::Image = "application/pdf"))),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stored", body = DocumentJson),
        ApplicationPath,
        (status = 409, description = "The application is not open to changes (`wrong_status`)", body = ErrorBody),
        (status = 413, description = "More than 8 MiB", body = ErrorBody),
        (status = 415, description = "Not JPEG, PNG or PDF", body = ErrorBody),
        (status = 422, description = "The bytes are not what the content type says (`invalid_field`)", body = ErrorBody),
    ))]
pub async fn put(
    State(state): State<AppState>,
    caller: ApplicationCaller,
    ApiPath((id, name)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Json<DocumentJson>, AppError> {
    let id = application_id(&id)?;
    let name = document_name(&name)?;
    if caller.applicant()? != id {
        return Err(AppError::forbidden("this secret is another application's"));
    }
    let content_type = crate::server::json::content_type(&headers);
    store_document(&state, id, name, content_type, body.to_vec())
        .await
        .map(Json)
}

/// Checks and stores document `name` of application `id` (whose applicant the caller is).
pub(crate) async fn store_document(
    state: &AppState,
    id: String,
    name: DocumentName,
    content_type: String,
    bytes: Vec<u8>,
) -> Result<DocumentJson, AppError> {
    let checked = bytes.clone();
    let kind = content_type.clone();
    tokio::task::spawn_blocking(move || check_document(name, &kind, &checked))
        .await
        .map_err(|e| AppError::internal(e.into()))??;
    let meta = DocumentMeta {
        name,
        content_type,
        sha256: hex::encode(Sha256::digest(&bytes)),
        size: bytes.len() as u64,
        uploaded_at: state.now(),
    };
    let stored = meta.clone();
    let now = state.now();
    state
        .db()
        .write(move |r| r.put_application_document(&id, &stored, &bytes, now))
        .await?;
    Ok(DocumentJson {
        name: meta.name.as_str(),
        content_type: meta.content_type,
        sha256: meta.sha256,
        size: meta.size,
        uploaded_at: meta.uploaded_at,
    })
}

/// `GET /api/v1/applications/{id}/documents/{name}`: a document's bytes, for staff.
#[utoipa::path(get, path = "/api/v1/applications/{id}/documents/{name}", tag = "applications", params(DocumentPath),
    security(("bearer" = [])),
    responses((status = 200, description = "The document as uploaded", body = fields::Image, content_type = "application/octet-stream"), ApplicationPath))]
pub async fn get(
    State(state): State<AppState>,
    _: Staff,
    ApiPath((id, name)): ApiPath<(String, String)>,
) -> Result<impl IntoResponse, AppError> {
    let id = application_id(&id)?;
    let name = document_name(&name)?;
    let (meta, bytes) = state
        .db()
        .read(move |r| r.application_document(&id, name))
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, meta.content_type),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", name.as_str()),
            ),
        ],
        bytes,
    ))
}

/// The approved application's card, for an image of it.
pub(crate) async fn approved_card(
    state: &AppState,
    caller: &ApplicationCaller,
    id: &str,
) -> Result<rescard_store::CardRecord, AppError> {
    let id = application_id(id)?;
    if let ApplicationCaller::Applicant(own) = caller {
        if *own != id {
            return Err(AppError::forbidden("this secret is another application's"));
        }
    }
    let view = state.db().read(move |r| r.application_view(&id)).await?;
    let serial = view.row.issued_serial.ok_or_else(|| {
        AppError::new(
            StatusCode::CONFLICT,
            "wrong_status",
            format!(
                "the application is {}: its card exists once it is approved",
                view.row.status.as_str()
            ),
        )
    })?;
    state.db().read(move |r| r.card(serial)).await
}

/// `GET /api/v1/applications/{id}/card.png`: the approved application's printable card.
#[utoipa::path(get, path = "/api/v1/applications/{id}/card.png", tag = "applications", params(ApplicationId),
    security(("bearer" = [])),
    responses((status = 200, description = "PNG at 300 dpi", body = fields::Image, content_type = "image/png"), ApplicationPath,
        (status = 409, description = "Not approved (yet): no card (`wrong_status`)", body = ErrorBody)))]
pub async fn card_png(
    State(state): State<AppState>,
    caller: ApplicationCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, AppError> {
    let record = approved_card(&state, &caller, &id).await?;
    image(record, crate::views::card_png).await
}

/// `GET /api/v1/applications/{id}/qr.png`: the approved application's QR code.
#[utoipa::path(get, path = "/api/v1/applications/{id}/qr.png", tag = "applications", params(ApplicationId),
    security(("bearer" = [])),
    responses((status = 200, description = "PNG, 6 px a module", body = fields::Image, content_type = "image/png"), ApplicationPath,
        (status = 409, description = "Not approved (yet): no card (`wrong_status`)", body = ErrorBody)))]
pub async fn qr_png(
    State(state): State<AppState>,
    caller: ApplicationCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, AppError> {
    let record = approved_card(&state, &caller, &id).await?;
    image(record, crate::views::qr_png).await
}

pub(crate) async fn image(
    record: rescard_store::CardRecord,
    render: fn(&rescard_store::CardRecord) -> Result<Vec<u8>, rescard_qr::RenderError>,
) -> Result<impl IntoResponse, AppError> {
    let png = tokio::task::spawn_blocking(move || render(&record))
        .await
        .map_err(|e| AppError::internal(e.into()))?
        .map_err(|e| AppError::internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        png,
    ))
}
