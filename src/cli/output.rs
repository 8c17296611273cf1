//! Printing results for people and for programs.

use rescard_core::report::VerificationJson;
use rescard_core::{StatusOrigin, Verdict, Verification};
use serde::Serialize;

/// Prints `value` as pretty JSON on standard output.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The verdict as a person at a checkpoint should read it.
pub fn verdict_headline(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "VALID",
        Verdict::Expired => "NOT VALID: EXPIRED",
        Verdict::NotYetValid => "NOT VALID YET",
        Verdict::Suspended => "NOT VALID: SUSPENDED",
        Verdict::Revoked => "NOT VALID: REVOKED",
        Verdict::Replaced => "NOT VALID: REPLACED BY A NEW CARD",
        Verdict::InvalidSignature => "FORGED OR ALTERED: SIGNATURE DOES NOT VERIFY",
        Verdict::UnknownIssuer => "UNKNOWN ISSUER: NOT SIGNED BY A TRUSTED KEY",
        Verdict::Malformed => "NOT A READABLE RESIDENT CARD",
    }
}

/// Prints a verification for a person.
pub fn print_verification(v: &Verification) {
    let j = VerificationJson::from(v);
    println!("{} ({})", verdict_headline(v.verdict), v.detail);
    let row = |label: &str, value: String| println!("  {label:<12}{value}");
    if let Some(Some(reason)) = &j.state_reason {
        row("reason", reason.clone());
    }
    let Some(holder) = &j.holder else {
        return;
    };
    row("card", j.serial.clone().unwrap_or_default());
    row("surname", holder.surname.clone());
    row("given names", holder.given_names.clone());
    if let Some(native) = &holder.native_name {
        row("native name", native.clone());
    }
    row("born", holder.date_of_birth.to_string());
    if let Some(sex) = holder.sex {
        row("sex", sex.to_owned());
    }
    row("nationality", holder.nationality.clone());
    row("ITN", j.itn.clone().unwrap_or_default());
    row(
        "permit",
        format!(
            "{}{}",
            j.permit.unwrap_or_default(),
            if v.card.as_ref().is_some_and(|c| c.permit().allows_work()) {
                " (may work)"
            } else {
                ""
            }
        ),
    );
    let printed = j
        .printed_valid_until
        .map(|d| d.to_string())
        .unwrap_or_default();
    let until = j.valid_until.map(|d| d.to_string()).unwrap_or_default();
    let valid = j.valid_from.map(|d| d.to_string()).unwrap_or_default();
    if printed == until {
        row("valid", format!("{valid} to {until}"));
    } else {
        row(
            "valid",
            format!("{valid} to {until} (extended; the card shows {printed})"),
        );
    }
    if let Some(days) = j.days_remaining {
        row(
            "days left",
            if days >= 0 {
                days.to_string()
            } else {
                format!("none: overstayed by {} days", -days)
            },
        );
    }
    let status = match v.status.origin {
        StatusOrigin::Registry => format!("registry, as of {}", j.status_as_of.clone().unwrap_or_default()),
        StatusOrigin::Snapshot => format!("status snapshot of {}", j.status_as_of.clone().unwrap_or_default()),
        StatusOrigin::Card => "the card alone: no registry or status snapshot here, so a later extension, suspension or revocation cannot be seen".into(),
    };
    row("status from", status);
    if v.status.stale {
        row(
            "STALE",
            "the status snapshot is past its maximum age (see the warning below)".into(),
        );
    }
    row(
        "signed by",
        format!(
            "key {} at {}",
            j.kid.unwrap_or_default(),
            j.issued_at.unwrap_or_default()
        ),
    );
}
