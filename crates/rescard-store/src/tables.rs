//! The registry's tables, described once: each column's type as both backends hold it, and one
//! value of a row. [`TABLES`] lists every table for `copy-registry` ([`crate::copy`]); the storage
//! seam's generic reads and writes ([`crate::storage::Storage::select`], `change`) bind and read
//! [`Value`]s of these [`Kind`]s.

use chrono::{DateTime, NaiveDate, Utc};

/// A column's type, as both backends hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit integer.
    Int,
    /// A 32-bit integer (PostgreSQL `INTEGER`).
    Int32,
    /// Text.
    Text,
    /// A date.
    Date,
    /// A timestamp (UTC, microseconds).
    Time,
    /// Bytes.
    Bytes,
}

/// One value of a row being copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// No value.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// A date.
    Date(NaiveDate),
    /// A timestamp.
    Time(DateTime<Utc>),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// A table to copy: its name and columns, the first of which is its key (rows are read in its
/// order), and whether that key is an identity column whose sequence the target moves on.
#[derive(Debug)]
pub struct Table {
    /// The table's name.
    pub name: &'static str,
    /// Its columns, the key first.
    pub columns: &'static [(&'static str, Kind)],
    /// Whether the key is a generated row id.
    pub identity: bool,
}

impl Table {
    /// The columns' names, comma-separated.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

use Kind::{Bytes, Date, Int, Int32, Text, Time};

/// Every table of the registry, in an order that keeps foreign keys satisfied.
pub const TABLES: &[Table] = &[
    Table {
        name: "counters",
        columns: &[("name", Text), ("value", Int)],
        identity: false,
    },
    Table {
        name: "holders",
        columns: &[
            ("id", Int),
            ("itn", Text),
            ("date_of_birth", Date),
            ("itn_sequence", Int32),
            ("nationality", Text),
            ("passport_number", Text),
            ("created_at", Time),
        ],
        identity: true,
    },
    Table {
        name: "cards",
        columns: &[
            ("serial", Text),
            ("holder_id", Int),
            ("surname", Text),
            ("given_names", Text),
            ("native_name", Text),
            ("date_of_birth", Date),
            ("sex", Text),
            ("nationality", Text),
            ("permit", Text),
            ("valid_from", Date),
            ("printed_valid_until", Date),
            ("valid_until", Date),
            ("state", Text),
            ("state_reason", Text),
            ("replaces", Text),
            ("replaced_by", Text),
            ("kid", Text),
            ("payload", Text),
            ("portrait", Bytes),
            ("issued_at", Time),
            ("issued_by", Text),
            ("changed_at", Time),
            ("status_seq", Int),
            ("document", Text),
        ],
        identity: false,
    },
    Table {
        name: "extensions",
        columns: &[
            ("id", Int),
            ("serial", Text),
            ("valid_from", Date),
            ("valid_until", Date),
            ("reason", Text),
            ("at", Time),
            ("actor", Text),
        ],
        identity: true,
    },
    Table {
        name: "state_changes",
        columns: &[
            ("id", Int),
            ("serial", Text),
            ("from_state", Text),
            ("to_state", Text),
            ("reason", Text),
            ("at", Time),
            ("actor", Text),
        ],
        identity: true,
    },
    Table {
        name: "audit",
        columns: &[
            ("seq", Int),
            ("at", Time),
            ("actor", Text),
            ("action", Text),
            ("serial", Text),
            ("details", Text),
            ("prev_hash", Text),
            ("hash", Text),
        ],
        identity: false,
    },
    Table {
        name: "tokens",
        columns: &[
            ("id", Int),
            ("name", Text),
            ("role", Text),
            ("hash", Text),
            ("created_at", Time),
            ("created_by", Text),
            ("revoked_at", Time),
        ],
        identity: true,
    },
    Table {
        name: "issuer_keys",
        columns: &[
            ("position", Int32),
            ("kid", Text),
            ("public_key", Text),
            ("status", Text),
            ("not_before", Time),
            ("not_after", Time),
        ],
        identity: false,
    },
    Table {
        name: "root_statements",
        columns: &[
            ("id", Int),
            ("kind", Text),
            ("kid", Text),
            ("statement", Bytes),
            ("added_at", Time),
            ("added_by", Text),
        ],
        identity: true,
    },
    Table {
        name: "console_sessions",
        columns: &[
            ("id_hash", Text),
            ("token_id", Int),
            ("csrf", Text),
            ("created_at", Time),
            ("expires_at", Time),
        ],
        identity: false,
    },
    Table {
        name: "applications",
        columns: crate::applications::store::APPLICATION_COLUMNS,
        identity: false,
    },
    Table {
        name: "application_documents",
        columns: crate::applications::store::DOCUMENT_COLUMNS,
        identity: true,
    },
    Table {
        name: "application_events",
        columns: crate::applications::store::EVENT_COLUMNS,
        identity: true,
    },
    Table {
        name: "outbox",
        columns: crate::applications::store::OUTBOX_COLUMNS,
        identity: true,
    },
];
