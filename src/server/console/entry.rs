//! Signing in and out, and the console's front page.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rescard_store::Role;
use serde::Deserialize;

use super::session::{
    self, MaybeSignedIn, SessionCookie, check_csrf, check_origin, cleared_cookie, session_cookie,
};
use super::{Frame, cards, html};
use crate::server::i18n::Lang;
use crate::server::limits::ClientIp;
use crate::server::{AppError, AppState};

#[derive(Template)]
#[template(path = "console_signin.html")]
struct SignInPage {
    f: Frame,
}

fn sign_in_page(lang: Lang, error: Option<String>, status: StatusCode) -> Response {
    html(
        &SignInPage {
            f: Frame::anonymous(lang).error(error),
        },
        status,
    )
}

/// `GET /console`: the sign-in form, or the staff home page.
pub async fn index(lang: Lang, MaybeSignedIn(session): MaybeSignedIn) -> Response {
    match session {
        Some(s) => cards::home(Frame::staff(lang, &s), &cards::IssueForm::default(), None),
        None => sign_in_page(lang, None, StatusCode::OK),
    }
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    token: String,
}

/// `POST /console/sign-in`.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if let Err(e) = check_origin(&state, &headers) {
        return e.into_response();
    }
    let token = form.token.trim().to_owned();
    let holder = match state.db().read(move |r| r.authenticate(&token)).await {
        Ok(h) => h,
        Err(e) => return e.into_response(),
    };
    match holder {
        Some(h) if matches!(h.role, Role::Issuer | Role::Admin) => {
            let now = state.now();
            let lifetime = chrono::Duration::hours(session::SESSION_HOURS);
            let opened = state
                .db()
                .write(move |r| r.open_console_session(&h.name, now, lifetime))
                .await;
            let (id, _) = match opened {
                Ok(opened) => opened,
                Err(e) => return e.into_response(),
            };
            let mut r = Redirect::to(&format!("/console?lang={lang}")).into_response();
            if let Some(v) = session_cookie(&state, &id) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Some(h) => sign_in_page(
            lang,
            Some(format!(
                "a {} token cannot use the console; it needs an issuer or admin token",
                h.role
            )),
            StatusCode::FORBIDDEN,
        ),
        None => {
            if let Err(wait) = state.failed_signin_limit().take(ip) {
                return AppError::too_many(wait, "failed sign-ins").into_response();
            }
            sign_in_page(
                lang,
                Some("this token is not valid (mistyped, revoked or from another registry)".into()),
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

/// The sign-out form: the session's CSRF secret alone.
#[derive(Deserialize)]
pub struct SignOutForm {
    csrf: Option<String>,
}

/// `POST /console/sign-out`: ends the session on the server, not only in this browser.
pub async fn sign_out(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    MaybeSignedIn(session): MaybeSignedIn,
    SessionCookie(id): SessionCookie,
    Form(form): Form<SignOutForm>,
) -> Response {
    if let Err(e) = check_origin(&state, &headers) {
        return e.into_response();
    }
    if let (Some(s), Some(id)) = (session, id) {
        if let Err(e) = check_csrf(&s, form.csrf.as_deref()) {
            return e.into_response();
        }
        if let Err(e) = state.db().write(move |r| r.end_console_session(&id)).await {
            return e.into_response();
        }
    }
    let mut r = Redirect::to(&format!("/console?lang={lang}")).into_response();
    if let Some(v) = cleared_cookie(&state) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
