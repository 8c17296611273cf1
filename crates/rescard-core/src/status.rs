//! Status snapshots: what happened to cards since they were printed, signed by the issuer, for
//! checkers that work offline. Specified in `docs/STATUS.md`.
//!
//! A snapshot lists every card whose status differs from what its QR says (suspended, revoked,
//! replaced, or extended), under a sequence number that grows with every registry act. A delta lists
//! the cards whose status changed after an earlier sequence number, with their status now (an entry
//! back to "active, as printed" tells the checker to forget the card).
//!
//! The envelope is the card's: a tagged COSE_Sign1 with `{alg: EdDSA, kid}`. The entries are packed in
//! a byte string: about 1.4 bytes for a revoked or suspended card and 3.4 for an extended one, so a
//! million-card registry with 6.5% of its cards listed fits in about 200 KB.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use coset::cbor::value::{Integer, Value};

use crate::codec::{self, SignatureFailure};
use crate::domain::Serial;
use crate::domain::date::{date_from_epoch_days, days_since_epoch, issuer_date};
use crate::keys::{IssuerKey, KeyError, Kid, TrustList};
use crate::verify::{CardState, CurrentStatus, StatusOrigin, StatusReport, StatusSource};

/// The private-use claim under which a snapshot travels (the card uses -65537).
pub const STATUS_CLAIM: i64 = -65538;

/// The largest snapshot accepted, in bytes.
pub const MAX_SNAPSHOT_BYTES: usize = 8 * 1024 * 1024;

/// A checker warns about its clock when it is this far behind the newest signed time it has seen.
pub const CLOCK_SLACK_SECONDS: i64 = 300;

/// One card's status in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusEntry {
    /// The card.
    pub serial: Serial,
    /// Its state.
    pub state: CardState,
    /// Its current last day of validity, when it is not the printed one.
    pub valid_until: Option<NaiveDate>,
    /// The card that replaced it.
    pub replaced_by: Option<Serial>,
}

impl StatusEntry {
    /// Whether this entry says nothing beyond the card's QR (active, as printed): in a delta it tells
    /// the checker to forget the card.
    pub fn is_default(&self) -> bool {
        self.state == CardState::Active && self.valid_until.is_none()
    }
}

/// A full snapshot or a delta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The registry's status sequence number this snapshot is current to.
    pub sequence: u64,
    /// `None` for a full snapshot; for a delta, the sequence number it starts from.
    pub since: Option<u64>,
    /// When it was signed.
    pub issued_at: DateTime<Utc>,
    /// How long a checker may rely on it, in seconds, before its results are marked stale.
    pub max_age_seconds: u64,
    /// The entries, in ascending serial order, one per card.
    pub entries: Vec<StatusEntry>,
}

/// Why a snapshot was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Not a well-formed envelope or payload.
    #[error("malformed status snapshot: {0}")]
    Malformed(String),
    /// Not signed by a trusted key.
    #[error("the status snapshot is not signed by a trusted issuer key")]
    UnknownIssuer,
    /// The signature does not verify.
    #[error("the status snapshot's signature does not verify: it was altered or forged")]
    InvalidSignature,
    /// Signed by a key the root does not trust for it at the snapshot's time.
    #[error("the status snapshot is signed by a key the root does not trust for it: {0}")]
    NotTrustedThen(String),
}

const KEY_SEQUENCE: i64 = 1;
const KEY_SINCE: i64 = 2;
const KEY_MAX_AGE: i64 = 3;
const KEY_COUNT: i64 = 4;
const KEY_ENTRIES: i64 = 5;

fn state_code(state: CardState) -> u64 {
    match state {
        CardState::Active => 0,
        CardState::Suspended => 1,
        CardState::Revoked => 2,
        CardState::Replaced => 3,
    }
}

