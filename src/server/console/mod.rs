//! The staff console (`/console`): sign in with a token, issue a card from a form, find a card, act on
//! it, download its printable image; for admins, statistics (with CSV export) and the audit log.
//!
//! Server-rendered like the check page, under the same Content-Security-Policy. Sessions are kept
//! server-side (see [`session`]); every form carries the session's CSRF secret, checked in constant
//! time on every POST.

mod session;

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Multipart, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use rescard_core::domain::date::{issuer_date, parse_date};
use rescard_core::{Reason, Serial};
use rescard_store::{AuditCheck, AuditEntry, ConsoleSession as Session, Role, Statistics};

use self::session::{
    MaybeSignedIn, SessionCookie, SignedIn, check_csrf, check_origin, cleared_cookie,
    session_cookie,
};
use super::limits::ClientIp;
use super::{AppError, AppState};
use crate::issuance::Application;
use crate::views::RecordJson;

/// The console's words, in English or Russian.
pub struct Tr {
    ru: bool,
}

const WORDS: &[(&str, &str, &str)] = &[
    (
        "console",
        "rescard staff console",
        "rescard: консоль сотрудника",
    ),
    ("menu", "Menu", "Меню"),
    ("home", "Cards", "Карты"),
    ("statistics", "Statistics", "Статистика"),
    ("audit", "Audit log", "Журнал аудита"),
    ("sign_in", "Sign in", "Войти"),
    ("sign_out", "Sign out", "Выйти"),
    ("token", "Staff token", "Токен сотрудника"),
    (
        "token_hint",
        "The token from `rescard token create --role issuer`. It stays in this browser until you sign out.",
        "Токен из `rescard token create --role issuer`. Хранится в этом браузере до выхода.",
    ),
    ("find", "Find a card by its number", "Найти карту по номеру"),
    ("open", "Open", "Открыть"),
    ("issue", "Issue a card", "Выдать карту"),
    ("issue_button", "Issue the card", "Выдать карту"),
    (
        "surname",
        "Surname (Latin, as in the passport)",
        "Фамилия (латиницей, как в паспорте)",
    ),
    ("given_names", "Given names (Latin)", "Имя (латиницей)"),
    (
        "native_name",
        "Name in native script",
        "Имя в родной письменности",
    ),
    ("date_of_birth", "Date of birth", "Дата рождения"),
    ("sex", "Sex", "Пол"),
    (
        "nationality",
        "Nationality (ISO code, e.g. UZB)",
        "Гражданство (код ISO, напр. UZB)",
    ),
    ("permit", "Purpose of stay", "Цель пребывания"),
    ("valid_from", "Valid from", "Действует с"),
    ("valid_until", "Valid until", "Действует до"),
    ("passport_number", "Passport number", "Номер паспорта"),
    ("portrait", "Portrait (PNG or JPEG)", "Фото (PNG или JPEG)"),
    ("work", "Work", "Работа"),
    ("study", "Study", "Учёба"),
    ("family", "Family", "Семья"),
    ("business", "Business", "Предпринимательство"),
    ("other", "Other", "Иное"),
    ("card", "Card", "Карта"),
    ("active", "active", "действует"),
    ("suspended", "suspended", "приостановлена"),
    ("revoked", "revoked", "аннулирована"),
    ("replaced", "replaced", "заменена"),
    ("reason", "Reason", "Причина"),
    ("replaced_by", "Replaced by", "Заменена картой"),
    (
        "download_card",
        "Download the printable card",
        "Скачать карту для печати",
    ),
    ("download_qr", "Download the QR code", "Скачать QR-код"),
    ("extend", "Extend", "Продлить"),
    ("suspend", "Suspend", "Приостановить"),
    ("reinstate", "Reinstate", "Возобновить"),
    ("revoke", "Revoke", "Аннулировать"),
    (
        "replace",
        "Replace (lost or damaged)",
        "Заменить (утеряна или повреждена)",
    ),
    (
        "new_valid_until",
        "New valid-until date",
        "Новая дата окончания",
    ),
    (
        "confirm_final",
        "I confirm: this cannot be undone",
        "Подтверждаю: это нельзя отменить",
    ),
    ("history", "History", "История"),
    ("when", "When", "Когда"),
    ("who", "Who", "Кто"),
    ("what", "What", "Что"),
    (
        "expiring",
        "Active cards expiring within 30 days",
        "Действующие карты, истекающие в ближайшие 30 дней",
    ),
    ("by_state", "Cards by state", "Карты по состоянию"),
    (
        "by_permit",
        "Cards by purpose of stay",
        "Карты по цели пребывания",
    ),
    (
        "by_nationality",
        "Cards by nationality",
        "Карты по гражданству",
    ),
    (
        "issued_per_month",
        "Cards issued per month",
        "Выдано карт по месяцам",
    ),
    ("export_csv", "Export as CSV", "Выгрузить в CSV"),
    ("done_issue", "Card issued", "Карта выдана"),
    ("done_extend", "Extended", "Продлена"),
    ("done_suspend", "Suspended", "Приостановлена"),
    ("done_reinstate", "Reinstated", "Возобновлена"),
    ("done_revoke", "Revoked", "Аннулирована"),
    (
        "done_replace",
        "Replacement issued: this is the new card",
        "Выдана замена: это новая карта",
    ),
];

