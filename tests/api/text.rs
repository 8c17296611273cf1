//! Free text staff write: reasons a screen would obey or hide are refused.

use axum::http::{Method, StatusCode};
use rescard_store::Role;
use serde_json::json;

use crate::helpers::{As, spawn_app};

const ISSUER: As = As::Role(Role::Issuer);

/// Reasons that would rewrite a terminal line, reorder or hide text, or flood a screen.
fn hostile_reasons() -> Vec<(&'static str, String)> {
    vec![
        ("ESC", "fraud\u{1b}[2K\u{1b}[1A\u{1b}[32mVALID".into()),
        ("CR", "fraud\rVALID".into()),
        ("newline", "fraud\nVALID".into()),
        ("bidi override", "\u{202E}DILAV".into()),
        ("zero-width space", "fr\u{200B}aud".into()),
        ("5,000 characters", "x".repeat(5_000)),
    ]
}

#[tokio::test]
async fn hostile_reasons_are_refused_with_the_field_and_change_nothing() {
    let app = spawn_app();
    let card = app.issue_reference().await;
    let serial = card["serial"].as_str().expect("serial").to_owned();
    let before = app.audit_len();
    for (name, reason) in hostile_reasons() {
        for (method, act, body) in [
            (
                Method::POST,
                "extensions",
                json!({"valid_until": "2028-11-30", "reason": reason}),
            ),
            (Method::POST, "suspension", json!({"reason": reason})),
            (Method::DELETE, "suspension", json!({"reason": reason})),
            (Method::POST, "revocation", json!({"reason": reason})),
            (Method::POST, "replacement", json!({"reason": reason})),
        ] {
            let uri = format!("/api/v1/cards/{serial}/{act}");
            let reply = app.call(method.clone(), &uri, ISSUER, Some(body)).await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{name} {method} {act}: {}",
                String::from_utf8_lossy(&reply.bytes)
            );
            assert_eq!(reply.json()["error"]["field"], "reason", "{name} {act}");
        }
    }
    assert_eq!(app.audit_len(), before, "a refused act wrote something");
    let record = app
        .call(
            Method::GET,
            &format!("/api/v1/cards/{serial}"),
            ISSUER,
            None,
        )
        .await
        .json();
    assert_eq!(record["state"], "active");
}
