//! The audit log: append-only, hash-chained. Each entry's hash is SHA-256 over the previous entry's
//! hash and the entry's own fields, so editing, removing or reordering an entry breaks the chain from
//! that entry on. Triggers refuse UPDATE and DELETE; the chain catches whoever bypasses them.

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::StoreError;

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the log, from 1.
    pub seq: i64,
    /// When.
    pub at: String,
    /// Who (the token's or operator's name).
    pub actor: String,
    /// What: `issue`, `extend`, `suspend`, `reinstate`, `revoke`, `replace`, ...
    pub action: String,
    /// The card concerned.
    pub serial: Option<String>,
    /// The act's details as JSON (dates, reasons; never names, ITNs or passport numbers).
    pub details: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

fn entry_hash(
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    serial: Option<&str>,
    details: &str,
    prev_hash: &str,
) -> String {
    let canonical =
        serde_json::json!([seq, at, actor, action, serial, details, prev_hash]).to_string();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Appends an entry inside `tx`, the transaction of the act it records.
pub(crate) fn append(
    tx: &rusqlite::Connection,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    serial: Option<&str>,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    let (last_seq, prev_hash): (i64, String) = tx
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok((0, GENESIS.to_owned())),
            e => Err(e),
        })?;
    let seq = last_seq + 1;
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let details = details.to_string();
    let hash = entry_hash(seq, &at, actor, action, serial, &details, &prev_hash);
    tx.prepare_cached("INSERT INTO audit (seq, at, actor, action, serial, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?.execute(
        params![seq, at, actor, action, serial, details, prev_hash, hash],
    )?;
    Ok(())
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
        seq: i64,
        /// What happened to it.
        problem: String,
    },
}

/// Walks the chain from the first entry.
pub(crate) fn check(entries: &[AuditEntry]) -> AuditCheck {
    let mut prev_hash = GENESIS.to_owned();
    for (expected_seq, e) in (1..).zip(entries) {
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
        let recomputed = entry_hash(
            e.seq,
            &e.at,
            &e.actor,
            &e.action,
            e.serial.as_deref(),
            &e.details,
            &e.prev_hash,
        );
        if recomputed != e.hash {
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
