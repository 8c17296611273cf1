use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rescard_core::domain::date::issuer_date;
use rescard_core::rules::{self, Act};
use rescard_core::status::StatusEntry;
use rescard_core::{
    Card, CardState, CurrentStatus, Holder, IssuerKey, Itn, LatinName, Nationality, NativeName,
    PassportNumber, Permit, Portrait, Reason, Serial, StatusOrigin, StatusReport, StatusSource,
    ValidityPeriod, codec,
};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::json;

use crate::audit::{self, AuditCheck, AuditEntry};
use crate::{Result, StoreError, schema};

/// An application for a new card.
#[derive(Debug, Clone)]
pub struct NewCard {
    /// The holder as the card will print them.
    pub holder: Holder,
    /// The purpose of stay.
    pub permit: Permit,
    /// The printed period.
    pub validity: ValidityPeriod,
    /// Passport number (registry only): a later card for the same passport keeps the ITN.
    pub passport_number: Option<PassportNumber>,
    /// Portrait (registry only; its digest travels in the QR).
    pub portrait: Option<Portrait>,
}

/// Counts for the staff console's statistics view.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Statistics {
    /// Cards by state.
    pub by_state: Vec<(String, u64)>,
    /// Cards by permit, most first.
    pub by_permit: Vec<(String, u64)>,
    /// Cards by nationality, most first.
    pub by_nationality: Vec<(String, u64)>,
    /// Cards issued per month, `YYYY-MM`.
    pub issued_per_month: Vec<(String, u64)>,
    /// Active cards whose validity ends within the window asked for.
    pub expiring_soon: u64,
}

/// A card just issued.
#[derive(Debug, Clone)]
pub struct IssuedCard {
    /// The card.
    pub card: Card,
    /// Its signed QR payload.
    pub payload: String,
}

/// One line of a card's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryEntry {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Dates and reasons, as JSON.
    pub details: serde_json::Value,
}

/// Everything the registry holds about a card.
#[derive(Debug, Clone)]
pub struct CardRecord {
    /// The card as printed.
    pub card: Card,
    /// Its QR payload.
    pub payload: String,
    /// The key id that signed it (hex).
    pub kid: String,
    /// Its state.
    pub state: CardState,
    /// Why it was last suspended, revoked or replaced.
    pub state_reason: Option<String>,
    /// First day of the current period (the printed `valid_from`, or the latest extension's start).
    pub period_from: NaiveDate,
    /// Current last day of validity.
    pub valid_until: NaiveDate,
    /// The card this one replaced.
    pub replaces: Option<Serial>,
    /// The card that replaced this one.
    pub replaced_by: Option<Serial>,
    /// Passport number, when given.
    pub passport_number: Option<String>,
    /// Portrait, when given.
    pub portrait: Option<Vec<u8>>,
    /// When it was issued.
    pub issued_at: String,
    /// Who issued it.
    pub issued_by: String,
    /// Every act on it, oldest first.
    pub history: Vec<HistoryEntry>,
}

impl CardRecord {
    /// Its current status, as a verifier sees it.
    pub fn current_status(&self) -> CurrentStatus {
        CurrentStatus {
            state: self.state,
            valid_until: Some(self.valid_until),
            reason: self.state_reason.clone(),
            replaced_by: self.replaced_by,
        }
    }
}

/// The registry, on one SQLite connection.
pub struct Registry {
    conn: Connection,
}

pub(crate) fn timestamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Refuses an act without an actor, or with one a listing could not show as it is.
pub(crate) fn check_actor(actor: &str) -> Result<()> {
    if actor.trim().is_empty() {
        return Err(StoreError::NoActor);
    }
    // The actor is shown in every history and audit listing: the same characters as a reason.
    Reason::check_actor(actor)?;
    Ok(())
}

