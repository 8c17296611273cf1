//! The moves of an application: the applicant's submission and withdrawal, the bank's payment, the
//! first officer's review and the second officer's decision, whose approval issues the card.

use axum::Json;
use axum::extract::State;
use rescard_core::Reason;
use rescard_core::application::{ApplicationKind, Recommendation};
use rescard_core::domain::date::parse_date;
use rescard_store::applications::{ApplicationRow, Approval};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    ApplicationId, ApplicationJson, CardAct, application_id, card_request, required_documents,
};
use crate::server::auth::{ApplicationCaller, Bank, Staff};
use crate::server::error::ErrorBody;
use crate::server::json::{ApiJson, ApiPath};
use crate::server::openapi::responses::{ApplicationPath, JsonBody};
use crate::server::{AppError, AppState};

/// The application as it now stands, for staff.
async fn view(state: &AppState, id: String) -> Result<Json<ApplicationJson>, AppError> {
    let view = state.db().read(move |r| r.application_view(&id)).await?;
    Ok(Json(ApplicationJson::of(
        &view,
        required_documents(&view.row),
    )))
}

/// The applicant's own application, as they see it.
async fn own_view(state: &AppState, id: String) -> Result<Json<ApplicationJson>, AppError> {
    let Json(json) = view(state, id).await?;
    Ok(Json(json.for_applicant()))
}

/// The application in the path, for its applicant only.
fn own(caller: &ApplicationCaller, id: &str) -> Result<String, AppError> {
    let id = application_id(id)?;
    if caller.applicant()? == id {
        Ok(id)
    } else {
        Err(AppError::forbidden("this secret is another application's"))
    }
}

/// `POST /api/v1/applications/{id}/submission`: submit (or answer a request for information).
#[utoipa::path(post, path = "/api/v1/applications/{id}/submission", tag = "applications", params(ApplicationId),
    security(("bearer" = [])),
    responses((status = 200, description = "Submitted", body = ApplicationJson), ApplicationPath,
        (status = 409, description = "Documents are missing, each named (`documents_missing`), or it is not a draft nor asked for more (`wrong_status`)", body = ErrorBody)))]
pub async fn submit(
    State(state): State<AppState>,
    caller: ApplicationCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApplicationJson>, AppError> {
    let id = own(&caller, &id)?;
    submit_own(&state, id.clone()).await?;
    own_view(&state, id).await
}

/// Submits application `id` for its applicant, with the documents its kind requires.
pub(crate) async fn submit_own(state: &AppState, id: String) -> Result<(), AppError> {
    let probe = id.clone();
    let row = state
        .db()
        .read(move |r| r.application_view(&probe))
        .await?
        .row;
    let required = required_documents(&row);
    let now = state.now();
    state
        .db()
        .write(move |r| r.submit_application(&id, &required, now))
        .await
        .map(drop)
}

/// `POST /api/v1/applications/{id}/withdrawal`: withdraw, at any time before the decision.
#[utoipa::path(post, path = "/api/v1/applications/{id}/withdrawal", tag = "applications", params(ApplicationId),
    security(("bearer" = [])),
    responses((status = 200, description = "Withdrawn", body = ApplicationJson), ApplicationPath,
        (status = 409, description = "Already decided or withdrawn (`wrong_status`)", body = ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>,
    caller: ApplicationCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApplicationJson>, AppError> {
    let id = own(&caller, &id)?;
    withdraw_own(&state, id.clone()).await?;
    own_view(&state, id).await
}

/// Withdraws application `id` for its applicant.
pub(crate) async fn withdraw_own(state: &AppState, id: String) -> Result<(), AppError> {
    let now = state.now();
    state
        .db()
        .write(move |r| r.withdraw_application(&id, now))
        .await
        .map(drop)
}

/// A bank's confirmation of the fee.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// The bank's reference of the payment (1 to 64 characters).
    #[schema(example = "KICB-2026-000123", min_length = 1, max_length = 64)]
    pub reference: String,
    /// The amount paid, in som: the fee exactly.
    #[schema(example = 4000)]
    pub amount: u32,
}

/// `POST /api/v1/applications/{id}/payment`: a bank confirms the fee.
#[utoipa::path(post, path = "/api/v1/applications/{id}/payment", tag = "applications", params(ApplicationId),
    request_body = PaymentRequest, security(("bearer" = [])),
    responses((status = 200, description = "Paid", body = ApplicationJson), ApplicationPath, JsonBody,
        (status = 409, description = "Not the fee, paid already, or decided (`payment_refused`)", body = ErrorBody)))]
