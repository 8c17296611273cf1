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
