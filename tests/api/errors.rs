//! Bad requests: each gets its 4xx JSON error, and nothing changes in the registry.

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rescard_store::Role;
use serde_json::{Value, json};

use crate::helpers::{As, reference_application, spawn_app};

/// 65 bytes of PNG declaring 50000 x 50000 pixels (fixtures/README.md).
const PORTRAIT_BOMB: &[u8] = include_bytes!("../../fixtures/images/portrait-bomb.png");

const ISSUER: As = As::Role(Role::Issuer);

/// A bad request: its name, method, path, content type, body, and the status and field it must get.
type Case<'a> = (
    &'a str,
    Method,
    &'a str,
    Option<&'a str>,
    Vec<u8>,
    StatusCode,
    Option<&'a str>,
);

fn with(field: &str, value: Value) -> Vec<u8> {
    let mut app = reference_application();
    app[field] = value;
    app.to_string().into_bytes()
}

#[tokio::test]
async fn bad_requests_get_a_json_error_with_the_right_status_and_write_nothing() {
    let app = spawn_app();
    app.issue_reference().await;
    let json_ct = Some("application/json");
    let long = "A".repeat(100_000);
    let cases: Vec<Case> = vec![
        (
            "broken JSON",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            b"{\"surname\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "not an object",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            b"[1, 2]".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "deeply nested JSON",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            format!("{}1{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "wrong type",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            with("surname", json!(42)),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "unknown field",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            with("address", json!("Bishkek")),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "Kyrgyz citizen",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            with("nationality", json!("KGZ")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("nationality"),
        ),
        (
            "over a year",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            with("valid_until", json!("2027-12-01")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("valid_until"),
        ),
        (
            "impossible date",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            with("date_of_birth", json!("1991-02-30")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("date_of_birth"),
        ),
        (
            "zero-width in a name",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            with("surname", json!("SMI\u{200B}TH")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("surname"),
        ),
        (
            "right-to-left override",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            with("native_name", json!("\u{202E}Айгерим")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("native_name"),
        ),
        (
            "control character",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            with("given_names", json!("AI\u{0007}GERIM")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("given_names"),
        ),
        (
            "a huge name",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            with("surname", json!(long)),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("surname"),
        ),
        (
            "portrait not an image",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            with("portrait", json!("aGVsbG8=")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("portrait"),
        ),
        (
            "portrait: a PNG header declaring 50000 x 50000 pixels",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            with("portrait", json!(STANDARD.encode(PORTRAIT_BOMB))),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("portrait"),
        ),
        (
            "portrait: a PNG signature and nothing else",
            Method::POST,
            "/api/v1/cards",
            json_ct,
            with("portrait", json!(STANDARD.encode(b"\x89PNG\r\n\x1a\n"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("portrait"),
        ),
        (
            "no content type",
            Method::POST,
            "/api/v1/cards",
            None,
            reference_application().to_string().into_bytes(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        ),
        (
            "text content type",
            Method::POST,
            "/api/v1/cards",
            Some("text/plain"),
            reference_application().to_string().into_bytes(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        ),
        (
            "body over the limit",
            Method::POST,
            "/api/v1/cards/000000013/suspension",
            json_ct,
            json!({"reason": "x".repeat(100_000)})
                .to_string()
                .into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
        ),
        (
            "empty reason",
            Method::POST,
            "/api/v1/cards/000000013/revocation",
            json_ct,
            json!({"reason": "  "}).to_string().into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("reason"),
        ),
        (
            "missing reason",
            Method::POST,
            "/api/v1/cards/000000013/revocation",
            json_ct,
            b"{}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "extension too long",
            Method::POST,
            "/api/v1/cards/000000013/extensions",
            json_ct,
            json!({"valid_until": "2029-01-01", "reason": "x"})
                .to_string()
                .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("valid_until"),
        ),
        (
            "extension date garbage",
            Method::POST,
            "/api/v1/cards/000000013/extensions",
            json_ct,
            json!({"valid_until": "next year", "reason": "x"})
                .to_string()
                .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("valid_until"),
        ),
        (
            "unknown serial",
            Method::GET,
            "/api/v1/cards/000000021",
            None,
            vec![],
            StatusCode::NOT_FOUND,
            None,
        ),
        (
            "serial with a bad check digit",
            Method::GET,
            "/api/v1/cards/000000014",
            None,
            vec![],
            StatusCode::NOT_FOUND,
            Some("serial"),
        ),
        (
            "serial like a path",
            Method::GET,
            "/api/v1/cards/..%2F..%2Fetc%2Fpasswd",
            None,
            vec![],
            StatusCode::NOT_FOUND,
            Some("serial"),
        ),
        (
            "serial like SQL",
            Method::GET,
            "/api/v1/cards/1%20OR%201=1",
            None,
            vec![],
            StatusCode::NOT_FOUND,
            Some("serial"),
        ),
        (
            "unknown path",
            Method::GET,
            "/api/v1/nothing",
            None,
            vec![],
            StatusCode::NOT_FOUND,
            None,
        ),
        (
            "wrong method",
            Method::PUT,
            "/api/v1/cards",
            json_ct,
            b"{}".to_vec(),
            StatusCode::METHOD_NOT_ALLOWED,
            None,
        ),
        (
            "verify: broken JSON",
            Method::POST,
            "/api/v1/verify",
            json_ct,
            b"{\"payload\"".to_vec(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "verify: wrong type",
            Method::POST,
            "/api/v1/verify",
            json_ct,
            b"{\"payload\": 1}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "verify: form body",
            Method::POST,
            "/api/v1/verify",
            Some("application/x-www-form-urlencoded"),
            b"payload=x".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        ),
        (
            "verify: a GIF",
            Method::POST,
            "/api/v1/verify",
            Some("image/png"),
            b"GIF89a......".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        ),
        (
            "verify: truncated PNG",
            Method::POST,
            "/api/v1/verify",
            Some("image/png"),
            b"\x89PNG\r\n\x1a\n\0\0".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "verify: image with no code",
            Method::POST,
            "/api/v1/verify",
            Some("image/png"),
            blank_png(),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "audit: bad query",
            Method::GET,
            "/api/v1/audit?after=abc",
            None,
            vec![],
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "audit: a negative sequence",
            Method::GET,
            "/api/v1/audit?after=-1",
            None,
            vec![],
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "audit: an empty page",
            Method::GET,
            "/api/v1/audit?limit=0",
            None,
            vec![],
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "audit: a page over the maximum",
            Method::GET,
            "/api/v1/audit?limit=1001",
            None,
            vec![],
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "status: a negative sequence",
            Method::GET,
            "/api/v1/status?since=-1",
            None,
            vec![],
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "token: a name with a space",
            Method::POST,
            "/api/v1/tokens",
            json_ct,
            json!({"name": "night shift", "role": "police"})
                .to_string()
                .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("name"),
        ),
        (
            "reinstate: broken JSON",
            Method::DELETE,
            "/api/v1/cards/000000013/suspension",
            json_ct,
            b"{\"reason\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "reinstate: a body that is not JSON",
            Method::DELETE,
            "/api/v1/cards/000000013/suspension",
            Some("text/plain"),
            b"back".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        ),
        (
            "verify: an image over the limit",
            Method::POST,
            "/api/v1/verify",
            Some("image/png"),
            vec![0; rescard_qr::MAX_IMAGE_BYTES + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
        ),
    ];
    let before = app.audit_len();
    for (name, method, uri, ct, body, status, field) in cases {
        let who = if uri.starts_with("/api/v1/audit") || uri.starts_with("/api/v1/tokens") {
            As::Role(Role::Admin)
        } else {
            ISSUER
        };
        let reply = app.send(method, uri, who, ct, body).await;
        assert_eq!(
            reply.status,
            status,
            "{name}: {}",
            String::from_utf8_lossy(&reply.bytes)
        );
        let error = &reply.json()["error"];
        assert!(
            error["code"].is_string() && error["message"].is_string(),
            "{name}: {error}"
        );
        if let Some(field) = field {
            assert_eq!(error["field"], field, "{name}");
        }
    }
    assert_eq!(
        app.audit_len(),
        before,
        "a refused request changed the registry"
    );
    let record = app
        .call(Method::GET, "/api/v1/cards/000000013", ISSUER, None)
        .await
        .json();
    assert_eq!(record["state"], "active");
    assert_eq!(
        app.call(Method::GET, "/healthz", As::Anonymous, None)
            .await
            .status,
        StatusCode::OK
    );
}

fn blank_png() -> Vec<u8> {
    let mut out = Vec::new();
    image::GrayImage::from_pixel(64, 64, image::Luma([255]))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

#[tokio::test]
async fn a_malformed_payload_is_a_verdict_not_an_error() {
    let app = spawn_app();
    for payload in [
        "",
        "RC1:",
        "HC1:NCFOXN",
        "RC1:%%%",
        "x".repeat(5000).as_str(),
    ] {
        let v = app.verify(payload, As::Anonymous).await;
        assert_eq!(v["verdict"], "malformed", "{payload:.20}");
        assert!(v["holder"].is_null());
    }
}

#[tokio::test]
async fn anonymous_verification_and_bad_tokens_are_rate_limited_per_client() {
    let config = rescard::server::ServiceConfig {
        anonymous_verify_per_minute: 5,
        failed_signin_per_minute: 3,
        ..Default::default()
    };
    let app = crate::helpers::spawn_app_with(config);
    let body = json!({"payload": "RC1:x"});
    for _ in 0..5 {
        assert_eq!(
            app.call(
                Method::POST,
                "/api/v1/verify",
                As::Anonymous,
                Some(body.clone())
            )
            .await
            .status,
            StatusCode::OK
        );
    }
    let limited = app
        .call(
            Method::POST,
            "/api/v1/verify",
            As::Anonymous,
            Some(body.clone()),
        )
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(limited.json()["error"]["code"], "too_many_requests");
    // A staff token is not counted against the anonymous allowance.
    assert_eq!(
        app.call(
            Method::POST,
            "/api/v1/verify",
            As::Role(Role::Bank),
            Some(body.clone())
        )
        .await
        .status,
        StatusCode::OK
    );

    for _ in 0..3 {
        assert_eq!(
            app.call(Method::GET, "/api/v1/audit", As::BadToken, None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = app
        .call(Method::GET, "/api/v1/audit", As::BadToken, None)
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    // A valid token still works from the same address, and the service keeps serving.
    assert_eq!(
        app.call(Method::GET, "/api/v1/audit", As::Role(Role::Admin), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.call(Method::GET, "/healthz", As::Anonymous, None)
            .await
            .status,
        StatusCode::OK
    );
}
