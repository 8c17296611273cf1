//! rescard-core: the resident card, its signed QR payload, the trust list and the verifier.
//!
//! This crate knows nothing of storage or HTTP, so the offline checker and the fuzz targets build
//! without them. The whole flow, including the tampering that must fail:
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use rescard_core::{codec, reference, verify, IssuerKey, NoStatus, TrustList, TrustedKey, Verdict};
//!
//! let key = IssuerKey::from_seed(&[1; 32]);
//! let signed_at: DateTime<Utc> = "2026-11-21T09:00:00Z".parse().unwrap();
//! let trust = TrustList::new(vec![TrustedKey::active(key.verifying_key(), signed_at)]).unwrap();
//!
//! let card = reference::card();
//! let payload = codec::encode(&card, signed_at, &key).unwrap();
//! assert!(payload.starts_with("RC1:"));
//!
//! let now: DateTime<Utc> = "2027-01-15T12:00:00Z".parse().unwrap();
//! let result = verify(&payload, &trust, &NoStatus, now).unwrap();
//! assert_eq!(result.verdict, Verdict::Valid);
//! assert_eq!(result.card.unwrap().holder().surname.as_ref(), "ABDYKADYROVA-NURLANOVA");
//!
//! // Change one character of the signed text: it no longer verifies.
//! let mut tampered = payload.into_bytes();
//! tampered[40] = if tampered[40] == b'A' { b'B' } else { b'A' };
//! let tampered = String::from_utf8(tampered).unwrap();
//! assert_ne!(verify(&tampered, &trust, &NoStatus, now).unwrap().verdict, Verdict::Valid);
//! ```

#![deny(missing_docs)]

pub mod application;
pub mod codec;
pub mod domain;
pub mod keys;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod reference;
pub mod report;
pub mod root;
pub mod rules;
pub mod status;
pub mod trust_doc;
pub mod verify;

pub use codec::{CodecError, PREFIX};
pub use domain::{
    Card, DocumentType, DomainError, Holder, Itn, LatinName, Nationality, NativeName,
    PassportNumber, Permit, Portrait, Reason, Serial, Sex, ValidityPeriod,
};
pub use keys::{IssuerKey, KeyError, KeyStatus, Kid, SigningDevice, TrustList, TrustedKey};
pub use verify::{
    CardState, CurrentStatus, NoStatus, SignatureCache, StatusOrigin, StatusReport, StatusSource,
    Verdict, Verification, verify, verify_batch, verify_cached,
};
