//! What the registry keeps of applications, written once for both backends over
//! [`Storage::select`] and [`Storage::change`]: the columns are described here (and copied by
//! `copy-registry` from the same description), and each row maps to and from [`Value`]s.

use chrono::{DateTime, Utc};
use rescard_core::Serial;
use rescard_core::application::{ApplicationStatus, DocumentName};

use super::{
    ApplicationEvent, ApplicationRow, Decision, DocumentMeta, OutboxMessage, Payment, QueueFilter,
    Review, document_parse, kind_parse, status_parse,
};
use crate::storage::Storage;
use crate::tables::{Kind, Value};
use crate::{Result, StoreError};

use Kind::{Bytes, Date, Int, Text, Time};

/// The columns of `applications`, in the order of `select_applications!` and of the row's values.
pub(crate) const APPLICATION_COLUMNS: &[(&str, Kind)] = &[
    ("id", Text),
    ("secret_hash", Text),
    ("kind", Text),
    ("status", Text),
    ("lang", Text),
    ("email", Text),
    ("filed_by", Text),
    ("request", Text),
    ("serial", Text),
    ("fee", Int),
    ("paid_reference", Text),
    ("paid_amount", Int),
    ("paid_by", Text),
    ("paid_at", Time),
    ("recommendation", Text),
    ("review_note", Text),
    ("reviewed_by", Text),
    ("reviewed_at", Time),
    ("info_request", Text),
    ("decision_reason", Text),
    ("decided_by", Text),
    ("decided_at", Time),
    ("issued_serial", Text),
    ("created_at", Time),
    ("updated_at", Time),
    ("purged_at", Time),
    ("reminded_for", Date),
];

/// The columns of `application_documents`.
pub(crate) const DOCUMENT_COLUMNS: &[(&str, Kind)] = &[
    ("id", Int),
    ("application_id", Text),
    ("name", Text),
    ("content_type", Text),
    ("sha256", Text),
    ("size", Int),
    ("bytes", Bytes),
    ("uploaded_at", Time),
];

/// The columns of `application_events`.
pub(crate) const EVENT_COLUMNS: &[(&str, Kind)] = &[
    ("id", Int),
    ("application_id", Text),
    ("at", Time),
    ("actor", Text),
    ("action", Text),
    ("status", Text),
    ("note", Text),
];

/// The columns of `outbox`.
pub(crate) const OUTBOX_COLUMNS: &[(&str, Kind)] = &[
    ("id", Int),
    ("to_address", Text),
    ("subject", Text),
    ("body", Text),
    ("created_at", Time),
    ("attempts", Int),
    ("next_attempt_at", Time),
    ("sent_at", Time),
    ("last_error", Text),
];

/// `SELECT` of [`APPLICATION_COLUMNS`] from `applications`, then `$tail`.
macro_rules! select_applications {
    ($tail:literal) => {
        concat!(
            "SELECT id, secret_hash, kind, status, lang, email, filed_by, request, serial, fee, paid_reference, paid_amount, paid_by, paid_at, recommendation, review_note, reviewed_by, reviewed_at, info_request, decision_reason, decided_by, decided_at, issued_serial, created_at, updated_at, purged_at, reminded_for FROM applications",
            $tail
        )
    };
}

fn kinds(columns: &[(&str, Kind)]) -> Vec<Kind> {
    columns.iter().map(|(_, k)| *k).collect()
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn opt_text(s: Option<impl Into<String>>) -> Value {
    s.map_or(Value::Null, |s| Value::Text(s.into()))
}

fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, Value::Time)
}

fn opt_serial(s: Option<Serial>) -> Value {
    opt_text(s.map(|s| s.to_string()))
}

