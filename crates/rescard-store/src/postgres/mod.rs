//! The PostgreSQL backend: one database that several service replicas share.
//!
//! **Concurrency.** A write transaction begins by taking a transaction-scoped advisory lock
//! (`pg_advisory_xact_lock`), the same for every writer on every replica, and keeps it until it
//! commits or rolls back. So writers take turns, as on SQLite: under the lock a writer reads the
//! serial counter, the highest ITN sequence of a birth date and the audit chain's head, and moves
//! them on, and no other writer can read the same values (READ COMMITTED: each statement sees every
//! commit made before it, so the writer that gets the lock next sees what the last one wrote). The
//! unique constraints on serials, ITNs and audit positions stand behind the lock. Writers of one
//! replica share a transaction (the service's group commit), so the lock is taken once a group.
//!
//! **Failures.** A connection that is lost, or a database that is shutting down or starting,
//! answers [`StoreError::Unavailable`]; the next use of the backend outside a transaction connects
//! again. The URL's password never reaches an error message ([`crate::redact`]).
//!
//! **Threads.** The storage interface is blocking; the client is `tokio-postgres`. Every
//! connection's socket is driven by one background runtime of its own thread, shared by the
//! process (`postgres-io`), and a call waits for its answer with a plain blocking wait: so a registry on
//! PostgreSQL can be used from any thread, inside an async runtime or not, as one on SQLite can.

mod calls;
mod connection;
mod pipeline;
mod rows;
mod schema;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rescard_core::keys::public_key_base64url;
use rescard_core::{CardState, CurrentStatus, Serial, TrustedKey};
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;

pub use connection::run_batch;
pub(crate) use connection::{Connection, pg};
pub use schema::version as schema_version;

use connection::connect_to;
use pipeline::{Held, Pipeline};
use rows::{
    OwnedPgValue, PgValue, audit_entry, current_status, dollar_params, get, opt_serial, read_value,
    token_row,
};

use crate::audit::AuditEntry;
use crate::model::TokenInfo;
use crate::storage::{
    Backend, Begin, CardRow, CardStanding, Counter, Dimension, HolderRow, NewCardRow, NewHolder,
    SessionRow, StatusRow, Storage, TokenRow, holder_row, parse_document, parse_serial,
    parse_state, signed, trusted_key, unsigned,
};
use crate::tables::{Kind, Table, Value};
use crate::{Result, Role, StoreError};

/// The advisory lock every write transaction holds: the registry's one write lock.
const WRITE_LOCK: i64 = 0x7265_7363_6172_6400;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A registry in a PostgreSQL database, on one connection.
pub struct Postgres {
    url: String,
    client: RefCell<Option<Connection>>,
    statements: RefCell<HashMap<&'static str, Statement>>,
    in_transaction: Cell<bool>,
    /// Savepoint statements not sent yet: they go ahead of the next statement, in its round trip.
    deferred: RefCell<String>,
    /// Writes sent in this transaction and not yet checked (see [`pipeline`]).
    pipeline: Pipeline,
    /// The counters and audit head as this write transaction moved them (see [`pipeline`]).
    held: Held,
}

impl Postgres {
    /// Connects to the database at `url` (libpq style; the password from the URL or `PGPASSWORD`)
    /// and brings its schema up to date.
    pub fn connect(url: &str) -> Result<Self> {
        let client = connect_to(url)?;
        schema::prepare(&client)?;
        Ok(Self {
            url: url.to_owned(),
            client: RefCell::new(Some(client)),
            statements: RefCell::new(HashMap::new()),
            in_transaction: Cell::new(false),
            deferred: RefCell::new(String::new()),
            pipeline: Pipeline::default(),
            held: Held::default(),
        })
    }
}

