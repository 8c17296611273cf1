//! Who may do what (every role and anonymous against every endpoint), and what each role sees.

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use rescard_store::Role;
use serde_json::{Value, json};

use crate::helpers::{As, CHECK_TIME, reference_application, spawn_app};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    Staff,
    Admin,
}

fn everyone() -> Vec<As> {
    let mut all = vec![As::Anonymous, As::BadToken];
    all.extend(Role::ALL.into_iter().map(As::Role));
    all
}

#[tokio::test]
async fn every_role_and_anonymous_against_every_endpoint() {
    let app = spawn_app();
    let card = app.issue_reference().await;
    let serial = card["serial"].as_str().expect("serial").to_owned();
    let payload = card["payload"].as_str().expect("payload").to_owned();
    let endpoints: Vec<(Method, String, Option<Value>, Access)> = vec![
        (
            Method::POST,
            "/api/v1/cards".into(),
            Some(reference_application()),
            Access::Staff,
        ),
        (
            Method::GET,
            format!("/api/v1/cards/{serial}"),
            None,
            Access::Staff,
        ),
        (
            Method::GET,
            format!("/api/v1/cards/{serial}/qr.png"),
            None,
            Access::Staff,
        ),
        (
            Method::GET,
            format!("/api/v1/cards/{serial}/card.png"),
            None,
            Access::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/cards/{serial}/extensions"),
            Some(json!({"valid_until": "2028-11-30", "reason": "renewal"})),
            Access::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/cards/{serial}/suspension"),
            Some(json!({"reason": "check"})),
            Access::Staff,
        ),
        (
            Method::DELETE,
            format!("/api/v1/cards/{serial}/suspension"),
            None,
            Access::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/cards/{serial}/replacement"),
            Some(json!({"reason": "lost"})),
            Access::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/cards/{serial}/revocation"),
            Some(json!({"reason": "fraud"})),
            Access::Staff,
        ),
        (Method::GET, "/api/v1/audit".into(), None, Access::Admin),
        (Method::GET, "/api/v1/tokens".into(), None, Access::Admin),
        (
            Method::POST,
            "/api/v1/tokens".into(),
            Some(json!({"name": "new-officer", "role": "issuer"})),
            Access::Admin,
        ),
        (
            Method::DELETE,
            "/api/v1/tokens/employer-2".into(),
            None,
            Access::Admin,
        ),
        (
            Method::POST,
            "/api/v1/verify".into(),
            Some(json!({ "payload": payload })),
            Access::Public,
        ),
        (Method::GET, "/api/v1/keys".into(), None, Access::Public),
        (
            Method::GET,
            "/api/v1/keys/signed".into(),
            None,
            Access::Public,
        ),
        (Method::GET, "/api/v1/status".into(), None, Access::Public),
        (
            Method::GET,
            "/api/v1/status?since=1".into(),
            None,
            Access::Public,
        ),
        (
            Method::GET,
            "/api/v1/openapi.json".into(),
            None,
            Access::Public,
        ),
        (Method::GET, "/healthz".into(), None, Access::Public),
        (Method::GET, "/metrics".into(), None, Access::Public),
    ];
    for (method, uri, body, access) in endpoints {
        for who in everyone() {
            let status = app
                .call(method.clone(), &uri, who, body.clone())
                .await
                .status;
            let expected_denial = match (access, who) {
                (Access::Public, As::BadToken) if uri == "/api/v1/verify" => {
                    Some(StatusCode::UNAUTHORIZED)
                }
                (Access::Public, _) => None,
                (_, As::Anonymous | As::BadToken) => Some(StatusCode::UNAUTHORIZED),
                (Access::Staff, As::Role(Role::Issuer | Role::Admin)) => None,
                (Access::Admin, As::Role(Role::Admin)) => None,
                (_, As::Role(_)) => Some(StatusCode::FORBIDDEN),
            };
            match expected_denial {
                Some(denied) => assert_eq!(status, denied, "{method} {uri} as {who:?}"),
                None => assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{method} {uri} as {who:?} was refused: {status}"
                ),
            }
        }
    }
}

