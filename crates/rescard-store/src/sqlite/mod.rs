//! The SQLite backend: one file (WAL, foreign keys, full synchronous commits), the embedded default.
//! Dates and timestamps are stored as text (ISO 8601 and RFC 3339 with microseconds), which sorts
//! as it reads.

mod files;
mod rows;
mod schema;

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rescard_core::keys::public_key_base64url;
use rescard_core::{CardState, CurrentStatus, Serial, TrustedKey};
use rusqlite::{Connection, OptionalExtension, params};

pub use files::create_private_dir;
pub use schema::version as schema_version;

use rows::{
    AUDIT_COLUMNS, audit_entry, audit_text, from_sql, parse_date, parse_time, status_of, to_sql,
};

use crate::audit::AuditEntry;
use crate::model::{TokenInfo, timestamp};
use crate::storage::{
    Backend, Begin, CardRow, CardStanding, Counter, Dimension, HolderRow, NewCardRow, NewHolder,
    SessionRow, StatusRow, Storage, TokenRow, holder_row, parse_document, parse_serial,
    parse_state, signed, trusted_key, unsigned,
};
use crate::tables::{Kind, Table, Value};
use crate::{Result, Role, StoreError};

/// `$1`-style parameters as SQLite's `?1`.
fn question_params(sql: &str) -> String {
    sql.replace('$', "?")
}

/// A registry in one SQLite file.
pub struct Sqlite {
    conn: Connection,
}

impl Sqlite {
    /// Opens (creating if need be) the registry file at `path`, refusing one other accounts can
    /// read, and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        files::make_private(path)?;
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

    fn run(&self, sql: &str) -> Result<()> {
        self.conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    }
}

impl Storage for Sqlite {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn begin(&self, how: Begin) -> Result<()> {
        if !self.conn.is_autocommit() {
            // Left open by a group that panicked half-way: none of it was acknowledged.
            self.conn.execute_batch("ROLLBACK")?;
        }
        self.run(match how {
            Begin::Read => "BEGIN DEFERRED",
            Begin::Write => "BEGIN IMMEDIATE",
        })
    }

    fn commit(&self) -> Result<()> {
        self.run("COMMIT")
    }

    fn rollback(&self) -> Result<()> {
        if !self.conn.is_autocommit() {
            self.run("ROLLBACK")?;
        }
        Ok(())
    }

    fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    fn savepoint(&self, name: &'static str) -> Result<()> {
        self.run(&format!("SAVEPOINT {name}"))
    }

    fn release(&self, name: &'static str) -> Result<()> {
        self.run(&format!("RELEASE {name}"))
    }

    fn rollback_to(&self, name: &'static str) -> Result<()> {
        self.run(&format!("ROLLBACK TO {name}"))?;
        self.release(name)
    }

    fn next(&self, counter: Counter) -> Result<u64> {
        let value: i64 = self
            .conn
            .prepare_cached(
                "UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value",
            )?
            .query_row([counter.name()], |r| r.get(0))?;
        Ok(unsigned(value))
    }

    fn current(&self, counter: Counter) -> Result<u64> {
        let value: i64 = self
            .conn
            .prepare_cached("SELECT value FROM counters WHERE name = ?1")?
            .query_row([counter.name()], |r| r.get(0))?;
        Ok(unsigned(value))
    }

