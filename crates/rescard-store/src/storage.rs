//! The storage seam: what a backend does for the registry, and no more. A backend stores and fetches
//! rows, and keeps transactions: the rules, the signing, the allocation of serials and ITNs, the
//! audit chain, the status entries and the statistics are the registry's ([`crate::Registry`]), the
//! same on every backend. Two backends implement it: SQLite ([`crate::sqlite`]), the embedded
//! default, and PostgreSQL ([`crate::postgres`]), which several service replicas share.
//!
//! Every write runs in a write transaction ([`Storage::begin`] with [`Begin::Write`]), which holds
//! the registry's one write lock until it ends: SQLite's `BEGIN IMMEDIATE`, PostgreSQL's
//! transaction-scoped advisory lock. Under it a writer reads the counters and the chain's head and
//! moves them on, and no other writer, on this replica or another, can take the same serial, ITN or
//! audit position.
//!
//! The methods take `&self`: a backend holds one connection and the caller uses it from one thread
//! at a time (the service keeps a pool of them).

use chrono::{DateTime, NaiveDate, Utc};
use rescard_core::{
    Card, CardState, CurrentStatus, DocumentType, Itn, Kid, Portrait, Serial, TrustedKey,
};

#[cfg(doc)]
use crate::StoreError;
use crate::audit::AuditEntry;
use crate::model::TokenInfo;
use crate::tables::{Kind, Table, Value};
use crate::{Result, Role};

/// How a transaction begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Reads that see one moment of the registry.
    Read,
    /// A write: holds the registry's write lock until it ends.
    Write,
}

/// Which kind of store a backend is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// A counter the registry moves on under its write lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// The last card serial given.
    Serial,
    /// The status sequence number: how many status changes were recorded.
    Status,
    /// The trust list's version: how many times it changed.
    Keys,
}

impl Counter {
    /// The counter's row name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Serial => "serial",
            Self::Status => "status",
            Self::Keys => "keys",
        }
    }

    /// Every counter.
    pub const ALL: [Counter; 3] = [Self::Serial, Self::Status, Self::Keys];
}

/// A holder as stored: the passport's owner and the ITN given to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderRow {
    /// Their ITN.
    pub itn: Itn,
    /// Their date of birth as registered.
    pub date_of_birth: NaiveDate,
}

/// A new holder.
#[derive(Debug, Clone)]
pub struct NewHolder<'a> {
    /// The ITN given.
    pub itn: Itn,
    /// Date of birth (the ITN's first digits).
    pub date_of_birth: NaiveDate,
    /// The ITN's sequence among holders born that day.
    pub itn_sequence: u16,
    /// Nationality (ISO 3166 alpha-3).
    pub nationality: &'a str,
    /// Passport number, when given.
    pub passport_number: Option<&'a str>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A new card row.
#[derive(Debug, Clone)]
pub struct NewCardRow<'a> {
    /// The card as printed; its holder is the holder with its ITN.
    pub card: &'a Card,
    /// Its signed QR payload.
    pub payload: &'a str,
    /// The key that signed it.
    pub kid: Kid,
    /// The portrait, when given.
    pub portrait: Option<&'a Portrait>,
    /// The card it replaces.
    pub replaces: Option<Serial>,
    /// Who issued it.
    pub issued_by: &'a str,
    /// When.
    pub issued_at: DateTime<Utc>,
}

/// Where a card stands: what the acts on it are decided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardStanding {
    /// Its state.
    pub state: CardState,
    /// Its current last day.
    pub valid_until: NaiveDate,
    /// Its document type.
    pub document: DocumentType,
}

