//! Applications over HTTP: filed by the applicant or an employer, completed with documents, paid at a
//! bank, reviewed by one officer and decided by another, the card following in the same act.

use axum::http::{Method, StatusCode};
use rescard_store::Role;
use serde_json::{Value, json};

use crate::helpers::{As, TestApp, at, keep, spawn_app, spawn_app_with};

const ISSUER: As = As::Role(Role::Issuer);
const BANK: As = As::Role(Role::Bank);
const EMPLOYER: As = As::Role(Role::Employer);

/// A `card` application for the reference holder, in Kyrgyz, a work permit.
pub fn card_application() -> Value {
    json!({
        "kind": "card",
        "email": "aigerim@example.kg",
        "lang": "ky",
        "surname": "ABDYKADYROVA-NURLANOVA",
        "given_names": "AIGERIM ZHANYBEKOVNA",
        "date_of_birth": "1991-04-17",
        "sex": "F",
        "nationality": "UZB",
        "permit": "work",
        "valid_from": "2026-12-01",
        "valid_until": "2027-11-30",
        "passport_number": "FA1234567",
    })
}

/// A PDF as far as the service checks one.
pub fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.7\n% {text}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n").into_bytes()
}

/// A face-sized PNG (the photo becomes the card's portrait).
pub fn photo() -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::from_pixel(240, 300, image::Rgb([190, 170, 150]))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

/// Files `body` as `who`; the application's id and its secret.
async fn file(app: &TestApp, who: As, body: Value) -> (String, As) {
    let filed = app.post_created("/api/v1/applications", who, body).await;
    let id = filed["id"].as_str().expect("id").to_owned();
    let secret = keep(filed["secret"].as_str().expect("secret").to_owned());
    (id, As::Bearer(secret))
}

async fn upload(
    app: &TestApp,
    id: &str,
    who: As,
    name: &str,
    ct: &str,
    bytes: Vec<u8>,
) -> StatusCode {
    app.send(
        Method::PUT,
        &format!("/api/v1/applications/{id}/documents/{name}"),
        who,
        Some(ct),
        bytes,
    )
    .await
    .status
}

async fn post(
    app: &TestApp,
    id: &str,
    act: &str,
    who: As,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let reply = app
        .call(
            Method::POST,
            &format!("/api/v1/applications/{id}/{act}"),
            who,
            body,
        )
        .await;
    (reply.status, reply.json())
}

async fn get(app: &TestApp, id: &str, who: As) -> Value {
    let reply = app
        .call(
            Method::GET,
            &format!("/api/v1/applications/{id}"),
            who,
            None,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.bytes)
    );
    reply.json()
}

/// A second issuing officer's token.
fn second_officer(app: &TestApp) -> As {
    let token = app
        .registry()
        .create_token(
            "issuer-2",
            Role::Issuer,
            "test-setup",
            at("2026-11-21T09:00:00Z"),
        )
        .expect("token");
    As::Bearer(keep(token))
}

