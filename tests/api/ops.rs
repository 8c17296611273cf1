//! Health, metrics, the trust list and the OpenAPI document.

use axum::http::{Method, StatusCode};
use rescard_store::Role;

use crate::helpers::{As, spawn_app};

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint() {
    let app = spawn_app();
    let doc = app
        .call(Method::GET, "/api/v1/openapi.json", As::Anonymous, None)
        .await
        .json();
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
        ("/api/v1/keys", "get"),
        ("/api/v1/keys/signed", "get"),
        ("/api/v1/status", "get"),
        ("/api/v1/audit", "get"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens/{name}", "delete"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not documented"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for schema in [
        "Application",
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
    let reply = app.call(Method::GET, "/metrics", As::Anonymous, None).await;
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
async fn health_and_trust_list() {
    let app = spawn_app();
    assert_eq!(
        app.call(Method::GET, "/healthz", As::Anonymous, None)
            .await
            .json()["status"],
        "ok"
    );
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
    let boundary = "XyZrescard";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n{}\r\n--{boundary}--\r\n",
        card["payload"].as_str().expect("payload")
    );
    let reply = app
        .send(
            Method::POST,
            "/check?lang=en",
            As::Anonymous,
            Some(&format!("multipart/form-data; boundary={boundary}")),
            body.into_bytes(),
        )
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

fn cookie(token: &str) -> String {
    format!("rescard_console={token}")
}

async fn console(
    app: &crate::helpers::TestApp,
    method: Method,
    uri: &str,
    token: Option<&str>,
    form: &str,
) -> crate::helpers::Reply {
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(t) = token {
        req = req.header("cookie", cookie(t));
    }
    app.request(
        req.body(axum::body::Body::from(form.to_owned()))
            .expect("request"),
    )
    .await
}

#[tokio::test]
async fn the_console_lets_only_staff_in_and_refuses_forged_forms() {
    let app = crate::helpers::spawn_app();
    let issuer = app.tokens[&Role::Issuer].clone();
    let police = app.tokens[&Role::Police].clone();
    let admin = app.tokens[&Role::Admin].clone();
    assert_eq!(
        console(
            &app,
            Method::POST,
            "/console/sign-in",
            None,
            "token=rct_wrong"
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        console(
            &app,
            Method::POST,
            "/console/sign-in",
            None,
            &format!("token={police}")
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let signed_in = console(
        &app,
        Method::POST,
        "/console/sign-in",
        None,
        &format!("token={issuer}"),
    )
    .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let set_cookie = signed_in.headers["set-cookie"].to_str().expect("ascii");
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict")
            && set_cookie.contains("Path=/console"),
        "{set_cookie}"
    );

    // A police token in the cookie is no session; a card act without the form's CSRF token is refused.
    let home = console(&app, Method::GET, "/console", Some(&police), "").await;
    assert!(
        String::from_utf8_lossy(&home.bytes).contains("id=\"token\""),
        "sent to sign in"
    );
    app.issue_reference().await;
    let forged = console(
        &app,
        Method::POST,
        "/console/cards/000000013/revoke",
        Some(&issuer),
        "reason=x&confirm=yes",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.registry()
            .card("000000013".parse().expect("serial"))
            .expect("card")
            .state
            .as_str(),
        "active"
    );

    // Statistics and the audit log are for admins; the CSV export counts the card.
    assert_eq!(
        console(&app, Method::GET, "/console/stats", Some(&issuer), "")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let stats = console(&app, Method::GET, "/console/stats", Some(&admin), "").await;
    assert_eq!(stats.status, StatusCode::OK);
    let csv = String::from_utf8(
        console(&app, Method::GET, "/console/stats.csv", Some(&admin), "")
            .await
            .bytes,
    )
    .expect("utf-8");
    assert!(
        csv.contains("state,active,1") && csv.contains("nationality,UZB,1"),
        "{csv}"
    );
    let audit = String::from_utf8(
        console(
            &app,
            Method::GET,
            "/console/audit?lang=ru",
            Some(&admin),
            "",
        )
        .await
        .bytes,
    )
    .expect("utf-8");
    assert!(audit.contains("intact") && audit.contains("lang=\"ru\""));
}

#[test]
fn every_word_the_console_templates_ask_for_is_translated() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let re_key = |line: &str| -> Vec<String> {
        line.split("tr.s(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next().map(str::to_owned))
            .collect()
    };
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server/console.rs"),
    )
    .expect("source");
    for entry in std::fs::read_dir(dir).expect("templates").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("template");
        for key in text.lines().flat_map(re_key) {
            assert!(
                source.contains(&format!("\"{key}\",")),
                "{key} in {:?} has no words",
                entry.file_name()
            );
        }
    }
}

/// A multipart form of text fields and one file field, `portrait`.
fn multipart(fields: &[(&str, &str)], portrait: &[u8]) -> (String, Vec<u8>) {
    let boundary = "XyZrescardConsole";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"portrait\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(portrait);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn the_console_refuses_a_portrait_that_does_not_decode() {
    let app = spawn_app();
    let issuer = app.tokens[&Role::Issuer].clone();
    let home = console(&app, Method::GET, "/console", Some(&issuer), "").await;
    let html = String::from_utf8(home.bytes).expect("utf-8");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's CSRF token")
        .to_owned();
    let fields = [
        ("csrf", csrf.as_str()),
        ("surname", "ABDYKADYROVA-NURLANOVA"),
        ("given_names", "AIGERIM ZHANYBEKOVNA"),
        ("date_of_birth", "1991-04-17"),
        ("sex", "F"),
        ("nationality", "UZB"),
        ("permit", "work"),
        ("valid_from", "2026-12-01"),
        ("valid_until", "2027-11-30"),
    ];
    let issue = |portrait: Vec<u8>| {
        let (content_type, body) = multipart(&fields, &portrait);
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/console/issue?lang=en")
            .header("content-type", content_type)
            .header("cookie", cookie(&issuer))
            .body(axum::body::Body::from(body))
            .expect("request");
        app.request(request)
    };
    let before = app.audit_len();
    let bomb = include_bytes!("../../fixtures/images/portrait-bomb.png").to_vec();
    let refused = issue(bomb).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = String::from_utf8(refused.bytes).expect("utf-8");
    assert!(
        html.contains("id=\"e-portrait\"") && html.contains("50000x50000"),
        "the refusal is shown at the portrait field: {html}"
    );
    assert_eq!(app.audit_len(), before, "nothing was issued");

    let mut photo = Vec::new();
    image::RgbImage::from_pixel(240, 300, image::Rgb([190, 170, 150]))
        .write_to(
            &mut std::io::Cursor::new(&mut photo),
            image::ImageFormat::Png,
        )
        .expect("png");
    let issued = issue(photo).await;
    assert_eq!(
        issued.status,
        StatusCode::SEE_OTHER,
        "a real portrait is taken"
    );
}