impl Registry {
    /// Opens (creating if need be) the registry at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        crate::files::make_private(path)?;
        let mut conn = Connection::open(path)?;
        schema::prepare(&mut conn)?;
        Ok(Self { conn })
    }

    /// A registry in memory, for tests.
    pub fn open_in_memory() -> Result<Self> {
        let mut conn = Connection::open_in_memory()?;
        schema::prepare(&mut conn)?;
        Ok(Self { conn })
    }

    /// Begins a write: a `BEGIN IMMEDIATE` transaction of its own, or, inside [`Self::group`], a
    /// savepoint of the group's transaction.
    pub(crate) fn write(&mut self) -> Result<Write<'_>> {
        Ok(if self.conn.is_autocommit() {
            Write::Own(
                self.conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)?,
            )
        } else {
            self.conn.prepare_cached("SAVEPOINT write")?.execute([])?;
            Write::Nested(Savepoint {
                conn: &mut self.conn,
                released: false,
            })
        })
    }

    /// Runs several writes in one transaction, committed (and flushed to disk) once: a group commit,
    /// so that concurrent acts share one flush. Each job runs in a savepoint of its own; `run` returns
    /// whether it succeeded, and a job that failed leaves no trace while the others stand. The result
    /// is the commit's: when it is an error, none of the jobs happened.
    pub fn group<J>(
        &mut self,
        jobs: impl IntoIterator<Item = J>,
        mut run: impl FnMut(&mut Self, J) -> bool,
    ) -> Result<()> {
        if !self.conn.is_autocommit() {
            // Left open by a group that panicked half-way: none of it was acknowledged.
            self.conn.execute_batch("ROLLBACK")?;
        }
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut outcome = Ok(());
        // The savepoint statements are prepared once: a group runs them for every job.
        let step = |conn: &Connection, sql: &str| conn.prepare_cached(sql)?.execute([]).map(drop);
        for job in jobs {
            outcome = step(&self.conn, "SAVEPOINT job");
            if outcome.is_err() {
                break;
            }
            if !run(self, job) {
                outcome = step(&self.conn, "ROLLBACK TO job");
            }
            outcome = outcome.and_then(|()| step(&self.conn, "RELEASE job"));
            if outcome.is_err() {
                break;
            }
        }
        match outcome.and_then(|()| self.conn.execute_batch("COMMIT")) {
            Ok(()) => Ok(()),
            Err(e) => {
                if !self.conn.is_autocommit() {
                    // Nothing of the group may remain; a failed rollback leaves SQLite to roll back.
                    self.conn.execute_batch("ROLLBACK").ok();
                }
                Err(e.into())
            }
        }
    }

    /// Issues a card: assigns a serial (and an ITN, unless the passport already has one), signs it with
    /// `key`, and records it with its audit entry.
    pub fn issue(
        &mut self,
        new: &NewCard,
        key: &IssuerKey,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<IssuedCard> {
        check_actor(actor)?;
        rules::check_new_period(new.validity, issuer_date(now))?;
        let tx = self.write()?;
        let issued = issue_in(&tx, new, key, actor, now)?;
        tx.commit()?;
        Ok(issued)
    }

    /// Issues many cards in one transaction, each all or nothing (a savepoint per card): a card the
    /// rules refuse gets its error in the result and leaves no trace, the others are issued. One
    /// commit for the lot is what makes a 100,000-row import fast. A storage failure refuses the lot.
    pub fn issue_batch(
        &mut self,
        news: &[NewCard],
        key: &IssuerKey,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<IssuedCard>>> {
        check_actor(actor)?;
        let today = issuer_date(now);
        let mut tx = self.write()?;
        let mut out = Vec::with_capacity(news.len());
        for new in news {
            if let Err(e) = rules::check_new_period(new.validity, today) {
                out.push(Err(e.into()));
                continue;
            }
            let savepoint = tx.savepoint()?;
            match issue_in(&savepoint, new, key, actor, now) {
                Ok(issued) => {
                    savepoint.commit()?;
                    out.push(Ok(issued));
                }
                Err(e @ (StoreError::Sqlite(_) | StoreError::Corrupt(_))) => return Err(e),
                // Dropping the savepoint rolls the card back.
                Err(e) => out.push(Err(e)),
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Extends a card's validity to `until`: a new period from the day after the current one ends.
    pub fn extend(
        &mut self,
        serial: Serial,
        until: NaiveDate,
        reason: &Reason,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CardRecord> {
        check_actor(actor)?;
        let reason = reason.as_ref();
        let tx = self.write()?;
        let (state, current_until) = state_of(&tx, serial)?;
        let period = rules::extension(state, current_until, until, issuer_date(now))?;
        let s = serial.to_string();
        let at = timestamp(now);
        tx.execute(
            "UPDATE cards SET valid_until = ?1, changed_at = ?2 WHERE serial = ?3",
            params![period.until().to_string(), at, s],
        )?;
        bump_status(&tx, serial)?;
        tx.execute(
            "INSERT INTO extensions (serial, valid_from, valid_until, reason, at, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![s, period.from().to_string(), period.until().to_string(), reason, at, actor],
        )?;
        audit::append(
            &tx,
            now,
            actor,
            "extend",
            Some(&s),
            json!({"valid_from": period.from(), "valid_until": period.until(), "reason": reason}),
        )?;
        tx.commit()?;
        self.card(serial)
    }

    /// Suspends an active card.
    pub fn suspend(
        &mut self,
        serial: Serial,
        reason: &Reason,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CardRecord> {
        self.change_state(Act::Suspend, serial, Some(reason), actor, now)
    }

    /// Lifts a suspension. The reason is optional.
    pub fn reinstate(
        &mut self,
        serial: Serial,
        reason: Option<&Reason>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CardRecord> {
        self.change_state(Act::Reinstate, serial, reason, actor, now)
    }

    /// Revokes a card for good.
    pub fn revoke(
        &mut self,
        serial: Serial,
        reason: &Reason,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CardRecord> {
        self.change_state(Act::Revoke, serial, Some(reason), actor, now)
    }

    fn change_state(
        &mut self,
        act: Act,
        serial: Serial,
        reason: Option<&Reason>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CardRecord> {
        check_actor(actor)?;
        let reason = reason.map(AsRef::<str>::as_ref);
        let tx = self.write()?;
        let (state, _) = state_of(&tx, serial)?;
        let next = rules::transition(act, state)?;
        record_transition(&tx, serial, state, next, reason, actor, now)?;
        audit::append(
            &tx,
            now,
            actor,
            act.as_str(),
            Some(&serial.to_string()),
            json!({"from": state.as_str(), "to": next.as_str(), "reason": reason}),
        )?;
        tx.commit()?;
        self.card(serial)
    }

    /// Replaces a lost or damaged card: a new card under a new serial for the current period, signed
    /// with `key`; the old card reports `replaced`.
    pub fn replace(
        &mut self,
        serial: Serial,
        reason: &Reason,
        key: &IssuerKey,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<IssuedCard> {
        check_actor(actor)?;
        let reason = reason.as_ref();
        let old = self.card(serial)?;
        let tx = self.write()?;
        let (state, valid_until) = state_of(&tx, serial)?;
        rules::transition(Act::Replace, state)?;
        if issuer_date(now) > valid_until {
            return Err(rules::RuleError::Expired(valid_until).into());
        }
        let holder_id: i64 = tx.query_row(
            "SELECT holder_id FROM cards WHERE serial = ?1",
            [serial.to_string()],
            |r| r.get(0),
        )?;
        let period = ValidityPeriod::new(old.period_from, valid_until)?;
        let new_serial = next_serial(&tx)?;
        let card = Card::new(
            new_serial,
            old.card.itn(),
            old.card.holder().clone(),
            old.card.permit(),
            period,
            old.card.portrait_digest(),
        )?;
        let payload = codec::encode(&card, now, key);
        let portrait = old.portrait.clone().map(Portrait::parse).transpose()?;
        insert_card(
            &tx,
            &card,
            holder_id,
            &payload,
            key,
            portrait.as_ref(),
            Some(serial),
            actor,
            now,
        )?;
        tx.execute(
            "UPDATE cards SET replaced_by = ?1 WHERE serial = ?2",
            params![new_serial.to_string(), serial.to_string()],
        )?;
        record_transition(
            &tx,
            serial,
            state,
            CardState::Replaced,
            Some(reason),
            actor,
            now,
        )?;
        audit::append(
            &tx,
            now,
            actor,
            "replace",
            Some(&serial.to_string()),
            json!({"replaced_by": new_serial.to_string(), "valid_from": period.from(), "valid_until": period.until(), "reason": reason, "kid": key.kid().to_string()}),
        )?;
        tx.commit()?;
        Ok(IssuedCard { card, payload })
    }

    /// Everything about one card.
    pub fn card(&self, serial: Serial) -> Result<CardRecord> {
        load_card(&self.conn, serial)
    }

    /// The whole audit log, oldest first.
    pub fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        self.audit_page(0, u32::MAX)
    }

    /// Up to `limit` audit entries after sequence number `after`, oldest first.
    pub fn audit_page(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, at, actor, action, serial, details, prev_hash, hash FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit], audit_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Checks the audit chain and names the first entry that was edited, removed or reordered.
    pub fn verify_audit(&self) -> Result<AuditCheck> {
        Ok(audit::check(&self.audit_log()?))
    }

    /// The status sequence number now: how many status changes the registry has recorded.
    pub fn status_sequence(&self) -> Result<u64> {
        let sequence: i64 = self.conn.query_row(
            "SELECT value FROM counters WHERE name = 'status'",
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(sequence).unwrap_or(0))
    }

    /// The status sequence number now, and the entries of a status snapshot: with `since` 0 every card
    /// whose status differs from its QR; otherwise every card whose status changed after `since`, with
    /// its status now. In serial order.
    pub fn status_entries(&self, since: u64) -> Result<(u64, Vec<StatusEntry>)> {
        let sequence = self.status_sequence()?;
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        let sql = if since == 0 {
            "SELECT serial, state, valid_until, printed_valid_until, replaced_by FROM cards
             WHERE state != 'active' OR valid_until != printed_valid_until ORDER BY serial"
        } else {
            "SELECT serial, state, valid_until, printed_valid_until, replaced_by FROM cards
             WHERE status_seq > ?1 ORDER BY serial"
        };
        let mut stmt = self.conn.prepare(sql)?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        };
        let rows = if since == 0 {
            stmt.query_map([], map)?
        } else {
            stmt.query_map([since], map)?
        };
        let mut entries = Vec::new();
        for row in rows {
            let (serial, state, until, printed, replaced_by) = row?;
            entries.push(StatusEntry {
                serial: parse_serial(&serial)?,
                state: parse_state(&state)?,
                valid_until: (until != printed).then(|| parse_date(&until)).transpose()?,
                replaced_by: replaced_by.as_deref().map(parse_serial).transpose()?,
            });
        }
        Ok((sequence, entries))
    }

    /// Number of cards in each state, every state listed (0 when no card is in it).
    pub fn count_by_state(&self) -> Result<Vec<(CardState, u64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT state, COUNT(*) FROM cards GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        // Every state, a state no card is in with 0: a gauge fed only the states that have cards
        // would keep the last count of a state that dropped to none.
        let mut out: Vec<(CardState, u64)> = CardState::ALL.iter().map(|s| (*s, 0)).collect();
        for row in rows {
            let (state, n) = row?;
            let state = CardState::from_name(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("state {state:?}")))?;
            if let Some(slot) = out.iter_mut().find(|(s, _)| *s == state) {
                slot.1 = u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(out)
    }

    /// Copies the whole registry into a new database at `path`, consistently, while other connections
    /// keep reading and writing: the copy is taken in one read transaction (SQLite's online backup),
    /// so it holds every transaction committed before it began and none after. The copy is as
    /// private as the registry (mode 0600).
    pub fn backup_to(&self, path: &Path) -> Result<()> {
        crate::files::make_private(path)?;
        let mut copy = Connection::open(path)?;
        let backup = rusqlite::backup::Backup::new(&self.conn, &mut copy)?;
        // All pages in one step: one read transaction, so one consistent state of the registry.
        loop {
            match backup.step(-1)? {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => {}
                _ => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
        drop(backup);
        copy.pragma_update(None, "journal_mode", "DELETE")?;
        Ok(())
    }

    /// `PRAGMA integrity_check`: `ok`, or what is wrong.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// Counts for the statistics view: cards by state, permit and nationality; active cards whose
    /// validity ends within `days` of `today`; cards issued per month (`YYYY-MM`).
    pub fn statistics(&self, today: NaiveDate, days: i64) -> Result<Statistics> {
        let group = |sql: &str| -> Result<Vec<(String, u64)>> {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            Ok(rows
                .map(|r| r.map(|(k, n)| (k, u64::try_from(n).unwrap_or(0))))
                .collect::<rusqlite::Result<Vec<_>>>()?)
        };
        let expiring: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM cards WHERE state = 'active' AND valid_until >= ?1 AND valid_until <= ?2",
            params![today.to_string(), (today + chrono::Duration::days(days)).to_string()],
            |r| r.get(0),
        )?;
        Ok(Statistics {
            by_state: group("SELECT state, COUNT(*) FROM cards GROUP BY state ORDER BY state")?,
            by_permit: group(
                "SELECT permit, COUNT(*) FROM cards GROUP BY permit ORDER BY COUNT(*) DESC",
            )?,
            by_nationality: group(
                "SELECT nationality, COUNT(*) FROM cards GROUP BY nationality ORDER BY COUNT(*) DESC, nationality",
            )?,
            issued_per_month: group(
                "SELECT substr(issued_at, 1, 7), COUNT(*) FROM cards GROUP BY 1 ORDER BY 1",
            )?,
            expiring_soon: u64::try_from(expiring).unwrap_or(0),
        })
    }

    /// Runs `f` inside one read transaction: every read in it sees the registry as of one moment,
    /// and SQLite takes its locks once instead of once a statement (a batch check reads 10,000 rows).
    pub fn consistent<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Self) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(StoreError::from)?;
        let result = f(self);
        // Nothing was written: ending the transaction either way only releases the snapshot.
        drop(tx);
        result
    }

    /// The number of cards.
    pub fn card_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM cards", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The underlying connection, for the raw-table tests of tamper detection.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl StatusSource for Registry {
    type Error = StoreError;

    fn status(&self, serial: Serial, now: DateTime<Utc>) -> Result<StatusReport> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT state, valid_until, state_reason, replaced_by FROM cards INDEXED BY cards_status WHERE serial = ?1",
            )?
            .query_row([serial.to_string()], StatusRow::read)
            .optional()?;
        StatusRow::report(row, now)
    }
}

impl Registry {
    /// The status of `serial`, and the passport number of its holder, in one lookup: a bank's batch
    /// check reads both for every card.
    pub fn status_and_passport(
        &self,
        serial: Serial,
        now: DateTime<Utc>,
    ) -> Result<(StatusReport, Option<String>)> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT c.state, c.valid_until, c.state_reason, c.replaced_by, h.passport_number
                 FROM cards c INDEXED BY cards_status JOIN holders h ON h.id = c.holder_id WHERE c.serial = ?1",
            )?
            .query_row([serial.to_string()], |r| {
                Ok((StatusRow::read(r)?, r.get::<_, Option<String>>(4)?))
            })
            .optional()?;
        let (row, passport) = match row {
            Some((row, passport)) => (Some(row), passport),
            None => (None, None),
        };
        Ok((StatusRow::report(row, now)?, passport))
    }
}

/// A card's status columns: state, valid_until, state_reason, replaced_by.
struct StatusRow(String, String, Option<String>, Option<String>);

impl StatusRow {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    }

    fn report(row: Option<Self>, now: DateTime<Utc>) -> Result<StatusReport> {
        let current = match row {
            None => None,
            Some(Self(state, until, reason, replaced_by)) => Some(CurrentStatus {
                state: parse_state(&state)?,
                valid_until: Some(parse_date(&until)?),
                reason,
                replaced_by: replaced_by.as_deref().map(parse_serial).transpose()?,
            }),
        };
        Ok(StatusReport {
            origin: StatusOrigin::Registry,
            as_of: Some(now),
            stale: false,
            current,
        })
    }
}

/// A write in progress: see [`Registry::write`].
pub(crate) enum Write<'a> {
    Own(Transaction<'a>),
    Nested(Savepoint<'a>),
}

/// A write inside a group: a savepoint of the group's transaction (its statements prepared once),
/// released on commit and rolled back when dropped without one.
pub(crate) struct Savepoint<'a> {
    conn: &'a mut Connection,
    released: bool,
}

impl std::ops::Deref for Write<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Self::Own(tx) => tx,
            Self::Nested(savepoint) => savepoint.conn,
        }
    }
}

