use std::os::unix::fs::PermissionsExt as _;

use predicates::prelude::*;
use serde_json::Value;

use crate::fixtures;
use crate::helpers::{Machine, days_from_today, exists, this_year};

fn serial(card: &Value) -> String {
    card["serial"].as_str().expect("serial").to_owned()
}

fn payload(card: &Value) -> String {
    card["payload"].as_str().expect("payload").to_owned()
}

#[test]
fn init_makes_an_owner_only_key_and_a_registry_and_never_overwrites() {
    let m = Machine::new();
    let pems: Vec<_> = std::fs::read_dir(m.keys())
        .expect("keys")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pem"))
        .collect();
    assert_eq!(pems.len(), 1);
    let pem = pems[0].path();
    assert_eq!(
        std::fs::metadata(&pem).expect("meta").permissions().mode() & 0o777,
        0o600
    );
    assert!(exists(&m.data().join("registry.sqlite")));
    let before = std::fs::read(&pem).expect("pem");
    m.run(&["init"])
        .assert()
        .success()
        .stderr(predicate::str::contains("nothing overwritten"));
    assert_eq!(std::fs::read(&pem).expect("pem"), before);
}

#[test]
fn keys_list_json_has_the_contract_shape() {
    let m = Machine::new();
    let out = m.run(&["keys", "list", "--json"]).output().expect("run");
    let keys: Value = serde_json::from_slice(&out.stdout).expect("json");
    let key = &keys[0];
    assert_eq!(key["kid"].as_str().map(str::len), Some(16));
    assert_eq!(key["status"], "active");
    let public = key["public_key"].as_str().expect("public_key");
    assert_eq!(public.len(), 43, "base64url of 32 bytes without padding");
    assert!(!public.contains(['+', '/', '=']));
    assert!(key["not_before"].is_string());
    assert!(key["not_after"].is_null());
}

#[test]
fn an_issued_card_verifies_from_its_text_from_stdin_and_from_its_qr_png() {
    let m = Machine::new();
    let qr = m.path("card.png");
    let card = m.issue(&["--qr", qr.to_str().expect("path")]);
    assert_eq!(card["serial"].as_str().map(str::len), Some(9));
    assert_eq!(card["itn"].as_str().map(str::len), Some(14));
    let (from, until) = this_year();
    assert_eq!(
        (card["valid_from"].as_str(), card["valid_until"].as_str()),
        (Some(from.as_str()), Some(until.as_str()))
    );

    let (code, v) = m.verify(&payload(&card), &[]);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("valid")));
    for field in [
        "verdict",
        "serial",
        "holder",
        "itn",
        "permit",
        "valid_from",
        "valid_until",
        "printed_valid_until",
        "days_remaining",
        "status_source",
        "status_as_of",
        "status_stale",
        "kid",
    ] {
        assert!(v.get(field).is_some(), "missing {field}");
    }
    assert_eq!(v["holder"]["surname"], "ABDYKADYROVA-NURLANOVA");
    assert_eq!(v["holder"]["date_of_birth"], "1991-04-17");
    assert_eq!(v["status_source"], "registry");
    assert_eq!(v["serial"], card["serial"]);

    m.run(&["verify", "-", "--json"])
        .write_stdin(format!("{}\n", payload(&card)))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"valid\""));
    let (code, v) = m.verify(qr.to_str().expect("path"), &[]);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("valid")));
    m.run(&["verify", &payload(&card)])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("VALID"));
}

#[test]
fn extension_shows_at_once_and_keeps_the_printed_date() {
    let m = Machine::new();
    let card = m.issue(&[]);
    let printed = card["valid_until"].as_str().expect("until").to_owned();
    let new_until = days_from_today(500);
    m.run(&["extend", &serial(&card), "--until", &new_until])
        .assert()
        .success();
    let (code, v) = m.verify(&payload(&card), &[]);
    assert_eq!(code, 0);
    assert_eq!(v["valid_until"].as_str(), Some(new_until.as_str()));
    assert_eq!(v["printed_valid_until"].as_str(), Some(printed.as_str()));
    // Checked a few days after the printed date, the card is still valid thanks to the extension.
    let later = days_from_today(400);
    let (code, v) = m.verify(&payload(&card), &["--at", &later]);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("valid")));
}

