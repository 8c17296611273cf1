//! Who may do what (every role and anonymous against every endpoint), and what each role sees.

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use rescard_store::Role;
use serde_json::{Value, json};

use rescard::server::RouteInfo;
use rescard::server::auth::Access;

use crate::helpers::{As, CHECK_TIME, reference_application, spawn_app};

fn everyone() -> Vec<As> {
    let mut all = vec![As::Anonymous, As::BadToken];
    all.extend(Role::ALL.into_iter().map(As::Role));
    all
}

/// A request to `route` that its callers may make: the path filled in, a body of the right shape.
fn example(
    route: &RouteInfo,
    serial: &str,
    payload: &str,
    application: &str,
) -> (String, Option<Value>) {
    let uri = route
        .path
        .replace("{serial}", serial)
        .replace("{id}", application)
        .replace("/documents/{name}", "/documents/passport")
        .replace("{kind}", "card")
        .replace("{file}", "card.png")
        .replace("{name}", "employer-2")
        .replace("{act}", "card.png");
    let body = match (route.method.as_str(), route.path) {
        ("POST", "/api/v1/cards") => Some(reference_application()),
        ("POST", "/api/v1/cards/{serial}/extensions") => {
            Some(json!({"valid_until": "2028-11-30", "reason": "renewal"}))
        }
        ("POST", p) if p.starts_with("/api/v1/cards/") => Some(json!({"reason": "check"})),
        ("POST", "/api/v1/verify") => Some(json!({ "payload": payload })),
        ("POST", "/api/v1/verify/batch") => Some(json!({ "payloads": [payload] })),
        ("POST", "/api/v1/tokens") => Some(json!({"name": "new-officer", "role": "issuer"})),
        ("POST", "/api/v1/applications") => Some(crate::applications::card_application()),
        ("POST", "/api/v1/applications/{id}/payment") => {
            Some(json!({"reference": "PAY-1", "amount": 4000}))
        }
        ("POST", "/api/v1/applications/{id}/review") => {
            Some(json!({"recommendation": "approve", "note": ""}))
        }
        ("POST", "/api/v1/applications/{id}/decision") => {
            Some(json!({"decision": "refuse", "reason": "check"}))
        }
        _ => None,
    };
    (uri, body)
}

