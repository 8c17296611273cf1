//! Applications filed online (DESIGN "Applications"): filing, the application as its applicant and
//! staff read it, and the review queue; [`documents`] holds the uploads and the approved card's
//! images, [`decisions`] the bank's payment, the review and the decision.
//!
//! The holder's fields of a `card` or `interim` application are validated by [`CardRequest`], the
//! rules issuance applies, when it is filed: what is filed is what an approval issues.

pub mod decisions;
pub mod documents;
mod json;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, NaiveDate};
use rescard_core::application::{ApplicationKind, ApplicationStatus, DocumentName};
use rescard_core::domain::date::parse_date;
use rescard_core::{DocumentType, PassportNumber, Permit};
use rescard_store::applications::{ApplicationRow, NewApplication, QueueFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use self::json::{ApplicationJson, FiledJson, QueueJson};
use crate::issuance::CardRequest;
use crate::server::auth::{ApplicationCaller, Caller, Staff};
use crate::server::json::{ApiJson, ApiPath, ApiQuery};
use crate::server::limits::ClientIp;
use crate::server::openapi::responses::{ApplicationPath, JsonBody, Malformed, RoleOnly};
use crate::server::{AppError, AppState};

/// The application in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ApplicationId {
    /// The application's id, as filing answered it.
    #[param(pattern = "^[0-9a-f]{24}$")]
    pub id: String,
}

/// An application's id as a path gives it: 24 hex digits, or no such application.
pub(crate) fn application_id(text: &str) -> Result<String, AppError> {
    if text.len() == 24
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        Ok(text.to_owned())
    } else {
        Err(AppError::new(
            StatusCode::NOT_FOUND,
            "application_not_found",
            format!("{text:?} is not an application id (24 lower-case hex digits)"),
        ))
    }
}

/// A new application. For `card` and `interim`: the holder's issuing fields (as `POST /api/v1/cards`,
/// without the portrait: the `photo` document becomes it), the passport number required. For
/// `extension` and `replacement`: the card's `serial` with the holder's `passport_number` and
/// `date_of_birth`, which must be the card's (refused without saying which is not); an extension
/// names its new `valid_until`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRequest {
    /// `card`, `interim`, `extension` or `replacement`.
    #[schema(schema_with = kind_schema)]
    pub kind: String,
    /// Where the applicant is told of every change.
    #[schema(example = "applicant@example.kg", max_length = 254)]
    pub email: String,
    /// `ky` (the default), `ru` or `en`: the language of the messages.
    #[serde(default)]
    #[schema(schema_with = lang_schema)]
    pub lang: Option<String>,
    /// The card an extension or replacement is for.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{9}$")]
    pub serial: Option<String>,
    /// Surname (card, interim).
    #[serde(default)]
    pub surname: Option<String>,
    /// Given names (card, interim).
    #[serde(default)]
    pub given_names: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// Nationality (card, interim).
    #[serde(default)]
    pub nationality: Option<String>,
    /// Purpose of stay (card, interim).
    #[serde(default)]
    pub permit: Option<String>,
    /// First day asked for (card, interim).
    #[serde(default)]
    pub valid_from: Option<String>,
    /// Last day asked for: at most a year after `valid_from` for a card, two months for an interim
    /// permit; the new last day for an extension.
    #[serde(default)]
    pub valid_until: Option<String>,
    /// `F`, `M` or `X`.
    #[serde(default)]
    pub sex: Option<String>,
    /// Name in a native script.
    #[serde(default)]
    pub native_name: Option<String>,
    /// Passport number: required.
    #[serde(default)]
    pub passport_number: Option<String>,
}

/// A string that is one of `names`.
pub(crate) fn one_of(names: &[&str], description: &str) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(names.iter().copied()))
        .description(Some(description))
        .build()
}

fn kind_schema() -> utoipa::openapi::schema::Object {
    let names: Vec<&str> = ApplicationKind::ALL.iter().map(|k| k.as_str()).collect();
    one_of(&names, "What the application asks for.")
}

fn status_schema() -> utoipa::openapi::schema::Object {
    let names: Vec<&str> = ApplicationStatus::ALL.iter().map(|s| s.as_str()).collect();
    one_of(&names, "An application's status.")
}

fn lang_schema() -> utoipa::openapi::schema::Object {
    one_of(
        &["ky", "ru", "en"],
        "The language of the applicant's messages.",
    )
}

/// The stored request of an extension or replacement.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct CardAct {
    pub serial: String,
    #[serde(default)]
    pub valid_until: Option<String>,
}

fn required(field: &'static str, value: &Option<String>) -> Result<String, AppError> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| AppError::invalid(field, format!("{field}: is required for this kind")))
}

/// An address a message can go to: one `@`, a domain with a dot, no spaces, at most 254 characters.
fn email(text: &str) -> Result<String, AppError> {
    let text = text.trim();
    let ok = text.len() <= 254
        && text.split('@').count() == 2
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && text.parse::<lettre::Address>().is_ok();
    if ok {
        Ok(text.to_owned())
    } else {
        Err(AppError::invalid(
            "email",
            format!("email: {text:?} is not an email address"),
        ))
    }
}

