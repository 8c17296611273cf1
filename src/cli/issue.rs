use std::path::Path;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use super::output::{Stdout, errln, escape, outln, print_json};
use super::{Context, EXIT_ROWS_REJECTED, IssueArgs};
use crate::issuance::CardRequest;
use crate::views::IssuedJson;

pub fn run(ctx: &Context, args: &IssueArgs, now: DateTime<Utc>) -> Result<u8> {
    if let Some(csv) = &args.csv {
        return batch(ctx, csv, now);
    }
    let app = CardRequest {
        surname: args.surname.clone().unwrap_or_default(),
        given_names: args.given_names.clone().unwrap_or_default(),
        date_of_birth: args.date_of_birth.clone().unwrap_or_default(),
        nationality: args.nationality.clone().unwrap_or_default(),
        permit: args.permit.clone().unwrap_or_default(),
        valid_from: args.valid_from.clone().unwrap_or_default(),
        valid_until: args.valid_until.clone().unwrap_or_default(),
        sex: args.sex.clone(),
        native_name: args.native_name.clone(),
        passport_number: args.passport.clone(),
        portrait: None,
        document: args.document.clone(),
    };
    let portrait = match &args.portrait {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("reading the portrait {}", path.display()))?,
        ),
        None => None,
    };
    let new = app.validate(portrait)?;
    let mut registry = ctx.registry()?;
    let keys = ctx.keyring(&mut registry, now)?;
    let key = keys.signer(now);
    let issued = registry.issue(&new, key, &ctx.actor, now)?;
    if let Some(qr) = &args.qr {
        write_qr(qr, &issued.payload)?;
    }
    if let Some(path) = &args.card {
        let portrait = new.portrait.as_ref().map(|p| p.bytes().to_vec());
        let png = rescard_qr::render_card_png(
            &crate::views::printed_card(&issued.card, &issued.payload),
            portrait.as_deref(),
        )?;
        crate::keystore::write_atomically(path, &png)
            .with_context(|| format!("writing the card to {}", path.display()))?;
    }
    if args.json {
        print_json(&IssuedJson::from(&issued))?;
    } else {
        let c = &issued.card;
        outln!(
            "issued card {} to {} {}",
            c.serial(),
            c.holder().surname,
            c.holder().given_names
        )?;
        outln!("  ITN    {}", c.itn())?;
        outln!(
            "  valid  {} to {}",
            c.validity().from(),
            c.validity().until()
        )?;
        if let Some(qr) = &args.qr {
            outln!("  QR     {}", qr.display())?;
        }
        outln!("  payload {}", issued.payload)?;
    }
    Ok(0)
}

/// Writes the payload's QR code as a PNG for print (6 px a module at 300 dpi: 0.51 mm modules).
pub fn write_qr(path: &Path, payload: &str) -> Result<()> {
    let png = rescard_qr::render_png(payload, 6)?;
    crate::keystore::write_atomically(path, &png)
        .with_context(|| format!("writing the QR code to {}", path.display()))
}

/// Cards issued per transaction in a batch.
const BATCH_ROWS: usize = 500;

/// One rejected CSV row.
struct Rejected {
    row: usize,
    problem: String,
}

/// Issues every row of a CSV file, each row all-or-nothing. Issued cards go to standard output as
/// CSV (`row,serial,itn,valid_from,valid_until,payload`); rejected rows and a summary to standard error.
fn batch(ctx: &Context, path: &Path, now: DateTime<Utc>) -> Result<u8> {
    let mut registry = ctx.registry()?;
    let keys = ctx.keyring(&mut registry, now)?;
    let key = keys.signer(now);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let rows: Vec<csv::Result<CardRequest>> = reader.deserialize().collect();
    let progress = ProgressBar::new(rows.len() as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} issuing [{bar:40}] {pos}/{len} cards, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut out = csv::Writer::from_writer(Stdout);
    out.write_record([
        "row",
        "serial",
        "itn",
        "valid_from",
        "valid_until",
        "payload",
    ])?;
    let mut rejected = Vec::new();
    let mut issued = 0usize;
    // Rows are checked one by one, then issued BATCH_ROWS to a transaction: one commit (one fsync)
    // for many cards is what makes a large import fast; each card is still all or nothing.
    let numbered = rows.into_iter().enumerate().map(|(i, row)| (i + 2, row)); // line 1 is the header
    let mut pending: Vec<(usize, rescard_store::NewCard)> = Vec::with_capacity(BATCH_ROWS);
    let mut flush = |pending: &mut Vec<(usize, rescard_store::NewCard)>,
                     rejected: &mut Vec<Rejected>,
                     out: &mut csv::Writer<Stdout>|
     -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let cards: Vec<rescard_store::NewCard> = pending.iter().map(|(_, c)| c.clone()).collect();
        let results = registry.issue_batch(&cards, key, &ctx.actor, now)?;
        for ((line, _), result) in pending.drain(..).zip(results) {
            match result {
                Ok(card) => {
                    let j = IssuedJson::from(&card);
                    out.write_record([
                        line.to_string(),
                        j.serial,
                        j.itn,
                        j.valid_from.to_string(),
                        j.valid_until.to_string(),
                        j.payload,
                    ])?;
                    issued += 1;
                }
                Err(e) => rejected.push(Rejected {
                    row: line,
                    problem: e.to_string(),
                }),
            }
        }
        progress.inc(cards.len() as u64);
        Ok(())
    };
    for (line, row) in numbered {
        match row
            .map_err(|e| csv_problem(&e))
            .and_then(|app| app.validate(None).map_err(|e| e.to_string()))
        {
            Ok(new) => pending.push((line, new)),
            Err(problem) => {
                rejected.push(Rejected { row: line, problem });
                progress.inc(1);
            }
        }
        if pending.len() >= BATCH_ROWS {
            flush(&mut pending, &mut rejected, &mut out)?;
        }
    }
    flush(&mut pending, &mut rejected, &mut out)?;
    rejected.sort_by_key(|r| r.row);
    out.flush()?;
    progress.finish_and_clear();
    for r in &rejected {
        errln!("line {}: {}", r.row, escape(&r.problem));
    }
    errln!("{issued} cards issued, {} rows rejected", rejected.len());
    Ok(if rejected.is_empty() {
        0
    } else {
        EXIT_ROWS_REJECTED
    })
}

fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(field) => format!("column {}: {err}", field + 1),
            None => err.to_string(),
        },
        _ => e.to_string(),
    }
}
