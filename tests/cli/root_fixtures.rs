//! The root of trust's test vectors in `fixtures/root/` (see `fixtures/README.md`): a test root
//! (`keys/test/root.pem`), its root file, a certificate and a revocation of the test issuer key, a
//! certificate the root did not sign, and a trust list that carries them.

use chrono::{DateTime, Utc};
use rescard_core::root::{Certificate, Revocation, RootMaterial, Usage};
use rescard_core::trust_doc::TrustDocument;
use rescard_core::{IssuerKey, TrustList, TrustedKey};

/// The test root's seed: 32 bytes of 0x33.
pub const ROOT_SEED: [u8; 32] = [0x33; 32];

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

/// The certificate of the test issuer key the fixtures carry.
pub fn certificate(issuer: &IssuerKey) -> Certificate {
    Certificate {
        kid: issuer.kid(),
        public_key: issuer.verifying_key(),
        not_before: at("2026-11-01T00:00:00Z"),
        not_after: at("2027-11-01T00:00:00Z"),
        usage: vec![Usage::Cards, Usage::Status],
        issued_at: at("2026-11-01T00:00:00Z"),
    }
}

/// The revocation of the test issuer key the fixtures carry.
pub fn revocation(issuer: &IssuerKey) -> Revocation {
    Revocation {
        kid: issuer.kid(),
        public_key: issuer.verifying_key(),
        since: at("2027-06-01T00:00:00Z"),
        issued_at: at("2027-05-01T00:00:00Z"),
    }
}

/// Every file, by path relative to the repository root.
pub fn generate(issuer: &IssuerKey, foreign: &IssuerKey) -> Vec<(String, Vec<u8>)> {
    let root = IssuerKey::from_seed(&ROOT_SEED);
    let cert = certificate(issuer).sign(&root).expect("signs");
    let rev = revocation(issuer).sign(&root).expect("signs");
    let forged = certificate(issuer).sign(foreign).expect("signs");
    let trust = TrustList::new(vec![TrustedKey::active(
        issuer.verifying_key(),
        at("2026-11-01T00:00:00Z"),
    )])
    .expect("trust")
    .with_root(RootMaterial {
        root: Some(root.verifying_key()),
        certificates: vec![cert.clone()],
        revocations: vec![rev.clone()],
    });
    let trust = TrustDocument {
        issued_at: at("2027-05-01T00:00:00Z"),
        keys: trust,
    }
    .sign(&[issuer])
    .expect("signs");
    vec![
        (
            "keys/test/root.pem".into(),
            root.to_pkcs8_pem().expect("pem").as_bytes().to_vec(),
        ),
        (
            "fixtures/root/root.json".into(),
            rescard::root::root_file_json(&root.verifying_key()).into_bytes(),
        ),
        ("fixtures/root/certificate.cose".into(), cert),
        ("fixtures/root/revocation.cose".into(), rev),
        ("fixtures/root/forged-certificate.cose".into(), forged),
        ("fixtures/root/trust.cose".into(), trust),
    ]
}

#[test]
fn the_committed_root_statements_open_with_the_committed_root_file() {
    let root =
        rescard::root::read_root_file(&crate::fixtures::path("root/root.json")).expect("root");
    let read =
        |name: &str| std::fs::read(crate::fixtures::path(&format!("root/{name}"))).expect(name);
    let issuer = IssuerKey::from_seed(&[0x11; 32]);
    assert_eq!(
        Certificate::open(&read("certificate.cose"), &root).expect("certificate"),
        certificate(&issuer)
    );
    assert_eq!(
        Revocation::open(&read("revocation.cose"), &root).expect("revocation"),
        revocation(&issuer)
    );
    assert!(Certificate::open(&read("forged-certificate.cose"), &root).is_err());
    // The trust list opens under the root, with the committed statements; under them the reference
    // card (signed 2026-11-21) verifies, and the same card signed after 2027-06-01 does not.
    let (doc, kid) = TrustDocument::open_rooted(&read("trust.cose"), &root, &[]).expect("opens");
    assert_eq!(kid, issuer.kid());
    assert_eq!(doc.keys.root().certificates, [read("certificate.cose")]);
    let statements = doc.keys.root().open(&root).expect("statements");
    let cards = statements.apply(&doc.keys, Usage::Cards);
    let now: DateTime<Utc> = at("2027-07-01T00:00:00Z");
    let reference =
        std::fs::read_to_string(crate::fixtures::path("payloads/reference.txt")).expect("payload");
    let v =
        rescard_core::verify(reference.trim(), &cards, &rescard_core::NoStatus, now).expect("v");
    assert_eq!(v.verdict, rescard_core::Verdict::Valid, "{}", v.detail);
    let late = rescard_core::codec::encode(
        &rescard_core::reference::card(),
        at("2027-06-15T00:00:00Z"),
        &issuer,
    )
    .expect("signs");
    let v = rescard_core::verify(&late, &cards, &rescard_core::NoStatus, now).expect("v");
    assert_eq!(
        v.verdict,
        rescard_core::Verdict::UnknownIssuer,
        "{}",
        v.detail
    );
}
