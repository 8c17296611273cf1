//! Checking many cards at once: a bank's nightly re-check of its customers.
//!
//! [`verify_batch`] gives every payload the verification [`verify`](super::verify) would give it, in
//! the same order, but checks the signatures together. Ed25519 batch verification replaces one
//! double-scalar multiplication per card by one multi-scalar multiplication over the whole batch:
//!
//! `[-Σ zᵢsᵢ]B + Σ [zᵢ]Rᵢ + Σ_keys [Σ zᵢkᵢ]A = 0`, with `kᵢ = SHA-512(Rᵢ ‖ A ‖ Mᵢ)`,
//!
//! where the `zᵢ` are fresh 128-bit random numbers from the operating system, so that no signer can
//! make wrong signatures cancel out. All cards signed by one key share that key's term. When the
//! equation fails, the batch is halved and each half checked again, down to a few cards that are
//! checked one by one with `verify_strict`: the bad cards are named, and only they get
//! `invalid_signature`.
//!
//! Strictness: every check `verify_strict` makes on its own is made here on each card before the
//! equation: `s` is canonical (below the group order), `R` is a canonical encoding of a curve point
//! that is not of small order, and the key is not of small order (keys that are, or that carry a
//! torsion component, are checked one card at a time). What remains different is only the equation:
//! a batch equation cannot see whether `R` carries a small-order component, so a signature made
//! *with the issuer's private key* and deliberately given such an `R` (no RFC 8032 signer makes one)
//! could pass here and fail `verify_strict`. Without the private key, forging a card that passes the
//! batch is as hard as forging one that passes `verify_strict`.

use chrono::{DateTime, Utc};
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::Signature;
use sha2::{Digest, Sha512};

use super::{
    Authentic, SignatureCache, StatusSource, Verification, authentic, authenticate, envelope,
    judge, signature_failure,
};
use crate::codec::{SignatureFailure, SignedPayload};
use crate::keys::{Kid, TrustList, TrustedKey};

/// The most payloads one batch may hold.
pub const BATCH_LIMIT: usize = 10_000;

/// Below this many cards, a failed batch is checked card by card instead of halved again.
const SINGLE_CHECK_BELOW: usize = 8;

/// A batch is split between the processor's cores in parts of at least this many cards (each part
/// its own batch equation); the status lookups stay on the caller's thread.
const MIN_PART: usize = 256;

/// Checks every payload as [`verify`](super::verify) would, signatures in one batch equation.
/// Results are in the order of `payloads`. With a `cache`, payloads verified before skip the
/// signature check, and the ones verified now are remembered (as [`verify_cached`](super::verify_cached)
/// does).
///
/// Returns `Err` only when the status source fails.
pub fn verify_batch<S: StatusSource>(
    payloads: &[&str],
    trust: &TrustList,
    status: &S,
    now: DateTime<Utc>,
    cache: Option<&SignatureCache>,
) -> Result<Vec<Verification>, S::Error> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parts = cores.min(payloads.len() / MIN_PART).max(1);
    let authenticated = if parts > 1 {
        let part = payloads.len().div_ceil(parts);
        std::thread::scope(|scope| {
            let handles: Vec<_> = payloads
                .chunks(part)
                .map(|chunk| {
                    let thread = std::thread::Builder::new()
                        .spawn_scoped(scope, move || authenticate_all(chunk, trust, cache));
                    (chunk, thread)
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|(chunk, thread)| {
                    // A part whose thread could not start, or failed, is checked here instead.
                    thread
                        .ok()
                        .and_then(|t| t.join().ok())
                        .unwrap_or_else(|| authenticate_all(chunk, trust, cache))
                })
                .collect::<Vec<_>>()
        })
    } else {
        authenticate_all(payloads, trust, cache)
    };
    authenticated
        .into_iter()
        .map(|a| match a {
            Ok(a) => judge(a, status, now),
            Err(failed) => Ok(*failed),
        })
        .collect()
}

