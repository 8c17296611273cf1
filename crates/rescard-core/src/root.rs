//! The root of trust: a root key, kept offline, certifies issuer keys, and revokes them.
//!
//! A **certificate** says that an issuer key (its `kid` and public key) may sign, from `not_before`
//! to `not_after`, what its `usage` names: `cards`, `status` (status snapshots, deltas and the
//! trust list) or `audit` (audit checkpoints). A **revocation** says that the root no longer
//! trusts what an issuer key signed from `since` on (a theft: what it signed before stays good).
//! Both are COSE_Sign1 (RFC 9052 §4.2) signed by the root with EdDSA, in the card's envelope: the
//! protected header `{1: -8, 4: root kid}`, a CBOR map as the payload (`docs/CERTIFICATES.md`).
//!
//! The trust list carries them ([`RootMaterial`], in its unprotected header: each is
//! self-authenticating), and a checker that pins the root trusts an issuer key for a use only as
//! [`Statements::apply`] says: a [`RootLimit`] on each key of the list, which the verifier applies
//! to the signing time of every card and snapshot. The certificates are checked once, when the list
//! is taken in, not for every card.

use std::fmt;

use chrono::{DateTime, Utc};
use ciborium::Value;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::codec;
use crate::domain::date::rfc3339;
use crate::keys::{IssuerKey, KeyError, Kid, TrustList, TrustedKey};

/// The largest certificate or revocation accepted, in bytes.
pub const MAX_STATEMENT_BYTES: usize = 1024;

/// What a certified issuer key may sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Usage {
    /// Cards (their QR payloads).
    Cards,
    /// Status snapshots and deltas, and the trust list.
    Status,
    /// Audit checkpoints.
    Audit,
}

impl Usage {
    /// Every usage.
    pub const ALL: [Usage; 3] = [Self::Cards, Self::Status, Self::Audit];

    /// The spelling in a certificate and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cards => "cards",
            Self::Status => "status",
            Self::Audit => "audit",
        }
    }

    /// The usage spelt `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.as_str() == text)
    }

    /// A comma-separated list (`cards,status`), each named once.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, String> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim) {
            let usage = Self::parse(part)
                .ok_or_else(|| format!("`{part}` is not a usage: cards, status or audit"))?;
            if out.contains(&usage) {
                return Err(format!("{part} is named twice"));
            }
            out.push(usage);
        }
        out.sort();
        Ok(out)
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a certificate, a revocation or the root material could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RootError {
    /// Not a certificate or revocation in the documented form.
    #[error("malformed root statement: {0}")]
    Malformed(String),
    /// It does not verify with the root key.
    #[error("a {0} that the root did not sign")]
    NotByRoot(&'static str),
    /// The trust list names another root than the one pinned.
    #[error("the trust list names root {offered}, not the pinned root {pinned}")]
    OtherRoot {
        /// The pinned root's fingerprint.
        pinned: String,
        /// The list's.
        offered: String,
    },
}

/// The root's fingerprint: the SHA-256 of its 32-byte public key, in hex (64 digits).
pub fn fingerprint(root: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(root.as_bytes()))
}

/// A root's certificate for an issuer key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The issuer key's id.
    pub kid: Kid,
    /// The issuer key.
    pub public_key: VerifyingKey,
    /// From when it may sign.
    pub not_before: DateTime<Utc>,
    /// Until when it may sign.
    pub not_after: DateTime<Utc>,
    /// What it may sign.
    pub usage: Vec<Usage>,
    /// When the root signed the certificate.
    pub issued_at: DateTime<Utc>,
}

/// A root's revocation of an issuer key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The issuer key's id.
    pub kid: Kid,
    /// The issuer key.
    pub public_key: VerifyingKey,
    /// What the key signed from this moment on is not trusted.
    pub since: DateTime<Utc>,
    /// When the root signed the revocation.
    pub issued_at: DateTime<Utc>,
}

const CERTIFICATE: &str = "rescard-certificate";
const REVOCATION: &str = "rescard-revocation";

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn seconds(t: DateTime<Utc>) -> Value {
    Value::Integer(t.timestamp().into())
}

fn encode(map: Vec<(&str, Value)>) -> Vec<u8> {
    let map = Value::Map(map.into_iter().map(|(k, v)| (text(k), v)).collect());
    let mut out = Vec::new();
    // Writing a CBOR value into a Vec cannot fail.
    ciborium::into_writer(&map, &mut out).ok();
    out
}

/// The fields of a statement's payload, read strictly: exactly `names`, in any order.
struct Fields(Vec<(String, Value)>);