impl Storage for Postgres {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn begin(&self, how: Begin) -> Result<()> {
        self.deferred.borrow_mut().clear();
        self.pipeline.clear();
        self.held.reset(false);
        if self.in_transaction.get() {
            // Left open by a group that panicked half-way: none of it was acknowledged.
            self.rollback()?;
        }
        match how {
            Begin::Read => self.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?,
            Begin::Write => {
                // One round trip: the transaction and its lock.
                if let Err(e) = self.batch(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
                )) {
                    self.in_transaction.set(true);
                    self.rollback().ok();
                    return Err(e);
                }
            }
        }
        self.in_transaction.set(true);
        self.held.reset(how == Begin::Write);
        Ok(())
    }

    fn commit(&self) -> Result<()> {
        if let Err(e) = self.pipeline.check() {
            // The server refuses the rest of the transaction: end it.
            self.rollback().ok();
            return Err(e);
        }
        // The counters moved on go with the COMMIT; a sent write that failed is found with COMMIT's
        // answer (COMMIT then rolled back).
        let mut outcome = Ok(());
        for (counter, value) in self.held.take_moved() {
            outcome = outcome.and_then(|()| {
                self.send(
                    "UPDATE counters SET value = $1 WHERE name = $2",
                    vec![Box::new(signed(value)), Box::new(counter.name())],
                )
            });
        }
        let outcome = outcome.and_then(|()| self.batch("COMMIT"));
        self.in_transaction.set(false);
        self.pipeline.clear();
        self.held.reset(false);
        outcome.map_err(|e| match e {
            // The answer to COMMIT was lost with the connection: the writes may have been kept.
            StoreError::Unavailable(m) => StoreError::Commit(format!(
                "the connection was lost while committing, so whether the write was kept is not known: {m}"
            )),
            e => e,
        })
    }

    fn rollback(&self) -> Result<()> {
        self.deferred.borrow_mut().clear();
        self.pipeline.clear();
        self.held.reset(false);
        if !self.in_transaction.get() {
            return Ok(());
        }
        self.in_transaction.set(false);
        match self.batch("ROLLBACK") {
            // A lost connection took the transaction with it.
            Err(StoreError::Unavailable(_)) => Ok(()),
            other => other,
        }
    }

    fn in_transaction(&self) -> bool {
        self.in_transaction.get()
    }

    // Savepoints are sent with the statement after them (see `run`): a group commit opens and
    // releases two for every act, and each would otherwise be a round trip of its own. After a sent
    // write failed, none may end: the transaction is lost (see `pipeline`).

    fn savepoint(&self, name: &'static str) -> Result<()> {
        self.pipeline.check()?;
        self.held.savepoint(name);
        self.defer(&format!("SAVEPOINT {name}"));
        Ok(())
    }

    fn release(&self, name: &'static str) -> Result<()> {
        self.pipeline.check()?;
        self.held.release(name);
        self.defer(&format!("RELEASE SAVEPOINT {name}"));
        Ok(())
    }

    fn rollback_to(&self, name: &'static str) -> Result<()> {
        self.pipeline.check()?;
        self.held.rollback_to(name);
        self.defer(&format!(
            "ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"
        ));
        Ok(())
    }

    fn next(&self, counter: Counter) -> Result<u64> {
        // Under the write lock the counter is read once a transaction, moved on here, and written
        // back with the commit.
        if let Some(value) = self.held.counter(counter) {
            let value = value + 1;
            self.held.move_counter(counter, value);
            return Ok(value);
        }
        let row = self.query_one(
            "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value",
            &[&counter.name()],
        )?;
        let value = unsigned(get(&row, 0)?);
        self.held.set_counter(counter, value);
        Ok(value)
    }

    fn current(&self, counter: Counter) -> Result<u64> {
        if let Some(value) = self.held.counter(counter) {
            return Ok(value);
        }
        let row = self.query_one(
            "SELECT value FROM counters WHERE name = $1",
            &[&counter.name()],
        )?;
        let value = unsigned(get(&row, 0)?);
        self.held.set_counter(counter, value);
        Ok(value)
    }

    fn holder_lookup(
        &self,
        nationality: &str,
        passport: Option<&str>,
        date_of_birth: NaiveDate,
    ) -> Result<(Option<HolderRow>, Option<u16>)> {
        // One round trip for both (no passport, or none on record: no holder, NULLs).
        let row = self.query_one(
            "SELECT h.itn, h.date_of_birth, (SELECT MAX(itn_sequence) FROM holders WHERE date_of_birth = $3)
             FROM (SELECT 1) one
             LEFT JOIN holders h ON h.nationality = $1 AND h.passport_number = $2",
            &[&nationality, &passport, &date_of_birth],
        )?;
        let holder = match (
            get::<Option<String>>(&row, 0)?,
            get::<Option<NaiveDate>>(&row, 1)?,
        ) {
            (Some(itn), Some(dob)) => Some(holder_row(&itn, dob)?),
            _ => None,
        };
        let last = get::<Option<i32>>(&row, 2)?.map(|n| u16::try_from(n).unwrap_or(u16::MAX));
        Ok((holder, last))
    }

    fn insert_holder(&self, h: &NewHolder<'_>) -> Result<()> {
        self.send(
            "INSERT INTO holders (itn, date_of_birth, itn_sequence, nationality, passport_number, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                Box::new(h.itn.to_string()),
                Box::new(h.date_of_birth),
                Box::new(i32::from(h.itn_sequence)),
                Box::new(h.nationality.to_owned()),
                Box::new(h.passport_number.map(str::to_owned)),
                Box::new(h.created_at),
            ],
        )
    }

    fn insert_card(&self, c: &NewCardRow<'_>) -> Result<()> {
        let card = c.card;
        let h = card.holder();
        self.send(
            "INSERT INTO cards (serial, holder_id, surname, given_names, native_name, date_of_birth, sex, nationality, permit,
                valid_from, printed_valid_until, valid_until, state, replaces, kid, payload, portrait, issued_at, issued_by, changed_at, document)
             VALUES ($1, (SELECT id FROM holders WHERE itn = $2), $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 'active', $12, $13, $14, $15, $16, $17, $16, $18)",
            vec![
                Box::new(card.serial().to_string()),
                Box::new(card.itn().to_string()),
                Box::new(h.surname.to_string()),
                Box::new(h.given_names.to_string()),
                Box::new(h.native_name.as_ref().map(|n| n.to_string())),
                Box::new(h.date_of_birth),
                Box::new(h.sex.map(|s| s.as_str())),
                Box::new(h.nationality.as_str().to_owned()),
                Box::new(card.permit().as_str()),
                Box::new(card.validity().from()),
                Box::new(card.validity().until()),
                Box::new(c.replaces.map(|s| s.to_string())),
                Box::new(c.kid.to_string()),
                Box::new(c.payload.to_owned()),
                Box::new(c.portrait.map(|p| p.bytes().to_vec())),
                Box::new(c.issued_at),
                Box::new(c.issued_by.to_owned()),
                Box::new(card.document().as_str()),
            ],
        )
    }

    fn card_state(&self, serial: Serial) -> Result<Option<CardStanding>> {
        self.query_opt(
            "SELECT state, valid_until, document FROM cards WHERE serial = $1",
            &[&serial.to_string()],
        )?
        .map(|row| {
            Ok(CardStanding {
                state: parse_state(&get::<String>(&row, 0)?)?,
                valid_until: get(&row, 1)?,
                document: parse_document(&get::<String>(&row, 2)?)?,
            })
        })
        .transpose()
    }

    fn card_row(&self, serial: Serial) -> Result<Option<CardRow>> {
        let Some(r) = self.query_opt(
            "SELECT h.itn, c.surname, c.given_names, c.native_name, c.date_of_birth, c.sex, c.nationality, c.permit,
                    c.valid_from, c.printed_valid_until, c.valid_until, c.state, c.state_reason, c.replaces, c.replaced_by,
                    c.kid, c.payload, c.portrait, c.issued_at, c.issued_by, h.passport_number,
                    (SELECT valid_from FROM extensions e WHERE e.serial = c.serial ORDER BY e.id DESC LIMIT 1), c.document
             FROM cards c JOIN holders h ON h.id = c.holder_id WHERE c.serial = $1",
            &[&serial.to_string()],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(CardRow {
            itn: get(&r, 0)?,
            surname: get(&r, 1)?,
            given_names: get(&r, 2)?,
            native_name: get(&r, 3)?,
            date_of_birth: get(&r, 4)?,
            sex: get(&r, 5)?,
            nationality: get(&r, 6)?,
            permit: get(&r, 7)?,
            valid_from: get(&r, 8)?,
            printed_until: get(&r, 9)?,
            valid_until: get(&r, 10)?,
            state: parse_state(&get::<String>(&r, 11)?)?,
            state_reason: get(&r, 12)?,
            replaces: opt_serial(get(&r, 13)?)?,
            replaced_by: opt_serial(get(&r, 14)?)?,
            kid: get(&r, 15)?,
            payload: get(&r, 16)?,
            portrait: get(&r, 17)?,
            issued_at: get(&r, 18)?,
            issued_by: get(&r, 19)?,
            passport_number: get(&r, 20)?,
            last_extension_from: get(&r, 21)?,
            document: parse_document(&get::<String>(&r, 22)?)?,
        }))
    }

    fn set_valid_until(&self, serial: Serial, until: NaiveDate, at: DateTime<Utc>) -> Result<()> {
        self.send(
            "UPDATE cards SET valid_until = $1, changed_at = $2 WHERE serial = $3",
            vec![Box::new(until), Box::new(at), Box::new(serial.to_string())],
        )
    }

    fn set_state(
        &self,
        serial: Serial,
        state: CardState,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.send(
            "UPDATE cards SET state = $1, state_reason = $2, changed_at = $3 WHERE serial = $4",
            vec![
                Box::new(state.as_str()),
                Box::new(reason.map(str::to_owned)),
                Box::new(at),
                Box::new(serial.to_string()),
            ],
        )
    }

    fn set_replaced_by(&self, serial: Serial, by: Serial) -> Result<()> {
        self.send(
            "UPDATE cards SET replaced_by = $1 WHERE serial = $2",
            vec![Box::new(by.to_string()), Box::new(serial.to_string())],
        )
    }

    fn set_status_seq(&self, serial: Serial, seq: u64) -> Result<()> {
        self.send(
            "UPDATE cards SET status_seq = $1 WHERE serial = $2",
            vec![Box::new(signed(seq)), Box::new(serial.to_string())],
        )
    }

    fn insert_extension(
        &self,
        serial: Serial,
        from: NaiveDate,
        until: NaiveDate,
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.send(
            "INSERT INTO extensions (serial, valid_from, valid_until, reason, at, actor) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                Box::new(serial.to_string()),
                Box::new(from),
                Box::new(until),
                Box::new(reason.to_owned()),
                Box::new(at),
                Box::new(actor.to_owned()),
            ],
        )
    }

    fn insert_state_change(
        &self,
        serial: Serial,
        from: CardState,
        to: CardState,
        reason: Option<&str>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.send(
            "INSERT INTO state_changes (serial, from_state, to_state, reason, at, actor) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                Box::new(serial.to_string()),
                Box::new(from.as_str()),
                Box::new(to.as_str()),
                Box::new(reason.map(str::to_owned)),
                Box::new(at),
                Box::new(actor.to_owned()),
            ],
        )
    }

    fn status(&self, serial: Serial) -> Result<Option<CurrentStatus>> {
        self.query_opt(
            "SELECT state, valid_until, state_reason, replaced_by FROM cards WHERE serial = $1",
            &[&serial.to_string()],
        )?
        .map(|row| current_status(&row))
        .transpose()
    }

    fn status_and_passport(
        &self,
        serial: Serial,
    ) -> Result<Option<(CurrentStatus, Option<String>)>> {
        self.query_opt(
            "SELECT c.state, c.valid_until, c.state_reason, c.replaced_by, h.passport_number
             FROM cards c JOIN holders h ON h.id = c.holder_id WHERE c.serial = $1",
            &[&serial.to_string()],
        )?
        .map(|row| Ok((current_status(&row)?, get(&row, 4)?)))
        .transpose()
    }

    fn status_rows(&self, since: u64) -> Result<Vec<StatusRow>> {
        let rows = if since == 0 {
            self.query(
                "SELECT serial, state, valid_until, printed_valid_until, replaced_by, state_reason FROM cards
                 WHERE state <> 'active' OR valid_until <> printed_valid_until ORDER BY serial",
                &[],
            )?
        } else {
            self.query(
                "SELECT serial, state, valid_until, printed_valid_until, replaced_by, state_reason FROM cards
                 WHERE status_seq > $1 ORDER BY serial",
                &[&signed(since)],
            )?
        };
        rows.iter()
            .map(|r| {
                Ok(StatusRow {
                    serial: parse_serial(&get::<String>(r, 0)?)?,
                    state: parse_state(&get::<String>(r, 1)?)?,
                    valid_until: get(r, 2)?,
                    printed_until: get(r, 3)?,
                    state_reason: get(r, 5)?,
                    replaced_by: opt_serial(get(r, 4)?)?,
                })
            })
            .collect()
    }

    fn card_count(&self) -> Result<u64> {
        let row = self.query_one("SELECT COUNT(*) FROM cards", &[])?;
        Ok(unsigned(get(&row, 0)?))
    }

    fn count_by(&self, dimension: Dimension) -> Result<Vec<(String, u64)>> {
        let rows = self.query(
            match dimension {
                Dimension::State => "SELECT state, COUNT(*) FROM cards GROUP BY 1",
                Dimension::Permit => "SELECT permit, COUNT(*) FROM cards GROUP BY 1",
                Dimension::Nationality => "SELECT nationality, COUNT(*) FROM cards GROUP BY 1",
                Dimension::IssuedMonth => {
                    "SELECT to_char(issued_at AT TIME ZONE 'UTC', 'YYYY-MM'), COUNT(*) FROM cards GROUP BY 1"
                }
            },
            &[],
        )?;
        rows.iter()
            .map(|r| Ok((get(r, 0)?, unsigned(get(r, 1)?))))
            .collect()
    }

    fn count_expiring(&self, from: NaiveDate, until: NaiveDate) -> Result<u64> {
        let row = self.query_one(
            "SELECT COUNT(*) FROM cards WHERE state = 'active' AND valid_until >= $1 AND valid_until <= $2",
            &[&from, &until],
        )?;
        Ok(unsigned(get(&row, 0)?))
    }

    fn audit_head(&self) -> Result<Option<(u64, String)>> {
        // Under the write lock the head is read once a transaction, then moved on here.
        if let Some(head) = self.held.audit_head() {
            return Ok(head);
        }
        let head = self
            .query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])?
            .map(|row| Ok::<_, StoreError>((unsigned(get(&row, 0)?), get(&row, 1)?)))
            .transpose()?;
        self.held.set_audit_head(head.clone());
        Ok(head)
    }

    fn insert_audit(&self, e: &AuditEntry) -> Result<()> {
        self.send(
            "INSERT INTO audit (seq, at, actor, action, serial, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                Box::new(signed(e.seq)),
                Box::new(e.at),
                Box::new(e.actor.clone()),
                Box::new(e.action.as_str()),
                Box::new(e.serial.map(|s| s.to_string())),
                Box::new(e.details.clone()),
                Box::new(e.prev_hash.clone()),
                Box::new(e.hash.clone()),
            ],
        )?;
        self.held.set_audit_head(Some((e.seq, e.hash.clone())));
        Ok(())
    }

    fn audit_page(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>> {
        self.query(
            "SELECT seq, at, actor, action, serial, details, prev_hash, hash FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&signed(after), &i64::from(limit)],
        )?
        .iter()
        .map(audit_entry)
        .collect()
    }

    fn card_audit(&self, serial: Serial, replaces: Option<Serial>) -> Result<Vec<AuditEntry>> {
        self.query(
            "SELECT seq, at, actor, action, serial, details, prev_hash, hash FROM audit
             WHERE serial = $1 OR (serial = $2 AND action = 'replace') ORDER BY seq",
            &[&serial.to_string(), &replaces.map(|s| s.to_string())],
        )?
        .iter()
        .map(audit_entry)
        .collect()
    }

    fn token_named(&self, name: &str) -> Result<Option<TokenRow>> {
        self.query_opt(
            "SELECT id, name, role, hash, revoked_at IS NOT NULL FROM tokens WHERE name = $1",
            &[&name],
        )?
        .map(|row| token_row(&row))
        .transpose()
    }

    fn live_token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        self.query_opt(
            "SELECT id, name, role, hash, FALSE FROM tokens WHERE hash = $1 AND revoked_at IS NULL",
            &[&hash],
        )?
        .map(|row| token_row(&row))
        .transpose()
    }

    fn trusted_keys(&self) -> Result<Vec<TrustedKey>> {
        self.query(
            "SELECT kid, public_key, status, not_before, not_after FROM issuer_keys ORDER BY position",
            &[],
        )?
        .iter()
        .map(|r| {
            trusted_key(
                &get::<String>(r, 0)?,
                &get::<String>(r, 1)?,
                &get::<String>(r, 2)?,
                get(r, 3)?,
                get(r, 4)?,
            )
        })
        .collect()
    }

    fn put_trusted_key(&self, position: u32, key: &TrustedKey) -> Result<()> {
        let position = i32::try_from(position)
            .map_err(|_| StoreError::Corrupt("the trust list is too long".into()))?;
        self.execute(
            "INSERT INTO issuer_keys (position, kid, public_key, status, not_before, not_after)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (position) DO UPDATE SET kid = excluded.kid,
                 public_key = excluded.public_key, status = excluded.status,
                 not_before = excluded.not_before, not_after = excluded.not_after",
            &[
                &position,
                &key.kid.to_string(),
                &public_key_base64url(&key.public_key),
                &key.status.as_str(),
                &key.not_before,
                &key.not_after,
            ],
        )?;
        Ok(())
    }

    fn insert_token(
        &self,
        name: &str,
        role: Role,
        hash: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO tokens (name, role, hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
            &[&name, &role.as_str(), &hash, &at, &actor],
        )?;
        Ok(())
    }

    fn live_admins(&self) -> Result<u64> {
        let row = self.query_one(
            "SELECT COUNT(*) FROM tokens WHERE role = 'admin' AND revoked_at IS NULL",
            &[],
        )?;
        Ok(unsigned(get(&row, 0)?))
    }

    fn revoke_token(&self, id: i64, at: DateTime<Utc>) -> Result<bool> {
        Ok(self.execute(
            "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[&at, &id],
        )? > 0)
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>> {
        self.query(
            "SELECT name, role, created_at, created_by, revoked_at FROM tokens ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(TokenInfo {
                name: get(r, 0)?,
                role: get::<String>(r, 1)?.parse::<Role>()?.as_str(),
                created_at: get(r, 2)?,
                created_by: get(r, 3)?,
                revoked_at: get(r, 4)?,
            })
        })
        .collect()
    }

    fn insert_session(
        &self,
        id_hash: &str,
        token_id: i64,
        csrf: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO console_sessions (id_hash, token_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[&id_hash, &token_id, &csrf, &at, &expires_at],
        )?;
        Ok(())
    }

    fn live_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRow>> {
        self.query_opt(
            "SELECT t.name, t.role, s.csrf, s.expires_at FROM console_sessions s
             JOIN tokens t ON t.id = s.token_id
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND t.revoked_at IS NULL",
            &[&id_hash, &now],
        )?
        .map(|r| {
            Ok(SessionRow {
                token_name: get(&r, 0)?,
                role: get::<String>(&r, 1)?.parse()?,
                csrf: get(&r, 2)?,
                expires_at: get(&r, 3)?,
            })
        })
        .transpose()
    }

    fn delete_session(&self, id_hash: &str) -> Result<bool> {
        Ok(self.execute(
            "DELETE FROM console_sessions WHERE id_hash = $1",
            &[&id_hash],
        )? > 0)
    }

    fn delete_sessions_of(&self, token_id: i64) -> Result<()> {
        self.execute(
            "DELETE FROM console_sessions WHERE token_id = $1",
            &[&token_id],
        )?;
        Ok(())
    }

    fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<()> {
        self.execute(
            "DELETE FROM console_sessions WHERE expires_at <= $1",
            &[&now],
        )?;
        Ok(())
    }

    fn set_counter(&self, counter: Counter, value: u64) -> Result<()> {
        self.execute(
            "UPDATE counters SET value = $1 WHERE name = $2",
            &[&signed(value), &counter.name()],
        )?;
        self.held.set_counter(counter, value);
        Ok(())
    }

    fn select(
        &self,
        sql: &'static str,
        params: &[(Value, Kind)],
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Value>>> {
        let bound: Vec<PgValue<'_>> = params.iter().map(|(v, k)| PgValue(v, *k)).collect();
        let refs: Vec<&(dyn ToSql + Sync)> =
            bound.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        self.query(sql, &refs)?
            .iter()
            .map(|row| {
                kinds
                    .iter()
                    .enumerate()
                    .map(|(i, kind)| read_value(row, i, *kind))
                    .collect()
            })
            .collect()
    }

    fn change(&self, sql: &'static str, params: Vec<(Value, Kind)>) -> Result<()> {
        self.send(
            sql,
            params
                .into_iter()
                .map(|(v, k)| Box::new(OwnedPgValue(v, k)) as Box<dyn ToSql + Send + Sync>)
                .collect(),
        )
    }

    fn export_rows(
        &self,
        table: &Table,
        after: Option<&Value>,
        limit: u32,
    ) -> Result<Vec<Vec<Value>>> {
        self.flush()?;
        let (key, key_kind) = table.columns[0];
        let client = self.client()?;
        let sql = match after {
            None => format!(
                "SELECT {} FROM {} ORDER BY {key} LIMIT {limit}",
                table.column_list(),
                table.name
            ),
            Some(_) => format!(
                "SELECT {} FROM {} WHERE {key} > $1 ORDER BY {key} LIMIT {limit}",
                table.column_list(),
                table.name
            ),
        };
        let after = after.map(|v| PgValue(v, key_kind));
        let params: Vec<&(dyn ToSql + Sync)> =
            after.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let rows = client
            .wait(client.query(sql.as_str(), &params))
            .map_err(pg)?;
        rows.iter()
            .map(|row| {
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, kind))| read_value(row, i, *kind))
                    .collect()
            })
            .collect()
    }

    fn import_rows(&self, table: &Table, rows: &[Vec<Value>]) -> Result<()> {
        self.flush()?;
        self.held.forget();
        // Many rows a statement (PostgreSQL takes at most 65,535 parameters in one).
        let width = table.columns.len();
        let client = self.client()?;
        for chunk in rows.chunks((60_000 / width).max(1)) {
            let tuples: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let cells: Vec<String> =
                        (1..=width).map(|c| format!("${}", r * width + c)).collect();
                    format!("({})", cells.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO {} ({}) {}VALUES {}",
                table.name,
                table.column_list(),
                if table.identity {
                    "OVERRIDING SYSTEM VALUE "
                } else {
                    ""
                },
                tuples.join(", ")
            );
            let values: Vec<PgValue<'_>> = chunk
                .iter()
                .flat_map(|row| {
                    row.iter()
                        .zip(table.columns)
                        .map(|(v, (_, kind))| PgValue(v, *kind))
                })
                .collect();
            let params: Vec<&(dyn ToSql + Sync)> =
                values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            client
                .wait(client.execute(sql.as_str(), &params))
                .map_err(pg)?;
        }
        Ok(())
    }

    fn after_import(&self, table: &Table) -> Result<()> {
        if table.identity {
            let key = table.columns[0].0;
            self.batch(&format!(
                "SELECT setval(pg_get_serial_sequence('{name}', '{key}'), COALESCE((SELECT MAX({key}) FROM {name}), 0) + 1, false)",
                name = table.name
            ))?;
        }
        Ok(())
    }

    fn integrity_check(&self) -> Result<String> {
        // PostgreSQL checks its own pages (checksums, WAL); what rescard can check is that every
        // card has its holder and the counters are ahead of what they counted.
        let row = self.query_one(
            "SELECT (SELECT COUNT(*) FROM cards c LEFT JOIN holders h ON h.id = c.holder_id WHERE h.id IS NULL),
                    (SELECT value FROM counters WHERE name = 'serial') >= (SELECT COUNT(*) FROM cards)",
            &[],
        )?;
        let orphans: i64 = get(&row, 0)?;
        let counters_ahead: bool = get(&row, 1)?;
        Ok(match (orphans, counters_ahead) {
            (0, true) => "ok".to_owned(),
            (0, false) => "the serial counter is behind the cards issued".to_owned(),
            (n, _) => format!("{n} cards have no holder"),
        })
    }

    fn backup_to(&self, _path: &std::path::Path) -> Result<()> {
        Err(StoreError::Location(
            "backup copies an SQLite registry; back up PostgreSQL with its own tools: pg_dump, or a base backup with WAL archiving (see the README)".into(),
        ))
    }

    fn raw_execute(&self, sql: &str, params: &[&str]) -> Result<u64> {
        self.flush()?;
        self.held.forget();
        let sql = dollar_params(sql);
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let client = self.client()?;
        client
            .wait(client.execute(sql.as_str(), &params))
            .map_err(pg)
    }

    fn raw_count(&self, sql: &str, params: &[&str]) -> Result<i64> {
        self.flush()?;
        let sql = dollar_params(sql);
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let client = self.client()?;
        let row = client
            .wait(client.query_one(sql.as_str(), &params))
            .map_err(pg)?;
        get(&row, 0)
    }
}
