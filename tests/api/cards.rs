//! Issuing and the registry acts over HTTP, checked through the verify endpoint.

use axum::http::{Method, StatusCode};
use rescard_store::Role;
use serde_json::json;

use crate::helpers::{As, CHECK_TIME, reference_application, spawn_app};

const ISSUER: As = As::Role(Role::Issuer);

#[tokio::test]
async fn issue_then_verify_anonymously_and_from_the_qr_png() {
    let app = spawn_app();
    let card = app.issue_reference().await;
    assert_eq!(card["serial"], "000000013");
    assert_eq!(card["itn"], "31704199100013");
    assert_eq!(card["valid_until"], "2027-11-30");
    app.set_time(CHECK_TIME);
    let payload = card["payload"].as_str().expect("payload");
    let v = app.verify(payload, As::Anonymous).await;
    assert_eq!(
        (v["verdict"].as_str(), v["status_source"].as_str()),
        (Some("valid"), Some("registry"))
    );

    let png = app
        .call(Method::GET, "/api/v1/cards/000000013/qr.png", ISSUER, None)
        .await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(png.headers["content-type"], "image/png");
    let reply = app.verify_image("image/png", png.bytes).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["serial"], "000000013");
}

#[tokio::test]
async fn the_record_shows_history_and_the_registry_only_fields() {
    let app = spawn_app();
    app.issue_reference().await;
    let record = app
        .call(Method::GET, "/api/v1/cards/000000013", ISSUER, None)
        .await
        .json();
    assert_eq!(record["state"], "active");
    assert_eq!(record["passport_number"], "FA1234567");
    assert_eq!(record["holder"]["nationality"], "UZB");
    assert_eq!(record["history"][0]["actor"], "issuer-1");
}

