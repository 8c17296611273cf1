//! The key store's own tests, on key directories (the HSM is tested through the CLI, beside
//! SoftHSM2: `tests/cli/hsm.rs`).

use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use super::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

fn registry() -> Registry {
    Registry::open_in_memory().expect("registry")
}

#[test]
fn the_first_key_is_owner_only_and_trusted_by_the_registry() {
    let dir = tempfile::tempdir().expect("dir");
    let files = KeyDir::new(&dir.path().join("keys"));
    let keys = KeyStore::Dir(files.clone());
    let mut reg = registry();
    let now = at("2026-11-21T09:00:00Z");
    let Established::Created(kid) =
        establish(&mut reg, &keys, true, "setup", now).expect("establish")
    else {
        panic!("a new registry gets a new key")
    };
    let trusted = reg.trust_list().expect("list").1.keys()[0].clone();
    assert_eq!(trusted.kid, kid);
    let pem = files.pem_path(&trusted);
    assert_eq!(
        fs::metadata(&pem).expect("pem").permissions().mode() & 0o777,
        0o600
    );
    let mode = fs::metadata(files.path())
        .expect("dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    let before = fs::read(&pem).expect("read");
    assert_eq!(
        establish(&mut reg, &keys, true, "setup", now).expect("again"),
        Established::Already
    );
    assert_eq!(fs::read(&pem).expect("read"), before);
    assert_eq!(
        fs::read_dir(files.path()).expect("dir").count(),
        1,
        "no second key"
    );
    let ring = keyring(&mut reg, &keys, "setup", now).expect("ring");
    assert_eq!((ring.version, ring.active.kid()), (1, trusted.kid));
}

#[test]
fn without_a_key_nothing_is_made_unless_asked() {
    let dir = tempfile::tempdir().expect("dir");
    let files = KeyDir::new(dir.path());
    let keys = KeyStore::Dir(files.clone());
    let mut reg = registry();
    let err = keyring(&mut reg, &keys, "setup", at("2026-11-21T09:00:00Z"))
        .err()
        .expect("no keys");
    assert!(err.to_string().contains("rescard init"), "{err}");
    assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 0);
}

#[test]
fn a_key_readable_by_others_or_missing_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let files = KeyDir::new(dir.path());
    let keys = KeyStore::Dir(files.clone());
    let mut reg = registry();
    let now = at("2026-11-21T09:00:00Z");
    establish(&mut reg, &keys, true, "setup", now).expect("establish");
    let trusted = reg.trust_list().expect("list").1.keys()[0].clone();
    fs::set_permissions(files.pem_path(&trusted), fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let err = keyring(&mut reg, &keys, "setup", now)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("chmod 600"), "{err}");
    fs::remove_file(files.pem_path(&trusted)).expect("rm");
    let err = keyring(&mut reg, &keys, "setup", now)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("is missing"), "{err}");
}

#[test]
fn an_earlier_key_directorys_trust_list_is_taken_in_once_with_its_states() {
    let dir = tempfile::tempdir().expect("dir");
    let files = KeyDir::new(dir.path());
    let keys = KeyStore::Dir(files.clone());
    // What an earlier rescard left: two keys, the first verify-only, and keys.json.
    let old = keys.create(at("2026-01-01T00:00:00Z")).expect("key");
    let new = keys.create(at("2026-06-01T00:00:00Z")).expect("key");
    let old = TrustedKey {
        status: KeyStatus::VerifyOnly,
        not_after: Some(at("2026-06-01T00:00:00Z")),
        ..old
    };
    let legacy = TrustList::new(vec![old, new.clone()]).expect("list");
    fs::write(dir.path().join(TRUST_FILE), legacy.to_json()).expect("keys.json");
    let mut reg = registry();
    let now = at("2026-11-21T09:00:00Z");
    assert_eq!(
        establish(&mut reg, &keys, true, "setup", now).expect("establish"),
        Established::Imported(2)
    );
    assert_eq!(reg.trust_list().expect("list").1, legacy);
    let ring = keyring(&mut reg, &keys, "setup", now).expect("ring");
    assert_eq!((ring.active.kid(), ring.signers.len()), (new.kid, 1));
    // From now on the registry's list is the one: keys.json is not read again.
    let rotated = rotate(&mut reg, &keys, None, "admin", now).expect("rotate");
    assert_eq!(
        establish(&mut reg, &keys, true, "setup", now).expect("again"),
        Established::Already
    );
    assert_eq!(
        keyring(&mut reg, &keys, "setup", now)
            .expect("ring")
            .active
            .kid(),
        rotated.kid
    );
}

#[test]
fn a_rotated_key_is_published_before_it_signs() {
    let dir = tempfile::tempdir().expect("dir");
    let files = KeyDir::new(dir.path());
    let keys = KeyStore::Dir(files.clone());
    let mut reg = registry();
    let now = at("2026-11-21T09:00:00Z");
    establish(&mut reg, &keys, true, "setup", now).expect("establish");
    let first = keyring(&mut reg, &keys, "setup", now)
        .expect("ring")
        .active
        .kid();
    let fresh = rotate(&mut reg, &keys, None, "admin", now).expect("rotate");
    let ring = keyring(&mut reg, &keys, "setup", now).expect("ring");
    assert_eq!(ring.active.kid(), fresh.kid, "trusted at once");
    assert_eq!(ring.signer(now).kid(), first, "the old key signs meanwhile");
    let start = now + rescard_store::ACTIVATION_DELAY;
    assert_eq!(ring.signer(start).kid(), fresh.kid);
    // Retired early, the old key signs nothing, not even before the new key's start, and its
    // private key is gone.
    let old = ring.trust.keys()[0].clone();
    assert_eq!(
        retire(&mut reg, &keys, first, "admin", now).expect("retire"),
        (1, true)
    );
    assert!(!files.pem_path(&old).exists());
    let ring = keyring(&mut reg, &keys, "setup", now).expect("ring");
    assert_eq!(ring.signer(now).kid(), fresh.kid);
}