impl Tr {
    /// `en` or `ru`.
    pub fn lang(&self) -> &'static str {
        if self.ru { "ru" } else { "en" }
    }

    /// The word for `key` (the key itself if it has none, which a test forbids).
    pub fn s<'a>(&self, key: &'a str) -> &'a str {
        WORDS
            .iter()
            .find(|(k, _, _)| *k == key)
            .map_or(key, |(_, en, ru)| if self.ru { ru } else { en })
    }
}

/// `?lang=en|ru`.
#[derive(Debug, serde::Deserialize)]
pub struct Lang {
    /// `en` (default) or `ru`.
    lang: Option<String>,
}

fn tr(lang: &Lang) -> Tr {
    Tr {
        ru: lang.lang.as_deref() == Some("ru"),
    }
}

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

#[derive(Template)]
#[template(path = "console_signin.html")]
struct SignInPage {
    tr: Tr,
    who: Option<String>,
    admin: bool,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
}

/// One field of the issue form.
struct Field {
    name: &'static str,
    kind: &'static str,
    required: bool,
    value: String,
    error: Option<String>,
}

const FORM_FIELDS: [(&str, &str, bool); 10] = [
    ("surname", "text", true),
    ("given_names", "text", false),
    ("native_name", "text", false),
    ("date_of_birth", "date", true),
    ("sex", "text", false),
    ("nationality", "text", true),
    ("permit", "text", true),
    ("passport_number", "text", false),
    ("valid_from", "date", true),
    ("valid_until", "date", true),
];

#[derive(Template)]
#[template(path = "console_home.html")]
struct HomePage {
    tr: Tr,
    who: Option<String>,
    admin: bool,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    fields: Vec<Field>,
    /// Why the portrait file was refused.
    portrait_error: Option<String>,
}

/// An act offered on a card page.
struct Act {
    name: &'static str,
    reason_required: bool,
    confirm: bool,
}

#[derive(Template)]
#[template(path = "console_card.html")]
struct CardPage {
    tr: Tr,
    who: Option<String>,
    admin: bool,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    r: RecordJson,
    acts: Vec<Act>,
}