/// The card request of a `card` or `interim` application, as it was filed.
pub(crate) fn card_request(row: &ApplicationRow) -> Result<CardRequest, AppError> {
    serde_json::from_str(&row.request).map_err(|e| AppError::internal(e.into()))
}

/// The purpose of stay a `card` or `interim` application asks for.
pub(crate) fn permit_of(row: &ApplicationRow) -> Option<Permit> {
    card_request(row).ok().and_then(|r| r.permit.parse().ok())
}

/// The documents `row` needs before it is submitted.
pub(crate) fn required_documents(row: &ApplicationRow) -> Vec<DocumentName> {
    row.kind.required(permit_of(row))
}

/// `POST /api/v1/applications`: file an application, without a token (rate limited) or with one
/// (an employer filing for an employee).
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", request_body = FileRequest,
    security((), ("bearer" = [])),
    responses(
        (status = 201, description = "Filed: its id, its secret (shown once), status, fee and the documents it needs", body = FiledJson),
        JsonBody, RoleOnly,
    ))]
pub async fn file(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    caller: Caller,
    ApiJson(req): ApiJson<FileRequest>,
) -> Result<(StatusCode, Json<FiledJson>), AppError> {
    // An employer files for its employees; anyone else (another role's token included) files as
    // the applicant, within the anonymous allowance.
    let employer = caller
        .0
        .filter(|h| h.role == rescard_store::Role::Employer)
        .map(|h| h.name);
    if employer.is_none() {
        state
            .anonymous_filing_limit()
            .take(ip)
            .map_err(|wait| AppError::too_many(wait, "applications filed"))?;
    }
    let (row, secret) = file_request(&state, employer, &req).await?;
    Ok((
        StatusCode::CREATED,
        Json(FiledJson {
            id: row.id.clone(),
            secret,
            status: row.status.as_str(),
            fee: row.fee,
            required_documents: required_documents(&row)
                .into_iter()
                .map(DocumentName::as_str)
                .collect(),
        }),
    ))
}

/// Files `req` (by `filed_by`, an employer's token, or the applicant): every field checked by the
/// rules of its kind, then the application with its secret. The API and the `/apply` pages file
/// through here.
pub(crate) async fn file_request(
    state: &AppState,
    filed_by: Option<String>,
    req: &FileRequest,
) -> Result<(ApplicationRow, String), AppError> {
    let kind = ApplicationKind::parse(&req.kind).ok_or_else(|| {
        AppError::invalid(
            "kind",
            format!(
                "kind: {:?} is not card, interim, extension or replacement",
                req.kind
            ),
        )
    })?;
    let email = email(&req.email)?;
    let lang = match req.lang.as_deref().map(str::trim) {
        None | Some("") => "ky".to_owned(),
        Some(l) if ["ky", "ru", "en"].contains(&l) => l.to_owned(),
        Some(l) => {
            return Err(AppError::invalid(
                "lang",
                format!("lang: {l:?} is not ky, ru or en"),
            ));
        }
    };
    let (request, serial) = match kind.issues() {
        Some(document) => (new_card_request(state, req, document).await?, None),
        None => {
            let valid_until = if kind == ApplicationKind::Extension {
                let text = required("valid_until", &req.valid_until)?;
                parse_date("valid_until", &text)?;
                Some(text)
            } else {
                None
            };
            let serial = prove_holder(state, req).await?;
            let act = CardAct {
                serial: serial.to_string(),
                valid_until,
            };
            let json = serde_json::to_string(&act).map_err(|e| AppError::internal(e.into()))?;
            (json, Some(serial))
        }
    };
    let new = NewApplication {
        kind,
        lang,
        email,
        filed_by,
        request,
        serial,
    };
    let now = state.now();
    state
        .db()
        .write(move |r| r.file_application(&new, now))
        .await
}

/// Validates the holder's fields of a new card or interim permit with the issuance rules, and
/// returns the request to store.
async fn new_card_request(
    state: &AppState,
    req: &FileRequest,
    document: DocumentType,
) -> Result<String, AppError> {
    if req.serial.is_some() {
        return Err(AppError::invalid(
            "serial",
            "serial: only an extension or a replacement names a card",
        ));
    }
    required("passport_number", &req.passport_number)?;
    let card = CardRequest {
        surname: req.surname.clone().unwrap_or_default(),
        given_names: req.given_names.clone().unwrap_or_default(),
        date_of_birth: req.date_of_birth.clone().unwrap_or_default(),
        nationality: req.nationality.clone().unwrap_or_default(),
        permit: req.permit.clone().unwrap_or_default(),
        valid_from: req.valid_from.clone().unwrap_or_default(),
        valid_until: req.valid_until.clone().unwrap_or_default(),
        sex: req.sex.clone(),
        native_name: req.native_name.clone(),
        passport_number: req.passport_number.clone(),
        portrait: None,
        document: Some(document.as_str().to_owned()),
    };
    let new = card.validate(None)?;
    // The dates as a registry would take them today (an application may be decided days later;
    // the decision checks again).
    let today = rescard_core::domain::date::issuer_date(state.now());
    rescard_core::rules::check_new_period(new.validity, today)
        .map_err(|e| AppError::invalid(e.field().unwrap_or("valid_from"), e.to_string()))?;
    serde_json::to_string(&card).map_err(|e| AppError::internal(e.into()))
}

