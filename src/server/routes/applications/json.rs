//! Applications as JSON: what filing answers, the application as staff and its applicant read it,
//! and a page of the review queue.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rescard_core::application::DocumentName;
use rescard_store::applications::{ApplicationRow, ApplicationView};
use serde::Serialize;
use utoipa::ToSchema;

use crate::server::AppError;

/// A filed application.
#[derive(Debug, Serialize, ToSchema)]
pub struct FiledJson {
    /// Its id.
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub id: String,
    /// The applicant's secret: `Authorization: Bearer <secret>` for this application alone. Shown
    /// this once; only its hash is kept.
    pub secret: String,
    /// `draft`.
    pub status: &'static str,
    /// The fee due, in som.
    pub fee: u32,
    /// The documents to upload before submitting.
    pub required_documents: Vec<&'static str>,
}

/// A document an application holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentJson {
    /// `passport`, `photo`, `contract`, `statement` or `other`.
    pub name: &'static str,
    /// `image/jpeg`, `image/png` or `application/pdf`.
    pub content_type: String,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// When it was uploaded.
    pub uploaded_at: DateTime<Utc>,
}

/// The bank's confirmation of the fee.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentJson {
    /// The bank's reference.
    pub reference: String,
    /// In som.
    pub amount: u32,
    /// When.
    pub at: DateTime<Utc>,
}

/// The first officer's review (staff only).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewJson {
    /// `approve`, `refuse` or `request_info`.
    pub recommendation: String,
    /// The officer's note.
    pub note: String,
    /// The officer.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionJson {
    /// `approved`, `refused` or `withdrawn`.
    pub outcome: &'static str,
    /// Its reason, which the applicant sees.
    pub reason: String,
    /// The officer (absent for the applicant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// One step of the history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventJson {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (`registry` for an officer, to the applicant).
    pub actor: String,
    /// What happened.
    pub action: String,
    /// The status after it.
    pub status: &'static str,
    /// What the applicant was told with it.
    pub note: Option<String>,
}

/// An application.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplicationJson {
    /// Its id.
    pub id: String,
    /// `card`, `interim`, `extension` or `replacement`.
    pub kind: &'static str,
    /// `draft`, `submitted`, `in_review`, `needs_info`, `approved`, `refused` or `withdrawn`.
    pub status: &'static str,
    /// The language of its messages.
    pub lang: String,
    /// Where its messages go.
    pub email: String,
    /// The employer token that filed it, if one did.
    pub filed_by: Option<String>,
    /// The request as filed.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// The fee due, in som.
    pub fee: u32,
    /// Whether a bank confirmed it.
    pub paid: bool,
    /// The bank's confirmation.
    pub payment: Option<PaymentJson>,
    /// The documents it needs.
    pub required_documents: Vec<&'static str>,
    /// Those it still lacks (submission is refused until none is).
    pub missing_documents: Vec<&'static str>,
    /// The documents it holds.
    pub documents: Vec<DocumentJson>,
    /// What the officer asked for, while it is `needs_info`.
    pub info_request: Option<String>,
    /// The review (staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewJson>,
    /// The decision, once made.
    pub decision: Option<DecisionJson>,
    /// Once approved: the card issued, extended or replaced by the approval.
    #[schema(pattern = "^[0-9]{9}$")]
    pub serial: Option<String>,
    /// Its history, oldest first.
    pub history: Vec<EventJson>,
    /// When it was filed.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When its documents were deleted (retention).
    pub documents_deleted_at: Option<DateTime<Utc>>,
}

