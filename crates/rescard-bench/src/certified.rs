//! Offline verification with an issuer key a root certified, against the same with the key
//! trusted plainly: the certificate is checked once, when the trust list is taken in, so a card
//! costs what it did (`bench/run`'s "offline verify with a certified key").

use std::hint::black_box;

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use rescard_bench::{best_of, row};
use rescard_core::root::{Certificate, Statements, Usage};
use rescard_core::status::StatusView;
use rescard_core::{IssuerKey, TrustList, verify};

/// Measures `payload`, signed by `key`, checked with `trust` as it is and as a root that certified
/// the key allows it, in alternating rounds; prints the row.
pub fn row_for(
    payload: &str,
    trust: &TrustList,
    key: &IssuerKey,
    view: &StatusView,
    now: DateTime<Utc>,
) -> Result<()> {
    let root = IssuerKey::from_seed(&[0x33; 32]);
    let cert = Certificate {
        kid: key.kid(),
        public_key: key.verifying_key(),
        not_before: now - Duration::days(800),
        not_after: now + Duration::days(365),
        usage: vec![Usage::Cards, Usage::Status],
        issued_at: now,
    };
    // As a checker takes the list in: the certificate's signature checked once.
    let bytes = cert.sign(&root)?;
    let statements = Statements {
        certificates: vec![Certificate::open(&bytes, &root.verifying_key())?],
        revocations: Vec::new(),
    };
    let certified = statements.apply(trust, Usage::Cards);
    let first = verify(payload, &certified, view, now)?;
    let rounds = 20_000;
    let (mut plain, mut rooted) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        plain = plain.min(best_of(1, rounds, || {
            black_box(verify(black_box(payload), trust, view, now)).ok();
        }));
        rooted = rooted.min(best_of(1, rounds, || {
            black_box(verify(black_box(payload), &certified, view, now)).ok();
        }));
    }
    println!(
        "offline verify with a certified key ({}): {:.1} µs; with the key trusted plainly {:.1} µs",
        first.verdict.as_str(),
        rooted * 1e6,
        plain * 1e6
    );
    let ratio = plain / rooted;
    row(
        "offline verify with a certified key (rate)",
        &format!("{:.0}/s", 1.0 / rooted),
        &format!("the key trusted plainly {:.0}/s", 1.0 / plain),
        Some(ratio),
        ">= 0.95",
        Some(ratio >= 0.95 && first.verdict == rescard_core::Verdict::Valid),
    );
    Ok(())
}