fn row_values(r: &ApplicationRow) -> Vec<Value> {
    let p = r.payment.as_ref();
    let v = r.review.as_ref();
    let d = r.decision.as_ref();
    vec![
        text(&r.id),
        text(&r.secret_hash),
        text(r.kind.as_str()),
        text(r.status.as_str()),
        text(&r.lang),
        text(&r.email),
        opt_text(r.filed_by.clone()),
        text(&r.request),
        opt_serial(r.serial),
        Value::Int(i64::from(r.fee)),
        opt_text(p.map(|p| p.reference.clone())),
        p.map_or(Value::Null, |p| Value::Int(i64::from(p.amount))),
        opt_text(p.map(|p| p.by.clone())),
        opt_time(p.map(|p| p.at)),
        opt_text(v.map(|v| v.recommendation.clone())),
        opt_text(v.map(|v| v.note.clone())),
        opt_text(v.map(|v| v.by.clone())),
        opt_time(v.map(|v| v.at)),
        opt_text(r.info_request.clone()),
        opt_text(d.map(|d| d.reason.clone())),
        opt_text(d.map(|d| d.by.clone())),
        opt_time(d.map(|d| d.at)),
        opt_serial(r.issued_serial),
        Value::Time(r.created_at),
        Value::Time(r.updated_at),
        opt_time(r.purged_at),
        r.reminded_for.map_or(Value::Null, Value::Date),
    ]
}

/// Reads the values of a row, in order.
struct Cells(std::vec::IntoIter<Value>);

impl Cells {
    fn next(&mut self) -> Result<Value> {
        self.0
            .next()
            .ok_or_else(|| StoreError::Corrupt("a row with too few columns".into()))
    }
    fn text(&mut self) -> Result<String> {
        self.opt_text()?
            .ok_or_else(|| StoreError::Corrupt("a required text is missing".into()))
    }
    fn opt_text(&mut self) -> Result<Option<String>> {
        match self.next()? {
            Value::Null => Ok(None),
            Value::Text(t) => Ok(Some(t)),
            other => Err(StoreError::Corrupt(format!("{other:?} where text belongs"))),
        }
    }
    fn opt_int(&mut self) -> Result<Option<i64>> {
        match self.next()? {
            Value::Null => Ok(None),
            Value::Int(n) => Ok(Some(n)),
            other => Err(StoreError::Corrupt(format!(
                "{other:?} where a number belongs"
            ))),
        }
    }
    fn int(&mut self) -> Result<i64> {
        self.opt_int()?
            .ok_or_else(|| StoreError::Corrupt("a required number is missing".into()))
    }
    fn amount(&mut self) -> Result<Option<u32>> {
        self.opt_int()?
            .map(|n| u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("amount {n}"))))
            .transpose()
    }
    fn opt_time(&mut self) -> Result<Option<DateTime<Utc>>> {
        match self.next()? {
            Value::Null => Ok(None),
            Value::Time(t) => Ok(Some(t)),
            other => Err(StoreError::Corrupt(format!(
                "{other:?} where a time belongs"
            ))),
        }
    }
    fn time(&mut self) -> Result<DateTime<Utc>> {
        self.opt_time()?
            .ok_or_else(|| StoreError::Corrupt("a required time is missing".into()))
    }
    fn opt_date(&mut self) -> Result<Option<chrono::NaiveDate>> {
        match self.next()? {
            Value::Null => Ok(None),
            Value::Date(d) => Ok(Some(d)),
            other => Err(StoreError::Corrupt(format!(
                "{other:?} where a date belongs"
            ))),
        }
    }
    fn opt_serial(&mut self) -> Result<Option<Serial>> {
        self.opt_text()?
            .map(|s| {
                s.parse::<Serial>()
                    .map_err(|_| StoreError::Corrupt(format!("serial {s:?}")))
            })
            .transpose()
    }
    fn bytes(&mut self) -> Result<Vec<u8>> {
        match self.next()? {
            Value::Bytes(b) => Ok(b),
            other => Err(StoreError::Corrupt(format!("{other:?} where bytes belong"))),
        }
    }
}

