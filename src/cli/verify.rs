use std::io::Read as _;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use rescard_core::domain::date::rfc3339;
use rescard_core::report::VerificationJson;
use rescard_core::{NoStatus, PREFIX, StatusOrigin, Verdict, Verification, verify};

use super::output::{errln, escape, outln, print_json, print_verification, row, verdict_headline};
use super::{Context, EXIT_NOT_FRESH};
use crate::checker::Checker;

/// The payload text INPUT names: the text itself, standard input for `-`, or the QR in an image file.
pub fn read_input(input: &str) -> Result<String> {
    if input == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .context("reading the payload from standard input")?;
        return Ok(text.trim().to_owned());
    }
    if input.starts_with(PREFIX) {
        return Ok(input.trim().to_owned());
    }
    let path = std::path::Path::new(input);
    if path.is_file() {
        let bytes = std::fs::read(path).with_context(|| format!("reading {input}"))?;
        let text = rescard_qr::decode_payload(&bytes, PREFIX)
            .with_context(|| format!("reading a QR code from {input}"))?;
        return Ok(text);
    }
    if path.extension().is_some_and(|e| {
        ["png", "jpg", "jpeg"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    }) {
        bail!("{input}: no such file");
    }
    // Anything else is payload text, which the verifier will call malformed if it is not one.
    Ok(input.trim().to_owned())
}

/// Checks INPUT against this machine's trust list and status, and prints the result. Warnings (a
/// stale snapshot, a clock behind the newest signed time) go to standard error as well. With
/// `require_fresh`, a genuine card whose status is stale or unknown exits [`EXIT_NOT_FRESH`].
pub fn run(
    ctx: &Context,
    input: &str,
    json: bool,
    online: Option<&str>,
    require_fresh: bool,
    now: DateTime<Utc>,
) -> Result<u8> {
    let payload = read_input(input)?;
    if let Some(url) = online {
        return run_online(url, &payload, json, require_fresh);
    }
    let (result, warnings) = check(ctx, &payload, now)?;
    if json {
        print_json(&VerificationJson::from(&result))?;
    } else {
        print_verification(&result)?;
    }
    for w in &warnings {
        errln!("WARNING: {}", escape(w));
    }
    let stale = not_fresh(
        result.card.is_some(),
        result.status.origin == StatusOrigin::Card,
        result.status.stale,
    );
    Ok(finish(
        result.verdict,
        require_fresh.then_some(stale).flatten(),
    ))
}

/// Why a genuine card's result may not be relied on at a post that needs a fresh status: no status
/// at all, or a stale one. A payload that failed its signature or format gets its verdict anyway: no
/// status could change it.
fn not_fresh(genuine: bool, card_alone: bool, stale: bool) -> Option<&'static str> {
    match (genuine, card_alone, stale) {
        (false, _, _) => None,
        (true, true, _) => Some(
            "no status snapshot is held, so a suspension, revocation or extension cannot be seen: sync this checker",
        ),
        (true, false, true) => {
            Some("the status snapshot is past the age it may be relied on: sync this checker")
        }
        (true, false, false) => None,
    }
}

/// The exit code: the verdict's, or [`EXIT_NOT_FRESH`] with the reason on standard error.
fn finish(verdict: Verdict, stale: Option<&str>) -> u8 {
    match stale {
        Some(why) => {
            errln!("REFUSED (--require-fresh): {why}");
            EXIT_NOT_FRESH
        }
        None => verdict.exit_code(),
    }
}

