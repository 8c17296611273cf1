//! Reading the registry: card records with their history, the audit log and its check, card
//! statuses for verifiers, the status snapshot's entries, and the statistics.

use chrono::{DateTime, NaiveDate, Utc};
use rescard_core::status::StatusEntry;
use rescard_core::{
    Card, CardState, CurrentStatus, Holder, Kid, LatinName, Nationality, NativeName,
    PassportNumber, Portrait, Serial, StatusOrigin, StatusReport, StatusSource, ValidityPeriod,
};

use super::Registry;
use crate::audit::{self, AuditCheck, AuditEntry};
use crate::model::{AuditAction, CardRecord, HistoryEntry, Statistics};
use crate::storage::{Counter, Dimension, Storage};
use crate::{Result, StoreError};

/// A card whose status changed: how it now differs from its QR, `None` when it no longer does.
pub type StatusChange = (Serial, Option<CurrentStatus>);

impl Registry {
    /// Everything about one card.
    pub fn card(&self, serial: Serial) -> Result<CardRecord> {
        load_card(&*self.store, serial)
    }

    /// The whole audit log, oldest first.
    pub fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        self.consistent(|r| r.audit_page(0, u32::MAX))
    }

    /// Up to `limit` audit entries after sequence number `after`, oldest first.
    pub fn audit_page(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>> {
        self.store.audit_page(after, limit)
    }

    /// Checks the audit chain and names the first entry that was edited, removed or reordered.
    pub fn verify_audit(&self) -> Result<AuditCheck> {
        Ok(audit::check(&self.audit_log()?))
    }

    /// The status sequence number now: how many status changes the registry has recorded.
    pub fn status_sequence(&self) -> Result<u64> {
        self.store.current(Counter::Status)
    }

    /// The status sequence number now, and the entries of a status snapshot: with `since` 0 every card
    /// whose status differs from its QR; otherwise every card whose status changed after `since`, with
    /// its status now. In serial order.
    pub fn status_entries(&self, since: u64) -> Result<(u64, Vec<StatusEntry>)> {
        self.consistent(|r| {
            let sequence = r.store.current(Counter::Status)?;
            let entries = r
                .store
                .status_rows(since)?
                .into_iter()
                .map(|row| StatusEntry {
                    serial: row.serial,
                    state: row.state,
                    valid_until: (row.valid_until != row.printed_until).then_some(row.valid_until),
                    replaced_by: row.replaced_by,
                })
                .collect();
            Ok((sequence, entries))
        })
    }

    /// The status sequence number now, and how the cards whose status changed after `since` stand
    /// now (with `since` 0: every card whose status differs from its QR): each with the status it
    /// now has where that differs from its QR, `None` where it is back to what its QR says. In
    /// serial order. What a replica follows to keep every card's status in memory.
    pub fn status_changes(&self, since: u64) -> Result<(u64, Vec<StatusChange>)> {
        self.consistent(|r| {
            let sequence = r.store.current(Counter::Status)?;
            let changes = r
                .store
                .status_rows(since)?
                .into_iter()
                .map(|row| {
                    let differs =
                        row.state != CardState::Active || row.valid_until != row.printed_until;
                    let current = differs.then(|| CurrentStatus {
                        state: row.state,
                        valid_until: (row.valid_until != row.printed_until)
                            .then_some(row.valid_until),
                        reason: row.state_reason,
                        replaced_by: row.replaced_by,
                    });
                    (row.serial, current)
                })
                .collect();
            Ok((sequence, changes))
        })
    }

    /// Number of cards in each state, every state listed (0 when no card is in it).
    pub fn count_by_state(&self) -> Result<Vec<(CardState, u64)>> {
        // Every state, a state no card is in with 0: a gauge fed only the states that have cards
        // would keep the last count of a state that dropped to none.
        let mut out: Vec<(CardState, u64)> = CardState::ALL.iter().map(|s| (*s, 0)).collect();
        for (state, n) in self.store.count_by(Dimension::State)? {
            let state = CardState::from_name(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("state {state:?}")))?;
            if let Some(slot) = out.iter_mut().find(|(s, _)| *s == state) {
                slot.1 = n;
            }
        }
        Ok(out)
    }

    /// Counts for the statistics view: cards by state (every state), permit and nationality (most
    /// first); active cards whose validity ends within `days` of `today`; cards issued per month
    /// (`YYYY-MM`, in order).
    pub fn statistics(&self, today: NaiveDate, days: i64) -> Result<Statistics> {
        self.consistent(|r| {
            let most_first = |dimension| -> Result<Vec<(String, u64)>> {
                let mut counts = r.store.count_by(dimension)?;
                counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                Ok(counts)
            };
            let mut by_month = r.store.count_by(Dimension::IssuedMonth)?;
            by_month.sort();
            Ok(Statistics {
                by_state: r
                    .count_by_state()?
                    .into_iter()
                    .map(|(s, n)| (s.as_str().to_owned(), n))
                    .collect(),
                by_permit: most_first(Dimension::Permit)?,
                by_nationality: most_first(Dimension::Nationality)?,
                issued_per_month: by_month,
                expiring_soon: r
                    .store
                    .count_expiring(today, today + chrono::Duration::days(days))?,
            })
        })
    }

    /// The number of cards.
    pub fn card_count(&self) -> Result<u64> {
        self.store.card_count()
    }

    /// The backend's own consistency check (SQLite's `PRAGMA integrity_check`): `ok`, or what is
    /// wrong.
    pub fn integrity_check(&self) -> Result<String> {
        self.store.integrity_check()
    }

    /// Copies the whole registry, consistently, into a new SQLite file at `path` (mode 0600) while
    /// others keep reading and writing. On PostgreSQL, use its own tools (`pg_dump`, base backups).
    pub fn backup_to(&self, path: &std::path::Path) -> Result<()> {
        self.store.backup_to(path)
    }

    /// The status of `serial`, and the passport number of its holder, in one lookup: a bank's batch
    /// check reads both for every card.
    pub fn status_and_passport(
        &self,
        serial: Serial,
        now: DateTime<Utc>,
    ) -> Result<(StatusReport, Option<String>)> {
        Ok(match self.store.status_and_passport(serial)? {
            Some((current, passport)) => (report(Some(current), now), passport),
            None => (report(None, now), None),
        })
    }
}

