//! SQLite's text columns as the registry's types, and the values copy-registry binds.

use chrono::{DateTime, NaiveDate, Utc};
use rescard_core::CurrentStatus;

use crate::audit::AuditEntry;
use crate::model::timestamp;
use crate::storage::{parse_serial, parse_state};
use crate::tables::{Kind, Value};
use crate::{Result, StoreError};

pub(super) fn parse_date(text: &str) -> Result<NaiveDate> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("date {text:?}")))
}

pub(super) fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("timestamp {text:?}")))
}

/// The columns of an audit row, in the order every audit query selects them.
pub(super) const AUDIT_COLUMNS: &str = "seq, at, actor, action, serial, details, prev_hash, hash";

pub(super) type AuditText = (
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
);

pub(super) fn audit_text(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditText> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

pub(super) fn audit_entry(row: AuditText) -> Result<AuditEntry> {
    let (seq, at, actor, action, serial, details, prev_hash, hash) = row;
    Ok(AuditEntry {
        seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("audit seq {seq}")))?,
        at: parse_time(&at)?,
        actor,
        action: action.parse()?,
        serial: serial.as_deref().map(parse_serial).transpose()?,
        details,
        prev_hash,
        hash,
    })
}

pub(super) fn status_of(
    state: &str,
    until: &str,
    reason: Option<String>,
    replaced_by: Option<&str>,
) -> Result<CurrentStatus> {
    Ok(CurrentStatus {
        state: parse_state(state)?,
        valid_until: Some(parse_date(until)?),
        reason,
        replaced_by: replaced_by.map(parse_serial).transpose()?,
    })
}

/// A copied value as SQLite stores it (dates and times as text).
pub(super) fn to_sql(value: &Value) -> Result<rusqlite::types::Value> {
    use rusqlite::types::Value as V;
    Ok(match value {
        Value::Null => V::Null,
        Value::Int(n) => V::Integer(*n),
        Value::Text(t) => V::Text(t.clone()),
        Value::Date(d) => V::Text(d.to_string()),
        Value::Time(t) => V::Text(timestamp(*t)),
        Value::Bytes(b) => V::Blob(b.clone()),
    })
}

/// A stored value as the column's kind.
pub(super) fn from_sql(value: rusqlite::types::ValueRef<'_>, kind: Kind) -> Result<Value> {
    use rusqlite::types::ValueRef as V;
    let text = |t: &[u8]| {
        std::str::from_utf8(t)
            .map(str::to_owned)
            .map_err(|_| StoreError::Corrupt("text that is not UTF-8".into()))
    };
    Ok(match (value, kind) {
        (V::Null, _) => Value::Null,
        (V::Integer(n), Kind::Int | Kind::Int32) => Value::Int(n),
        (V::Text(t), Kind::Text) => Value::Text(text(t)?),
        (V::Text(t), Kind::Date) => Value::Date(parse_date(&text(t)?)?),
        (V::Text(t), Kind::Time) => Value::Time(parse_time(&text(t)?)?),
        (V::Blob(b), Kind::Bytes) => Value::Bytes(b.to_vec()),
        (other, kind) => {
            return Err(StoreError::Corrupt(format!(
                "a {:?} where a {kind:?} belongs",
                other.data_type()
            )));
        }
    })
}
