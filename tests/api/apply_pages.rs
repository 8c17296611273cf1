//! The applicant's pages (`/apply`): filing from a form in Kyrgyz with errors beside the fields, the
//! application's page opened by its cookie, uploads, submission, and the card once approved.

use axum::http::{Method, Request, StatusCode, header};
use rescard_store::Role;
use serde_json::json;

use crate::applications::{pdf, photo};
use crate::helpers::{As, Reply, TestApp, at, keep, multipart, spawn_app};

const HOST: &str = "127.0.0.1:8080";
const ORIGIN: &str = "http://127.0.0.1:8080";

/// A request to the pages as a browser of this site sends it.
async fn browse(
    app: &TestApp,
    method: Method,
    uri: &str,
    cookie: Option<&str>,
    body: Option<(String, Vec<u8>)>,
) -> Reply {
    let mut req = Request::builder()
        .method(method.clone())
        .uri(uri)
        .header(header::HOST, HOST);
    if method == Method::POST {
        req = req.header(header::ORIGIN, ORIGIN);
    }
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let (ct, bytes) = body.unwrap_or_default();
    if !ct.is_empty() {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    app.request(req.body(axum::body::Body::from(bytes)).expect("request"))
        .await
}

fn form(pairs: &[(&str, &str)]) -> (String, Vec<u8>) {
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    (
        "application/x-www-form-urlencoded".into(),
        encoded.join("&").into_bytes(),
    )
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn html(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.bytes).into_owned()
}

fn card_form(nationality: &str) -> (String, Vec<u8>) {
    form(&[
        ("email", "aigerim@example.kg"),
        ("lang", "ky"),
        ("surname", "ABDYKADYROVA-NURLANOVA"),
        ("given_names", "AIGERIM ZHANYBEKOVNA"),
        ("date_of_birth", "1991-04-17"),
        ("sex", "F"),
        ("nationality", nationality),
        ("passport_number", "FA1234567"),
        ("permit", "work"),
        ("valid_from", "2026-12-01"),
        ("valid_until", "2027-11-30"),
    ])
}

/// Files the reference application from the form; its id and the cookie the browser keeps.
async fn file_from_the_form(app: &TestApp) -> (String, String, String) {
    let filed = browse(
        app,
        Method::POST,
        "/apply/card?lang=ky",
        None,
        Some(card_form("UZB")),
    )
    .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", html(&filed));
    let set_cookie = filed.headers[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        set_cookie.contains("Path=/apply")
            && set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().expect("cookie").to_owned();
    let (id, secret) = cookie
        .strip_prefix("rescard_apply=")
        .and_then(|v| v.split_once('.'))
        .expect("id.secret");
    let page = html(&filed);
    assert!(
        page.contains(id) && page.contains(secret),
        "the number and secret are shown once"
    );
    (id.to_owned(), secret.to_owned(), cookie)
}

async fn upload(
    app: &TestApp,
    id: &str,
    cookie: &str,
    name: &str,
    ct: &str,
    bytes: &[u8],
) -> Reply {
    browse(
        app,
        Method::POST,
        &format!("/apply/status/{id}/documents?lang=ky"),
        Some(cookie),
        Some(multipart(&[("name", name)], &[("file", ct, bytes)])),
    )
    .await
}

#[tokio::test]
async fn an_applicant_files_uploads_submits_and_downloads_the_card_from_the_pages() {
    let app = spawn_app();
    let front = browse(&app, Method::GET, "/apply?lang=ky", None, None).await;
    assert_eq!(front.status, StatusCode::OK);
    let page = html(&front);
    assert!(
        page.contains("<html lang=\"ky\">") && page.contains("id=\"kind-interim\""),
        "{page}"
    );
    assert!(
        front.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("csp")
            .contains("default-src 'none'")
    );
    assert!(!page.contains("<script"));

    // A refused field is marked, its error beside it, and what was typed kept.
    let refused = browse(
        &app,
        Method::POST,
        "/apply/card?lang=ky",
        None,
        Some(card_form("KGZ")),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&refused);
    assert!(
        page.contains("id=\"e-nationality\"") && page.contains("aria-invalid=\"true\""),
        "{page}"
    );
    assert!(page.contains("value=\"ABDYKADYROVA-NURLANOVA\""));

    let (id, _, cookie) = file_from_the_form(&app).await;
    let status = browse(
        &app,
        Method::GET,
        &format!("/apply/status/{id}?lang=ky"),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(status.status, StatusCode::OK);
    let page = html(&status);
    assert!(
        page.contains("data-status=\"draft\"") && page.contains("Эмгек келишими"),
        "the missing contract, in Kyrgyz: {page}"
    );
    assert!(page.contains("id=\"how-to-pay\"") && page.contains("4000"));

    let bad = upload(&app, &id, &cookie, "passport", "text/plain", b"hello").await;
    assert_eq!(bad.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(html(&bad).contains("id=\"error\""));
    for (name, ct, bytes) in [
        ("passport", "application/pdf", pdf("p")),
        ("photo", "image/png", photo()),
    ] {
        let r = upload(&app, &id, &cookie, name, ct, &bytes).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    }
    let early = browse(
        &app,
        Method::POST,
        &format!("/apply/status/{id}/submission?lang=ky"),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(html(&early).contains("contract"), "{}", html(&early));
    upload(&app, &id, &cookie, "contract", "application/pdf", &pdf("c")).await;
    let submitted = browse(
        &app,
        Method::POST,
        &format!("/apply/status/{id}/submission?lang=ky"),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(submitted.status, StatusCode::SEE_OTHER);
    let page = html(
        &browse(
            &app,
            Method::GET,
            &format!("/apply/status/{id}?lang=ky&done=submit"),
            Some(&cookie),
            None,
        )
        .await,
    );
    assert!(page.contains("data-status=\"submitted\"") && page.contains("id=\"notice\""));
    assert!(
        !page.contains("id=\"upload\""),
        "closed to uploads once submitted"
    );

    // Paid, reviewed and approved over the API; the page shows the decision and the card.
    let pay = json!({"reference": "KICB-7", "amount": 4000});
    assert_eq!(
        app.call(
            Method::POST,
            &format!("/api/v1/applications/{id}/payment"),
            As::Role(Role::Bank),
            Some(pay)
        )
        .await
        .status,
        StatusCode::OK
    );
    let review = json!({"recommendation": "approve"});
    assert_eq!(
        app.call(
            Method::POST,
            &format!("/api/v1/applications/{id}/review"),
            As::Role(Role::Issuer),
            Some(review)
        )
        .await
        .status,
        StatusCode::OK
    );
    let second = keep(
        app.registry()
            .create_token(
                "issuer-2",
                Role::Issuer,
                "setup",
                at("2026-11-21T09:00:00Z"),
            )
            .expect("token"),
    );
    let decided = app
        .call(
            Method::POST,
            &format!("/api/v1/applications/{id}/decision"),
            As::Bearer(second),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(decided.status, StatusCode::OK);
    let page = html(
        &browse(
            &app,
            Method::GET,
            &format!("/apply/status/{id}?lang=ky"),
            Some(&cookie),
            None,
        )
        .await,
    );
    assert!(
        page.contains("data-outcome=\"approved\"") && page.contains("id=\"download-card\""),
        "{page}"
    );
    let card = browse(
        &app,
        Method::GET,
        &format!("/apply/status/{id}/card.png"),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(
        (
            card.status,
            card.headers[header::CONTENT_TYPE].to_str().ok()
        ),
        (StatusCode::OK, Some("image/png"))
    );
    let v = app.verify_image("image/png", card.bytes).await.json();
    assert_eq!(v["serial"], decided.json()["serial"]);
}

#[tokio::test]
async fn the_application_page_opens_only_with_its_own_number_and_secret() {
    let app = spawn_app();
    let (id, secret, cookie) = file_from_the_form(&app).await;
    let (other, _, other_cookie) = file_from_the_form(&app).await;
    // No cookie, or another application's: the form to open it, no page.
    for c in [None, Some(other_cookie.as_str())] {
        let r = browse(&app, Method::GET, &format!("/apply/status/{id}"), c, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(html(&r).contains("id=\"open\"") && !html(&r).contains("data-status"));
    }
    let wrong = browse(
        &app,
        Method::POST,
        "/apply/status",
        None,
        Some(form(&[("id", &id), ("secret", "rca_wrong")])),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let opened = browse(
        &app,
        Method::POST,
        "/apply/status",
        None,
        Some(form(&[("id", &id), ("secret", &secret)])),
    )
    .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert!(
        opened.headers[header::SET_COOKIE]
            .to_str()
            .expect("c")
            .starts_with(&cookie)
    );
    // A form posted from another site is refused, cookie or not.
    let foreign = Request::builder()
        .method(Method::POST)
        .uri(format!("/apply/status/{id}/submission"))
        .header(header::HOST, HOST)
        .header(header::ORIGIN, "https://evil.example")
        .header(header::COOKIE, &cookie)
        .body(axum::body::Body::empty())
        .expect("request");
    assert_eq!(app.request(foreign).await.status, StatusCode::FORBIDDEN);
    // The withdrawal needs its tick; then the application is withdrawn.
    let unticked = browse(
        &app,
        Method::POST,
        &format!("/apply/status/{other}/withdrawal"),
        Some(&other_cookie),
        Some(form(&[])),
    )
    .await;
    assert_eq!(unticked.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = browse(
        &app,
        Method::POST,
        &format!("/apply/status/{other}/withdrawal"),
        Some(&other_cookie),
        Some(form(&[("confirm", "yes")])),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = html(
        &browse(
            &app,
            Method::GET,
            &format!("/apply/status/{other}"),
            Some(&other_cookie),
            None,
        )
        .await,
    );
    assert!(page.contains("data-status=\"withdrawn\"") && !page.contains("id=\"withdraw\""));
    assert_eq!(
        browse(&app, Method::GET, "/apply/visa", None, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
