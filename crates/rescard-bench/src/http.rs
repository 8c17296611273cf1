//! The measurements made through HTTP against a running service, and the minimal service that is
//! the verify endpoint's baseline.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result};
use chrono::Utc;
use rescard_core::{IssuerKey, TrustList, reference};

use crate::{per_card_row, raw_parts, verify_strict_per_card};

pub fn batch_http(url: &str, token: &str, payloads: &Path, size: usize) -> Result<()> {
    let text = std::fs::read_to_string(payloads)?;
    let all: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    anyhow::ensure!(
        all.len() >= size,
        "{} payloads in {payloads:?}, {size} wanted",
        all.len()
    );
    let chosen = &all[..size];
    let parts = chosen
        .iter()
        .map(|p| raw_parts(p))
        .collect::<Result<Vec<_>>>()?;
    let keys = ureq::get(&format!("{url}/api/v1/keys"))
        .call()?
        .body_mut()
        .read_to_string()?;
    let trust = TrustList::from_json(&keys)?;
    let public = trust.keys().first().context("a key")?.public_key;
    let single = verify_strict_per_card(&public, &parts);
    let post = |body: &str| -> Result<(f64, String)> {
        let t = Instant::now();
        let text = ureq::post(&format!("{url}/api/v1/verify/batch"))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body)?
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()?;
        Ok((t.elapsed().as_secs_f64() / size as f64, text))
    };
    // Each round sends cards the service has not checked yet (its signature cache would remember
    // them): the payload file must hold three batches.
    let rounds = (all.len() / size).min(3);
    anyhow::ensure!(rounds > 0, "too few payloads");
    let mut best = f64::MAX;
    let mut response = String::new();
    for round in 0..rounds {
        let batch = &all[round * size..(round + 1) * size];
        let (per_card, text) = post(&serde_json::json!({ "payloads": batch }).to_string())?;
        best = best.min(per_card);
        response = text;
    }
    let (cached, _) = post(&serde_json::json!({ "payloads": chosen }).to_string())?;
    let summary = serde_json::from_str::<serde_json::Value>(&response)?["summary"].clone();
    println!(
        "POST /api/v1/verify/batch, {size} cards: {:.1} µs a card first time, {:.1} µs again (cached); verify_strict {:.1} µs; summary {summary}",
        best * 1e6,
        cached * 1e6,
        single * 1e6
    );
    per_card_row(
        &format!("batch verification over HTTP, {size} cards (time per card)"),
        best,
        single,
    );
    Ok(())
}

pub fn baseline_server(listen: &str) -> Result<()> {
    use axum::Json;
    use axum::routing::post;

    #[derive(serde::Deserialize)]
    struct Body {
        payload: String,
    }

    let key = IssuerKey::from_seed(&[8; 32]);
    let payload = rescard_core::codec::encode(&reference::card(), Utc::now(), &key).expect("signs");
    let (tbs, signature) = raw_parts(&payload)?;
    let public = key.verifying_key();
    let handler = move |Json(body): Json<Body>| {
        let tbs = tbs.clone();
        async move {
            let ok = public.verify_strict(&tbs, &signature).is_ok();
            Json(serde_json::json!({ "ok": ok, "length": body.payload.len() }))
        }
    };
    let app = axum::Router::new().route("/verify", post(handler));
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        println!("baseline listening on {listen}");
        axum::serve(listener, app).await?;
        Ok(())
    })
}
