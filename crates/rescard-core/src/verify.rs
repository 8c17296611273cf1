//! The verifier core: one function from (payload, trust list, status source, time) to a result.
//!
//! The CLI, the HTTP endpoint and the web page all call [`verify`]; there is no other path.
//!
//! Precedence, first match wins:
//! 1. `malformed`: the text is not a well-formed payload (prefix, base45, COSE, headers, claims);
//! 2. `unknown_issuer`: no trusted, unretired key carries the payload's `kid`;
//! 3. `invalid_signature`: none of those keys verifies the signature (`verify_strict`), or the key had
//!    stopped signing before the card says it was signed;
//! 4. `revoked`, then `replaced`, then `suspended`: the current state from the status source;
//! 5. `not_yet_valid`: before the first day of validity;
//! 6. `expired`: after the current last day of validity (extensions included);
//! 7. `valid`.
//!
//! A signature or format failure always wins over any status, and nothing is read from the claims
//! before the signature verifies.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

use crate::codec::{self, SignatureFailure};
use crate::domain::date::issuer_date;
use crate::domain::{Card, Serial};
use crate::keys::{Kid, TrustList};

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Genuine, in force today.
    Valid,
    /// Genuine, but its (current) validity has ended.
    Expired,
    /// Genuine, but its validity has not begun.
    NotYetValid,
    /// Genuine, suspended by the issuer (reversible).
    Suspended,
    /// Genuine, revoked by the issuer (final).
    Revoked,
    /// Genuine, but re-issued under a new serial: this card is no longer in force.
    Replaced,
    /// The signature does not verify: forged or altered.
    InvalidSignature,
    /// Signed by a key this checker does not trust (or a retired one).
    UnknownIssuer,
    /// Not a rescard payload at all, or a damaged one.
    Malformed,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Verdict; 9] = [
        Self::Valid,
        Self::Expired,
        Self::NotYetValid,
        Self::Suspended,
        Self::Revoked,
        Self::Replaced,
        Self::InvalidSignature,
        Self::UnknownIssuer,
        Self::Malformed,
    ];

    /// The contract's name, e.g. `not_yet_valid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Replaced => "replaced",
            Self::InvalidSignature => "invalid_signature",
            Self::UnknownIssuer => "unknown_issuer",
            Self::Malformed => "malformed",
        }
    }

    /// The verdict named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == name)
    }

    /// The exit code of `rescard verify` for this verdict (documented in the README).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Valid => 0,
            Self::Expired => 10,
            Self::NotYetValid => 11,
            Self::Suspended => 12,
            Self::Revoked => 13,
            Self::Replaced => 14,
            Self::InvalidSignature => 20,
            Self::UnknownIssuer => 21,
            Self::Malformed => 22,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A card's state in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardState {
    /// In force.
    Active,
    /// Suspended (reversible).
    Suspended,
    /// Revoked (final).
    Revoked,
    /// Re-issued under a new serial (final).
    Replaced,
}

impl CardState {
    /// Every state.
    pub const ALL: [CardState; 4] = [Self::Active, Self::Suspended, Self::Revoked, Self::Replaced];

    /// `active`, `suspended`, `revoked` or `replaced`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Replaced => "replaced",
        }
    }

    /// The state named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for CardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the status in a result came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusOrigin {
    /// The live registry.
    Registry,
    /// A signed status snapshot synced to an offline checker.
    Snapshot,
    /// Nothing but the card itself: only the printed dates are known.
    Card,
}

impl StatusOrigin {
    /// Every origin.
    pub const ALL: [StatusOrigin; 3] = [Self::Registry, Self::Snapshot, Self::Card];

    /// `registry`, `snapshot` or `card`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registry => "registry",
            Self::Snapshot => "snapshot",
            Self::Card => "card",
        }
    }
}

/// A card's current status, where it differs from (or confirms) what its QR says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentStatus {
    /// The state.
    pub state: CardState,
    /// The current last day of validity after extensions; `None` when it is the printed one.
    pub valid_until: Option<NaiveDate>,
    /// Why it was suspended, revoked or replaced.
    pub reason: Option<String>,
    /// The card that replaced it.
    pub replaced_by: Option<Serial>,
}

/// What a status source knows about one card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// Where it comes from.
    pub origin: StatusOrigin,
    /// As of when it is known (`None` for [`StatusOrigin::Card`]).
    pub as_of: Option<DateTime<Utc>>,
    /// Whether it is older than the checker's configured maximum age.
    pub stale: bool,
    /// The card's current status, or `None` when the source has nothing that differs from the QR.
    pub current: Option<CurrentStatus>,
}

impl StatusReport {
    /// The report of a checker that knows nothing beyond the card.
    pub fn card_only() -> Self {
        Self {
            origin: StatusOrigin::Card,
            as_of: None,
            stale: false,
            current: None,
        }
    }
}

