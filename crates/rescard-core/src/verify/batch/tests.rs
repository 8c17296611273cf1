use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::codec;
use crate::domain::{Card, Serial};
use crate::keys::{IssuerKey, KeyStatus};
use crate::verify::{NoStatus, Verdict, verify};
use crate::{PREFIX, reference};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

fn signed_at() -> DateTime<Utc> {
    at("2026-11-21T09:00:00Z")
}

fn now() -> DateTime<Utc> {
    at("2027-01-15T12:00:00Z")
}

fn keys() -> [IssuerKey; 2] {
    [
        IssuerKey::from_seed(&[42; 32]),
        IssuerKey::from_seed(&[43; 32]),
    ]
}

fn trust() -> TrustList {
    let [a, b] = keys();
    TrustList::new(vec![
        TrustedKey::active(a.verifying_key(), signed_at() - Duration::days(1)),
        TrustedKey::active(b.verifying_key(), signed_at() - Duration::days(1)),
    ])
    .expect("trust")
}

fn card(sequence: u32) -> Card {
    let r = reference::card();
    Card::new(
        Serial::from_sequence(sequence).expect("serial"),
        r.itn(),
        r.holder().clone(),
        r.permit(),
        r.validity(),
        None,
    )
    .expect("card")
}

/// The COSE bytes of card `sequence`, signed by key `which`.
fn cose(sequence: u32, which: usize) -> Vec<u8> {
    codec::encode_cose(&card(sequence), signed_at(), &keys()[which]).expect("signs")
}

fn text(cose: &[u8]) -> String {
    format!("{PREFIX}{}", base45::encode(cose))
}

/// Card `sequence` with its signature changed by `change` (the signature is the last 64 bytes).
fn with_signature(sequence: u32, change: impl Fn(&mut [u8])) -> String {
    let mut bytes = cose(sequence, 0);
    let at = bytes.len() - 64;
    change(&mut bytes[at..]);
    text(&bytes)
}

