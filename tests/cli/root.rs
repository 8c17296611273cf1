//! The root of trust, end to end: a root made offline certifies the issuer key; checkpoints pin
//! the root; an issuer key is stolen, and the ceremony (rotate under the root, revoke since the
//! theft, list what to issue again) leaves the thief nothing a checkpoint accepts.

use chrono::{DateTime, SecondsFormat, Utc};
use predicates::prelude::*;
use predicates::str::contains;
use rescard::checker::Checker;
use rescard_core::trust_doc::TrustDocument;
use rescard_core::{IssuerKey, TrustList, TrustedKey, reference};
use serde_json::Value;

use crate::helpers::{Machine, days_from_today, serve};

fn active_kid(m: &Machine) -> String {
    let list: Value = serde_json::from_str(&m.stdout(&["keys", "list", "--json"])).expect("json");
    list.as_array()
        .expect("array")
        .iter()
        .find(|k| k["status"] == "active")
        .expect("an active key")["kid"]
        .as_str()
        .expect("kid")
        .to_owned()
}

/// `verify --json` on `m`: the verdict and its detail.
fn verdict(m: &Machine, payload: &str) -> (String, String) {
    let (_, json) = m.verify(payload, &[]);
    (
        json["verdict"].as_str().expect("verdict").to_owned(),
        json["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

fn payload(card: &Value) -> String {
    card["payload"].as_str().expect("payload").to_owned()
}

/// The issuing machine's one private key file: what a thief copies.
fn steal(m: &Machine) -> IssuerKey {
    let pem = std::fs::read_dir(m.keys())
        .expect("keys")
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "pem"))
        .expect("a key file")
        .path();
    IssuerKey::from_pkcs8_pem(&std::fs::read_to_string(pem).expect("pem")).expect("key")
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[test]
fn a_stolen_issuer_key_signs_nothing_a_checkpoint_under_the_root_accepts() {
    let m = Machine::new();
    let root_key = m.path("usb/root");
    let root_key = root_key.to_str().expect("path");
    let root_file = m.path("root.json");
    let root_file = root_file.to_str().expect("path");
    let not_after = days_from_today(180);

    // The ceremony: the root made offline, the first issuer key certified.
    m.run(&["root", "init", "--root-key", root_key, "--out", root_file])
        .assert()
        .success()
        .stdout(contains("fingerprint"));
    let first = active_kid(&m);
    // Without the root's certificate, a rotation under the root is refused; then the first key.
    m.run(&[
        "root",
        "certify",
        &first,
        "--not-after",
        &not_after,
        "--root-key",
        root_key,
    ])
    .assert()
    .success()
    .stdout(contains(format!(
        "key {first} certified for cards,status,audit"
    )));
    m.run(&["keys", "rotate"])
        .assert()
        .failure()
        .stderr(contains("must be certified as it is made"));

    let before_theft = m.issue(&[]);
    let service = serve(&m);
    let checkpoint = Machine::empty();
    checkpoint
        .run(&["sync", &service.url, "--root", root_file])
        .assert()
        .success();
    // A checkpoint that still pins the key, as before the root, keeps working until it moves.
    let pinned = Machine::empty();
    pinned
        .run(&["sync", &service.url, "--pin", &first])
        .assert()
        .success();
    assert_eq!(verdict(&checkpoint, &payload(&before_theft)).0, "valid");

    // The theft. The thief signs a card, and a trust list adding a key of their own.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let theft = Utc::now();
    let stolen = steal(&m);
    let forged_card =
        rescard_core::codec::encode(&reference::card(), Utc::now(), &stolen).expect("signs");
    let thief = IssuerKey::from_seed(&[66; 32]);
    let checkpoint_trust = Checker::new(&checkpoint.data())
        .trust()
        .expect("trust")
        .expect("held");
    let mut keys = checkpoint_trust.doc.keys.keys().to_vec();
    keys.push(TrustedKey::active(thief.verifying_key(), theft));
    let forged_list = TrustDocument {
        issued_at: Utc::now(),
        keys: TrustList::new(keys)
            .expect("list")
            .with_root(checkpoint_trust.doc.keys.root().clone()),
    }
    .sign(&[&stolen, &thief])
    .expect("signs");
    // Meanwhile the office issued one more card with the key, after the theft.
    let after_theft = m.issue(&[]);

    // The response: a new key, certified as it is made; the stolen one revoked since the theft.
    m.run(&[
        "keys",
        "rotate",
        "--root-key",
        root_key,
        "--not-after",
        &not_after,
    ])
    .assert()
    .success();
    let second = active_kid(&m);
    assert_ne!(second, first);
    m.run(&[
        "root",
        "revoke",
        &first,
        "--since",
        &rfc3339(theft),
        "--root-key",
        root_key,
    ])
    .assert()
    .success()
    .stderr(contains("cards signed-by"));
    let to_reissue = m.stdout(&[
        "cards",
        "signed-by",
        &first,
        "--since",
        &rfc3339(theft),
        "--json",
    ]);
    let to_reissue: Value = serde_json::from_str(&to_reissue).expect("json");
    let serials: Vec<&str> = to_reissue
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["serial"].as_str().expect("serial"))
        .collect();
    assert_eq!(serials, [after_theft["serial"].as_str().expect("serial")]);
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    let after_rotation = m.issue(&[]);

    checkpoint
        .run(&["sync", &service.url])
        .assert()
        .success()
        .stdout(contains("2 keys (1 active, 1 verify-only"));
    assert_eq!(verdict(&checkpoint, &payload(&before_theft)).0, "valid");
    assert_eq!(verdict(&checkpoint, &payload(&after_rotation)).0, "valid");
    for card in [forged_card.clone(), payload(&after_theft)] {
        let (verdict, detail) = verdict(&checkpoint, &card);
        assert_eq!(verdict, "unknown_issuer", "{detail}");
        assert!(detail.contains("the root revoked it from"), "{detail}");
    }
    // The issuing side says the same.
    assert_eq!(verdict(&m, &forged_card).0, "unknown_issuer");

    // The thief's trust list is refused, and the checkpoint keeps the one it had.
    let err = Checker::new(&checkpoint.data())
        .accept_trust(&forged_list, None)
        .expect_err("refused");
    assert!(
        format!("{err:#}").contains("not signed by an issuer key the pinned root trusts"),
        "{err:#}"
    );
    assert_eq!(verdict(&checkpoint, &payload(&after_rotation)).0, "valid");

    // The pinned checkpoint moves to the root, and from then on judges as the others do.
    pinned
        .run(&["sync", &service.url, "--root", root_file])
        .assert()
        .success();
    assert_eq!(verdict(&pinned, &forged_card).0, "unknown_issuer");
    assert_eq!(verdict(&pinned, &payload(&before_theft)).0, "valid");
    drop(service);
}

#[test]
fn a_root_is_given_by_file_or_fingerprint_and_a_wrong_one_is_refused() {
    let m = Machine::new();
    let root_key = m.path("usb/root");
    let root_key = root_key.to_str().expect("path");
    let root_file = m.path("root.json");
    let root_file = root_file.to_str().expect("path");
    m.run(&["root", "init", "--root-key", root_key, "--out", root_file])
        .assert()
        .success();
    // One root per store, one root file per path.
    m.run(&[
        "root",
        "init",
        "--root-key",
        root_key,
        "--out",
        &format!("{root_file}.2"),
    ])
    .assert()
    .failure()
    .stderr(contains("already holds a key"));
    let kid = active_kid(&m);
    let service = serve(&m);
    // Before the root certifies any key, its list names no root.
    let early = Machine::empty();
    let json: Value = serde_json::from_str(&std::fs::read_to_string(root_file).expect("root file"))
        .expect("json");
    let fingerprint = json["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned();
    early
        .run(&["sync", &service.url, "--root", &fingerprint])
        .assert()
        .failure()
        .stderr(contains("names no root"));
    m.run(&[
        "root",
        "certify",
        &kid,
        "--not-after",
        &days_from_today(30),
        "--root-key",
        root_key,
    ])
    .assert()
    .success();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let by_fingerprint = Machine::empty();
    by_fingerprint
        .run(&["sync", &service.url, "--root", &fingerprint])
        .assert()
        .success();
    let card = m.issue(&[]);
    assert_eq!(verdict(&by_fingerprint, &payload(&card)).0, "valid");

    // Another root: refused by fingerprint, by file, and on the issuing side.
    let other = Machine::new();
    let other_key = other.path("root");
    let other_file = other.path("root.json");
    other
        .run(&[
            "root",
            "init",
            "--root-key",
            other_key.to_str().expect("path"),
            "--out",
            other_file.to_str().expect("path"),
        ])
        .assert()
        .success();
    Machine::empty()
        .run(&[
            "sync",
            &service.url,
            "--root",
            other_file.to_str().expect("path"),
        ])
        .assert()
        .failure()
        .stderr(contains("not the pinned root"));
    by_fingerprint
        .run(&[
            "sync",
            &service.url,
            "--root",
            other_file.to_str().expect("path"),
        ])
        .assert()
        .failure()
        .stderr(contains("to trust another root, move"));
    m.run(&[
        "root",
        "certify",
        &kid,
        "--not-after",
        &days_from_today(30),
        "--root-key",
        other_key.to_str().expect("path"),
    ])
    .assert()
    .failure()
    .stderr(contains("but the registry's root is"));
    // An altered root file is refused before anything is fetched.
    let altered = m.path("altered.json");
    std::fs::write(
        &altered,
        std::fs::read_to_string(root_file)
            .expect("read")
            .replace(&fingerprint[..4], "0000"),
    )
    .expect("write");
    Machine::empty()
        .run(&[
            "sync",
            &service.url,
            "--root",
            altered.to_str().expect("path"),
        ])
        .assert()
        .failure()
        .stderr(contains("was altered").or(contains("not its public key's")));
    drop(service);
}
