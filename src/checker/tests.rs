use std::os::unix::fs::PermissionsExt as _;

use chrono::{DateTime, Utc};
use rescard_core::status::Snapshot;
use rescard_core::trust_doc::TrustDocument;
use rescard_core::{IssuerKey, KeyStatus, TrustList, TrustedKey};

use super::state::{HeldStatus, STATE_FILE, State, StateFiles};
use super::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

fn issuer() -> IssuerKey {
    IssuerKey::from_seed(&[7; 32])
}

fn list(keys: Vec<TrustedKey>, issued_at: &str) -> TrustDocument {
    TrustDocument {
        issued_at: at(issued_at),
        keys: TrustList::new(keys).expect("list"),
    }
}

fn signed_list() -> Vec<u8> {
    list(
        vec![TrustedKey::active(
            issuer().verifying_key(),
            at("2026-01-01T00:00:00Z"),
        )],
        "2026-11-01T00:00:00Z",
    )
    .sign(&[&issuer()])
    .expect("signs")
}

fn snapshot(sequence: u64, since: Option<u64>, issued_at: &str) -> Vec<u8> {
    Snapshot {
        sequence,
        since,
        issued_at: at(issued_at),
        max_age_seconds: 86_400,
        entries: vec![],
    }
    .sign(&issuer())
    .expect("signs")
}

/// A checker that synced the issuer's list and a status at sequence 3, then 5.
fn synced() -> (tempfile::TempDir, Checker) {
    let dir = tempfile::tempdir().expect("dir");
    let checker = Checker::new(dir.path());
    let trust = checker
        .accept_trust(&signed_list(), Some(Anchor::Key(issuer().kid())))
        .expect("first sync");
    checker
        .accept_status(
            &snapshot(3, None, "2027-01-15T06:00:00Z"),
            &trust.status_keys,
        )
        .expect("full");
    checker
        .accept_status(
            &snapshot(5, Some(3), "2027-01-15T07:00:00Z"),
            &trust.status_keys,
        )
        .expect("delta");
    (dir, checker)
}

fn refusal(checker: &Checker) -> String {
    format!("{:#}", checker.load().expect_err("refused"))
}

#[test]
fn a_synced_checker_loads_what_it_accepted_owner_only() {
    let (dir, checker) = synced();
    let held = checker.load().expect("load").expect("a checker");
    assert_eq!(held.anchor, Anchor::Key(issuer().kid()));
    assert_eq!(held.status.expect("status").sequence(), 5);
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .expect("meta")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700);
    for file in [STATE_FILE, SECRET_FILE, STATUS_FILE] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    assert!(
        Checker::new(&dir.path().join("nothing"))
            .load()
            .expect("none")
            .is_none()
    );
}

#[test]
fn any_edit_of_the_state_breaks_its_seal() {
    let (dir, checker) = synced();
    let path = dir.path().join(STATE_FILE);
    let original = std::fs::read_to_string(&path).expect("state");
    let foreign = IssuerKey::from_seed(&[9; 32]);
    let forged_list = list(
        vec![
            TrustedKey::active(issuer().verifying_key(), at("2026-01-01T00:00:00Z")),
            TrustedKey::active(foreign.verifying_key(), at("2026-01-01T00:00:00Z")),
        ],
        "2026-12-01T00:00:00Z",
    )
    .sign(&[&foreign])
    .expect("signs");
    let value: serde_json::Value = serde_json::from_str(&original).expect("json");
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<Edit> = vec![
        Box::new(|v| v["state"]["status"]["sequence"] = 3.into()),
        Box::new(|v| v["state"]["status"] = serde_json::Value::Null),
        Box::new(move |v| {
            v["state"]["trust_list"] =
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &forged_list)
                    .into()
        }),
        Box::new(|v| v["mac"] = "00".repeat(32).into()),
    ];
    for edit in edits {
        let mut edited = value.clone();
        edit(&mut edited);
        std::fs::write(&path, edited.to_string()).expect("write");
        assert!(refusal(&checker).contains("altered at rest"), "{edited}");
    }
    std::fs::write(&path, "{not json").expect("write");
    assert!(refusal(&checker).contains("altered at rest"));
    std::fs::write(&path, &original).expect("restore");
    assert!(checker.load().is_ok());
}

#[test]
fn a_trust_list_sealed_with_the_secret_must_still_verify_by_itself() {
    let (dir, checker) = synced();
    let files = StateFiles::new(dir.path());
    let mut state = files.read().expect("read").expect("state");
    // Whoever holds the secret can seal anything; a list whose bytes were edited still fails its
    // signature, and one signed by a key it does not list is no list.
    let i = state.trust.len() / 2;
    state.trust[i] ^= 0x01;
    files.write(&state).expect("reseal");
    assert!(refusal(&checker).contains("no longer verifies"));
}