/// The whole path: filed in Kyrgyz, a document missing, more asked for, paid, reviewed, refused to
/// the reviewer, approved by another officer, and the card downloaded and checked.
#[tokio::test]
async fn an_application_goes_from_filing_to_a_card_that_verifies() {
    let app = spawn_app();
    let filed = app
        .post_created("/api/v1/applications", As::Anonymous, card_application())
        .await;
    assert_eq!(
        (filed["status"].as_str(), filed["fee"].as_u64()),
        (Some("draft"), Some(4000))
    );
    assert_eq!(
        filed["required_documents"],
        json!(["passport", "photo", "contract"])
    );
    let id = filed["id"].as_str().expect("id").to_owned();
    let me = As::Bearer(keep(filed["secret"].as_str().expect("secret").to_owned()));

    assert_eq!(
        upload(
            &app,
            &id,
            me,
            "passport",
            "application/pdf",
            pdf("passport")
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        upload(&app, &id, me, "photo", "image/png", photo()).await,
        StatusCode::OK
    );
    let (status, refused) = post(&app, &id, "submission", me, None).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("documents_missing"))
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("contract")),
        "{refused}"
    );
    assert_eq!(
        get(&app, &id, me).await["missing_documents"],
        json!(["contract"])
    );
    assert_eq!(
        upload(
            &app,
            &id,
            me,
            "contract",
            "application/pdf",
            pdf("contract")
        )
        .await,
        StatusCode::OK
    );
    let (status, submitted) = post(&app, &id, "submission", me, None).await;
    assert_eq!(
        (status, submitted["status"].as_str()),
        (StatusCode::OK, Some("submitted"))
    );

    // The first officer asks for a clearer scan; the applicant sees what, not who.
    let ask = json!({"recommendation": "request_info", "note": "Паспорттун так сканын жүктөңүз"});
    let (status, _) = post(&app, &id, "review", ISSUER, Some(ask)).await;
    assert_eq!(status, StatusCode::OK);
    let mine = get(&app, &id, me).await;
    assert_eq!(
        (mine["status"].as_str(), mine["info_request"].as_str()),
        (Some("needs_info"), Some("Паспорттун так сканын жүктөңүз"))
    );
    assert!(
        mine.get("review").is_none(),
        "the internal review is staff's"
    );
    assert!(
        mine["history"]
            .as_array()
            .expect("history")
            .iter()
            .all(|e| e["actor"] != "issuer-1")
    );
    assert_eq!(
        upload(
            &app,
            &id,
            me,
            "passport",
            "application/pdf",
            pdf("a clearer passport")
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        post(&app, &id, "submission", me, None).await.0,
        StatusCode::OK
    );

    // The bank confirms the fee: the exact amount, once.
    let (status, wrong) = post(
        &app,
        &id,
        "payment",
        BANK,
        Some(json!({"reference": "KICB-1", "amount": 400})),
    )
    .await;
    assert_eq!(
        (status, wrong["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("payment_refused"))
    );
    let (status, paid) = post(
        &app,
        &id,
        "payment",
        BANK,
        Some(json!({"reference": "KICB-1", "amount": 4000})),
    )
    .await;
    assert_eq!(
        (status, paid["paid"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    assert!(
        paid.get("request").is_none(),
        "the bank learns the fee is paid, not the application"
    );

    let (status, _) = post(
        &app,
        &id,
        "review",
        ISSUER,
        Some(json!({"recommendation": "approve", "note": "in order"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let approve = json!({"decision": "approve"});
    let (status, same) = post(&app, &id, "decision", ISSUER, Some(approve.clone())).await;
    assert_eq!(
        (status, same["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("four_eyes"))
    );
    let cards_before = app.registry().card_count().expect("count");
    assert_eq!(cards_before, 0, "the refused decision issued nothing");

    let second = second_officer(&app);
    let (status, decided) = post(&app, &id, "decision", second, Some(approve)).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let serial = decided["serial"].as_str().expect("serial").to_owned();
    assert_eq!(decided["application"]["status"], "approved");
    app.set_time("2027-01-15T12:00:00Z");
    let v = app
        .verify(decided["payload"].as_str().expect("payload"), As::Anonymous)
        .await;
    assert_eq!(
        (v["verdict"].as_str(), v["document"].as_str()),
        (Some("valid"), Some("resident_card"))
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
    assert_eq!(
        record["has_portrait"], true,
        "the photo became the portrait"
    );
    assert_eq!(record["passport_number"], "FA1234567");

    // The applicant sees the decision and downloads the card; its QR verifies.
    let mine = get(&app, &id, me).await;
    assert_eq!(
        (
            mine["serial"].as_str(),
            mine["decision"]["outcome"].as_str()
        ),
        (Some(serial.as_str()), Some("approved"))
    );
    assert!(mine["decision"].get("by").is_none());
    let card = app
        .call(
            Method::GET,
            &format!("/api/v1/applications/{id}/card.png"),
            me,
            None,
        )
        .await;
    assert_eq!(
        (card.status, card.headers["content-type"].to_str().ok()),
        (StatusCode::OK, Some("image/png"))
    );
    let read = app.verify_image("image/png", card.bytes).await.json();
    assert_eq!(
        (read["verdict"].as_str(), read["serial"].as_str()),
        (Some("valid"), Some(serial.as_str()))
    );

    // Staff read the documents; nobody else does.
    let scan = app
        .call(
            Method::GET,
            &format!("/api/v1/applications/{id}/documents/passport"),
            ISSUER,
            None,
        )
        .await;
    assert_eq!(
        (scan.status, scan.bytes),
        (StatusCode::OK, pdf("a clearer passport"))
    );
    for who in [me, As::Role(Role::Police), BANK, As::Anonymous] {
        let reply = app
            .call(
                Method::GET,
                &format!("/api/v1/applications/{id}/documents/passport"),
                who,
                None,
            )
            .await;
        assert!(
            matches!(
                reply.status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ),
            "{who:?}: {}",
            reply.status
        );
    }
    let history: Vec<String> = get(&app, &id, ISSUER).await["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(history.first().map(String::as_str), Some("file"));
    assert_eq!(history.last().map(String::as_str), Some("approve"));
    let mail = app.registry().outbox(100).expect("outbox");
    assert!(mail.iter().all(|m| m.to == "aigerim@example.kg"
        && !m.body.contains("FA1234567")
        && !m.body.contains("31704199100013")));
    assert!(
        mail.iter().any(|m| m.subject.contains("жактырылды")),
        "the approval, in Kyrgyz"
    );
}

/// An employer files for two employees with its token; both wait in the queue, oldest first, and
/// the queue pages.
#[tokio::test]
async fn an_employer_files_for_two_employees_and_the_queue_shows_them() {
    let app = spawn_app();
    let mut second = card_application();
    second["surname"] = json!("IVANOVA");
    second["given_names"] = json!("OLGA");
    second["passport_number"] = json!("7512345678");
    second["nationality"] = json!("RUS");
    second["email"] = json!("olga@example.kg");
    second["lang"] = json!("ru");
    let mut ids = Vec::new();
    for body in [card_application(), second] {
        let (id, me) = file(&app, EMPLOYER, body).await;
        for (name, ct, bytes) in [
            ("passport", "application/pdf", pdf("p")),
            ("photo", "image/png", photo()),
            ("contract", "application/pdf", pdf("c")),
        ] {
            assert_eq!(upload(&app, &id, me, name, ct, bytes).await, StatusCode::OK);
        }
        assert_eq!(
            post(&app, &id, "submission", me, None).await.0,
            StatusCode::OK
        );
        assert_eq!(get(&app, &id, ISSUER).await["filed_by"], "employer-1");
        ids.push(id);
        let now = at("2026-11-21T09:00:00Z") + chrono::Duration::minutes(ids.len() as i64);
        app.set_time(&now.to_rfc3339());
    }
    let page = app
        .call(Method::GET, "/api/v1/applications?limit=1", ISSUER, None)
        .await
        .json();
    assert_eq!(
        page["applications"][0]["id"].as_str(),
        Some(ids[0].as_str())
    );
    let next = page["next"].as_str().expect("a next page");
    let page = app
        .call(
            Method::GET,
            &format!("/api/v1/applications?limit=1&after={next}"),
            ISSUER,
            None,
        )
        .await
        .json();
    assert_eq!(
        page["applications"][0]["id"].as_str(),
        Some(ids[1].as_str())
    );
    let all = app
        .call(
            Method::GET,
            "/api/v1/applications?status=submitted&kind=card",
            ISSUER,
            None,
        )
        .await
        .json();
    assert_eq!(all["applications"].as_array().map(Vec::len), Some(2));
    assert!(all["next"].is_null());
    let employer = app
        .call(Method::GET, "/api/v1/applications", EMPLOYER, None)
        .await;
    assert_eq!(
        employer.status,
        StatusCode::FORBIDDEN,
        "the queue is staff's"
    );
}

/// A refusal needs a reason, which the applicant reads; a withdrawal ends an application before its
/// decision; a secret opens its own application only.
#[tokio::test]
async fn a_refusal_a_withdrawal_and_a_secret_that_opens_one_application() {
    let app = spawn_app();
    let (refused, me) = file(&app, As::Anonymous, card_application()).await;
    for (name, ct, bytes) in [
        ("passport", "application/pdf", pdf("p")),
        ("photo", "image/png", photo()),
        ("contract", "application/pdf", pdf("c")),
    ] {
        upload(&app, &refused, me, name, ct, bytes).await;
    }
    post(&app, &refused, "submission", me, None).await;
    post(
        &app,
        &refused,
        "review",
        ISSUER,
        Some(json!({"recommendation": "refuse", "note": "forged contract"})),
    )
    .await;
    let second = second_officer(&app);
    let (status, e) = post(
        &app,
        &refused,
        "decision",
        second,
        Some(json!({"decision": "refuse"})),
    )
    .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason"))
    );
    let reason = "the employment contract could not be confirmed with the employer";
    let (status, decided) = post(
        &app,
        &refused,
        "decision",
        second,
        Some(json!({"decision": "refuse", "reason": reason})),
    )
    .await;
    assert_eq!(
        (status, decided["serial"].is_null()),
        (StatusCode::OK, true)
    );
    let mine = get(&app, &refused, me).await;
    assert_eq!(
        (mine["status"].as_str(), mine["decision"]["reason"].as_str()),
        (Some("refused"), Some(reason))
    );
    assert_eq!(app.registry().card_count().expect("count"), 0);
    let (status, late) = post(&app, &refused, "withdrawal", me, None).await;
    assert_eq!(
        (status, late["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("wrong_status"))
    );

    let (withdrawn, other) = file(&app, As::Anonymous, card_application()).await;
    let (status, body) = post(&app, &withdrawn, "withdrawal", other, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("withdrawn"))
    );
    // One application's secret opens no other, and says nothing about it.
    for (uri, method) in [
        (format!("/api/v1/applications/{withdrawn}"), Method::GET),
        (
            format!("/api/v1/applications/{withdrawn}/submission"),
            Method::POST,
        ),
    ] {
        let reply = app.call(method, &uri, me, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    assert_eq!(
        upload(
            &app,
            &withdrawn,
            other,
            "passport",
            "application/pdf",
            pdf("late")
        )
        .await,
        StatusCode::CONFLICT
    );
}

/// An extension or replacement names its card with the holder's passport number and date of
/// birth; any of the three wrong is refused alike. The approval extends or replaces that card.
#[tokio::test]
async fn an_extension_is_for_the_holder_of_its_card_and_approval_extends_it() {
    let app = spawn_app();
    let card = app.issue_reference().await;
    let serial = card["serial"].as_str().expect("serial");
    let extension = |serial: &str, passport: &str, born: &str| {
        json!({"kind": "extension", "email": "a@example.kg", "lang": "en", "serial": serial,
               "passport_number": passport, "date_of_birth": born, "valid_until": "2028-11-30"})
    };
    let mut messages = Vec::new();
    for body in [
        extension("000000021", "FA1234567", "1991-04-17"),
        extension(serial, "FA1234568", "1991-04-17"),
        extension(serial, "FA1234567", "1991-04-18"),
        extension("12345", "FA1234567", "1991-04-17"),
    ] {
        let reply = app
            .call(
                Method::POST,
                "/api/v1/applications",
                As::Anonymous,
                Some(body),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        messages.push(reply.json()["error"]["message"].clone());
    }
    assert!(
        messages.windows(2).all(|w| w[0] == w[1]),
        "no hint of which was wrong: {messages:?}"
    );

    let (id, me) = file(
        &app,
        As::Anonymous,
        extension(serial, "fa1234567", "1991-04-17"),
    )
    .await;
    assert_eq!(
        get(&app, &id, me).await["required_documents"],
        json!(["passport"])
    );
    upload(&app, &id, me, "passport", "application/pdf", pdf("p")).await;
    post(&app, &id, "submission", me, None).await;
    post(
        &app,
        &id,
        "payment",
        BANK,
        Some(json!({"reference": "P-9", "amount": 3000})),
    )
    .await;
    post(
        &app,
        &id,
        "review",
        ISSUER,
        Some(json!({"recommendation": "approve"})),
    )
    .await;
    let (status, decided) = post(
        &app,
        &id,
        "decision",
        second_officer(&app),
        Some(json!({"decision": "approve"})),
    )
    .await;
    assert_eq!(
        (status, decided["serial"].as_str()),
        (StatusCode::OK, Some(serial)),
        "{decided}"
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
    assert_eq!(record["valid_until"], "2028-11-30");
}

/// Anonymous filing is rate limited per client; an employer's token is not.
#[tokio::test]
async fn anonymous_filing_is_rate_limited() {
    let app = spawn_app_with(rescard::server::ServiceConfig {
        anonymous_filing_per_minute: 2,
        failed_signin_per_minute: 100_000,
        ..Default::default()
    });
    for _ in 0..2 {
        file(&app, As::Anonymous, card_application()).await;
    }
    let third = app
        .call(
            Method::POST,
            "/api/v1/applications",
            As::Anonymous,
            Some(card_application()),
        )
        .await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(third.headers.contains_key("retry-after"));
    file(&app, EMPLOYER, card_application()).await;
    // Another role's token files as the applicant, within the same allowance.
    let police = app
        .call(
            Method::POST,
            "/api/v1/applications",
            As::Role(Role::Police),
            Some(card_application()),
        )
        .await;
    assert_eq!(police.status, StatusCode::TOO_MANY_REQUESTS);
}

/// An interim permit is not extended: its extension is refused when filed, naming the kind.
#[tokio::test]
async fn an_interim_permit_cannot_be_applied_for_an_extension() {
    let app = spawn_app();
    let mut interim = crate::helpers::reference_application();
    interim["document"] = json!("interim");
    interim["valid_until"] = json!("2027-01-31");
    let permit = app.post_created("/api/v1/cards", ISSUER, interim).await;
    let body = json!({"kind": "extension", "email": "a@example.kg", "serial": permit["serial"],
        "passport_number": "FA1234567", "date_of_birth": "1991-04-17", "valid_until": "2027-03-31"});
    let reply = app
        .call(
            Method::POST,
            "/api/v1/applications",
            As::Anonymous,
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = reply.json();
    assert_eq!(
        (
            error["error"]["code"].as_str(),
            error["error"]["field"].as_str()
        ),
        (Some("not_extendable"), Some("kind"))
    );
}

/// A refused act: its name, method, path, caller, body, and the status and field it must get.
type Act<'a> = (
    &'a str,
    Method,
    String,
    As,
    Option<Value>,
    StatusCode,
    Option<&'a str>,
);

/// Bad input on every application endpoint: its 4xx JSON error naming the field, and nothing kept.
#[tokio::test]
async fn bad_application_requests_get_their_error_and_change_nothing() {
    let app = spawn_app();
    let (id, me) = file(&app, As::Anonymous, card_application()).await;
    let with = |field: &str, value: Value| {
        let mut body = card_application();
        body[field] = value;
        body
    };
    let before = app.audit_len();
    let apps = "/api/v1/applications";
    let filing: Vec<(&str, Value, StatusCode, Option<&str>)> = vec![
        (
            "an unknown kind",
            with("kind", json!("visa")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("kind"),
        ),
        (
            "no email",
            with("email", json!("")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("email"),
        ),
        (
            "an email without a domain",
            with("email", json!("a@b")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("email"),
        ),
        (
            "an unknown language",
            with("lang", json!("de")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("lang"),
        ),
        (
            "no passport",
            with("passport_number", Value::Null),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("passport_number"),
        ),
        (
            "a bad nationality, as issuance refuses it",
            with("nationality", json!("KGZ")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("nationality"),
        ),
        (
            "a year and a day",
            with("valid_until", json!("2027-12-01")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("valid_until"),
        ),
        (
            "an interim permit of three months",
            json!({"kind": "interim", "email": "a@example.kg", "surname": "A", "given_names": "", "date_of_birth": "1991-04-17", "nationality": "UZB", "permit": "work", "valid_from": "2026-12-01", "valid_until": "2027-02-28", "passport_number": "FA1234567"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("valid_until"),
        ),
        (
            "a card naming a serial",
            with("serial", json!("000000013")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("serial"),
        ),
        (
            "an unknown field",
            with("portrait", json!("AAAA")),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "an extension without its new end",
            json!({"kind": "extension", "email": "a@example.kg", "serial": "000000013", "passport_number": "FA1234567", "date_of_birth": "1991-04-17"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("valid_until"),
        ),
    ];
    for (name, body, status, field) in filing {
        let reply = app
            .call(Method::POST, apps, As::Anonymous, Some(body))
            .await;
        assert_eq!(
            reply.status,
            status,
            "{name}: {}",
            String::from_utf8_lossy(&reply.bytes)
        );
        if let Some(field) = field {
            assert_eq!(reply.json()["error"]["field"], field, "{name}");
        }
    }
    let doc = |name: &str| format!("{apps}/{id}/documents/{name}");
    let uploads: Vec<(&str, String, &str, Vec<u8>, StatusCode)> = vec![
        (
            "a text file",
            doc("passport"),
            "text/plain",
            b"hello".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "a PNG that is not one",
            doc("passport"),
            "image/png",
            b"GIF89a....".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a PDF without its end",
            doc("contract"),
            "application/pdf",
            b"%PDF-1.7\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a PDF as the photo",
            doc("photo"),
            "application/pdf",
            pdf("x"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a photo the card cannot print",
            doc("photo"),
            "image/png",
            include_bytes!("../../fixtures/images/portrait-bomb.png").to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "an empty body",
            doc("passport"),
            "application/pdf",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "an unknown document",
            doc("diploma"),
            "application/pdf",
            pdf("x"),
            StatusCode::NOT_FOUND,
        ),
        (
            "more than 8 MiB",
            doc("passport"),
            "application/pdf",
            vec![b'%'; 9 << 20],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (name, uri, ct, bytes, status) in uploads {
        let reply = app.send(Method::PUT, &uri, me, Some(ct), bytes).await;
        assert_eq!(
            reply.status,
            status,
            "{name}: {}",
            String::from_utf8_lossy(&reply.bytes)
        );
        assert!(reply.json()["error"]["code"].is_string(), "{name}");
    }
    let acts: Vec<Act> = vec![
        (
            "an id that cannot be one",
            Method::GET,
            format!("{apps}/nothex"),
            ISSUER,
            None,
            StatusCode::NOT_FOUND,
            None,
        ),
        (
            "no such application",
            Method::GET,
            format!("{apps}/{}", "0".repeat(24)),
            ISSUER,
            None,
            StatusCode::NOT_FOUND,
            None,
        ),
        (
            "a bad queue status",
            Method::GET,
            format!("{apps}?status=open"),
            ISSUER,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("status"),
        ),
        (
            "a queue page of 0",
            Method::GET,
            format!("{apps}?limit=0"),
            ISSUER,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("limit"),
        ),
        (
            "a page key that is not one",
            Method::GET,
            format!("{apps}?after=xyz"),
            ISSUER,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("after"),
        ),
        (
            "submitting what lacks documents",
            Method::POST,
            format!("{apps}/{id}/submission"),
            me,
            None,
            StatusCode::CONFLICT,
            None,
        ),
        (
            "a payment of text",
            Method::POST,
            format!("{apps}/{id}/payment"),
            BANK,
            Some(json!({"reference": "P", "amount": "4000"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "a payment reference with a line break",
            Method::POST,
            format!("{apps}/{id}/payment"),
            BANK,
            Some(json!({"reference": "P\n1", "amount": 4000})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("reference"),
        ),
        (
            "an unknown recommendation",
            Method::POST,
            format!("{apps}/{id}/review"),
            ISSUER,
            Some(json!({"recommendation": "maybe"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("recommendation"),
        ),
        (
            "asking for more without saying what",
            Method::POST,
            format!("{apps}/{id}/review"),
            ISSUER,
            Some(json!({"recommendation": "request_info"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("note"),
        ),
        (
            "reviewing a draft",
            Method::POST,
            format!("{apps}/{id}/review"),
            ISSUER,
            Some(json!({"recommendation": "approve"})),
            StatusCode::CONFLICT,
            None,
        ),
        (
            "an unknown decision",
            Method::POST,
            format!("{apps}/{id}/decision"),
            ISSUER,
            Some(json!({"decision": "yes"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("decision"),
        ),
        (
            "deciding what nobody reviewed",
            Method::POST,
            format!("{apps}/{id}/decision"),
            ISSUER,
            Some(json!({"decision": "refuse", "reason": "no"})),
            StatusCode::CONFLICT,
            None,
        ),
        (
            "the card of an application not approved",
            Method::GET,
            format!("{apps}/{id}/card.png"),
            me,
            None,
            StatusCode::CONFLICT,
            None,
        ),
        (
            "staff acting as the applicant",
            Method::POST,
            format!("{apps}/{id}/withdrawal"),
            ISSUER,
            None,
            StatusCode::FORBIDDEN,
            None,
        ),
    ];
    for (name, method, uri, who, body, status, field) in acts {
        let reply = app.call(method, &uri, who, body).await;
        assert_eq!(
            reply.status,
            status,
            "{name}: {}",
            String::from_utf8_lossy(&reply.bytes)
        );
        let error = reply.json();
        assert!(error["error"]["code"].is_string(), "{name}: {error}");
        if let Some(field) = field {
            assert_eq!(error["error"]["field"], field, "{name}");
        }
    }
    assert_eq!(app.audit_len(), before, "nothing refused was recorded");
    let mine = get(&app, &id, me).await;
    assert_eq!(
        (
            mine["status"].as_str(),
            mine["documents"].as_array().map(Vec::len)
        ),
        (Some("draft"), Some(0))
    );
}
