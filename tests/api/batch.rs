//! `POST /api/v1/verify/batch`: a bank's nightly re-check of many cards in one request.

use axum::http::{Method, StatusCode};
use rescard_store::Role;
use serde_json::{Value, json};

use crate::helpers::{As, CHECK_TIME, TestApp, reference_application, spawn_app};

const BATCH: &str = "/api/v1/verify/batch";
const ISSUER: As = As::Role(Role::Issuer);
const BANK: As = As::Role(Role::Bank);

/// Issues a card for a holder with this surname and passport number; returns its payload.
async fn issue(app: &TestApp, surname: &str, passport: &str) -> (String, String) {
    let mut application = reference_application();
    application["surname"] = json!(surname);
    application["passport_number"] = json!(passport);
    let reply = app
        .call(Method::POST, "/api/v1/cards", ISSUER, Some(application))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let body = reply.json();
    (
        body["serial"].as_str().expect("serial").to_owned(),
        body["payload"].as_str().expect("payload").to_owned(),
    )
}

fn forged(payload: &str) -> String {
    let mut bytes = payload.as_bytes().to_vec();
    let i = bytes.len() - 20;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii")
}

async fn batch(app: &TestApp, who: As, payloads: &[&str]) -> Value {
    app.post_ok(BATCH, who, json!({ "payloads": payloads }))
        .await
}

#[tokio::test]
async fn every_card_gets_its_own_verdict_in_order_with_a_summary() {
    let app = spawn_app();
    let (_, first) = issue(&app, "IVANOVA", "FA1000001").await;
    let (revoked_serial, revoked) = issue(&app, "KARIMOV", "FA1000002").await;
    let (_, third) = issue(&app, "WANG", "FA1000003").await;
    let reply = app
        .call(
            Method::POST,
            &format!("/api/v1/cards/{revoked_serial}/revocation"),
            ISSUER,
            Some(json!({ "reason": "permit withdrawn" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    app.set_time(CHECK_TIME);

    let bad = forged(&first);
    let payloads = [
        first.as_str(),
        revoked.as_str(),
        bad.as_str(),
        "hello",
        third.as_str(),
        first.as_str(),
    ];
    let body = batch(&app, BANK, &payloads).await;
    assert_eq!(body["count"], 6);
    let verdicts: Vec<&str> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["verdict"].as_str().expect("verdict"))
        .collect();
    assert_eq!(
        verdicts,
        [
            "valid",
            "revoked",
            "invalid_signature",
            "malformed",
            "valid",
            "valid"
        ]
    );
    assert_eq!(
        body["summary"],
        json!({"valid": 3, "revoked": 1, "invalid_signature": 1, "malformed": 1})
    );
    for (i, result) in body["results"]
        .as_array()
        .expect("results")
        .iter()
        .enumerate()
    {
        assert_eq!(result["index"], i);
    }
    // Each result is what the single endpoint says, less what only it gives (portrait, history).
    for (payload, result) in payloads
        .iter()
        .zip(body["results"].as_array().expect("results"))
    {
        let single = app.verify(payload, BANK).await;
        let mut result = result.clone();
        result.as_object_mut().expect("object").remove("index");
        assert_eq!(result, single, "{payload}");
    }
    assert_eq!(body["results"][0]["passport_number"], "FA1000001");
    assert_eq!(body["results"][4]["passport_number"], "FA1000003");
    assert!(
        body["results"][1].get("state_reason").is_none(),
        "a bank gets the verdict, not the officer's reason"
    );
    // Below a bank the statuses come from the service's memory, not the registry: the same
    // verdicts, each what the single endpoint gives that role.
    let employer = As::Role(Role::Employer);
    let body = batch(&app, employer, &payloads).await;
    assert_eq!(
        body["summary"],
        json!({"valid": 3, "revoked": 1, "invalid_signature": 1, "malformed": 1})
    );
    for (payload, result) in payloads
        .iter()
        .zip(body["results"].as_array().expect("results"))
    {
        let single = app.verify(payload, employer).await;
        let mut result = result.clone();
        result.as_object_mut().expect("object").remove("index");
        assert_eq!(result, single, "{payload}");
    }
}

#[tokio::test]
async fn what_a_batch_shows_depends_on_the_role() {
    let app = spawn_app();
    let (_, payload) = issue(&app, "IVANOVA", "FA1000001").await;
    app.set_time(CHECK_TIME);
    let employer = batch(&app, As::Role(Role::Employer), &[&payload]).await;
    let item = &employer["results"][0];
    assert_eq!(item["allowed_to_work"], true);
    assert!(item.get("passport_number").is_none(), "{item}");
    let police = batch(&app, As::Role(Role::Police), &[&payload]).await;
    let item = &police["results"][0];
    assert_eq!(item["passport_number"], "FA1000001");
    assert!(item.get("portrait").is_none() && item.get("history").is_none());
}

#[tokio::test]
async fn a_batch_of_many_cards_spread_over_the_cores_names_the_forged_ones() {
    let app = spawn_app();
    let mut payloads = Vec::new();
    for n in 0..40 {
        let (_, p) = issue(&app, "IVANOVA", &format!("FB{n:07}")).await;
        payloads.push(p);
    }
    app.set_time(CHECK_TIME);
    // 1,200 checks (above the size from which the work is split), every 97th forged.
    let list: Vec<String> = (0..1200)
        .map(|i| {
            let p = &payloads[i % payloads.len()];
            if i % 97 == 5 { forged(p) } else { p.clone() }
        })
        .collect();
    let refs: Vec<&str> = list.iter().map(String::as_str).collect();
    let body = batch(&app, BANK, &refs).await;
    for (i, result) in body["results"]
        .as_array()
        .expect("results")
        .iter()
        .enumerate()
    {
        let expected = if i % 97 == 5 {
            "invalid_signature"
        } else {
            "valid"
        };
        assert_eq!(result["verdict"], expected, "card {i}");
    }
}

#[tokio::test]
async fn bad_batches_are_refused_with_the_reason() {
    let app = spawn_app();
    let anonymous = app
        .call(
            Method::POST,
            BATCH,
            As::Anonymous,
            Some(json!({"payloads": []})),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let text = app
        .send(
            Method::POST,
            BATCH,
            BANK,
            Some("text/plain"),
            b"RC1:".to_vec(),
        )
        .await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let broken = app
        .send(
            Method::POST,
            BATCH,
            BANK,
            Some("application/json"),
            b"{\"payloads\": [".to_vec(),
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert_eq!(broken.json()["error"]["code"], "malformed_json");
    for shape in [
        json!({"payloads": "RC1:"}),
        json!({"payload": ["RC1:"]}),
        json!({"payloads": [1, 2]}),
    ] {
        let reply = app.call(Method::POST, BATCH, BANK, Some(shape)).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let too_many: Vec<&str> = vec!["RC1:"; 10_001];
    let reply = app
        .call(
            Method::POST,
            BATCH,
            BANK,
            Some(json!({ "payloads": too_many })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json()["error"]["code"], "batch_too_large");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .expect("message")
            .contains("10000"),
        "{}",
        reply.json()
    );
    let empty = batch(&app, BANK, &[]).await;
    assert_eq!(empty, json!({"count": 0, "summary": {}, "results": []}));
}
