use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::*;
use crate::keys::{IssuerKey, KeyStatus, TrustedKey};
use crate::reference;

fn key() -> IssuerKey {
    IssuerKey::from_seed(&[42; 32])
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

fn d(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

fn signed_at() -> DateTime<Utc> {
    at("2026-11-21T09:00:00Z")
}

fn trust() -> TrustList {
    TrustList::new(vec![TrustedKey::active(key().verifying_key(), signed_at())]).expect("trust")
}

fn payload() -> String {
    codec::encode(&reference::card(), signed_at(), &key()).expect("signs")
}

/// A status source with fixed answers, as the registry or a snapshot would give them.
struct Fixed(HashMap<Serial, CurrentStatus>, StatusOrigin);

impl StatusSource for Fixed {
    type Error = std::convert::Infallible;
    fn status(&self, serial: Serial, now: DateTime<Utc>) -> Result<StatusReport, Self::Error> {
        Ok(StatusReport {
            origin: self.1,
            as_of: Some(now),
            stale: false,
            current: self.0.get(&serial).cloned(),
        })
    }
}

fn with_state(state: CardState, valid_until: &str) -> Fixed {
    let status = CurrentStatus {
        state,
        valid_until: Some(d(valid_until)),
        reason: Some("test".into()),
        replaced_by: (state == CardState::Replaced)
            .then(|| Serial::from_sequence(2).expect("serial")),
    };
    Fixed(
        HashMap::from([(reference::card().serial(), status)]),
        StatusOrigin::Registry,
    )
}

fn check<S: StatusSource<Error = std::convert::Infallible>>(
    payload: &str,
    status: &S,
    now: &str,
) -> Verification {
    match verify(payload, &trust(), status, at(now)) {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

#[test]
fn the_printed_dates_decide_when_nothing_else_is_known() {
    let p = payload();
    let valid = check(&p, &NoStatus, "2027-01-15T12:00:00Z");
    assert_eq!(valid.verdict, Verdict::Valid);
    assert_eq!(valid.valid_until, Some(d("2027-11-30")));
    assert_eq!(valid.days_remaining, Some(319));
    assert_eq!(valid.status.origin, StatusOrigin::Card);
    assert_eq!(
        check(&p, &NoStatus, "2026-11-30T17:59:59Z").verdict,
        Verdict::NotYetValid
    );
    assert_eq!(
        check(&p, &NoStatus, "2026-11-30T18:00:00Z").verdict,
        Verdict::Valid
    );
    let last_day = check(&p, &NoStatus, "2027-11-30T17:59:59Z");
    assert_eq!(
        (last_day.verdict, last_day.days_remaining),
        (Verdict::Valid, Some(0))
    );
    let expired = check(&p, &NoStatus, "2027-11-30T18:00:00Z");
    assert_eq!(
        (expired.verdict, expired.days_remaining),
        (Verdict::Expired, Some(-1))
    );
}

#[test]
fn an_extension_moves_valid_until_and_keeps_the_printed_date() {
    let status = with_state(CardState::Active, "2028-11-30");
    let v = check(&payload(), &status, "2028-01-10T12:00:00Z");
    assert_eq!(v.verdict, Verdict::Valid);
    assert_eq!(v.valid_until, Some(d("2028-11-30")));
    assert_eq!(v.card.map(|c| c.validity().until()), Some(d("2027-11-30")));
    assert_eq!(v.status.origin, StatusOrigin::Registry);
}

#[test]
fn states_win_over_dates_in_order() {
    let p = payload();
    let cases = [
        (CardState::Revoked, Verdict::Revoked),
        (CardState::Replaced, Verdict::Replaced),
        (CardState::Suspended, Verdict::Suspended),
    ];
    for (state, verdict) in cases {
        // Even after expiry the state is what the checker must hear about.
        assert_eq!(
            check(&p, &with_state(state, "2027-11-30"), "2027-01-15T12:00:00Z").verdict,
            verdict
        );
        assert_eq!(
            check(&p, &with_state(state, "2027-11-30"), "2029-01-15T12:00:00Z").verdict,
            verdict
        );
    }
    let replaced = check(
        &p,
        &with_state(CardState::Replaced, "2027-11-30"),
        "2027-01-15T12:00:00Z",
    );
    assert!(
        replaced
            .detail
            .contains(&Serial::from_sequence(2).expect("serial").to_string())
    );
}

#[test]
fn signature_and_format_failures_win_over_any_status() {
    let revoked = with_state(CardState::Revoked, "2027-11-30");
    let other = IssuerKey::from_seed(&[5; 32]);
    let foreign = codec::encode(&reference::card(), signed_at(), &other).expect("signs");
    assert_eq!(
        check(&foreign, &revoked, "2027-01-15T12:00:00Z").verdict,
        Verdict::UnknownIssuer
    );
    assert_eq!(
        check("RC1:NOT A CARD", &revoked, "2027-01-15T12:00:00Z").verdict,
        Verdict::Malformed
    );
    assert_eq!(
        check("HC1:6BFOXN", &revoked, "2027-01-15T12:00:00Z").verdict,
        Verdict::Malformed
    );
}

#[test]
fn a_card_signed_after_its_key_stopped_signing_is_refused() {
    let mut rotated = TrustedKey::active(key().verifying_key(), at("2026-01-01T00:00:00Z"));
    rotated.status = KeyStatus::VerifyOnly;
    rotated.not_after = Some(at("2026-11-01T00:00:00Z"));
    let list = TrustList::new(vec![rotated.clone()]).expect("list");
    let v = verify(&payload(), &list, &NoStatus, at("2027-01-15T12:00:00Z")).expect("infallible");
    assert_eq!(v.verdict, Verdict::InvalidSignature);
    rotated.not_after = Some(at("2026-12-01T00:00:00Z"));
    let list = TrustList::new(vec![rotated]).expect("list");
    let v = verify(&payload(), &list, &NoStatus, at("2027-01-15T12:00:00Z")).expect("infallible");
    assert_eq!(v.verdict, Verdict::Valid);
}

/// Every single-byte change of a valid payload text, to every other ASCII byte, is refused.
#[test]
fn no_single_byte_change_of_the_payload_text_verifies() {
    let p = payload();
    let now = "2027-01-15T12:00:00Z";
    for i in 0..p.len() {
        for b in 0u8..=127 {
            if b == p.as_bytes()[i] {
                continue;
            }
            let mut changed = p.clone().into_bytes();
            changed[i] = b;
            let changed = String::from_utf8(changed).expect("ascii");
            let v = check(&changed, &NoStatus, now);
            assert!(
                matches!(
                    v.verdict,
                    Verdict::Malformed | Verdict::InvalidSignature | Verdict::UnknownIssuer
                ),
                "byte {i} set to {b}: {:?}",
                v.verdict
            );
        }
    }
}

/// Every single-byte change of the signed COSE bytes, to every other value, is refused.
#[test]
fn no_single_byte_change_of_the_cose_bytes_verifies() {
    let bytes = codec::encode_cose(&reference::card(), signed_at(), &key()).expect("signs");
    let list = trust();
    for i in 0..bytes.len() {
        for b in 0u8..=255 {
            if b == bytes[i] {
                continue;
            }
            let mut changed = bytes.clone();
            changed[i] = b;
            let accepted = codec::decode_cose(&changed)
                .ok()
                .and_then(|s| s.verify(&list).ok())
                .and_then(|v| v.claims().ok());
            assert!(accepted.is_none(), "byte {i} set to {b} was accepted");
        }
    }
}

#[test]
fn verdict_names_and_exit_codes_are_distinct() {
    let mut codes: Vec<u8> = Verdict::ALL.iter().map(|v| v.exit_code()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), Verdict::ALL.len());
    assert!(
        Verdict::ALL
            .iter()
            .all(|v| (v.exit_code() == 0) == (*v == Verdict::Valid))
    );
    for v in Verdict::ALL {
        assert_eq!(Verdict::from_name(v.as_str()), Some(v));
    }
}

#[test]
fn the_cache_gives_the_same_verdicts_and_forgets_a_retired_key() {
    let cache = SignatureCache::new(100);
    let other = IssuerKey::from_seed(&[5; 32]);
    let mut bad = payload().into_bytes();
    let last = bad.len() - 3;
    bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
    let payloads = [
        payload(),
        codec::encode(&reference::card(), signed_at(), &other).expect("signs"),
        String::from_utf8(bad).expect("ascii"),
        "RC1:junk".into(),
    ];
    let statuses = [
        with_state(CardState::Active, "2028-11-30"),
        with_state(CardState::Revoked, "2027-11-30"),
    ];
    for round in 0..2 {
        for p in &payloads {
            for s in &statuses {
                for now in ["2027-01-15T12:00:00Z", "2028-06-01T12:00:00Z"] {
                    let plain = verify(p, &trust(), s, at(now)).expect("infallible");
                    let cached =
                        verify_cached(p, &trust(), s, at(now), &cache).expect("infallible");
                    assert_eq!(cached, plain, "round {round}");
                }
            }
        }
    }
    assert_eq!(cache.len(), 1, "only the authentic payload is remembered");

    // The key is retired: the remembered payload is checked in full again.
    let mut retired = TrustedKey::active(key().verifying_key(), signed_at());
    retired.status = KeyStatus::Retired;
    let list = TrustList::new(vec![retired]).expect("list");
    let v = verify_cached(
        &payload(),
        &list,
        &NoStatus,
        at("2027-01-15T12:00:00Z"),
        &cache,
    )
    .expect("infallible");
    assert_eq!(v.verdict, Verdict::UnknownIssuer);
    // The key's signing window now ends before the card was signed.
    let mut rotated = TrustedKey::active(key().verifying_key(), at("2026-01-01T00:00:00Z"));
    rotated.status = KeyStatus::VerifyOnly;
    rotated.not_after = Some(at("2026-11-01T00:00:00Z"));
    let list = TrustList::new(vec![rotated]).expect("list");
    let v = verify_cached(
        &payload(),
        &list,
        &NoStatus,
        at("2027-01-15T12:00:00Z"),
        &cache,
    )
    .expect("infallible");
    assert_eq!(v.verdict, Verdict::InvalidSignature);
}

#[test]
fn a_full_cache_starts_again() {
    let cache = SignatureCache::new(2);
    for seed in 0..5u8 {
        let k = IssuerKey::from_seed(&[seed + 100; 32]);
        let list =
            TrustList::new(vec![TrustedKey::active(k.verifying_key(), signed_at())]).expect("list");
        let p = codec::encode(&reference::card(), signed_at(), &k).expect("signs");
        verify_cached(&p, &list, &NoStatus, at("2027-01-15T12:00:00Z"), &cache)
            .expect("infallible");
        assert!(cache.len() <= 2);
    }
}