/// The card an extension or replacement is for, if its holder's passport number and date of birth
/// are the card's. Which of the three is wrong is never said.
async fn prove_holder(
    state: &AppState,
    req: &FileRequest,
) -> Result<rescard_core::Serial, AppError> {
    let refused = || {
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "card_not_matched",
            "no card matches this serial, passport number and date of birth together",
        )
    };
    let serial_text = required("serial", &req.serial)?;
    let passport = PassportNumber::parse(&required("passport_number", &req.passport_number)?)?;
    let born: NaiveDate = parse_date(
        "date_of_birth",
        &required("date_of_birth", &req.date_of_birth)?,
    )?;
    let serial = serial_text
        .parse::<rescard_core::Serial>()
        .map_err(|_| refused())?;
    let record = match state.db().read(move |r| r.card(serial)).await {
        Ok(record) => record,
        Err(e) if e.status() == StatusCode::NOT_FOUND => return Err(refused()),
        Err(e) => return Err(e),
    };
    let same_passport = record
        .passport_number
        .as_ref()
        .is_some_and(|p| p.as_ref() == passport.as_ref());
    if !(same_passport && record.card.holder().date_of_birth == born) {
        return Err(refused());
    }
    if req.kind.trim() == ApplicationKind::Extension.as_str()
        && record.card.document() != DocumentType::ResidentCard
    {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_extendable",
            "an interim permit is not extended: apply for a resident card (kind card)",
        )
        .with_field("kind"));
    }
    Ok(serial)
}

/// `GET /api/v1/applications/{id}`: the application, to its applicant or to staff.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", params(ApplicationId),
    security(("bearer" = [])),
    responses((status = 200, description = "The application: status, what is missing, fee, history, the decision and its reason, the card once approved", body = ApplicationJson), ApplicationPath))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApplicationCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApplicationJson>, AppError> {
    let id = application_id(&id)?;
    let view = state.db().read(move |r| r.application_view(&id)).await?;
    let json = ApplicationJson::of(&view, required_documents(&view.row));
    Ok(Json(match caller {
        ApplicationCaller::Staff(_) => json,
        ApplicationCaller::Applicant(_) => json.for_applicant(),
    }))
}

/// The review queue's filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// Only this status (the default: every open one: submitted, in_review, needs_info).
    #[param(schema_with = status_schema)]
    pub status: Option<String>,
    /// Only this kind.
    #[param(schema_with = kind_schema)]
    pub kind: Option<String>,
    /// Only applications filed at least this many days ago.
    #[param(minimum = 0, maximum = 36500)]
    pub older_than_days: Option<u32>,
    /// The `next` of the page before.
    pub after: Option<String>,
    /// Applications a page (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// `GET /api/v1/applications`: the review queue, oldest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(QueueQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of the queue, and the `next` page's key", body = QueueJson), RoleOnly, Malformed,
        (status = 422, description = "A filter that is not one (`invalid_field`)", body = crate::server::error::ErrorBody)))]
pub async fn queue(
    State(state): State<AppState>,
    _: Staff,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<QueueJson>, AppError> {
    let filter = queue_filter(&state, &q)?;
    let limit = filter.limit;
    let rows = state
        .db()
        .read(move |r| r.application_queue(&filter))
        .await?;
    Ok(Json(QueueJson::of(&rows, limit)))
}

/// The registry's filter for a queue query.
pub(crate) fn queue_filter(state: &AppState, q: &QueueQuery) -> Result<QueueFilter, AppError> {
    let statuses = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => Vec::new(),
        Some(s) => vec![ApplicationStatus::parse(s).ok_or_else(|| {
            AppError::invalid(
                "status",
                format!("status: {s:?} is not an application status"),
            )
        })?],
    };
    let kind = q
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(|k| {
            ApplicationKind::parse(k).ok_or_else(|| {
                AppError::invalid("kind", format!("kind: {k:?} is not an application kind"))
            })
        })
        .transpose()?;
    let after = q
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(json::parse_cursor)
        .transpose()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid("limit", "limit: from 1 to 200"));
    }
    if q.older_than_days.is_some_and(|d| d > 36_500) {
        return Err(AppError::invalid(
            "older_than_days",
            "older_than_days: from 0 to 36500",
        ));
    }
    let filed_before = q
        .older_than_days
        .map(|d| state.now() - Duration::days(i64::from(d)));
    Ok(QueueFilter {
        statuses,
        kind,
        filed_before,
        after,
        limit,
    })
}