impl Fields {
    fn read(payload: &[u8], kind: &str, names: &[&str]) -> Result<Self, RootError> {
        let bad = |m: String| RootError::Malformed(m);
        let mut reader = payload;
        let value: Value =
            ciborium::from_reader(&mut reader).map_err(|_| bad("not CBOR".into()))?;
        if !reader.is_empty() {
            return Err(bad("bytes after the payload".into()));
        }
        let Value::Map(entries) = value else {
            return Err(bad("the payload is not a map".into()));
        };
        let mut fields = Vec::new();
        for (k, v) in entries {
            let Value::Text(k) = k else {
                return Err(bad("a key that is not text".into()));
            };
            if !names.contains(&k.as_str()) || fields.iter().any(|(n, _)| *n == k) {
                return Err(bad(format!("unexpected or repeated field `{k}`")));
            }
            fields.push((k, v));
        }
        let fields = Self(fields);
        if fields.text("type")? != kind {
            return Err(bad(format!("not a {kind}")));
        }
        for name in names {
            fields.get(name)?;
        }
        Ok(fields)
    }

    fn get(&self, name: &str) -> Result<&Value, RootError> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| RootError::Malformed(format!("no `{name}`")))
    }

    fn text(&self, name: &str) -> Result<&str, RootError> {
        match self.get(name)? {
            Value::Text(t) => Ok(t),
            _ => Err(RootError::Malformed(format!("`{name}` is not text"))),
        }
    }

    fn time(&self, name: &str) -> Result<DateTime<Utc>, RootError> {
        let bad = || RootError::Malformed(format!("`{name}` is not a time in seconds"));
        let Value::Integer(i) = self.get(name)? else {
            return Err(bad());
        };
        let secs = u64::try_from(*i)
            .ok()
            .and_then(|s| i64::try_from(s).ok())
            .ok_or_else(bad)?;
        DateTime::from_timestamp(secs, 0).ok_or_else(bad)
    }

    fn key(&self) -> Result<(Kid, VerifyingKey), RootError> {
        let bad = |m: &str| RootError::Malformed(m.to_owned());
        let Value::Bytes(raw) = self.get("public_key")? else {
            return Err(bad("`public_key` is not bytes"));
        };
        let raw: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| bad("`public_key` is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|_| bad("`public_key` is not Ed25519"))?;
        let Value::Bytes(kid) = self.get("kid")? else {
            return Err(bad("`kid` is not bytes"));
        };
        let kid = <[u8; 8]>::try_from(kid.as_slice())
            .map(Kid)
            .map_err(|_| bad("`kid` is not 8 bytes"))?;
        if kid != Kid::of(&key) {
            return Err(bad("`kid` is not the public key's"));
        }
        Ok((kid, key))
    }
}

/// The payload of a statement `bytes` that `root` signed.
fn opened(bytes: &[u8], root: &VerifyingKey, what: &'static str) -> Result<Vec<u8>, RootError> {
    if bytes.len() > MAX_STATEMENT_BYTES {
        return Err(RootError::Malformed(format!(
            "{} bytes, more than the {MAX_STATEMENT_BYTES} accepted",
            bytes.len()
        )));
    }
    let signed = codec::decode_cose(bytes).map_err(|e| RootError::Malformed(e.to_string()))?;
    let roots = TrustList::new(vec![TrustedKey::active(*root, DateTime::UNIX_EPOCH)])
        .map_err(|e| RootError::Malformed(e.to_string()))?;
    let verified = signed
        .verify(&roots)
        .map_err(|_| RootError::NotByRoot(what))?;
    Ok(verified.payload().to_vec())
}

impl Certificate {
    /// The certificate, signed by `root`.
    pub fn sign(&self, root: &IssuerKey) -> Result<Vec<u8>, KeyError> {
        let usage = self.usage.iter().map(|u| text(u.as_str())).collect();
        codec::sign1(
            encode(vec![
                ("type", text(CERTIFICATE)),
                ("kid", Value::Bytes(self.kid.0.to_vec())),
                (
                    "public_key",
                    Value::Bytes(self.public_key.as_bytes().to_vec()),
                ),
                ("not_before", seconds(self.not_before)),
                ("not_after", seconds(self.not_after)),
                ("usage", Value::Array(usage)),
                ("issued_at", seconds(self.issued_at)),
            ]),
            root,
        )
    }

    /// The certificate `bytes`, which `root` must have signed.
    pub fn open(bytes: &[u8], root: &VerifyingKey) -> Result<Self, RootError> {
        let payload = opened(bytes, root, "certificate")?;
        let f = Fields::read(
            &payload,
            CERTIFICATE,
            &[
                "type",
                "kid",
                "public_key",
                "not_before",
                "not_after",
                "usage",
                "issued_at",
            ],
        )?;
        let (kid, public_key) = f.key()?;
        let Value::Array(list) = f.get("usage")? else {
            return Err(RootError::Malformed("`usage` is not an array".into()));
        };
        let mut usage = Vec::new();
        for v in list {
            let Value::Text(name) = v else {
                return Err(RootError::Malformed("a usage that is not text".into()));
            };
            let one = Usage::parse(name)
                .ok_or_else(|| RootError::Malformed(format!("`{name}` is not a usage")))?;
            if usage.contains(&one) {
                return Err(RootError::Malformed(format!("usage {name} is named twice")));
            }
            usage.push(one);
        }
        if usage.is_empty() {
            return Err(RootError::Malformed("no usage".into()));
        }
        usage.sort();
        let cert = Self {
            kid,
            public_key,
            not_before: f.time("not_before")?,
            not_after: f.time("not_after")?,
            usage,
            issued_at: f.time("issued_at")?,
        };
        if cert.not_after < cert.not_before {
            return Err(RootError::Malformed("it ends before it begins".into()));
        }
        Ok(cert)
    }
}