#[test]
fn suspension_reinstatement_and_revocation_give_their_verdicts_and_exit_codes() {
    let m = Machine::new();
    let card = m.issue(&[]);
    let s = serial(&card);
    m.run(&["suspend", &s, "--reason", "documents under review"])
        .assert()
        .success();
    let (code, v) = m.verify(&payload(&card), &[]);
    assert_eq!(
        (code, v["verdict"].as_str(), v["state_reason"].as_str()),
        (12, Some("suspended"), Some("documents under review"))
    );
    m.run(&["reinstate", &s]).assert().success();
    assert_eq!(m.verify(&payload(&card), &[]).0, 0);
    m.run(&["revoke", &s, "--reason", "permit withdrawn"])
        .assert()
        .success();
    assert_eq!(m.verify(&payload(&card), &[]).0, 13);
    m.run(&["extend", &s, "--until", &days_from_today(400)])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot extend a card that is revoked",
        ));
    m.run(&["revoke", &s, "--reason", ""])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("reason"));
    m.run(&["suspend", &s]).assert().code(2);
}

#[test]
fn a_replaced_card_reports_replaced_and_its_successor_is_valid() {
    let m = Machine::new();
    let card = m.issue(&["--passport", "FA1234567"]);
    let out = m
        .run(&["replace", &serial(&card), "--reason", "lost", "--json"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let new: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_ne!(new["serial"], card["serial"]);
    assert_eq!(new["itn"], card["itn"]);
    let (code, v) = m.verify(&payload(&card), &[]);
    assert_eq!(
        (code, v["verdict"].as_str(), v["replaced_by"].as_str()),
        (14, Some("replaced"), new["serial"].as_str())
    );
    assert_eq!(m.verify(&payload(&new), &[]).0, 0);
}

#[test]
fn expiry_and_start_follow_the_clock_given_with_at() {
    let m = Machine::new();
    let card = m.issue(&[]);
    let (code, v) = m.verify(&payload(&card), &["--at", &days_from_today(400)]);
    assert_eq!((code, v["verdict"].as_str()), (10, Some("expired")));
    assert!(v["days_remaining"].as_i64().is_some_and(|d| d < 0));
    let (code, _) = m.verify(&payload(&card), &["--at", &days_from_today(-1)]);
    assert_eq!(code, 11);
    m.run(&["verify", &payload(&card), "--at", "last tuesday"])
        .assert()
        .code(2);
}

#[test]
fn tampered_foreign_and_malformed_payloads_get_their_verdicts() {
    let m = Machine::new();
    let card = m.issue(&[]);
    let text = payload(&card);
    // Flip a character well inside the signature (the end of the text) to another base45 character.
    let mut bytes = text.clone().into_bytes();
    let i = bytes.len() - 10;
    bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(bytes).expect("ascii");
    let (code, v) = m.verify(&tampered, &[]);
    assert!(matches!(code, 20 | 22), "{code}: {v}");
    assert!(
        v["holder"].is_null(),
        "nothing from an unverified payload is shown"
    );

    let foreign =
        std::fs::read_to_string(fixtures::path("payloads/foreign-key.txt")).expect("fixture");
    let (code, v) = m.verify(foreign.trim(), &[]);
    assert_eq!((code, v["verdict"].as_str()), (21, Some("unknown_issuer")));
    let (code, v) = m.verify("RC1:NOT-A-CARD", &[]);
    assert_eq!((code, v["verdict"].as_str()), (22, Some("malformed")));
    let (code, _) = m.verify("https://example.org/", &[]);
    assert_eq!(code, 22);
}

#[test]
fn a_signature_that_does_not_verify_exits_20() {
    // The fixture is signed by the committed test key, so this machine must trust that key.
    let m = Machine::fixture_checker(false);
    let bad =
        std::fs::read_to_string(fixtures::path("payloads/bad-signature.txt")).expect("fixture");
    let (code, v) = m.verify(bad.trim(), &[]);
    assert_eq!(
        (code, v["verdict"].as_str()),
        (20, Some("invalid_signature"))
    );
    let good = std::fs::read_to_string(fixtures::path("payloads/reference.txt")).expect("fixture");
    let (code, v) = m.verify(good.trim(), &["--at", "2027-01-15"]);
    assert_eq!(
        (code, v["status_source"].as_str()),
        (0, Some("card")),
        "a checker without a registry knows only the card"
    );
    let (code, _) = m.verify(
        fixtures::path("images/reference-qr.png")
            .to_str()
            .expect("path"),
        &["--at", "2027-01-15"],
    );
    assert_eq!(code, 0);
}

#[test]
fn invalid_applications_are_refused_with_the_field_and_write_nothing() {
    let m = Machine::new();
    let (from, until) = this_year();
    let base = |field: &str, value: &str| {
        let mut args: Vec<String> = [
            "issue",
            "--surname",
            "SMITH",
            "--given-names",
            "JOHN",
            "--date-of-birth",
            "1990-01-01",
            "--nationality",
            "GBR",
            "--permit",
            "work",
            "--valid-from",
            &from,
            "--valid-until",
            &until,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let i = args.iter().position(|a| a == field).expect("flag");
        args[i + 1] = value.to_owned();
        args
    };
    let cases = [
        ("--nationality", "KGZ", "nationality"),
        ("--nationality", "ZZZ", "nationality"),
        ("--surname", "Смит", "surname"),
        ("--date-of-birth", "1990-02-30", "date_of_birth"),
        ("--permit", "tourism", "permit"),
        ("--valid-until", &days_from_today(400), "valid_until"),
        ("--valid-from", &days_from_today(200), "valid_from"),
    ];
    for (flag, value, field) in cases {
        let args = base(flag, value);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        m.run(&args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(field));
    }
    // A portrait is decoded before anything is written: 65 bytes declaring 50000 x 50000 pixels.
    let bomb =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/images/portrait-bomb.png");
    let mut args = base("--surname", "SMITH");
    args.extend(["--portrait".to_owned(), bomb.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    m.run(&args)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("portrait").and(predicate::str::contains("50000x50000")));
    // Only init's first issuer key and admin token are in the log: no refused application wrote
    // anything.
    m.run(&["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains(" 2 entries"));
    m.run(&["show", "000000013"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no card with serial"));
    m.run(&["show", "000000014"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("check digit"));
    m.run(&["show", "../../etc/passwd"]).assert().code(2);
}

#[test]
fn a_csv_batch_issues_good_rows_and_reports_the_bad_ones() {
    let m = Machine::new();
    let (from, until) = this_year();
    let csv = format!(
        "surname,given_names,date_of_birth,nationality,permit,valid_from,valid_until,sex,native_name,passport_number\n\
         IVANOVA,OLGA,1988-02-29,RUS,study,{from},{until},F,Иванова Ольга,7512345678\n\
         SMITH,JOHN,1990-13-01,GBR,work,{from},{until},M,,\n\
         TOKTOGULOV,,1979-05-05,KGZ,work,{from},{until},,,\n\
         LI,WEI,1995-07-07,CHN,business,{from},{until},M,Ли Вэй,E12345678\n\
         BAD,ROW,1995-07-07,CHN\n"
    );
    let path = m.path("batch.csv");
    std::fs::write(&path, csv).expect("write");
    let out = m
        .run(&["issue", "--csv", path.to_str().expect("path")])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("line 3: date_of_birth"), "{stderr}");
    assert!(stderr.contains("line 4: nationality"), "{stderr}");
    assert!(stderr.contains("line 6:"), "{stderr}");
    assert!(
        stderr.contains("2 cards issued, 3 rows rejected"),
        "{stderr}"
    );
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][0], "2");
    assert_eq!(&rows[1][0], "5");
    let (code, v) = m.verify(&rows[0][5], &[]);
    assert_eq!(
        (code, v["holder"]["native_name"].as_str()),
        (0, Some("Иванова Ольга"))
    );
    // The first issuer key and admin token, then the two cards.
    m.run(&["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains(" 4 entries"));
}

#[test]
fn show_prints_the_record_and_its_history() {
    let m = Machine::new();
    let card = m.issue(&["--passport", "AB1234567"]);
    m.run(&["suspend", &serial(&card), "--reason", "check"])
        .assert()
        .success();
    let out = m
        .run(&["show", &serial(&card), "--json"])
        .output()
        .expect("run");
    let record: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(record["state"], "suspended");
    assert_eq!(record["passport_number"], "AB1234567");
    let actions: Vec<&str> = record["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["action"].as_str())
        .collect();
    assert_eq!(actions, ["issue", "suspend"]);
    assert!(
        record["history"]
            .as_array()
            .expect("h")
            .iter()
            .all(|h| h["actor"] == "test-officer")
    );
    m.run(&["show", &serial(&card)])
        .assert()
        .success()
        .stdout(predicate::str::contains("suspended"));
}

#[test]
fn the_audit_log_names_the_entry_edited_behind_rescards_back() {
    let m = Machine::new();
    let card = m.issue(&[]);
    m.run(&["suspend", &serial(&card), "--reason", "check"])
        .assert()
        .success();
    m.run(&["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("intact: 4 entries"));
    let conn = rusqlite::Connection::open(m.data().join("registry.sqlite")).expect("open");
    conn.execute_batch(
        "DROP TRIGGER audit_append_only_update; UPDATE audit SET actor = 'nobody' WHERE seq = 1;",
    )
    .expect("tamper");
    drop(conn);
    m.run(&["audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("entry 1 was edited"));
}

#[test]
fn verify_without_any_trusted_key_says_what_to_do() {
    let m = Machine::empty();
    m.run(&["verify", "RC1:ABC"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no trusted issuer keys"));
    m.run(&["verify", "missing.png"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no such file"));
}

#[test]
fn an_image_without_a_code_is_an_error_not_a_verdict() {
    let m = Machine::new();
    let blank = m.path("blank.png");
    std::fs::write(&blank, b"\x89PNG\r\n\x1a\nnot really").expect("write");
    m.run(&["verify", blank.to_str().expect("path")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot be decoded"));
}

#[test]
fn the_demo_issues_writes_and_verifies_a_card() {
    let out = Machine::empty().run(&["demo"]).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("VALID"), "{stdout}");
    assert!(stdout.contains("version 10 at level M"), "{stdout}");
    // The demo keeps its directory for a look; tidy it up here.
    let dir = stdout
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("rescard demo in "))
        .expect("dir line");
    assert!(std::path::Path::new(dir).join("keys").exists());
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn init_prints_the_first_admin_token_once() {
    let m = Machine::empty();
    let out = m.run(&["init"]).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("admin token: "))
        .expect("admin token line");
    assert!(token.starts_with("rct_") && token.len() > 40);
    let again = m.run(&["init"]).output().expect("run");
    assert!(!String::from_utf8_lossy(&again.stdout).contains("admin token"));
    let list = m.run(&["token", "list", "--json"]).output().expect("run");
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(token),
        "a token is shown once only"
    );
}

#[test]
fn token_create_prints_the_token_alone_and_revoke_ends_it() {
    let m = Machine::new();
    let out = m
        .run(&["token", "create", "--role", "bank", "--name", "kicb-kyc"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    let token = stdout.trim();
    assert!(token.starts_with("rct_"));
    let registry = rescard_store::Registry::open(&m.data().join("registry.sqlite")).expect("open");
    assert_eq!(
        registry.authenticate(token).expect("auth").map(|h| h.role),
        Some(rescard_store::Role::Bank)
    );
    m.run(&["token", "create", "--role", "bank", "--name", "kicb-kyc"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not reused"));
    m.run(&["token", "create", "--role", "root", "--name", "x"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("role"));
    m.run(&["token", "revoke", "kicb-kyc"]).assert().success();
    assert_eq!(registry.authenticate(token).expect("auth"), None);
    m.run(&["token", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("revoked"));
}

#[test]
fn a_backup_restores_into_a_working_registry() {
    let m = Machine::new();
    let card = m.issue(&[]);
    m.run(&["revoke", &serial(&card), "--reason", "test"])
        .assert()
        .success();
    let file = m.path("backup.sqlite");
    m.run(&["backup", file.to_str().expect("path")])
        .assert()
        .success()
        .stdout(predicate::str::contains("backup of 1 cards"));
    m.run(&["backup", file.to_str().expect("path")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not overwrite"));

    // Restore: the copy becomes the registry of a new data directory.
    let restored = m.path("restored");
    std::fs::create_dir_all(&restored).expect("mkdir");
    std::fs::copy(&file, restored.join("registry.sqlite")).expect("copy");
    let run = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("rescard").expect("bin");
        cmd.arg("--data")
            .arg(&restored)
            .arg("--keys")
            .arg(m.keys())
            .args(args);
        cmd
    };
    run(&["audit", "verify"]).assert().success();
    run(&["show", &serial(&card)])
        .assert()
        .success()
        .stdout(predicate::str::contains("revoked"));
    let (code, _) = {
        let out = run(&["verify", &payload(&card), "--json"])
            .output()
            .expect("run");
        (out.status.code(), out)
    };
    assert_eq!(code, Some(13));
}

#[test]
fn the_service_refuses_a_private_key_others_can_read() {
    let m = Machine::new();
    let pem = std::fs::read_dir(m.keys())
        .expect("keys")
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "pem"))
        .expect("pem")
        .path();
    std::fs::set_permissions(&pem, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    m.run(&["serve", "--listen", "127.0.0.1:0"])
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("chmod 600"));
    m.run(&[
        "issue",
        "--surname",
        "X",
        "--given-names",
        "Y",
        "--date-of-birth",
        "1990-01-01",
        "--nationality",
        "UZB",
        "--permit",
        "work",
        "--valid-from",
        &this_year().0,
        "--valid-until",
        &this_year().1,
    ])
    .assert()
    .code(1)
    .stderr(predicate::str::contains("can be read by other users"));
}

#[test]
fn issue_writes_a_printable_card_whose_qr_verifies() {
    let m = Machine::new();
    let path = m.path("card.png");
    let card = m.issue(&[
        "--native-name",
        "Абдыкадырова Айгерим",
        "--card",
        path.to_str().expect("path"),
    ]);
    let (code, v) = m.verify(path.to_str().expect("path"), &[]);
    assert_eq!((code, v["serial"].as_str()), (0, card["serial"].as_str()));
    assert_eq!(v["holder"]["native_name"], "Абдыкадырова Айгерим");
}

/// `rescard applications purge`, for cron: deletes the documents of applications refused or withdrawn
/// more than --retention-days ago, and keeps the others'.
#[test]
fn applications_purge_deletes_old_documents_of_withdrawn_applications_only() {
    use rescard_core::application::{ApplicationKind, DocumentName};
    use rescard_store::applications::{DocumentMeta, NewApplication};
    let m = Machine::new();
    let mut registry =
        rescard_store::Registry::open(&m.data().join("registry.sqlite")).expect("registry");
    let long_ago = chrono::Utc::now() - chrono::Duration::days(100);
    let mut file = |at| {
        let (row, _) = registry
            .file_application(
                &NewApplication {
                    kind: ApplicationKind::Interim,
                    lang: "ru".into(),
                    email: "a@example.kg".into(),
                    filed_by: None,
                    request: "{}".into(),
                    serial: None,
                },
                at,
            )
            .expect("file");
        let meta = DocumentMeta {
            name: DocumentName::Passport,
            content_type: "application/pdf".into(),
            sha256: "00".repeat(32),
            size: 1,
            uploaded_at: at,
        };
        registry
            .put_application_document(&row.id, &meta, b"%", at)
            .expect("document");
        row.id
    };
    let old = file(long_ago);
    let recent = file(chrono::Utc::now());
    registry
        .withdraw_application(&old, long_ago)
        .expect("withdraw");
    registry
        .withdraw_application(&recent, chrono::Utc::now())
        .expect("withdraw");
    drop(registry);
    m.run(&["applications", "purge"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "deleted the documents of 1 application(s)",
        ));
    let registry =
        rescard_store::Registry::open(&m.data().join("registry.sqlite")).expect("registry");
    assert!(
        registry
            .application_view(&old)
            .expect("old")
            .documents
            .is_empty()
    );
    assert_eq!(
        registry
            .application_view(&recent)
            .expect("recent")
            .documents
            .len(),
        1
    );
    m.run(&["applications", "purge", "--retention-days", "0"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("retention-days"));
}
