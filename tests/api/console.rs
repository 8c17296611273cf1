//! The staff console's sessions: who may sign in, what a session cookie is (not the token), and how a
//! session ends (sign-out, revocation of its token); forged forms, foreign origins and bad cookies.

use axum::http::{Method, StatusCode};
use rescard::server::ServiceConfig;
use rescard_store::Role;

use crate::helpers::{Reply, TestApp, spawn_app, spawn_app_with};

/// A form request to the console, with a session cookie and an `Origin` if given.
async fn console(
    app: &TestApp,
    method: Method,
    uri: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    form: &str,
) -> Reply {
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header("cookie", format!("rescard_console={c}"));
    }
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    app.request(
        req.body(axum::body::Body::from(form.to_owned()))
            .expect("request"),
    )
    .await
}

/// Signs in with `token` and returns the session cookie's value and its whole `Set-Cookie`.
async fn sign_in(app: &TestApp, token: &str) -> (String, String) {
    let reply = console(
        app,
        Method::POST,
        "/console/sign-in",
        None,
        Some("http://127.0.0.1:8080"),
        &format!("token={token}"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let set_cookie = reply.headers["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let value = set_cookie
        .strip_prefix("rescard_console=")
        .and_then(|rest| rest.split(';').next())
        .expect("cookie value")
        .to_owned();
    (value, set_cookie)
}

/// The CSRF secret of the page.
fn csrf(page: &Reply) -> String {
    csrf_in(&String::from_utf8_lossy(&page.bytes))
}

/// The CSRF secret in a page's HTML.
fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf field")
        .to_owned()
}

fn signed_in(page: &Reply) -> bool {
    page.status == StatusCode::OK && !String::from_utf8_lossy(&page.bytes).contains("id=\"token\"")
}

#[tokio::test]
async fn the_console_lets_only_staff_in_and_refuses_forged_forms() {
    let app = spawn_app();
    let issuer = app.tokens[&Role::Issuer].clone();
    let police = app.tokens[&Role::Police].clone();
    let admin = app.tokens[&Role::Admin].clone();
    let bad = console(
        &app,
        Method::POST,
        "/console/sign-in",
        None,
        None,
        "token=rct_wrong",
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let police_in = console(
        &app,
        Method::POST,
        "/console/sign-in",
        None,
        None,
        &format!("token={police}"),
    )
    .await;
    assert_eq!(police_in.status, StatusCode::FORBIDDEN);

    let (session, set_cookie) = sign_in(&app, &issuer).await;
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict")
            && set_cookie.contains("Path=/console")
            && !set_cookie.contains("Secure"),
        "{set_cookie}"
    );
    // The cookie is a session id of its own, never the token.
    assert!(session.starts_with("rcs_"), "{session}");
    assert!(!set_cookie.contains(&issuer));
    let home = console(&app, Method::GET, "/console", Some(&session), None, "").await;
    assert!(signed_in(&home));
    // A token in the cookie is no session.
    for token in [&issuer, &police] {
        let page = console(&app, Method::GET, "/console", Some(token), None, "").await;
        assert!(!signed_in(&page), "a raw token opened the console");
    }

    // A card act without the session's CSRF secret is refused, and changes nothing.
    app.issue_reference().await;
    let forged = console(
        &app,
        Method::POST,
        "/console/cards/000000013/revoke",
        Some(&session),
        None,
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
    let stats = console(
        &app,
        Method::GET,
        "/console/stats",
        Some(&session),
        None,
        "",
    )
    .await;
    assert_eq!(stats.status, StatusCode::FORBIDDEN);
    let (admin_session, _) = sign_in(&app, &admin).await;
    let stats = console(
        &app,
        Method::GET,
        "/console/stats",
        Some(&admin_session),
        None,
        "",
    )
    .await;
    assert_eq!(stats.status, StatusCode::OK);
    let csv = console(
        &app,
        Method::GET,
        "/console/stats.csv",
        Some(&admin_session),
        None,
        "",
    )
    .await;
    let csv = String::from_utf8(csv.bytes).expect("utf-8");
    assert!(
        csv.contains("state,active,1") && csv.contains("nationality,UZB,1"),
        "{csv}"
    );
    let audit = console(
        &app,
        Method::GET,
        "/console/audit?lang=ru",
        Some(&admin_session),
        None,
        "",
    )
    .await;
    let audit = String::from_utf8(audit.bytes).expect("utf-8");
    assert!(audit.contains("intact") && audit.contains("lang=\"ru\""));
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server_and_so_does_revoking_its_token() {
    let app = spawn_app();
    let (session, _) = sign_in(&app, &app.tokens[&Role::Issuer]).await;
    let home = console(&app, Method::GET, "/console", Some(&session), None, "").await;
    let secret = csrf(&home);
    // Without the form's secret, sign-out is refused: no page elsewhere can sign staff out.
    let refused = console(
        &app,
        Method::POST,
        "/console/sign-out",
        Some(&session),
        None,
        "",
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let out = console(
        &app,
        Method::POST,
        "/console/sign-out",
        Some(&session),
        Some("http://127.0.0.1:8080"),
        &format!("csrf={secret}"),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );
    // A copy of the cookie kept from before no longer works.
    let after = console(&app, Method::GET, "/console", Some(&session), None, "").await;
    assert!(!signed_in(&after), "the session outlived its sign-out");

    // Revoking the token ends its sessions at once.
    let (session, _) = sign_in(&app, &app.tokens[&Role::Issuer]).await;
    let revoked = app
        .call(
            Method::DELETE,
            "/api/v1/tokens/issuer-1",
            crate::helpers::As::Role(Role::Admin),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = console(&app, Method::GET, "/console", Some(&session), None, "").await;
    assert!(!signed_in(&after), "the session outlived its token");
}

#[tokio::test]
async fn sign_in_and_sign_out_from_another_site_are_refused() {
    let app = spawn_app();
    let issuer = app.tokens[&Role::Issuer].clone();
    for origin in ["https://evil.example", "null", "http://127.0.0.1:9999"] {
        let reply = console(
            &app,
            Method::POST,
            "/console/sign-in",
            None,
            Some(origin),
            &format!("token={issuer}"),
        )
        .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{origin}");
        assert!(reply.headers.get("set-cookie").is_none(), "{origin}");
    }
    let (session, _) = sign_in(&app, &issuer).await;
    let secret = csrf(&console(&app, Method::GET, "/console", Some(&session), None, "").await);
    let reply = console(
        &app,
        Method::POST,
        "/console/sign-out",
        Some(&session),
        Some("https://evil.example"),
        &format!("csrf={secret}"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let still = console(&app, Method::GET, "/console", Some(&session), None, "").await;
    assert!(signed_in(&still));
}

#[tokio::test]
async fn behind_https_the_cookie_is_secure_and_only_the_public_origin_may_sign_in() {
    let app = spawn_app_with(ServiceConfig {
        public_url: Some("https://rescard.example.kg".into()),
        ..Default::default()
    });
    let issuer = app.tokens[&Role::Issuer].clone();
    let local = console(
        &app,
        Method::POST,
        "/console/sign-in",
        None,
        Some("http://127.0.0.1:8080"),
        &format!("token={issuer}"),
    )
    .await;
    assert_eq!(local.status, StatusCode::FORBIDDEN);
    let reply = console(
        &app,
        Method::POST,
        "/console/sign-in",
        None,
        Some("https://rescard.example.kg"),
        &format!("token={issuer}"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let set_cookie = reply.headers["set-cookie"].to_str().expect("ascii");
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
}

#[tokio::test]
async fn bad_session_cookies_count_against_the_failed_sign_in_limit() {
    let app = spawn_app_with(ServiceConfig {
        failed_signin_per_minute: 3,
        ..Default::default()
    });
    let mut statuses = Vec::new();
    for i in 0..5 {
        let cookie = format!("rcs_guess{i}");
        let reply = console(&app, Method::GET, "/console/stats", Some(&cookie), None, "").await;
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::SEE_OTHER,
            StatusCode::SEE_OTHER,
            StatusCode::SEE_OTHER,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // A bad sign-in shares the same allowance.
    let reply = console(
        &app,
        Method::POST,
        "/console/sign-in",
        None,
        None,
        "token=rct_x",
    )
    .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}

/// A multipart form of text fields and one file field, `portrait`.
fn multipart(fields: &[(&str, &str)], portrait: &[u8]) -> (String, Vec<u8>) {
    crate::helpers::multipart(fields, &[("portrait", "image/png", portrait)])
}

#[tokio::test]
async fn the_console_refuses_a_portrait_that_does_not_decode() {
    let app = spawn_app();
    let (session, _) = sign_in(&app, &app.tokens[&Role::Issuer]).await;
    let csrf = csrf(&console(&app, Method::GET, "/console", Some(&session), None, "").await);
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
            .header("cookie", format!("rescard_console={session}"))
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

/// Text an older registry may hold, written before reasons were checked, cannot reorder the page
/// around it: it is isolated in `<bdi>`, and escaped.
#[tokio::test]
async fn registry_text_with_direction_overrides_is_isolated_on_the_card_page() {
    let app = spawn_app();
    app.issue_reference().await;
    app.registry()
        .storage()
        .raw_execute(
            "UPDATE cards SET state = 'suspended', state_reason = ?1 WHERE serial = '000000013'",
            &["\u{202e}DILAV <b>x</b>"],
        )
        .expect("old text");
    let (session, _) = sign_in(&app, &app.tokens[&Role::Issuer]).await;
    let page = console(
        &app,
        Method::GET,
        "/console/cards/000000013",
        Some(&session),
        None,
        "",
    )
    .await;
    let html = String::from_utf8(page.bytes).expect("utf-8");
    assert!(
        html.contains("<bdi>\u{202e}DILAV &#60;b&#62;x&#60;/b&#62;</bdi>"),
        "{html}"
    );
}

/// The console speaks Kyrgyz, Russian and English, chosen by `?lang=` or the browser's language, and
/// a card page offers the acts the card's state allows and no other; an act its state refuses is
/// refused when posted all the same, and the card is left as it was.
#[tokio::test]
async fn the_console_speaks_three_languages_and_offers_only_the_acts_a_state_allows() {
    let app = spawn_app();
    app.issue_reference().await;
    let (session, _) = sign_in(&app, &app.tokens[&Role::Issuer]).await;
    let page = |uri: &'static str, accept: Option<&'static str>| {
        let mut req = axum::http::Request::builder()
            .uri(uri)
            .header("cookie", format!("rescard_console={session}"));
        if let Some(a) = accept {
            req = req.header("accept-language", a);
        }
        let req = req.body(axum::body::Body::empty()).expect("request");
        async { String::from_utf8(app.request(req).await.bytes).expect("utf-8") }
    };
    let ky = page("/console?lang=ky", None).await;
    assert!(
        ky.contains("<html lang=\"ky\">") && ky.contains("Картаны берүү"),
        "{ky}"
    );
    let ru = page("/console", Some("ru-KG,ru;q=0.9,en;q=0.5")).await;
    assert!(
        ru.contains("<html lang=\"ru\">") && ru.contains("Выдать карту"),
        "{ru}"
    );
    let en = page("/console", None).await;
    assert!(en.contains("<html lang=\"en\">") && en.contains("Issue the card"));

    let forms = |html: &str| -> Vec<String> {
        html.split("id=\"act-")
            .skip(1)
            .filter_map(|rest| rest.split('"').next().map(str::to_owned))
            .collect()
    };
    let card = page("/console/cards/000000013?lang=ky", None).await;
    assert_eq!(forms(&card), ["extend", "suspend", "replace", "revoke"]);
    assert!(card.contains("жарактуу") && card.contains("Жокко чыгаруу"));

    let csrf = csrf_in(&card);
    let suspend = console(
        &app,
        Method::POST,
        "/console/cards/000000013/suspend?lang=ky",
        Some(&session),
        None,
        &format!("csrf={csrf}&reason=inquiry"),
    )
    .await;
    assert_eq!(suspend.status, StatusCode::SEE_OTHER);
    assert_eq!(
        suspend.headers["location"],
        "/console/cards/000000013?lang=ky&done=suspend"
    );
    let card = page("/console/cards/000000013?lang=ky&done=suspend", None).await;
    assert_eq!(forms(&card), ["extend", "reinstate", "revoke"]);
    assert!(
        card.contains("Убактылуу токтотулду: 000000013"),
        "the notice"
    );

    let before = app.audit_len();
    let replace = console(
        &app,
        Method::POST,
        "/console/cards/000000013/replace",
        Some(&session),
        None,
        &format!("csrf={csrf}&reason=lost&confirm=yes"),
    )
    .await;
    assert_eq!(replace.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        String::from_utf8_lossy(&replace.bytes).contains("cannot replace a card that is suspended")
    );
    let unconfirmed = console(
        &app,
        Method::POST,
        "/console/cards/000000013/revoke",
        Some(&session),
        None,
        &format!("csrf={csrf}&reason=fraud"),
    )
    .await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.audit_len(), before, "neither act was done");
}
