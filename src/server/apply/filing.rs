//! The application form: what each kind asks, filed through the API's own function.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rescard_core::Permit;
use rescard_core::application::ApplicationKind;
use serde::Deserialize;

use super::{Frame, cookie, page};
use crate::server::console::session::check_origin;
use crate::server::forms::{Field, Input, general_error};
use crate::server::i18n::Lang;
use crate::server::limits::ClientIp;
use crate::server::routes::applications::{self, FileRequest};
use crate::server::{AppError, AppState};

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
