use std::io::Read as _;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use rescard_core::report::VerificationJson;
use rescard_core::{NoStatus, PREFIX, Verification, verify};

use super::Context;
use super::output::{print_json, print_verification};

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

/// Checks INPUT against this machine's trust list and status, and prints the result.
pub fn run(ctx: &Context, input: &str, json: bool, now: DateTime<Utc>) -> Result<u8> {
    let payload = read_input(input)?;
    let result = check(ctx, &payload, now)?;
    if json {
        print_json(&VerificationJson::from(&result))?;
    } else {
        print_verification(&result);
    }
    Ok(result.verdict.exit_code())
}

/// The verification of `payload` on this machine: against the local registry where there is one,
/// else against the card alone.
pub fn check(ctx: &Context, payload: &str, now: DateTime<Utc>) -> Result<Verification> {
    let trust = ctx.trust_list()?;
    Ok(match ctx.registry_if_any()? {
        Some(registry) => verify(payload, &trust, &registry, now)?,
        None => match verify(payload, &trust, &NoStatus, now) {
            Ok(v) => v,
            Err(never) => match never {},
        },
    })
}