#[tokio::test]
async fn extension_suspension_revocation_and_replacement_show_in_verdicts() {
    let app = spawn_app();
    let card = app.issue_reference().await;
    let payload = card["payload"].as_str().expect("payload").to_owned();
    let uri = |act: &str| format!("/api/v1/cards/000000013/{act}");

    let r = app
        .call(
            Method::POST,
            &uri("extensions"),
            ISSUER,
            Some(json!({"valid_until": "2028-11-30", "reason": "renewal"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["valid_until"], "2028-11-30");
    app.set_time("2027-12-15T12:00:00Z");
    let v = app.verify(&payload, As::Anonymous).await;
    assert_eq!(
        (
            v["verdict"].as_str(),
            v["valid_until"].as_str(),
            v["printed_valid_until"].as_str()
        ),
        (Some("valid"), Some("2028-11-30"), Some("2027-11-30"))
    );

    assert_eq!(
        app.call(
            Method::POST,
            &uri("suspension"),
            ISSUER,
            Some(json!({"reason": "review"}))
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        app.verify(&payload, As::Anonymous).await["verdict"],
        "suspended"
    );
    assert_eq!(
        app.call(Method::DELETE, &uri("suspension"), ISSUER, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.verify(&payload, As::Anonymous).await["verdict"],
        "valid"
    );
    // A reinstatement's reason is optional: a JSON `null` is none, as no body is.
    for reinstatement in [json!({"reason": "cleared"}), json!(null)] {
        let suspension = json!({"reason": "review"});
        for (method, body) in [(Method::POST, suspension), (Method::DELETE, reinstatement)] {
            let reply = app
                .call(method, &uri("suspension"), ISSUER, Some(body))
                .await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{}",
                String::from_utf8_lossy(&reply.bytes)
            );
        }
    }

    let r = app
        .call(
            Method::POST,
            &uri("replacement"),
            ISSUER,
            Some(json!({"reason": "lost"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let new = r.json();
    let v = app.verify(&payload, As::Anonymous).await;
    assert_eq!(
        (v["verdict"].as_str(), v["replaced_by"].as_str()),
        (Some("replaced"), new["serial"].as_str())
    );
    let new_payload = new["payload"].as_str().expect("payload");
    assert_eq!(
        app.verify(new_payload, As::Anonymous).await["verdict"],
        "valid"
    );

    let new_uri = format!(
        "/api/v1/cards/{}/revocation",
        new["serial"].as_str().expect("serial")
    );
    assert_eq!(
        app.call(
            Method::POST,
            &new_uri,
            ISSUER,
            Some(json!({"reason": "fraud"}))
        )
        .await
        .status,
        StatusCode::OK
    );
    let v = app.verify(new_payload, As::Role(Role::Police)).await;
    assert_eq!(
        (v["verdict"].as_str(), v["state_reason"].as_str()),
        (Some("revoked"), Some("fraud"))
    );
}

#[tokio::test]
async fn refused_acts_are_409_and_change_nothing() {
    let app = spawn_app();
    app.issue_reference().await;
    let r = app
        .call(
            Method::POST,
            "/api/v1/cards/000000013/revocation",
            ISSUER,
            Some(json!({"reason": "fraud"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let before = app.audit_len();
    let r = app
        .call(
            Method::POST,
            "/api/v1/cards/000000013/extensions",
            ISSUER,
            Some(json!({"valid_until": "2028-11-30", "reason": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["error"]["code"], "rule_refused");
    let r = app
        .call(
            Method::DELETE,
            "/api/v1/cards/000000013/suspension",
            ISSUER,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(app.audit_len(), before);
}

#[tokio::test]
async fn the_same_passport_with_another_birth_date_is_a_conflict() {
    let app = spawn_app();
    app.issue_reference().await;
    let mut other = reference_application();
    other["date_of_birth"] = json!("1990-01-01");
    let r = app
        .call(Method::POST, "/api/v1/cards", ISSUER, Some(other))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["error"]["field"], "passport_number");
}

#[tokio::test]
async fn concurrent_issuance_never_duplicates_a_serial_or_itn() {
    let app = std::sync::Arc::new(spawn_app());
    let mut tasks = Vec::new();
    for i in 0..24 {
        let app = std::sync::Arc::clone(&app);
        tasks.push(tokio::spawn(async move {
            let mut application = reference_application();
            application["passport_number"] = json!(format!("PP{i:07}"));
            let r = app
                .call(Method::POST, "/api/v1/cards", ISSUER, Some(application))
                .await;
            assert_eq!(r.status, StatusCode::CREATED);
            let card = r.json();
            (
                card["serial"].as_str().unwrap_or_default().to_owned(),
                card["itn"].as_str().unwrap_or_default().to_owned(),
            )
        }));
    }
    let mut serials = std::collections::BTreeSet::new();
    let mut itns = std::collections::BTreeSet::new();
    for t in tasks {
        let (serial, itn) = t.await.expect("task");
        serials.insert(serial);
        itns.insert(itn);
    }
    assert_eq!((serials.len(), itns.len()), (24, 24));
}

#[tokio::test]
async fn photos_of_the_card_verify_through_the_endpoint() {
    let app = spawn_app();
    let card = app.issue_reference().await;
    app.set_time(CHECK_TIME);
    let payload = card["payload"].as_str().expect("payload");
    // This service's key is new on every run, so the payload and its QR pattern are too: the full set,
    // with its hardest images, is asserted on a fixed payload in rescard-qr's tests. Here every kind of
    // damage goes through the endpoint once, at a level any payload survives.
    let everyday = [
        "rotate-30",
        "rotate-180",
        "perspective-1",
        "blur-1",
        "noise-20",
        "jpeg-q15",
        "low-contrast-100-160",
        "glare-corner",
        "smudge-edge",
        "combo-small-rotate-glare",
    ];
    for sample in rescard_qr::photoset::generate(payload, 7)
        .into_iter()
        .filter(|s| everyday.contains(&s.name.as_str()))
    {
        let content_type = if sample.extension == "jpg" {
            "image/jpeg"
        } else {
            "image/png"
        };
        let reply = app.verify_image(content_type, sample.bytes).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", sample.name);
        assert_eq!(reply.json()["verdict"], "valid", "{}", sample.name);
    }
}

#[tokio::test]
async fn the_printable_card_carries_a_qr_that_verifies() {
    let app = spawn_app();
    let card = app.issue_reference().await;
    app.set_time(CHECK_TIME);
    let png = app
        .call(
            Method::GET,
            "/api/v1/cards/000000013/card.png",
            ISSUER,
            None,
        )
        .await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(png.headers["content-type"], "image/png");
    let image = image::load_from_memory(&png.bytes).expect("png");
    assert_eq!(
        (image.width(), image.height()),
        (1011, 638),
        "ID-1 at 300 dpi"
    );
    let reply = app.verify_image("image/png", png.bytes).await;
    assert_eq!(reply.json()["verdict"], "valid");
    assert_eq!(reply.json()["serial"], card["serial"]);
}

#[tokio::test]
async fn a_native_name_the_card_cannot_print_is_refused() {
    let app = spawn_app();
    let mut application = reference_application();
    application["native_name"] = json!("李小龙");
    let reply = app
        .call(Method::POST, "/api/v1/cards", ISSUER, Some(application))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["error"]["field"], "native_name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_issuance_is_committed_in_groups_and_a_refused_card_leaves_no_trace() {
    let app = std::sync::Arc::new(spawn_app());
    // The first card registers passport FA1234567 for its holder's date of birth.
    app.issue_reference().await;
    let audit_before = app.audit_len();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..40 {
        let app = std::sync::Arc::clone(&app);
        tasks.spawn(async move {
            let mut application = reference_application();
            if n % 5 == 0 {
                // The same passport with another birth date: refused (409).
                application["date_of_birth"] = json!("1990-01-01");
            } else {
                application["passport_number"] = json!(format!("FC{n:07}"));
            }
            let reply = app
                .call(Method::POST, "/api/v1/cards", ISSUER, Some(application))
                .await;
            (n, reply.status, reply.json())
        });
    }
    let mut serials = std::collections::BTreeSet::new();
    while let Some(done) = tasks.join_next().await {
        let (n, status, body) = done.expect("task");
        if n % 5 == 0 {
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
        } else {
            assert_eq!(status, StatusCode::CREATED, "{body}");
            serials.insert(body["serial"].as_str().expect("serial").to_owned());
        }
    }
    assert_eq!(serials.len(), 32);
    let registry = app.registry();
    assert_eq!(registry.card_count().expect("count"), 33);
    // Serials 1..=33 with no gaps: the refused cards took nothing, not even a number.
    let expected: std::collections::BTreeSet<String> = (2..=33)
        .map(|n| {
            rescard_core::Serial::from_sequence(n)
                .expect("serial")
                .to_string()
        })
        .collect();
    assert_eq!(serials, expected);
    assert_eq!(app.audit_len(), audit_before + 32);
}

/// The interim permit goes through the whole path as its own document: issued with `document`, at most
/// two months, verified as `interim` online and from its printed card, not extended, replaced as an
/// interim permit, and shown as such on the check page.
#[tokio::test]
async fn an_interim_permit_is_its_own_document_from_issue_to_check() {
    let app = spawn_app();
    let before = app.audit_len();
    let mut request = reference_application();
    request["document"] = json!("interim");
    request["valid_until"] = json!("2027-02-01");
    let refused = app
        .call(Method::POST, "/api/v1/cards", ISSUER, Some(request.clone()))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = refused.json();
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2027-01-31")),
        "{error}"
    );
    assert_eq!(app.audit_len(), before, "nothing issued");

    request["valid_until"] = json!("2027-01-31");
    let permit = app.post_created("/api/v1/cards", ISSUER, request).await;
    let serial = permit["serial"].as_str().expect("serial").to_owned();
    let payload = permit["payload"].as_str().expect("payload").to_owned();
    app.set_time("2027-01-15T12:00:00Z");
    let v = app.verify(&payload, As::Anonymous).await;
    assert_eq!(
        (v["verdict"].as_str(), v["document"].as_str()),
        (Some("valid"), Some("interim"))
    );
    let record = app
        .call(
            Method::GET,
            &format!("/api/v1/cards/{serial}"),
            ISSUER,
            None,
        )
        .await
        .json();
    assert_eq!(record["document"], "interim");

    // The printed card carries the QR of the same payload.
    let png = app
        .call(
            Method::GET,
            &format!("/api/v1/cards/{serial}/card.png"),
            ISSUER,
            None,
        )
        .await;
    assert_eq!(png.status, StatusCode::OK);
    let read = app.verify_image("image/png", png.bytes).await.json();
    assert_eq!(
        (read["serial"].as_str(), read["document"].as_str()),
        (Some(serial.as_str()), Some("interim"))
    );

    let page = String::from_utf8(app.check_page(&payload).await.bytes).expect("utf-8");
    assert!(
        page.contains("data-document=\"interim\"") && page.contains("Interim permit"),
        "{page}"
    );

    let extended = app
        .call(
            Method::POST,
            &format!("/api/v1/cards/{serial}/extensions"),
            ISSUER,
            Some(json!({"valid_until": "2027-03-31", "reason": "more time"})),
        )
        .await;
    assert_eq!(
        extended.status,
        StatusCode::CONFLICT,
        "{:?}",
        extended.json()
    );
    let replaced = app
        .post_created(
            &format!("/api/v1/cards/{serial}/replacement"),
            ISSUER,
            json!({"reason": "lost"}),
        )
        .await;
    let new = app
        .verify(
            replaced["payload"].as_str().expect("payload"),
            As::Anonymous,
        )
        .await;
    assert_eq!(
        (new["verdict"].as_str(), new["document"].as_str()),
        (Some("valid"), Some("interim"))
    );
    assert_eq!(new["valid_until"], "2027-01-31");
    let old = app.verify(&payload, As::Anonymous).await;
    assert_eq!(old["verdict"], "replaced");

    // A resident card reads as before: its document is the resident card.
    let card = app.issue_reference().await;
    let v = app
        .verify(card["payload"].as_str().expect("payload"), As::Anonymous)
        .await;
    assert_eq!(v["document"], "resident_card");
}
