//! docs/FORMAT.md is enough to verify a card with a standard COSE library in another language: the
//! Python example in docs/examples, using pycose, verifies the fixtures and refuses the forgeries.

use std::process::Command;

use crate::fixtures;

fn python_verify(payload: &str) -> std::process::Output {
    let script = fixtures::path("../docs/examples/verify_card.py");
    Command::new("python3")
        .arg(script)
        .arg(fixtures::path(&format!("payloads/{payload}.txt")))
        .arg(fixtures::path("trust.json"))
        .output()
        .expect("python3 runs (scripts/test installs what it needs)")
}

#[test]
fn an_independent_cose_library_verifies_our_cards_and_refuses_forgeries() {
    let probe = Command::new("python3")
        .args(["-c", "import pycose, cbor2, base45"])
        .output()
        .expect("python3");
    assert!(
        probe.status.success(),
        "the Python COSE libraries are missing: run scripts/test, or pip install pycose 'cbor2<6' base45"
    );
    let out = python_verify("reference");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let card: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(card["surname"], "ABDYKADYROVA-NURLANOVA");
    assert_eq!(card["valid_until"], "2027-11-30");
    let out = python_verify("native-name");
    let card: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(card["native_name"], "Иванова Ольга");
    assert_eq!(card["document"], "resident_card");
    let out = python_verify("interim");
    let card: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(card["document"], "interim");
    assert_eq!(card["valid_until"], "2027-01-31");
    for forged in ["altered-claims", "bad-signature", "foreign-key"] {
        assert_eq!(python_verify(forged).status.code(), Some(1), "{forged}");
    }
}

fn python_root_statement(name: &str) -> std::process::Output {
    Command::new("python3")
        .arg(fixtures::path("../docs/examples/verify_certificate.py"))
        .arg(fixtures::path("root/root.json"))
        .arg(fixtures::path(&format!("root/{name}.cose")))
        .output()
        .expect("python3 runs (scripts/test installs what it needs)")
}

#[test]
fn an_independent_cose_library_verifies_the_roots_certificates_and_refuses_forgeries() {
    let out = python_root_statement("certificate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(cert["type"], "rescard-certificate");
    assert_eq!(cert["kid"], crate::helpers::FIXTURE_KID);
    assert_eq!(cert["not_after"], "2027-11-01T00:00:00+00:00");
    assert_eq!(cert["usage"], serde_json::json!(["cards", "status"]));
    let out = python_root_statement("revocation");
    let rev: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(rev["since"], "2027-06-01T00:00:00+00:00");
    let out = python_root_statement("forged-certificate");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not signed by this root"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
