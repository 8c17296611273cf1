//! What the root of trust has said, in the registry: its public key, and the certificates and
//! revocations it signed for issuer keys ([`rescard_core::root`]). The trust list carries them to
//! every replica and checker, so each change moves the `keys` counter on, as a key change does.
//! The registry keeps one root: a statement from another is refused.

use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use rescard_core::root::{Certificate, Revocation, RootMaterial, fingerprint};
use rescard_core::{CardState, Kid, Serial};
use serde_json::json;

use crate::model::AuditAction;
use crate::storage::{Counter, Storage};
use crate::tables::{Kind, Value};
use crate::{Registry, Result, StoreError, audit};

const ROOT: &str = "root";
const CERTIFICATE: &str = "certificate";
const REVOCATION: &str = "revocation";

fn refused(message: impl Into<String>) -> StoreError {
    StoreError::Key(message.into())
}

/// Every statement of the registry's root, in the order they were recorded.
pub(crate) fn material(store: &dyn Storage) -> Result<RootMaterial> {
    let rows = store.select(
        "SELECT kind, statement FROM root_statements ORDER BY id",
        &[],
        &[Kind::Text, Kind::Bytes],
    )?;
    let mut material = RootMaterial::default();
    for row in rows {
        let (Some(Value::Text(kind)), Some(Value::Bytes(bytes))) = (row.first(), row.get(1)) else {
            return Err(StoreError::Corrupt("a root statement row".into()));
        };
        match kind.as_str() {
            ROOT => {
                let raw: [u8; 32] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("the root's public key".into()))?;
                material.root = Some(
                    VerifyingKey::from_bytes(&raw)
                        .map_err(|_| StoreError::Corrupt("the root's public key".into()))?,
                );
            }
            CERTIFICATE => material.certificates.push(bytes.clone()),
            REVOCATION => material.revocations.push(bytes.clone()),
            other => return Err(StoreError::Corrupt(format!("root statement kind {other}"))),
        }
    }
    Ok(material)
}

fn insert(
    store: &dyn Storage,
    kind: &str,
    kid: Kid,
    bytes: &[u8],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    store.change(
        "INSERT INTO root_statements (kind, kid, statement, added_at, added_by) VALUES ($1, $2, $3, $4, $5)",
        vec![
            (Value::Text(kind.into()), Kind::Text),
            (Value::Text(kid.to_string()), Kind::Text),
            (Value::Bytes(bytes.to_vec()), Kind::Bytes),
            (Value::Time(crate::model::to_micros(now)), Kind::Time),
            (Value::Text(actor.into()), Kind::Text),
        ],
    )
}

/// One card a key signed, for `cards signed-by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCard {
    /// The card.
    pub serial: Serial,
    /// When it was signed.
    pub issued_at: DateTime<Utc>,
    /// Its state now.
    pub state: CardState,
}

/// A statement of the root, opened.
pub(crate) enum Said<'a> {
    /// A certificate.
    Certified(&'a Certificate),
    /// A revocation.
    Revoked(&'a Revocation),
}

/// Records the statement `said` (as signed: `bytes`) of `root`, in the write transaction `tx`: for
/// a key of the trust list, from the registry's root (the first statement makes `root` it); the
/// active key cannot be revoked (rotate first).
pub(crate) fn statement_in(
    tx: &dyn Storage,
    root: &VerifyingKey,
    said: &Said<'_>,
    bytes: &[u8],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let (kind, kid, key) = match said {
        Said::Certified(c) => (CERTIFICATE, c.kid, c.public_key),
        Said::Revoked(r) => (REVOCATION, r.kid, r.public_key),
    };
    let keys = tx.trusted_keys()?;
    let Some(listed) = keys.iter().find(|k| k.public_key == key) else {
        return Err(refused(format!(
            "key {kid} is not in the registry's trust list"
        )));
    };
    if matches!(said, Said::Revoked(_)) && listed.status == rescard_core::KeyStatus::Active {
        return Err(refused(format!(
            "key {kid} is the active key: rotate first (`rescard keys rotate`), then revoke it"
        )));
    }
    match material(tx)?.root {
        Some(held) if held != *root => {
            return Err(refused(format!(
                "the registry's root is {}; this one is {}",
                fingerprint(&held),
                fingerprint(root)
            )));
        }
        Some(_) => {}
        None => insert(tx, ROOT, Kid::of(root), root.as_bytes(), actor, now)?,
    }
    insert(tx, kind, kid, bytes, actor, now)?;
    tx.next(Counter::Keys)?;
    let (action, details) = match said {
        Said::Certified(c) => (
            AuditAction::RootCertify,
            json!({
                "kid": c.kid.to_string(),
                "not_before": crate::model::timestamp(c.not_before),
                "not_after": crate::model::timestamp(c.not_after),
                "usage": c.usage.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
                "root": fingerprint(root),
            }),
        ),
        Said::Revoked(r) => (
            AuditAction::RootRevoke,
            json!({
                "kid": r.kid.to_string(),
                "since": crate::model::timestamp(r.since),
                "root": fingerprint(root),
            }),
        ),
    };
    audit::append(tx, now, actor, action, None, details)
}

impl Registry {
    /// What the root has said (empty for a registry without a root).
    pub fn root_material(&self) -> Result<RootMaterial> {
        material(self.storage())
    }

    /// Records a certificate `root` signed for a key of the trust list. The first statement makes
    /// `root` the registry's root; one from another root is refused.
    pub fn add_certificate(
        &mut self,
        root: &VerifyingKey,
        bytes: &[u8],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Certificate> {
        let cert = Certificate::open(bytes, root).map_err(|e| refused(e.to_string()))?;
        self.add_statement(root, &Said::Certified(&cert), bytes, actor, now)?;
        Ok(cert)
    }

    /// Records a revocation `root` signed for a verify-only or retired key of the trust list.
    pub fn add_revocation(
        &mut self,
        root: &VerifyingKey,
        bytes: &[u8],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Revocation> {
        let rev = Revocation::open(bytes, root).map_err(|e| refused(e.to_string()))?;
        self.add_statement(root, &Said::Revoked(&rev), bytes, actor, now)?;
        Ok(rev)
    }

    fn add_statement(
        &mut self,
        root: &VerifyingKey,
        said: &Said<'_>,
        bytes: &[u8],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        crate::registry::check_actor(actor)?;
        let tx = self.write()?;
        statement_in(&*tx, root, said, bytes, actor, now)?;
        tx.commit()?;
        Ok(())
    }

    /// The cards key `kid` signed from `since` on, oldest first: after a theft, those to issue again.
    pub fn cards_signed_by(&self, kid: Kid, since: DateTime<Utc>) -> Result<Vec<SignedCard>> {
        let rows = self.storage().select(
            "SELECT serial, issued_at, state FROM cards WHERE kid = $1 AND issued_at >= $2 ORDER BY issued_at, serial",
            &[
                (Value::Text(kid.to_string()), Kind::Text),
                (Value::Time(since), Kind::Time),
            ],
            &[Kind::Text, Kind::Time, Kind::Text],
        )?;
        rows.into_iter()
            .map(|row| match row.as_slice() {
                [Value::Text(serial), Value::Time(at), Value::Text(state)] => Ok(SignedCard {
                    serial: crate::storage::parse_serial(serial)?,
                    issued_at: *at,
                    state: crate::storage::parse_state(state)?,
                }),
                _ => Err(StoreError::Corrupt("a card row".into())),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