fn application_row(values: Vec<Value>) -> Result<ApplicationRow> {
    let mut c = Cells(values.into_iter());
    let id = c.text()?;
    let secret_hash = c.text()?;
    let kind = kind_parse(&c.text()?)?;
    let status = status_parse(&c.text()?)?;
    let lang = c.text()?;
    let email = c.text()?;
    let filed_by = c.opt_text()?;
    let request = c.text()?;
    let serial = c.opt_serial()?;
    let fee = c.amount()?.unwrap_or(0);
    let (reference, amount, by, at) = (c.opt_text()?, c.amount()?, c.opt_text()?, c.opt_time()?);
    let payment = match (reference, amount, by, at) {
        (Some(reference), Some(amount), Some(by), Some(at)) => Some(Payment {
            reference,
            amount,
            by,
            at,
        }),
        _ => None,
    };
    let (rec, note, by, at) = (c.opt_text()?, c.opt_text()?, c.opt_text()?, c.opt_time()?);
    let review = match (rec, note, by, at) {
        (Some(recommendation), note, Some(by), Some(at)) => Some(Review {
            recommendation,
            note: note.unwrap_or_default(),
            by,
            at,
        }),
        _ => None,
    };
    let info_request = c.opt_text()?;
    let (reason, by, at) = (c.opt_text()?, c.opt_text()?, c.opt_time()?);
    let decision = match (reason, by, at) {
        (reason, Some(by), Some(at)) => Some(Decision {
            reason: reason.unwrap_or_default(),
            by,
            at,
        }),
        _ => None,
    };
    Ok(ApplicationRow {
        id,
        secret_hash,
        kind,
        status,
        lang,
        email,
        filed_by,
        request,
        serial,
        fee,
        payment,
        review,
        info_request,
        decision,
        issued_serial: c.opt_serial()?,
        created_at: c.time()?,
        updated_at: c.time()?,
        purged_at: c.opt_time()?,
        reminded_for: c.opt_date()?,
    })
}

fn with_kinds(values: Vec<Value>, columns: &[(&str, Kind)]) -> Vec<(Value, Kind)> {
    values
        .into_iter()
        .zip(columns.iter().map(|(_, k)| *k))
        .collect()
}

/// Records a new application.
pub(crate) fn insert(store: &dyn Storage, row: &ApplicationRow) -> Result<()> {
    store.change(
        "INSERT INTO applications (id, secret_hash, kind, status, lang, email, filed_by, request, serial, fee, paid_reference, paid_amount, paid_by, paid_at, recommendation, review_note, reviewed_by, reviewed_at, info_request, decision_reason, decided_by, decided_at, issued_serial, created_at, updated_at, purged_at, reminded_for)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)",
        with_kinds(row_values(row), APPLICATION_COLUMNS),
    )
}

/// Writes an application's row back, whole (its id and secret never change).
pub(crate) fn update(store: &dyn Storage, row: &ApplicationRow) -> Result<()> {
    store.change(
        "UPDATE applications SET kind = $3, status = $4, lang = $5, email = $6, filed_by = $7, request = $8, serial = $9, fee = $10, paid_reference = $11, paid_amount = $12, paid_by = $13, paid_at = $14, recommendation = $15, review_note = $16, reviewed_by = $17, reviewed_at = $18, info_request = $19, decision_reason = $20, decided_by = $21, decided_at = $22, issued_serial = $23, created_at = $24, updated_at = $25, purged_at = $26, reminded_for = $27
         WHERE id = $1 AND secret_hash = $2",
        with_kinds(row_values(row), APPLICATION_COLUMNS),
    )
}

/// The application `id`.
pub(crate) fn get(store: &dyn Storage, id: &str) -> Result<Option<ApplicationRow>> {
    let mut rows = store.select(
        select_applications!(" WHERE id = $1"),
        &[(text(id), Text)],
        &kinds(APPLICATION_COLUMNS),
    )?;
    rows.pop().map(application_row).transpose()
}

