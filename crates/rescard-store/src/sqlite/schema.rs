//! The registry schema and its migrations. Each migration runs once, in order, inside a transaction;
//! `PRAGMA user_version` records how many have run. Never edit a released migration: add one.

use rusqlite::Connection;

use crate::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: holders, cards, acts, audit log.
    r#"
    CREATE TABLE holders (
        id               INTEGER PRIMARY KEY,
        itn              TEXT NOT NULL UNIQUE,
        date_of_birth    TEXT NOT NULL,
        itn_sequence     INTEGER NOT NULL,
        nationality      TEXT NOT NULL,
        passport_number  TEXT,
        created_at       TEXT NOT NULL,
        UNIQUE (nationality, passport_number),
        UNIQUE (date_of_birth, itn_sequence)
    );
    CREATE TABLE cards (
        serial               TEXT PRIMARY KEY,
        holder_id            INTEGER NOT NULL REFERENCES holders(id),
        surname              TEXT NOT NULL,
        given_names          TEXT NOT NULL,
        native_name          TEXT,
        date_of_birth        TEXT NOT NULL,
        sex                  TEXT CHECK (sex IN ('F', 'M', 'X')),
        nationality          TEXT NOT NULL,
        permit               TEXT NOT NULL CHECK (permit IN ('work', 'study', 'family', 'business', 'other')),
        valid_from           TEXT NOT NULL,
        printed_valid_until  TEXT NOT NULL,
        valid_until          TEXT NOT NULL,
        state                TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'revoked', 'replaced')),
        state_reason         TEXT,
        replaces             TEXT REFERENCES cards(serial),
        replaced_by          TEXT REFERENCES cards(serial),
        kid                  TEXT NOT NULL,
        payload              TEXT NOT NULL,
        portrait             BLOB,
        issued_at            TEXT NOT NULL,
        issued_by            TEXT NOT NULL,
        changed_at           TEXT NOT NULL
    );
    CREATE INDEX cards_holder ON cards(holder_id);
    CREATE INDEX cards_state ON cards(state);
    CREATE TABLE extensions (
        id           INTEGER PRIMARY KEY,
        serial       TEXT NOT NULL REFERENCES cards(serial),
        valid_from   TEXT NOT NULL,
        valid_until  TEXT NOT NULL,
        reason       TEXT NOT NULL,
        at           TEXT NOT NULL,
        actor        TEXT NOT NULL
    );
    CREATE INDEX extensions_serial ON extensions(serial);
    CREATE TABLE state_changes (
        id          INTEGER PRIMARY KEY,
        serial      TEXT NOT NULL REFERENCES cards(serial),
        from_state  TEXT NOT NULL,
        to_state    TEXT NOT NULL,
        reason      TEXT,
        at          TEXT NOT NULL,
        actor       TEXT NOT NULL
    );
    CREATE INDEX state_changes_serial ON state_changes(serial);
    CREATE TABLE counters (
        name   TEXT PRIMARY KEY,
        value  INTEGER NOT NULL
    );
    INSERT INTO counters (name, value) VALUES ('serial', 0);
    CREATE TABLE audit (
        seq        INTEGER PRIMARY KEY,
        at         TEXT NOT NULL,
        actor      TEXT NOT NULL,
        action     TEXT NOT NULL,
        serial     TEXT,
        details    TEXT NOT NULL,
        prev_hash  TEXT NOT NULL,
        hash       TEXT NOT NULL
    );
    CREATE INDEX audit_serial ON audit(serial);
    CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    "#,
    // 2: staff tokens. Only a SHA-256 of each token is kept; names are never reused.
    r#"
    CREATE TABLE tokens (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        role        TEXT NOT NULL CHECK (role IN ('admin', 'issuer', 'police', 'bank', 'employer')),
        hash        TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        revoked_at  TEXT
    );
    "#,
    // 3: status sequence numbers for offline snapshots. Every act that changes what a card's QR no
    // longer says (extension, suspension, reinstatement, revocation, replacement) takes the next
    // number; a delta since N is the cards whose number is above N.
    r#"
    ALTER TABLE cards ADD COLUMN status_seq INTEGER NOT NULL DEFAULT 0;
    INSERT INTO counters (name, value) VALUES ('status', 0);
    UPDATE cards SET status_seq = rowid WHERE state != 'active' OR valid_until != printed_valid_until;
    UPDATE counters SET value = (SELECT COALESCE(MAX(status_seq), 0) FROM cards) WHERE name = 'status';
    CREATE INDEX cards_status_seq ON cards(status_seq) WHERE status_seq > 0;
    CREATE INDEX cards_listed ON cards(serial) WHERE state != 'active' OR valid_until != printed_valid_until;
    "#,
    // 4: a card's status in its own index, so that a check reads it without the card's row (which
    // holds the payload and the portrait): half the pages of a lookup in a registry of a million.
    r#"
    CREATE INDEX cards_status ON cards(serial, state, valid_until, state_reason, replaced_by, holder_id);
    "#,
    // 5: the staff console's sessions (see `sessions.rs`): the cookie carries a random id, no longer
    // the staff token itself; a session ends on sign-out, at its expiry, or with its token.
    r#"
    CREATE TABLE console_sessions (
        id_hash     TEXT PRIMARY KEY,
        token_id    INTEGER NOT NULL REFERENCES tokens(id),
        csrf        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL
    );
    CREATE INDEX console_sessions_token ON console_sessions(token_id);
    "#,
    // 6: the trust list, which was `keys.json` in the key directory: every replica reads it here,
    // and the `keys` counter moves on with each change. One active key at most.
    r#"
    CREATE TABLE issuer_keys (
        position    INTEGER PRIMARY KEY,
        kid         TEXT NOT NULL,
        public_key  TEXT NOT NULL UNIQUE,
        status      TEXT NOT NULL CHECK (status IN ('active', 'verify-only', 'retired')),
        not_before  TEXT NOT NULL,
        not_after   TEXT
    );
    CREATE UNIQUE INDEX issuer_keys_one_active ON issuer_keys(status) WHERE status = 'active';
    INSERT INTO counters (name, value) VALUES ('keys', 0);
    "#,
    // 7: the document type: every card before it is a resident card.
    r#"
    ALTER TABLE cards ADD COLUMN document TEXT NOT NULL DEFAULT 'resident_card'
        CHECK (document IN ('resident_card', 'interim'));
    "#,
    // 8: applications filed online, their documents and history, and the mail outbox written in
    // the transaction of each act.
    r#"
    CREATE TABLE applications (
        id               TEXT PRIMARY KEY,
        secret_hash      TEXT NOT NULL,
        kind             TEXT NOT NULL CHECK (kind IN ('card', 'interim', 'extension', 'replacement')),
        status           TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'in_review', 'needs_info', 'approved', 'refused', 'withdrawn')),
        lang             TEXT NOT NULL,
        email            TEXT NOT NULL,
        filed_by         TEXT,
        request          TEXT NOT NULL,
        serial           TEXT,
        fee              BIGINT NOT NULL,
        paid_reference   TEXT,
        paid_amount      BIGINT,
        paid_by          TEXT,
        paid_at          TEXT,
        recommendation   TEXT,
        review_note      TEXT,
        reviewed_by      TEXT,
        reviewed_at      TEXT,
        info_request     TEXT,
        decision_reason  TEXT,
        decided_by       TEXT,
        decided_at       TEXT,
        issued_serial    TEXT,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL,
        purged_at        TEXT,
        reminded_for     TEXT
    );
    CREATE INDEX applications_queue ON applications(status, created_at, id);
    CREATE TABLE application_documents (
        id              INTEGER PRIMARY KEY,
        application_id  TEXT NOT NULL REFERENCES applications(id),
        name            TEXT NOT NULL,
        content_type    TEXT NOT NULL,
        sha256          TEXT NOT NULL,
        size            BIGINT NOT NULL,
        bytes           BLOB NOT NULL,
        uploaded_at     TEXT NOT NULL,
        UNIQUE (application_id, name)
    );
    CREATE TABLE application_events (
        id              INTEGER PRIMARY KEY,
        application_id  TEXT NOT NULL REFERENCES applications(id),
        at              TEXT NOT NULL,
        actor           TEXT NOT NULL,
        action          TEXT NOT NULL,
        status          TEXT NOT NULL,
        note            TEXT
    );
    CREATE INDEX application_events_of ON application_events(application_id, id);
    CREATE TABLE outbox (
        id               INTEGER PRIMARY KEY,
        to_address       TEXT NOT NULL,
        subject          TEXT NOT NULL,
        body             TEXT NOT NULL,
        created_at       TEXT NOT NULL,
        attempts         BIGINT NOT NULL DEFAULT 0,
        next_attempt_at  TEXT NOT NULL,
        sent_at          TEXT,
        last_error       TEXT
    );
    CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at IS NULL;
    "#,
    // 9: what the root of trust said: its public key, and its certificates and revocations of
    // issuer keys (COSE_Sign1 each), carried by the trust list.
    r#"
    CREATE TABLE root_statements (
        id         INTEGER PRIMARY KEY,
        kind       TEXT NOT NULL CHECK (kind IN ('root', 'certificate', 'revocation')),
        kid        TEXT NOT NULL,
        statement  BLOB NOT NULL,
        added_at   TEXT NOT NULL,
        added_by   TEXT NOT NULL
    );
    CREATE UNIQUE INDEX root_statements_one_root ON root_statements(kind) WHERE kind = 'root';
    CREATE INDEX cards_kid ON cards(kid, issued_at);
    "#,
];

