//! The check page in a real browser: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`, which `scripts/test` installs). Upload the printed card's image,
//! see `valid`; revoke the card, upload again, see `revoked`; in Russian; on a 360-pixel phone screen.
//! Screenshots go to `target/screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use fantoccini::{ClientBuilder, Locator};
use serde_json::{Value, json};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn screenshots() -> PathBuf {
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
            "--window-size=1200,1000"]}),
    );
    let mut client = None;
    for _ in 0..50 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let c = client.expect("chromedriver answers");
    let shots = screenshots();
    let check_photo = |c: fantoccini::Client, lang: &'static str| {
        let (base, card_file) = (base.clone(), card_file.clone());
        async move {
            c.goto(&format!("{base}/?lang={lang}")).await.expect("page");
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
            let words = verdict.text().await.expect("text");
            (c, name, words)
        }
    };

    c.goto(&format!("{base}/")).await.expect("page");
    std::fs::write(
        shots.join("check-page.png"),
        c.screenshot().await.expect("screenshot"),
    )
    .expect("save");
    let (c, verdict, words) = check_photo(c, "en").await;
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
    let (c, verdict, words) = check_photo(c, "ru").await;
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