#[test]
fn a_refused_rotation_leaves_no_key_file() {
    let dir = tempfile::tempdir().expect("dir");
    let files = KeyDir::new(dir.path());
    let keys = KeyStore::Dir(files.clone());
    let mut reg = registry();
    let now = at("2026-11-21T09:00:00Z");
    establish(&mut reg, &keys, true, "setup", now).expect("establish");
    assert!(rotate(&mut reg, &keys, None, "", now).is_err(), "no actor");
    assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 1);
    assert_eq!(reg.trust_list().expect("list").0, 1);
}

#[test]
fn under_a_root_the_active_key_must_be_certified_and_a_revoked_key_signs_nothing() {
    use rescard_core::root::{Certificate, Revocation, Usage};
    let dir = tempfile::tempdir().expect("dir");
    let keys = KeyStore::Dir(KeyDir::new(dir.path()));
    let mut reg = registry();
    let now = at("2026-11-21T09:00:00Z");
    establish(&mut reg, &keys, true, "setup", now).expect("establish");
    let first = reg.trust_list().expect("list").1.keys()[0].clone();
    let root = IssuerKey::from_seed(&[0x33; 32]);
    let cert = |key: &TrustedKey, usage: Vec<Usage>| {
        Certificate {
            kid: key.kid,
            public_key: key.public_key,
            not_before: now,
            not_after: at("2027-06-01T00:00:00Z"),
            usage,
            issued_at: now,
        }
        .sign(&root)
        .expect("signs")
    };
    // Certified for cards alone: the service would sign snapshots no checkpoint accepts.
    reg.add_certificate(
        &root.verifying_key(),
        &cert(&first, vec![Usage::Cards]),
        "root",
        now,
    )
    .expect("certify");
    let err = keyring(&mut reg, &keys, "setup", now)
        .err()
        .expect("refused");
    assert!(
        err.to_string()
            .contains("no certificate from the registry's root for status"),
        "{err}"
    );
    reg.add_certificate(
        &root.verifying_key(),
        &cert(&first, vec![Usage::Status]),
        "root",
        now,
    )
    .expect("certify");
    let ring = keyring(&mut reg, &keys, "setup", now).expect("ring");
    assert_eq!(ring.active.kid(), first.kid);
    // Under the root a rotation needs it; with it, the new key is certified, and the old one, once
    // revoked, signs nothing more: not the trust list, not in the moments before the new key begins.
    assert!(rotate(&mut reg, &keys, None, "admin", now).is_err());
    let root_dir = tempfile::tempdir().expect("dir");
    let root_store = KeyStore::Dir(KeyDir::new(root_dir.path()));
    // As `rescard root init` leaves it: the one key of its directory.
    let root_pem =
        KeyDir::new(root_dir.path()).pem_path(&TrustedKey::active(root.verifying_key(), now));
    std::fs::write(&root_pem, root.to_pkcs8_pem().expect("pem").as_bytes()).expect("root");
    std::fs::set_permissions(&root_pem, fs::Permissions::from_mode(0o600)).expect("chmod");
    let rooted = crate::root::RootedRotation {
        store: &root_store,
        not_after: at("2027-06-01T00:00:00Z"),
        usage: vec![Usage::Cards, Usage::Status],
    };
    // A signing key certified for cards alone would sign snapshots nobody accepts: refused first.
    let cards_only = crate::root::RootedRotation {
        usage: vec![Usage::Cards],
        ..rooted
    };
    let err = rotate(&mut reg, &keys, Some(&cards_only), "admin", now).expect_err("refused");
    assert!(err.to_string().contains("cards and status"), "{err}");
    let rooted = crate::root::RootedRotation {
        usage: vec![Usage::Cards, Usage::Status],
        ..cards_only
    };
    let fresh = rotate(&mut reg, &keys, Some(&rooted), "admin", now).expect("rotate");
    assert_eq!(
        keyring(&mut reg, &keys, "setup", now)
            .expect("ring")
            .signers
            .len(),
        1
    );
    let revoked = Revocation {
        kid: first.kid,
        public_key: first.public_key,
        since: now,
        issued_at: now,
    }
    .sign(&root)
    .expect("signs");
    reg.add_revocation(&root.verifying_key(), &revoked, "root", now)
        .expect("revoke");
    let ring = keyring(&mut reg, &keys, "setup", now).expect("ring");
    assert!(ring.signers.is_empty(), "a revoked key co-signs nothing");
    assert_eq!(ring.signer(now).kid(), fresh.kid);
    assert_eq!(
        ring.cards.keys()[0]
            .root_limit
            .as_ref()
            .and_then(|l| l.revoked_since),
        Some(now)
    );
}