    fn holder_lookup(
        &self,
        nationality: &str,
        passport: Option<&str>,
        date_of_birth: NaiveDate,
    ) -> Result<(Option<HolderRow>, Option<u16>)> {
        // Two lookups in the same file, the second only when needed.
        let holder = match passport {
            Some(passport) => self
                .conn
                .prepare_cached("SELECT itn, date_of_birth FROM holders WHERE nationality = ?1 AND passport_number = ?2")?
                .query_row(params![nationality, passport], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .optional()?
                .map(|(itn, dob)| holder_row(&itn, parse_date(&dob)?))
                .transpose()?,
            None => None,
        };
        if holder.is_some() {
            return Ok((holder, None));
        }
        let last: Option<i64> = self
            .conn
            .prepare_cached("SELECT MAX(itn_sequence) FROM holders WHERE date_of_birth = ?1")?
            .query_row([date_of_birth.to_string()], |r| r.get(0))?;
        Ok((None, last.map(|n| u16::try_from(n).unwrap_or(u16::MAX))))
    }

    fn insert_holder(&self, h: &NewHolder<'_>) -> Result<()> {
        self.conn.prepare_cached("INSERT INTO holders (itn, date_of_birth, itn_sequence, nationality, passport_number, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(
            params![h.itn.to_string(), h.date_of_birth.to_string(), h.itn_sequence, h.nationality, h.passport_number, timestamp(h.created_at)],
        )?;
        Ok(())
    }

    fn insert_card(&self, c: &NewCardRow<'_>) -> Result<()> {
        let card = c.card;
        let h = card.holder();
        let at = timestamp(c.issued_at);
        self.conn.prepare_cached("INSERT INTO cards (serial, holder_id, surname, given_names, native_name, date_of_birth, sex, nationality, permit,
                valid_from, printed_valid_until, valid_until, state, replaces, kid, payload, portrait, issued_at, issued_by, changed_at, document)
             VALUES (?1, (SELECT id FROM holders WHERE itn = ?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, 'active', ?12, ?13, ?14, ?15, ?16, ?17, ?16, ?18)")?.execute(
            params![
                card.serial().to_string(),
                card.itn().to_string(),
                h.surname.as_ref(),
                h.given_names.as_ref(),
                h.native_name.as_ref().map(|n| n.to_string()),
                h.date_of_birth.to_string(),
                h.sex.map(|s| s.as_str()),
                h.nationality.as_str(),
                card.permit().as_str(),
                card.validity().from().to_string(),
                card.validity().until().to_string(),
                c.replaces.map(|s| s.to_string()),
                c.kid.to_string(),
                c.payload,
                c.portrait.map(rescard_core::Portrait::bytes),
                at,
                c.issued_by,
                card.document().as_str(),
            ],
        )?;
        Ok(())
    }

    fn card_state(&self, serial: Serial) -> Result<Option<CardStanding>> {
        let row = self
            .conn
            .prepare_cached("SELECT state, valid_until, document FROM cards WHERE serial = ?1")?
            .query_row([serial.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        row.map(|(state, until, document)| {
            Ok(CardStanding {
                state: parse_state(&state)?,
                valid_until: parse_date(&until)?,
                document: parse_document(&document)?,
            })
        })
        .transpose()
    }

    fn card_row(&self, serial: Serial) -> Result<Option<CardRow>> {
        type Text = Option<String>;
        let row = self
            .conn
            .prepare_cached(
                "SELECT h.itn, c.surname, c.given_names, c.native_name, c.date_of_birth, c.sex, c.nationality, c.permit,
                        c.valid_from, c.printed_valid_until, c.valid_until, c.state, c.state_reason, c.replaces, c.replaced_by,
                        c.kid, c.payload, c.portrait, c.issued_at, c.issued_by, h.passport_number,
                        (SELECT valid_from FROM extensions e WHERE e.serial = c.serial ORDER BY e.id DESC LIMIT 1), c.document
                 FROM cards c JOIN holders h ON h.id = c.holder_id WHERE c.serial = ?1",
            )?
            .query_row([serial.to_string()], |r| {
                Ok((
                    (r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Text>(3)?),
                    (r.get::<_, String>(4)?, r.get::<_, Text>(5)?, r.get::<_, String>(6)?, r.get::<_, String>(7)?),
                    (r.get::<_, String>(8)?, r.get::<_, String>(9)?, r.get::<_, String>(10)?, r.get::<_, String>(11)?),
                    (r.get::<_, Text>(12)?, r.get::<_, Text>(13)?, r.get::<_, Text>(14)?, r.get::<_, String>(15)?),
                    (r.get::<_, String>(16)?, r.get::<_, Option<Vec<u8>>>(17)?, r.get::<_, String>(18)?, r.get::<_, String>(19)?),
                    (r.get::<_, Text>(20)?, r.get::<_, Text>(21)?, r.get::<_, String>(22)?),
                ))
            })
            .optional()?;
        let Some((a, b, c, d, e, f)) = row else {
            return Ok(None);
        };
        Ok(Some(CardRow {
            itn: a.0,
            surname: a.1,
            given_names: a.2,
            native_name: a.3,
            date_of_birth: parse_date(&b.0)?,
            sex: b.1,
            nationality: b.2,
            permit: b.3,
            valid_from: parse_date(&c.0)?,
            printed_until: parse_date(&c.1)?,
            valid_until: parse_date(&c.2)?,
            state: parse_state(&c.3)?,
            state_reason: d.0,
            replaces: d.1.as_deref().map(parse_serial).transpose()?,
            replaced_by: d.2.as_deref().map(parse_serial).transpose()?,
            kid: d.3,
            payload: e.0,
            portrait: e.1,
            issued_at: parse_time(&e.2)?,
            issued_by: e.3,
            passport_number: f.0,
            last_extension_from: f.1.as_deref().map(parse_date).transpose()?,
            document: parse_document(&f.2)?,
        }))
    }

    fn set_valid_until(&self, serial: Serial, until: NaiveDate, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE cards SET valid_until = ?1, changed_at = ?2 WHERE serial = ?3")?
            .execute(params![
                until.to_string(),
                timestamp(at),
                serial.to_string()
            ])?;
        Ok(())
    }

    fn set_state(
        &self,
        serial: Serial,
        state: CardState,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE cards SET state = ?1, state_reason = ?2, changed_at = ?3 WHERE serial = ?4",
            )?
            .execute(params![
                state.as_str(),
                reason,
                timestamp(at),
                serial.to_string()
            ])?;
        Ok(())
    }

    fn set_replaced_by(&self, serial: Serial, by: Serial) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE cards SET replaced_by = ?1 WHERE serial = ?2")?
            .execute(params![by.to_string(), serial.to_string()])?;
        Ok(())
    }

    fn set_status_seq(&self, serial: Serial, seq: u64) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE cards SET status_seq = ?1 WHERE serial = ?2")?
            .execute(params![signed(seq), serial.to_string()])?;
        Ok(())
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
        self.conn.prepare_cached(
            "INSERT INTO extensions (serial, valid_from, valid_until, reason, at, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?.execute(params![serial.to_string(), from.to_string(), until.to_string(), reason, timestamp(at), actor])?;
        Ok(())
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
        self.conn.prepare_cached(
            "INSERT INTO state_changes (serial, from_state, to_state, reason, at, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?.execute(params![serial.to_string(), from.as_str(), to.as_str(), reason, timestamp(at), actor])?;
        Ok(())
    }

    fn status(&self, serial: Serial) -> Result<Option<CurrentStatus>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT state, valid_until, state_reason, replaced_by FROM cards INDEXED BY cards_status WHERE serial = ?1",
            )?
            .query_row([serial.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .optional()?;
        row.map(|(state, until, reason, by)| status_of(&state, &until, reason, by.as_deref()))
            .transpose()
    }

    fn status_and_passport(
        &self,
        serial: Serial,
    ) -> Result<Option<(CurrentStatus, Option<String>)>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT c.state, c.valid_until, c.state_reason, c.replaced_by, h.passport_number
                 FROM cards c INDEXED BY cards_status JOIN holders h ON h.id = c.holder_id WHERE c.serial = ?1",
            )?
            .query_row([serial.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .optional()?;
        row.map(|(state, until, reason, by, passport)| {
            Ok((status_of(&state, &until, reason, by.as_deref())?, passport))
        })
        .transpose()
    }

    fn status_rows(&self, since: u64) -> Result<Vec<StatusRow>> {
        let since = signed(since);
        let mut stmt = self.conn.prepare_cached(if since == 0 {
            "SELECT serial, state, valid_until, printed_valid_until, replaced_by, state_reason FROM cards
             WHERE (state != 'active' OR valid_until != printed_valid_until) AND ?1 = 0 ORDER BY serial"
        } else {
            "SELECT serial, state, valid_until, printed_valid_until, replaced_by, state_reason FROM cards
             WHERE status_seq > ?1 ORDER BY serial"
        })?;
        let rows = stmt.query_map([since], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (serial, state, until, printed, by, state_reason) = row?;
            out.push(StatusRow {
                serial: parse_serial(&serial)?,
                state: parse_state(&state)?,
                valid_until: parse_date(&until)?,
                printed_until: parse_date(&printed)?,
                state_reason,
                replaced_by: by.as_deref().map(parse_serial).transpose()?,
            });
        }
        Ok(out)
    }

    fn card_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM cards")?
            .query_row([], |r| r.get(0))?;
        Ok(unsigned(n))
    }

    fn count_by(&self, dimension: Dimension) -> Result<Vec<(String, u64)>> {
        let sql = match dimension {
            Dimension::State => "SELECT state, COUNT(*) FROM cards GROUP BY 1",
            Dimension::Permit => "SELECT permit, COUNT(*) FROM cards GROUP BY 1",
            Dimension::Nationality => "SELECT nationality, COUNT(*) FROM cards GROUP BY 1",
            Dimension::IssuedMonth => {
                "SELECT substr(issued_at, 1, 7), COUNT(*) FROM cards GROUP BY 1"
            }
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        Ok(rows
            .map(|r| r.map(|(k, n)| (k, unsigned(n))))
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn count_expiring(&self, from: NaiveDate, until: NaiveDate) -> Result<u64> {
        let n: i64 = self.conn.prepare_cached(
            "SELECT COUNT(*) FROM cards WHERE state = 'active' AND valid_until >= ?1 AND valid_until <= ?2",
        )?.query_row(params![from.to_string(), until.to_string()], |r| r.get(0))?;
        Ok(unsigned(n))
    }

    fn audit_head(&self) -> Result<Option<(u64, String)>> {
        let head = self
            .conn
            .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
            .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .optional()?;
        Ok(head.map(|(seq, hash)| (unsigned(seq), hash)))
    }

    fn insert_audit(&self, e: &AuditEntry) -> Result<()> {
        self.conn.prepare_cached("INSERT INTO audit (seq, at, actor, action, serial, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?.execute(
            params![signed(e.seq), timestamp(e.at), e.actor, e.action.as_str(), e.serial.map(|s| s.to_string()), e.details, e.prev_hash, e.hash],
        )?;
        Ok(())
    }

    fn audit_page(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![signed(after), limit], audit_text)?;
        rows.map(|r| audit_entry(r?)).collect()
    }

    fn card_audit(&self, serial: Serial, replaces: Option<Serial>) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE serial = ?1 OR (serial = ?2 AND action = 'replace') ORDER BY seq"
        ))?;
        let rows = stmt.query_map(
            params![serial.to_string(), replaces.map(|s| s.to_string())],
            audit_text,
        )?;
        rows.map(|r| audit_entry(r?)).collect()
    }

