//! The applicant's pages (`/apply`), in Kyrgyz, Russian and English: choose what to apply for, fill
//! in the form (errors beside the fields), then, on the application's own page, upload the
//! documents, see what is missing or asked for, the fee and how to pay it, submit, withdraw, read the
//! decision, and once approved download the card and its QR code.
//!
//! Served whole by rescard under the check page's Content-Security-Policy: no script, one stylesheet.
//! They file, upload and submit through the same functions as the API
//! ([`crate::server::routes::applications`]). The application's page is opened by its id and
//! secret; the browser then keeps both in an `HttpOnly`, `SameSite=Strict` cookie limited to
//! `/apply`, and every form posted checks the `Origin` a browser sends, as the console does.

mod words;

use askama::Template;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use rescard_core::Permit;
use rescard_core::application::{ApplicationKind, ApplicationStatus, DocumentName};
use serde::Deserialize;

use self::words::Words;
use super::console::session::check_origin;
use super::forms::{Field, Input, general_error};
use super::i18n::Lang;
use super::limits::ClientIp;
use super::routes::applications::{
    self, ApplicationJson, FileRequest, decisions, documents, required_documents,
};
use super::{AppError, AppState};

/// The cookie that keeps the application open in this browser: `ID.SECRET`.
const COOKIE: &str = "rescard_apply";

/// What every page shows around its content.
struct Frame {
    lang: Lang,
    w: &'static Words,
    notice: Option<String>,
    error: Option<String>,
}

impl Frame {
    fn new(lang: Lang) -> Self {
        Self {
            lang,
            w: Words::of(lang),
            notice: None,
            error: None,
        }
    }

    fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL
            .into_iter()
            .map(|l| (l.code(), l.name(), l == self.lang))
            .collect()
    }
}

fn page<T: Template>(p: &T, status: StatusCode) -> Response {
    match p.render() {
        Ok(body) => {
            let mut r = (status, Html(body)).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => AppError::internal(e.into()).into_response(),
    }
}

/// A kind on the front page.
struct KindChoice {
    code: &'static str,
    name: &'static str,
    hint: &'static str,
    fee: u32,
}

#[derive(Template)]
#[template(path = "apply_index.html")]
struct IndexPage {
    f: Frame,
    kinds: Vec<KindChoice>,
    id: String,
}

fn index_page(f: Frame, id: &str, status: StatusCode) -> Response {
    let w = f.w;
    let kinds = ApplicationKind::ALL
        .into_iter()
        .map(|k| KindChoice {
            code: k.as_str(),
            name: w.kind(k),
            hint: w.kind_hint(k),
            fee: k.fee(),
        })
        .collect();
    page(
        &IndexPage {
            f,
            kinds,
            id: id.to_owned(),
        },
        status,
    )
}

/// `GET /apply`: what to apply for, and the way back to an application.
pub async fn index(lang: Lang) -> Response {
    index_page(Frame::new(lang), "", StatusCode::OK)
}

fn kind_of(text: &str) -> Result<ApplicationKind, AppError> {
    ApplicationKind::parse(text).ok_or_else(|| {
        AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{text:?} is not something to apply for"),
        )
    })
}

/// The application form as typed.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ApplyForm {
    email: String,
    lang: String,
    serial: String,
    surname: String,
    given_names: String,
    native_name: String,
    date_of_birth: String,
    sex: String,
    nationality: String,
    permit: String,
    valid_from: String,
    valid_until: String,
    passport_number: String,
}

