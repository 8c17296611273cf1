//! The registry's acts on applications. Each runs in one write transaction: the row, its event, its
//! audit entry (ids, kinds and statuses, no personal data) and the applicant's message in the outbox
//! are written together or not at all. An approval issues, extends or replaces the card inside the
//! same transaction, so a refused issuance leaves the application as it was.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use rescard_core::application::{self, ApplicationKind, DocumentName, Move, Recommendation};
use rescard_core::domain::date::issuer_date;
use rescard_core::{IssuerKey, Reason, Serial, rules};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use super::{
    APPLICATION_SECRET_PREFIX, ApplicationEvent, ApplicationRow, Decision, DocumentMeta,
    OutboxMessage, Payment, QueueFilter, Review, mail, store,
};
use crate::model::{AuditAction, IssuedCard, NewCard};
use crate::registry::{Registry, check_actor};
use crate::storage::Storage;
use crate::{Result, StoreError, audit};

/// What the applicant (or the employer for them) files.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// What it asks for.
    pub kind: ApplicationKind,
    /// The language of its messages.
    pub lang: String,
    /// Where its messages go.
    pub email: String,
    /// The employer token filing it, if one is.
    pub filed_by: Option<String>,
    /// The request, validated by the caller, as JSON.
    pub request: String,
    /// The card an extension or replacement is for (its holder proven by the caller).
    pub serial: Option<Serial>,
}

/// What an approval does, made by the caller from the request with the issuance rules.
#[derive(Debug, Clone)]
pub enum Approval {
    /// Issue this card (or interim permit).
    Issue(Box<NewCard>),
    /// Extend the application's card until this day.
    Extend(NaiveDate),
    /// Replace the application's card.
    Replace,
}

/// An application with its documents and history, as staff and the applicant read it.
#[derive(Debug, Clone)]
pub struct ApplicationView {
    /// The row.
    pub row: ApplicationRow,
    /// Its documents.
    pub documents: Vec<DocumentMeta>,
    /// Its history.
    pub events: Vec<ApplicationEvent>,
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random(bytes: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; bytes];
    getrandom::fill(&mut out).map_err(|e| StoreError::Token(format!("no randomness: {e}")))?;
    Ok(out)
}

/// The actor an applicant's own acts are recorded under.
pub const APPLICANT: &str = "applicant";

impl Registry {
    /// Files an application: a random id and a secret (returned once; only its hash is kept).
    pub fn file_application(
        &mut self,
        new: &NewApplication,
        now: DateTime<Utc>,
    ) -> Result<(ApplicationRow, String)> {
        let id = hex::encode(random(12)?);
        let secret = format!(
            "{APPLICATION_SECRET_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(random(32)?)
        );
        let row = ApplicationRow {
            id,
            secret_hash: hash(&secret),
            kind: new.kind,
            status: application::ApplicationStatus::Draft,
            lang: new.lang.clone(),
            email: new.email.clone(),
            filed_by: new.filed_by.clone(),
            request: new.request.clone(),
            serial: new.serial,
            fee: new.kind.fee(),
            payment: None,
            review: None,
            info_request: None,
            decision: None,
            issued_serial: None,
            created_at: now,
            updated_at: now,
            purged_at: None,
            reminded_for: None,
        };
        let actor = new.filed_by.as_deref().unwrap_or(APPLICANT);
        let tx = self.write()?;
        store::insert(&*tx, &row)?;
        record(&*tx, &row, actor, "file", None, now)?;
        tx.commit()?;
        Ok((row, secret))
    }

    /// The application `id`, if `secret` is its secret. A wrong secret and an unknown id answer the
    /// same, so neither can be told from the other.
    pub fn application_with_secret(&self, id: &str, secret: &str) -> Result<ApplicationRow> {
        let row = store::get(self.storage(), id)?;
        match row {
            Some(row) if bool::from(hash(secret).as_bytes().ct_eq(row.secret_hash.as_bytes())) => {
                Ok(row)
            }
            _ => Err(StoreError::NoApplication),
        }
    }

    /// The application `id` with its documents and history.
    pub fn application_view(&self, id: &str) -> Result<ApplicationView> {
        let row = store::get(self.storage(), id)?.ok_or(StoreError::NoApplication)?;
        Ok(ApplicationView {
            documents: store::documents(self.storage(), id)?,
            events: store::events(self.storage(), id)?,
            row,
        })
    }

    /// The review queue.
    pub fn application_queue(&self, filter: &QueueFilter) -> Result<Vec<ApplicationRow>> {
        store::queue(self.storage(), filter)
    }

    /// How many applications each status holds.
    pub fn application_counts(&self) -> Result<Vec<(application::ApplicationStatus, u64)>> {
        store::counts(self.storage())
    }

    /// One document of an application, with its bytes.
    pub fn application_document(
        &self,
        id: &str,
        name: DocumentName,
    ) -> Result<(DocumentMeta, Vec<u8>)> {
        store::document(self.storage(), id, name)?.ok_or(StoreError::NoDocument(name.as_str()))
    }