/// The review queue: oldest first, a page at a time (keyed on filing time and id, so a page is as
/// fast at the end of the queue as at its start). Each parameter is used typed before it is tested
/// for NULL: PostgreSQL infers a parameter's type from its first use.
pub(crate) fn queue(store: &dyn Storage, f: &QueueFilter) -> Result<Vec<ApplicationRow>> {
    let statuses = if f.statuses.is_empty() {
        super::OPEN_STATUSES.to_vec()
    } else {
        f.statuses.clone()
    };
    let mut params = vec![
        (opt_text(f.kind.map(|k| k.as_str())), Text),
        (opt_time(f.filed_before), Time),
        (opt_text(f.after.as_ref().map(|a| a.1.clone())), Text),
        (opt_time(f.after.as_ref().map(|a| a.0)), Time),
    ];
    params.extend(
        ApplicationStatus::ALL
            .iter()
            .map(|s| (opt_text(statuses.contains(s).then(|| s.as_str())), Text)),
    );
    params.push((Value::Int(i64::from(f.limit)), Int));
    store
        .select(
            select_applications!(
                " WHERE (kind = $1 OR $1 IS NULL) AND (created_at < $2 OR $2 IS NULL)
                   AND ((created_at, id) > ($4, $3) OR $3 IS NULL)
                   AND status IN ($5, $6, $7, $8, $9, $10, $11)
                 ORDER BY created_at, id LIMIT $12"
            ),
            &params,
            &kinds(APPLICATION_COLUMNS),
        )?
        .into_iter()
        .map(application_row)
        .collect()
}

/// How many applications each status holds.
pub(crate) fn counts(store: &dyn Storage) -> Result<Vec<(ApplicationStatus, u64)>> {
    store
        .select(
            "SELECT status, COUNT(*) FROM applications GROUP BY status ORDER BY status",
            &[],
            &[Text, Int],
        )?
        .into_iter()
        .map(|row| {
            let mut c = Cells(row.into_iter());
            Ok((
                status_parse(&c.text()?)?,
                u64::try_from(c.int()?).unwrap_or(0),
            ))
        })
        .collect()
}

/// Stores a document, replacing one of the same name.
pub(crate) fn put_document(
    store: &dyn Storage,
    id: &str,
    meta: &DocumentMeta,
    bytes: &[u8],
) -> Result<()> {
    store.change(
        "INSERT INTO application_documents (application_id, name, content_type, sha256, size, bytes, uploaded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (application_id, name) DO UPDATE SET content_type = excluded.content_type,
             sha256 = excluded.sha256, size = excluded.size, bytes = excluded.bytes, uploaded_at = excluded.uploaded_at",
        vec![
            (text(id), Text),
            (text(meta.name.as_str()), Text),
            (text(&meta.content_type), Text),
            (text(&meta.sha256), Text),
            (Value::Int(i64::try_from(meta.size).unwrap_or(i64::MAX)), Int),
            (Value::Bytes(bytes.to_vec()), Bytes),
            (Value::Time(meta.uploaded_at), Time),
        ],
    )
}

fn document_meta(c: &mut Cells) -> Result<DocumentMeta> {
    Ok(DocumentMeta {
        name: document_parse(&c.text()?)?,
        content_type: c.text()?,
        sha256: c.text()?,
        size: u64::try_from(c.int()?).unwrap_or(0),
        uploaded_at: c.time()?,
    })
}

/// The documents an application holds, by name.
pub(crate) fn documents(store: &dyn Storage, id: &str) -> Result<Vec<DocumentMeta>> {
    store
        .select(
            "SELECT name, content_type, sha256, size, uploaded_at FROM application_documents WHERE application_id = $1 ORDER BY name",
            &[(text(id), Text)],
            &[Text, Text, Text, Int, Time],
        )?
        .into_iter()
        .map(|row| document_meta(&mut Cells(row.into_iter())))
        .collect()
}