impl Write<'_> {
    pub(crate) fn commit(self) -> rusqlite::Result<()> {
        match self {
            Self::Own(tx) => tx.commit(),
            Self::Nested(mut savepoint) => {
                savepoint
                    .conn
                    .prepare_cached("RELEASE write")?
                    .execute([])?;
                savepoint.released = true;
                Ok(())
            }
        }
    }

    pub(crate) fn savepoint(&mut self) -> rusqlite::Result<rusqlite::Savepoint<'_>> {
        match self {
            Self::Own(tx) => tx.savepoint(),
            Self::Nested(savepoint) => savepoint.conn.savepoint(),
        }
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if !self.released {
            // Not committed: undo what it wrote. Should this fail, the group's own savepoint for the
            // job (rolled back when the job fails) still undoes it.
            let conn = &*self.conn;
            let undo = conn
                .prepare_cached("ROLLBACK TO write")
                .and_then(|mut s| s.execute([]))
                .and_then(|_| conn.prepare_cached("RELEASE write")?.execute([]));
            drop(undo);
        }
    }
}

/// Issues one card inside `tx`: the holder (and ITN), the serial, the signed payload, the record and
/// its audit entry.
fn issue_in(
    tx: &Connection,
    new: &NewCard,
    key: &IssuerKey,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<IssuedCard> {
    let (holder_id, itn) = holder_for(tx, new, now)?;
    let serial = next_serial(tx)?;
    let card = Card::new(
        serial,
        itn,
        new.holder.clone(),
        new.permit,
        new.validity,
        new.portrait.as_ref().map(Portrait::digest),
    )?;
    let payload = codec::encode(&card, now, key);
    insert_card(
        tx,
        &card,
        holder_id,
        &payload,
        key,
        new.portrait.as_ref(),
        None,
        actor,
        now,
    )?;
    audit::append(
        tx,
        now,
        actor,
        "issue",
        Some(&serial.to_string()),
        json!({"valid_from": new.validity.from(), "valid_until": new.validity.until(), "permit": new.permit.as_str(), "kid": key.kid().to_string()}),
    )?;
    Ok(IssuedCard { card, payload })
}

/// The holder row for an application: the passport's existing holder (same ITN), or a new one with a
/// freshly allocated ITN.
fn holder_for(tx: &Connection, new: &NewCard, now: DateTime<Utc>) -> Result<(i64, Itn)> {
    let nationality = new.holder.nationality.to_string();
    let dob = new.holder.date_of_birth;
    if let Some(passport) = &new.passport_number {
        let existing = tx.prepare_cached("SELECT id, itn, date_of_birth FROM holders WHERE nationality = ?1 AND passport_number = ?2")?.query_row(
                params![nationality, passport.as_ref()],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
            )
            .optional()?;
        if let Some((id, itn, registered_dob)) = existing {
            if parse_date(&registered_dob)? != dob {
                return Err(StoreError::HolderMismatch { nationality });
            }
            let itn = itn
                .parse::<Itn>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            return Ok((id, itn));
        }
    }
    let last: Option<i64> = tx
        .prepare_cached("SELECT MAX(itn_sequence) FROM holders WHERE date_of_birth = ?1")?
        .query_row([dob.to_string()], |r| r.get(0))?;
    let sequence = u16::try_from(last.unwrap_or(0) + 1).unwrap_or(u16::MAX);
    let itn = Itn::assign(dob, sequence)?;
    tx.prepare_cached("INSERT INTO holders (itn, date_of_birth, itn_sequence, nationality, passport_number, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(
        params![itn.to_string(), dob.to_string(), sequence, nationality, new.passport_number.as_ref().map(|p| p.to_string()), timestamp(now)],
    )?;
    Ok((tx.last_insert_rowid(), itn))
}

fn next_serial(tx: &Connection) -> Result<Serial> {
    let value: i64 = tx
        .prepare_cached(
            "UPDATE counters SET value = value + 1 WHERE name = 'serial' RETURNING value",
        )?
        .query_row([], |r| r.get(0))?;
    let sequence = u32::try_from(value)
        .map_err(|_| StoreError::Corrupt("serial counter out of range".into()))?;
    Ok(Serial::from_sequence(sequence)?)
}

#[allow(clippy::too_many_arguments)]
fn insert_card(
    tx: &Connection,
    card: &Card,
    holder_id: i64,
    payload: &str,
    key: &IssuerKey,
    portrait: Option<&Portrait>,
    replaces: Option<Serial>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let h = card.holder();
    let at = timestamp(now);
    tx.prepare_cached("INSERT INTO cards (serial, holder_id, surname, given_names, native_name, date_of_birth, sex, nationality, permit,
            valid_from, printed_valid_until, valid_until, state, replaces, kid, payload, portrait, issued_at, issued_by, changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, 'active', ?12, ?13, ?14, ?15, ?16, ?17, ?16)")?.execute(
        params![
            card.serial().to_string(),
            holder_id,
            h.surname.as_ref(),
            h.given_names.as_ref(),
            h.native_name.as_ref().map(|n| n.to_string()),
            h.date_of_birth.to_string(),
            h.sex.map(|s| s.as_str()),
            h.nationality.as_str(),
            card.permit().as_str(),
            card.validity().from().to_string(),
            card.validity().until().to_string(),
            replaces.map(|s| s.to_string()),
            key.kid().to_string(),
            payload,
            portrait.map(Portrait::bytes),
            at,
            actor,
        ],
    )?;
    Ok(())
}