fn state_of_code(code: u64) -> Option<CardState> {
    [
        CardState::Active,
        CardState::Suspended,
        CardState::Revoked,
        CardState::Replaced,
    ]
    .into_iter()
    .find(|s| state_code(*s) == code)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], pos: &mut usize) -> Result<u64, SnapshotError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes
            .get(*pos)
            .ok_or_else(|| SnapshotError::Malformed("entries end inside a number".into()))?;
        *pos += 1;
        let part = u64::from(b & 0x7f);
        if shift == 63 && part > 1 {
            return Err(SnapshotError::Malformed(
                "a number in the entries overflows".into(),
            ));
        }
        v |= part << shift;
        if b & 0x80 == 0 {
            if b == 0 && shift > 0 {
                return Err(SnapshotError::Malformed(
                    "a number in the entries is not in its shortest form".into(),
                ));
            }
            return Ok(v);
        }
    }
    Err(SnapshotError::Malformed(
        "a number in the entries is too long".into(),
    ))
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// The day numbers in the entries are offsets from the snapshot's issue day (Bishkek).
fn base_day(issued_at: DateTime<Utc>) -> i64 {
    days_since_epoch(issuer_date(issued_at))
}

/// Packs entries: per card, a LEB128 number `(sequence gap << 3) | (has valid_until << 2) | state`,
/// then, if flagged, the zigzag LEB128 of valid_until's day offset from the issue day, then, for a
/// replaced card, the LEB128 sequence number of its replacement.
fn pack(entries: &[StatusEntry], base: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 3);
    let mut previous = 0u64;
    for e in entries {
        let sequence = u64::from(e.serial.sequence());
        let flags = (u64::from(e.valid_until.is_some()) << 2) | state_code(e.state);
        put_varint(&mut out, ((sequence - previous) << 3) | flags);
        if let Some(until) = e.valid_until {
            put_varint(&mut out, zigzag(days_since_epoch(until) - base));
        }
        if let Some(by) = e.replaced_by {
            put_varint(&mut out, u64::from(by.sequence()));
        }
        previous = sequence;
    }
    out
}

fn unpack(bytes: &[u8], count: u64, base: i64) -> Result<Vec<StatusEntry>, SnapshotError> {
    let malformed = |m: &str| SnapshotError::Malformed(m.to_owned());
    // Every entry takes at least one byte, so a count beyond the bytes is a lie told to make us allocate.
    if count > bytes.len() as u64 {
        return Err(malformed("more entries announced than bytes to hold them"));
    }
    let mut entries = Vec::with_capacity(count as usize);
    let mut pos = 0;
    let mut previous = 0u64;
    for _ in 0..count {
        let head = get_varint(bytes, &mut pos)?;
        let gap = head >> 3;
        if gap == 0 {
            return Err(malformed("entries are not in ascending serial order"));
        }
        let sequence = previous
            .checked_add(gap)
            .ok_or_else(|| malformed("serial out of range"))?;
        let serial = u32::try_from(sequence)
            .ok()
            .and_then(|s| Serial::from_sequence(s).ok())
            .ok_or_else(|| malformed("serial out of range"))?;
        let state = state_of_code(head & 3).ok_or_else(|| malformed("unknown state"))?;
        let valid_until = if head & 4 != 0 {
            let offset = unzigzag(get_varint(bytes, &mut pos)?);
            Some(
                base.checked_add(offset)
                    .and_then(date_from_epoch_days)
                    .ok_or_else(|| malformed("date out of range"))?,
            )
        } else {
            None
        };
        let replaced_by = if state == CardState::Replaced {
            let by = get_varint(bytes, &mut pos)?;
            Some(
                u32::try_from(by)
                    .ok()
                    .and_then(|s| Serial::from_sequence(s).ok())
                    .ok_or_else(|| malformed("replacement serial out of range"))?,
            )
        } else {
            None
        };
        entries.push(StatusEntry {
            serial,
            state,
            valid_until,
            replaced_by,
        });
        previous = sequence;
    }
    if pos != bytes.len() {
        return Err(malformed("bytes after the last entry"));
    }
    Ok(entries)
}

fn int(i: i64) -> Value {
    Value::Integer(Integer::from(i))
}

fn uint(u: u64) -> Value {
    Value::Integer(Integer::from(u))
}

fn claims(s: &Snapshot) -> Vec<u8> {
    let entries = pack(&s.entries, base_day(s.issued_at));
    let status = Value::Map(vec![
        (int(KEY_SEQUENCE), uint(s.sequence)),
        (int(KEY_SINCE), uint(s.since.unwrap_or(0))),
        (int(KEY_MAX_AGE), uint(s.max_age_seconds)),
        (int(KEY_COUNT), uint(s.entries.len() as u64)),
        (int(KEY_ENTRIES), Value::Bytes(entries)),
    ]);
    let claims = Value::Map(vec![
        (int(1), Value::Text(codec::claims::ISSUER.into())),
        (
            int(6),
            uint(u64::try_from(s.issued_at.timestamp()).unwrap_or(0)),
        ),
        (int(STATUS_CLAIM), status),
    ]);
    let mut out = Vec::new();
    let _ = ciborium::into_writer(&claims, &mut out);
    out
}

