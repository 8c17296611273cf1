//! Health, metrics, the trust list and the OpenAPI document.

use axum::http::{Method, StatusCode};
use rescard_store::Role;

use crate::helpers::{As, spawn_app};

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint() {
    let app = spawn_app();
    let doc = app.openapi().await;
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/v1/cards", "post"),
        ("/api/v1/cards/{serial}", "get"),
        ("/api/v1/cards/{serial}/qr.png", "get"),
        ("/api/v1/cards/{serial}/card.png", "get"),
        ("/api/v1/cards/{serial}/extensions", "post"),
        ("/api/v1/cards/{serial}/suspension", "post"),
        ("/api/v1/cards/{serial}/suspension", "delete"),
        ("/api/v1/cards/{serial}/revocation", "post"),
        ("/api/v1/cards/{serial}/replacement", "post"),
        ("/api/v1/verify", "post"),
        ("/api/v1/verify/batch", "post"),
        ("/api/v1/keys", "get"),
        ("/api/v1/keys/signed", "get"),
        ("/api/v1/status", "get"),
        ("/api/v1/audit", "get"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens/{name}", "delete"),
        ("/healthz", "get"),
        ("/metrics", "get"),
        ("/api/v1/openapi.json", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not documented"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for schema in [
        "CardRequest",
        "VerifyResponse",
        "VerificationJson",
        "IssuedJson",
        "RecordJson",
        "ErrorBody",
        "TrustedKey",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema} missing");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn metrics_count_requests_verdicts_and_cards() {
    let app = spawn_app();
    let card = app.issue_reference().await;
    app.verify(card["payload"].as_str().expect("payload"), As::Anonymous)
        .await;
    app.verify("RC1:garbage", As::Anonymous).await;
    let reply = app
        .call(Method::GET, "/metrics", As::Role(Role::Admin), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = String::from_utf8(reply.bytes).expect("text");
    assert!(
        text.contains(r#"http_requests_total{method="POST",route="/api/v1/cards",status="201"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"rescard_verifications_total{verdict="malformed"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"rescard_verifications_total{verdict="not_yet_valid"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"rescard_cards{state="active"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        !text.contains("000000013"),
        "metrics must not carry serials or paths"
    );
}

#[tokio::test]
async fn the_cards_gauge_falls_to_zero_when_a_state_empties() {
    let app = spawn_app();
    let card = app.issue_reference().await;
    let serial = card["serial"].as_str().expect("serial");
    let metrics = || async {
        let reply = app
            .call(Method::GET, "/metrics", As::Role(Role::Admin), None)
            .await;
        String::from_utf8(reply.bytes).expect("text")
    };
    let suspension = format!("/api/v1/cards/{serial}/suspension");
    app.post_ok(
        &suspension,
        As::Role(Role::Issuer),
        serde_json::json!({"reason": "check"}),
    )
    .await;
    let text = metrics().await;
    assert!(
        text.contains(r#"rescard_cards{state="suspended"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"rescard_cards{state="active"} 0"#),
        "{text}"
    );
    let reply = app
        .call(Method::DELETE, &suspension, As::Role(Role::Issuer), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = metrics().await;
    assert!(
        text.contains(r#"rescard_cards{state="suspended"} 0"#),
        "{text}"
    );
    assert!(
        text.contains(r#"rescard_cards{state="active"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn health_and_trust_list() {
    let app = spawn_app();
    let serial = app.issue_reference().await["serial"]
        .as_str()
        .expect("serial")
        .to_owned();
    app.call(
        Method::POST,
        &format!("/api/v1/cards/{serial}/revocation"),
        As::Role(Role::Issuer),
        Some(serde_json::json!({"reason": "fraud"})),
    )
    .await;
    let health = app
        .call(Method::GET, "/healthz", As::Anonymous, None)
        .await
        .json();
    assert_eq!(health["status"], "ok");
    let backend = if crate::helpers::on_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(health["registry"], backend);
    // The revocation took a status number, and this replica's checks have it.
    assert_eq!(health["status_sequence"], 1);
    assert_eq!(health["checks_sequence"], 1);
    let keys = app
        .call(Method::GET, "/api/v1/keys", As::Anonymous, None)
        .await
        .json();
    assert_eq!(keys[0]["status"], "active");
    assert_eq!(keys[0]["kid"].as_str().map(str::len), Some(16));
    let tokens = app
        .call(Method::GET, "/api/v1/tokens", As::Role(Role::Admin), None)
        .await;
    let text = String::from_utf8(tokens.bytes).expect("text");
    assert!(!text.contains("rct_"), "tokens are never shown again");
}

#[tokio::test]
async fn the_check_page_is_strict_and_checks_a_pasted_payload() {
    let app = crate::helpers::spawn_app();
    let page = app
        .call(Method::GET, "/?lang=ru", As::Anonymous, None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("form-action 'self'")
            && !csp.contains("script-src"),
        "{csp}"
    );
    let html = String::from_utf8(page.bytes).expect("utf-8");
    assert!(html.contains("<html lang=\"ru\">"));
    assert!(
        html.contains("<label for=\"photo\">") && html.contains("<label for=\"payload\">"),
        "every input has a label"
    );
    assert!(html.contains("capture=\"environment\""));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from another origin"
    );

    let card = app.issue_reference().await;
    app.set_time(crate::helpers::CHECK_TIME);
    let reply = app
        .check_page(card["payload"].as_str().expect("payload"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let html = String::from_utf8(reply.bytes).expect("utf-8");
    assert!(html.contains("data-verdict=\"valid\""), "{html}");
    assert!(html.contains("30.11.2027"), "dates as DD.MM.YYYY");
    assert!(
        !html.contains("FA1234567"),
        "an anonymous check shows no passport number"
    );

    let reply = app
        .send(
            Method::POST,
            "/check",
            As::Anonymous,
            Some("multipart/form-data; boundary=nothing"),
            b"garbage".to_vec(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        String::from_utf8(reply.bytes)
            .expect("utf-8")
            .contains("id=\"error\"")
    );
}

/// Writing to the registry's trust list is not enough to make a key trusted: the replica takes in a
/// list only when the key directory holds the private key of every key in it that still verifies.
#[tokio::test]
async fn a_key_slipped_into_the_trust_list_without_its_private_key_is_never_used() {
    async fn health(app: &crate::helpers::TestApp) -> serde_json::Value {
        app.call(Method::GET, "/healthz", As::Anonymous, None)
            .await
            .json()
    }
    let app = spawn_app();
    assert_eq!(health(&app).await["keys_in_use"], 1);
    let foreign = rescard_core::IssuerKey::from_seed(&[0x22; 32]);
    let mut slipped = rescard_core::TrustedKey::active(
        foreign.verifying_key(),
        "2026-01-01T00:00:00Z".parse().expect("time"),
    );
    slipped.status = rescard_core::KeyStatus::VerifyOnly;
    let registry = app.registry();
    registry
        .storage()
        .put_trusted_key(2, &slipped)
        .expect("insert");
    registry
        .storage()
        .raw_execute(
            "UPDATE counters SET value = value + 1 WHERE name = 'keys'",
            &[],
        )
        .expect("bump");
    // The replica's follower sees the new version…
    let start = std::time::Instant::now();
    loop {
        let h = health(&app).await;
        if h["keys_version"] == 2 && app.state.db().trust().version() == 2 {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(5), "{h}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // …but keeps the keys it has: the list it publishes and the checks are unchanged.
    assert_eq!(health(&app).await["keys_in_use"], 1);
    let keys = app
        .call(Method::GET, "/api/v1/keys", As::Anonymous, None)
        .await
        .json();
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");
    let forged = include_str!("../../fixtures/payloads/foreign-key.txt");
    let verdict = app
        .call(
            Method::POST,
            "/api/v1/verify",
            As::Anonymous,
            Some(serde_json::json!({"payload": forged.trim()})),
        )
        .await
        .json();
    assert_eq!(verdict["verdict"], "unknown_issuer", "{verdict}");
}
