//! The batch verifier is a second signature path: for any batch of real and mangled payloads, every
//! result must be exactly what `verify` gives for that payload alone.
#![no_main]

use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::fuzz_target;
use rescard_core::domain::{Card, Serial};
use rescard_core::keys::IssuerKey;
use rescard_core::{NoStatus, PREFIX, TrustList, TrustedKey, codec, reference, verify, verify_batch};

/// The group order l, little-endian: added to s, it makes a non-canonical scalar.
const ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

struct World {
    keys: [IssuerKey; 3],
    trust: TrustList,
    signed_at: DateTime<Utc>,
    now: DateTime<Utc>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let signed_at: DateTime<Utc> = "2026-11-21T09:00:00Z".parse().expect("time");
        let keys = [
            IssuerKey::from_seed(&[42; 32]),
            IssuerKey::from_seed(&[43; 32]),
            // Nobody trusts the third.
            IssuerKey::from_seed(&[7; 32]),
        ];
        let trust = TrustList::new(vec![
            TrustedKey::active(keys[0].verifying_key(), signed_at - Duration::days(1)),
            TrustedKey::active(keys[1].verifying_key(), signed_at - Duration::days(1)),
        ])
        .expect("trust");
        World {
            keys,
            trust,
            signed_at,
            now: "2027-01-15T12:00:00Z".parse().expect("time"),
        }
    })
}

fn cose(w: &World, sequence: u8, key: usize) -> Vec<u8> {
    let r = reference::card();
    let card = Card::new(
        Serial::from_sequence(u32::from(sequence) + 1).expect("serial"),
        r.itn(),
        r.holder().clone(),
        r.permit(),
        r.validity(),
        None,
    )
    .expect("card");
    codec::encode_cose(&card, w.signed_at, &w.keys[key % 3]).expect("signs")
}

fn text(bytes: &[u8]) -> String {
    format!("{PREFIX}{}", base45::encode(bytes))
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let mut payloads = Vec::new();
    let mut ops = data.chunks(3);
    while let Some(op) = ops.next() {
        if payloads.len() >= 64 {
            break;
        }
        let [kind, x, y] = [op[0], *op.get(1).unwrap_or(&0), *op.get(2).unwrap_or(&0)];
        let mut bytes = cose(w, x, usize::from(y));
        let sig = bytes.len() - 64;
        match kind % 7 {
            // A card as issued, by a trusted key or the foreign one.
            0 | 1 => {}
            // A changed bit of the signature (R or s).
            2 => bytes[sig + usize::from(y % 64)] ^= 1 << (x % 8),
            // A changed bit anywhere in the envelope.
            3 => {
                let at = usize::from(x) * 7 % bytes.len();
                bytes[at] ^= 1 << (y % 8);
            }
            // s + l: the same signature with a non-canonical s.
            4 => {
                let mut carry = 0u16;
                for (byte, add) in bytes[sig + 32..].iter_mut().zip(ORDER) {
                    let sum = u16::from(*byte) + u16::from(add) + carry;
                    *byte = sum as u8;
                    carry = sum >> 8;
                }
            }
            // R replaced by bytes of the input (small-order points, non-canonical encodings).
            5 => {
                for (i, b) in bytes[sig..sig + 32].iter_mut().enumerate() {
                    *b = data.get(i + usize::from(x)).copied().unwrap_or(y);
                }
            }
            // Raw text.
            _ => {
                let start = usize::from(x).min(data.len());
                let end = (start + usize::from(y)).min(data.len());
                payloads.push(String::from_utf8_lossy(&data[start..end]).into_owned());
                continue;
            }
        }
        payloads.push(text(&bytes));
    }
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    let Ok(batch) = verify_batch(&refs, &w.trust, &NoStatus, w.now, None);
    assert_eq!(batch.len(), payloads.len());
    for (payload, result) in payloads.iter().zip(&batch) {
        let Ok(single) = verify(payload, &w.trust, &NoStatus, w.now);
        assert_eq!(result, &single, "{payload}");
    }
});
