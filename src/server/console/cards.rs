//! Cards in the console: the home page (find a card, issue one), a card's page with the acts its state
//! allows, the acts themselves, and its printable images.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rescard_core::domain::date::parse_date;
use rescard_core::rules::Act;
use rescard_core::{DocumentType, Permit, Reason, Serial};
use rescard_store::ConsoleSession;
use serde::Deserialize;

use super::session::{SignedIn, StaffForm, check_csrf};
use super::{Frame, html};
use crate::issuance::CardRequest;
use crate::server::forms::{Field, Input};
use crate::server::i18n::Lang;
use crate::server::{AppError, AppState};
use crate::views::RecordJson;

/// The issue form, as typed. Every field is text as the browser sent it; [`CardRequest`] validates.
#[derive(Debug, Default)]
pub struct IssueForm {
    csrf: String,
    surname: String,
    given_names: String,
    native_name: String,
    date_of_birth: String,
    sex: String,
    nationality: String,
    permit: String,
    passport_number: String,
    valid_from: String,
    valid_until: String,
    document: String,
    portrait: Vec<u8>,
}

impl IssueForm {
    /// Reads the multipart form (the portrait is a file); unknown parts are ignored.
    async fn read(mut multipart: Multipart) -> Result<Self, String> {
        let mut form = Self::default();
        while let Some(part) = multipart.next_field().await.map_err(|e| e.body_text())? {
            let name = part.name().unwrap_or_default().to_owned();
            let bytes = part.bytes().await.map_err(|e| e.body_text())?;
            if name == "portrait" {
                form.portrait = bytes.to_vec();
                continue;
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let slot = match name.as_str() {
                "csrf" => &mut form.csrf,
                "surname" => &mut form.surname,
                "given_names" => &mut form.given_names,
                "native_name" => &mut form.native_name,
                "date_of_birth" => &mut form.date_of_birth,
                "sex" => &mut form.sex,
                "nationality" => &mut form.nationality,
                "permit" => &mut form.permit,
                "passport_number" => &mut form.passport_number,
                "valid_from" => &mut form.valid_from,
                "valid_until" => &mut form.valid_until,
                "document" => &mut form.document,
                _ => continue,
            };
            *slot = text;
        }
        Ok(form)
    }

    /// The issuance request the form makes: the same rules as the API and the command line.
    fn application(&self) -> CardRequest {
        let opt = |v: &str| (!v.trim().is_empty()).then(|| v.to_owned());
        CardRequest {
            surname: self.surname.clone(),
            given_names: self.given_names.clone(),
            date_of_birth: self.date_of_birth.clone(),
            nationality: self.nationality.clone(),
            permit: self.permit.clone(),
            valid_from: self.valid_from.clone(),
            valid_until: self.valid_until.clone(),
            sex: opt(&self.sex),
            native_name: opt(&self.native_name),
            passport_number: opt(&self.passport_number),
            portrait: None,
            document: opt(&self.document),
        }
    }

    /// The form's fields, in order, with their words, what was typed, and the error on one of them.
    fn fields(&self, f: &Frame, error: Option<&(&'static str, String)>) -> Vec<Field> {
        let w = f.w;
        let field = |name, label, input, required, value: &str| {
            Field::new(name, label, input, required, value, error)
        };
        let permits = Permit::ALL
            .into_iter()
            .map(|p| (p.as_str(), w.permit_name(p)))
            .collect();
        let sexes = ["", "F", "M", "X"].into_iter().map(|s| (s, s)).collect();
        let documents = DocumentType::ALL
            .into_iter()
            .map(|d| (d.as_str(), w.document_name(d)))
            .collect();
        vec![
            field(
                "document",
                w.document,
                Input::Choice(documents),
                true,
                &self.document,
            ),
            field("surname", w.surname, Input::Text, true, &self.surname),
            field(
                "given_names",
                w.given_names,
                Input::Text,
                false,
                &self.given_names,
            ),
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
            ),
            field("sex", w.sex, Input::Choice(sexes), false, &self.sex),
            field(
                "nationality",
                w.nationality,
                Input::Text,
                true,
                &self.nationality,
            ),
            field(
                "permit",
                w.permit,
                Input::Choice(permits),
                true,
                &self.permit,
            ),
            field(
                "passport_number",
                w.passport_number,
                Input::Text,
                false,
                &self.passport_number,
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
            ),
        ]
    }
}

#[derive(Template)]
#[template(path = "console_home.html")]
struct HomePage {
    f: Frame,
    fields: Vec<Field>,
    /// Why the portrait file was refused.
    portrait_error: Option<String>,
    /// Why the card asked for was not found.
    find_error: Option<String>,
}

/// The home page, with `form` as typed and an error on one of its fields (`portrait`, `find`, or
/// another name for the page's own error).
pub(super) fn home(f: Frame, form: &IssueForm, error: Option<(&'static str, String)>) -> Response {
    let fields = form.fields(&f, error.as_ref());
    let on = |name: &str| {
        error
            .as_ref()
            .filter(|(n, _)| *n == name)
            .map(|(_, m)| m.clone())
    };
    let (portrait_error, find_error) = (on("portrait"), on("find"));
    let general = error
        .as_ref()
        .filter(|(n, _)| !["portrait", "find"].contains(n) && !fields.iter().any(|f| f.name == *n))
        .map(|(_, m)| m.clone());
    let status = match &error {
        None => StatusCode::OK,
        // Finding a card is not a form's failure: the page is shown with the reason beside the field.
        Some(("find", _)) => StatusCode::OK,
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    html(
        &HomePage {
            f: f.error(general),
            fields,
            portrait_error,
            find_error,
        },
        status,
    )
}

/// `?serial=` of the find form.
#[derive(Deserialize)]
pub struct FindQuery {
    serial: Option<String>,
}

/// `GET /console/find?serial=`.
pub async fn find(
    State(state): State<AppState>,
    lang: Lang,
    Query(q): Query<FindQuery>,
    SignedIn(s): SignedIn,
) -> Response {
    let page = |e: String| {
        home(
            Frame::staff(lang, &s),
            &IssueForm::default(),
            Some(("find", e)),
        )
    };
    match q.serial.as_deref().map(str::trim).map(str::parse::<Serial>) {
        Some(Ok(serial)) => match state.db().read(move |r| r.card(serial)).await {
            Ok(_) => Redirect::to(&format!("/console/cards/{serial}?lang={lang}")).into_response(),
            Err(e) => page(e.message().to_owned()),
        },
        Some(Err(e)) => page(e.to_string()),
        None => home(Frame::staff(lang, &s), &IssueForm::default(), None),
    }
}

/// `POST /console/issue` (multipart, for the portrait).
pub async fn issue(
    State(state): State<AppState>,
    lang: Lang,
    SignedIn(s): SignedIn,
    multipart: Multipart,
) -> Response {
    let form = match IssueForm::read(multipart).await {
        Ok(form) => form,
        Err(e) => {
            return home(
                Frame::staff(lang, &s),
                &IssueForm::default(),
                Some(("form", e)),
            );
        }
    };
    if let Err(e) = check_csrf(&s, Some(&form.csrf)) {
        return e.into_response();
    }
    let portrait = (!form.portrait.is_empty()).then(|| form.portrait.clone());
    let new = match form.application().validate_off_runtime(portrait).await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            return home(
                Frame::staff(lang, &s),
                &form,
                Some((e.field(), e.to_string())),
            );
        }
        Err(e) => return AppError::internal(e.into()).into_response(),
    };
    let (keys, actor, now) = (state.keyring(), s.holder.name.clone(), state.now());
    match state
        .db()
        .write(move |r| r.issue(&new, keys.signer(now), &actor, now))
        .await
    {
        Ok(card) => Redirect::to(&format!(
            "/console/cards/{}?lang={lang}&done=issue",
            card.card.serial()
        ))
        .into_response(),
        Err(e) => home(
            Frame::staff(lang, &s),
            &form,
            Some((e.field().unwrap_or("form"), e.message().to_owned())),
        ),
    }
}

/// An act offered on a card page: the ones its state allows, by the rules.
struct ActForm {
    name: &'static str,
    title: &'static str,
    reason_required: bool,
    /// Final: the officer must tick that it cannot be undone.
    confirm: bool,
}

#[derive(Template)]
#[template(path = "console_card.html")]
struct CardPage {
    f: Frame,
    r: RecordJson,
    state: &'static str,
    permit: &'static str,
    document: &'static str,
    acts: Vec<ActForm>,
}

async fn card_page(state: &AppState, f: Frame, serial: Serial) -> Response {
    let record = match state.db().read(move |r| r.card(serial)).await {
        Ok(record) => record,
        Err(e) => return e.into_response(),
    };
    let w = f.w;
    let acts = Act::allowed(record.state, record.card.document())
        .map(|act| ActForm {
            name: act.as_str(),
            title: w.act(act),
            reason_required: act.needs_reason(),
            confirm: act.is_final(record.state),
        })
        .collect();
    let status = if f.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = CardPage {
        state: w.state(record.state),
        permit: w.permit_name(record.card.permit()),
        document: w.document_name(record.card.document()),
        r: RecordJson::from(&record),
        f,
        acts,
    };
    html(&page, status)
}

/// `?done=` after an act, for its notice.
#[derive(Deserialize)]
pub struct CardQuery {
    done: Option<String>,
}

/// `GET /console/cards/{serial}`.
pub async fn card(
    State(state): State<AppState>,
    Path(serial_text): Path<String>,
    lang: Lang,
    Query(q): Query<CardQuery>,
    SignedIn(s): SignedIn,
) -> Response {
    let f = Frame::staff(lang, &s);
    let Ok(serial) = serial_text.parse::<Serial>() else {
        let e = format!("{serial_text:?} is not a card number");
        return home(f, &IssueForm::default(), Some(("find", e)));
    };
    let done = match q.done.as_deref() {
        Some("issue") => Some(f.w.done_issue),
        Some(verb) => Act::parse(verb).map(|a| f.w.done(a)),
        None => None,
    };
    let notice = done.map(|d| format!("{d}: {serial}"));
    card_page(&state, f.notice(notice), serial).await
}

/// The form of an act.
#[derive(Deserialize)]
pub struct ActFields {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    valid_until: String,
    confirm: Option<String>,
}

/// `POST /console/cards/{serial}/{act}`: extend, suspend, reinstate, revoke, replace.
pub async fn act(
    State(state): State<AppState>,
    Path((serial_text, verb)): Path<(String, String)>,
    lang: Lang,
    StaffForm { session, form }: StaffForm<ActFields>,
) -> Response {
    let (Ok(serial), Some(act)) = (serial_text.parse::<Serial>(), Act::parse(&verb)) else {
        return AppError::new(StatusCode::NOT_FOUND, "not_found", "no such card or act")
            .into_response();
    };
    let shown = match perform(&state, &session, serial, act, form).await {
        Ok(shown) => shown,
        Err(e) => {
            let f = Frame::staff(lang, &session).error(Some(e.message().to_owned()));
            return card_page(&state, f, serial).await;
        }
    };
    Redirect::to(&format!("/console/cards/{shown}?lang={lang}&done={verb}")).into_response()
}

/// Does `act` on card `serial` by the rules the API and the command line follow; the card to show
/// after it (the new one for a replacement).
async fn perform(
    state: &AppState,
    session: &ConsoleSession,
    serial: Serial,
    act: Act,
    form: ActFields,
) -> Result<Serial, AppError> {
    let record = state.db().read(move |r| r.card(serial)).await?;
    if act.is_final(record.state) && form.confirm.as_deref() != Some("yes") {
        return Err(AppError::invalid(
            "confirm",
            "tick the confirmation box: this cannot be undone",
        ));
    }
    let reason = form.reason.trim();
    // An extension may leave its reason blank; the acts that need one refuse an empty reason.
    let reason = match (reason.is_empty(), act) {
        (true, Act::Extend) => Some(Reason::parse("extension of stay")?),
        (true, Act::Reinstate) => None,
        _ => Some(Reason::parse(reason)?),
    };
    let (actor, now, keys) = (session.holder.name.clone(), state.now(), state.keyring());
    let db = state.db();
    let need =
        |r: Option<Reason>| r.ok_or_else(|| AppError::invalid("reason", "a reason is needed"));
    match act {
        Act::Extend => {
            let until = parse_date("valid_until", form.valid_until.trim())
                .map_err(|e| AppError::invalid("valid_until", e.to_string()))?;
            let reason = need(reason)?;
            db.write(move |r| r.extend(serial, until, &reason, &actor, now))
                .await?;
            Ok(serial)
        }
        Act::Suspend => {
            let reason = need(reason)?;
            db.write(move |r| r.suspend(serial, &reason, &actor, now))
                .await?;
            Ok(serial)
        }
        Act::Reinstate => {
            db.write(move |r| r.reinstate(serial, reason.as_ref(), &actor, now))
                .await?;
            Ok(serial)
        }
        Act::Revoke => {
            let reason = need(reason)?;
            db.write(move |r| r.revoke(serial, &reason, &actor, now))
                .await?;
            Ok(serial)
        }
        Act::Replace => {
            let reason = need(reason)?;
            let new = db
                .write(move |r| r.replace(serial, &reason, keys.signer(now), &actor, now))
                .await?;
            Ok(new.card.serial())
        }
    }
}

/// `GET /console/cards/{serial}/card.png` and `qr.png`, for a signed-in member of staff.
pub async fn image(
    State(state): State<AppState>,
    Path((serial_text, file)): Path<(String, String)>,
    SignedIn(_session): SignedIn,
) -> Response {
    let Ok(serial) = serial_text.parse::<Serial>() else {
        return AppError::new(StatusCode::NOT_FOUND, "card_not_found", "no such card")
            .into_response();
    };
    let record = match state.db().read(move |r| r.card(serial)).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let png = tokio::task::spawn_blocking(move || match file.as_str() {
        "card.png" => crate::views::card_png(&record).map(Some),
        "qr.png" => crate::views::qr_png(&record).map(Some),
        _ => Ok(None),
    })
    .await;
    match png {
        Ok(Ok(Some(bytes))) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, no-store"),
            ],
            bytes,
        )
            .into_response(),
        Ok(Ok(None)) => {
            AppError::new(StatusCode::NOT_FOUND, "not_found", "no such image").into_response()
        }
        Ok(Err(e)) => AppError::internal(e.into()).into_response(),
        Err(e) => AppError::internal(e.into()).into_response(),
    }
}
