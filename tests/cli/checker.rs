//! An offline checker's data at rest: what an attacker who can change its files would try, and what
//! the checker does instead of giving a verdict.

use predicates::prelude::*;
use rescard_core::trust_doc::TrustDocument;
use rescard_core::{IssuerKey, TrustList, TrustedKey};
use serde_json::Value;

use crate::fixtures;
use crate::helpers::Machine;

/// A time inside the fixtures' validity, an hour after their newest status was signed.
const CHECK_TIME: &str = "2027-01-15T12:00:00Z";
/// Five days later: the status (24 hours' worth) is stale.
const STALE_TIME: &str = "2027-01-20T12:00:00Z";

fn payload(name: &str) -> String {
    std::fs::read_to_string(fixtures::path(&format!("payloads/{name}.txt")))
        .expect("fixture")
        .trim()
        .to_owned()
}

fn foreign_key() -> IssuerKey {
    let pem = std::fs::read_to_string(fixtures::path("../keys/test/foreign.pem")).expect("pem");
    IssuerKey::from_pkcs8_pem(&pem).expect("key")
}

fn test_key() -> IssuerKey {
    let pem = std::fs::read_to_string(fixtures::path("../keys/test/issuer.pem")).expect("pem");
    IssuerKey::from_pkcs8_pem(&pem).expect("key")
}

/// The fixtures' trust list with the foreign key added, as an attacker would write it.
fn with_the_foreign_key() -> TrustList {
    let since = "2026-01-01T00:00:00Z".parse().expect("time");
    TrustList::new(vec![
        TrustedKey::active(test_key().verifying_key(), since),
        TrustedKey::active(foreign_key().verifying_key(), since),
    ])
    .expect("list")
}

/// `verify` refused before any verdict: exit 1, nothing on standard output, and why on standard error.
fn assert_refused(m: &Machine, input: &str, why: &str) {
    m.run(&["verify", input, "--at", CHECK_TIME])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(why));
}

#[test]
fn a_key_added_to_a_trust_json_beside_the_checker_is_not_trusted() {
    let m = Machine::fixture_checker(true);
    let (code, v) = m.verify(&payload("reference"), &["--at", CHECK_TIME]);
    assert_eq!((code, v["status_source"].as_str()), (0, Some("snapshot")));
    std::fs::write(
        m.data().join("trust.json"),
        with_the_foreign_key().to_json(),
    )
    .expect("write");
    let (code, v) = m.verify(&payload("foreign-key"), &["--at", CHECK_TIME]);
    assert_eq!((code, v["verdict"].as_str()), (21, Some("unknown_issuer")));
    assert_eq!(m.verify(&payload("reference"), &["--at", CHECK_TIME]).0, 0);
}

#[test]
fn a_trust_list_swapped_in_the_state_is_refused_without_a_verdict() {
    let m = Machine::fixture_checker(true);
    let path = m.data().join(rescard::checker::STATE_FILE);
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("state")).expect("json");
    // A list naming the foreign key, signed by it, in place of the one the checker accepted.
    let forged = TrustDocument {
        issued_at: "2027-01-01T00:00:00Z".parse().expect("time"),
        keys: with_the_foreign_key(),
    }
    .sign(&[&foreign_key()])
    .expect("signs");
    state["state"]["trust_list"] =
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, forged).into();
    std::fs::write(&path, state.to_string()).expect("write");
    assert_refused(&m, &payload("foreign-key"), "altered at rest");
    assert_refused(&m, &payload("reference"), "altered at rest");
}