/// A card's row as stored, with its holder's ITN and passport number. Names, nationality, permit
/// and ITN are text here: the registry checks them as the domain types.
#[derive(Debug, Clone)]
pub struct CardRow {
    /// The holder's ITN.
    pub itn: String,
    /// Surname.
    pub surname: String,
    /// Given names.
    pub given_names: String,
    /// Name in the holder's script.
    pub native_name: Option<String>,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// `F`, `M` or `X`.
    pub sex: Option<String>,
    /// Nationality.
    pub nationality: String,
    /// Permit.
    pub permit: String,
    /// Document type.
    pub document: DocumentType,
    /// Printed first day.
    pub valid_from: NaiveDate,
    /// Printed last day.
    pub printed_until: NaiveDate,
    /// Current last day.
    pub valid_until: NaiveDate,
    /// State.
    pub state: CardState,
    /// Why it was last suspended, revoked or replaced.
    pub state_reason: Option<String>,
    /// The card it replaced.
    pub replaces: Option<Serial>,
    /// The card that replaced it.
    pub replaced_by: Option<Serial>,
    /// The key that signed it (hex).
    pub kid: String,
    /// Its payload.
    pub payload: String,
    /// Its portrait.
    pub portrait: Option<Vec<u8>>,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// By whom.
    pub issued_by: String,
    /// The holder's passport number.
    pub passport_number: Option<String>,
    /// The first day of its latest extension.
    pub last_extension_from: Option<NaiveDate>,
}

/// A card's status columns, for the status snapshot: what its QR says and what holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    /// The card.
    pub serial: Serial,
    /// Its state.
    pub state: CardState,
    /// Its last day now.
    pub valid_until: NaiveDate,
    /// Its last day as printed.
    pub printed_until: NaiveDate,
    /// Why it was last suspended, revoked or replaced.
    pub state_reason: Option<String>,
    /// The card that replaced it.
    pub replaced_by: Option<Serial>,
}

/// What the statistics view counts cards by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// The card's state.
    State,
    /// Its permit.
    Permit,
    /// Its holder's nationality.
    Nationality,
    /// The month it was issued, `YYYY-MM`.
    IssuedMonth,
}

/// A token's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// SHA-256 of the token (hex).
    pub hash: String,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// A console session's row, joined with its live token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The token's name.
    pub token_name: String,
    /// The token's role.
    pub role: Role,
    /// The session's CSRF secret.
    pub csrf: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
}

/// A card state stored as its name (both backends store it as text).
pub(crate) fn parse_state(text: &str) -> Result<CardState> {
    CardState::from_name(text)
        .ok_or_else(|| crate::StoreError::Corrupt(format!("card state {text:?}")))
}

/// A stored document type.
pub(crate) fn parse_document(text: &str) -> Result<DocumentType> {
    DocumentType::parse(text)
        .map_err(|_| crate::StoreError::Corrupt(format!("document type {text:?}")))
}

/// A holder from its stored ITN and date of birth.
pub(crate) fn holder_row(itn: &str, date_of_birth: NaiveDate) -> Result<HolderRow> {
    Ok(HolderRow {
        itn: itn
            .parse()
            .map_err(|e: rescard_core::DomainError| crate::StoreError::Corrupt(e.to_string()))?,
        date_of_birth,
    })
}

/// A trust list key from its stored columns.
pub(crate) fn trusted_key(
    kid: &str,
    public_key: &str,
    status: &str,
    not_before: DateTime<Utc>,
    not_after: Option<DateTime<Utc>>,
) -> Result<TrustedKey> {
    let corrupt = |m: String| crate::StoreError::Corrupt(format!("issuer key {kid}: {m}"));
    let public_key = rescard_core::keys::parse_public_key_base64url(public_key)
        .map_err(|e| corrupt(e.to_string()))?;
    let key = TrustedKey {
        kid: Kid::parse_hex(kid)
            .ok_or_else(|| corrupt("the key id is not 16 hex digits".into()))?,
        public_key,
        status: rescard_core::KeyStatus::parse(status)
            .ok_or_else(|| corrupt(format!("status {status:?}")))?,
        not_before,
        not_after,
        root_limit: None,
    };
    if Kid::of(&key.public_key) != key.kid {
        return Err(corrupt("the key id is not its public key's".into()));
    }
    Ok(key)
}

pub(crate) fn parse_serial(text: &str) -> Result<Serial> {
    text.parse()
        .map_err(|_| crate::StoreError::Corrupt(format!("serial {text:?}")))
}

