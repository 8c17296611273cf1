//! Console sessions: signing in opens a server-side session (`rescard_store::ConsoleSession`) whose
//! random id is the cookie, never the staff token itself; it lasts [`SESSION_HOURS`], ends on sign-out
//! and at once when its token is revoked. The cookie is `HttpOnly`, `SameSite=Strict`, limited to
//! `/console`, and `Secure` when the service is told it is behind HTTPS (`serve --public-url
//! https://…`). Sign-in and sign-out check the `Origin` a browser sends; every other form carries the
//! session's own CSRF secret. A cookie that names no live session counts against the client's failed
//! sign-in allowance, like a bad token.

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use rescard_store::{ConsoleSession, Role};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq as _;

use crate::server::i18n::Lang;
use crate::server::limits::ClientIp;
use crate::server::{AppError, AppState};

/// The cookie's name.
const COOKIE: &str = "rescard_console";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 8;

/// The session id in the request's cookie, if any.
fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_owned)
        })
        .filter(|v| !v.is_empty())
}

/// The request's live session, if it has one. A cookie naming none is a failed sign-in: counted,
/// and past the allowance answered with 429.
async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<ConsoleSession>, Response> {
    let Some(id) = cookie_value(&parts.headers) else {
        return Ok(None);
    };
    let now = state.now();
    let found = state
        .db()
        .read(move |r| r.console_session(&id, now))
        .await
        .map_err(IntoResponse::into_response)?;
    match found {
        Some(s) if matches!(s.holder.role, Role::Issuer | Role::Admin) => Ok(Some(s)),
        _ => {
            let ClientIp(ip) = ClientIp::of(parts);
            match state.failed_signin_limit().take(ip) {
                Ok(()) => Ok(None),
                Err(wait) => Err(AppError::too_many(wait, "failed sign-ins").into_response()),
            }
        }
    }
}

/// A signed-in member of staff; without a session the browser is sent to the sign-in form.
pub struct SignedIn(pub ConsoleSession);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match session_of(parts, state).await? {
            Some(s) => Ok(Self(s)),
            None => {
                Err(Redirect::to(&format!("/console?lang={}", Lang::of(parts))).into_response())
            }
        }
    }
}

/// The session, if the request has one (the console's front page shows the sign-in form otherwise).
pub struct MaybeSignedIn(pub Option<ConsoleSession>);

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        session_of(parts, state).await.map(Self)
    }
}

/// The session id in the request's cookie (for signing out).
pub struct SessionCookie(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for SessionCookie {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(cookie_value(&parts.headers)))
    }
}

/// A form posted by a signed-in member of staff, read into `T` once its CSRF secret is checked. A
/// browser without a session is sent to the sign-in form; a form without the session's secret, or one
/// that does not read, is refused.
pub struct StaffForm<T> {
    /// Who posted it.
    pub session: ConsoleSession,
    /// What it says.
    pub form: T,
}

#[derive(serde::Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for StaffForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let SignedIn(session) = SignedIn::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let Form(WithCsrf { csrf, form }) = Form::<WithCsrf<T>>::from_request(req, state)
            .await
            .map_err(|e| AppError::invalid("form", e.body_text()).into_response())?;
        check_csrf(&session, Some(&csrf)).map_err(IntoResponse::into_response)?;
        Ok(Self { session, form })
    }
}

/// A form of `session` must carry its CSRF secret.
pub fn check_csrf(session: &ConsoleSession, form_value: Option<&str>) -> Result<(), AppError> {
    let ok = form_value.is_some_and(|v| bool::from(v.as_bytes().ct_eq(session.csrf.as_bytes())));
    if ok {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "the form is stale or came from another site; reload the page",
        ))
    }
}

/// Sign-in and sign-out must come from the console's own pages: a browser sends `Origin` with every
/// form it posts, and one from another site (or `null`, from a sandboxed or privacy-stripped page)
/// is refused. The service's origin is `--public-url` when given, else the request's own `Host`.
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Not a browser form (browsers always send it on a POST): nothing to forge here.
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
    let expected = match state.config().public_url.as_deref() {
        Some(url) => origin_of(url),
        None => headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|host| format!("http://{host}")),
    };
    let same = expected.as_deref().is_some_and(|e| {
        e.eq_ignore_ascii_case(origin)
            || (state.config().public_url.is_none()
                && e.replacen("http://", "https://", 1)
                    .eq_ignore_ascii_case(origin))
    });
    if same {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "this form was sent from another site; sign in from the console's own page",
        ))
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{}://{}", scheme.to_ascii_lowercase(), host)).filter(|_| !host.is_empty())
}

/// The cookie that carries session `id`.
pub fn session_cookie(state: &AppState, id: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_HOURS * 3600,
        secure(state)
    ))
    .ok()
}

/// The cookie that clears the session's.
pub fn cleared_cookie(state: &AppState) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}",
        secure(state)
    ))
    .ok()
}

fn secure(state: &AppState) -> &'static str {
    if state
        .config()
        .public_url
        .as_deref()
        .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"))
    {
        "; Secure"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_read_by_its_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("rescard_console_old=x; rescard_console=rcs_abc; other=1"),
        );
        assert_eq!(cookie_value(&headers).as_deref(), Some("rcs_abc"));
        headers.insert(header::COOKIE, HeaderValue::from_static("rescard_console="));
        assert_eq!(cookie_value(&headers), None);
    }

    #[test]
    fn an_origin_is_scheme_and_host() {
        assert_eq!(
            origin_of("https://rescard.example.kg/base/").as_deref(),
            Some("https://rescard.example.kg")
        );
        assert_eq!(origin_of("rescard.example.kg"), None);
    }
}
