//! The public check page (`/`): paste a payload or take a photo of the card, and see the verdict,
//! large, in English or Russian. Server-rendered, no script, everything from this origin, under a
//! strict Content-Security-Policy. It calls the same verifier as the API, through the same decoder.

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rescard_core::{Verdict, Verification};
use serde::Deserialize;

use super::image_check::{self, ImageCheckError};
use super::limits::ClientIp;
use super::{AppError, AppState};

/// The policy of every page: nothing but this origin's stylesheet; no script at all.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page's words in one language.
struct Texts {
    lang: &'static str,
    title: &'static str,
    language: &'static str,
    photo_label: &'static str,
    photo_hint: &'static str,
    payload_label: &'static str,
    check: &'static str,
    privacy: &'static str,
    valid_until: &'static str,
    days_remaining: &'static str,
    status_source: &'static str,
    name: &'static str,
    born: &'static str,
    nationality: &'static str,
    permit: &'static str,
    card: &'static str,
    itn: &'static str,
    document: &'static str,
    /// Resident card, interim permit.
    documents: [&'static str; 2],
}

const EN: Texts = Texts {
    lang: "en",
    title: "Check a resident card",
    language: "Language",
    photo_label: "Photo of the card's QR code",
    photo_hint: "On a phone this opens the camera. Fill a third of the picture with the card, hold the phone parallel to it, avoid glare.",
    payload_label: "Or paste the text of the QR code",
    check: "Check the card",
    privacy: "The check is made by the Kyrgyz Republic's resident card registry. Nothing you send is kept.",
    valid_until: "Valid until",
    days_remaining: "Days remaining",
    status_source: "Status",
    name: "Name",
    born: "Date of birth",
    nationality: "Nationality",
    permit: "Purpose of stay",
    card: "Card number",
    itn: "ITN",
    document: "Document",
    documents: ["Resident card", "Interim permit (up to two months)"],
};

const RU: Texts = Texts {
    lang: "ru",
    title: "Проверка карты резидента",
    language: "Язык",
    photo_label: "Фото QR-кода карты",
    photo_hint: "На телефоне откроется камера. Карта должна занимать треть кадра; держите телефон параллельно карте, избегайте бликов.",
    payload_label: "Или вставьте текст QR-кода",
    check: "Проверить карту",
    privacy: "Проверку выполняет реестр карт резидента Кыргызской Республики. Отправленные данные не сохраняются.",
    valid_until: "Действительна до",
    days_remaining: "Осталось дней",
    status_source: "Статус",
    name: "Имя",
    born: "Дата рождения",
    nationality: "Гражданство",
    permit: "Цель пребывания",
    card: "Номер карты",
    itn: "ИНН",
    document: "Документ",
    documents: ["Карта резидента", "Временное разрешение (до двух месяцев)"],
};

/// What a check showed.
struct Shown {
    verdict: &'static str,
    valid: bool,
    word: &'static str,
    why: String,
    has_card: bool,
    valid_until: String,
    days: String,
    source: String,
    name: String,
    born: String,
    nationality: String,
    permit: String,
    serial: String,
    itn: String,
    /// The document type, in words, and its name.
    document: String,
    document_type: &'static str,
}

#[derive(Template)]
#[template(path = "check.html")]
struct CheckPage {
    t: &'static Texts,
    result: Option<Shown>,
    error: Option<String>,
}

/// `?lang=en|ru`.
#[derive(Debug, Deserialize)]
pub struct Lang {
    /// `en` (the default) or `ru`.
    lang: Option<String>,
}

fn texts(lang: &Lang) -> &'static Texts {
    match lang.lang.as_deref() {
        Some("ru") => &RU,
        _ => &EN,
    }
}