fn batch(payloads: &[String]) -> Vec<Verification> {
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    match verify_batch(&refs, &trust(), &NoStatus, now(), None) {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

fn single(payload: &str) -> Verification {
    match verify(payload, &trust(), &NoStatus, now()) {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

/// The group order l, little-endian.
const ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Every kind of card and of damage, in one batch: each result equals the single check's.
fn mixed() -> Vec<String> {
    let mut payloads = Vec::new();
    for n in 1..=60 {
        payloads.push(text(&cose(n, (n % 2) as usize)));
    }
    // A changed byte of R, of s, of the claims.
    payloads.push(with_signature(61, |sig| sig[3] ^= 1));
    payloads.push(with_signature(62, |sig| sig[40] ^= 1));
    let mut claims = cose(63, 0);
    claims[30] ^= 1;
    payloads.push(text(&claims));
    // s + l: the same signature with a non-canonical s (verify_strict refuses it).
    payloads.push(with_signature(64, |sig| {
        let mut carry = 0u16;
        for (byte, add) in sig[32..].iter_mut().zip(ORDER) {
            let sum = u16::from(*byte) + u16::from(add) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
    }));
    // R of small order (the identity), and R with a non-canonical y (y = p + 1, which is also 1).
    payloads.push(with_signature(65, |sig| {
        sig[..32].copy_from_slice(&[0; 32]);
        sig[0] = 1;
    }));
    payloads.push(with_signature(66, |sig| {
        sig[..32].copy_from_slice(&[0xff; 32]);
        sig[0] = 0xee;
        sig[31] = 0x7f;
    }));
    // An unknown key, a malformed text, a text that is not base45.
    payloads.push(text(
        &codec::encode_cose(&card(67), signed_at(), &IssuerKey::from_seed(&[7; 32]))
            .expect("signs"),
    ));
    payloads.push("RC1:".into());
    payloads.push("hello".into());
    // More good cards after the bad ones.
    for n in 68..=100 {
        payloads.push(text(&cose(n, 0)));
    }
    payloads
}

#[test]
fn every_result_is_the_single_checks_result() {
    let payloads = mixed();
    let results = batch(&payloads);
    assert_eq!(results.len(), payloads.len());
    for (payload, result) in payloads.iter().zip(&results) {
        assert_eq!(*result, single(payload), "{payload}");
    }
    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    assert_eq!(count(Verdict::Valid), 93);
    assert_eq!(count(Verdict::InvalidSignature), 6);
    assert_eq!(count(Verdict::UnknownIssuer), 1);
    assert_eq!(count(Verdict::Malformed), 2);
}

#[test]
fn one_bad_card_among_a_thousand_is_named() {
    let mut payloads: Vec<String> = (1..=1000).map(|n| text(&cose(n, 0))).collect();
    payloads[617] = with_signature(618, |sig| sig[50] ^= 0x20);
    let results = batch(&payloads);
    for (i, r) in results.iter().enumerate() {
        let expected = if i == 617 {
            Verdict::InvalidSignature
        } else {
            Verdict::Valid
        };
        assert_eq!(r.verdict, expected, "card {i}");
    }
}

#[test]
fn many_bad_cards_are_all_named() {
    let payloads: Vec<String> = (1..=300)
        .map(|n| {
            if n % 7 == 0 {
                with_signature(n, |sig| sig[10] ^= 4)
            } else {
                text(&cose(n, 1))
            }
        })
        .collect();
    let results = batch(&payloads);
    for (n, r) in (1..).zip(&results) {
        let bad = n % 7 == 0;
        assert_eq!(r.verdict == Verdict::InvalidSignature, bad, "card {n}");
        assert_eq!(r.verdict == Verdict::Valid, !bad, "card {n}");
    }
}

#[test]
fn a_retired_key_and_a_key_past_its_window_are_judged_as_alone() {
    let [a, b] = keys();
    let trust = TrustList::new(vec![
        TrustedKey {
            status: KeyStatus::Retired,
            ..TrustedKey::active(a.verifying_key(), signed_at() - Duration::days(1))
        },
        TrustedKey {
            not_after: Some(signed_at() - Duration::hours(1)),
            ..TrustedKey::active(b.verifying_key(), signed_at() - Duration::days(1))
        },
    ])
    .expect("trust");
    let payloads = [text(&cose(1, 0)), text(&cose(2, 1))];
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    let Ok(results) = verify_batch(&refs, &trust, &NoStatus, now(), None);
    assert_eq!(results[0].verdict, Verdict::UnknownIssuer);
    assert_eq!(results[1].verdict, Verdict::InvalidSignature);
    for (p, r) in payloads.iter().zip(&results) {
        let Ok(alone) = verify(p, &trust, &NoStatus, now());
        assert_eq!(*r, alone);
    }
}

#[test]
fn the_cache_remembers_a_batch_and_answers_the_same() {
    let payloads = mixed();
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    let cache = SignatureCache::new(1000);
    let Ok(first) = verify_batch(&refs, &trust(), &NoStatus, now(), Some(&cache));
    assert_eq!(
        cache.len(),
        93,
        "every authentic card is remembered, nothing else"
    );
    let Ok(second) = verify_batch(&refs, &trust(), &NoStatus, now(), Some(&cache));
    assert_eq!(first, second);
    assert_eq!(first, batch(&payloads));
}

#[test]
fn an_empty_batch_is_an_empty_answer() {
    assert!(batch(&[]).is_empty());
}

#[test]
fn the_canonical_y_check_draws_the_line_at_p() {
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    assert!(!is_canonical_y(&p));
    let mut below = p;
    below[0] = 0xec;
    assert!(is_canonical_y(&below));
    // The sign bit is not part of y.
    let mut signed = below;
    signed[31] = 0xff;
    assert!(is_canonical_y(&signed));
    let mut signed_p = p;
    signed_p[31] = 0xff;
    assert!(!is_canonical_y(&signed_p));
}

#[test]
fn the_equation_holds_for_genuine_cards_and_fails_for_a_forged_one() {
    let trust = trust();
    let mut items: Vec<Pending> = (1..=50)
        .map(|n| {
            match prepare(
                &text(&cose(n, (n % 2) as usize)),
                &trust,
                &mut KeyPoints::default(),
            ) {
                Ok(Prepared::Ready(item)) => *item,
                _ => panic!("card {n} is not ready for the batch"),
            }
        })
        .collect();
    let all: Vec<usize> = (0..items.len()).collect();
    assert!(batch_holds(&items, &all));
    let Ok(Prepared::Ready(forged)) = prepare(
        &with_signature(51, |sig| sig[40] ^= 1),
        &trust,
        &mut KeyPoints::default(),
    ) else {
        panic!("a forged card with well-formed parts is ready for the batch");
    };
    items.push(*forged);
    let all: Vec<usize> = (0..items.len()).collect();
    assert!(!batch_holds(&items, &all));
}