impl ApplicationJson {
    /// The application for staff.
    pub fn of(view: &ApplicationView, required: Vec<DocumentName>) -> Self {
        let r = &view.row;
        let held: Vec<DocumentName> = view.documents.iter().map(|d| d.name).collect();
        let outcome = match r.status.as_str() {
            "approved" => "approved",
            "withdrawn" => "withdrawn",
            _ => "refused",
        };
        Self {
            id: r.id.clone(),
            kind: r.kind.as_str(),
            status: r.status.as_str(),
            lang: r.lang.clone(),
            email: r.email.clone(),
            filed_by: r.filed_by.clone(),
            request: serde_json::from_str(&r.request).unwrap_or(serde_json::Value::Null),
            fee: r.fee,
            paid: r.payment.is_some(),
            payment: r.payment.as_ref().map(|p| PaymentJson {
                reference: p.reference.clone(),
                amount: p.amount,
                at: p.at,
            }),
            missing_documents: required
                .iter()
                .filter(|d| !held.contains(d))
                .map(|d| d.as_str())
                .collect(),
            required_documents: required.iter().map(|d| d.as_str()).collect(),
            documents: view
                .documents
                .iter()
                .map(|d| DocumentJson {
                    name: d.name.as_str(),
                    content_type: d.content_type.clone(),
                    sha256: d.sha256.clone(),
                    size: d.size,
                    uploaded_at: d.uploaded_at,
                })
                .collect(),
            info_request: r.info_request.clone(),
            review: r.review.as_ref().map(|v| ReviewJson {
                recommendation: v.recommendation.clone(),
                note: v.note.clone(),
                by: v.by.clone(),
                at: v.at,
            }),
            decision: r
                .decision
                .as_ref()
                .filter(|_| r.status.is_final())
                .map(|d| DecisionJson {
                    outcome,
                    reason: d.reason.clone(),
                    by: Some(d.by.clone()),
                    at: d.at,
                }),
            serial: r.issued_serial.map(|s| s.to_string()),
            history: view
                .events
                .iter()
                .map(|e| EventJson {
                    at: e.at,
                    actor: e.actor.clone(),
                    action: e.action.clone(),
                    status: e.status.as_str(),
                    note: e.note.clone(),
                })
                .collect(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            documents_deleted_at: r.purged_at,
        }
    }

    /// What the applicant sees: no officer's names, no internal review note.
    pub fn for_applicant(mut self) -> Self {
        self.review = None;
        if let Some(d) = &mut self.decision {
            d.by = None;
        }
        let filer = self.filed_by.clone();
        for e in &mut self.history {
            let own = e.actor == rescard_store::applications::APPLICANT
                || filer.as_deref() == Some(e.actor.as_str());
            if !own {
                e.actor = "registry".into();
            }
        }
        self
    }
}

/// A line of the review queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueEntryJson {
    /// Its id.
    pub id: String,
    /// Its kind.
    pub kind: &'static str,
    /// Its status.
    pub status: &'static str,
    /// Whether the fee is paid.
    pub paid: bool,
    /// Who filed it (an employer token), if not the applicant.
    pub filed_by: Option<String>,
    /// When it was filed.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A page of the review queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueJson {
    /// Oldest first.
    pub applications: Vec<QueueEntryJson>,
    /// The `after` of the next page; null on the last.
    pub next: Option<String>,
}

impl QueueJson {
    /// A page of `rows` asked for `limit` at a time.
    pub fn of(rows: &[ApplicationRow], limit: u32) -> Self {
        let next = (rows.len() == limit as usize)
            .then(|| rows.last().map(cursor))
            .flatten();
        Self {
            applications: rows
                .iter()
                .map(|r| QueueEntryJson {
                    id: r.id.clone(),
                    kind: r.kind.as_str(),
                    status: r.status.as_str(),
                    paid: r.payment.is_some(),
                    filed_by: r.filed_by.clone(),
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                })
                .collect(),
            next,
        }
    }
}

/// The key of the page after `row`: its filing time and id.
pub(crate) fn cursor(row: &ApplicationRow) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}|{}",
        rescard_store::timestamp(row.created_at),
        row.id
    ))
}

/// The page key `text`, as [`cursor`] wrote it.
pub(crate) fn parse_cursor(text: &str) -> Result<(DateTime<Utc>, String), AppError> {
    let bad = || AppError::invalid("after", "after: not a page key this service gave");
    let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (at, id) = raw.split_once('|').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at)
        .map_err(|_| bad())?
        .with_timezone(&Utc);
    super::application_id(id).map_err(|_| bad())?;
    Ok((at, id.to_owned()))
}