impl StatusSource for Registry {
    type Error = StoreError;

    fn status(&self, serial: Serial, now: DateTime<Utc>) -> Result<StatusReport> {
        Ok(report(self.store.status(serial)?, now))
    }
}

fn report(current: Option<CurrentStatus>, now: DateTime<Utc>) -> StatusReport {
    StatusReport {
        origin: StatusOrigin::Registry,
        as_of: Some(now),
        stale: false,
        current,
    }
}

/// A card's record: its row, checked as the domain types, and its history.
pub(crate) fn load_card(store: &dyn Storage, serial: Serial) -> Result<CardRecord> {
    let row = store
        .card_row(serial)?
        .ok_or(StoreError::NotFound(serial))?;
    let corrupt = |e: rescard_core::DomainError| StoreError::Corrupt(e.to_string());
    let holder = Holder {
        surname: LatinName::surname(&row.surname).map_err(corrupt)?,
        given_names: LatinName::given_names(&row.given_names).map_err(corrupt)?,
        native_name: row
            .native_name
            .as_deref()
            .map(NativeName::parse)
            .transpose()
            .map_err(corrupt)?,
        date_of_birth: row.date_of_birth,
        sex: row
            .sex
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(corrupt)?,
        nationality: Nationality::parse(&row.nationality).map_err(corrupt)?,
    };
    let validity = ValidityPeriod::new(row.valid_from, row.printed_until).map_err(corrupt)?;
    let portrait = row
        .portrait
        .map(Portrait::parse)
        .transpose()
        .map_err(corrupt)?;
    let card = Card::new(
        serial,
        row.itn.parse().map_err(corrupt)?,
        holder,
        row.permit.parse().map_err(corrupt)?,
        validity,
        portrait.as_ref().map(Portrait::digest),
    )
    .and_then(|c| c.with_document(row.document))
    .map_err(corrupt)?;
    // A replacement card's history starts with the act that created it, recorded under the old serial.
    let history = store
        .card_audit(serial, row.replaces)?
        .into_iter()
        .map(|e| HistoryEntry {
            creates_replacement: e.serial != Some(serial) && e.action == AuditAction::Replace,
            at: e.at,
            actor: e.actor,
            action: e.action,
            details: serde_json::from_str(&e.details)
                .unwrap_or(serde_json::Value::String(e.details)),
        })
        .collect();
    Ok(CardRecord {
        card,
        payload: row.payload,
        kid: Kid::parse_hex(&row.kid)
            .ok_or_else(|| StoreError::Corrupt(format!("kid {:?}", row.kid)))?,
        state: row.state,
        state_reason: row.state_reason,
        period_from: row.last_extension_from.unwrap_or(validity.from()),
        valid_until: row.valid_until,
        replaces: row.replaces,
        replaced_by: row.replaced_by,
        passport_number: row
            .passport_number
            .as_deref()
            .map(PassportNumber::parse)
            .transpose()
            .map_err(corrupt)?,
        portrait,
        issued_at: row.issued_at,
        issued_by: row.issued_by,
        history,
    })
}
