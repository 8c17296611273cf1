//! The application's own page: what is missing or asked, the fee and how to pay, the uploads,
//! submission, withdrawal, the decision, and the approved card's images.

use askama::Template;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rescard_core::application::{ApplicationStatus, DocumentName};
use serde::Deserialize;

use super::{Frame, guarded, index_page, own, page};
use crate::server::i18n::Lang;
use crate::server::limits::ClientIp;
use crate::server::routes::applications::{
    ApplicationJson, decisions, documents, required_documents,
};
use crate::server::{AppError, AppState};

/// A document on the status page.
struct DocumentLine {
    name: &'static str,
    size: u64,
    sha256: String,
}

#[derive(Template)]
#[template(path = "apply_status.html")]
struct StatusPage {
    f: Frame,
    a: ApplicationJson,
    kind: &'static str,
    status: &'static str,
    open: bool,
    decided: bool,
    missing: Vec<&'static str>,
    held: Vec<DocumentLine>,
    names: Vec<(&'static str, &'static str)>,
    history: Vec<(String, String, &'static str)>,
}

async fn status_page(state: &AppState, f: Frame, id: String, status: StatusCode) -> Response {
    let view = match state.db().read(move |r| r.application_view(&id)).await {
        Ok(view) => view,
        Err(e) => return e.into_response(),
    };
    let a = ApplicationJson::of(&view, required_documents(&view.row)).for_applicant();
    let w = f.w;
    let name = |n: &str| DocumentName::parse(n).map_or("", |d| w.document_name(d));
    let st = view.row.status;
    let page_data = StatusPage {
        kind: w.kind(view.row.kind),
        status: w.status_name(st),
        open: st.open_to_applicant(),
        decided: st.is_final(),
        missing: a.missing_documents.iter().map(|d| name(d)).collect(),
        held: a
            .documents
            .iter()
            .map(|d| DocumentLine {
                name: name(d.name),
                size: d.size,
                sha256: d.sha256[..16].to_owned(),
            })
            .collect(),
        names: DocumentName::ALL
            .into_iter()
            .map(|d| (d.as_str(), w.document_name(d)))
            .collect(),
        history: a
            .history
            .iter()
            .map(|e| {
                let status = ApplicationStatus::parse(e.status).map_or("", |s| w.status_name(s));
                (
                    e.at.format("%d.%m.%Y %H:%M UTC").to_string(),
                    w.action(&e.action),
                    status,
                )
            })
            .collect(),
        a,
        f,
    };
    page(&page_data, status)
}

/// `?done=` after a form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Done {
    done: String,
}

/// `GET /apply/status/{id}`: the application's own page.
pub async fn status(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    lang: Lang,
    Path(id): Path<String>,
    Query(done): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let mut f = Frame::new(lang);
    match own(&state, &headers, &id, ip).await {
        Ok(id) => {
            f.notice = match done.done.as_str() {
                "upload" => Some(f.w.done_upload.to_owned()),
                "submit" => Some(f.w.done_submit.to_owned()),
                "withdraw" => Some(f.w.done_withdraw.to_owned()),
                _ => None,
            };
            status_page(&state, f, id, StatusCode::OK).await
        }
        Err(e) => {
            f.error = Some(e.message().to_owned());
            index_page(f, &id, StatusCode::UNAUTHORIZED)
        }
    }
}

/// After a form on the status page: back to it with a notice, or it again with the error.
async fn after(
    state: &AppState,
    lang: Lang,
    id: String,
    done: &str,
    result: Result<(), AppError>,
) -> Response {
    match result {
        Ok(()) => {
            Redirect::to(&format!("/apply/status/{id}?lang={lang}&done={done}")).into_response()
        }
        Err(e) => {
            let mut f = Frame::new(lang);
            f.error = Some(e.message().to_owned());
            let status = if e.status().is_client_error() {
                e.status()
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            status_page(state, f, id, status).await
        }
    }
}

/// `POST /apply/status/{id}/documents` (multipart: `name`, `file`): uploads a document.
pub async fn upload(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    lang: Lang,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let id = match guarded(&state, &headers, &id, ip).await {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let mut name = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let read: Result<(), AppError> = async {
        while let Some(part) = form
            .next_field()
            .await
            .map_err(|e| AppError::invalid("file", e.body_text()))?
        {
            let field = part.name().unwrap_or_default().to_owned();
            let content_type = part.content_type().unwrap_or_default().to_ascii_lowercase();
            let bytes = part
                .bytes()
                .await
                .map_err(|e| AppError::invalid("file", e.body_text()))?;
            match field.as_str() {
                "name" => name = String::from_utf8_lossy(&bytes).trim().to_owned(),
                "file" => file = Some((content_type, bytes.to_vec())),
                _ => {}
            }
        }
        Ok(())
    }
    .await;
    let result = match (read, file) {
        (Err(e), _) => Err(e),
        (Ok(()), None) => Err(AppError::invalid("file", "file: choose a file to upload")),
        (Ok(()), Some((content_type, bytes))) => match documents::document_name(&name) {
            Ok(document) => {
                documents::store_document(&state, id.clone(), document, content_type, bytes)
                    .await
                    .map(drop)
            }
            Err(e) => Err(e),
        },
    };
    after(&state, lang, id, "upload", result).await
}

/// `POST /apply/status/{id}/submission`.
pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    lang: Lang,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let id = match guarded(&state, &headers, &id, ip).await {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let result = decisions::submit_own(&state, id.clone()).await;
    after(&state, lang, id, "submit", result).await
}

/// The withdrawal's confirmation.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WithdrawForm {
    confirm: String,
}

/// `POST /apply/status/{id}/withdrawal`.
pub async fn withdraw(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    lang: Lang,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<WithdrawForm>,
) -> Response {
    let id = match guarded(&state, &headers, &id, ip).await {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let result = if form.confirm == "yes" {
        decisions::withdraw_own(&state, id.clone()).await
    } else {
        Err(AppError::invalid(
            "confirm",
            "tick the confirmation box: a withdrawal cannot be undone",
        ))
    };
    after(&state, lang, id, "withdraw", result).await
}

/// `GET /apply/status/{id}/card.png` and `qr.png`: the approved application's card.
pub async fn image(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let id = own(&state, &headers, &id, ip).await?;
        let render = match file.as_str() {
            "card.png" => crate::views::card_png,
            "qr.png" => crate::views::qr_png,
            _ => {
                return Err(AppError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no such image",
                ));
            }
        };
        let caller = crate::server::auth::ApplicationCaller::Applicant(id.clone());
        let record = documents::approved_card(&state, &caller, &id).await?;
        documents::image(record, render)
            .await
            .map(IntoResponse::into_response)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
