use rescard_core::root::{Certificate, Revocation, Usage};
use rescard_core::{IssuerKey, TrustList, TrustedKey, reference};

use super::*;
use crate::{AuditCheck, NewCard};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

fn root() -> IssuerKey {
    IssuerKey::from_seed(&[9; 32])
}

fn issuer() -> IssuerKey {
    IssuerKey::from_seed(&[3; 32])
}

fn certificate(key: &IssuerKey, signer: &IssuerKey) -> Vec<u8> {
    Certificate {
        kid: key.kid(),
        public_key: key.verifying_key(),
        not_before: at("2026-01-01T00:00:00Z"),
        not_after: at("2027-01-01T00:00:00Z"),
        usage: vec![Usage::Cards, Usage::Status],
        issued_at: at("2026-11-01T00:00:00Z"),
    }
    .sign(signer)
    .expect("signs")
}

fn with_key(db: &crate::testing::TestRegistry) -> Registry {
    let mut reg = db.open();
    let list = TrustList::new(vec![TrustedKey::active(
        issuer().verifying_key(),
        at("2026-01-01T00:00:00Z"),
    )])
    .expect("list");
    reg.install_trust_list(&list, "setup", at("2026-01-01T00:00:00Z"))
        .expect("install");
    reg
}

crate::on_every_backend! {
    fn the_roots_statements_travel_with_the_trust_list(db) {
        let mut reg = with_key(&db);
        let now = at("2026-11-01T00:00:00Z");
        let root_key = root().verifying_key();
        let cert = certificate(&issuer(), &root());
        reg.add_certificate(&root_key, &cert, "root-ceremony", now).expect("certify");
        let revocation = |key: &IssuerKey| Revocation {
            kid: key.kid(),
            public_key: key.verifying_key(),
            since: at("2026-10-01T00:00:00Z"),
            issued_at: now,
        }
        .sign(&root())
        .expect("signs");
        let err = reg
            .add_revocation(&root_key, &revocation(&issuer()), "root-ceremony", now)
            .expect_err("the active key");
        assert!(err.to_string().contains("rotate first"), "{err}");
        // The rotation and the new key's certificate are one write.
        let next = IssuerKey::from_seed(&[5; 32]);
        let fresh = TrustedKey::active(next.verifying_key(), now);
        let wrong = certificate(&issuer(), &root());
        assert!(reg.rotate_key_certified(&fresh, &root_key, &wrong, "admin", now).is_err());
        assert_eq!(reg.trust_list().expect("list").0, 2, "nothing written");
        reg.rotate_key_certified(&fresh, &root_key, &certificate(&next, &root()), "admin", now)
            .expect("rotate");
        let rev = Revocation {
            kid: issuer().kid(),
            public_key: issuer().verifying_key(),
            since: at("2026-10-01T00:00:00Z"),
            issued_at: now,
        }
        .sign(&root())
        .expect("signs");
        reg.add_revocation(&root_key, &rev, "root-ceremony", now).expect("revoke");
        let (version, list) = reg.trust_list().expect("list");
        assert_eq!(version, 5, "each change moves the trust list on");
        let material = list.root();
        assert_eq!(material.root, Some(root_key));
        assert_eq!(material.certificates.len(), 2);
        assert_eq!((&material.certificates[0], &material.revocations), (&cert, &vec![rev]));
        let actions: Vec<AuditAction> =
            reg.audit_page(0, 10).expect("audit").into_iter().map(|e| e.action).collect();
        assert_eq!(
            actions,
            [
                AuditAction::KeyCreate,
                AuditAction::RootCertify,
                AuditAction::KeyRotate,
                AuditAction::RootCertify,
                AuditAction::RootRevoke
            ]
        );
        assert!(matches!(reg.verify_audit().expect("audit"), AuditCheck::Intact { entries: 5, .. }));
    }

    fn statements_of_another_root_or_for_unknown_keys_are_refused_and_write_nothing(db) {
        let mut reg = with_key(&db);
        let now = at("2026-11-01T00:00:00Z");
        let root_key = root().verifying_key();
        reg.add_certificate(&root_key, &certificate(&issuer(), &root()), "root-ceremony", now)
            .expect("certify");
        let other = IssuerKey::from_seed(&[4; 32]);
        for (signer_key, bytes, says) in [
            // Another root, however well formed its certificate.
            (other.verifying_key(), certificate(&issuer(), &other), "the registry's root is"),
            // A key the trust list does not hold.
            (root_key, certificate(&other, &root()), "not in the registry's trust list"),
            // Signed by someone else than the root it claims.
            (root_key, certificate(&issuer(), &other), "the root did not sign"),
        ] {
            let err = reg.add_certificate(&signer_key, &bytes, "root-ceremony", now).expect_err(says);
            assert!(err.to_string().contains(says), "{err}");
        }
        assert_eq!(reg.trust_list().expect("list").0, 2);
        assert_eq!(reg.root_material().expect("root").certificates.len(), 1);
    }

    fn cards_signed_by_lists_a_keys_cards_from_a_moment_on(db) {
        let mut reg = with_key(&db);
        let new = NewCard {
            holder: reference::holder(),
            permit: rescard_core::Permit::Work,
            document: Default::default(),
            validity: reference::validity(),
            passport_number: None,
            portrait: None,
        };
        let first = reg.issue(&new, &issuer(), "officer", at("2026-11-01T09:00:00Z")).expect("issue");
        let second = reg.issue(&new, &issuer(), "officer", at("2026-11-02T09:00:00Z")).expect("issue");
        let listed = reg.cards_signed_by(issuer().kid(), at("2026-11-02T00:00:00Z")).expect("list");
        assert_eq!(
            listed,
            [SignedCard { serial: second.card.serial(), issued_at: at("2026-11-02T09:00:00Z"), state: CardState::Active }]
        );
        assert_eq!(reg.cards_signed_by(issuer().kid(), at("2026-01-01T00:00:00Z")).expect("list").len(), 2);
        assert!(reg.cards_signed_by(root().kid(), at("2026-01-01T00:00:00Z")).expect("list").is_empty());
        assert_ne!(first.card.serial(), second.card.serial());
    }
}
