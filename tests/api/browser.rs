//! The check page in a real browser: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`, which `scripts/test` installs). Upload the printed card's image,
//! see `valid`; revoke the card, upload again, see `revoked`; in Russian; on a 360-pixel phone screen.
//! Screenshots go to `target/screenshots/`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use fantoccini::{ClientBuilder, Locator};
use serde_json::{Value, json};

pub(crate) struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver on a free port and a headless Chromium session through it, `width` × `height`.
pub(crate) async fn browser(width: u32, height: u32) -> (Driver, fantoccini::Client) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        l.local_addr().expect("addr").port()
    };
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Driver)
        .expect("chromedriver (Debian's chromium-driver; scripts/test installs it)");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": "/usr/bin/chromium", "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            format!("--window-size={width},{height}")]}),
    );
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return (driver, c),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("chromedriver does not answer");
}

/// Opens the check page at `url`, uploads the photo `card_file`, and returns the verdict's name
/// (`data-verdict`) and its text.
async fn check_photo(c: &fantoccini::Client, url: &str, card_file: &Path) -> (String, String) {
    c.goto(url).await.expect("check page");
    c.find(Locator::Css("#photo"))
        .await
        .expect("file input")
        .send_keys(card_file.to_str().expect("path"))
        .await
        .expect("choose file");
    c.find(Locator::Css("button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
    let verdict = c
        .wait()
        .for_element(Locator::Css("#verdict"))
        .await
        .expect("a verdict");
    let name = verdict
        .attr("data-verdict")
        .await
        .expect("attr")
        .unwrap_or_default();
    (name, verdict.text().await.expect("text"))
}

pub(crate) fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn check_a_card_in_a_browser_valid_then_revoked() {
    // The service.
    let live = crate::helpers::live_server(
        rescard::server::ServiceConfig::default(),
        std::future::pending(),
    )
    .await;
    let (dir, base, token) = (&live.dir, live.base.clone(), live.token.clone());

    // A card, and its printed image as the holder would photograph it.
    let http = reqwest::Client::new();
    let today = rescard_core::domain::date::issuer_date(Utc::now());
    let card: Value = http
        .post(format!("{base}/api/v1/cards"))
        .bearer_auth(&token)
        .json(&json!({"surname": "ABDYKADYROVA-NURLANOVA", "given_names": "AIGERIM ZHANYBEKOVNA", "date_of_birth": "1991-04-17",
            "nationality": "UZB", "permit": "work", "valid_from": today.to_string(),
            "valid_until": rescard_core::ValidityPeriod::latest_end(today).to_string(), "native_name": "Абдыкадырова Айгерим"}))
        .send()
        .await
        .expect("issue")
        .json()
        .await
        .expect("json");
    let serial = card["serial"].as_str().expect("serial").to_owned();
    let png = http
        .get(format!("{base}/api/v1/cards/{serial}/card.png"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("card")
        .bytes()
        .await
        .expect("png");
    let card_file = dir.path().join("card.png");
    std::fs::write(&card_file, &png).expect("write");

    // The browser.
    let (driver, c) = browser(1200, 1000).await;
    let shots = screenshots();
    c.goto(&format!("{base}/")).await.expect("page");
    std::fs::write(
        shots.join("check-page.png"),
        c.screenshot().await.expect("screenshot"),
    )
    .expect("save");
    let (verdict, words) = check_photo(&c, &format!("{base}/?lang=en"), &card_file).await;
    assert_eq!(verdict, "valid", "{words}");
    assert!(words.contains("VALID"), "{words}");
    std::fs::write(
        shots.join("check-valid.png"),
        c.screenshot().await.expect("screenshot"),
    )
    .expect("save");

    let revoked = http
        .post(format!("{base}/api/v1/cards/{serial}/revocation"))
        .bearer_auth(&token)
        .json(&json!({"reason": "permit withdrawn"}))
        .send()
        .await
        .expect("revoke");
    assert!(revoked.status().is_success());
    let (verdict, words) = check_photo(&c, &format!("{base}/?lang=ru"), &card_file).await;
    assert_eq!(verdict, "revoked", "{words}");
    assert!(words.contains("АННУЛИРОВАНА"), "{words}");
    std::fs::write(
        shots.join("check-revoked-ru.png"),
        c.screenshot().await.expect("screenshot"),
    )
    .expect("save");

    c.set_window_size(360, 780).await.expect("phone size");
    c.goto(&format!("{base}/?lang=ru")).await.expect("page");
    let title = c
        .find(Locator::Css("h1"))
        .await
        .expect("h1")
        .text()
        .await
        .expect("text");
    assert_eq!(title, "Проверка карты резидента");
    let width: i64 = c
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .expect("js")
        .as_i64()
        .unwrap_or(9999);
    assert!(
        width <= 360,
        "the page scrolls sideways on a phone: {width}px"
    );
    std::fs::write(
        shots.join("check-phone-ru.png"),
        c.screenshot().await.expect("screenshot"),
    )
    .expect("save");
    c.close().await.expect("close");
    drop(driver);
    eprintln!("screenshots in {}", shots.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_sign_in_issue_download_check_revoke_check_again() {
    let live = crate::helpers::live_server(
        rescard::server::ServiceConfig::default(),
        std::future::pending(),
    )
    .await;
    let base = live.base.clone();
    let (driver, c) = browser(1200, 1400).await;
    let shots = screenshots();

    // Sign in with the issuer token.
    c.goto(&format!("{base}/console")).await.expect("console");
    c.find(Locator::Css("#token"))
        .await
        .expect("token field")
        .send_keys(&live.token)
        .await
        .expect("type");
    c.find(Locator::Css("button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("sign in");
    c.wait()
        .for_element(Locator::Css("form#issue"))
        .await
        .expect("the home page");

    // Issue a card from the form; first with a mistake, which points at its field.
    let today = rescard_core::domain::date::issuer_date(Utc::now());
    let until = rescard_core::ValidityPeriod::latest_end(today);
    let fill = |id: &'static str, value: String| {
        let c = c.clone();
        async move {
            let field = c
                .find(Locator::Css(&format!("#f-{id}")))
                .await
                .expect("field");
            field.clear().await.expect("clear");
            field.send_keys(&value).await.expect("type");
        }
    };
    fill("surname", "Abdykadyrova".into()).await;
    fill("given_names", "Aigerim".into()).await;
    // Date inputs take the digits in the browser's display order (mm/dd/yyyy in this locale).
    let us = |d: chrono::NaiveDate| d.format("%m%d%Y").to_string();
    fill(
        "date_of_birth",
        us(chrono::NaiveDate::from_ymd_opt(1991, 4, 17).expect("date")),
    )
    .await;
    fill("nationality", "KGZ".into()).await;
    fill("valid_from", us(today)).await;
    fill("valid_until", us(until)).await;
    c.find(Locator::Css("form#issue button[type=submit]"))
        .await
        .expect("issue")
        .click()
        .await
        .expect("submit");
    let error = c
        .wait()
        .for_element(Locator::Css("#e-nationality"))
        .await
        .expect("the error points at the field");
    assert!(error.text().await.expect("text").contains("KGZ"));
    std::fs::write(
        shots.join("console-field-error.png"),
        c.screenshot().await.expect("shot"),
    )
    .expect("save");
    fill("nationality", "UZB".into()).await;
    for (id, value) in [
        (
            "date_of_birth",
            us(chrono::NaiveDate::from_ymd_opt(1991, 4, 17).expect("date")),
        ),
        ("valid_from", us(today)),
        ("valid_until", us(until)),
    ] {
        fill(id, value).await;
    }
    c.find(Locator::Css("form#issue button[type=submit]"))
        .await
        .expect("issue")
        .click()
        .await
        .expect("submit");
    let card = c
        .wait()
        .for_element(Locator::Css("#card"))
        .await
        .expect("the card page");
    assert_eq!(
        card.attr("data-state").await.expect("attr").as_deref(),
        Some("active")
    );
    std::fs::write(
        shots.join("console-card.png"),
        c.screenshot().await.expect("shot"),
    )
    .expect("save");

    // Download the printable card with the session, and check it on the public page.
    let href = c
        .find(Locator::Css("#download-card"))
        .await
        .expect("link")
        .attr("href")
        .await
        .expect("href")
        .expect("a href");
    let cookie = c
        .get_named_cookie("rescard_console")
        .await
        .expect("session cookie");
    let png = reqwest::Client::new()
        .get(format!("{base}{href}"))
        .header("Cookie", format!("rescard_console={}", cookie.value()))
        .send()
        .await
        .expect("download")
        .bytes()
        .await
        .expect("png");
    let card_file = live.dir.path().join("downloaded-card.png");
    std::fs::write(&card_file, &png).expect("save");
    let check_url = format!("{base}/");
    assert_eq!(check_photo(&c, &check_url, &card_file).await.0, "valid");

    // Back to the card: revoking needs the confirmation box.
    c.back().await.expect("back");
    c.goto(&format!("{base}{}", href.trim_end_matches("/card.png")))
        .await
        .expect("card page");
    c.find(Locator::Css("#revoke-reason"))
        .await
        .expect("reason")
        .send_keys("permit withdrawn")
        .await
        .expect("type");
    c.find(Locator::Css("#revoke-confirm"))
        .await
        .expect("confirm")
        .click()
        .await
        .expect("tick");
    c.find(Locator::Css("#act-revoke button[type=submit]"))
        .await
        .expect("revoke")
        .click()
        .await
        .expect("submit");
    let notice = c
        .wait()
        .for_element(Locator::Css("#notice"))
        .await
        .expect("feedback");
    assert!(notice.text().await.expect("text").contains("Revoked"));
    let state = c
        .find(Locator::Css("#card"))
        .await
        .expect("card")
        .attr("data-state")
        .await
        .expect("attr");
    assert_eq!(state.as_deref(), Some("revoked"));
    std::fs::write(
        shots.join("console-revoked.png"),
        c.screenshot().await.expect("shot"),
    )
    .expect("save");
    assert_eq!(check_photo(&c, &check_url, &card_file).await.0, "revoked");
    c.close().await.expect("close");
    drop(driver);
}