    /// Stores (or replaces) a document while the applicant may still change the application.
    pub fn put_application_document(
        &mut self,
        id: &str,
        meta: &DocumentMeta,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tx = self.write()?;
        let mut row = store::get(&*tx, id)?.ok_or(StoreError::NoApplication)?;
        if !row.status.open_to_applicant() {
            return Err(StoreError::Application(
                application::ApplicationError::Closed(row.status),
            ));
        }
        store::put_document(&*tx, id, meta, bytes)?;
        row.updated_at = now;
        store::update(&*tx, &row)?;
        store::insert_event(
            &*tx,
            id,
            &ApplicationEvent {
                at: now,
                actor: APPLICANT.into(),
                action: format!("document {}", meta.name.as_str()),
                status: row.status,
                note: None,
            },
        )?;
        tx.commit()
    }

    /// Submits the application (or answers a request for information): refused naming every
    /// document of `required` it lacks.
    pub fn submit_application(
        &mut self,
        id: &str,
        required: &[DocumentName],
        now: DateTime<Utc>,
    ) -> Result<ApplicationRow> {
        let tx = self.write()?;
        let mut row = store::get(&*tx, id)?.ok_or(StoreError::NoApplication)?;
        let next = application::next(row.status, Move::Submit)?;
        let held: Vec<DocumentName> = store::documents(&*tx, id)?
            .into_iter()
            .map(|d| d.name)
            .collect();
        application::missing(required, &held)?;
        row.status = next;
        row.info_request = None;
        row.updated_at = now;
        store::update(&*tx, &row)?;
        record(&*tx, &row, APPLICANT, "submit", None, now)?;
        tx.commit()?;
        Ok(row)
    }

    /// Withdraws the application, from any state before a decision.
    pub fn withdraw_application(&mut self, id: &str, now: DateTime<Utc>) -> Result<ApplicationRow> {
        let tx = self.write()?;
        let mut row = store::get(&*tx, id)?.ok_or(StoreError::NoApplication)?;
        row.status = application::next(row.status, Move::Withdraw)?;
        // The retention clock starts here, as for a refusal.
        row.decision = Some(Decision {
            reason: "withdrawn by the applicant".into(),
            by: APPLICANT.into(),
            at: now,
        });
        row.updated_at = now;
        store::update(&*tx, &row)?;
        record(&*tx, &row, APPLICANT, "withdraw", None, now)?;
        tx.commit()?;
        Ok(row)
    }

    /// A bank confirms the fee: the amount must be the fee, and a fee is paid once.
    pub fn confirm_payment(
        &mut self,
        id: &str,
        reference: &str,
        amount: u32,
        bank: &str,
        now: DateTime<Utc>,
    ) -> Result<ApplicationRow> {
        check_actor(bank)?;
        let tx = self.write()?;
        let mut row = store::get(&*tx, id)?.ok_or(StoreError::NoApplication)?;
        if row.status.is_final() {
            return Err(StoreError::Payment(format!(
                "the application is {}: no fee is due",
                row.status.as_str()
            )));
        }
        if let Some(p) = &row.payment {
            return Err(StoreError::Payment(format!(
                "the fee was already paid (reference {:?})",
                p.reference
            )));
        }
        if store::reference_used(&*tx, reference)? {
            return Err(StoreError::Payment(format!(
                "reference: {reference:?} already paid another application"
            )));
        }
        if amount != row.fee {
            return Err(StoreError::Payment(format!(
                "amount: {amount} som is not the fee of {} som",
                row.fee
            )));
        }
        row.payment = Some(Payment {
            reference: reference.to_owned(),
            amount,
            by: bank.to_owned(),
            at: now,
        });
        row.updated_at = now;
        store::update(&*tx, &row)?;
        record(&*tx, &row, bank, "pay", None, now)?;
        tx.commit()?;
        Ok(row)
    }

    /// An officer's review: `request_info` sends it back to the applicant with `note`; `approve` and
    /// `refuse` pass it to a second officer's decision.
    pub fn review_application(
        &mut self,
        id: &str,
        recommendation: Recommendation,
        note: &str,
        officer: &str,
        now: DateTime<Utc>,
    ) -> Result<ApplicationRow> {
        check_actor(officer)?;
        let tx = self.write()?;
        let mut row = store::get(&*tx, id)?.ok_or(StoreError::NoApplication)?;
        row.status = application::next(row.status, Move::Review(recommendation))?;
        let told = (recommendation == Recommendation::RequestInfo).then(|| note.to_owned());
        row.info_request = told.clone();
        row.review = Some(Review {
            recommendation: recommendation.as_str().to_owned(),
            note: note.to_owned(),
            by: officer.to_owned(),
            at: now,
        });
        row.updated_at = now;
        store::update(&*tx, &row)?;
        record(&*tx, &row, officer, "review", told.as_deref(), now)?;
        tx.commit()?;
        Ok(row)
    }