pub async fn pay(
    State(state): State<AppState>,
    Bank(bank): Bank,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<PaymentRequest>,
) -> Result<Json<serde_json::Value>, AppError> {
    let id = application_id(&id)?;
    let reference = req.reference.trim().to_owned();
    let printable = !reference.is_empty()
        && reference.len() <= 64
        && reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c));
    if !printable {
        return Err(AppError::invalid(
            "reference",
            "reference: 1 to 64 letters, digits and - _ / .",
        ));
    }
    let now = state.now();
    let row = state
        .db()
        .write(move |r| r.confirm_payment(&id, &reference, req.amount, &bank.name, now))
        .await?;
    // The bank learns that the fee is paid, not the application's contents.
    Ok(Json(serde_json::json!({
        "id": row.id,
        "status": row.status.as_str(),
        "fee": row.fee,
        "paid": true,
    })))
}

fn recommendation_schema() -> utoipa::openapi::schema::Object {
    super::one_of(
        &["approve", "refuse", "request_info"],
        "What the review recommends.",
    )
}

fn decision_schema() -> utoipa::openapi::schema::Object {
    super::one_of(&["approve", "refuse"], "The decision.")
}

/// An officer's review.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `approve`, `refuse` or `request_info`.
    #[schema(schema_with = recommendation_schema)]
    pub recommendation: String,
    /// The note: for `request_info`, what the applicant is asked for (required); otherwise for the
    /// deciding officer.
    #[serde(default)]
    pub note: String,
}

/// `POST /api/v1/applications/{id}/review`: the first officer's review.
#[utoipa::path(post, path = "/api/v1/applications/{id}/review", tag = "applications", params(ApplicationId),
    request_body = ReviewRequest, security(("bearer" = [])),
    responses((status = 200, description = "Reviewed", body = ApplicationJson), ApplicationPath, JsonBody,
        (status = 409, description = "Not submitted (`wrong_status`)", body = ErrorBody)))]
pub async fn review(
    State(state): State<AppState>,
    Staff(officer): Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> Result<Json<ApplicationJson>, AppError> {
    let id = application_id(&id)?;
    review_as(&state, &officer.name, id.clone(), &req).await?;
    view(&state, id).await
}

/// Reviews application `id` as `officer` (the API and the console review through here).
pub(crate) async fn review_as(
    state: &AppState,
    officer: &str,
    id: String,
    req: &ReviewRequest,
) -> Result<(), AppError> {
    let recommendation = Recommendation::parse(req.recommendation.trim()).ok_or_else(|| {
        AppError::invalid(
            "recommendation",
            "recommendation: approve, refuse or request_info",
        )
    })?;
    let note = req.note.trim();
    let note = if note.is_empty() {
        if recommendation == Recommendation::RequestInfo {
            return Err(AppError::invalid(
                "note",
                "note: say what the applicant must send",
            ));
        }
        String::new()
    } else {
        // Checked as every reason is: it reaches the applicant's screen and mailbox.
        Reason::parse(note)
            .map_err(|e| AppError::invalid("note", e.to_string().replacen("reason", "note", 1)))?
            .as_ref()
            .to_owned()
    };
    let now = state.now();
    let officer = officer.to_owned();
    state
        .db()
        .write(move |r| r.review_application(&id, recommendation, &note, &officer, now))
        .await
        .map(drop)
}

/// The decision.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve` or `refuse`.
    #[schema(schema_with = decision_schema)]
    pub decision: String,
    /// Why: required to refuse (the applicant sees it).
    #[serde(default)]
    pub reason: String,
}

