//! The trust list in the registry: the public half of every issuer key with its state and signing
//! window. Every replica reads it here, so a key made, rotated or retired on one takes effect on all
//! of them without a restart. The private halves are not here: they stay in the key directory (or
//! the HSM), which every replica shares. Each change is one write with its audit entry, and moves the
//! `keys` counter on, which the replicas follow.

use chrono::{DateTime, Duration, Utc};
use rescard_core::{KeyStatus, Kid, TrustList, TrustedKey};
use serde_json::json;

use crate::model::AuditAction;
use crate::storage::Counter;
use crate::{Registry, Result, StoreError, audit};

/// How long after a rotation the new key begins to sign. Every replica follows the trust list (the
/// `keys` counter, every tenth of a second), so each trusts the new key before any card signed with
/// it can reach it: no card is `unknown_issuer` on a replica that has not heard of the rotation yet.
pub const ACTIVATION_DELAY: Duration = Duration::seconds(2);

/// How long after a rotation the previous key may still sign: until the new key begins, and beyond,
/// for a replica that heard of the rotation late or whose clock is a little behind. A card it signs
/// meanwhile must not turn invalid.
pub const ROTATION_GRACE: Duration = Duration::seconds(60);

fn key_error(message: impl Into<String>) -> StoreError {
    StoreError::Key(message.into())
}

