use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use rescard_core::domain::date::issuer_date;
use rescard_core::{Permit, ValidityPeriod, reference};
use rescard_store::NewCard;

use super::Context;
use super::issue::write_qr;
use super::output::{outln, print_verification};
use super::verify::{check, read_input};

/// `rescard demo`: the whole flow in a fresh directory that is kept for a look afterwards.
pub fn run(now: DateTime<Utc>) -> Result<u8> {
    let dir = tempfile::Builder::new()
        .prefix("rescard-demo-")
        .tempdir()
        .context("making a temporary directory")?
        .keep();
    let ctx = Context::at(&dir.join("data"), &dir.join("keys"), Some("demo".into()));
    outln!("rescard demo in {}", dir.display())?;

    let mut registry = ctx.create_registry()?;
    crate::keystore::establish(&mut registry, &ctx.keys, true, &ctx.actor, now)?;
    let keys = ctx.keyring(&mut registry, now)?;
    let key = keys.signer(now);
    outln!("1. made issuer key {} and an empty registry", key.kid())?;

    let today = issuer_date(now);
    let new = NewCard {
        holder: reference::holder(),
        permit: Permit::Work,
        document: Default::default(),
        validity: ValidityPeriod::new(today, ValidityPeriod::latest_end(today))?,
        passport_number: None,
        portrait: None,
    };
    let issued = registry.issue(&new, key, &ctx.actor, now)?;
    let c = &issued.card;
    outln!(
        "2. issued card {} to {} {}, ITN {}, valid {} to {}",
        c.serial(),
        c.holder().surname,
        c.holder().given_names,
        c.itn(),
        c.validity().from(),
        c.validity().until()
    )?;

    let qr = dir.join(format!("card-{}-qr.png", c.serial()));
    write_qr(&qr, &issued.payload)?;
    outln!(
        "3. wrote its QR code ({} characters, version {} at level M) to {}",
        issued.payload.len(),
        rescard_qr::version_for(&issued.payload, rescard_qr::EcLevel::M).unwrap_or_default(),
        qr.display()
    )?;

    let read_back = read_input(&qr.to_string_lossy())?;
    let (result, _) = check(&ctx, &read_back, now)?;
    outln!("4. read the QR code back from the PNG and verified it:\n")?;
    print_verification(&result)?;
    Ok(result.verdict.exit_code())
}
