//! The PostgreSQL schema and its migrations. Each runs once, in order, in a transaction of its own;
//! `rescard_schema` records which have run. Replicas starting together take a session advisory lock
//! first, so the migrations run one replica at a time. Never edit a released migration: add one.
//!
//! The tables are the SQLite backend's, with PostgreSQL's types: `DATE`, `TIMESTAMPTZ` (microseconds,
//! as the registry keeps them), `BYTEA`, identity columns; serials sort byte by byte (`COLLATE "C"`),
//! as in SQLite, whatever the database's collation. Audit details stay `TEXT`: the chain hashes
//! their exact text, which `jsonb` would reorder.

use super::{Connection, pg};
use crate::{Result, StoreError};

/// The session advisory lock held while migrating.
const MIGRATION_LOCK: i64 = 0x7265_7363_6172_6401;

const MIGRATIONS: &[&str] = &[
    // 1: everything SQLite's migrations 1 to 5 make: holders, cards, acts, the audit log, status
    // sequence numbers, tokens and console sessions.
    r#"
    CREATE TABLE holders (
        id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        itn              TEXT NOT NULL UNIQUE,
        date_of_birth    DATE NOT NULL,
        itn_sequence     INTEGER NOT NULL,
        nationality      TEXT NOT NULL,
        passport_number  TEXT,
        created_at       TIMESTAMPTZ NOT NULL,
        UNIQUE (nationality, passport_number),
        UNIQUE (date_of_birth, itn_sequence)
    );
    CREATE TABLE cards (
        serial               TEXT COLLATE "C" PRIMARY KEY,
        holder_id            BIGINT NOT NULL REFERENCES holders(id),
        surname              TEXT NOT NULL,
        given_names          TEXT NOT NULL,
        native_name          TEXT,
        date_of_birth        DATE NOT NULL,
        sex                  TEXT CHECK (sex IN ('F', 'M', 'X')),
        nationality          TEXT NOT NULL,
        permit               TEXT NOT NULL CHECK (permit IN ('work', 'study', 'family', 'business', 'other')),
        valid_from           DATE NOT NULL,
        printed_valid_until  DATE NOT NULL,
        valid_until          DATE NOT NULL,
        state                TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'revoked', 'replaced')),
        state_reason         TEXT,
        replaces             TEXT COLLATE "C" REFERENCES cards(serial),
        replaced_by          TEXT COLLATE "C" REFERENCES cards(serial),
        kid                  TEXT NOT NULL,
        payload              TEXT NOT NULL,
        portrait             BYTEA,
        issued_at            TIMESTAMPTZ NOT NULL,
        issued_by            TEXT NOT NULL,
        changed_at           TIMESTAMPTZ NOT NULL,
        status_seq           BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX cards_holder ON cards(holder_id);
    CREATE INDEX cards_state ON cards(state);
    CREATE INDEX cards_status_seq ON cards(status_seq) WHERE status_seq > 0;
    CREATE INDEX cards_listed ON cards(serial) WHERE state <> 'active' OR valid_until <> printed_valid_until;
    CREATE TABLE extensions (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        serial       TEXT COLLATE "C" NOT NULL REFERENCES cards(serial),
        valid_from   DATE NOT NULL,
        valid_until  DATE NOT NULL,
        reason       TEXT NOT NULL,
        at           TIMESTAMPTZ NOT NULL,
        actor        TEXT NOT NULL
    );
    CREATE INDEX extensions_serial ON extensions(serial);
    CREATE TABLE state_changes (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        serial      TEXT COLLATE "C" NOT NULL REFERENCES cards(serial),
        from_state  TEXT NOT NULL,
        to_state    TEXT NOT NULL,
        reason      TEXT,
        at          TIMESTAMPTZ NOT NULL,
        actor       TEXT NOT NULL
    );
    CREATE INDEX state_changes_serial ON state_changes(serial);
    CREATE TABLE counters (
        name   TEXT PRIMARY KEY,
        value  BIGINT NOT NULL
    );
    INSERT INTO counters (name, value) VALUES ('serial', 0), ('status', 0);
    CREATE TABLE audit (
        seq        BIGINT PRIMARY KEY,
        at         TIMESTAMPTZ NOT NULL,
        actor      TEXT NOT NULL,
        action     TEXT NOT NULL,
        serial     TEXT COLLATE "C",
        details    TEXT NOT NULL,
        prev_hash  TEXT NOT NULL,
        hash       TEXT NOT NULL
    );
    CREATE INDEX audit_serial ON audit(serial);
    CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only'; END
    $$;
    CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
        FOR EACH ROW EXECUTE FUNCTION audit_append_only();
    CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
        FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
    CREATE TABLE tokens (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        role        TEXT NOT NULL CHECK (role IN ('admin', 'issuer', 'police', 'bank', 'employer')),
        hash        TEXT NOT NULL UNIQUE,
        created_at  TIMESTAMPTZ NOT NULL,
        created_by  TEXT NOT NULL,
        revoked_at  TIMESTAMPTZ
    );
    CREATE TABLE console_sessions (
        id_hash     TEXT PRIMARY KEY,
        token_id    BIGINT NOT NULL REFERENCES tokens(id),
        csrf        TEXT NOT NULL,
        created_at  TIMESTAMPTZ NOT NULL,
        expires_at  TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX console_sessions_token ON console_sessions(token_id);
    "#,
    // 2: the trust list (SQLite's migration 6).
    r#"
    CREATE TABLE issuer_keys (
        position    INTEGER PRIMARY KEY,
        kid         TEXT NOT NULL,
        public_key  TEXT NOT NULL UNIQUE,
        status      TEXT NOT NULL CHECK (status IN ('active', 'verify-only', 'retired')),
        not_before  TIMESTAMPTZ NOT NULL,
        not_after   TIMESTAMPTZ
    );
    CREATE UNIQUE INDEX issuer_keys_one_active ON issuer_keys(status) WHERE status = 'active';
    INSERT INTO counters (name, value) VALUES ('keys', 0);
    "#,
    // 3: the document type (SQLite's migration 7).
    r#"
    ALTER TABLE cards ADD COLUMN document TEXT NOT NULL DEFAULT 'resident_card'
        CHECK (document IN ('resident_card', 'interim'));
    "#,
    // 4: applications, their documents and history, the outbox (SQLite's migration 8).
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
        paid_at          TIMESTAMPTZ,
        recommendation   TEXT,
        review_note      TEXT,
        reviewed_by      TEXT,
        reviewed_at      TIMESTAMPTZ,
        info_request     TEXT,
        decision_reason  TEXT,
        decided_by       TEXT,
        decided_at       TIMESTAMPTZ,
        issued_serial    TEXT,
        created_at       TIMESTAMPTZ NOT NULL,
        updated_at       TIMESTAMPTZ NOT NULL,
        purged_at        TIMESTAMPTZ,
        reminded_for     DATE
    );
    CREATE INDEX applications_queue ON applications(status, created_at, id);
    CREATE TABLE application_documents (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        application_id  TEXT NOT NULL REFERENCES applications(id),
        name            TEXT NOT NULL,
        content_type    TEXT NOT NULL,
        sha256          TEXT NOT NULL,
        size            BIGINT NOT NULL,
        bytes           BYTEA NOT NULL,
        uploaded_at     TIMESTAMPTZ NOT NULL,
        UNIQUE (application_id, name)
    );
    CREATE TABLE application_events (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        application_id  TEXT NOT NULL REFERENCES applications(id),
        at              TIMESTAMPTZ NOT NULL,
        actor           TEXT NOT NULL,
        action          TEXT NOT NULL,
        status          TEXT NOT NULL,
        note            TEXT
    );
    CREATE INDEX application_events_of ON application_events(application_id, id);
    CREATE TABLE outbox (
        id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        to_address       TEXT NOT NULL,
        subject          TEXT NOT NULL,
        body             TEXT NOT NULL,
        created_at       TIMESTAMPTZ NOT NULL,
        attempts         BIGINT NOT NULL DEFAULT 0,
        next_attempt_at  TIMESTAMPTZ NOT NULL,
        sent_at          TIMESTAMPTZ,
        last_error       TEXT
    );
    CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at IS NULL;
    "#,
    // 5: what the root of trust said (SQLite's migration 9).
    r#"
    CREATE TABLE root_statements (
        id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind       TEXT NOT NULL CHECK (kind IN ('root', 'certificate', 'revocation')),
        kid        TEXT NOT NULL,
        statement  BYTEA NOT NULL,
        added_at   TIMESTAMPTZ NOT NULL,
        added_by   TEXT NOT NULL
    );
    CREATE UNIQUE INDEX root_statements_one_root ON root_statements(kind) WHERE kind = 'root';
    CREATE INDEX cards_kid ON cards(kid, issued_at);
    "#,
];

