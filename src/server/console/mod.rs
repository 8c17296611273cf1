//! The staff console (`/console`): sign in with a token, issue a card from a form, find a card, act on
//! it, download its printable image; for admins, statistics (with CSV export) and the audit log.
//!
//! Server-rendered like the check page, under the same Content-Security-Policy, in Kyrgyz, Russian or
//! English ([`words`]). Sessions are kept server-side ([`session`]); every form a signed-in member of
//! staff posts comes through [`session::StaffForm`], which checks the session's CSRF secret in constant
//! time. A module per area: [`entry`] (signing in and out), [`cards`], [`applications`] (the review
//! queue, review and decision), [`admin`].

mod admin;
mod applications;
mod cards;
mod entry;
pub(crate) mod session;
mod words;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use rescard_store::{ConsoleSession, Role};

pub use self::admin::{audit, stats, stats_csv};
pub use self::applications::{
    application, decide as decide_application, document as application_document,
    queue as application_queue, review as review_application,
};
pub use self::cards::{act, card, find, image, issue};
pub use self::entry::{index, sign_in, sign_out};
use self::words::Words;
use super::AppError;
use super::i18n::Lang;

/// What every console page shows around its content: the language, who is signed in, the session's
/// CSRF secret for its forms, and a notice or an error.
struct Frame {
    lang: Lang,
    w: &'static Words,
    who: Option<String>,
    admin: bool,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
}

impl Frame {
    /// The frame of a page for nobody signed in.
    fn anonymous(lang: Lang) -> Self {
        Self {
            lang,
            w: Words::of(lang),
            who: None,
            admin: false,
            csrf: String::new(),
            notice: None,
            error: None,
        }
    }

    /// The frame of a page for the member of staff of `session`.
    fn staff(lang: Lang, session: &ConsoleSession) -> Self {
        Self {
            who: Some(session.holder.name.clone()),
            admin: session.holder.role == Role::Admin,
            csrf: session.csrf.clone(),
            ..Self::anonymous(lang)
        }
    }

    fn notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }

    fn error(mut self, error: Option<String>) -> Self {
        self.error = error;
        self
    }

    /// The languages to switch to: code, own name, whether it is this page's.
    fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL
            .into_iter()
            .map(|l| (l.code(), l.name(), l == self.lang))
            .collect()
    }
}

/// A rendered page, never cached.
fn html<T: Template>(page: &T, status: StatusCode) -> Response {
    match page.render() {
        Ok(body) => {
            let mut r = (status, Html(body)).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => AppError::internal(e.into()).into_response(),
    }
}
