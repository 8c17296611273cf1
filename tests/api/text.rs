//! Free text staff write: reasons a screen would obey or hide are refused, and the officer's reason
//! reaches only the police and staff.

use axum::http::{Method, StatusCode};
use rescard_store::Role;
use serde_json::{Value, json};

use crate::helpers::{As, CHECK_TIME, spawn_app};

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

const REASON: &str = "documents under review, file 2027/4471";

async fn suspended_card(app: &crate::helpers::TestApp) -> String {
    let card = app.issue_reference().await;
    let serial = card["serial"].as_str().expect("serial");
    app.post_ok(
        &format!("/api/v1/cards/{serial}/suspension"),
        ISSUER,
        json!({"reason": REASON}),
    )
    .await;
    app.set_time(CHECK_TIME);
    card["payload"].as_str().expect("payload").to_owned()
}

fn shows_reason(v: &Value) -> bool {
    let shown = v.get("state_reason").is_some();
    assert_eq!(
        shown,
        v.to_string().contains("4471"),
        "the reason appears only as state_reason: {v}"
    );
    shown
}

#[tokio::test]
async fn the_officers_reason_is_shown_to_police_and_staff_only() {
    let app = spawn_app();
    let payload = suspended_card(&app).await;
    for (who, sees) in [
        (As::Anonymous, false),
        (As::Role(Role::Employer), false),
        (As::Role(Role::Bank), false),
        (As::Role(Role::Police), true),
        (As::Role(Role::Issuer), true),
        (As::Role(Role::Admin), true),
    ] {
        let v = app.verify(&payload, who).await;
        assert_eq!(v["verdict"], "suspended", "{who:?}");
        assert_eq!(shows_reason(&v), sees, "{who:?}: {v}");
        if sees {
            assert_eq!(v["state_reason"], REASON);
        }
        if who != As::Anonymous {
            let batch = app
                .post_ok(
                    "/api/v1/verify/batch",
                    who,
                    json!({"payloads": [payload.clone()]}),
                )
                .await;
            assert_eq!(shows_reason(&batch["results"][0]), sees, "{who:?} batch");
        }
    }
}

#[tokio::test]
async fn the_public_check_page_gives_the_verdict_without_the_reason() {
    let app = spawn_app();
    let payload = suspended_card(&app).await;
    let reply = app.check_page(&payload).await;
    assert_eq!(reply.status, StatusCode::OK);
    let html = String::from_utf8(reply.bytes).expect("utf-8");
    assert!(html.contains("data-verdict=\"suspended\""), "{html}");
    assert!(
        !html.contains("4471"),
        "the page shows the officer's reason"
    );
}