/// Envelope, signature and claims of each payload (the signatures in one batch equation), in order.
fn authenticate_all(
    payloads: &[&str],
    trust: &TrustList,
    cache: Option<&SignatureCache>,
) -> Vec<Result<Authentic, Box<Verification>>> {
    let hashes: Vec<[u8; 32]> = match cache {
        Some(_) => payloads.iter().map(|p| SignatureCache::key_of(p)).collect(),
        None => Vec::new(),
    };
    let mut known = match cache {
        Some(cache) => cache.recall_all(&hashes, trust),
        None => Vec::new(),
    }
    .into_iter();
    let mut slots: Vec<Slot> = Vec::with_capacity(payloads.len());
    let mut pending: Vec<Pending> = Vec::new();
    let mut points = KeyPoints::default();
    for (index, payload) in payloads.iter().enumerate() {
        if let Some(Some(known)) = known.next() {
            slots.push(Slot::Done(Ok(Box::new(known)), false));
            continue;
        }
        let slot = match prepare(payload, trust, &mut points) {
            Ok(Prepared::Ready(item)) => {
                let kid = item.signed.kid();
                pending.push(Pending { index, ..*item });
                Slot::Pending(kid)
            }
            Ok(Prepared::Single) => Slot::Done(authenticate(payload, trust).map(Box::new), true),
            Err(failed) => Slot::Done(Err(failed), false),
        };
        slots.push(slot);
    }

    let mut bad = vec![false; pending.len()];
    let all: Vec<usize> = (0..pending.len()).collect();
    find_bad(&pending, &all, &mut bad);
    for (item, bad) in pending.into_iter().zip(bad) {
        let kid = item.signed.kid();
        slots[item.index] = if bad {
            Slot::Done(
                Err(signature_failure(SignatureFailure::InvalidSignature, kid)),
                false,
            )
        } else {
            Slot::Done(
                authentic(item.signed.verified_by(&item.key), kid).map(Box::new),
                true,
            )
        };
    }
    if let Some(cache) = cache {
        cache.remember(
            slots
                .iter()
                .zip(&hashes)
                .filter_map(|(slot, hash)| match slot {
                    Slot::Done(Ok(a), true) => Some((*hash, &**a)),
                    _ => None,
                }),
        );
    }
    slots
        .into_iter()
        .map(|slot| match slot {
            Slot::Done(result, _) => result.map(|a| *a),
            // Every pending slot was resolved above; were one not, it would fail closed.
            Slot::Pending(kid) => Err(signature_failure(SignatureFailure::InvalidSignature, kid)),
        })
        .collect()
}

enum Slot {
    /// The outcome, and whether it is new (to remember) rather than recalled or a failure.
    Done(Result<Box<Authentic>, Box<Verification>>, bool),
    Pending(Kid),
}