/// One document, with its bytes.
pub(crate) fn document(
    store: &dyn Storage,
    id: &str,
    name: DocumentName,
) -> Result<Option<(DocumentMeta, Vec<u8>)>> {
    let mut rows = store.select(
        "SELECT name, content_type, sha256, size, uploaded_at, bytes FROM application_documents WHERE application_id = $1 AND name = $2",
        &[(text(id), Text), (text(name.as_str()), Text)],
        &[Text, Text, Text, Int, Time, Bytes],
    )?;
    rows.pop()
        .map(|row| {
            let mut c = Cells(row.into_iter());
            Ok((document_meta(&mut c)?, c.bytes()?))
        })
        .transpose()
}

/// Deletes every document of an application.
pub(crate) fn delete_documents(store: &dyn Storage, id: &str) -> Result<()> {
    store.change(
        "DELETE FROM application_documents WHERE application_id = $1",
        vec![(text(id), Text)],
    )
}

/// Appends a step to an application's history.
pub(crate) fn insert_event(store: &dyn Storage, id: &str, e: &ApplicationEvent) -> Result<()> {
    store.change(
        "INSERT INTO application_events (application_id, at, actor, action, status, note) VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            (text(id), Text),
            (Value::Time(e.at), Time),
            (text(&e.actor), Text),
            (text(&e.action), Text),
            (text(e.status.as_str()), Text),
            (opt_text(e.note.clone()), Text),
        ],
    )
}

/// An application's history, oldest first.
pub(crate) fn events(store: &dyn Storage, id: &str) -> Result<Vec<ApplicationEvent>> {
    store
        .select(
            "SELECT at, actor, action, status, note FROM application_events WHERE application_id = $1 ORDER BY id",
            &[(text(id), Text)],
            &[Time, Text, Text, Text, Text],
        )?
        .into_iter()
        .map(|row| {
            let mut c = Cells(row.into_iter());
            Ok(ApplicationEvent {
                at: c.time()?,
                actor: c.text()?,
                action: c.text()?,
                status: status_parse(&c.text()?)?,
                note: c.opt_text()?,
            })
        })
        .collect()
}

/// Refused and withdrawn applications decided before `before` whose documents are not yet deleted.
pub(crate) fn purgeable(store: &dyn Storage, before: DateTime<Utc>) -> Result<Vec<String>> {
    store
        .select(
            "SELECT id FROM applications WHERE status IN ('refused', 'withdrawn') AND purged_at IS NULL AND decided_at < $1 ORDER BY decided_at, id",
            &[(Value::Time(before), Time)],
            &[Text],
        )?
        .into_iter()
        .map(|row| Cells(row.into_iter()).text())
        .collect()
}

/// Puts a message in the outbox, due at once.
pub(crate) fn insert_outbox(
    store: &dyn Storage,
    to: &str,
    subject: &str,
    body: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    store.change(
        "INSERT INTO outbox (to_address, subject, body, created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, 0, $4)",
        vec![
            (text(to), Text),
            (text(subject), Text),
            (text(body), Text),
            (Value::Time(at), Time),
        ],
    )
}

/// Messages not yet sent, oldest first.
pub(crate) fn outbox(store: &dyn Storage, limit: u32) -> Result<Vec<OutboxMessage>> {
    store
        .select(
            "SELECT id, to_address, subject, body, created_at, attempts, next_attempt_at, sent_at, last_error FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1",
            &[(Value::Int(i64::from(limit)), Int)],
            &kinds(OUTBOX_COLUMNS),
        )?
        .into_iter()
        .map(outbox_message)
        .collect()
}

