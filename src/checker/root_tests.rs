//! A checker under a root against a thief holding an issuer key the root certified: lists and
//! snapshots dated ahead or back, a revocation carried by a list that is itself refused, and a
//! snapshot the revoked key signed before the revocation was known.

use chrono::{DateTime, Duration, Utc};
use rescard_core::root::{Certificate, Revocation, RootMaterial, Usage};
use rescard_core::status::Snapshot;
use rescard_core::trust_doc::TrustDocument;
use rescard_core::{IssuerKey, KeyStatus, TrustList, TrustedKey};

use super::*;

fn root() -> IssuerKey {
    IssuerKey::from_seed(&[0x33; 32])
}

fn stolen() -> IssuerKey {
    IssuerKey::from_seed(&[0x44; 32])
}

fn successor() -> IssuerKey {
    IssuerKey::from_seed(&[0x55; 32])
}

fn certificate(key: &IssuerKey, now: DateTime<Utc>) -> Vec<u8> {
    Certificate {
        kid: key.kid(),
        public_key: key.verifying_key(),
        not_before: now - Duration::days(10),
        not_after: now + Duration::days(100),
        usage: vec![Usage::Cards, Usage::Status],
        issued_at: now - Duration::days(10),
    }
    .sign(&root())
    .expect("signs")
}

fn list(
    keys: Vec<TrustedKey>,
    material: RootMaterial,
    issued_at: DateTime<Utc>,
    signers: &[&IssuerKey],
) -> Vec<u8> {
    TrustDocument {
        issued_at,
        keys: TrustList::new(keys).expect("list").with_root(material),
    }
    .sign(signers)
    .expect("signs")
}

fn snapshot(sequence: u64, issued_at: DateTime<Utc>, key: &IssuerKey) -> Vec<u8> {
    Snapshot {
        sequence,
        since: None,
        issued_at,
        max_age_seconds: 86_400,
        entries: vec![],
    }
    .sign(key)
    .expect("signs")
}

#[test]
fn a_thief_can_neither_date_ahead_nor_back_nor_hide_a_revocation() {
    // Whole seconds, as the root's statements keep time.
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now");
    let dir = tempfile::tempdir().expect("dir");
    let checker = Checker::new(dir.path());
    let anchor = Anchor::Root(root().verifying_key());
    let key = TrustedKey::active(stolen().verifying_key(), now - Duration::days(10));
    let material = RootMaterial {
        root: Some(root().verifying_key()),
        certificates: vec![certificate(&stolen(), now)],
        revocations: Vec::new(),
    };
    let first = list(
        vec![key.clone()],
        material.clone(),
        now - Duration::hours(2),
        &[&stolen()],
    );
    let trust = checker
        .accept_trust(&first, Some(anchor))
        .expect("first sync");
    checker
        .accept_status(
            &snapshot(3, now - Duration::hours(2), &stolen()),
            &trust.status_keys,
        )
        .expect("status");

    // Dated a day ahead, to shut out what follows: refused.
    let ahead = list(
        vec![key.clone()],
        material.clone(),
        now + Duration::days(1),
        &[&stolen()],
    );
    let err = checker.accept_trust(&ahead, None).expect_err("ahead");
    assert!(
        format!("{err:#}").contains("ahead of this checker's clock"),
        "{err:#}"
    );
    let err = checker
        .accept_status(
            &snapshot(9, now + Duration::days(1), &stolen()),
            &trust.status_keys,
        )
        .expect_err("ahead");
    assert!(
        format!("{err:#}").contains("ahead of this checker's clock"),
        "{err:#}"
    );
    // A later sequence signed earlier than what is held: refused.
    let err = checker
        .accept_status(
            &snapshot(4, now - Duration::hours(3), &stolen()),
            &trust.status_keys,
        )
        .expect_err("back");
    assert!(
        format!("{err:#}").contains("before the one held"),
        "{err:#}"
    );
    // Before the revocation is known, the thief's snapshot of the last hour is taken in.
    checker
        .accept_status(
            &snapshot(5, now - Duration::minutes(30), &stolen()),
            &trust.status_keys,
        )
        .expect("status");

    // The root revokes the key from an hour ago. A list carrying the revocation but refused (here
    // as a rollback) still leaves it with the checker.
    let revocation = Revocation {
        kid: stolen().kid(),
        public_key: stolen().verifying_key(),
        since: now - Duration::hours(1),
        issued_at: now - Duration::minutes(20),
    }
    .sign(&root())
    .expect("signs");
    let revoked = RootMaterial {
        revocations: vec![revocation],
        ..material.clone()
    };
    let old = list(
        vec![key.clone()],
        revoked.clone(),
        now - Duration::hours(3),
        &[&stolen()],
    );
    let err = checker.accept_trust(&old, None).expect_err("rollback");
    assert!(format!("{err:#}").contains("rollback"), "{err:#}");
    let held = checker.trust().expect("trust").expect("held");
    assert_eq!(
        held.cards.keys()[0]
            .root_limit
            .as_ref()
            .and_then(|l| l.revoked_since),
        Some(now - Duration::hours(1))
    );
    // The snapshot the revoked key signed after `since` no longer stands...
    assert!(
        checker.load().is_err(),
        "the disowned status is refused at rest"
    );

    // ...and sets no floor: the successor's full snapshot, at a lower sequence, replaces it.
    let old_key = TrustedKey {
        status: KeyStatus::VerifyOnly,
        not_after: Some(now - Duration::minutes(15)),
        ..key
    };
    let with_successor = RootMaterial {
        certificates: vec![certificate(&stolen(), now), certificate(&successor(), now)],
        ..revoked
    };
    let next = list(
        vec![
            old_key,
            TrustedKey::active(successor().verifying_key(), now - Duration::minutes(15)),
        ],
        with_successor,
        now - Duration::minutes(10),
        &[&successor()],
    );
    let trust = checker
        .accept_trust(&next, None)
        .expect("the successor's list");
    let view = checker
        .accept_status(
            &snapshot(4, now - Duration::minutes(5), &successor()),
            &trust.status_keys,
        )
        .expect("the genuine snapshot");
    assert_eq!(view.sequence(), 4);
    let held = checker.load().expect("load").expect("held");
    assert_eq!(held.status.map(|v| v.sequence()), Some(4));
}