/// Applies the pragmas every connection needs and the migrations not yet run.
pub(crate) fn prepare(conn: &mut Connection) -> Result<(), StoreError> {
    // First: another process may be creating or migrating the same registry.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    wal(conn)?;
    // FULL: a transaction acknowledged to a caller survives a power cut, not only a crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Plans must not depend on bound values. Without this, SQLite (built with STAT4) recompiled the
    // serial lookup on every new serial, because the partial index `cards_listed` made the value
    // "interesting" to the planner: a third of a status lookup was spent parsing SQL.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    // Each migration in a write transaction that reads the version again: two processes opening a
    // new registry at once take turns, and the second finds the work done.
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let done: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let done = usize::try_from(done).unwrap_or(usize::MAX);
        if done > MIGRATIONS.len() {
            return Err(StoreError::Corrupt(format!(
                "the registry has schema version {done}, newer than this rescard ({}): upgrade rescard",
                MIGRATIONS.len()
            )));
        }
        let Some(sql) = MIGRATIONS.get(done) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(done + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
}

/// How long a connection waits for another one's lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Puts the registry in WAL mode. Switching a new file's journal mode needs an exclusive lock that
/// SQLite does not wait for (the busy handler is skipped to avoid a deadlock between two connections
/// each upgrading a shared lock), so several processes opening a new registry at once would see
/// "database is locked"; this waits for its turn instead, up to the busy timeout.
fn wal(conn: &Connection) -> Result<(), StoreError> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        let mode = conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0));
        let mode = match mode {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(_) => conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)),
            Err(e) => Err(e),
        };
        match mode {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            // A registry in memory (tests) has no file to journal.
            Ok(mode) if mode.eq_ignore_ascii_case("memory") => return Ok(()),
            Ok(mode) => {
                return Err(StoreError::Corrupt(format!(
                    "the registry cannot use WAL journaling (it stays in {mode} mode)"
                )));
            }
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The schema version this build writes.
pub fn version() -> usize {
    MIGRATIONS.len()
}