impl ApplyForm {
    fn request(&self, kind: ApplicationKind, page_lang: Lang) -> FileRequest {
        let opt = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_owned());
        FileRequest {
            kind: kind.as_str().to_owned(),
            email: self.email.trim().to_owned(),
            lang: Some(opt(&self.lang).unwrap_or_else(|| page_lang.code().to_owned())),
            serial: opt(&self.serial),
            surname: opt(&self.surname),
            given_names: Some(self.given_names.trim().to_owned()),
            date_of_birth: opt(&self.date_of_birth),
            nationality: opt(&self.nationality),
            permit: opt(&self.permit),
            valid_from: opt(&self.valid_from),
            valid_until: opt(&self.valid_until),
            sex: opt(&self.sex),
            native_name: opt(&self.native_name),
            passport_number: opt(&self.passport_number),
        }
    }

    /// The form's fields for `kind`, in order.
    fn fields(
        &self,
        kind: ApplicationKind,
        f: &Frame,
        error: Option<&(&'static str, String)>,
    ) -> Vec<Field> {
        let w = f.w;
        let field = |name, label, input, required, value: &str| {
            Field::new(name, label, input, required, value, error)
        };
        let langs = Lang::ALL.iter().map(|l| (l.code(), l.name())).collect();
        let lang_value = if self.lang.is_empty() {
            f.lang.code()
        } else {
            self.lang.as_str()
        };
        let mut fields = vec![
            field("email", w.email, Input::Email, true, &self.email).hint(w.email_hint),
            field(
                "lang",
                w.message_lang,
                Input::Choice(langs),
                true,
                lang_value,
            ),
        ];
        match kind.issues() {
            Some(_) => {
                let permits = Permit::ALL
                    .into_iter()
                    .map(|p| (p.as_str(), w.permit_name(p)))
                    .collect();
                let sexes = vec![
                    ("", ""),
                    ("F", w.sexes[0]),
                    ("M", w.sexes[1]),
                    ("X", w.sexes[2]),
                ];
                let period = if kind == ApplicationKind::Interim {
                    w.interim_hint
                } else {
                    w.period_hint
                };
                fields.extend([
                    field("surname", w.surname, Input::Text, true, &self.surname)
                        .hint(w.latin_hint),
                    field(
                        "given_names",
                        w.given_names,
                        Input::Text,
                        false,
                        &self.given_names,
                    )
                    .hint(w.latin_hint),
                    field(
                        "native_name",
                        w.native_name,
                        Input::Text,
                        false,
                        &self.native_name,
                    ),
                    field(
                        "date_of_birth",
                        w.date_of_birth,
                        Input::Date,
                        true,
                        &self.date_of_birth,
                    )
                    .hint(w.date_hint),
                    field("sex", w.sex, Input::Choice(sexes), false, &self.sex),
                    field(
                        "nationality",
                        w.nationality,
                        Input::Text,
                        true,
                        &self.nationality,
                    )
                    .hint(w.nationality_hint),
                    field(
                        "passport_number",
                        w.passport_number,
                        Input::Text,
                        true,
                        &self.passport_number,
                    ),
                    field(
                        "permit",
                        w.permit,
                        Input::Choice(permits),
                        true,
                        &self.permit,
                    ),
                    field(
                        "valid_from",
                        w.valid_from,
                        Input::Date,
                        true,
                        &self.valid_from,
                    ),
                    field(
                        "valid_until",
                        w.valid_until,
                        Input::Date,
                        true,
                        &self.valid_until,
                    )
                    .hint(period),
                ]);
            }
            None => {
                fields.extend([
                    field("serial", w.serial, Input::Text, true, &self.serial).hint(w.proof_hint),
                    field(
                        "passport_number",
                        w.passport_number,
                        Input::Text,
                        true,
                        &self.passport_number,
                    ),
                    field(
                        "date_of_birth",
                        w.date_of_birth,
                        Input::Date,
                        true,
                        &self.date_of_birth,
                    )
                    .hint(w.date_hint),
                ]);
                if kind == ApplicationKind::Extension {
                    fields.push(field(
                        "valid_until",
                        w.extension_until,
                        Input::Date,
                        true,
                        &self.valid_until,
                    ));
                }
            }
        }
        fields
    }
}

#[derive(Template)]
#[template(path = "apply_form.html")]
struct FormPage {
    f: Frame,
    kind: &'static str,
    title: &'static str,
    hint: &'static str,
    fee: u32,
    fields: Vec<Field>,
}