impl Snapshot {
    /// Signs the snapshot with `key`: tagged COSE_Sign1 bytes.
    ///
    /// The entries must be in ascending serial order, one per card, and a replaced card must name
    /// its replacement; the registry builds them so.
    pub fn sign(&self, key: &IssuerKey) -> Result<Vec<u8>, KeyError> {
        codec::sign1(claims(self), key)
    }

    /// Verifies `bytes` against `trust` and reads the snapshot. Anything but the exact encoding that
    /// [`Snapshot::sign`] writes is refused.
    pub fn open(bytes: &[u8], trust: &TrustList) -> Result<(Self, Kid), SnapshotError> {
        if bytes.len() > MAX_SNAPSHOT_BYTES {
            return Err(SnapshotError::Malformed(format!(
                "{} bytes, more than the {MAX_SNAPSHOT_BYTES} accepted",
                bytes.len()
            )));
        }
        let signed =
            codec::decode_cose(bytes).map_err(|e| SnapshotError::Malformed(e.to_string()))?;
        let verified = signed.verify(trust).map_err(|f| match f {
            SignatureFailure::UnknownIssuer => SnapshotError::UnknownIssuer,
            SignatureFailure::InvalidSignature => SnapshotError::InvalidSignature,
        })?;
        let snapshot = Self::from_claims(verified.payload())?;
        if let Some(why) = verified
            .key()
            .root_limit
            .as_ref()
            .and_then(|l| l.refuses(snapshot.issued_at))
        {
            return Err(SnapshotError::NotTrustedThen(why));
        }
        if let Some(end) = verified.key().not_after
            && snapshot.issued_at > end
        {
            return Err(SnapshotError::InvalidSignature);
        }
        Ok((snapshot, signed.kid()))
    }

    fn from_claims(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let malformed = |m: &str| SnapshotError::Malformed(m.to_owned());
        let mut reader = bytes;
        let value: Value = ciborium::from_reader(&mut reader).map_err(|_| malformed("not CBOR"))?;
        if !reader.is_empty() {
            return Err(malformed("bytes after the claims"));
        }
        let Value::Map(top) = value else {
            return Err(malformed("claims are not a map"));
        };
        let find = |map: &[(Value, Value)], key: i64| {
            map.iter()
                .find(|(k, _)| *k == int(key))
                .map(|(_, v)| v.clone())
                .ok_or_else(|| malformed("a claim is missing"))
        };
        let as_u64 = |v: Value| match v {
            Value::Integer(i) => {
                u64::try_from(i).map_err(|_| malformed("a number is out of range"))
            }
            _ => Err(malformed("a number is not an integer")),
        };
        let issued_at = i64::try_from(as_u64(find(&top, 6)?)?)
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .ok_or_else(|| malformed("iat out of range"))?;
        let Value::Map(status) = find(&top, STATUS_CLAIM)? else {
            return Err(malformed("status is not a map"));
        };
        let sequence = as_u64(find(&status, KEY_SEQUENCE)?)?;
        let since = as_u64(find(&status, KEY_SINCE)?)?;
        let max_age_seconds = as_u64(find(&status, KEY_MAX_AGE)?)?;
        let count = as_u64(find(&status, KEY_COUNT)?)?;
        let Value::Bytes(packed) = find(&status, KEY_ENTRIES)? else {
            return Err(malformed("entries are not bytes"));
        };
        let entries = unpack(&packed, count, base_day(issued_at))?;
        if since > sequence {
            return Err(malformed("a delta that starts after it ends"));
        }
        let snapshot = Self {
            sequence,
            since: (since > 0).then_some(since),
            issued_at,
            max_age_seconds,
            entries,
        };
        if claims(&snapshot) != bytes {
            return Err(malformed("not in the deterministic encoding"));
        }
        Ok(snapshot)
    }
}

