//! Applications filed online (DESIGN "Applications"): their rows, what the registry keeps of them
//! (`store.rs`, written once for both backends), and the registry's acts on them
//! (`acts.rs`, `outbox.rs`): filing, documents, submission, withdrawal, payment, review, and the decision, whose
//! approval issues the card in the same transaction. Every change of state is an event of the
//! application, an audit entry without personal data, and a message in the outbox, all in the act's
//! transaction.

mod acts;
mod mail;
mod outbox;
pub(crate) mod store;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use rescard_core::Serial;
use rescard_core::application::{ApplicationKind, ApplicationStatus, DocumentName};

pub use acts::{APPLICANT, ApplicationView, Approval, NewApplication};
pub use outbox::{OUTBOX_LEASE_SECONDS, REMINDER_DAYS};

use crate::Result;

/// The prefix of every application secret, so that one is easy to tell from a staff token.
pub const APPLICATION_SECRET_PREFIX: &str = "rca_";

/// An application as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    /// Its id (random, in URLs).
    pub id: String,
    /// SHA-256 (hex) of the applicant's secret.
    pub secret_hash: String,
    /// What it asks for.
    pub kind: ApplicationKind,
    /// Where it stands.
    pub status: ApplicationStatus,
    /// The applicant's language for messages: `ky`, `ru` or `en`.
    pub lang: String,
    /// Where messages go.
    pub email: String,
    /// The employer token that filed it, or `None` when the applicant did.
    pub filed_by: Option<String>,
    /// The request as filed (JSON: the holder's issuing fields, or `serial` and `valid_until`).
    pub request: String,
    /// The card an extension or replacement is for.
    pub serial: Option<Serial>,
    /// The fee due, in som.
    pub fee: u32,
    /// The bank's confirmation of the fee.
    pub payment: Option<Payment>,
    /// The first officer's review.
    pub review: Option<Review>,
    /// What the applicant was asked for, while it is `needs_info`.
    pub info_request: Option<String>,
    /// The second officer's decision.
    pub decision: Option<Decision>,
    /// The card the approval issued (or extended, or the replacement).
    pub issued_serial: Option<Serial>,
    /// When it was filed.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When its documents were deleted by the retention rule.
    pub purged_at: Option<DateTime<Utc>>,
    /// The last day of validity its holder was last reminded of (so an extension reminds again).
    pub reminded_for: Option<chrono::NaiveDate>,
}

/// A bank's confirmation that the fee was paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The bank's reference of the payment.
    pub reference: String,
    /// The amount, in som.
    pub amount: u32,
    /// The bank token's name.
    pub by: String,
    /// When it was confirmed.
    pub at: DateTime<Utc>,
}

/// An officer's review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Its reason (required for a refusal; the applicant sees it).
    pub reason: String,
    /// The officer.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A document held by an application (without its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentMeta {
    /// Which document.
    pub name: DocumentName,
    /// `image/jpeg`, `image/png` or `application/pdf`.
    pub content_type: String,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// When it was uploaded.
    pub uploaded_at: DateTime<Utc>,
}

/// One step of an application's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// Who: a staff token's name, `applicant`, or the employer or bank token.
    pub actor: String,
    /// What happened: `file`, `document`, `submit`, `pay`, `review`, `approve`, `refuse`, `withdraw`.
    pub action: String,
    /// The status after it.
    pub status: ApplicationStatus,
    /// What the applicant is told with it (a request for information, a refusal's reason).
    pub note: Option<String>,
}

/// A message waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Its number.
    pub id: i64,
    /// The address.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// How many times sending failed.
    pub attempts: u32,
    /// When to try next.
    pub next_attempt_at: DateTime<Utc>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// The last failure.
    pub last_error: Option<String>,
}

/// Which applications the review queue shows, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Only these statuses (all open ones when empty).
    pub statuses: Vec<ApplicationStatus>,
    /// Only this kind.
    pub kind: Option<ApplicationKind>,
    /// Only applications filed before this time (older than an age).
    pub filed_before: Option<DateTime<Utc>>,
    /// After this one (`created_at`, `id`), for the next page.
    pub after: Option<(DateTime<Utc>, String)>,
    /// At most this many.
    pub limit: u32,
}

pub(crate) fn status_parse(text: &str) -> Result<ApplicationStatus> {
    ApplicationStatus::parse(text)
        .ok_or_else(|| crate::StoreError::Corrupt(format!("application status {text:?}")))
}

pub(crate) fn kind_parse(text: &str) -> Result<ApplicationKind> {
    ApplicationKind::parse(text)
        .ok_or_else(|| crate::StoreError::Corrupt(format!("application kind {text:?}")))
}

pub(crate) fn document_parse(text: &str) -> Result<DocumentName> {
    DocumentName::parse(text)
        .ok_or_else(|| crate::StoreError::Corrupt(format!("document name {text:?}")))
}

/// The statuses the queue shows when none is asked for: every one an officer still acts on.
pub const OPEN_STATUSES: [ApplicationStatus; 3] = [
    ApplicationStatus::Submitted,
    ApplicationStatus::InReview,
    ApplicationStatus::NeedsInfo,
];