/// Gives `serial` the next status sequence number: its status now differs from the last snapshot's.
fn bump_status(tx: &Connection, serial: Serial) -> Result<()> {
    let seq: i64 = tx.query_row(
        "UPDATE counters SET value = value + 1 WHERE name = 'status' RETURNING value",
        [],
        |r| r.get(0),
    )?;
    tx.execute(
        "UPDATE cards SET status_seq = ?1 WHERE serial = ?2",
        params![seq, serial.to_string()],
    )?;
    Ok(())
}

fn record_transition(
    tx: &Connection,
    serial: Serial,
    from: CardState,
    to: CardState,
    reason: Option<&str>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let (s, at) = (serial.to_string(), timestamp(now));
    // A reinstatement clears the suspension's reason; other acts record theirs.
    let state_reason = if to == CardState::Active {
        None
    } else {
        reason
    };
    tx.execute(
        "UPDATE cards SET state = ?1, state_reason = ?2, changed_at = ?3 WHERE serial = ?4",
        params![to.as_str(), state_reason, at, s],
    )?;
    bump_status(tx, serial)?;
    tx.execute(
        "INSERT INTO state_changes (serial, from_state, to_state, reason, at, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![s, from.as_str(), to.as_str(), reason, at, actor],
    )?;
    Ok(())
}

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        serial: r.get(4)?,
        details: r.get(5)?,
        prev_hash: r.get(6)?,
        hash: r.get(7)?,
    })
}

