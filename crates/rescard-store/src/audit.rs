//! The audit log: append-only, hash-chained. Each entry's hash is SHA-256 over the previous entry's
//! hash and the entry's own fields, so editing, removing or reordering an entry breaks the chain from
//! that entry on. Triggers refuse UPDATE and DELETE; the chain catches whoever bypasses them.

use chrono::{DateTime, Utc};
use rescard_core::Serial;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::StoreError;
use crate::model::{AuditAction, serialize_timestamp, timestamp, to_micros};
use crate::storage::Storage;

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the log, from 1.
    pub seq: u64,
    /// When.
    #[serde(serialize_with = "serialize_timestamp")]
    pub at: DateTime<Utc>,
    /// Who (the token's or operator's name).
    pub actor: String,
    /// What.
    pub action: AuditAction,
    /// The card concerned.
    #[serde(serialize_with = "serialize_serial")]
    pub serial: Option<Serial>,
    /// The act's details as JSON text, exactly as hashed (dates, reasons; never names, ITNs or
    /// passport numbers).
    pub details: String,
    /// The previous entry's hash (hex).
    pub prev_hash: String,
    /// This entry's hash (hex).
    pub hash: String,
}

fn serialize_serial<S: serde::Serializer>(
    serial: &Option<Serial>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match serial {
        Some(serial) => s.serialize_str(&serial.to_string()),
        None => s.serialize_none(),
    }
}

impl AuditEntry {
    /// The hash this entry's content gives (equal to `hash` unless the entry was edited).
    fn content_hash(&self) -> String {
        let serial = self.serial.map(|s| s.to_string());
        let canonical = serde_json::json!([
            self.seq,
            timestamp(self.at),
            self.actor,
            self.action.as_str(),
            serial,
            self.details,
            self.prev_hash
        ])
        .to_string();
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }
}

/// Appends an entry in the write transaction of the act it records: the next after the chain's head,
/// which the transaction's write lock keeps from moving under it.
pub(crate) fn append(
    store: &dyn Storage,
    now: DateTime<Utc>,
    actor: &str,
    action: AuditAction,
    serial: Option<Serial>,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    let (last_seq, prev_hash) = store
        .audit_head()?
        .unwrap_or_else(|| (0, GENESIS.to_owned()));
    let mut entry = AuditEntry {
        seq: last_seq + 1,
        // The log keeps microseconds: what is hashed is what is stored and read back.
        at: to_micros(now),
        actor: actor.to_owned(),
        action,
        serial,
        details: details.to_string(),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.content_hash();
    store.insert_audit(&entry)
}

/// What checking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditCheck {
    /// Every entry is in place: `entries` of them, the last with hash `head`.
    Intact {
        /// Number of entries.
        entries: usize,
        /// The last entry's hash (note it down: a removal of the newest entries shows only against it).
        head: String,
    },
    /// The first entry where the chain breaks, and how.
    Broken {
        /// The first bad entry's `seq` (or where a missing one should be).
        seq: u64,
        /// What happened to it.
        problem: String,
    },
}

/// Walks the chain from the first entry.
pub(crate) fn check(entries: &[AuditEntry]) -> AuditCheck {
    let mut prev_hash = GENESIS.to_owned();
    for (expected_seq, e) in (1u64..).zip(entries) {
        if e.seq != expected_seq {
            let problem = if e.seq > expected_seq {
                format!(
                    "entry {expected_seq} was removed (the log jumps from {} to {})",
                    expected_seq - 1,
                    e.seq
                )
            } else {
                format!("entry {} is out of order", e.seq)
            };
            return AuditCheck::Broken {
                seq: expected_seq,
                problem,
            };
        }
        if e.content_hash() != e.hash {
            return AuditCheck::Broken {
                seq: e.seq,
                problem: format!(
                    "entry {} was edited (its hash does not match its content)",
                    e.seq
                ),
            };
        }
        if e.prev_hash != prev_hash {
            return AuditCheck::Broken {
                seq: e.seq,
                problem: format!(
                    "entry {} does not follow entry {} (entries were removed, reordered or rewritten)",
                    e.seq,
                    e.seq - 1
                ),
            };
        }
        prev_hash = e.hash.clone();
    }
    AuditCheck::Intact {
        entries: entries.len(),
        head: prev_hash,
    }
}