/// Where the verifier learns a card's current status: the registry, a snapshot, or nothing.
pub trait StatusSource {
    /// What stops a lookup (storage failure). A card the source does not know is not an error.
    type Error;

    /// The status of `serial` at `now`.
    fn status(&self, serial: Serial, now: DateTime<Utc>) -> Result<StatusReport, Self::Error>;
}

/// A status source that knows nothing: the card's printed dates are all there is.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStatus;

impl StatusSource for NoStatus {
    type Error = std::convert::Infallible;

    fn status(&self, _: Serial, _: DateTime<Utc>) -> Result<StatusReport, Self::Error> {
        Ok(StatusReport::card_only())
    }
}

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The verdict.
    pub verdict: Verdict,
    /// A sentence for a person saying why. It never holds the staff's free text (see
    /// [`CurrentStatus::reason`]).
    pub detail: String,
    /// The key id in the payload, when the envelope was readable.
    pub kid: Option<Kid>,
    /// The card, only when the signature verified.
    pub card: Option<Card>,
    /// When it was signed, only when the signature verified.
    pub issued_at: Option<DateTime<Utc>>,
    /// The current last day of validity: from the status source, or the printed one.
    pub valid_until: Option<NaiveDate>,
    /// Whole days from today (in the issuer's time zone) to `valid_until`: 0 on the last day, negative
    /// when overstayed.
    pub days_remaining: Option<i64>,
    /// The status the verdict rests on.
    pub status: StatusReport,
}

impl Verification {
    fn failed(verdict: Verdict, detail: String, kid: Option<Kid>) -> Self {
        Self {
            verdict,
            detail,
            kid,
            card: None,
            issued_at: None,
            valid_until: None,
            days_remaining: None,
            status: StatusReport::card_only(),
        }
    }
}

/// Checks `payload` against `trust` and the status `status` gives, at `now`.
///
/// Returns `Err` only when the status source fails; every property of the card is a verdict.
pub fn verify<S: StatusSource>(
    payload: &str,
    trust: &TrustList,
    status: &S,
    now: DateTime<Utc>,
) -> Result<Verification, S::Error> {
    match authenticate(payload, trust) {
        Ok(authentic) => judge(authentic, status, now),
        Err(failed) => Ok(*failed),
    }
}

/// What a signature check proved: which trusted key signed the payload, and what it says.
#[derive(Debug, Clone)]
struct Authentic {
    kid: Kid,
    key: crate::keys::TrustedKey,
    claims: codec::DecodedClaims,
}

/// The envelope, the signature and the claims: everything about a payload that does not change with
/// time or status. A failure is already the verification.
fn authenticate(payload: &str, trust: &TrustList) -> Result<Authentic, Box<Verification>> {
    let signed = envelope(payload)?;
    let verified = signed
        .verify(trust)
        .map_err(|f| signature_failure(f, signed.kid()))?;
    authentic(verified, signed.kid())
}

/// The envelope of a payload text, or the `malformed` verification.
fn envelope(payload: &str) -> Result<codec::SignedPayload, Box<Verification>> {
    codec::decode(payload).map_err(|e| {
        Box::new(Verification::failed(
            Verdict::Malformed,
            e.to_string(),
            None,
        ))
    })
}

/// The verification of a payload whose signature did not verify.
fn signature_failure(failure: SignatureFailure, kid: Kid) -> Box<Verification> {
    Box::new(match failure {
        SignatureFailure::UnknownIssuer => Verification::failed(
            Verdict::UnknownIssuer,
            format!("no trusted issuer key has kid {kid}"),
            Some(kid),
        ),
        SignatureFailure::InvalidSignature => Verification::failed(
            Verdict::InvalidSignature,
            "the signature does not verify: the card was altered or forged".into(),
            Some(kid),
        ),
    })
}

/// The claims of a verified payload, or the `malformed` verification.
fn authentic(verified: codec::VerifiedPayload, kid: Kid) -> Result<Authentic, Box<Verification>> {
    let claims = verified.claims().map_err(|e| {
        Box::new(Verification::failed(
            Verdict::Malformed,
            e.to_string(),
            Some(kid),
        ))
    })?;
    Ok(Authentic {
        kid,
        key: verified.key().clone(),
        claims,
    })
}

