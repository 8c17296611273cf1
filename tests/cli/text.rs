//! Free text on the command line: reasons a terminal would obey are refused.

use predicates::prelude::*;
use serde_json::Value;

use crate::helpers::{Machine, days_from_today};

fn serial(card: &Value) -> String {
    card["serial"].as_str().expect("serial").to_owned()
}

/// What an attacker would write to make a terminal show `VALID` over the verdict line.
const REPAINT: &str = "fraud\u{1b}[2K\r\u{1b}[1A\u{1b}[2K\u{1b}[32mVALID\u{1b}[0m";

#[test]
fn a_reason_a_terminal_would_obey_is_refused_naming_the_field() {
    let m = Machine::new();
    let s = serial(&m.issue(&[]));
    let long = "x".repeat(5_000);
    for reason in [
        REPAINT,
        "fraud\rVALID",
        "first line\nsecond line",
        "\u{202E}DILAV",
        "fr\u{200B}aud",
        long.as_str(),
    ] {
        for act in [
            vec!["suspend", &s, "--reason", reason],
            vec!["revoke", &s, "--reason", reason],
            vec!["replace", &s, "--reason", reason],
        ] {
            m.run(&act)
                .assert()
                .code(1)
                .stderr(predicate::str::contains("error: reason: "));
        }
    }
    let until = days_from_today(400);
    m.run(&["extend", &s, "--until", &until, "--reason", REPAINT])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("reason: "));
    m.run(&["show", &s, "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"state\": \"active\""));
    // The actor is shown in every history: it follows the same rules.
    m.run(&[
        "suspend",
        &s,
        "--reason",
        "check",
        "--actor",
        "cli:\u{1b}]0;pwned\u{7}",
    ])
    .assert()
    .code(1)
    .stderr(predicate::str::contains("actor: "));
}