/// Brings the schema up to date, one replica at a time. A connection to a registry already up to
/// date (every connection of a running service) only reads its version.
pub(super) fn prepare(client: &Connection) -> Result<()> {
    let exists = client
        .wait(client.query_one("SELECT to_regclass('rescard_schema') IS NOT NULL", &[]))
        .map_err(pg)?
        .try_get::<_, bool>(0)
        .map_err(pg)?;
    if exists {
        let done: i32 = client
            .wait(client.query_one("SELECT COALESCE(MAX(version), 0) FROM rescard_schema", &[]))
            .map_err(pg)?
            .try_get(0)
            .map_err(pg)?;
        if usize::try_from(done).ok() == Some(MIGRATIONS.len()) {
            return Ok(());
        }
    }
    client
        .wait(client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]))
        .map_err(pg)?;
    let outcome = migrate(client);
    let unlocked = client
        .wait(client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]))
        .map_err(pg);
    outcome.and(unlocked.map(drop))
}

fn migrate(client: &Connection) -> Result<()> {
    client
        .wait(client.batch_execute(
            "CREATE TABLE IF NOT EXISTS rescard_schema (
            version     INTEGER PRIMARY KEY,
            applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
        ))
        .map_err(pg)?;
    let done: i32 = client
        .wait(client.query_one("SELECT COALESCE(MAX(version), 0) FROM rescard_schema", &[]))
        .map_err(pg)?
        .try_get(0)
        .map_err(pg)?;
    let done = usize::try_from(done).unwrap_or(0);
    if done > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "the registry has schema version {done}, newer than this rescard ({}): upgrade rescard",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
        // One transaction a migration: its statements and the record that it ran.
        let applied = client.wait(client.batch_execute(&format!(
            "BEGIN; {sql}; INSERT INTO rescard_schema (version) VALUES ({version}); COMMIT;"
        )));
        if let Err(e) = applied {
            client.wait(client.batch_execute("ROLLBACK")).ok();
            return Err(pg(e));
        }
    }
    Ok(())
}

/// The schema version this build writes.
pub fn version() -> usize {
    MIGRATIONS.len()
}