/// What a decision answers: the application, and for an approval the card.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionJson {
    /// The application after the decision.
    pub application: ApplicationJson,
    /// The card issued, extended or replaced by an approval.
    #[schema(pattern = "^[0-9]{9}$")]
    pub serial: Option<String>,
    /// Its signed QR payload.
    pub payload: Option<String>,
}

/// What an approval of `row` does, made with the issuance rules from what was filed; the photo
/// document becomes the portrait.
async fn approval(state: &AppState, row: &ApplicationRow) -> Result<Approval, AppError> {
    match row.kind {
        ApplicationKind::Card | ApplicationKind::Interim => {
            let request = card_request(row)?;
            let id = row.id.clone();
            let photo = state
                .db()
                .read(move |r| {
                    // No photo is no portrait; any other failure stops the approval.
                    match r
                        .application_document(&id, rescard_core::application::DocumentName::Photo)
                    {
                        Ok((_, bytes)) => Ok(Some(bytes)),
                        Err(rescard_store::StoreError::NoDocument(_)) => Ok(None),
                        Err(e) => Err(e),
                    }
                })
                .await?;
            let new = request
                .validate_off_runtime(photo)
                .await
                .map_err(|e| AppError::internal(e.into()))??;
            Ok(Approval::Issue(Box::new(new)))
        }
        ApplicationKind::Extension => {
            let act: CardAct =
                serde_json::from_str(&row.request).map_err(|e| AppError::internal(e.into()))?;
            let until = parse_date(
                "valid_until",
                act.valid_until.as_deref().unwrap_or_default(),
            )?;
            Ok(Approval::Extend(until))
        }
        ApplicationKind::Replacement => Ok(Approval::Replace),
    }
}

/// `POST /api/v1/applications/{id}/decision`: the second officer's decision; approval issues the
/// card (or extends, or replaces it) in the same transaction.
#[utoipa::path(post, path = "/api/v1/applications/{id}/decision", tag = "applications", params(ApplicationId),
    request_body = DecisionRequest, security(("bearer" = [])),
    responses((status = 200, description = "Decided; an approval with the card's serial and payload", body = DecisionJson), ApplicationPath, JsonBody,
        (status = 409, description = "The reviewing officer cannot decide (`four_eyes`), the fee is not paid (`fee_unpaid`), it is not reviewed (`wrong_status`), or the registry refuses the card (`rule_refused`)", body = ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    Staff(officer): Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<DecisionRequest>,
) -> Result<Json<DecisionJson>, AppError> {
    let id = application_id(&id)?;
    let issued = decide_as(&state, &officer.name, id.clone(), &req).await?;
    let Json(application) = view(&state, id).await?;
    Ok(Json(DecisionJson {
        application,
        serial: issued.as_ref().map(|i| i.card.serial().to_string()),
        payload: issued.map(|i| i.payload),
    }))
}

/// Decides application `id` as `officer` (the API and the console decide through here): the card
/// an approval issued, extended or replaced.
pub(crate) async fn decide_as(
    state: &AppState,
    officer: &str,
    id: String,
    req: &DecisionRequest,
) -> Result<Option<rescard_store::IssuedCard>, AppError> {
    let approve = match req.decision.trim() {
        "approve" => true,
        "refuse" => false,
        other => {
            return Err(AppError::invalid(
                "decision",
                format!("decision: {other:?} is not approve or refuse"),
            ));
        }
    };
    let reason = match (req.reason.trim(), approve) {
        ("", true) => Reason::parse("approved")?,
        ("", false) => {
            return Err(AppError::invalid(
                "reason",
                "reason: a refusal needs a reason the applicant will read",
            ));
        }
        (text, _) => Reason::parse(text)?,
    };
    let probe = id.clone();
    let row = state
        .db()
        .read(move |r| r.application_view(&probe))
        .await?
        .row;
    let approval = if approve {
        Some(approval(state, &row).await?)
    } else {
        None
    };
    let (keys, now) = (state.keyring(), state.now());
    let officer = officer.to_owned();
    let (_, issued) = state
        .db()
        .write(move |r| {
            r.decide_application(
                &id,
                approve,
                &reason,
                approval.as_ref(),
                keys.signer(now),
                &officer,
                now,
            )
        })
        .await?;
    Ok(issued)
}