/// Parses snapshot claims without a signature, for the fuzz target only: a checker never does this.
#[doc(hidden)]
pub fn decode_claims_unverified(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
    Snapshot::from_claims(bytes)
}

/// A checker's view of card status: a full snapshot with the deltas applied since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusView {
    sequence: u64,
    issued_at: DateTime<Utc>,
    max_age_seconds: u64,
    entries: std::collections::BTreeMap<Serial, StatusEntry>,
}

/// Why a snapshot cannot be applied to a view.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// A delta that does not start where the view is.
    #[error("the delta starts at sequence {since}, but this checker is at {held}")]
    Gap {
        /// Where the delta starts.
        since: u64,
        /// Where the view is.
        held: u64,
    },
    /// An older snapshot than the one held: a rollback.
    #[error(
        "the status goes backwards: sequence {offered} is older than the {held} this checker holds"
    )]
    Backwards {
        /// The sequence offered.
        offered: u64,
        /// The sequence held.
        held: u64,
    },
}

impl StatusView {
    /// The view a full snapshot gives. A delta cannot start a view.
    pub fn from_full(snapshot: Snapshot) -> Result<Self, ApplyError> {
        if let Some(since) = snapshot.since {
            return Err(ApplyError::Gap { since, held: 0 });
        }
        let entries = snapshot
            .entries
            .into_iter()
            .map(|e| (e.serial, e))
            .collect();
        Ok(Self {
            sequence: snapshot.sequence,
            issued_at: snapshot.issued_at,
            max_age_seconds: snapshot.max_age_seconds,
            entries,
        })
    }

    /// Applies a newer full snapshot or a delta that starts at this view's sequence.
    pub fn apply(&mut self, snapshot: Snapshot) -> Result<(), ApplyError> {
        if snapshot.sequence < self.sequence
            || (snapshot.sequence == self.sequence && snapshot.issued_at < self.issued_at)
        {
            return Err(ApplyError::Backwards {
                offered: snapshot.sequence,
                held: self.sequence,
            });
        }
        match snapshot.since {
            None => *self = Self::from_full(snapshot)?,
            Some(since) if since == self.sequence => {
                for e in snapshot.entries {
                    if e.is_default() {
                        self.entries.remove(&e.serial);
                    } else {
                        self.entries.insert(e.serial, e);
                    }
                }
                self.sequence = snapshot.sequence;
                self.issued_at = snapshot.issued_at;
                self.max_age_seconds = snapshot.max_age_seconds;
            }
            Some(since) => {
                return Err(ApplyError::Gap {
                    since,
                    held: self.sequence,
                });
            }
        }
        Ok(())
    }

    /// The sequence number the view is current to.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// When its newest part was signed.
    pub fn issued_at(&self) -> DateTime<Utc> {
        self.issued_at
    }

    /// How long it may be relied on, from `issued_at`.
    pub fn max_age(&self) -> Duration {
        // A signed but absurd age (past what a duration holds) is as good as forever, not a panic.
        i64::try_from(self.max_age_seconds)
            .ok()
            .and_then(Duration::try_seconds)
            .unwrap_or(Duration::MAX)
    }

    /// Whether results at `now` are stale.
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        now - self.issued_at > self.max_age()
    }

    /// Whether a checker's clock reading `now` is behind the newest signed time it has seen.
    pub fn clock_is_behind(&self, now: DateTime<Utc>) -> bool {
        now < self.issued_at - Duration::seconds(CLOCK_SLACK_SECONDS)
    }

    /// The number of cards the view lists.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the view lists no card.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The listed entries, in serial order.
    pub fn entries(&self) -> impl Iterator<Item = &StatusEntry> {
        self.entries.values()
    }
}

impl StatusSource for StatusView {
    type Error = std::convert::Infallible;

    fn status(&self, serial: Serial, now: DateTime<Utc>) -> Result<StatusReport, Self::Error> {
        Ok(StatusReport {
            origin: StatusOrigin::Snapshot,
            as_of: Some(self.issued_at),
            stale: self.is_stale(now),
            current: self.entries.get(&serial).map(|e| CurrentStatus {
                state: e.state,
                valid_until: e.valid_until,
                reason: None,
                replaced_by: e.replaced_by,
            }),
        })
    }
}

#[cfg(test)]
mod tests;
