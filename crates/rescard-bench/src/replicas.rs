//! Replicas on one PostgreSQL database: how soon an act acknowledged by one shows in checks on
//! another.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use chrono::Utc;
use serde_json::{Value, json};

use rescard_bench::row;

/// Issues a card on `writer`, then suspends and reinstates it `acts` times; after each
/// acknowledgement, polls `reader` (every 2 ms) until its check of the card shows the act.
pub fn lag(writer: &str, reader: &str, token: &str, acts: u32) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let post = |url: String, body: Value| -> Result<(u16, Value)> {
        let mut response = agent
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.to_string())?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string()?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    };
    let today = rescard_core::domain::date::issuer_date(Utc::now());
    let until = rescard_core::ValidityPeriod::latest_end(today);
    let (status, card) = post(
        format!("{writer}/api/v1/cards"),
        json!({"surname": "LAG", "given_names": "TEST", "date_of_birth": "1990-01-01", "nationality": "UZB",
            "permit": "work", "valid_from": today.to_string(), "valid_until": until.to_string()}),
    )?;
    ensure!(status == 201, "issuing on the writer: {status} {card}");
    let serial = card["serial"].as_str().context("serial")?.to_owned();
    let payload = card["payload"].as_str().context("payload")?.to_owned();
    let verdict = |url: &str| -> Result<String> {
        let (_, v) = post(
            format!("{url}/api/v1/verify"),
            json!({ "payload": payload }),
        )?;
        Ok(v["verdict"].as_str().unwrap_or_default().to_owned())
    };
    let mut lags = Vec::with_capacity(acts as usize);
    for n in 0..acts {
        let suspend = n % 2 == 0;
        let url = format!("{writer}/api/v1/cards/{serial}/suspension");
        let request = if suspend {
            agent
                .post(&url)
                .header("Authorization", &format!("Bearer {token}"))
                .header("Content-Type", "application/json")
                .send(json!({"reason": "lag test"}).to_string())?
        } else {
            agent
                .delete(&url)
                .header("Authorization", &format!("Bearer {token}"))
                .call()?
        };
        ensure!(
            request.status() == 200,
            "act {n} on the writer: {}",
            request.status()
        );
        let acknowledged = Instant::now();
        let want = if suspend { "suspended" } else { "valid" };
        while verdict(reader)? != want {
            ensure!(
                acknowledged.elapsed() < Duration::from_secs(30),
                "act {n} never showed on the reader"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        lags.push(acknowledged.elapsed().as_secs_f64());
    }
    lags.sort_by(f64::total_cmp);
    let at = |q: f64| lags[((lags.len() as f64 * q).ceil() as usize).clamp(1, lags.len()) - 1];
    let (p50, p99, max) = (at(0.5), at(0.99), at(1.0));
    println!(
        "act on one replica seen on the other, {acts} acts: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        p50 * 1e3,
        p99 * 1e3,
        max * 1e3
    );
    row(
        &format!("act on replica A seen in checks on replica B ({acts} acts)"),
        &format!("p50 {:.0} ms; p99 {:.0} ms", p50 * 1e3, p99 * 1e3),
        "-",
        None,
        "p99 <= 1 s",
        Some(p99 <= 1.0),
    );
    Ok(())
}
