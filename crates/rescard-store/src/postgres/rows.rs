//! Rows as the registry's types, and the values copy-registry binds.

use chrono::{DateTime, NaiveDate, Utc};
use rescard_core::{CurrentStatus, Serial};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::connection::pg;
use crate::Result;
use crate::audit::AuditEntry;
use crate::storage::{TokenRow, parse_serial, parse_state, unsigned};
use crate::tables::{Kind, Value};

pub(super) fn opt_serial(text: Option<String>) -> Result<Option<Serial>> {
    text.as_deref().map(parse_serial).transpose()
}

pub(super) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(pg)
}

pub(super) fn audit_entry(row: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: unsigned(get(row, 0)?),
        at: get(row, 1)?,
        actor: get(row, 2)?,
        action: get::<String>(row, 3)?.parse()?,
        serial: opt_serial(get(row, 4)?)?,
        details: get(row, 5)?,
        prev_hash: get(row, 6)?,
        hash: get(row, 7)?,
    })
}

pub(super) fn current_status(row: &Row) -> Result<CurrentStatus> {
    Ok(CurrentStatus {
        state: parse_state(&get::<String>(row, 0)?)?,
        valid_until: Some(get(row, 1)?),
        reason: get(row, 2)?,
        replaced_by: opt_serial(get(row, 3)?)?,
    })
}

pub(super) fn token_row(row: &Row) -> Result<TokenRow> {
    Ok(TokenRow {
        id: get(row, 0)?,
        name: get(row, 1)?,
        role: get::<String>(row, 2)?.parse()?,
        hash: get(row, 3)?,
        revoked: get(row, 4)?,
    })
}

/// A copied value bound as its column's PostgreSQL type.
#[derive(Debug)]
pub(super) struct PgValue<'a>(pub(super) &'a Value, pub(super) Kind);

impl ToSql for PgValue<'_> {
    fn to_sql(
        &self,
        ty: &tokio_postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        match (self.0, self.1) {
            (Value::Null, _) => Ok(tokio_postgres::types::IsNull::Yes),
            (Value::Int(n), Kind::Int32) => i32::try_from(*n)?.to_sql(ty, out),
            (Value::Int(n), _) => n.to_sql(ty, out),
            (Value::Text(t), _) => t.to_sql(ty, out),
            (Value::Date(d), _) => d.to_sql(ty, out),
            (Value::Time(t), _) => t.to_sql(ty, out),
            (Value::Bytes(b), _) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// A value bound as its kind, owned (for writes sent without waiting).
#[derive(Debug)]
pub(super) struct OwnedPgValue(pub(super) Value, pub(super) Kind);

impl ToSql for OwnedPgValue {
    fn to_sql(
        &self,
        ty: &tokio_postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        PgValue(&self.0, self.1).to_sql(ty, out)
    }

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

pub(super) fn read_value(row: &Row, i: usize, kind: Kind) -> Result<Value> {
    Ok(match kind {
        Kind::Int => get::<Option<i64>>(row, i)?.map(Value::Int),
        Kind::Int32 => get::<Option<i32>>(row, i)?.map(|n| Value::Int(i64::from(n))),
        Kind::Text => get::<Option<String>>(row, i)?.map(Value::Text),
        Kind::Date => get::<Option<NaiveDate>>(row, i)?.map(Value::Date),
        Kind::Time => get::<Option<DateTime<Utc>>>(row, i)?.map(Value::Time),
        Kind::Bytes => get::<Option<Vec<u8>>>(row, i)?.map(Value::Bytes),
    }
    .unwrap_or(Value::Null))
}

/// `?1`-style parameters as PostgreSQL's `$1`.
pub(super) fn dollar_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}