fn form_page(
    mut f: Frame,
    kind: ApplicationKind,
    form: &ApplyForm,
    error: Option<(&'static str, String)>,
    status: StatusCode,
) -> Response {
    let fields = form.fields(kind, &f, error.as_ref());
    f.error = general_error(&fields, error.as_ref());
    let w = f.w;
    page(
        &FormPage {
            kind: kind.as_str(),
            title: w.kind(kind),
            hint: w.kind_hint(kind),
            fee: kind.fee(),
            f,
            fields,
        },
        status,
    )
}

/// `GET /apply/{kind}`: the form.
pub async fn form(lang: Lang, Path(kind): Path<String>) -> Response {
    match kind_of(&kind) {
        Ok(kind) => form_page(
            Frame::new(lang),
            kind,
            &ApplyForm::default(),
            None,
            StatusCode::OK,
        ),
        Err(e) => e.into_response(),
    }
}

#[derive(Template)]
#[template(path = "apply_filed.html")]
struct FiledPage {
    f: Frame,
    id: String,
    secret: String,
    fee: u32,
}

/// `POST /apply/{kind}`: files the application; the page shows its number and secret once, and
/// the browser keeps them for the application's page.
pub async fn file(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    lang: Lang,
    Path(kind): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ApplyForm>,
) -> Response {
    let kind = match kind_of(&kind) {
        Ok(kind) => kind,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = check_origin(&state, &headers) {
        return e.into_response();
    }
    if let Err(wait) = state.anonymous_filing_limit().take(ip) {
        return AppError::too_many(wait, "applications filed").into_response();
    }
    let request = form.request(kind, lang);
    match applications::file_request(&state, None, &request).await {
        Ok((row, secret)) => {
            let mut r = page(
                &FiledPage {
                    f: Frame::new(lang),
                    id: row.id.clone(),
                    secret: secret.clone(),
                    fee: row.fee,
                },
                StatusCode::CREATED,
            );
            if let Some(v) = cookie(&state, &row.id, &secret) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            let field = e.field().unwrap_or("form");
            let status = e.status();
            form_page(
                Frame::new(lang),
                kind,
                &form,
                Some((field, e.message().to_owned())),
                if status.is_client_error() {
                    status
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                },
            )
        }
    }
}

fn cookie(state: &AppState, id: &str, secret: &str) -> Option<HeaderValue> {
    let secure = state
        .config()
        .public_url
        .as_deref()
        .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"));
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}.{secret}; Path=/apply; HttpOnly; SameSite=Strict; Max-Age={}{}",
        30 * 24 * 3600,
        if secure { "; Secure" } else { "" }
    ))
    .ok()
}

/// The application id and secret the browser keeps.
fn kept(headers: &HeaderMap) -> Option<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(COOKIE)?
                .strip_prefix('=')
                .map(str::to_owned)
        })
        .and_then(|v| {
            v.split_once('.')
                .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
        })
}

/// The id and secret posted to open an application.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OpenForm {
    id: String,
    secret: String,
}

/// `POST /apply/status`: opens an application by its number and secret.
pub async fn open(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<OpenForm>,
) -> Response {
    if let Err(e) = check_origin(&state, &headers) {
        return e.into_response();
    }
    let (id, secret) = (form.id.trim().to_owned(), form.secret.trim().to_owned());
    match authorize(&state, &id, &secret, ip).await {
        Ok(()) => {
            let mut r = Redirect::to(&format!("/apply/status/{id}?lang={lang}")).into_response();
            if let Some(v) = cookie(&state, &id, &secret) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            let mut f = Frame::new(lang);
            f.error = Some(e.message().to_owned());
            index_page(f, &id, e.status())
        }
    }
}

/// Whether `secret` opens application `id`; a wrong one counts against the client like a bad
/// token, and the two mistakes answer alike.
async fn authorize(
    state: &AppState,
    id: &str,
    secret: &str,
    ip: std::net::IpAddr,
) -> Result<(), AppError> {
    let refused = || {
        AppError::unauthorized(
            "this number and secret open no application: check both, as they were shown when you applied",
        )
    };
    let Ok(id) = applications::application_id(id) else {
        return Err(refused());
    };
    let secret = secret.to_owned();
    let found = state
        .db()
        .read(move |r| match r.application_with_secret(&id, &secret) {
            Ok(_) => Ok(true),
            Err(rescard_store::StoreError::NoApplication) => Ok(false),
            Err(e) => Err(e),
        })
        .await?;
    if found {
        return Ok(());
    }
    match state.failed_signin_limit().take(ip) {
        Ok(()) => Err(refused()),
        Err(wait) => Err(AppError::too_many(wait, "attempts with a wrong secret")),
    }
}

/// The application in the path, if this browser keeps its secret.
async fn own(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    ip: std::net::IpAddr,
) -> Result<String, AppError> {
    match kept(headers) {
        Some((kept_id, secret)) if kept_id == id => {
            authorize(state, id, &secret, ip).await?;
            Ok(kept_id)
        }
        _ => Err(AppError::unauthorized(
            "open the application with its number and secret first",
        )),
    }
}

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

/// The application of a form posted from its page: from this site, by a browser that keeps its
/// secret.
async fn guarded(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    ip: std::net::IpAddr,
) -> Result<String, AppError> {
    check_origin(state, headers)?;
    own(state, headers, id, ip).await
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
        let caller = super::auth::ApplicationCaller::Applicant(id.clone());
        let record = documents::approved_card(&state, &caller, &id).await?;
        documents::image(record, render)
            .await
            .map(IntoResponse::into_response)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
