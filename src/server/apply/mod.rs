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
//!
//! Here: the frame of every page, the front page, opening an application and who may; [`filing`]
//! the form; [`status`] the application's own page and its forms.

mod filing;
mod status;
mod words;

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use rescard_core::application::ApplicationKind;
use serde::Deserialize;

pub use self::filing::{file, form};
pub use self::status::{image, status, submit, upload, withdraw};
use self::words::Words;
use super::console::session::check_origin;
use super::i18n::Lang;
use super::limits::ClientIp;
use super::routes::applications;
use super::{AppError, AppState};

/// The cookie that keeps the application open in this browser: `ID.SECRET`.
const COOKIE: &str = "rescard_apply";

/// What every page shows around its content.
pub(super) struct Frame {
    pub(super) lang: Lang,
    pub(super) w: &'static Words,
    pub(super) notice: Option<String>,
    pub(super) error: Option<String>,
}

impl Frame {
    pub(super) fn new(lang: Lang) -> Self {
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

pub(super) fn page<T: Template>(p: &T, status: StatusCode) -> Response {
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

pub(super) fn index_page(f: Frame, id: &str, status: StatusCode) -> Response {
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

pub(super) fn cookie(state: &AppState, id: &str, secret: &str) -> Option<HeaderValue> {
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
pub(super) async fn own(
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

/// The application of a form posted from its page: from this site, by a browser that keeps its
/// secret.
pub(super) async fn guarded(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    ip: std::net::IpAddr,
) -> Result<String, AppError> {
    check_origin(state, headers)?;
    own(state, headers, id, ip).await
}
