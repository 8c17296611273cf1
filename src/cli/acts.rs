use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};
use rescard_core::{Reason, Serial};
use rescard_store::CardRecord;

use super::Context;
use super::issue::write_qr;
use super::output::{escape, outln, print_json};
use crate::views::{IssuedJson, RecordJson};

/// Prints a card record for a person, or as JSON.
pub fn print_record(r: &CardRecord, json: bool) -> Result<u8> {
    if json {
        print_json(&RecordJson::from(r))?;
        return Ok(0);
    }
    let c = &r.card;
    let h = c.holder();
    // Every value is escaped: an older registry may hold a reason or an actor a terminal would obey.
    let row = |label: &str, value: &dyn std::fmt::Display| {
        outln!("  {label:<13}{}", escape(&value.to_string()))
    };
    outln!("card {}: {}", c.serial(), r.state)?;
    if let Some(reason) = &r.state_reason {
        row("reason", reason)?;
    }
    row("surname", &h.surname)?;
    row("given names", &h.given_names)?;
    if let Some(n) = &h.native_name {
        row("native name", n)?;
    }
    row("born", &h.date_of_birth)?;
    if let Some(s) = h.sex {
        row("sex", &s)?;
    }
    row("nationality", &h.nationality)?;
    row("ITN", &c.itn())?;
    if let Some(p) = &r.passport_number {
        row("passport", p)?;
    }
    row("permit", &c.permit())?;
    row(
        "printed",
        &format!("{} to {}", c.validity().from(), c.validity().until()),
    )?;
    row("valid until", &r.valid_until)?;
    if let Some(s) = r.replaces {
        row("replaces", &s)?;
    }
    if let Some(s) = r.replaced_by {
        row("replaced by", &s)?;
    }
    row("signed by", &r.kid)?;
    outln!("  history")?;
    for e in &r.history {
        outln!(
            "    {}  {:<20} {:<12} {}",
            rescard_store::timestamp(e.at),
            e.label(),
            escape(&e.actor),
            escape(&e.details.to_string())
        )?;
    }
    Ok(0)
}

pub fn replace(
    ctx: &Context,
    serial: Serial,
    reason: &Reason,
    qr: Option<&Path>,
    json: bool,
    now: DateTime<Utc>,
) -> Result<u8> {
    let mut registry = ctx.registry()?;
    let keys = ctx.keyring(&mut registry, now)?;
    let key = keys.signer(now);
    let issued = registry.replace(serial, reason, key, &ctx.actor, now)?;
    if let Some(qr) = qr {
        write_qr(qr, &issued.payload)?;
    }
    if json {
        print_json(&IssuedJson::from(&issued))?;
    } else {
        outln!("card {serial} is replaced by card {}", issued.card.serial())?;
        outln!(
            "  valid    {} to {}",
            issued.card.validity().from(),
            issued.card.validity().until()
        )?;
        outln!("  payload  {}", issued.payload)?;
    }
    Ok(0)
}