/// A card waiting for the batch equation, with the parts of its signature decoded.
struct Pending {
    index: usize,
    signed: SignedPayload,
    key: TrustedKey,
    /// The key as a curve point (torsion-free, checked in `prepare`).
    a: EdwardsPoint,
    tbs: Vec<u8>,
    signature: Signature,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

enum Prepared {
    Ready(Box<Pending>),
    /// Not for the batch (several keys share its kid, or the key is unusual): check it alone.
    Single,
}

/// The curve point of each key met in a batch, or `None` for a key to check card by card (of small
/// order, or with a torsion component). Checking a key costs as much as a signature: once a batch.
#[derive(Default)]
struct KeyPoints(Vec<([u8; 32], Option<EdwardsPoint>)>);

impl KeyPoints {
    fn point(&mut self, key: &TrustedKey) -> Option<EdwardsPoint> {
        let bytes = key.public_key.to_bytes();
        if let Some((_, point)) = self.0.iter().find(|(b, _)| *b == bytes) {
            return *point;
        }
        let a = key.public_key.to_edwards();
        let point = (!key.public_key.is_weak() && a.is_torsion_free()).then_some(a);
        self.0.push((bytes, point));
        point
    }
}

/// Decodes the envelope and the signature, and makes `verify_strict`'s own checks on them.
fn prepare(
    payload: &str,
    trust: &TrustList,
    points: &mut KeyPoints,
) -> Result<Prepared, Box<Verification>> {
    let signed = envelope(payload)?;
    let kid = signed.kid();
    let mut candidates = trust.candidates(kid);
    let key = match (candidates.next(), candidates.next()) {
        (None, _) => return Err(signature_failure(SignatureFailure::UnknownIssuer, kid)),
        (Some(key), None) => key.clone(),
        (Some(_), Some(_)) => return Ok(Prepared::Single),
    };
    let Some(a) = points.point(&key) else {
        return Ok(Prepared::Single);
    };
    let invalid = || signature_failure(SignatureFailure::InvalidSignature, kid);
    let signature = Signature::from_slice(signed.signature_bytes()).map_err(|_| invalid())?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(*signature.s_bytes()))
        .ok_or_else(invalid)?;
    let r_bytes = *signature.r_bytes();
    if !is_canonical_y(&r_bytes) {
        return Err(invalid());
    }
    let r = CompressedEdwardsY(r_bytes)
        .decompress()
        .filter(|r| !r.is_small_order())
        .ok_or_else(invalid)?;
    // A point whose x is 0 (so a set sign bit is non-canonical) is of small order: refused above.
    let tbs = signed.to_be_signed();
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(key.public_key.as_bytes());
    h.update(&tbs);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    Ok(Prepared::Ready(Box::new(Pending {
        index: 0,
        signed,
        key,
        a,
        tbs,
        signature,
        r,
        s,
        k,
    })))
}

/// Whether the y coordinate in an encoded point is below p = 2²⁵⁵ − 19 (`verify_strict` compares the
/// canonical encoding of the expected R with the signature's bytes, so it refuses any other).
fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    let top = bytes[31] & 0x7f;
    !(top == 0x7f && bytes[1..31].iter().all(|&b| b == 0xff) && bytes[0] >= 0xed)
}

/// Marks in `bad` the items among `which` whose signature does not verify.
fn find_bad(items: &[Pending], which: &[usize], bad: &mut [bool]) {
    if which.is_empty() {
        return;
    }
    if which.len() < SINGLE_CHECK_BELOW {
        for &i in which {
            let item = &items[i];
            bad[i] = item
                .key
                .public_key
                .verify_strict(&item.tbs, &item.signature)
                .is_err();
        }
        return;
    }
    if batch_holds(items, which) {
        return;
    }
    let (left, right) = which.split_at(which.len() / 2);
    find_bad(items, left, bad);
    find_bad(items, right, bad);
}

/// The batch equation over `which`, with fresh random weights.
fn batch_holds(items: &[Pending], which: &[usize]) -> bool {
    let mut random = vec![0u8; 16 * which.len()];
    if getrandom::fill(&mut random).is_err() {
        // Without unpredictable weights the equation proves nothing: make every card be checked alone.
        return false;
    }
    let z: Vec<Scalar> = random
        .chunks_exact(16)
        .map(|c| {
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(c);
            Scalar::from(u128::from_le_bytes(bytes))
        })
        .collect();
    let mut base = Scalar::ZERO;
    // One term per key: (its point, Σ zᵢkᵢ over its cards). A batch rarely holds more than two keys.
    let mut keys: Vec<(EdwardsPoint, Scalar)> = Vec::new();
    for (&i, z) in which.iter().zip(&z) {
        let item = &items[i];
        base -= z * item.s;
        let zk = z * item.k;
        match keys.iter_mut().find(|(a, _)| *a == item.a) {
            Some((_, sum)) => *sum += zk,
            None => keys.push((item.a, zk)),
        }
    }
    let scalars = std::iter::once(base)
        .chain(z.iter().copied())
        .chain(keys.iter().map(|(_, c)| *c));
    let points = std::iter::once(ED25519_BASEPOINT_POINT)
        .chain(which.iter().map(|&i| items[i].r))
        .chain(keys.iter().map(|(a, _)| *a));
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).is_identity()
}

#[cfg(test)]
mod tests;