/// The verdict as a person reads it: by meaning, not word for word.
fn verdict_words(v: Verdict, ru: bool) -> (&'static str, &'static str) {
    match (v, ru) {
        (Verdict::Valid, false) => ("VALID", "The card is genuine and in force."),
        (Verdict::Valid, true) => ("ДЕЙСТВИТЕЛЬНА", "Карта подлинная и действует."),
        (Verdict::Expired, false) => ("NOT VALID: EXPIRED", "The stay it allowed has ended."),
        (Verdict::Expired, true) => (
            "НЕДЕЙСТВИТЕЛЬНА: СРОК ИСТЁК",
            "Разрешённый срок пребывания закончился.",
        ),
        (Verdict::NotYetValid, false) => ("NOT VALID YET", "The card's validity has not begun."),
        (Verdict::NotYetValid, true) => ("ЕЩЁ НЕ ДЕЙСТВУЕТ", "Срок действия карты ещё не начался."),
        (Verdict::Suspended, false) => (
            "NOT VALID: SUSPENDED",
            "The issuer has suspended this card.",
        ),
        (Verdict::Suspended, true) => (
            "НЕДЕЙСТВИТЕЛЬНА: ПРИОСТАНОВЛЕНА",
            "Действие карты приостановлено.",
        ),
        (Verdict::Revoked, false) => ("NOT VALID: REVOKED", "The issuer has withdrawn this card."),
        (Verdict::Revoked, true) => ("НЕДЕЙСТВИТЕЛЬНА: АННУЛИРОВАНА", "Карта аннулирована."),
        (Verdict::Replaced, false) => (
            "NOT VALID: REPLACED",
            "A new card was issued in its place; ask for the new one.",
        ),
        (Verdict::Replaced, true) => (
            "НЕДЕЙСТВИТЕЛЬНА: ЗАМЕНЕНА",
            "Вместо неё выдана новая карта; попросите предъявить новую.",
        ),
        (Verdict::InvalidSignature, false) => (
            "FORGED OR ALTERED",
            "The card's signature does not match its contents.",
        ),
        (Verdict::InvalidSignature, true) => (
            "ПОДДЕЛКА ИЛИ ИЗМЕНЕНА",
            "Подпись карты не совпадает с её данными.",
        ),
        (Verdict::UnknownIssuer, false) => (
            "NOT ISSUED BY US",
            "No key of this registry signed the card.",
        ),
        (Verdict::UnknownIssuer, true) => {
            ("ВЫДАНА НЕ НАМИ", "Карта не подписана ключом этого реестра.")
        }
        (Verdict::Malformed, false) => (
            "NOT A RESIDENT CARD",
            "The code cannot be read as a resident card.",
        ),
        (Verdict::Malformed, true) => (
            "ЭТО НЕ КАРТА РЕЗИДЕНТА",
            "Код не читается как карта резидента.",
        ),
    }
}

fn permit_words(p: rescard_core::Permit, ru: bool) -> &'static str {
    use rescard_core::Permit::*;
    match (p, ru) {
        (Work, false) => "Work",
        (Work, true) => "Работа",
        (Study, false) => "Study",
        (Study, true) => "Учёба",
        (Family, false) => "Family",
        (Family, true) => "Семья",
        (Business, false) => "Business",
        (Business, true) => "Предпринимательство",
        (Other, false) => "Other",
        (Other, true) => "Иное",
    }
}

/// Dates as people in the region write them.
fn date(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

fn bishkek_time(t: DateTime<Utc>) -> String {
    let zone = FixedOffset::east_opt(rescard_core::domain::date::ISSUER_UTC_OFFSET_SECONDS)
        .unwrap_or(FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()));
    t.with_timezone(&zone).format("%d.%m.%Y %H:%M").to_string()
}

fn shown(v: &Verification, t: &Texts) -> Shown {
    let ru = t.lang == "ru";
    let (word, why) = verdict_words(v.verdict, ru);
    let card = v.card.as_ref();
    // A suspended, revoked or replaced card has no days left to count, whatever its dates say.
    let dated = matches!(
        v.verdict,
        Verdict::Valid | Verdict::Expired | Verdict::NotYetValid
    );
    let days = match v.days_remaining {
        _ if !dated => "—".to_owned(),
        Some(d) if d >= 0 => d.to_string(),
        Some(d) if ru => format!("0 (просрочено на {} дн.)", -d),
        Some(d) => format!("0 (overstayed by {} days)", -d),
        None => String::new(),
    };
    let source = match (v.status.origin, v.status.as_of, ru) {
        (rescard_core::StatusOrigin::Card, _, false) => "as printed on the card".to_owned(),
        (rescard_core::StatusOrigin::Card, _, true) => "по данным на карте".to_owned(),
        (_, Some(t), false) => format!("registry, as of {} (Bishkek)", bishkek_time(t)),
        (_, Some(t), true) => format!("реестр, на {} (Бишкек)", bishkek_time(t)),
        (_, None, _) => String::new(),
    };
    Shown {
        verdict: v.verdict.as_str(),
        valid: v.verdict == Verdict::Valid,
        word,
        why: why.to_owned(),
        has_card: card.is_some(),
        valid_until: v.valid_until.map(date).unwrap_or_default(),
        days,
        source,
        name: card
            .map(|c| {
                let h = c.holder();
                match &h.native_name {
                    Some(native) => format!("{} {} ({native})", h.surname, h.given_names),
                    None => format!("{} {}", h.surname, h.given_names),
                }
            })
            .unwrap_or_default(),
        born: card
            .map(|c| date(c.holder().date_of_birth))
            .unwrap_or_default(),
        nationality: card
            .map(|c| c.holder().nationality.to_string())
            .unwrap_or_default(),
        permit: card
            .map(|c| permit_words(c.permit(), ru).to_owned())
            .unwrap_or_default(),
        serial: card.map(|c| c.serial().to_string()).unwrap_or_default(),
        itn: card.map(|c| c.itn().to_string()).unwrap_or_default(),
        document: card
            .map(|c| {
                let i = rescard_core::DocumentType::ALL
                    .iter()
                    .position(|d| *d == c.document())
                    .unwrap_or(0);
                t.documents[i].to_owned()
            })
            .unwrap_or_default(),
        document_type: card.map_or("", |c| c.document().as_str()),
    }
}

