//! Applications in the console: the review queue (filtered by status, kind and age, oldest first, a
//! page at a time), an application with its documents and history, and the review and decision
//! forms. They review and decide through the functions the API uses, so the rules (four eyes, the
//! fee before approval, the card issued in the approval's transaction) are the same.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rescard_core::application::{ApplicationKind, ApplicationStatus, DocumentName};
use serde::Deserialize;

use super::session::{SignedIn, StaffForm};
use super::{Frame, html};
use crate::server::i18n::Lang;
use crate::server::routes::applications::decisions::{self, DecisionRequest, ReviewRequest};
use crate::server::routes::applications::{
    self, ApplicationJson, QueueJson, QueueQuery, application_id, documents, required_documents,
};
use crate::server::{AppError, AppState};

/// A line of the queue.
struct Line {
    id: String,
    kind: &'static str,
    status: &'static str,
    paid: bool,
    filed_by: String,
    filed: String,
}

#[derive(Template)]
#[template(path = "console_applications.html")]
struct QueuePage {
    f: Frame,
    lines: Vec<Line>,
    next: Option<String>,
    statuses: Vec<(&'static str, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    status: String,
    kind: String,
    older: String,
    counts: Vec<(&'static str, u64)>,
}

/// The queue's filters as the form sends them (blank means any).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueForm {
    status: String,
    kind: String,
    older_than_days: String,
    after: String,
}

/// `GET /console/applications`: the review queue.
pub async fn queue(
    State(state): State<AppState>,
    lang: Lang,
    Query(q): Query<QueueForm>,
    SignedIn(s): SignedIn,
) -> Response {
    let mut f = Frame::staff(lang, &s);
    let w = f.w;
    let older = match q.older_than_days.trim() {
        "" => Ok(None),
        n => n
            .parse::<u32>()
            .map(Some)
            .map_err(|_| AppError::invalid("older_than_days", "older_than_days: a number of days")),
    };
    let query = older.map(|older_than_days| QueueQuery {
        status: Some(q.status.clone()),
        kind: Some(q.kind.clone()),
        older_than_days,
        after: Some(q.after.clone()),
        limit: Some(50),
    });
    let filter = query.and_then(|query| applications::queue_filter(&state, &query));
    let found = match filter {
        Ok(filter) => {
            state
                .db()
                .read(move |r| Ok((r.application_queue(&filter)?, r.application_counts()?)))
                .await
        }
        Err(e) => Err(e),
    };
    let (rows, counts) = match found {
        Ok(found) => found,
        Err(e) => {
            f.error = Some(e.message().to_owned());
            (Vec::new(), Vec::new())
        }
    };
    let page = QueueJson::of(&rows, 50);
    let lines = rows
        .iter()
        .map(|r| Line {
            id: r.id.clone(),
            kind: w.kind_name(r.kind),
            status: w.application_status(r.status),
            paid: r.payment.is_some(),
            filed_by: r.filed_by.clone().unwrap_or_default(),
            filed: r.created_at.format("%d.%m.%Y %H:%M").to_string(),
        })
        .collect();
    let status = if f.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    html(
        &QueuePage {
            lines,
            next: page.next,
            statuses: ApplicationStatus::ALL
                .into_iter()
                .map(|s| (s.as_str(), w.application_status(s)))
                .collect(),
            kinds: ApplicationKind::ALL
                .into_iter()
                .map(|k| (k.as_str(), w.kind_name(k)))
                .collect(),
            status: q.status,
            kind: q.kind,
            older: q.older_than_days,
            counts: counts
                .into_iter()
                .map(|(s, n)| (w.application_status(s), n))
                .collect(),
            f,
        },
        status,
    )
}

#[derive(Template)]
#[template(path = "console_application.html")]
struct ApplicationPage {
    f: Frame,
    a: ApplicationJson,
    kind: &'static str,
    status: &'static str,
    request: Vec<(String, String)>,
    documents: Vec<(&'static str, String, u64, String)>,
    can_review: bool,
    can_decide: bool,
    own_review: bool,
}

async fn application_page(state: &AppState, f: Frame, id: String, officer: &str) -> Response {
    let view = match state.db().read(move |r| r.application_view(&id)).await {
        Ok(view) => view,
        Err(e) => return e.into_response(),
    };
    let w = f.w;
    let a = ApplicationJson::of(&view, required_documents(&view.row));
    let request = a
        .request
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let documents = a
        .documents
        .iter()
        .map(|d| {
            (
                d.name,
                d.content_type.clone(),
                d.size,
                d.sha256[..16].to_owned(),
            )
        })
        .collect();
    let st = view.row.status;
    let status = if f.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ApplicationPage {
        kind: w.kind_name(view.row.kind),
        status: w.application_status(st),
        can_review: st == ApplicationStatus::Submitted,
        can_decide: st == ApplicationStatus::InReview,
        own_review: view.row.review.as_ref().is_some_and(|r| r.by == officer),
        request,
        documents,
        a,
        f,
    };
    html(&page, status)
}

/// `?done=` after a form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Done {
    done: String,
}

/// `GET /console/applications/{id}`.
pub async fn application(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<String>,
    Query(done): Query<Done>,
    SignedIn(s): SignedIn,
) -> Response {
    let id = match application_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let mut f = Frame::staff(lang, &s);
    f.notice = match done.done.as_str() {
        "review" => Some(f.w.done_review.to_owned()),
        "decision" => Some(f.w.done_decision.to_owned()),
        _ => None,
    };
    application_page(&state, f, id, &s.holder.name).await
}

/// The review form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReviewFields {
    recommendation: String,
    note: String,
}

/// `POST /console/applications/{id}/review`.
pub async fn review(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<String>,
    StaffForm { session, form }: StaffForm<ReviewFields>,
) -> Response {
    let id = match application_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let req = ReviewRequest {
        recommendation: form.recommendation,
        note: form.note,
    };
    let done = decisions::review_as(&state, &session.holder.name, id.clone(), &req).await;
    after(&state, lang, &session, id, "review", done).await
}

/// The decision form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionFields {
    decision: String,
    reason: String,
}

/// `POST /console/applications/{id}/decision`.
pub async fn decide(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<String>,
    StaffForm { session, form }: StaffForm<DecisionFields>,
) -> Response {
    let id = match application_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let req = DecisionRequest {
        decision: form.decision,
        reason: form.reason,
    };
    let done = decisions::decide_as(&state, &session.holder.name, id.clone(), &req)
        .await
        .map(drop);
    after(&state, lang, &session, id, "decision", done).await
}

async fn after(
    state: &AppState,
    lang: Lang,
    session: &rescard_store::ConsoleSession,
    id: String,
    done: &str,
    result: Result<(), AppError>,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!(
            "/console/applications/{id}?lang={lang}&done={done}"
        ))
        .into_response(),
        Err(e) => {
            let f = Frame::staff(lang, session).error(Some(e.message().to_owned()));
            let status = e.status();
            let mut r = application_page(state, f, id, &session.holder.name).await;
            if status.is_client_error() {
                *r.status_mut() = status;
            }
            r
        }
    }
}

/// `GET /console/applications/{id}/documents/{name}`: a document, for staff.
pub async fn document(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    SignedIn(_session): SignedIn,
) -> Response {
    let found = async {
        let id = application_id(&id)?;
        let name: DocumentName = documents::document_name(&name)?;
        state
            .db()
            .read(move |r| r.application_document(&id, name))
            .await
    }
    .await;
    match found {
        Ok((meta, bytes)) => (
            [
                (header::CONTENT_TYPE, meta.content_type),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
