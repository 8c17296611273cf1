use super::*;
use crate::trust_doc::{TrustDocError, TrustDocument};
use crate::{NoStatus, Verdict, reference, verify};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

fn root() -> IssuerKey {
    IssuerKey::from_seed(&[9; 32])
}

fn issuer() -> IssuerKey {
    IssuerKey::from_seed(&[1; 32])
}

fn certificate(key: &IssuerKey, usage: &[Usage]) -> Certificate {
    Certificate {
        kid: key.kid(),
        public_key: key.verifying_key(),
        not_before: at("2026-01-01T00:00:00Z"),
        not_after: at("2027-01-01T00:00:00Z"),
        usage: usage.to_vec(),
        issued_at: at("2026-01-01T00:00:00Z"),
    }
}

fn revocation(key: &IssuerKey, since: &str) -> Revocation {
    Revocation {
        kid: key.kid(),
        public_key: key.verifying_key(),
        since: at(since),
        issued_at: at("2026-09-01T00:00:00Z"),
    }
}

fn list(keys: &[&IssuerKey]) -> TrustList {
    TrustList::new(
        keys.iter()
            .map(|k| TrustedKey::active(k.verifying_key(), at("2026-01-01T00:00:00Z")))
            .collect(),
    )
    .expect("list")
}

#[test]
fn a_certificate_and_a_revocation_open_with_the_root_alone() {
    let cert = certificate(&issuer(), &[Usage::Cards, Usage::Status]);
    let bytes = cert.sign(&root()).expect("signs");
    assert_eq!(Certificate::open(&bytes, &root().verifying_key()), Ok(cert));
    let rev = revocation(&issuer(), "2026-08-01T00:00:00Z");
    let bytes = rev.sign(&root()).expect("signs");
    assert_eq!(Revocation::open(&bytes, &root().verifying_key()), Ok(rev));
    // The same statement signed by the issuer itself is not the root's.
    let forged = certificate(&issuer(), &[Usage::Cards])
        .sign(&issuer())
        .expect("signs");
    assert_eq!(
        Certificate::open(&forged, &root().verifying_key()),
        Err(RootError::NotByRoot("certificate"))
    );
    // A revocation is not a certificate, nor the other way round.
    assert!(matches!(
        Certificate::open(&bytes, &root().verifying_key()),
        Err(RootError::Malformed(_))
    ));
}

#[test]
fn every_byte_changed_in_a_certificate_is_refused() {
    let bytes = certificate(&issuer(), &[Usage::Cards])
        .sign(&root())
        .expect("signs");
    for i in 0..bytes.len() {
        let mut changed = bytes.clone();
        changed[i] ^= 0x01;
        assert!(
            Certificate::open(&changed, &root().verifying_key()).is_err(),
            "byte {i}"
        );
    }
}

#[test]
fn a_statement_with_fields_missing_extra_or_wrong_is_malformed() {
    let key = issuer();
    let good = |extra: Option<(&str, Value)>, drop: Option<&str>| {
        let mut fields = vec![
            ("type", text(CERTIFICATE)),
            ("kid", Value::Bytes(key.kid().0.to_vec())),
            (
                "public_key",
                Value::Bytes(key.verifying_key().as_bytes().to_vec()),
            ),
            ("not_before", seconds(at("2026-01-01T00:00:00Z"))),
            ("not_after", seconds(at("2027-01-01T00:00:00Z"))),
            ("usage", Value::Array(vec![text("cards")])),
            ("issued_at", seconds(at("2026-01-01T00:00:00Z"))),
        ];
        fields.retain(|(n, _)| Some(*n) != drop);
        fields.extend(extra);
        codec::sign1(encode(fields), &root()).expect("signs")
    };
    assert!(Certificate::open(&good(None, None), &root().verifying_key()).is_ok());
    for (bytes, says) in [
        (good(None, Some("usage")), "no `usage`"),
        (good(Some(("colour", text("red"))), None), "`colour`"),
        (
            good(Some(("kid", Value::Bytes(vec![0; 8]))), Some("kid")),
            "not the public key's",
        ),
        (
            good(
                Some(("usage", Value::Array(vec![text("everything")]))),
                Some("usage"),
            ),
            "not a usage",
        ),
        (
            good(
                Some(("not_after", seconds(at("2025-01-01T00:00:00Z")))),
                Some("not_after"),
            ),
            "ends before it begins",
        ),
        (
            good(
                Some(("usage", Value::Array(vec![text("cards"), text("cards")]))),
                Some("usage"),
            ),
            "named twice",
        ),
        (
            good(Some(("usage", Value::Array(vec![]))), Some("usage")),
            "no usage",
        ),
        (
            good(
                Some(("usage", Value::Array(vec![text("cards,status")]))),
                Some("usage"),
            ),
            "not a usage",
        ),
        (
            good(
                Some(("not_before", Value::Integer((-5).into()))),
                Some("not_before"),
            ),
            "not a time in seconds",
        ),
    ] {
        let err = Certificate::open(&bytes, &root().verifying_key()).expect_err(says);
        assert!(err.to_string().contains(says), "{err}");
    }
}