fn page(p: CheckPage) -> Response {
    match p.render() {
        Ok(html) => {
            let mut response = Html(html).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => AppError::internal(e.into()).into_response(),
    }
}

/// The page `p` answering `status` (a rate limit, a busy decoder) with the seconds to wait before
/// trying again.
fn refused(p: CheckPage, status: StatusCode, retry_after: u64) -> Response {
    let mut response = page(p);
    if response.status().is_success() {
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
    }
    response
}

/// Why a photo gave no payload, for people.
fn photo_problem(e: ImageCheckError, ru: bool) -> String {
    use rescard_qr::DecodeError::{TooCostly, TooLarge, TooManyPixels};
    let ImageCheckError::Unreadable { error, .. } = &e else {
        return AppError::from(e).message().to_owned();
    };
    match (error, ru) {
        (TooManyPixels { limit, .. }, true) => format!(
            "Фото слишком большое: принимается не более {:.1} мегапикселей. Отправьте фото меньшего размера.",
            *limit as f64 / 1e6
        ),
        (TooLarge(_), true) => format!(
            "Файл слишком большой: принимается не более {} МиБ.",
            rescard_qr::MAX_IMAGE_BYTES >> 20
        ),
        (TooCostly { .. }, true) => {
            "Этот JPEG слишком сложен для проверки: отправьте обычный JPEG или PNG.".to_owned()
        }
        (_, true) => "На фото не удалось прочитать QR-код. Сфотографируйте карту ближе, без бликов, и попробуйте ещё раз.".to_owned(),
        (TooManyPixels { .. } | TooLarge(_) | TooCostly { .. }, false) => {
            format!("{}. Send a smaller photo.", AppError::from(e).message())
        }
        (_, false) => format!("{error}. Take the photo closer, without glare, and try again."),
    }
}

/// `GET /`: the check page.
pub async fn index(Query(lang): Query<Lang>) -> Response {
    page(CheckPage {
        t: texts(&lang),
        result: None,
        error: None,
    })
}

/// `POST /check`: a photo or a pasted payload, checked like `POST /api/v1/verify` without a token.
pub async fn check(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(lang): Query<Lang>,
    mut form: Multipart,
) -> Response {
    let t = texts(&lang);
    let ru = t.lang == "ru";
    let fail = |message: String| {
        page(CheckPage {
            t,
            result: None,
            error: Some(message),
        })
    };
    let wait_page = |message: String, status: StatusCode, wait: u64| {
        let p = CheckPage {
            t,
            result: None,
            error: Some(message),
        };
        refused(p, status, wait)
    };
    if let Err(wait) = state.anonymous_verify_limit().take(ip) {
        let message = if ru {
            format!("Слишком много проверок; повторите через {wait} с.")
        } else {
            format!("Too many checks; try again in {wait} s.")
        };
        return wait_page(message, StatusCode::TOO_MANY_REQUESTS, wait);
    }
    let (mut photo, mut text) = (Vec::new(), String::new());
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                match field.bytes().await {
                    Ok(bytes) if name == "photo" => photo = bytes.to_vec(),
                    Ok(bytes) if name == "payload" => {
                        text = String::from_utf8_lossy(&bytes).trim().to_owned()
                    }
                    Ok(_) => {}
                    Err(e) => return fail(e.body_text()),
                }
            }
            Ok(None) => break,
            Err(e) => return fail(e.body_text()),
        }
    }
    let payload = if !photo.is_empty() {
        match image_check::read_payload(&state, true, photo).await {
            Ok(p) => p,
            Err(ImageCheckError::Busy { .. }) => {
                let wait = image_check::BUSY_RETRY_SECONDS;
                let message = if ru {
                    format!(
                        "Сейчас проверяется слишком много фото; повторите через {wait} с или вставьте текст кода."
                    )
                } else {
                    format!(
                        "Too many photos are being checked right now; try again in {wait} s, or paste the code's text."
                    )
                };
                return wait_page(message, StatusCode::SERVICE_UNAVAILABLE, wait);
            }
            Err(ImageCheckError::Failed(e)) => return AppError::internal(e).into_response(),
            Err(e) => return fail(photo_problem(e, ru)),
        }
    } else if !text.is_empty() {
        text
    } else {
        return fail(if ru {
            "Выберите фото карты или вставьте текст кода.".into()
        } else {
            "Choose a photo of the card or paste the code's text.".into()
        });
    };
    match state.check(&payload, state.now()) {
        Ok(v) => {
            state.metrics().verdict(v.verdict);
            page(CheckPage {
                t,
                result: Some(shown(&v, t)),
                error: None,
            })
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /static/app.css`.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
}

/// Middleware: the security headers every response carries.
pub async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // The console and the applicant's pages check the `Origin` of their forms, and a browser sends
    // `Origin: null` from a page under `no-referrer`: their pages tell the browser `same-origin`
    // (a Referer to the service itself, none elsewhere).
    let path = request.uri().path();
    let referrer_policy = if path.starts_with("/console") || path.starts_with("/apply") {
        "same-origin"
    } else {
        "no-referrer"
    };
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(referrer_policy),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
