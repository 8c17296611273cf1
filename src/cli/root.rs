//! `rescard root …` and `rescard cards signed-by`: the root of trust's ceremonies, and what a
//! theft leaves to issue again.

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use rescard_core::Kid;
use rescard_core::domain::date::rfc3339;
use rescard_core::root::fingerprint;

use super::output::{errln, outln, print_json};
use super::{Context, RootCommand};
use crate::keystore::KeyStore;

fn kid(text: &str) -> Result<Kid> {
    Kid::parse_hex(text).context("a key id is 16 hex digits")
}

fn store(arg: &str) -> Result<KeyStore> {
    KeyStore::parse(arg).context("--root-key")
}

/// `rescard root init|certify|revoke`.
pub fn run(ctx: &Context, command: &RootCommand, now: DateTime<Utc>) -> Result<u8> {
    match command {
        RootCommand::Init { root_key, out } => {
            let root = crate::root::init(&store(root_key)?, out, now)?;
            outln!("root key made in {root_key}")?;
            outln!(
                "root file {} (fingerprint {})",
                out.display(),
                fingerprint(&root)
            )?;
            errln!(
                "keep the root key offline; give checkpoints the root file, or its fingerprint, for `rescard sync URL --root`"
            );
        }
        RootCommand::Certify {
            kid: k,
            not_after,
            usage,
            root_key,
        } => {
            let cert = crate::root::certify(
                &mut ctx.registry()?,
                &store(root_key)?,
                kid(k)?,
                *not_after,
                &usage.0,
                &ctx.actor,
                now,
            )?;
            let usage: Vec<&str> = cert.usage.iter().map(|u| u.as_str()).collect();
            outln!(
                "key {} certified for {} from {} until {}; every replica publishes it within a second",
                cert.kid,
                usage.join(","),
                rfc3339(cert.not_before),
                rfc3339(cert.not_after)
            )?;
        }
        RootCommand::Revoke {
            kid: k,
            since,
            root_key,
        } => {
            let rev = crate::root::revoke(
                &mut ctx.registry()?,
                &store(root_key)?,
                kid(k)?,
                *since,
                &ctx.actor,
                now,
            )?;
            outln!(
                "key {} revoked from {}: what it signed from then is unknown_issuer wherever the trust list reaches",
                rev.kid,
                rfc3339(rev.since)
            )?;
            errln!(
                "issue again the cards it signed since then: `rescard cards signed-by {} --since {}`",
                rev.kid,
                rfc3339(rev.since)
            );
        }
    }
    Ok(0)
}

#[derive(serde::Serialize)]
struct SignedCardJson {
    serial: String,
    issued_at: String,
    state: &'static str,
}

/// `rescard cards signed-by KID --since TIME`.
pub fn signed_by(ctx: &Context, k: &str, since: DateTime<Utc>, json: bool) -> Result<u8> {
    let cards = ctx.registry()?.cards_signed_by(kid(k)?, since)?;
    if json {
        let rows: Vec<SignedCardJson> = cards
            .iter()
            .map(|c| SignedCardJson {
                serial: c.serial.to_string(),
                issued_at: rfc3339(c.issued_at),
                state: c.state.as_str(),
            })
            .collect();
        print_json(&rows)?;
        return Ok(0);
    }
    for c in &cards {
        outln!(
            "{}  {}  {}",
            c.serial,
            rfc3339(c.issued_at),
            c.state.as_str()
        )?;
    }
    errln!(
        "{} card(s) signed by {k} since {}",
        cards.len(),
        rfc3339(since)
    );
    Ok(0)
}
