//! Photo checks within their bounds: the pixel limit by caller, the cap on decodes in flight, and
//! the check page's rate limit, answered with the right status and `Retry-After`.

use axum::http::{Method, StatusCode};
use rescard::server::ServiceConfig;
use rescard_store::Role;
use serde_json::json;

use crate::helpers::{As, CHECK_TIME, TestApp, spawn_app_with};

/// The test defaults: rate limits out of the way.
fn config() -> ServiceConfig {
    ServiceConfig {
        anonymous_verify_per_minute: 100_000,
        failed_signin_per_minute: 100_000,
        ..Default::default()
    }
}

/// Issues the reference card and returns its payload, with the clock inside its validity.
async fn card(app: &TestApp) -> String {
    let card = app.issue_reference().await;
    app.set_time(CHECK_TIME);
    card["payload"].as_str().expect("payload").to_owned()
}

/// A 48-megapixel PNG (8000 x 6000, mostly flat: a few hundred kilobytes) of `payload`'s code on a
/// grey desk, modules of 12 pixels.
fn photo_48_megapixels(payload: &str) -> Vec<u8> {
    let code = rescard_qr::render_luma(payload, 12).expect("render");
    let mut photo = image::GrayImage::from_pixel(8000, 6000, image::Luma([150]));
    image::imageops::overlay(&mut photo, &code, 3000, 2500);
    let mut png = Vec::new();
    photo
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    png
}

/// A multipart form for `/check` with one field.
fn form(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "XyZrescardImages";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"card.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn check_page(app: &TestApp, name: &str, bytes: &[u8]) -> crate::helpers::Reply {
    let (content_type, body) = form(name, bytes);
    app.send(
        Method::POST,
        "/check?lang=en",
        As::Anonymous,
        Some(&content_type),
        body,
    )
    .await
}

fn retry_after(reply: &crate::helpers::Reply) -> u64 {
    reply.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

#[tokio::test]
async fn a_48_megapixel_photo_is_refused_without_a_token_and_read_with_one() {
    let app = spawn_app_with(config());
    let payload = card(&app).await;
    let photo = photo_48_megapixels(&payload);

    let anonymous = app.verify_image("image/png", photo.clone()).await;
    assert_eq!(anonymous.status, StatusCode::PAYLOAD_TOO_LARGE);
    let error = &anonymous.json()["error"];
    assert_eq!(error["code"], "image_too_large");
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("48.0 megapixels") && message.contains("24.0 megapixels accepted"),
        "the message names the image's size and the limit: {message}"
    );

    let page = check_page(&app, "photo", &photo).await;
    let html = String::from_utf8(page.bytes).expect("utf-8");
    assert!(
        html.contains("id=\"error\"") && html.contains("24.0 megapixels"),
        "the check page shares the anonymous limit: {html}"
    );

    let with_token = app
        .send(
            Method::POST,
            "/api/v1/verify",
            As::Role(Role::Police),
            Some("image/png"),
            photo,
        )
        .await;
    assert_eq!(
        with_token.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&with_token.bytes)
    );
    assert_eq!(with_token.json()["verdict"], "valid");
}

#[tokio::test]
async fn photos_past_the_cap_on_decodes_in_flight_get_503_with_retry_after() {
    let app = spawn_app_with(ServiceConfig {
        image_decodes_in_flight: 1,
        ..config()
    });
    let payload = card(&app).await;
    let qr = rescard_qr::render_png(&payload, 4).expect("png");

    let held = app.state.decode_slots().try_take().expect("a free slot");
    let busy = app.verify_image("image/png", qr.clone()).await;
    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!((1..=10).contains(&retry_after(&busy)));
    let error = &busy.json()["error"];
    assert_eq!(error["code"], "image_checks_busy");
    assert!(
        error["message"]
            .as_str()
            .expect("message")
            .contains("try again")
    );

    // What the header refuses needs no slot: 2.5 gigapixels declared in 65 bytes.
    let bomb = include_bytes!("../../fixtures/images/portrait-bomb.png").to_vec();
    let refused = app.verify_image("image/png", bomb).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(refused.json()["error"]["code"], "image_too_large");

    let page = check_page(&app, "photo", &qr).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!((1..=10).contains(&retry_after(&page)));
    assert!(
        page.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );

    // Everything but photos carries on.
    assert_eq!(
        app.post_ok(
            "/api/v1/verify",
            As::Anonymous,
            json!({ "payload": payload })
        )
        .await["verdict"],
        "valid"
    );
    assert_eq!(
        app.call(Method::GET, "/healthz", As::Anonymous, None)
            .await
            .status,
        StatusCode::OK
    );

    drop(held);
    let read = app.verify_image("image/png", qr).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json()["verdict"], "valid");
    assert!(
        app.state.decode_slots().try_take().is_some(),
        "the slot is given back when the decode ends"
    );
}

#[tokio::test]
async fn the_check_page_answers_a_rate_limit_with_429_and_retry_after() {
    let app = spawn_app_with(ServiceConfig {
        anonymous_verify_per_minute: 1,
        ..config()
    });
    let payload = card(&app).await;
    let first = check_page(&app, "payload", payload.as_bytes()).await;
    assert_eq!(first.status, StatusCode::OK);
    let limited = check_page(&app, "payload", payload.as_bytes()).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=60).contains(&retry_after(&limited)));
    let html = String::from_utf8(limited.bytes).expect("utf-8");
    assert!(
        html.contains("id=\"error\"") && html.contains("try again"),
        "still the page, saying why: {html}"
    );
}