impl Registry {
    /// The trust list, and its version (the `keys` counter), as of one moment.
    pub fn trust_list(&self) -> Result<(u64, TrustList)> {
        self.consistent(|reg| {
            let store = reg.storage();
            let version = store.current(Counter::Keys)?;
            let list = TrustList::new(store.trusted_keys()?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
                .with_root(crate::root::material(store)?);
            Ok((version, list))
        })
    }

    /// The trust list's version alone: how a replica sees, cheaply, that it changed.
    pub fn trust_version(&self) -> Result<u64> {
        self.storage().current(Counter::Keys)
    }

    /// Makes `list` the trust list if the registry has none yet: the first key of a new registry, or
    /// the `keys.json` of a key directory from before the trust list moved into the registry. Returns
    /// whether it did; when the registry already has a trust list (another replica, starting at the
    /// same moment, was first), that list stays and nothing is written.
    pub fn install_trust_list(
        &mut self,
        list: &TrustList,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        crate::registry::check_actor(actor)?;
        let active: Vec<&TrustedKey> = list
            .keys()
            .iter()
            .filter(|k| k.status == KeyStatus::Active)
            .collect();
        let [active] = active[..] else {
            return Err(key_error(format!(
                "a trust list has one active key; this one has {}",
                active.len()
            )));
        };
        for (i, k) in list.keys().iter().enumerate() {
            if list.keys()[..i]
                .iter()
                .any(|o| o.public_key == k.public_key)
            {
                return Err(key_error(format!("key {} is listed twice", k.kid)));
            }
        }
        let tx = self.write()?;
        if !tx.trusted_keys()?.is_empty() {
            return Ok(false);
        }
        for (position, key) in (1..).zip(list.keys()) {
            tx.put_trusted_key(position, key)?;
        }
        tx.next(Counter::Keys)?;
        let kids: Vec<String> = list.keys().iter().map(|k| k.kid.to_string()).collect();
        audit::append(
            &*tx,
            now,
            actor,
            AuditAction::KeyCreate,
            None,
            json!({"active": active.kid.to_string(), "keys": kids}),
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Makes `fresh` the active key, signing from [`ACTIVATION_DELAY`] after `now` (its
    /// `not_before`). The key that was active becomes verify-only: it keeps verifying the cards it
    /// signed, signs until the new key begins, and nothing stamped later than [`ROTATION_GRACE`]
    /// after `now`. Returns the new key as the trust list holds it.
    pub fn rotate_key(
        &mut self,
        fresh: &TrustedKey,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<TrustedKey> {
        crate::registry::check_actor(actor)?;
        let tx = self.write()?;
        let fresh = rotate_in(&*tx, fresh, actor, now)?;
        tx.commit()?;
        Ok(fresh)
    }

    /// [`Self::rotate_key`] with the root's certificate `certificate` of the new key, in one
    /// write: under a root, a key signs nothing before it is certified.
    pub fn rotate_key_certified(
        &mut self,
        fresh: &TrustedKey,
        root: &ed25519_dalek::VerifyingKey,
        certificate: &[u8],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<TrustedKey> {
        crate::registry::check_actor(actor)?;
        let cert = rescard_core::root::Certificate::open(certificate, root)
            .map_err(|e| key_error(e.to_string()))?;
        if cert.public_key != fresh.public_key {
            return Err(key_error("the certificate is for another key"));
        }
        let tx = self.write()?;
        let stored = rotate_in(&*tx, fresh, actor, now)?;
        crate::root::statement_in(
            &*tx,
            root,
            &crate::root::Said::Certified(&cert),
            certificate,
            actor,
            now,
        )?;
        tx.commit()?;
        Ok(stored)
    }

    /// Retires the verify-only keys with id `kid`: the cards they signed then verify as
    /// `unknown_issuer`. The active key cannot be retired (rotate first). Returns how many keys it
    /// retired (two keys may share an id).
    pub fn retire_key(&mut self, kid: Kid, actor: &str, now: DateTime<Utc>) -> Result<usize> {
        crate::registry::check_actor(actor)?;
        let tx = self.write()?;
        let keys = tx.trusted_keys()?;
        if keys
            .iter()
            .any(|k| k.kid == kid && k.status == KeyStatus::Active)
        {
            return Err(key_error(format!(
                "key {kid} is the active key: rotate first (`rescard keys rotate`), then retire it"
            )));
        }
        let mut retired = 0;
        for (position, key) in (1..).zip(&keys) {
            if key.kid == kid && key.status == KeyStatus::VerifyOnly {
                let mut key = key.clone();
                key.status = KeyStatus::Retired;
                key.not_after = Some(key.not_after.map_or(now, |end| end.min(now)));
                tx.put_trusted_key(position, &key)?;
                retired += 1;
            }
        }
        if retired == 0 {
            return Err(key_error(format!("no verify-only key has id {kid}")));
        }
        tx.next(Counter::Keys)?;
        audit::append(
            &*tx,
            now,
            actor,
            AuditAction::KeyRetire,
            None,
            json!({"kid": kid.to_string()}),
        )?;
        tx.commit()?;
        Ok(retired)
    }
}

/// The rotation of [`Registry::rotate_key`], in the write transaction `tx`.
fn rotate_in(
    tx: &dyn crate::storage::Storage,
    fresh: &TrustedKey,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<TrustedKey> {
    if fresh.status != KeyStatus::Active || fresh.not_after.is_some() {
        return Err(key_error("a new key is active, with no end to its signing"));
    }
    let keys = tx.trusted_keys()?;
    if keys.iter().any(|k| k.public_key == fresh.public_key) {
        return Err(key_error(format!(
            "key {} is already in the trust list",
            fresh.kid
        )));
    }
    let (position, previous) = (1..)
        .zip(&keys)
        .find(|(_, k)| k.status == KeyStatus::Active)
        .ok_or_else(|| key_error("the trust list has no active key: run `rescard init`"))?;
    let fresh = TrustedKey {
        not_before: now + ACTIVATION_DELAY,
        ..fresh.clone()
    };
    let mut demoted = previous.clone();
    demoted.status = KeyStatus::VerifyOnly;
    demoted.not_after = Some(now + ROTATION_GRACE);
    tx.put_trusted_key(position, &demoted)?;
    let last = u32::try_from(keys.len())
        .map_err(|_| StoreError::Corrupt("the trust list is too long".into()))?;
    tx.put_trusted_key(last + 1, &fresh)?;
    tx.next(Counter::Keys)?;
    audit::append(
        tx,
        now,
        actor,
        AuditAction::KeyRotate,
        None,
        json!({
            "kid": fresh.kid.to_string(),
            "signs_from": crate::model::timestamp(fresh.not_before),
            "previous": previous.kid.to_string(),
            "previous_signs_until": crate::model::timestamp(now + ROTATION_GRACE),
        }),
    )?;
    Ok(fresh)
}

#[cfg(test)]
mod tests {
    use rescard_core::IssuerKey;

    use super::*;
    use crate::AuditCheck;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("time")
    }

    fn new_key(now: DateTime<Utc>) -> TrustedKey {
        TrustedKey::active(IssuerKey::generate().expect("key").verifying_key(), now)
    }

    crate::on_every_backend! {
        fn the_trust_list_is_installed_once_rotated_and_retired_with_audit_entries(db) {
            let mut reg = db.open();
            assert_eq!(reg.trust_list().expect("list"), (0, TrustList::default()));
            let first = new_key(at("2026-11-01T00:00:00Z"));
            let list = TrustList::new(vec![first.clone()]).expect("list");
            assert!(reg.install_trust_list(&list, "setup", at("2026-11-01T00:00:00Z")).expect("install"));
            let other = TrustList::new(vec![new_key(at("2026-11-01T00:00:00Z"))]).expect("list");
            assert!(
                !reg.install_trust_list(&other, "setup", at("2026-11-02T00:00:00Z")).expect("install"),
                "a registry with a trust list keeps it"
            );
            assert_eq!(reg.trust_list().expect("list"), (1, list));

            let rotated_at = at("2026-11-10T00:00:00Z");
            let second = new_key(rotated_at);
            let stored = reg.rotate_key(&second, "admin", rotated_at).expect("rotate");
            assert_eq!(stored, TrustedKey { not_before: rotated_at + ACTIVATION_DELAY, ..second.clone() });
            assert!(reg.rotate_key(&second, "admin", rotated_at).is_err(), "a key is added once");
            let (version, list) = reg.trust_list().expect("list");
            assert_eq!(version, 2);
            let [old, new] = list.keys() else { panic!("two keys: {list:?}") };
            assert_eq!((old.status, old.not_after), (KeyStatus::VerifyOnly, Some(rotated_at + ROTATION_GRACE)));
            assert_eq!(new, &stored);

            assert!(matches!(
                reg.retire_key(second.kid, "admin", rotated_at),
                Err(StoreError::Key(m)) if m.contains("active key")
            ));
            let retired_at = at("2026-11-10T00:00:30Z");
            assert_eq!(reg.retire_key(first.kid, "admin", retired_at).expect("retire"), 1);
            assert!(matches!(reg.retire_key(first.kid, "admin", retired_at), Err(StoreError::Key(_))));
            let (version, list) = reg.trust_list().expect("list");
            assert_eq!(version, 3);
            assert_eq!(
                (list.keys()[0].status, list.keys()[0].not_after),
                (KeyStatus::Retired, Some(retired_at)),
                "retired at once, inside the grace"
            );
            let actions: Vec<AuditAction> =
                reg.audit_page(0, 10).expect("audit").into_iter().map(|e| e.action).collect();
            assert_eq!(
                actions,
                [AuditAction::KeyCreate, AuditAction::KeyRotate, AuditAction::KeyRetire]
            );
            assert!(matches!(reg.verify_audit().expect("audit"), AuditCheck::Intact { entries: 3, .. }));
        }

        fn refused_key_changes_write_nothing(db) {
            let mut reg = db.open();
            let now = at("2026-11-01T00:00:00Z");
            assert!(matches!(reg.rotate_key(&new_key(now), "admin", now), Err(StoreError::Key(_))));
            let two_active =
                TrustList::new(vec![new_key(now), new_key(now)]).expect("list");
            assert!(reg.install_trust_list(&two_active, "setup", now).is_err());
            let key = new_key(now);
            let twice = TrustList::new(vec![key.clone(), TrustedKey { status: KeyStatus::Retired, ..key }])
                .expect("list");
            assert!(reg.install_trust_list(&twice, "setup", now).is_err());
            assert!(reg.install_trust_list(&TrustList::default(), "setup", now).is_err());
            assert!(reg.install_trust_list(&TrustList::new(vec![new_key(now)]).expect("list"), "", now).is_err());
            assert_eq!(reg.trust_list().expect("list"), (0, TrustList::default()));
            assert!(reg.audit_page(0, 10).expect("audit").is_empty());
        }

        fn replicas_starting_together_install_one_trust_list(db) {
            let now = at("2026-11-01T00:00:00Z");
            let installed: Vec<bool> = std::thread::scope(|scope| {
                let starts: Vec<_> = (0..4)
                    .map(|_| {
                        let db = &db;
                        scope.spawn(move || {
                            let list = TrustList::new(vec![new_key(now)]).expect("list");
                            db.open().install_trust_list(&list, "setup", now).expect("install")
                        })
                    })
                    .collect();
                starts.into_iter().map(|s| s.join().expect("thread")).collect()
            });
            assert_eq!(installed.iter().filter(|i| **i).count(), 1, "{installed:?}");
            assert_eq!(db.open().trust_list().expect("list").1.keys().len(), 1);
        }
    }
}