fn state_of(conn: &Connection, serial: Serial) -> Result<(CardState, NaiveDate)> {
    let (state, until) = conn
        .query_row(
            "SELECT state, valid_until FROM cards WHERE serial = ?1",
            [serial.to_string()],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?
        .ok_or(StoreError::NotFound(serial))?;
    Ok((parse_state(&state)?, parse_date(&until)?))
}

fn parse_state(text: &str) -> Result<CardState> {
    CardState::from_name(text).ok_or_else(|| StoreError::Corrupt(format!("card state {text:?}")))
}

fn parse_date(text: &str) -> Result<NaiveDate> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("date {text:?}")))
}

fn parse_serial(text: &str) -> Result<Serial> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("serial {text:?}")))
}

fn load_card(conn: &Connection, serial: Serial) -> Result<CardRecord> {
    struct Row {
        itn: String,
        surname: String,
        given_names: String,
        native_name: Option<String>,
        date_of_birth: String,
        sex: Option<String>,
        nationality: String,
        permit: String,
        valid_from: String,
        printed_until: String,
        valid_until: String,
        state: String,
        state_reason: Option<String>,
        replaces: Option<String>,
        replaced_by: Option<String>,
        kid: String,
        payload: String,
        portrait: Option<Vec<u8>>,
        issued_at: String,
        issued_by: String,
        passport: Option<String>,
    }
    let row = conn
        .query_row(
            "SELECT h.itn, c.surname, c.given_names, c.native_name, c.date_of_birth, c.sex, c.nationality, c.permit,
                    c.valid_from, c.printed_valid_until, c.valid_until, c.state, c.state_reason, c.replaces, c.replaced_by,
                    c.kid, c.payload, c.portrait, c.issued_at, c.issued_by, h.passport_number
             FROM cards c JOIN holders h ON h.id = c.holder_id WHERE c.serial = ?1",
            [serial.to_string()],
            |r| {
                Ok(Row {
                    itn: r.get(0)?,
                    surname: r.get(1)?,
                    given_names: r.get(2)?,
                    native_name: r.get(3)?,
                    date_of_birth: r.get(4)?,
                    sex: r.get(5)?,
                    nationality: r.get(6)?,
                    permit: r.get(7)?,
                    valid_from: r.get(8)?,
                    printed_until: r.get(9)?,
                    valid_until: r.get(10)?,
                    state: r.get(11)?,
                    state_reason: r.get(12)?,
                    replaces: r.get(13)?,
                    replaced_by: r.get(14)?,
                    kid: r.get(15)?,
                    payload: r.get(16)?,
                    portrait: r.get(17)?,
                    issued_at: r.get(18)?,
                    issued_by: r.get(19)?,
                    passport: r.get(20)?,
                })
            },
        )
        .optional()?
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
        date_of_birth: parse_date(&row.date_of_birth)?,
        sex: row
            .sex
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(corrupt)?,
        nationality: Nationality::parse(&row.nationality).map_err(corrupt)?,
    };
    let validity = ValidityPeriod::new(
        parse_date(&row.valid_from)?,
        parse_date(&row.printed_until)?,
    )
    .map_err(corrupt)?;
    let portrait_digest = row
        .portrait
        .clone()
        .map(Portrait::parse)
        .transpose()
        .map_err(corrupt)?
        .map(|p| p.digest());
    let card = Card::new(
        serial,
        row.itn.parse().map_err(corrupt)?,
        holder,
        row.permit.parse().map_err(corrupt)?,
        validity,
        portrait_digest,
    )
    .map_err(corrupt)?;
    let valid_until = parse_date(&row.valid_until)?;
    let last_extension: Option<String> = conn
        .query_row(
            "SELECT valid_from FROM extensions WHERE serial = ?1 ORDER BY id DESC LIMIT 1",
            [serial.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    let period_from = match last_extension {
        Some(from) => parse_date(&from)?,
        None => validity.from(),
    };
    // A replacement card's history starts with the act that created it, recorded under the old serial.
    let mut stmt = conn.prepare(
        "SELECT at, actor, CASE WHEN serial = ?1 THEN action ELSE 'issue (replacement)' END, details
         FROM audit WHERE serial = ?1 OR (serial = ?2 AND action = 'replace') ORDER BY seq",
    )?;
    let history = stmt
        .query_map(params![serial.to_string(), row.replaces], |r| {
            let details: String = r.get(3)?;
            Ok(HistoryEntry {
                at: r.get(0)?,
                actor: r.get(1)?,
                action: r.get(2)?,
                details: serde_json::from_str(&details)
                    .unwrap_or(serde_json::Value::String(details)),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(CardRecord {
        card,
        payload: row.payload,
        kid: row.kid,
        state: parse_state(&row.state)?,
        state_reason: row.state_reason,
        period_from,
        valid_until,
        replaces: row.replaces.as_deref().map(parse_serial).transpose()?,
        replaced_by: row.replaced_by.as_deref().map(parse_serial).transpose()?,
        passport_number: row.passport,
        portrait: row.portrait,
        issued_at: row.issued_at,
        issued_by: row.issued_by,
        history,
    })
}

#[cfg(test)]
mod tests;