/// The access matrix, walked from the router's own table: a route added without a group, or put in
/// the wrong one, fails here.
#[tokio::test]
async fn every_role_and_anonymous_against_every_route_of_the_router() {
    let app = spawn_app();
    let card = app.issue_reference().await;
    let serial = card["serial"].as_str().expect("serial").to_owned();
    let payload = card["payload"].as_str().expect("payload").to_owned();
    let filed = app
        .post_created(
            "/api/v1/applications",
            As::Anonymous,
            crate::applications::card_application(),
        )
        .await;
    let application = filed["id"].as_str().expect("id").to_owned();
    assert!(app.routes.len() >= 30, "{:?}", app.routes);
    for route in &app.routes {
        let (uri, body) = example(route, &serial, &payload, &application);
        let method = route.method.clone();
        for who in everyone() {
            let reply = app.call(method.clone(), &uri, who, body.clone()).await;
            let status = reply.status;
            // The route is the router's: it is never the fallback's 404 or 405.
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
            if status == StatusCode::NOT_FOUND {
                assert_ne!(reply.json()["error"]["code"], "not_found", "{method} {uri}");
            }
            if route.access == Access::ApplyPages {
                // Header tokens do not open an application's page: only the cookie its number and
                // secret set does.
                let open = route.path == "/apply" || route.path == "/apply/{kind}";
                assert!(
                    open || !status.is_success(),
                    "{method} {uri} as {who:?} without the application's cookie: {status}"
                );
                continue;
            }
            if route.access == Access::Console {
                // Header tokens do not open the console: only its own sessions do.
                let open = ["/console", "/console/sign-in"].contains(&route.path);
                assert!(
                    open || !status.is_success(),
                    "{method} {uri} as {who:?} without a console session: {status}"
                );
                continue;
            }
            // An application's own acts are its applicant's (by its secret, which no caller here
            // holds): staff may read it, not act for its applicant.
            let applicant_only = route.access == Access::Applicant && route.method != Method::GET;
            let expected_denial = match (route.roles(), who) {
                (Some(_), As::Role(_)) if applicant_only => Some(StatusCode::FORBIDDEN),
                // Public routes that read the caller refuse a token that is not live.
                (None, As::BadToken)
                    if ["/api/v1/verify", "/api/v1/applications"].contains(&route.path) =>
                {
                    Some(StatusCode::UNAUTHORIZED)
                }
                (None, _) => None,
                (Some(_), As::Anonymous | As::BadToken) => Some(StatusCode::UNAUTHORIZED),
                (Some(roles), As::Role(role)) if roles.contains(&role) => None,
                (Some(_), As::Role(_)) => Some(StatusCode::FORBIDDEN),
                (_, As::Bearer(_)) => unreachable!("everyone() has no other bearers"),
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

/// Every route the OpenAPI document describes is in the router's table, in the group its security
/// says.
#[tokio::test]
async fn the_openapi_document_and_the_router_agree_on_who_may_call_what() {
    let app = spawn_app();
    let doc = app.openapi().await;
    let paths = doc["paths"].as_object().expect("paths");
    let mut described = 0;
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            if !["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            described += 1;
            let route = app
                .routes
                .iter()
                .find(|r| r.path == path && r.method.as_str().eq_ignore_ascii_case(method))
                .unwrap_or_else(|| panic!("{method} {path} is documented but not routed"));
            let security = operation["security"].as_array();
            let anonymous_allowed = security.is_none_or(|s| s.iter().any(|r| r == &json!({})));
            assert_eq!(
                anonymous_allowed,
                route.roles().is_none(),
                "{method} {path}: the document and the router disagree on whether a token is needed"
            );
        }
    }
    assert!(described >= 20, "{described}");
}

/// Who asks is checked before what they ask: a stranger's request to a guarded route is refused
/// with 401 before its body is read or parsed, whatever the body.
#[tokio::test]
async fn a_guarded_route_refuses_a_stranger_before_reading_the_body() {
    let app = spawn_app();
    let junk = vec![b'{'; 1_400_000];
    for route in app.routes.iter().filter(|r| r.roles().is_some()) {
        let uri = route
            .path
            .replace("{serial}", "000000013")
            .replace("{name}", "x");
        for who in [As::Anonymous, As::BadToken] {
            let reply = app
                .send(
                    route.method.clone(),
                    &uri,
                    who,
                    Some("application/json"),
                    junk.clone(),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{} {uri} as {who:?}: {}",
                route.method,
                String::from_utf8_lossy(&reply.bytes)
            );
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
async fn an_audit_row_edited_in_the_database_shows_in_the_api_and_in_audit_verify() {
    let app = spawn_app();
    app.issue_reference().await;
    let registry = app.registry();
    let tamper = |sql: &str| registry.storage().raw_execute(sql, &[]).expect("tamper");
    tamper(if crate::helpers::on_postgres() {
        "DROP TRIGGER audit_append_only ON audit"
    } else {
        "DROP TRIGGER audit_append_only_update"
    });
    tamper("UPDATE audit SET actor = 'nobody' WHERE action = 'issue'");
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
        .arg("--database")
        .arg(crate::helpers::database_arg(&app.location))
        .args(["audit", "verify"])
        .assert()
        .code(1)
        // The first issuer key, the five tokens, then the card.
        .stdout(predicates::str::contains("BROKEN at entry 7"));
}

#[tokio::test]
async fn the_last_admin_token_cannot_revoke_itself() {
    let app = spawn_app();
    let reply = app
        .call(
            Method::DELETE,
            "/api/v1/tokens/admin-1",
            As::Role(Role::Admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.json()["error"]["code"], "last_admin_token");
    // Still signed in: the refusal changed nothing.
    let reply = app
        .call(Method::GET, "/api/v1/tokens", As::Role(Role::Admin), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    // With a second admin, the first may go.
    let made = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            As::Role(Role::Admin),
            Some(json!({"name": "admin-2", "role": "admin"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let reply = app
        .call(
            Method::DELETE,
            "/api/v1/tokens/admin-1",
            As::Role(Role::Admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
}