#[test]
fn issuer_keys_in_the_working_directory_are_not_a_checkers() {
    let work = tempfile::tempdir().expect("work dir");
    std::fs::create_dir(work.path().join("keys")).expect("mkdir");
    std::fs::write(
        work.path().join("keys/keys.json"),
        with_the_foreign_key().to_json(),
    )
    .expect("keys.json");
    let run = |m: &Machine, keys_env: bool| {
        let mut cmd = assert_cmd::Command::cargo_bin("rescard").expect("binary");
        cmd.current_dir(work.path())
            .env_remove("RESCARD_DATA")
            .env_remove("RESCARD_KEYS")
            .arg("--data")
            .arg(m.data())
            .args([
                "verify",
                &payload("foreign-key"),
                "--json",
                "--at",
                CHECK_TIME,
            ]);
        if keys_env {
            cmd.env("RESCARD_KEYS", work.path().join("keys"));
        }
        cmd.output().expect("run")
    };
    // A checker: its own sealed list alone, with the default ./keys and with RESCARD_KEYS.
    let m = Machine::fixture_checker(false);
    for keys_env in [false, true] {
        let out = run(&m, keys_env);
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(
            (out.status.code(), v["verdict"].as_str()),
            (Some(21), Some("unknown_issuer"))
        );
    }
    // A directory that is neither a checker nor an issuing machine trusts nothing at all.
    let out = run(&Machine::empty(), false);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no trusted issuer keys"));
}

#[test]
fn an_older_status_file_put_back_is_refused() {
    let m = Machine::empty();
    let checker = rescard::checker::Checker::new(&m.data());
    let read = |rel: &str| std::fs::read(fixtures::path(rel)).expect("fixture");
    let trust = checker
        .accept_trust(
            &read("trust.cose"),
            rescard_core::Kid::parse_hex(crate::helpers::FIXTURE_KID)
                .map(rescard::checker::Anchor::Key),
        )
        .expect("trust");
    checker
        .accept_status(&read("status/full.cose"), &trust.status_keys)
        .expect("full");
    let status = m.data().join(rescard::checker::STATUS_FILE);
    let older = std::fs::read(&status).expect("status at 3");
    checker
        .accept_status(&read("status/delta.cose"), &trust.status_keys)
        .expect("delta");
    assert_eq!(m.verify(&payload("reference"), &["--at", CHECK_TIME]).0, 0);
    std::fs::write(&status, older).expect("put back");
    assert_refused(&m, &payload("reference"), "older than the sequence 5");
}

#[test]
fn a_status_file_deleted_after_a_sync_is_refused() {
    let m = Machine::fixture_checker(true);
    std::fs::remove_file(m.data().join(rescard::checker::STATUS_FILE)).expect("rm");
    assert_refused(&m, &payload("reference"), "is missing");
}

#[test]
fn require_fresh_has_its_own_exit_code_for_a_stale_or_missing_status() {
    let m = Machine::fixture_checker(true);
    let reference = payload("reference");
    let fresh = ["--at", CHECK_TIME, "--require-fresh"];
    assert_eq!(m.verify(&reference, &fresh).0, 0);
    // Stale: by default the answer stands, with its warning; a post that needs fresh data gets 3.
    m.run(&["verify", &reference, "--at", STALE_TIME])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("WARNING"));
    let (code, v) = m.verify(&reference, &["--at", STALE_TIME, "--require-fresh"]);
    assert_eq!((code, v["status_stale"].as_bool()), (3, Some(true)));
    m.run(&["verify", &reference, "--at", STALE_TIME, "--require-fresh"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with("VALID"))
        .stderr(predicate::str::contains("REFUSED (--require-fresh)"));
    // A forgery is a forgery, fresh or not.
    assert_eq!(
        m.verify(
            &payload("bad-signature"),
            &["--at", STALE_TIME, "--require-fresh"]
        )
        .0,
        20
    );

    // No snapshot at all: the card alone.
    let bare = Machine::fixture_checker(false);
    assert_eq!(bare.verify(&reference, &["--at", CHECK_TIME]).0, 0);
    let (code, v) = bare.verify(&reference, &fresh);
    assert_eq!((code, v["status_source"].as_str()), (3, Some("card")));
}

#[test]
fn sync_refuses_the_data_directory_of_an_issuing_machine() {
    Machine::new()
        .run(&["sync", "http://127.0.0.1:9"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("holds a registry"));
}
