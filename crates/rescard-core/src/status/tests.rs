use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;

use super::*;
use crate::keys::{KeyStatus, TrustedKey};

fn key() -> IssuerKey {
    IssuerKey::from_seed(&[8; 32])
}

fn trust() -> TrustList {
    TrustList::new(vec![TrustedKey::active(
        key().verifying_key(),
        at("2026-01-01T00:00:00Z"),
    )])
    .expect("trust")
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

fn d(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

fn serial(sequence: u32) -> Serial {
    Serial::from_sequence(sequence).expect("serial")
}

fn entry(sequence: u32, state: CardState, until: Option<&str>) -> StatusEntry {
    StatusEntry {
        serial: serial(sequence),
        state,
        valid_until: until.map(d),
        replaced_by: (state == CardState::Replaced).then(|| serial(sequence + 1_000_000)),
    }
}

fn sample(sequence: u64, since: Option<u64>) -> Snapshot {
    Snapshot {
        sequence,
        since,
        issued_at: at("2027-01-15T06:00:00Z"),
        max_age_seconds: 86_400,
        entries: vec![
            entry(3, CardState::Revoked, None),
            entry(7, CardState::Active, Some("2028-11-30")),
            entry(8, CardState::Suspended, Some("2028-01-31")),
            entry(200, CardState::Replaced, None),
            entry(99_999_999, CardState::Active, Some("2025-01-01")),
        ],
    }
}

#[test]
fn a_snapshot_round_trips_through_its_signature() {
    let s = sample(42, None);
    let bytes = s.sign(&key()).expect("signs");
    let (opened, kid) = Snapshot::open(&bytes, &trust()).expect("open");
    assert_eq!(opened, s);
    assert_eq!(kid, key().kid());
}

#[test]
fn entries_are_compact() {
    // A revoked card 15 serials after the previous entry: one byte. An extended one: three more or less.
    let packed = pack(
        &[
            entry(15, CardState::Revoked, None),
            entry(30, CardState::Active, Some("2027-06-01")),
        ],
        base_day(at("2027-01-15T06:00:00Z")),
    );
    assert_eq!(packed.len(), 1 + 1 + 2);
}

#[test]
fn a_foreign_or_forged_snapshot_is_refused() {
    let other = IssuerKey::from_seed(&[9; 32]);
    assert_eq!(
        Snapshot::open(&sample(1, None).sign(&other).expect("signs"), &trust()).map(|_| ()),
        Err(SnapshotError::UnknownIssuer)
    );
    // Every single-byte change, to every other value: exhaustive.
    let bytes = sample(1, None).sign(&key()).expect("signs");
    for i in 0..bytes.len() {
        for b in 0u8..=255 {
            if bytes[i] == b {
                continue;
            }
            let mut changed = bytes.clone();
            changed[i] = b;
            assert!(
                Snapshot::open(&changed, &trust()).is_err(),
                "byte {i} set to {b:#x} was accepted"
            );
        }
    }
}

#[test]
fn a_snapshot_signed_after_its_key_stopped_signing_is_refused() {
    let mut rotated = TrustedKey::active(key().verifying_key(), at("2026-01-01T00:00:00Z"));
    rotated.status = KeyStatus::VerifyOnly;
    rotated.not_after = Some(at("2027-01-01T00:00:00Z"));
    let list = TrustList::new(vec![rotated]).expect("list");
    assert_eq!(
        Snapshot::open(&sample(1, None).sign(&key()).expect("signs"), &list).map(|_| ()),
        Err(SnapshotError::InvalidSignature)
    );
}

#[test]
fn a_view_applies_deltas_in_order_and_refuses_gaps_and_rollbacks() {
    let mut view = StatusView::from_full(sample(10, None)).expect("full");
    assert_eq!(view.len(), 5);
    let mut delta = Snapshot {
        sequence: 12,
        since: Some(10),
        issued_at: at("2027-01-16T06:00:00Z"),
        max_age_seconds: 3600,
        entries: vec![],
    };
    delta.entries = vec![
        entry(3, CardState::Active, None),  // back to as printed: forgotten
        entry(5, CardState::Revoked, None), // newly revoked
        entry(8, CardState::Active, Some("2028-01-31")), // reinstated, still extended
    ];
    view.apply(delta.clone()).expect("delta");
    assert_eq!(view.sequence(), 12);
    let status = |s: u32| {
        view.status(serial(s), at("2027-01-16T07:00:00Z"))
            .expect("infallible")
    };
    assert!(status(3).current.is_none());
    assert_eq!(status(5).current.map(|c| c.state), Some(CardState::Revoked));
    assert_eq!(
        status(8).current.map(|c| (c.state, c.valid_until)),
        Some((CardState::Active, Some(d("2028-01-31"))))
    );
    assert_eq!(status(8).origin, StatusOrigin::Snapshot);
    assert_eq!(status(8).as_of, Some(at("2027-01-16T06:00:00Z")));

    assert!(matches!(
        view.apply(delta),
        Err(ApplyError::Backwards { .. }) | Err(ApplyError::Gap { .. })
    ));
    assert!(matches!(
        view.apply(sample(11, None)),
        Err(ApplyError::Backwards {
            offered: 11,
            held: 12
        })
    ));
    let far = Snapshot {
        sequence: 20,
        since: Some(15),
        issued_at: at("2027-01-17T06:00:00Z"),
        max_age_seconds: 3600,
        entries: vec![],
    };
    assert!(matches!(
        view.apply(far),
        Err(ApplyError::Gap {
            since: 15,
            held: 12
        })
    ));
    assert_eq!(view.sequence(), 12, "a refused snapshot changes nothing");
}

#[test]
fn staleness_and_a_clock_behind_the_snapshot() {
    let view = StatusView::from_full(sample(1, None)).expect("full");
    assert!(!view.is_stale(at("2027-01-16T05:59:59Z")));
    assert!(view.is_stale(at("2027-01-16T06:00:01Z")));
    assert!(view.clock_is_behind(at("2027-01-15T05:00:00Z")));
    assert!(!view.clock_is_behind(at("2027-01-15T05:58:00Z")));
}

#[test]
fn a_million_card_registry_fits_the_size_goal() {
    // 1% revoked, 0.5% suspended, 5% extended, spread over 1,000,000 serials with a fixed pattern.
    let mut entries = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for sequence in 1..=1_000_000u32 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let roll = rng % 1000;
        let state = match roll {
            0..=9 => Some((CardState::Revoked, None)),
            10..=14 => Some((CardState::Suspended, None)),
            15..=64 => Some((
                CardState::Active,
                Some(d("2027-06-01") + chrono::Duration::days((rng >> 20) as i64 % 700)),
            )),
            _ => None,
        };
        if let Some((state, valid_until)) = state {
            entries.push(StatusEntry {
                serial: serial(sequence),
                state,
                valid_until,
                replaced_by: None,
            });
        }
    }
    let full = Snapshot {
        sequence: 1,
        since: None,
        issued_at: at("2027-01-15T06:00:00Z"),
        max_age_seconds: 86_400,
        entries: entries.clone(),
    };
    let size = full.sign(&key()).expect("signs").len();
    assert!(
        size <= 256 * 1024,
        "full snapshot of {} entries is {size} bytes",
        entries.len()
    );
    let delta = Snapshot {
        since: Some(1),
        sequence: 2,
        entries: entries
            .iter()
            .step_by(entries.len() / 1000)
            .take(1000)
            .copied()
            .collect(),
        ..full
    };
    let size = delta.sign(&key()).expect("signs").len();
    assert!(size <= 16 * 1024, "delta of 1000 entries is {size} bytes");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Snapshot::open(&bytes, &trust());
        let _ = unpack(&bytes, 50, 20_000);
        let _ = Snapshot::from_claims(&bytes);
    }

    #[test]
    fn any_entry_list_round_trips(mut raw in proptest::collection::btree_map(1u32..=Serial::MAX_SEQUENCE, (0u64..4, proptest::option::of(-400i64..2000)), 0..60)) {
        let entries: Vec<StatusEntry> = std::mem::take(&mut raw)
            .into_iter()
            .map(|(sequence, (code, until))| {
                let state = state_of_code(code).expect("code");
                StatusEntry {
                    serial: serial(sequence),
                    state,
                    valid_until: until.map(|days| d("2027-01-15") + chrono::Duration::days(days)),
                    replaced_by: (state == CardState::Replaced).then(|| serial(1 + sequence % 1000)),
                }
            })
            .collect();
        let s = Snapshot { sequence: 9, since: Some(3), issued_at: at("2027-01-15T06:00:00Z"), max_age_seconds: 60, entries };
        let (opened, _) = Snapshot::open(&s.sign(&key()).expect("signs"), &trust()).expect("open");
        prop_assert_eq!(opened, s);
    }
}
