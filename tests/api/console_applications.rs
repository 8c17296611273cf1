//! The console's review queue: filtered and paged, an application with its documents, the review
//! form, and the decision form refused to the reviewer (four eyes) and taken by another officer.

use axum::http::{Method, Request, StatusCode, header};
use rescard_store::Role;
use serde_json::json;

use crate::applications::{card_application, pdf, photo};
use crate::helpers::{As, Reply, TestApp, at, keep, spawn_app};

/// Signs in to the console with `token`; the session cookie.
async fn session(app: &TestApp, token: &str) -> String {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/console/sign-in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!("token={token}")))
        .expect("request");
    let reply = app.request(req).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    reply.headers[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("cookie")
        .to_owned()
}

async fn get(app: &TestApp, cookie: &str, uri: &str) -> Reply {
    let req = Request::builder()
        .uri(uri)
        .header(header::COOKIE, cookie)
        .body(axum::body::Body::empty())
        .expect("request");
    app.request(req).await
}

async fn post(app: &TestApp, cookie: &str, uri: &str, form: &str) -> Reply {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(form.to_owned()))
        .expect("request");
    app.request(req).await
}

fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.bytes).into_owned()
}

fn csrf(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a csrf field")
        .to_owned()
}

/// A submitted application, with its documents, as the applicant leaves it.
async fn submitted(app: &TestApp, interim: bool) -> String {
    let mut body = card_application();
    if interim {
        body["kind"] = json!("interim");
        body["valid_until"] = json!("2027-01-31");
    }
    let filed = app
        .post_created("/api/v1/applications", As::Anonymous, body)
        .await;
    let id = filed["id"].as_str().expect("id").to_owned();
    let me = As::Bearer(keep(filed["secret"].as_str().expect("secret").to_owned()));
    for (name, ct, bytes) in [
        ("passport", "application/pdf", pdf("p")),
        ("photo", "image/png", photo()),
        ("contract", "application/pdf", pdf("c")),
    ] {
        let uri = format!("/api/v1/applications/{id}/documents/{name}");
        assert_eq!(
            app.send(Method::PUT, &uri, me, Some(ct), bytes)
                .await
                .status,
            StatusCode::OK
        );
    }
    let uri = format!("/api/v1/applications/{id}/submission");
    assert_eq!(
        app.call(Method::POST, &uri, me, None).await.status,
        StatusCode::OK
    );
    id
}

#[tokio::test]
async fn officers_review_and_decide_from_the_console_with_four_eyes() {
    let app = spawn_app();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(submitted(&app, i == 1).await);
        app.set_time(&(at("2026-11-21T09:00:00Z") + chrono::Duration::minutes(i + 1)).to_rfc3339());
    }
    let first = session(&app, &app.tokens[&Role::Issuer]).await;
    let queue = text(&get(&app, &first, "/console/applications?lang=ky").await);
    let order: Vec<&str> = queue
        .split("/console/applications/")
        .skip(1)
        .filter_map(|r| r.split('?').next())
        .collect();
    assert_eq!(
        order,
        ids.iter().map(String::as_str).collect::<Vec<_>>(),
        "oldest first"
    );
    assert!(queue.contains("Убактылуу уруксат"), "kinds in Kyrgyz");
    let interims = text(&get(&app, &first, "/console/applications?kind=interim").await);
    assert_eq!(interims.matches("class=\"application\"").count(), 1);
    let bad = get(&app, &first, "/console/applications?status=open").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&bad).contains("id=\"error\""));

    let id = &ids[0];
    let page = text(&get(&app, &first, &format!("/console/applications/{id}")).await);
    assert!(page.contains("id=\"review-form\"") && !page.contains("id=\"decision-form\""));
    assert!(page.contains(&format!("/console/applications/{id}/documents/passport")));
    let scan = get(
        &app,
        &first,
        &format!("/console/applications/{id}/documents/passport"),
    )
    .await;
    assert_eq!((scan.status, scan.bytes), (StatusCode::OK, pdf("p")));
    let token = csrf(&page);
    let forged = post(
        &app,
        &first,
        &format!("/console/applications/{id}/review"),
        "recommendation=approve",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "no CSRF secret");
    let reviewed = post(
        &app,
        &first,
        &format!("/console/applications/{id}/review?lang=en"),
        &format!("csrf={token}&recommendation=approve&note=in+order"),
    )
    .await;
    assert_eq!(reviewed.status, StatusCode::SEE_OTHER);
    app.call(
        Method::POST,
        &format!("/api/v1/applications/{id}/payment"),
        As::Role(Role::Bank),
        Some(json!({"reference": "KICB-3", "amount": 4000})),
    )
    .await;
    let page = text(&get(&app, &first, &format!("/console/applications/{id}")).await);
    assert!(
        page.contains("id=\"decision-form\"") && page.contains("id=\"own-review\""),
        "{page}"
    );
    let refused = post(
        &app,
        &first,
        &format!("/console/applications/{id}/decision"),
        &format!("csrf={}&decision=approve", csrf(&page)),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::CONFLICT,
        "the reviewer cannot decide"
    );
    assert!(text(&refused).contains("another officer"));

    let other = keep(
        app.registry()
            .create_token(
                "issuer-2",
                Role::Issuer,
                "setup",
                at("2026-11-21T09:00:00Z"),
            )
            .expect("token"),
    );
    let second = session(&app, other).await;
    let page = text(&get(&app, &second, &format!("/console/applications/{id}")).await);
    assert!(!page.contains("id=\"own-review\""));
    let approved = post(
        &app,
        &second,
        &format!("/console/applications/{id}/decision"),
        &format!("csrf={}&decision=approve", csrf(&page)),
    )
    .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    let page = text(
        &get(
            &app,
            &second,
            &format!("/console/applications/{id}?done=decision"),
        )
        .await,
    );
    assert!(
        page.contains("data-status=\"approved\"") && page.contains("id=\"issued-card\""),
        "{page}"
    );
    let queue = text(&get(&app, &second, "/console/applications").await);
    assert!(
        !queue.contains(id.as_str()),
        "a decided application leaves the queue"
    );
}
