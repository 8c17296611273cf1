//! The rescard registry: holders, cards, extensions, state changes, the trust list, tokens, console
//! sessions and the hash-chained audit log.
//!
//! What the registry does lives once, in [`Registry`]: every act checks its rules
//! ([`rescard_core::rules`]), then writes its record and its audit entry in one write transaction, so
//! an act that is refused writes nothing and two writers never allocate the same serial or ITN. Below
//! it, the storage seam ([`storage::Storage`]) has two backends that only store and fetch, each with
//! its own migrations: [`sqlite`], one file, the embedded default, and [`postgres`], one database
//! that several service replicas share.
#![deny(missing_docs)]

pub mod applications;
mod audit;
pub mod copy;
mod location;
mod model;
pub mod postgres;
mod registry;
mod root;
mod sessions;
pub mod sqlite;
pub mod storage;
pub mod tables;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tokens;
mod trust;

pub use audit::{AuditCheck, AuditEntry};
pub use copy::{CopyReport, copy_registry};
pub use location::{Location, redact};
pub use model::{
    AuditAction, CardRecord, HistoryEntry, IssuedCard, NewCard, Statistics, TokenInfo, timestamp,
};
pub use registry::{Registry, StatusChange};
pub use root::SignedCard;
pub use sessions::{ConsoleSession, SESSION_PREFIX};
pub use sqlite::{create_private_dir, schema_version};
pub use tokens::{Role, TOKEN_PREFIX, TokenHolder};
pub use trust::{ACTIVATION_DELAY, ROTATION_GRACE};

use rescard_core::rules::RuleError;
use rescard_core::{DomainError, Serial};

/// What stopped a registry act.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No card has this serial.
    #[error("no card with serial {0}")]
    NotFound(Serial),
    /// The rules refuse the act.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// A field is invalid.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The passport is registered to a holder with another date of birth.
    #[error(
        "passport_number: this passport of {nationality} is registered with another date of birth; check the date, or the passport number"
    )]
    HolderMismatch {
        /// The nationality.
        nationality: String,
    },
    /// No actor was named.
    #[error("every act must name its actor")]
    NoActor,
    /// A token could not be made, revoked or read.
    #[error("token: {0}")]
    Token(String),
    /// The trust list refuses the change (a key rotated twice, the active key retired, ...).
    #[error("issuer key: {0}")]
    Key(String),
    /// Revoking this token would leave the registry without a live admin token.
    #[error(
        "token {0:?} is the last live admin token: make another admin token first (`rescard token create --role admin --name NAME`), then revoke this one"
    )]
    LastAdmin(String),
    /// The registry's files are readable by other accounts, or cannot be made private.
    #[error("the registry is not private: {0}")]
    Exposed(String),
    /// A token's name is not one the registry takes (the request is wrong, not the registry's state).
    #[error("token name: {0}")]
    TokenName(String),
    /// No application has this id (or the secret is not its secret: the two answer the same).
    #[error("no such application, or the secret is not this application's")]
    NoApplication,
    /// The application does not hold this document.
    #[error("the application holds no {0} document")]
    NoDocument(&'static str),
    /// The application's rules refuse the move.
    #[error(transparent)]
    Application(#[from] rescard_core::application::ApplicationError),
    /// A bank's confirmation of the fee is refused.
    #[error("payment: {0}")]
    Payment(String),
    /// The stored data does not parse: edited outside rescard, or a bug.
    #[error("the registry holds invalid data: {0}")]
    Corrupt(String),
    /// A group of writes could not be committed (see `Registry::group`): none of them happened.
    #[error("storage error: the write could not be committed: {0}")]
    Commit(String),
    /// The registry's location is not one rescard reads.
    #[error("database: {0}")]
    Location(String),
    /// The database cannot be reached now (down, restarting, the network): try again.
    #[error("the registry's database cannot be reached: {0}")]
    Unavailable(String),
    /// The issuer key did not sign (its HSM is unreachable or refused): nothing was written.
    #[error("the issuer key could not sign: {0}")]
    Signing(#[from] rescard_core::KeyError),
    /// PostgreSQL refused or failed a statement.
    #[error("storage error: {0}")]
    Postgres(String),
    /// SQLite failed (disk full, locked for too long, I/O error).
    #[error("storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// Whether the storage failed (rather than the request being refused): the act cannot go on,
    /// and nothing of it may stay.
    pub fn is_storage(&self) -> bool {
        matches!(
            self,
            Self::Sqlite(_)
                | Self::Postgres(_)
                | Self::Unavailable(_)
                | Self::Corrupt(_)
                | Self::Commit(_)
        )
    }
}

/// The registry's `Result`.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