#[derive(Template)]
#[template(path = "console_stats.html")]
struct StatsPage {
    tr: Tr,
    who: Option<String>,
    admin: bool,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    s: Statistics,
    tables: Vec<(&'static str, Vec<(String, u64)>)>,
}

#[derive(Template)]
#[template(path = "console_audit.html")]
struct AuditPage {
    tr: Tr,
    who: Option<String>,
    admin: bool,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    chain: String,
    entries: Vec<AuditEntry>,
}

fn sign_in_page(t: Tr, error: Option<String>, status: StatusCode) -> Response {
    html(
        &SignInPage {
            tr: t,
            who: None,
            admin: false,
            csrf: String::new(),
            notice: None,
            error,
        },
        status,
    )
}

fn home(
    t: Tr,
    s: &Session,
    values: &HashMap<String, String>,
    notice: Option<String>,
    error: Option<(&'static str, String)>,
) -> Response {
    let fields = FORM_FIELDS
        .iter()
        .map(|(name, kind, required)| Field {
            name,
            kind,
            required: *required,
            value: values.get(*name).cloned().unwrap_or_default(),
            error: error
                .as_ref()
                .filter(|(f, _)| f == name)
                .map(|(_, m)| m.clone()),
        })
        .collect();
    let portrait_error = error
        .as_ref()
        .filter(|(f, _)| *f == "portrait")
        .map(|(_, m)| m.clone());
    let general = error
        .filter(|(f, _)| *f != "portrait" && !FORM_FIELDS.iter().any(|(n, _, _)| n == f))
        .map(|(_, m)| m);
    let status = if general.is_some() || values.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(
        &HomePage {
            tr: t,
            who: Some(s.holder.name.clone()),
            admin: s.holder.role == Role::Admin,
            csrf: s.csrf.clone(),
            notice,
            error: general,
            fields,
            portrait_error,
        },
        status,
    )
}

/// `GET /console`: the sign-in form, or the staff home page.
pub async fn index(Query(lang): Query<Lang>, MaybeSignedIn(session): MaybeSignedIn) -> Response {
    match session {
        Some(s) => home(tr(&lang), &s, &HashMap::new(), None, None),
        None => sign_in_page(tr(&lang), None, StatusCode::OK),
    }
}

/// `POST /console/sign-in`.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(lang): Query<Lang>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let t = tr(&lang);
    if let Err(e) = check_origin(&state, &headers) {
        return e.into_response();
    }
    let token = form
        .get("token")
        .map(|t| t.trim().to_owned())
        .unwrap_or_default();
    let probe = token.clone();
    let holder = match state.db().read(move |r| r.authenticate(&probe)).await {
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
            let mut r = Redirect::to(&format!("/console?lang={}", t.lang())).into_response();
            if let Some(v) = session_cookie(&state, &id) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Some(h) => sign_in_page(
            t,
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
                t,
                Some("this token is not valid (mistyped, revoked or from another registry)".into()),
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

/// `POST /console/sign-out`: ends the session on the server, not only in this browser.
pub async fn sign_out(
    State(state): State<AppState>,
    Query(lang): Query<Lang>,
    headers: HeaderMap,
    MaybeSignedIn(session): MaybeSignedIn,
    SessionCookie(id): SessionCookie,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(e) = check_origin(&state, &headers) {
        return e.into_response();
    }
    if let (Some(s), Some(id)) = (session, id) {
        if let Err(e) = check_csrf(&s, form.get("csrf").map(String::as_str)) {
            return e.into_response();
        }
        if let Err(e) = state.db().write(move |r| r.end_console_session(&id)).await {
            return e.into_response();
        }
    }
    let mut r = Redirect::to(&format!("/console?lang={}", tr(&lang).lang())).into_response();
    if let Some(v) = cleared_cookie(&state) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `GET /console/find?serial=`.
pub async fn find(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    SignedIn(s): SignedIn,
) -> Response {
    let lang = Lang {
        lang: q.get("lang").cloned(),
    };
    let t = tr(&lang);
    match q.get("serial").map(|v| v.parse::<Serial>()) {
        Some(Ok(serial)) => match state.db().read(move |r| r.card(serial)).await {
            Ok(_) => {
                Redirect::to(&format!("/console/cards/{serial}?lang={}", t.lang())).into_response()
            }
            Err(e) => home(
                t,
                &s,
                &HashMap::new(),
                None,
                Some(("find", e.message().to_owned())),
            ),
        },
        Some(Err(e)) => home(t, &s, &HashMap::new(), None, Some(("find", e.to_string()))),
        None => home(t, &s, &HashMap::new(), None, None),
    }
}

/// `POST /console/issue` (multipart, for the portrait).
pub async fn issue(
    State(state): State<AppState>,
    Query(lang): Query<Lang>,
    SignedIn(s): SignedIn,
    mut form: Multipart,
) -> Response {
    let t = tr(&lang);
    let mut values = HashMap::new();
    let mut portrait = Vec::new();
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                match field.bytes().await {
                    Ok(bytes) if name == "portrait" => portrait = bytes.to_vec(),
                    Ok(bytes) => {
                        values.insert(name, String::from_utf8_lossy(&bytes).into_owned());
                    }
                    Err(e) => return home(t, &s, &values, None, Some(("form", e.body_text()))),
                }
            }
            Ok(None) => break,
            Err(e) => return home(t, &s, &values, None, Some(("form", e.body_text()))),
        }
    }
    if let Err(e) = check_csrf(&s, values.get("csrf").map(String::as_str)) {
        return e.into_response();
    }
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let opt = |k: &str| values.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let application = Application {
        surname: get("surname"),
        given_names: get("given_names"),
        date_of_birth: get("date_of_birth"),
        nationality: get("nationality"),
        permit: get("permit"),
        valid_from: get("valid_from"),
        valid_until: get("valid_until"),
        sex: opt("sex"),
        native_name: opt("native_name"),
        passport_number: opt("passport_number"),
        portrait: None,
    };
    let new = match application
        .validate_off_runtime((!portrait.is_empty()).then_some(portrait))
        .await
    {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => return home(t, &s, &values, None, Some((e.field(), e.to_string()))),
        Err(e) => return AppError::internal(e.into()).into_response(),
    };
    let (keys, actor, now) = (state.keyring(), s.holder.name.clone(), state.now());
    match state
        .db()
        .write(move |r| r.issue(&new, keys.signer(now), &actor, now))
        .await
    {
        Ok(card) => Redirect::to(&format!(
            "/console/cards/{}?lang={}&done=issue",
            card.card.serial(),
            t.lang()
        ))
        .into_response(),
        Err(e) => home(
            t,
            &s,
            &values,
            None,
            Some((e.field().unwrap_or("form"), e.message().to_owned())),
        ),
    }
}

fn acts_for(state: &str) -> Vec<Act> {
    let act = |name, reason_required, confirm| Act {
        name,
        reason_required,
        confirm,
    };
    match state {
        "active" => vec![
            act("extend", false, false),
            act("suspend", true, false),
            act("replace", true, true),
            act("revoke", true, true),
        ],
        "suspended" => vec![
            act("reinstate", false, false),
            act("extend", false, false),
            act("revoke", true, true),
        ],
        _ => Vec::new(),
    }
}

async fn card_page(
    state: &AppState,
    s: &Session,
    t: Tr,
    serial: Serial,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    match state.db().read(move |r| r.card(serial)).await {
        Ok(record) => {
            let r = RecordJson::from(&record);
            let acts = acts_for(r.state);
            let status = if error.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            html(
                &CardPage {
                    tr: t,
                    who: Some(s.holder.name.clone()),
                    admin: s.holder.role == Role::Admin,
                    csrf: s.csrf.clone(),
                    notice,
                    error,
                    r,
                    acts,
                },
                status,
            )
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /console/cards/{serial}`.
pub async fn card(
    State(state): State<AppState>,
    axum::extract::Path(serial_text): axum::extract::Path<String>,
    Query(q): Query<HashMap<String, String>>,
    SignedIn(s): SignedIn,
) -> Response {
    let lang = Lang {
        lang: q.get("lang").cloned(),
    };
    let t = tr(&lang);
    let Ok(serial) = serial_text.parse::<Serial>() else {
        return home(
            t,
            &s,
            &HashMap::new(),
            None,
            Some(("find", format!("{serial_text:?} is not a card number"))),
        );
    };
    let done = match q.get("done").map(String::as_str) {
        Some("issue") => Some("done_issue"),
        Some("extend") => Some("done_extend"),
        Some("suspend") => Some("done_suspend"),
        Some("reinstate") => Some("done_reinstate"),
        Some("revoke") => Some("done_revoke"),
        Some("replace") => Some("done_replace"),
        _ => None,
    };
    let notice = done.map(|d| format!("{}: {serial}", t.s(d)));
    card_page(&state, &s, t, serial, notice, None).await
}

/// `POST /console/cards/{serial}/{act}`: extend, suspend, reinstate, revoke, replace.
pub async fn act(
    State(state): State<AppState>,
    axum::extract::Path((serial_text, act)): axum::extract::Path<(String, String)>,
    Query(lang): Query<Lang>,
    SignedIn(s): SignedIn,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let t = tr(&lang);
    if let Err(e) = check_csrf(&s, form.get("csrf").map(String::as_str)) {
        return e.into_response();
    }
    let Ok(serial) = serial_text.parse::<Serial>() else {
        return AppError::new(StatusCode::NOT_FOUND, "card_not_found", "no such card")
            .into_response();
    };
    let reason = form
        .get("reason")
        .map(|r| r.trim().to_owned())
        .unwrap_or_default();
    if matches!(act.as_str(), "revoke" | "replace")
        && form.get("confirm").map(String::as_str) != Some("yes")
    {
        return card_page(
            &state,
            &s,
            t,
            serial,
            None,
            Some("tick the confirmation box: this cannot be undone".into()),
        )
        .await;
    }
    let (actor, now, keys) = (s.holder.name.clone(), state.now(), state.keyring());
    let until = form.get("valid_until").cloned().unwrap_or_default();
    let act_name = act.clone();
    let db = state.db();
    // The same reason rules as the API and the command line; an extension may leave it blank.
    let reason_or = |default: &str| {
        Reason::parse(if reason.is_empty() { default } else { &reason }).map_err(AppError::from)
    };
    let result: Result<Serial, AppError> = match act.as_str() {
        "extend" => {
            async {
                let d = parse_date("valid_until", until.trim())
                    .map_err(|e| AppError::invalid("valid_until", e.to_string()))?;
                let reason = reason_or("extension of stay")?;
                db.write(move |r| r.extend(serial, d, &reason, &actor, now).map(|_| serial))
                    .await
            }
            .await
        }
        "suspend" => {
            async {
                let reason = reason_or("")?;
                db.write(move |r| r.suspend(serial, &reason, &actor, now).map(|_| serial))
                    .await
            }
            .await
        }
        "reinstate" => {
            async {
                let reason = (!reason.is_empty()).then(|| reason_or("")).transpose()?;
                db.write(move |r| {
                    r.reinstate(serial, reason.as_ref(), &actor, now)
                        .map(|_| serial)
                })
                .await
            }
            .await
        }
        "revoke" => {
            async {
                let reason = reason_or("")?;
                db.write(move |r| r.revoke(serial, &reason, &actor, now).map(|_| serial))
                    .await
            }
            .await
        }
        "replace" => {
            async {
                let reason = reason_or("")?;
                db.write(move |r| {
                    r.replace(serial, &reason, keys.signer(now), &actor, now)
                        .map(|c| c.card.serial())
                })
                .await
            }
            .await
        }
        _ => {
            return AppError::new(StatusCode::NOT_FOUND, "not_found", "no such act")
                .into_response();
        }
    };
    match result {
        Ok(shown) => Redirect::to(&format!(
            "/console/cards/{shown}?lang={}&done={act_name}",
            t.lang()
        ))
        .into_response(),
        Err(e) => card_page(&state, &s, t, serial, None, Some(e.message().to_owned())).await,
    }
}

/// `GET /console/cards/{serial}/card.png` and `qr.png`, for a signed-in member of staff.
pub async fn image(
    State(state): State<AppState>,
    axum::extract::Path((serial_text, file)): axum::extract::Path<(String, String)>,
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

fn admin_only(s: &Session) -> Result<(), AppError> {
    if s.holder.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "statistics and the audit log are for admins",
        ))
    }
}

/// `GET /console/stats`.
pub async fn stats(
    State(state): State<AppState>,
    Query(lang): Query<Lang>,
    SignedIn(s): SignedIn,
) -> Response {
    if let Err(e) = admin_only(&s) {
        return e.into_response();
    }
    let today = issuer_date(state.now());
    match state.db().read(move |r| r.statistics(today, 30)).await {
        Ok(st) => {
            let tables = vec![
                ("by_state", st.by_state.clone()),
                ("by_permit", st.by_permit.clone()),
                ("by_nationality", st.by_nationality.clone()),
                ("issued_per_month", st.issued_per_month.clone()),
            ];
            html(
                &StatsPage {
                    tr: tr(&lang),
                    who: Some(s.holder.name.clone()),
                    admin: true,
                    csrf: s.csrf.clone(),
                    notice: None,
                    error: None,
                    s: st,
                    tables,
                },
                StatusCode::OK,
            )
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /console/stats.csv`: `table,key,count` rows.
pub async fn stats_csv(State(state): State<AppState>, SignedIn(s): SignedIn) -> Response {
    if let Err(e) = admin_only(&s) {
        return e.into_response();
    }
    let today = issuer_date(state.now());
    match state.db().read(move |r| r.statistics(today, 30)).await {
        Ok(st) => {
            let mut out = csv::Writer::from_writer(Vec::new());
            let _ = out.write_record(["table", "key", "count"]);
            for (table, rows) in [
                ("state", &st.by_state),
                ("permit", &st.by_permit),
                ("nationality", &st.by_nationality),
                ("issued_per_month", &st.issued_per_month),
            ] {
                for (k, n) in rows {
                    let _ = out.write_record([table, k.as_str(), &n.to_string()]);
                }
            }
            let _ =
                out.write_record(["expiring_within_30_days", "", &st.expiring_soon.to_string()]);
            let body = out.into_inner().unwrap_or_default();
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"rescard-statistics.csv\"",
                    ),
                ],
                body,
            )
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /console/audit`: the newest 500 entries and the state of the chain.
pub async fn audit(
    State(state): State<AppState>,
    Query(lang): Query<Lang>,
    SignedIn(s): SignedIn,
) -> Response {
    if let Err(e) = admin_only(&s) {
        return e.into_response();
    }
    match state
        .db()
        .read(|r| Ok((r.verify_audit()?, r.audit_log()?)))
        .await
    {
        Ok((check, mut entries)) => {
            let chain = match check {
                AuditCheck::Intact { entries, head } => {
                    format!("intact: {entries} entries, head {head}")
                }
                AuditCheck::Broken { seq, problem } => format!("BROKEN at entry {seq}: {problem}"),
            };
            entries.reverse();
            entries.truncate(500);
            html(
                &AuditPage {
                    tr: tr(&lang),
                    who: Some(s.holder.name.clone()),
                    admin: true,
                    csrf: s.csrf.clone(),
                    notice: None,
                    error: None,
                    chain,
                    entries,
                },
                StatusCode::OK,
            )
        }
        Err(e) => e.into_response(),
    }
}