    fn token_named(&self, name: &str) -> Result<Option<TokenRow>> {
        self.token_query(
            "SELECT id, name, role, hash, revoked_at IS NOT NULL FROM tokens WHERE name = ?1",
            name,
        )
    }

    fn live_token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        self.token_query(
            "SELECT id, name, role, hash, FALSE FROM tokens WHERE hash = ?1 AND revoked_at IS NULL",
            hash,
        )
    }

    fn trusted_keys(&self) -> Result<Vec<TrustedKey>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kid, public_key, status, not_before, not_after FROM issuer_keys ORDER BY position",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kid, public_key, status, not_before, not_after) = row?;
            out.push(trusted_key(
                &kid,
                &public_key,
                &status,
                parse_time(&not_before)?,
                not_after.as_deref().map(parse_time).transpose()?,
            )?);
        }
        Ok(out)
    }

    fn put_trusted_key(&self, position: u32, key: &TrustedKey) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO issuer_keys (position, kid, public_key, status, not_before, not_after)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (position) DO UPDATE SET kid = excluded.kid,
                     public_key = excluded.public_key, status = excluded.status,
                     not_before = excluded.not_before, not_after = excluded.not_after",
            )?
            .execute(params![
                position,
                key.kid.to_string(),
                public_key_base64url(&key.public_key),
                key.status.as_str(),
                timestamp(key.not_before),
                key.not_after.map(timestamp),
            ])?;
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
        self.conn.prepare_cached(
            "INSERT INTO tokens (name, role, hash, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?.execute(params![name, role.as_str(), hash, timestamp(at), actor])?;
        Ok(())
    }

    fn live_admins(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM tokens WHERE role = 'admin' AND revoked_at IS NULL",
            )?
            .query_row([], |r| r.get(0))?;
        Ok(unsigned(n))
    }

    fn revoke_token(&self, id: i64, at: DateTime<Utc>) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            )?
            .execute(params![timestamp(at), id])?;
        Ok(changed > 0)
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, role, created_at, created_by, revoked_at FROM tokens ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role, created_at, created_by, revoked_at) = row?;
            out.push(TokenInfo {
                name,
                role: role.parse::<Role>()?.as_str(),
                created_at: parse_time(&created_at)?,
                created_by,
                revoked_at: revoked_at.as_deref().map(parse_time).transpose()?,
            });
        }
        Ok(out)
    }

    fn insert_session(
        &self,
        id_hash: &str,
        token_id: i64,
        csrf: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.prepare_cached(
            "INSERT INTO console_sessions (id_hash, token_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?.execute(params![id_hash, token_id, csrf, timestamp(at), timestamp(expires_at)])?;
        Ok(())
    }

    fn live_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRow>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT t.name, t.role, s.csrf, s.expires_at FROM console_sessions s
                 JOIN tokens t ON t.id = s.token_id
                 WHERE s.id_hash = ?1 AND s.expires_at > ?2 AND t.revoked_at IS NULL",
            )?
            .query_row(params![id_hash, timestamp(now)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .optional()?;
        row.map(|(token_name, role, csrf, expires_at)| {
            Ok(SessionRow {
                token_name,
                role: role.parse()?,
                csrf,
                expires_at: parse_time(&expires_at)?,
            })
        })
        .transpose()
    }

    fn delete_session(&self, id_hash: &str) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM console_sessions WHERE id_hash = ?1")?
            .execute([id_hash])?;
        Ok(n > 0)
    }

    fn delete_sessions_of(&self, token_id: i64) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM console_sessions WHERE token_id = ?1")?
            .execute([token_id])?;
        Ok(())
    }

    fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM console_sessions WHERE expires_at <= ?1")?
            .execute([timestamp(now)])?;
        Ok(())
    }

    fn set_counter(&self, counter: Counter, value: u64) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE counters SET value = ?1 WHERE name = ?2")?
            .execute(params![signed(value), counter.name()])?;
        Ok(())
    }

    fn select(
        &self,
        sql: &'static str,
        params: &[(Value, Kind)],
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Value>>> {
        let mut stmt = self.conn.prepare_cached(&question_params(sql))?;
        let bound = params
            .iter()
            .map(|(v, _)| to_sql(v))
            .collect::<Result<Vec<_>>>()?;
        let mut rows = stmt.query(rusqlite::params_from_iter(bound))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let values = kinds
                .iter()
                .enumerate()
                .map(|(i, kind)| from_sql(row.get_ref(i)?, *kind))
                .collect::<Result<Vec<_>>>()?;
            out.push(values);
        }
        Ok(out)
    }

    fn change(&self, sql: &'static str, params: Vec<(Value, Kind)>) -> Result<()> {
        let bound = params
            .iter()
            .map(|(v, _)| to_sql(v))
            .collect::<Result<Vec<_>>>()?;
        self.conn
            .prepare_cached(&question_params(sql))?
            .execute(rusqlite::params_from_iter(bound))?;
        Ok(())
    }

    fn export_rows(
        &self,
        table: &Table,
        after: Option<&Value>,
        limit: u32,
    ) -> Result<Vec<Vec<Value>>> {
        let key = table.columns[0].0;
        let sql = format!(
            "SELECT {} FROM {} WHERE ?1 IS NULL OR {key} > ?1 ORDER BY {key} LIMIT ?2",
            table.column_list(),
            table.name
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let after = after.map(to_sql).transpose()?;
        let mut rows = stmt.query(params![after, limit])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(table.columns.len());
            for (i, (column, kind)) in table.columns.iter().enumerate() {
                values.push(
                    from_sql(row.get_ref(i)?, *kind).map_err(|e| {
                        StoreError::Corrupt(format!("{}.{column}: {e}", table.name))
                    })?,
                );
            }
            out.push(values);
        }
        Ok(out)
    }

    fn import_rows(&self, table: &Table, rows: &[Vec<Value>]) -> Result<()> {
        let placeholders: Vec<String> =
            (1..=table.columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name,
            table.column_list(),
            placeholders.join(", ")
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        for row in rows {
            let values = row.iter().map(to_sql).collect::<Result<Vec<_>>>()?;
            stmt.execute(rusqlite::params_from_iter(values))?;
        }
        Ok(())
    }

    fn after_import(&self, _table: &Table) -> Result<()> {
        // SQLite gives the next row id after the largest there is.
        Ok(())
    }

    fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// Copies the whole registry into a new database at `path`, consistently, while other
    /// connections keep reading and writing: the copy is taken in one read transaction (SQLite's
    /// online backup), so it holds every transaction committed before it began and none after. The
    /// copy is as private as the registry (mode 0600).
    fn backup_to(&self, path: &Path) -> Result<()> {
        files::make_private(path)?;
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

    fn raw_execute(&self, sql: &str, params: &[&str]) -> Result<u64> {
        let n = self
            .conn
            .execute(sql, rusqlite::params_from_iter(params.iter()))?;
        Ok(n as u64)
    }

    fn raw_count(&self, sql: &str, params: &[&str]) -> Result<i64> {
        Ok(self
            .conn
            .query_row(sql, rusqlite::params_from_iter(params.iter()), |r| r.get(0))?)
    }
}

impl Sqlite {
    /// One token row: `sql` selects id, name, role, hash and whether it was revoked.
    fn token_query(&self, sql: &str, value: &str) -> Result<Option<TokenRow>> {
        let row = self
            .conn
            .prepare_cached(sql)?
            .query_row([value], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, bool>(4)?,
                ))
            })
            .optional()?;
        row.map(|(id, name, role, hash, revoked)| {
            Ok(TokenRow {
                id,
                name,
                role: role.parse()?,
                hash,
                revoked,
            })
        })
        .transpose()
    }
}