impl Revocation {
    /// The revocation, signed by `root`.
    pub fn sign(&self, root: &IssuerKey) -> Result<Vec<u8>, KeyError> {
        codec::sign1(
            encode(vec![
                ("type", text(REVOCATION)),
                ("kid", Value::Bytes(self.kid.0.to_vec())),
                (
                    "public_key",
                    Value::Bytes(self.public_key.as_bytes().to_vec()),
                ),
                ("since", seconds(self.since)),
                ("issued_at", seconds(self.issued_at)),
            ]),
            root,
        )
    }

    /// The revocation `bytes`, which `root` must have signed.
    pub fn open(bytes: &[u8], root: &VerifyingKey) -> Result<Self, RootError> {
        let payload = opened(bytes, root, "revocation")?;
        let f = Fields::read(
            &payload,
            REVOCATION,
            &["type", "kid", "public_key", "since", "issued_at"],
        )?;
        let (kid, public_key) = f.key()?;
        Ok(Self {
            kid,
            public_key,
            since: f.time("since")?,
            issued_at: f.time("issued_at")?,
        })
    }
}

/// What the root has said, as the trust list carries it: the root's public key, and its
/// certificates and revocations as signed (COSE_Sign1 bytes each). Empty for a registry without a
/// root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootMaterial {
    /// The root's public key.
    pub root: Option<VerifyingKey>,
    /// The certificates.
    pub certificates: Vec<Vec<u8>>,
    /// The revocations.
    pub revocations: Vec<Vec<u8>>,
}

impl RootMaterial {
    /// Whether there is nothing of a root.
    pub fn is_empty(&self) -> bool {
        self.root.is_none() && self.certificates.is_empty() && self.revocations.is_empty()
    }

    /// Every statement, verified with `root` (which the material, when it names a root, must name
    /// too). A statement that does not verify is an error: a list carrying one is refused whole.
    pub fn open(&self, root: &VerifyingKey) -> Result<Statements, RootError> {
        if let Some(named) = &self.root
            && named != root
        {
            return Err(RootError::OtherRoot {
                pinned: fingerprint(root),
                offered: fingerprint(named),
            });
        }
        Ok(Statements {
            certificates: self
                .certificates
                .iter()
                .map(|c| Certificate::open(c, root))
                .collect::<Result<_, _>>()?,
            revocations: self
                .revocations
                .iter()
                .map(|r| Revocation::open(r, root))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// The root's statements, verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statements {
    /// The certificates.
    pub certificates: Vec<Certificate>,
    /// The revocations.
    pub revocations: Vec<Revocation>,
}

impl Statements {
    /// What the root allows `key` for `usage`: the period its certificates for that use cover
    /// (none if it has none), and the earliest revocation.
    pub fn limit(&self, key: &TrustedKey, usage: Usage) -> RootLimit {
        let certified = self
            .certificates
            .iter()
            .filter(|c| c.public_key == key.public_key && c.usage.contains(&usage))
            .fold(None, |acc: Option<(DateTime<Utc>, DateTime<Utc>)>, c| {
                Some(match acc {
                    None => (c.not_before, c.not_after),
                    Some((from, until)) => (from.min(c.not_before), until.max(c.not_after)),
                })
            });
        let revoked_since = self
            .revocations
            .iter()
            .filter(|r| r.public_key == key.public_key)
            .map(|r| r.since)
            .min();
        RootLimit {
            usage,
            certified,
            revoked_since,
        }
    }

    /// `list` with each key limited to what the root allows it for `usage`.
    pub fn apply(&self, list: &TrustList, usage: Usage) -> TrustList {
        list.with_limits(|key| Some(self.limit(key, usage)))
    }
}

/// What the root allows an issuer key for one use: set on the keys of a trust list by
/// [`Statements::apply`], applied by the verifier to each signature's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootLimit {
    /// The use.
    pub usage: Usage,
    /// The period the key's certificates for this use cover; `None`: it has none.
    pub certified: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// From when the root revoked it, if it did.
    pub revoked_since: Option<DateTime<Utc>>,
}

impl RootLimit {
    /// Why a signature the key made at `at` is not trusted, or `None` if it is.
    pub fn refuses(&self, at: DateTime<Utc>) -> Option<String> {
        if let Some(since) = self.revoked_since
            && at >= since
        {
            return Some(format!("the root revoked it from {}", rfc3339(since)));
        }
        match self.certified {
            None => Some(format!("the root has not certified it for {}", self.usage)),
            Some((from, _)) if at < from => Some(format!(
                "its certificate for {} begins at {}",
                self.usage,
                rfc3339(from)
            )),
            Some((_, until)) if at > until => Some(format!(
                "its certificate for {} ended at {}",
                self.usage,
                rfc3339(until)
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