#[test]
fn a_card_is_trusted_within_its_keys_certificate_and_before_its_revocation() {
    let key = issuer();
    let statements = Statements {
        certificates: vec![certificate(&key, &[Usage::Cards])],
        revocations: vec![revocation(&key, "2026-08-01T00:00:00Z")],
    };
    let cards = statements.apply(&list(&[&key]), Usage::Cards);
    let now = at("2026-12-01T12:00:00Z");
    let signed = |when: &str| codec::encode(&reference::card(), at(when), &key).expect("signs");
    let before = verify(&signed("2026-07-31T23:00:00Z"), &cards, &NoStatus, now).expect("v");
    assert_eq!(before.verdict, Verdict::Valid, "{}", before.detail);
    let after = verify(&signed("2026-08-01T00:00:00Z"), &cards, &NoStatus, now).expect("v");
    assert_eq!(after.verdict, Verdict::UnknownIssuer);
    assert!(
        after
            .detail
            .contains("the root revoked it from 2026-08-01T00:00:00Z"),
        "{}",
        after.detail
    );
    let early = verify(&signed("2025-12-31T00:00:00Z"), &cards, &NoStatus, now).expect("v");
    assert!(
        early.detail.contains("begins at 2026-01-01"),
        "{}",
        early.detail
    );
    // The same key for the status: it has no certificate for that.
    let status = statements.apply(&list(&[&key]), Usage::Status);
    let any = verify(&signed("2026-03-01T00:00:00Z"), &status, &NoStatus, now).expect("v");
    assert_eq!(any.verdict, Verdict::UnknownIssuer);
    assert!(
        any.detail.contains("has not certified it for status"),
        "{}",
        any.detail
    );
}

fn document(keys: TrustList, issued_at: &str) -> TrustDocument {
    TrustDocument {
        issued_at: at(issued_at),
        keys,
    }
}

#[test]
fn under_a_root_only_a_certified_unrevoked_key_can_bring_a_trust_list() {
    let (key, thief) = (issuer(), IssuerKey::from_seed(&[6; 32]));
    let root_key = root().verifying_key();
    let cert = certificate(&key, &[Usage::Cards, Usage::Status])
        .sign(&root())
        .expect("signs");
    let material = RootMaterial {
        root: Some(root_key),
        certificates: vec![cert.clone()],
        revocations: Vec::new(),
    };
    let good = document(
        list(&[&key]).with_root(material.clone()),
        "2026-06-01T00:00:00Z",
    );
    let bytes = good.sign(&[&key]).expect("signs");
    let (opened, kid) = TrustDocument::open_rooted(&bytes, &root_key, &[]).expect("accepted");
    assert_eq!((opened, kid), (good, key.kid()));

    // The thief lists a key of their own and signs with it, and with the stolen key: their key has
    // no certificate, and the stolen one's signature alone would carry the list, so the root revokes
    // it first.
    let forged = document(
        list(&[&key, &thief]).with_root(material.clone()),
        "2026-10-01T00:00:00Z",
    );
    let only_theirs = forged.sign(&[&thief]).expect("signs");
    let err = TrustDocument::open_rooted(&only_theirs, &root_key, &[]).expect_err("refused");
    assert!(
        err.to_string().contains("has not certified it for status"),
        "{err}"
    );
    let revoked = revocation(&key, "2026-09-01T00:00:00Z")
        .sign(&root())
        .expect("signs");
    let both = forged.sign(&[&key, &thief]).expect("signs");
    let err = TrustDocument::open_rooted(&both, &root_key, std::slice::from_ref(&revoked))
        .expect_err("refused");
    assert!(matches!(err, TrustDocError::NotCertified(_)), "{err}");
    assert!(err.to_string().contains("revoked it from"), "{err}");

    // A list that names another root, or carries a certificate the root did not sign, is refused.
    let other = RootMaterial {
        root: Some(thief.verifying_key()),
        ..material.clone()
    };
    let bytes = document(list(&[&key]).with_root(other), "2026-06-01T00:00:00Z")
        .sign(&[&key])
        .expect("signs");
    assert!(matches!(
        TrustDocument::open_rooted(&bytes, &root_key, &[]),
        Err(TrustDocError::Root(RootError::OtherRoot { .. }))
    ));
    let self_made = RootMaterial {
        certificates: vec![
            certificate(&thief, &[Usage::Status])
                .sign(&thief)
                .expect("signs"),
        ],
        ..material
    };
    let bytes = document(list(&[&thief]).with_root(self_made), "2026-06-01T00:00:00Z")
        .sign(&[&thief])
        .expect("signs");
    assert!(matches!(
        TrustDocument::open_rooted(&bytes, &root_key, &[]),
        Err(TrustDocError::Root(RootError::NotByRoot("certificate")))
    ));
}

#[test]
fn a_list_without_a_root_signs_as_before_and_the_root_travels_unchanged() {
    let key = issuer();
    let plain = document(list(&[&key]), "2026-06-01T00:00:00Z");
    let bytes = plain.sign(&[&key]).expect("signs");
    // The unprotected header of a list without a root is the empty map, as it always was.
    assert_eq!(
        TrustDocument::open_self_signed(&bytes).expect("opens").0,
        plain
    );
    let material = RootMaterial {
        root: Some(root().verifying_key()),
        certificates: vec![
            certificate(&key, &[Usage::Status])
                .sign(&root())
                .expect("signs"),
        ],
        revocations: vec![
            revocation(&key, "2026-09-01T00:00:00Z")
                .sign(&root())
                .expect("signs"),
        ],
    };
    let rooted = document(
        list(&[&key]).with_root(material.clone()),
        "2026-06-01T00:00:00Z",
    );
    let (opened, _) =
        TrustDocument::open_self_signed(&rooted.sign(&[&key]).expect("signs")).expect("opens");
    assert_eq!(opened.keys.root(), &material);
}
