//! The review queue with many open applications: `count` submitted applications in a new registry,
//! then the console's queue page (first page, a page from the middle reached by its key, filtered
//! by kind, filtered by age) and the API's, each the best of several rounds through the whole
//! service in process (session check, registry query, rendering). Also the time from an approval
//! to a downloadable card: the decision, then the applicant's `card.png`.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, Utc};
use rescard::keystore::{KeyDir, KeyStore};
use rescard::server::{AppState, Db, ServiceConfig, router};
use rescard_core::application::{ApplicationKind, DocumentName, Recommendation};
use rescard_store::applications::{DocumentMeta, NewApplication};
use rescard_store::{Location, Registry, Role};
use tower::ServiceExt as _;

/// Runs the measurement; prints one `ROW` per figure.
pub fn queue(count: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let location = Location::Sqlite(dir.path().join("registry.sqlite"));
    let keys = KeyStore::Dir(KeyDir::new(&dir.path().join("keys")));
    let start = Utc::now() - Duration::days(60);
    let mut registry = Registry::connect(&location)?;
    rescard::keystore::establish(&mut registry, &keys, true, "bench", start)?;
    let admin = registry.create_token("admin", Role::Admin, "bench", start)?;
    let second = registry.create_token("officer-2", Role::Issuer, "bench", start)?;
    // What every application asks for: the reference holder's card, from today.
    let today = rescard_core::domain::date::issuer_date(Utc::now());
    let request = serde_json::json!({
        "surname": "ABDYKADYROVA-NURLANOVA", "given_names": "AIGERIM ZHANYBEKOVNA",
        "date_of_birth": "1991-04-17", "nationality": "UZB", "permit": "work",
        "valid_from": today.to_string(),
        "valid_until": rescard_core::ValidityPeriod::latest_end(today).to_string(),
        "passport_number": "FA1234567",
    })
    .to_string();
    let seeded = Instant::now();
    let mut ids = Vec::with_capacity(count);
    registry.group(0..count, |r, i| {
        let at = start + Duration::seconds(i as i64 * 3);
        let kind = if i % 4 == 1 {
            ApplicationKind::Interim
        } else {
            ApplicationKind::Card
        };
        let filed = r.file_application(
            &NewApplication {
                kind,
                lang: "ky".into(),
                email: format!("applicant{i}@example.kg"),
                filed_by: None,
                request: request.clone(),
                serial: None,
            },
            at,
        );
        let Ok((row, _)) = filed else { return false };
        let meta = DocumentMeta {
            name: DocumentName::Passport,
            content_type: "application/pdf".into(),
            sha256: "00".repeat(32),
            size: 4,
            uploaded_at: at,
        };
        let ok = r
            .put_application_document(&row.id, &meta, b"%PDF", at)
            .is_ok()
            && r.submit_application(&row.id, &[DocumentName::Passport], at)
                .is_ok();
        ids.push(row.id);
        ok
    })?;
    eprintln!(
        "{count} submitted applications in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    drop(registry);

    let state = AppState::new(
        Db::open(&location)?,
        keys,
        ServiceConfig::default(),
        Arc::new(Utc::now),
    )?;
    let app = router(state);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let call = |req: Request<Body>| {
            let app = app.clone();
            async move {
                let r = app.oneshot(req).await.context("request")?;
                let status = r.status();
                let cookie = r
                    .headers()
                    .get(header::SET_COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(';').next())
                    .map(str::to_owned);
                let body = axum::body::to_bytes(r.into_body(), usize::MAX).await?;
                anyhow::Ok((status, cookie, body))
            }
        };
        let signin = Request::post("/console/sign-in")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={admin}")))?;
        let (_, cookie, _) = call(signin).await?;
        let cookie = cookie.context("a console session")?;
        let page = |uri: String| {
            let cookie = cookie.clone();
            let call = &call;
            async move {
                let req = Request::get(uri.as_str())
                    .header(header::COOKIE, cookie)
                    .body(Body::empty())?;
                let (status, _, body) = call(req).await?;
                anyhow::ensure!(status == StatusCode::OK, "{uri}: {status}");
                anyhow::Ok(String::from_utf8_lossy(&body).into_owned())
            }
        };
        let timed = |uri: String| {
            let page = &page;
            async move {
                let mut best = f64::MAX;
                let mut html = String::new();
                for _ in 0..15 {
                    let t = Instant::now();
                    html = page(uri.clone()).await?;
                    best = best.min(t.elapsed().as_secs_f64());
                }
                anyhow::Ok((best * 1e3, html))
            }
        };
        let (first, html) = timed("/console/applications".into()).await?;
        anyhow::ensure!(
            html.matches("class=\"application\"").count() == 50,
            "a page of 50"
        );
        rescard_bench::row(
            &format!("console queue page, {count} open applications, first page"),
            &format!("{first:.1} ms"),
            "-",
            None,
            "fast",
            None,
        );
        // Page on page by the `next` link to the middle of the queue.
        let mut uri = "/console/applications".to_owned();
        for _ in 0..(count / 50 / 2) {
            let html = page(uri.clone()).await?;
            let next = html
                .split("id=\"next-page\" href=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .context("a next page")?
                .replace("&amp;", "&");
            uri = next;
        }
        let (middle, _) = timed(uri).await?;
        rescard_bench::row(
            &format!("console queue page, {count} open applications, a page in the middle"),
            &format!("{middle:.1} ms"),
            "-",
            None,
            "fast",
            None,
        );
        let (kind, _) = timed("/console/applications?kind=interim".into()).await?;
        rescard_bench::row(
            &format!("console queue page, {count} open, interim permits only"),
            &format!("{kind:.1} ms"),
            "-",
            None,
            "fast",
            None,
        );
        let (old, _) = timed("/console/applications?older_than_days=30".into()).await?;
        rescard_bench::row(
            &format!("console queue page, {count} open, filed 30 days ago or more"),
            &format!("{old:.1} ms"),
            "-",
            None,
            "fast",
            None,
        );

        // An approval, and the card the applicant then downloads.
        let id = ids.first().context("an application")?.clone();
        let api = |method: &str, uri: String, token: &str, body: Option<serde_json::Value>| {
            let req = Request::builder()
                .method(method)
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())));
            let call = &call;
            async move {
                let (status, _, body) = call(req?).await?;
                anyhow::ensure!(
                    status == StatusCode::OK,
                    "{status}: {}",
                    String::from_utf8_lossy(&body)
                );
                anyhow::Ok(body)
            }
        };
        let review = serde_json::json!({"recommendation": Recommendation::Approve.as_str()});
        api(
            "POST",
            format!("/api/v1/applications/{id}/review"),
            &admin,
            Some(review),
        )
        .await?;
        let bank = {
            let mut r = Registry::connect(&location)?;
            r.create_token("bank", Role::Bank, "bench", Utc::now())?
        };
        let pay = serde_json::json!({"reference": "B-1", "amount": 4000});
        api(
            "POST",
            format!("/api/v1/applications/{id}/payment"),
            &bank,
            Some(pay),
        )
        .await?;
        let decided = Instant::now();
        api(
            "POST",
            format!("/api/v1/applications/{id}/decision"),
            &second,
            Some(serde_json::json!({"decision": "approve"})),
        )
        .await?;
        let png = api(
            "GET",
            format!("/api/v1/applications/{id}/card.png"),
            &admin,
            None,
        )
        .await?;
        let took = decided.elapsed().as_secs_f64() * 1e3;
        anyhow::ensure!(png.starts_with(b"\x89PNG"), "a PNG");
        rescard_bench::row(
            "approval to a downloadable card (decision, then card.png)",
            &format!("{took:.0} ms"),
            "-",
            None,
            "-",
            None,
        );
        anyhow::Ok(())
    })
}
