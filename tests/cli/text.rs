//! Free text on the command line: reasons a terminal would obey are refused, text an older registry
//! holds is printed escaped, and a reader that goes away ends the output without a panic.

use std::io::Read as _;
use std::process::Stdio;

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

/// Whether `text` holds a character a terminal obeys or hides (other than the line breaks of a
/// listing).
fn holds_raw_controls(text: &str) -> bool {
    text.chars()
        .any(|c| c != '\n' && rescard_core::domain::text::is_hidden_or_control(c))
}

#[test]
fn text_already_in_a_registry_is_printed_escaped() {
    let m = Machine::new();
    let card = m.issue(&[]);
    let s = serial(&card);
    m.run(&["suspend", &s, "--reason", "check"])
        .assert()
        .success();
    m.run(&["token", "create", "--role", "police", "--name", "p1"])
        .assert()
        .success();
    // What a registry written before reasons were checked may hold.
    let hostile = format!("{REPAINT}\u{202E}\u{200B}");
    let conn = rusqlite::Connection::open(m.data().join("registry.sqlite")).expect("open");
    conn.execute(
        "UPDATE cards SET state_reason = ?1 WHERE serial = ?2",
        rusqlite::params![hostile, s],
    )
    .expect("reason");
    conn.execute(
        "INSERT INTO audit (seq, at, actor, action, serial, details, prev_hash, hash)
         SELECT MAX(seq) + 1, '2027-01-01T00:00:00Z', ?1, 'suspend', ?2, ?3, '', '' FROM audit",
        rusqlite::params![
            hostile,
            s,
            serde_json::json!({ "reason": hostile }).to_string()
        ],
    )
    .expect("history");
    conn.execute("UPDATE tokens SET created_by = ?1", [&hostile])
        .expect("token");
    drop(conn);

    let payload = card["payload"].as_str().expect("payload");
    for args in [
        vec!["show", &s],
        vec!["show", &s, "--json"],
        vec!["verify", payload],
        vec!["verify", payload, "--json"],
        vec!["token", "list"],
        vec!["token", "list", "--json"],
    ] {
        let out = m.run(&args).output().expect("run");
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        assert!(!holds_raw_controls(&stdout), "{args:?}: {stdout:?}");
        assert!(
            stdout.contains("VALID"),
            "{args:?} hides the text: {stdout}"
        );
    }
    let out = m.run(&["verify", payload]).output().expect("run");
    let shown = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        shown.starts_with("NOT VALID: SUSPENDED (suspended by the issuer)\n"),
        "{shown}"
    );
    assert!(
        shown.contains("reason      fraud\\u{1b}[2K\\u{d}"),
        "{shown}"
    );
    // JSON readers still get the text as it is stored.
    let (_, v) = m.verify(payload, &[]);
    assert_eq!(v["state_reason"], hostile.as_str());
}

/// Runs `rescard ARGS` with its standard output (and, with `close_stderr`, its standard error) a
/// pipe whose reader has already gone, as `… | head -1` leaves it.
fn with_reader_gone(m: &Machine, args: &[&str], close_stderr: bool) -> (i32, String) {
    let mut cmd = m.command(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    drop(child.stdout.take());
    let mut stderr = String::new();
    if close_stderr {
        drop(child.stderr.take());
    } else if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut stderr).expect("stderr");
    }
    let status = child.wait().expect("wait");
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly_with_the_verdicts_code() {
    let m = Machine::new();
    let card = m.issue(&[]);
    let payload = card["payload"].as_str().expect("payload");
    let s = serial(&card);
    for args in [
        vec!["verify", payload],
        vec!["verify", payload, "--json"],
        vec!["show", &s],
        vec!["keys", "list"],
    ] {
        let (code, stderr) = with_reader_gone(&m, &args, false);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
    m.run(&["revoke", &s, "--reason", "fraud"])
        .assert()
        .success();
    assert_eq!(with_reader_gone(&m, &["verify", payload], false).0, 13);
    // Standard error gone too: an error still ends with its code, not a panic's 101.
    assert_eq!(with_reader_gone(&m, &["verify", "missing.png"], true).0, 1);
}
