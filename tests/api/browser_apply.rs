//! The applicant's path in a real browser (Debian's Chromium, as the other browser tests), on a
//! 360-pixel phone: filed in Kyrgyz, documents uploaded, one missing and then given, the fee paid at
//! a bank, reviewed by one officer, refused to that officer's decision, approved by another, and the
//! card downloaded from the page; its QR verifies `valid`.

use chrono::Utc;
use fantoccini::Locator;
use rescard_store::{Registry, Role};
use serde_json::{Value, json};

use crate::applications::{pdf, photo};
use crate::browser::{browser, screenshots};

#[tokio::test(flavor = "multi_thread")]
async fn an_applicant_applies_in_kyrgyz_on_a_phone_and_downloads_a_card_that_verifies() {
    let live = crate::helpers::live_server(
        rescard::server::ServiceConfig::default(),
        std::future::pending(),
    )
    .await;
    let base = live.base.clone();
    let mut registry = Registry::connect(&live.location).expect("registry");
    let bank = registry
        .create_token("bank-1", Role::Bank, "setup", Utc::now())
        .expect("bank");
    let second = registry
        .create_token("officer-2", Role::Issuer, "setup", Utc::now())
        .expect("officer");
    drop(registry);
    let files = tempfile::tempdir().expect("dir");
    let file = |name: &str, bytes: Vec<u8>| {
        let path = files.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path.to_string_lossy().into_owned()
    };
    let (passport, portrait, contract) = (
        file("passport.pdf", pdf("passport")),
        file("photo.png", photo()),
        file("contract.pdf", pdf("contract")),
    );
    let (_driver, c) = browser(1200, 1400).await;
    let shots = screenshots();
    // A phone's width (the window is set after the start: Chromium starts no narrower than 500).
    c.set_window_size(360, 2400).await.expect("phone size");

    c.goto(&format!("{base}/apply?lang=ky"))
        .await
        .expect("apply");
    let width = c
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .expect("js")
        .as_i64()
        .unwrap_or(9999);
    assert!(
        width <= 360,
        "the page scrolls sideways on a phone: {width}px"
    );
    c.find(Locator::Css("#kind-card"))
        .await
        .expect("card")
        .click()
        .await
        .expect("click");
    let today = rescard_core::domain::date::issuer_date(Utc::now());
    let until = rescard_core::ValidityPeriod::latest_end(today);
    for (id, value) in [
        ("email", "aigerim@example.kg".to_owned()),
        ("surname", "ABDYKADYROVA-NURLANOVA".to_owned()),
        ("given_names", "AIGERIM ZHANYBEKOVNA".to_owned()),
        ("date_of_birth", "1991-04-17".to_owned()),
        ("nationality", "UZB".to_owned()),
        ("passport_number", "FA1234567".to_owned()),
    ] {
        let field = c
            .find(Locator::Css(&format!("#f-{id}")))
            .await
            .expect("field");
        if id == "date_of_birth" {
            // A date input takes the date as the browser's locale types it; set its value instead.
            c.execute(
                &format!("document.getElementById('f-{id}').value = '{value}'"),
                vec![],
            )
            .await
            .expect("set");
        } else {
            field.send_keys(&value).await.expect("type");
        }
    }
    for (id, value) in [
        ("valid_from", today.to_string()),
        ("valid_until", until.to_string()),
    ] {
        c.execute(
            &format!("document.getElementById('f-{id}').value = '{value}'"),
            vec![],
        )
        .await
        .expect("set");
    }
    std::fs::write(
        shots.join("apply-form-ky.png"),
        c.screenshot().await.expect("shot"),
    )
    .expect("save");
    c.find(Locator::Css("form#apply button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("file");
    let id = c
        .wait()
        .for_element(Locator::Css("#application-id code"))
        .await
        .expect("filed")
        .text()
        .await
        .expect("id");
    c.find(Locator::Css("#continue"))
        .await
        .expect("continue")
        .click()
        .await
        .expect("go");

    let upload = |name: &'static str, path: String| {
        let c = c.clone();
        async move {
            c.wait()
                .for_element(Locator::Css("form#upload"))
                .await
                .expect("upload form");
            c.find(Locator::Css(&format!("#upload-name option[value={name}]")))
                .await
                .expect("option")
                .click()
                .await
                .expect("choose");
            c.find(Locator::Css("#upload-file"))
                .await
                .expect("file")
                .send_keys(&path)
                .await
                .expect("attach");
            c.find(Locator::Css("form#upload button"))
                .await
                .expect("button")
                .click()
                .await
                .expect("upload");
            c.wait()
                .for_element(Locator::Css("#notice"))
                .await
                .expect("uploaded");
        }
    };
    upload("passport", passport.clone()).await;
    upload("photo", portrait).await;
    c.find(Locator::Css("form#submit button"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("submit");
    let error = c
        .wait()
        .for_element(Locator::Css("#error"))
        .await
        .expect("missing")
        .text()
        .await
        .expect("text");
    assert!(error.contains("contract"), "{error}");
    upload("contract", contract).await;
    c.find(Locator::Css("form#submit button"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("submit");
    c.wait()
        .for_element(Locator::Css("[data-status=submitted]"))
        .await
        .expect("submitted");

    // The officers in the console (the same browser: its cookie is limited to /console); the bank
    // over the API.
    let officer = |token: String| {
        let (c, base) = (c.clone(), base.clone());
        async move {
            c.goto(&format!("{base}/console?lang=ky"))
                .await
                .expect("console");
            if let Ok(out) = c
                .find(Locator::Css("form[action^='/console/sign-out'] button"))
                .await
            {
                out.click().await.expect("sign out");
                c.wait()
                    .for_element(Locator::Css("#token"))
                    .await
                    .expect("signed out");
            }
            c.find(Locator::Css("#token"))
                .await
                .expect("token")
                .send_keys(&token)
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
                .expect("signed in");
        }
    };
    let open_application = || {
        let (c, base, id) = (c.clone(), base.clone(), id.clone());
        async move {
            c.goto(&format!("{base}/console/applications?lang=ky"))
                .await
                .expect("queue");
            c.find(Locator::Css(&format!(
                "a[href^='/console/applications/{id}']"
            )))
            .await
            .expect("in the queue")
            .click()
            .await
            .expect("open");
            c.wait()
                .for_element(Locator::Css("#application"))
                .await
                .expect("the application");
        }
    };
    let review = |recommendation: &'static str, note: &'static str| {
        let c = c.clone();
        async move {
            c.find(Locator::Css(&format!(
                "#review-recommendation option[value={recommendation}]"
            )))
            .await
            .expect("option")
            .click()
            .await
            .expect("choose");
            c.find(Locator::Css("#review-note"))
                .await
                .expect("note")
                .send_keys(note)
                .await
                .expect("type");
            c.find(Locator::Css("form#review-form button"))
                .await
                .expect("button")
                .click()
                .await
                .expect("review");
            c.wait()
                .for_element(Locator::Css("#notice"))
                .await
                .expect("reviewed");
        }
    };
    let decide = || {
        let c = c.clone();
        async move {
            c.find(Locator::Css("#decision-decision option[value=approve]"))
                .await
                .expect("option")
                .click()
                .await
                .expect("choose");
            c.find(Locator::Css("form#decision-form button"))
                .await
                .expect("button")
                .click()
                .await
                .expect("decide");
        }
    };
    officer(live.token.clone()).await;
    open_application().await;
    review("request_info", "Паспорттун ачык сканы керек").await;

    c.goto(&format!("{base}/apply/status/{id}?lang=ky"))
        .await
        .expect("back to the application");
    let asked = c
        .wait()
        .for_element(Locator::Css("#asked"))
        .await
        .expect("asked")
        .text()
        .await
        .expect("text");
    assert!(asked.contains("Паспорттун ачык сканы керек"), "{asked}");
    upload("passport", passport).await;
    c.find(Locator::Css("form#submit button"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("answer");
    c.wait()
        .for_element(Locator::Css("[data-status=submitted]"))
        .await
        .expect("answered");

    let http = reqwest::Client::new();
    let paid = http
        .post(format!("{base}/api/v1/applications/{id}/payment"))
        .bearer_auth(&bank)
        .json(&json!({"reference": "KICB-1", "amount": 4000}))
        .send()
        .await
        .expect("pay");
    assert_eq!(paid.status().as_u16(), 200);

    officer(live.token.clone()).await;
    open_application().await;
    review("approve", "Документтер туура").await;
    decide().await;
    let refused = c
        .wait()
        .for_element(Locator::Css("#error"))
        .await
        .expect("four eyes")
        .text()
        .await
        .expect("text");
    assert!(refused.contains("another officer"), "{refused}");
    std::fs::write(
        shots.join("console-four-eyes.png"),
        c.screenshot().await.expect("shot"),
    )
    .expect("save");
    officer(second).await;
    open_application().await;
    decide().await;
    c.wait()
        .for_element(Locator::Css("#issued-card"))
        .await
        .expect("approved");
    std::fs::write(
        shots.join("console-approved.png"),
        c.screenshot().await.expect("shot"),
    )
    .expect("save");
    let serial = c
        .find(Locator::Css("#issued-card"))
        .await
        .expect("card")
        .text()
        .await
        .expect("serial");

    c.goto(&format!("{base}/apply/status/{id}?lang=ky"))
        .await
        .expect("the applicant again");
    let link = c
        .wait()
        .for_element(Locator::Css("#download-card"))
        .await
        .expect("the card's link")
        .attr("href")
        .await
        .expect("href")
        .expect("an href");
    std::fs::write(
        shots.join("apply-approved-ky.png"),
        c.screenshot().await.expect("shot"),
    )
    .expect("save");
    let cookie = c.get_named_cookie("rescard_apply").await.expect("cookie");
    let png = http
        .get(format!("{base}{link}"))
        .header("Cookie", format!("rescard_apply={}", cookie.value()))
        .send()
        .await
        .expect("download");
    assert_eq!(png.status().as_u16(), 200);
    let verdict: Value = http
        .post(format!("{base}/api/v1/verify"))
        .header("Content-Type", "image/png")
        .body(png.bytes().await.expect("bytes").to_vec())
        .send()
        .await
        .expect("verify")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (verdict["verdict"].as_str(), verdict["serial"].as_str()),
        (Some("valid"), Some(serial.as_str()))
    );
    c.close().await.expect("close");
}