/// The verdict on an authentic payload: the signing key's window, then the status, then the dates.
fn judge<S: StatusSource>(
    a: Authentic,
    status: &S,
    now: DateTime<Utc>,
) -> Result<Verification, S::Error> {
    let Authentic { kid, key, claims } = a;
    if let Some(why) = key
        .root_limit
        .as_ref()
        .and_then(|l| l.refuses(claims.issued_at))
    {
        return Ok(Verification::failed(
            Verdict::UnknownIssuer,
            format!(
                "signed at {} by key {kid}, which is not trusted for it: {why}",
                claims.issued_at
            ),
            Some(kid),
        ));
    }
    if let Some(end) = key.not_after
        && claims.issued_at > end
    {
        return Ok(Verification::failed(
            Verdict::InvalidSignature,
            format!(
                "signed at {} by key {kid}, which stopped signing at {end}",
                claims.issued_at
            ),
            Some(kid),
        ));
    }
    let card = claims.card;
    let report = status.status(card.serial(), now)?;
    let printed = card.validity();
    let valid_until = report
        .current
        .as_ref()
        .and_then(|c| c.valid_until)
        .unwrap_or(printed.until());
    let today = issuer_date(now);
    let days_remaining = (valid_until - today).num_days();
    let (verdict, detail) = match report.current.as_ref().map(|c| (c.state, c)) {
        // The staff's reason is not part of the sentence: it is free text an officer wrote, which
        // the report carries on its own (`state_reason`) for those allowed to read it.
        Some((CardState::Revoked, _)) => (Verdict::Revoked, "revoked by the issuer".into()),
        Some((CardState::Replaced, c)) => (
            Verdict::Replaced,
            match c.replaced_by {
                Some(new) => format!("replaced by card {new}"),
                None => "replaced by a new card".into(),
            },
        ),
        Some((CardState::Suspended, _)) => (Verdict::Suspended, "suspended by the issuer".into()),
        _ if today < printed.from() => (
            Verdict::NotYetValid,
            format!("valid from {}", printed.from()),
        ),
        _ if today > valid_until => (
            Verdict::Expired,
            format!("expired on {valid_until}, {} days ago", -days_remaining),
        ),
        _ => (
            Verdict::Valid,
            format!("valid until {valid_until}, {days_remaining} days remaining"),
        ),
    };
    Ok(Verification {
        verdict,
        detail,
        kid: Some(kid),
        card: Some(card),
        issued_at: Some(claims.issued_at),
        valid_until: Some(valid_until),
        days_remaining: Some(days_remaining),
        status: report,
    })
}

/// Remembers payloads whose signature verified, keyed by the SHA-256 of the payload text, so that
/// checking the same card again (a bank re-checking its customers daily) skips the decoding and the
/// signature. Sound because a payload's text fixes its bytes, hence its signature and claims; what can
/// change is checked on every hit: the key that verified must still be in the trust list and not
/// retired (else the full check runs, and says `unknown_issuer`), its signing window is applied again,
/// and the status and dates are judged afresh.
pub struct SignatureCache {
    capacity: usize,
    entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], Authentic>>,
}

impl SignatureCache {
    /// A cache of at most `capacity` payloads (emptied when full).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The number of payloads remembered.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SignatureCache {
    /// The cache key of a payload text.
    fn key_of(payload: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        Sha256::digest(payload.as_bytes()).into()
    }

    /// The remembered authentic payload with this hash, if its key is still trusted and unretired
    /// (carrying the key's current signing window).
    fn recall(&self, hash: &[u8; 32], trust: &TrustList) -> Option<Authentic> {
        self.recall_all(std::slice::from_ref(hash), trust)
            .pop()
            .flatten()
    }

    /// [`Self::recall`] for many payloads, under one lock.
    fn recall_all(&self, hashes: &[[u8; 32]], trust: &TrustList) -> Vec<Option<Authentic>> {
        let Ok(entries) = self.entries.lock() else {
            return vec![None; hashes.len()];
        };
        hashes
            .iter()
            .map(|hash| {
                let mut known = entries.get(hash)?.clone();
                let key = trust
                    .candidates(known.kid)
                    .find(|k| k.public_key == known.key.public_key)?;
                known.key = key.clone();
                Some(known)
            })
            .collect()
    }

    /// Remembers authentic payloads, under one lock.
    fn remember<'a>(&self, found: impl IntoIterator<Item = ([u8; 32], &'a Authentic)>) {
        if let Ok(mut entries) = self.entries.lock() {
            for (hash, authentic) in found {
                if entries.len() >= self.capacity {
                    entries.clear();
                }
                entries.insert(hash, authentic.clone());
            }
        }
    }
}

/// [`verify`], with `cache` remembering authentic payloads. The verdict is the same as `verify`'s.
pub fn verify_cached<S: StatusSource>(
    payload: &str,
    trust: &TrustList,
    status: &S,
    now: DateTime<Utc>,
    cache: &SignatureCache,
) -> Result<Verification, S::Error> {
    let hash = SignatureCache::key_of(payload);
    if let Some(known) = cache.recall(&hash, trust) {
        return judge(known, status, now);
    }
    match authenticate(payload, trust) {
        Ok(authentic) => {
            cache.remember([(hash, &authentic)]);
            judge(authentic, status, now)
        }
        Err(failed) => Ok(*failed),
    }
}

mod batch;
pub use batch::{BATCH_LIMIT, verify_batch};

#[cfg(test)]
mod tests;
