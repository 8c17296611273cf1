//! Secrets stay secret: a whole session of the real service, logging at debug level, and not one
//! private key, token, ITN, passport number or payload in its log. The one exception is the first
//! admin token, printed once on standard output at initialisation, and nowhere else.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use rescard_core::ValidityPeriod;
use rescard_core::domain::date::issuer_date;
use serde_json::{Value, json};

fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, String) {
    let build = || {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("Content-Type", "application/json");
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        req.body(body.as_ref().map(|b| b.to_string()).unwrap_or_default())
            .expect("request")
    };
    // This test is about what reaches the log, not about transport: under the full suite's parallel
    // load a connection was once dropped before its response; such a request is sent once more.
    let mut resp = match agent.run(build()) {
        Ok(r) => r,
        Err(first) => agent
            .run(build())
            .unwrap_or_else(|again| panic!("{method} {url}: {first}, then {again}")),
    };
    (
        resp.status().as_u16(),
        resp.body_mut().read_to_string().unwrap_or_default(),
    )
}

#[test]
fn no_secret_reaches_the_log() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("rescard"))
        .arg("--data")
        .arg(dir.path().join("data"))
        .arg("--keys")
        .arg(dir.path().join("keys"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let log = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on ").nth(1) {
                let _ = addr_tx.send(addr.trim().to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let base = addr_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("listening");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(&mut stdout)
        .read_line(&mut first)
        .expect("first line");
    let admin = first
        .trim()
        .strip_prefix("admin token: ")
        .expect("admin token")
        .to_owned();

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut secrets = vec![admin.clone(), "SECRETOVA".to_owned()];
    let (status, body) = call(
        &agent,
        "POST",
        &format!("{base}/api/v1/tokens"),
        Some(&admin),
        Some(json!({"name": "bank-1", "role": "bank"})),
    );
    assert_eq!(status, 201);
    let bank: Value = serde_json::from_str(&body).expect("json");
    let bank = bank["token"].as_str().expect("token").to_owned();
    secrets.push(bank.clone());

    let today = issuer_date(Utc::now());
    let until = ValidityPeriod::latest_end(today);
    for i in 0..3 {
        let passport = format!("SECRET{i:04}X");
        let application = json!({"surname": "SECRETOVA", "given_names": "TAYNA", "date_of_birth": "1990-01-01", "nationality": "UZB",
            "permit": "work", "valid_from": today.to_string(), "valid_until": until.to_string(), "passport_number": passport});
        let (status, body) = call(
            &agent,
            "POST",
            &format!("{base}/api/v1/cards"),
            Some(&admin),
            Some(application.clone()),
        );
        assert_eq!(status, 201, "{body}");
        let card: Value = serde_json::from_str(&body).expect("json");
        let payload = card["payload"].as_str().expect("payload").to_owned();
        let serial = card["serial"].as_str().expect("serial").to_owned();
        secrets.extend([
            passport.clone(),
            card["itn"].as_str().expect("itn").to_owned(),
            payload.clone(),
        ]);
        for token in [None, Some(bank.as_str())] {
            let (status, _) = call(
                &agent,
                "POST",
                &format!("{base}/api/v1/verify"),
                token,
                Some(json!({"payload": payload})),
            );
            assert_eq!(status, 200);
        }
        // Refused requests carrying the same secrets.
        let mut refused = application.clone();
        refused["nationality"] = json!("KGZ");
        assert_eq!(
            call(
                &agent,
                "POST",
                &format!("{base}/api/v1/cards"),
                Some(&admin),
                Some(refused)
            )
            .0,
            422
        );
        let mut refused = application;
        refused["date_of_birth"] = json!("1991-01-01");
        assert_eq!(
            call(
                &agent,
                "POST",
                &format!("{base}/api/v1/cards"),
                Some(&admin),
                Some(refused)
            )
            .0,
            409
        );
        let (status, _) = call(
            &agent,
            "POST",
            &format!("{base}/api/v1/verify"),
            Some("rct_a-guess-at-a-token"),
            Some(json!({"payload": payload})),
        );
        assert_eq!(status, 401);
        assert_eq!(
            call(
                &agent,
                "POST",
                &format!("{base}/api/v1/cards/{serial}/revocation"),
                Some(&bank),
                Some(json!({"reason": "x"}))
            )
            .0,
            403
        );
        assert_eq!(
            call(
                &agent,
                "GET",
                &format!("{base}/api/v1/cards/{serial}"),
                Some(&admin),
                None
            )
            .0,
            200
        );
    }
    secrets.push("rct_a-guess-at-a-token".into());
    for entry in std::fs::read_dir(dir.path().join("keys"))
        .expect("keys")
        .flatten()
    {
        if entry.path().extension().is_some_and(|e| e == "pem") {
            let pem = std::fs::read_to_string(entry.path()).expect("pem");
            secrets.extend(
                pem.lines()
                    .filter(|l| !l.starts_with("-----"))
                    .map(str::to_owned),
            );
        }
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(child.wait().expect("wait").success());
    let log = log.join().expect("log");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("stdout");
    assert!(
        log.lines().count() > 20,
        "the log is too thin to prove anything:\n{log}"
    );
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret reached the log: {secret:.12}…"
        );
        assert!(
            !rest.contains(secret.as_str()),
            "a secret reached standard output after the admin token line"
        );
    }
}