/// A count or sequence number as the databases' signed 64-bit integers hold it.
pub(crate) fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A signed 64-bit count or sequence number read back (never negative as written).
pub(crate) fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// What a storage backend does. See the module documentation.
pub trait Storage: Send {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    // Transactions.

    /// Begins a transaction.
    fn begin(&self, how: Begin) -> Result<()>;
    /// Commits the open transaction. A connection lost on the way is [`StoreError::Commit`], not
    /// `Unavailable`: the commit may have happened.
    fn commit(&self) -> Result<()>;
    /// Rolls back the open transaction.
    fn rollback(&self) -> Result<()>;
    /// Whether a transaction is open.
    fn in_transaction(&self) -> bool;
    /// Opens a savepoint named `name` in the open transaction.
    fn savepoint(&self, name: &'static str) -> Result<()>;
    /// Keeps what was done since the savepoint, and ends it.
    fn release(&self, name: &'static str) -> Result<()>;
    /// Undoes what was done since the savepoint, and ends it.
    fn rollback_to(&self, name: &'static str) -> Result<()>;

    // Counters.

    /// Moves `counter` on by one and returns its new value (write transaction).
    fn next(&self, counter: Counter) -> Result<u64>;
    /// The counter's value.
    fn current(&self, counter: Counter) -> Result<u64>;

    // Holders.

    /// What an issuance needs to know of the holders, in one look: the holder of this passport of
    /// this nationality (when a passport is given), and, when there is none, the highest ITN
    /// sequence given to a holder born on `date_of_birth` (a backend may give it always).
    fn holder_lookup(
        &self,
        nationality: &str,
        passport: Option<&str>,
        date_of_birth: NaiveDate,
    ) -> Result<(Option<HolderRow>, Option<u16>)>;
    /// Records a holder.
    fn insert_holder(&self, holder: &NewHolder<'_>) -> Result<()>;

    // Cards.

    /// Records a new card, active, at its printed dates.
    fn insert_card(&self, card: &NewCardRow<'_>) -> Result<()>;
    /// A card's state, current last day and document type.
    fn card_state(&self, serial: Serial) -> Result<Option<CardStanding>>;
    /// Everything stored about a card.
    fn card_row(&self, serial: Serial) -> Result<Option<CardRow>>;
    /// Sets a card's current last day.
    fn set_valid_until(&self, serial: Serial, until: NaiveDate, at: DateTime<Utc>) -> Result<()>;
    /// Sets a card's state and the reason shown with it.
    fn set_state(
        &self,
        serial: Serial,
        state: CardState,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Records the card that replaced `serial`.
    fn set_replaced_by(&self, serial: Serial, by: Serial) -> Result<()>;
    /// Gives a card a status sequence number.
    fn set_status_seq(&self, serial: Serial, seq: u64) -> Result<()>;
    /// Records an extension.
    fn insert_extension(
        &self,
        serial: Serial,
        from: NaiveDate,
        until: NaiveDate,
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Records a change of state.
    fn insert_state_change(
        &self,
        serial: Serial,
        from: CardState,
        to: CardState,
        reason: Option<&str>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// A card's status now, as a verifier sees it.
    fn status(&self, serial: Serial) -> Result<Option<CurrentStatus>>;
    /// A card's status now and its holder's passport number, in one lookup.
    fn status_and_passport(
        &self,
        serial: Serial,
    ) -> Result<Option<(CurrentStatus, Option<String>)>>;
    /// With `since` 0, every card whose status differs from its QR; otherwise every card whose
    /// status sequence number is above `since`. In serial order.
    fn status_rows(&self, since: u64) -> Result<Vec<StatusRow>>;
    /// The number of cards.
    fn card_count(&self) -> Result<u64>;
    /// Cards counted by `dimension` (only the values some card has).
    fn count_by(&self, dimension: Dimension) -> Result<Vec<(String, u64)>>;
    /// Active cards whose current last day is within `from..=until`.
    fn count_expiring(&self, from: NaiveDate, until: NaiveDate) -> Result<u64>;

    // The audit log.

    /// The last entry's position and hash.
    fn audit_head(&self) -> Result<Option<(u64, String)>>;
    /// Appends an entry.
    fn insert_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Up to `limit` entries after position `after`, oldest first.
    fn audit_page(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>>;
    /// The entries about `serial`, and the `replace` entry of the card it replaced, oldest first.
    fn card_audit(&self, serial: Serial, replaces: Option<Serial>) -> Result<Vec<AuditEntry>>;

    // The trust list.

    /// The issuer keys, in the trust list's order.
    fn trusted_keys(&self) -> Result<Vec<TrustedKey>>;
    /// Stores `key` at `position` (from 1) of the trust list, replacing the key there, if any (write
    /// transaction).
    fn put_trusted_key(&self, position: u32, key: &TrustedKey) -> Result<()>;

    // Tokens and console sessions.

    /// The token named `name`, live or revoked.
    fn token_named(&self, name: &str) -> Result<Option<TokenRow>>;
    /// The live token with this hash.
    fn live_token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>>;
    /// Records a token.
    fn insert_token(
        &self,
        name: &str,
        role: Role,
        hash: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// The number of live admin tokens.
    fn live_admins(&self) -> Result<u64>;
    /// Revokes a live token; whether there was one.
    fn revoke_token(&self, id: i64, at: DateTime<Utc>) -> Result<bool>;
    /// Every token, oldest first.
    fn tokens(&self) -> Result<Vec<TokenInfo>>;
    /// Records a console session.
    fn insert_session(
        &self,
        id_hash: &str,
        token_id: i64,
        csrf: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The live session with this id hash: not expired at `now`, its token live.
    fn live_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRow>>;
    /// Ends a session; whether there was one.
    fn delete_session(&self, id_hash: &str) -> Result<bool>;
    /// Ends every session of a token.
    fn delete_sessions_of(&self, token_id: i64) -> Result<()>;
    /// Clears the sessions expired at `now`.
    fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<()>;

    // Copying a whole registry (see [`crate::copy`]).

    /// Sets a counter (a copy's target, in its write transaction).
    fn set_counter(&self, counter: Counter, value: u64) -> Result<()>;
    /// Runs the query `sql` (placeholders `$1`, `$2`, …) with `params`, each bound as its kind, and
    /// reads every row's columns as `kinds`. For the tables described in [`crate::copy`] whose rows
    /// both backends map the same way (applications and what hangs off them).
    fn select(
        &self,
        sql: &'static str,
        params: &[(Value, Kind)],
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Value>>>;
    /// Runs the write `sql` (placeholders `$1`, …) with `params`, as [`Storage::select`].
    fn change(&self, sql: &'static str, params: Vec<(Value, Kind)>) -> Result<()>;
    /// Up to `limit` rows of `table` whose key is after `after` (from the first without), in key
    /// order.
    fn export_rows(
        &self,
        table: &Table,
        after: Option<&Value>,
        limit: u32,
    ) -> Result<Vec<Vec<Value>>>;
    /// Writes rows of `table` as they were read, keys included.
    fn import_rows(&self, table: &Table, rows: &[Vec<Value>]) -> Result<()>;
    /// After a table's rows were imported: moves its row id sequence past them.
    fn after_import(&self, table: &Table) -> Result<()>;

    // Operations.

    /// The backend's own consistency check: `ok`, or what is wrong.
    fn integrity_check(&self) -> Result<String>;
    /// Copies the whole registry, consistently, into a new SQLite file (SQLite only).
    fn backup_to(&self, path: &std::path::Path) -> Result<()>;
    /// Runs raw SQL (`?1`-style parameters, text), for the tests that tamper with the tables as an
    /// intruder would; the number of rows changed.
    #[doc(hidden)]
    fn raw_execute(&self, sql: &str, params: &[&str]) -> Result<u64>;
    /// Runs a raw `SELECT COUNT(*)`-like query (`?1`-style parameters, text) that gives one integer.
    #[doc(hidden)]
    fn raw_count(&self, sql: &str, params: &[&str]) -> Result<i64>;
}