/// The verification of `payload` on this machine: against the local registry and its own issuer
/// keys on an issuing machine; else against what the checker synced, verified at rest (a trust list
/// or status altered, older or missing is refused, never a verdict), or against the card alone when
/// the checker has synced no status yet; with the warnings a checkpoint officer must see.
pub fn check(
    ctx: &Context,
    payload: &str,
    now: DateTime<Utc>,
) -> Result<(Verification, Vec<String>)> {
    let checker = Checker::new(&ctx.data);
    let mut warnings = Vec::new();
    if let Some(mut registry) = ctx.registry_if_any()? {
        if checker.has_state() {
            bail!(
                "{} holds both a registry and a checker's state ({}): a checker syncs into a data directory of its own. Refused until one of them is moved aside",
                ctx.data.display(),
                crate::checker::STATE_FILE
            );
        }
        let trust = ctx.keyring(&mut registry, now)?.cards;
        return Ok((verify(payload, &trust, &registry, now)?, warnings));
    }
    // A checker: the keys it synced and sealed, never the issuer keys of --keys.
    let Some(held) = checker.load()? else {
        bail!(
            "no trusted issuer keys: {} holds neither a registry nor a synced checker. On a checker, run `rescard sync URL --pin KID` first (the key id from the issuing authority); on an issuing machine, pass the --data of its registry",
            ctx.data.display()
        );
    };
    let trust = &held.trust.cards;
    let result = match &held.status {
        Some(view) => {
            if view.clock_is_behind(now) {
                warnings.push(format!(
                    "this checker's clock ({}) is behind the status snapshot it holds, signed {}: the clock is wrong, so expiry checks cannot be trusted; set the clock",
                    rfc3339(now),
                    rfc3339(view.issued_at())
                ));
            }
            match verify(payload, trust, view, now) {
                Ok(v) => v,
                Err(never) => match never {},
            }
        }
        None => match verify(payload, trust, &NoStatus, now) {
            Ok(v) => v,
            Err(never) => match never {},
        },
    };
    if result.status.stale
        && let Some(view) = &held.status
    {
        warnings.push(format!(
            "the status snapshot is {} hours old, older than the {} hours it may be relied on: a recent suspension or revocation may be missing; sync this checker",
            (now - view.issued_at()).num_hours(),
            view.max_age().num_hours()
        ));
    }
    Ok((result, warnings))
}

/// `verify --online URL`: asks the service instead (token from `RESCARD_TOKEN`, if set).
fn run_online(url: &str, payload: &str, json: bool, require_fresh: bool) -> Result<u8> {
    let endpoint = format!("{}/api/v1/verify", url.trim_end_matches('/'));
    let mut request = ureq::post(&endpoint).header("Content-Type", "application/json");
    if let Ok(token) = std::env::var("RESCARD_TOKEN") {
        request = request.header("Authorization", &format!("Bearer {}", token.trim()));
    }
    let mut response = request
        .send(serde_json::json!({ "payload": payload }).to_string())
        .with_context(|| format!("asking {endpoint}"))?;
    let body: serde_json::Value = serde_json::from_slice(
        &response
            .body_mut()
            .with_config()
            .limit(crate::checker::MAX_DOWNLOAD)
            .read_to_vec()
            .context("reading the answer")?,
    )
    .context("the service's answer is not JSON")?;
    let verdict = body["verdict"]
        .as_str()
        .and_then(Verdict::from_name)
        .context("the service's answer has no verdict")?;
    if json {
        print_json(&body)?;
    } else {
        // The answer comes from elsewhere: every value is escaped before a terminal sees it.
        let text = |field: &str| match &body[field] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        outln!(
            "{} ({})",
            verdict_headline(verdict),
            escape(body["detail"].as_str().unwrap_or_default())
        )?;
        for (label, field) in [
            ("reason", "state_reason"),
            ("card", "serial"),
            ("ITN", "itn"),
            ("permit", "permit"),
            ("valid until", "valid_until"),
            ("days left", "days_remaining"),
            ("status from", "status_source"),
        ] {
            if !body[field].is_null() {
                row(label, &text(field))?;
            }
        }
    }
    let stale = not_fresh(
        !body["serial"].is_null(),
        body["status_source"] == "card",
        body["status_stale"] == true,
    );
    Ok(finish(verdict, require_fresh.then_some(stale).flatten()))
}