/// Messages due at `now`, at most `limit`, oldest first; each is leased until `until`, so another
/// replica's sender skips it while this one tries.
pub(crate) fn claim_outbox(
    store: &dyn Storage,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<OutboxMessage>> {
    let due: Vec<OutboxMessage> = store
        .select(
            "SELECT id, to_address, subject, body, created_at, attempts, next_attempt_at, sent_at, last_error FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
            &[(Value::Time(now), Time), (Value::Int(i64::from(limit)), Int)],
            &kinds(OUTBOX_COLUMNS),
        )?
        .into_iter()
        .map(outbox_message)
        .collect::<Result<_>>()?;
    for m in &due {
        store.change(
            "UPDATE outbox SET next_attempt_at = $2 WHERE id = $1",
            vec![(Value::Int(m.id), Int), (Value::Time(until), Time)],
        )?;
    }
    Ok(due)
}

/// Message `id` was accepted by the mail server.
pub(crate) fn outbox_sent(store: &dyn Storage, id: i64, at: DateTime<Utc>) -> Result<()> {
    store.change(
        "UPDATE outbox SET sent_at = $2, last_error = NULL WHERE id = $1",
        vec![(Value::Int(id), Int), (Value::Time(at), Time)],
    )
}

/// Message `id` could not be sent: counted, and tried again at `next`.
pub(crate) fn outbox_failed(
    store: &dyn Storage,
    id: i64,
    error: &str,
    next: DateTime<Utc>,
) -> Result<()> {
    store.change(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1",
        vec![
            (Value::Int(id), Int),
            (text(error), Text),
            (Value::Time(next), Time),
        ],
    )
}

/// How many messages wait, and the oldest one's time.
pub(crate) fn outbox_pending(store: &dyn Storage) -> Result<(u64, Option<DateTime<Utc>>)> {
    let mut rows = store.select(
        "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL",
        &[],
        &[Int, Time],
    )?;
    let mut c = Cells(rows.pop().unwrap_or_default().into_iter());
    Ok((u64::try_from(c.int()?).unwrap_or(0), c.opt_time()?))
}

/// Approved applications whose active card ends from `first` to `last` (both included), and whose
/// holder was not yet reminded of that last day: the application and the day. A card that several
/// approved applications name (a card, then its extensions) is reminded through the latest only.
pub(crate) fn due_reminders(
    store: &dyn Storage,
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
) -> Result<Vec<(String, chrono::NaiveDate)>> {
    store
        .select(
            "SELECT a.id, c.valid_until FROM applications a JOIN cards c ON c.serial = a.issued_serial
              WHERE a.status = 'approved' AND c.state = 'active' AND c.valid_until >= $1 AND c.valid_until <= $2
                AND (a.reminded_for IS NULL OR a.reminded_for <> c.valid_until)
                AND a.id = (SELECT b.id FROM applications b WHERE b.issued_serial = a.issued_serial AND b.status = 'approved'
                             ORDER BY b.decided_at DESC, b.id DESC LIMIT 1)
              ORDER BY c.valid_until, a.id",
            &[(Value::Date(first), Date), (Value::Date(last), Date)],
            &[Text, Date],
        )?
        .into_iter()
        .map(|row| {
            let mut c = Cells(row.into_iter());
            let id = c.text()?;
            let day = c
                .opt_date()?
                .ok_or_else(|| StoreError::Corrupt("a card without its last day".into()))?;
            Ok((id, day))
        })
        .collect()
}

fn outbox_message(row: Vec<Value>) -> Result<OutboxMessage> {
    let mut c = Cells(row.into_iter());
    Ok(OutboxMessage {
        id: c.int()?,
        to: c.text()?,
        subject: c.text()?,
        body: c.text()?,
        created_at: c.time()?,
        attempts: u32::try_from(c.int()?).unwrap_or(u32::MAX),
        next_attempt_at: c.time()?,
        sent_at: c.opt_time()?,
        last_error: c.opt_text()?,
    })
}

/// Whether a bank's payment reference already paid an application.
pub(crate) fn reference_used(store: &dyn Storage, reference: &str) -> Result<bool> {
    let rows = store.select(
        "SELECT id FROM applications WHERE paid_reference = $1 LIMIT 1",
        &[(text(reference), Text)],
        &[Text],
    )?;
    Ok(!rows.is_empty())
}