#[tokio::test]
async fn each_role_sees_exactly_its_fields() {
    let app = spawn_app();
    let portrait = rescard_qr::render_png("portrait", 2).expect("png");
    let mut application = reference_application();
    application["portrait"] = json!(base64::engine::general_purpose::STANDARD.encode(&portrait));
    let reply = app
        .call(
            Method::POST,
            "/api/v1/cards",
            As::Role(Role::Issuer),
            Some(application),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let payload = reply.json()["payload"]
        .as_str()
        .expect("payload")
        .to_owned();
    app.set_time(CHECK_TIME);

    let base = [
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
    ];
    let extras = ["allowed_to_work", "passport_number", "portrait", "history"];
    let cases: [(As, &[&str]); 6] = [
        (As::Anonymous, &[]),
        (As::Role(Role::Employer), &["allowed_to_work"]),
        (
            As::Role(Role::Bank),
            &["allowed_to_work", "passport_number"],
        ),
        (
            As::Role(Role::Police),
            &["allowed_to_work", "passport_number", "portrait", "history"],
        ),
        (
            As::Role(Role::Issuer),
            &["allowed_to_work", "passport_number", "portrait", "history"],
        ),
        (
            As::Role(Role::Admin),
            &["allowed_to_work", "passport_number", "portrait", "history"],
        ),
    ];
    for (who, visible) in cases {
        let v = app.verify(&payload, who).await;
        assert_eq!(v["verdict"], "valid", "{who:?}");
        for field in base {
            assert!(v.get(field).is_some(), "{who:?} misses {field}");
        }
        for field in extras {
            assert_eq!(
                v.get(field).is_some(),
                visible.contains(&field),
                "{who:?} and {field}: {v}"
            );
        }
        if visible.contains(&"passport_number") {
            assert_eq!(v["passport_number"], "FA1234567");
            assert_eq!(v["allowed_to_work"], true);
        }
        if visible.contains(&"portrait") {
            let shown = base64::engine::general_purpose::STANDARD
                .decode(v["portrait"].as_str().expect("portrait"))
                .expect("b64");
            assert_eq!(shown, portrait);
            assert_eq!(v["history"][0]["action"], "issue");
        }
        // Nothing a role may not see hides anywhere in the body either.
        let text = v.to_string();
        assert_eq!(
            text.contains("FA1234567"),
            visible.contains(&"passport_number"),
            "{who:?}"
        );
    }
}

#[tokio::test]
async fn a_revoked_token_stops_working_at_once() {
    let app = spawn_app();
    let reply = app
        .call(
            Method::DELETE,
            "/api/v1/tokens/issuer-1",
            As::Role(Role::Admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = app
        .call(
            Method::POST,
            "/api/v1/cards",
            As::Role(Role::Issuer),
            Some(reference_application()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json()["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn every_act_is_attributed_to_its_token_in_the_audit_log() {
    let app = spawn_app();
    let card = app.issue_reference().await;
    let serial = card["serial"].as_str().expect("serial");
    let reply = app
        .call(
            Method::POST,
            &format!("/api/v1/cards/{serial}/suspension"),
            As::Role(Role::Admin),
            Some(json!({"reason": "check"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let log = app
        .call(Method::GET, "/api/v1/audit", As::Role(Role::Admin), None)
        .await
        .json();
    assert_eq!(log["intact"], true);
    let acts: Vec<(String, String)> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["serial"] == serial)
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["actor"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        acts,
        [
            ("issue".to_owned(), "issuer-1".to_owned()),
            ("suspend".to_owned(), "admin-1".to_owned())
        ]
    );
}

#[tokio::test]
async fn an_audit_row_edited_in_sqlite_shows_in_the_api_and_in_audit_verify() {
    let app = spawn_app();
    app.issue_reference().await;
    let conn = rusqlite::Connection::open(crate::helpers::registry_path(&app.dir)).expect("open");
    conn.execute_batch("DROP TRIGGER audit_append_only_update; UPDATE audit SET actor = 'nobody' WHERE action = 'issue';")
        .expect("tamper");
    let log = app
        .call(Method::GET, "/api/v1/audit", As::Role(Role::Admin), None)
        .await
        .json();
    assert_eq!(log["intact"], false);
    assert!(
        log["problem"]
            .as_str()
            .is_some_and(|p| p.contains("was edited")),
        "{log}"
    );
    assert_cmd::Command::cargo_bin("rescard")
        .expect("binary")
        .arg("--data")
        .arg(app.dir.path().join("data"))
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("BROKEN at entry 6"));
}
