//! What the registry hands out and takes in, typed: the same on every storage backend.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rescard_core::{
    Card, CardState, CurrentStatus, DocumentType, Holder, Kid, PassportNumber, Permit, Portrait,
    Serial, ValidityPeriod,
};
use serde::{Serialize, Serializer};

use crate::StoreError;

/// An application for a new card.
#[derive(Debug, Clone)]
pub struct NewCard {
    /// The holder as the card will print them.
    pub holder: Holder,
    /// The purpose of stay.
    pub permit: Permit,
    /// What the document is: a resident card, or an interim permit (whose period is at most two
    /// months).
    pub document: DocumentType,
    /// The printed period.
    pub validity: ValidityPeriod,
    /// Passport number (registry only): a later card for the same passport keeps the ITN.
    pub passport_number: Option<PassportNumber>,
    /// Portrait (registry only; its digest travels in the QR).
    pub portrait: Option<Portrait>,
}

/// A card just issued.
#[derive(Debug, Clone)]
pub struct IssuedCard {
    /// The card.
    pub card: Card,
    /// Its signed QR payload.
    pub payload: String,
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A card was issued.
    Issue,
    /// A card's validity was extended.
    Extend,
    /// A card was suspended.
    Suspend,
    /// A suspension was lifted.
    Reinstate,
    /// A card was revoked.
    Revoke,
    /// A card was replaced by a new one.
    Replace,
    /// A staff token was made.
    TokenCreate,
    /// A staff token was revoked.
    TokenRevoke,
    /// The registry's first issuer keys were trusted (a new key, or an older key directory's list).
    KeyCreate,
    /// A new issuer key became the signing key; the one before it only verifies.
    KeyRotate,
    /// An issuer key was retired: its cards no longer verify.
    KeyRetire,
    /// The root of trust certified an issuer key.
    RootCertify,
    /// The root of trust revoked an issuer key from a moment on.
    RootRevoke,
    /// An application moved (filed, submitted, paid, reviewed, decided, withdrawn, purged): its id,
    /// kind, act and status, no personal data.
    Application,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 14] = [
        Self::Issue,
        Self::Extend,
        Self::Suspend,
        Self::Reinstate,
        Self::Revoke,
        Self::Replace,
        Self::TokenCreate,
        Self::TokenRevoke,
        Self::KeyCreate,
        Self::KeyRotate,
        Self::KeyRetire,
        Self::RootCertify,
        Self::RootRevoke,
        Self::Application,
    ];

    /// The name written in the log: `issue`, `extend`, …, `token_create`, `token_revoke`, `key_create`,
    /// `key_rotate`, `key_retire`, `root_certify`, `root_revoke`, `application`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issue => "issue",
            Self::Extend => "extend",
            Self::Suspend => "suspend",
            Self::Reinstate => "reinstate",
            Self::Revoke => "revoke",
            Self::Replace => "replace",
            Self::TokenCreate => "token_create",
            Self::TokenRevoke => "token_revoke",
            Self::KeyCreate => "key_create",
            Self::KeyRotate => "key_rotate",
            Self::KeyRetire => "key_retire",
            Self::RootCertify => "root_certify",
            Self::RootRevoke => "root_revoke",
            Self::Application => "application",
        }
    }
}

impl FromStr for AuditAction {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("audit action {s:?}")))
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AuditAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A registry timestamp as written everywhere (audit log, listings, JSON): RFC 3339, UTC,
/// microseconds, `Z`. The audit chain hashes this text, so it never changes.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// `at` to the microsecond, as the registry keeps it: what is written is what is read back.
pub(crate) fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// Serialises a timestamp as [`timestamp`] writes it.
pub(crate) fn serialize_timestamp<S: Serializer>(
    at: &DateTime<Utc>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&timestamp(*at))
}

fn serialize_optional_timestamp<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&timestamp(*at)),
        None => s.serialize_none(),
    }
}

/// One line of a card's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: AuditAction,
    /// The act that created this card as a replacement (recorded under the card it replaced).
    pub creates_replacement: bool,
    /// Dates and reasons, as JSON.
    pub details: serde_json::Value,
}

impl HistoryEntry {
    /// How a listing names the act: the action, or `issue (replacement)` for the act that made a
    /// replacement card.
    pub fn label(&self) -> &'static str {
        if self.creates_replacement {
            "issue (replacement)"
        } else {
            self.action.as_str()
        }
    }
}

impl Serialize for HistoryEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Line<'a> {
            at: String,
            actor: &'a str,
            action: &'a str,
            details: &'a serde_json::Value,
        }
        Line {
            at: timestamp(self.at),
            actor: &self.actor,
            action: self.label(),
            details: &self.details,
        }
        .serialize(s)
    }
}

/// Everything the registry holds about a card.
#[derive(Debug, Clone)]
pub struct CardRecord {
    /// The card as printed.
    pub card: Card,
    /// Its QR payload.
    pub payload: String,
    /// The key that signed it.
    pub kid: Kid,
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
    pub passport_number: Option<PassportNumber>,
    /// Portrait, when given.
    pub portrait: Option<Portrait>,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
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

/// Counts for the staff console's statistics view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Statistics {
    /// Cards by state, every state (0 when none is in it).
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

/// A token as listed (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Name.
    pub name: String,
    /// Role.
    pub role: &'static str,
    /// When made.
    #[serde(serialize_with = "serialize_timestamp")]
    pub created_at: DateTime<Utc>,
    /// Who made it.
    pub created_by: String,
    /// When revoked, if it was.
    #[serde(serialize_with = "serialize_optional_timestamp")]
    pub revoked_at: Option<DateTime<Utc>>,
}