    /// The decision, by another officer than the reviewer. Approval needs the fee paid, and does
    /// `approval` in the same transaction: a card the rules refuse leaves the application as it was.
    #[allow(clippy::too_many_arguments)]
    pub fn decide_application(
        &mut self,
        id: &str,
        approve: bool,
        reason: &Reason,
        approval: Option<&Approval>,
        key: &IssuerKey,
        officer: &str,
        now: DateTime<Utc>,
    ) -> Result<(ApplicationRow, Option<IssuedCard>)> {
        check_actor(officer)?;
        let tx = self.write()?;
        let mut row = store::get(&*tx, id)?.ok_or(StoreError::NoApplication)?;
        let next = application::next(row.status, Move::Decide(approve))?;
        application::check_decision(
            approve,
            row.review.as_ref().map(|r| r.by.as_str()),
            officer,
            row.fee,
            row.payment.is_some(),
        )?;
        let issued = match (approve, approval) {
            (false, _) => None,
            (true, None) => {
                return Err(StoreError::Corrupt(
                    "an approval without what it issues".into(),
                ));
            }
            (true, Some(Approval::Issue(new))) => {
                rules::check_new_period(new.validity, issuer_date(now))?;
                Some(crate::registry::issue_in(&*tx, new, key, officer, now)?)
            }
            (true, Some(Approval::Extend(until))) => {
                let serial = row.serial.ok_or(StoreError::NoApplication)?;
                let why = Reason::parse(&format!("application {}", row.id))?;
                crate::registry::extend_in(&*tx, serial, *until, &why, officer, now)?;
                let record = crate::registry::load_card(&*tx, serial)?;
                Some(IssuedCard {
                    card: record.card,
                    payload: record.payload,
                })
            }
            (true, Some(Approval::Replace)) => {
                let serial = row.serial.ok_or(StoreError::NoApplication)?;
                let why = Reason::parse(&format!("application {}", row.id))?;
                Some(crate::registry::replace_in(
                    &*tx, serial, &why, key, officer, now,
                )?)
            }
        };
        row.status = next;
        row.issued_serial = issued.as_ref().map(|i| i.card.serial());
        row.decision = Some(Decision {
            reason: reason.as_ref().to_owned(),
            by: officer.to_owned(),
            at: now,
        });
        row.updated_at = now;
        store::update(&*tx, &row)?;
        let told = (!approve).then(|| reason.as_ref().to_owned());
        let action = Move::Decide(approve).as_str();
        record(&*tx, &row, officer, action, told.as_deref(), now)?;
        tx.commit()?;
        Ok((row, issued))
    }

    /// Deletes the documents of refused and withdrawn applications decided before `before` (the
    /// retention rule), each in its own transaction; the application, its history and an audit entry
    /// keep that they were. The ids purged.
    pub fn purge_applications(
        &mut self,
        before: DateTime<Utc>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        check_actor(actor)?;
        let due = store::purgeable(self.storage(), before)?;
        for id in &due {
            let tx = self.write()?;
            let Some(mut row) = store::get(&*tx, id)? else {
                continue;
            };
            let held = store::documents(&*tx, id)?.len();
            store::delete_documents(&*tx, id)?;
            row.purged_at = Some(now);
            store::update(&*tx, &row)?;
            store::insert_event(
                &*tx,
                id,
                &ApplicationEvent {
                    at: now,
                    actor: actor.to_owned(),
                    action: "purge".into(),
                    status: row.status,
                    note: None,
                },
            )?;
            audit::append(
                &*tx,
                now,
                actor,
                AuditAction::Application,
                None,
                json!({"application": id, "kind": row.kind.as_str(), "act": "purge", "status": row.status.as_str(), "documents_deleted": held}),
            )?;
            tx.commit()?;
        }
        Ok(due)
    }

    /// Messages waiting in the outbox.
    pub fn outbox(&self, limit: u32) -> Result<Vec<OutboxMessage>> {
        store::outbox(self.storage(), limit)
    }
}

/// The event, the audit entry and the applicant's message of a change of `row`.
fn record(
    tx: &dyn Storage,
    row: &ApplicationRow,
    actor: &str,
    action: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    store::insert_event(
        tx,
        &row.id,
        &ApplicationEvent {
            at: now,
            actor: actor.to_owned(),
            action: action.to_owned(),
            status: row.status,
            note: note.map(str::to_owned),
        },
    )?;
    audit::append(
        tx,
        now,
        actor,
        AuditAction::Application,
        row.issued_serial,
        json!({"application": row.id, "kind": row.kind.as_str(), "act": action, "status": row.status.as_str()}),
    )?;
    let (subject, body) = mail::status_message(row, note);
    store::insert_outbox(tx, &row.email, &subject, &body, now)
}