#[test]
fn an_older_missing_or_damaged_status_file_is_refused() {
    let (dir, checker) = synced();
    let status = dir.path().join(STATUS_FILE);
    let trust = checker.trust().expect("trust").expect("held").status_keys;
    // An older snapshot, genuinely signed, put back by hand.
    status_file::write(&status, vec![snapshot(3, None, "2027-01-15T06:00:00Z")]).expect("w");
    let err = refusal(&checker);
    assert!(err.contains("older than the sequence 5"), "{err}");
    std::fs::remove_file(&status).expect("rm");
    let err = refusal(&checker);
    assert!(err.contains("is missing"), "{err}");
    // With the file gone, a sync still refuses to go backwards.
    let err = checker
        .accept_status(&snapshot(4, None, "2027-01-15T06:30:00Z"), &trust)
        .expect_err("backwards");
    assert!(format!("{err:#}").contains("backwards"), "{err:#}");
    std::fs::write(&status, b"\x82\x41").expect("damage");
    assert!(refusal(&checker).contains("damaged"));
    // A newer full snapshot heals it.
    checker
        .accept_status(&snapshot(6, None, "2027-01-15T08:00:00Z"), &trust)
        .expect("full");
    assert_eq!(
        checker
            .load()
            .expect("load")
            .expect("held")
            .status
            .map(|v| v.sequence()),
        Some(6)
    );
}

#[test]
fn a_status_newer_than_the_state_records_is_what_a_cut_off_sync_leaves_and_is_used() {
    let (dir, checker) = synced();
    let files = StateFiles::new(dir.path());
    let mut state: State = files.read().expect("read").expect("state");
    state.status = Some(HeldStatus {
        sequence: 3,
        issued_at: at("2027-01-15T06:00:00Z"),
    });
    files.write(&state).expect("write");
    let held = checker.load().expect("load").expect("held");
    assert_eq!(held.status.map(|v| v.sequence()), Some(5));
}

#[test]
fn the_secret_and_the_directory_must_be_the_owners_alone() {
    let (dir, checker) = synced();
    let secret = dir.path().join(SECRET_FILE);
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(refusal(&checker).contains("other users"));
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    assert!(refusal(&checker).contains("chmod 700"));
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::remove_file(&secret).expect("rm");
    assert!(refusal(&checker).contains("secret"));
}

#[test]
fn a_deleted_state_or_the_files_of_an_older_rescard_are_not_trusted() {
    let (dir, checker) = synced();
    std::fs::remove_file(dir.path().join(STATE_FILE)).expect("rm");
    assert!(refusal(&checker).contains("was deleted"));

    let old = tempfile::tempdir().expect("dir");
    let keys = list(
        vec![TrustedKey::active(
            issuer().verifying_key(),
            at("2026-01-01T00:00:00Z"),
        )],
        "2026-11-01T00:00:00Z",
    );
    std::fs::write(old.path().join("trust.json"), keys.keys.to_json()).expect("write");
    let legacy = Checker::new(old.path());
    assert!(refusal(&legacy).contains("older rescard"));
    // The next sync needs the pin again, and then the unsealed files go.
    assert!(legacy.accept_trust(&signed_list(), None).is_err());
    legacy
        .accept_trust(&signed_list(), Some(Anchor::Key(issuer().kid())))
        .expect("pinned");
    assert!(!old.path().join("trust.json").exists());
    assert!(legacy.load().expect("load").is_some());
}

#[test]
fn a_list_that_does_not_verify_by_itself_is_not_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let checker = Checker::new(dir.path());
    checker
        .accept_trust(&signed_list(), Some(Anchor::Key(issuer().kid())))
        .expect("first");
    // Signed by the trusted key, but listing only a key that is retired: nothing would verify it.
    let mut retired = TrustedKey::active(issuer().verifying_key(), at("2026-01-01T00:00:00Z"));
    retired.status = KeyStatus::Retired;
    let other = IssuerKey::from_seed(&[8; 32]);
    let bytes = list(
        vec![
            retired,
            TrustedKey::active(other.verifying_key(), at("2026-01-01T00:00:00Z")),
        ],
        "2026-12-01T00:00:00Z",
    )
    .sign(&[&issuer()])
    .expect("signs");
    assert!(checker.accept_trust(&bytes, None).is_err());
    assert_eq!(
        checker.trust().expect("trust").expect("held").doc.issued_at,
        at("2026-11-01T00:00:00Z")
    );
}
