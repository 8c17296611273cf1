//! The payload codec: a card, signed, as the text in its QR code.
//!
//! `RC1:` followed by the base45 (RFC 9285) of a tagged COSE_Sign1 (RFC 9052) whose protected header
//! holds `alg` = EdDSA (-8) and `kid` (the 8-byte key id), whose unprotected header is empty, and whose
//! payload is a CWT claims set (RFC 8392) carrying the card ([`claims`]). The full specification is
//! `docs/FORMAT.md`.
//!
//! Decoding is strict and in two steps. [`decode`] checks the envelope (length, prefix, base45,
//! COSE structure and headers) and returns a [`SignedPayload`] from which nothing but the key id can be
//! read. Only [`SignedPayload::verify`] against a trust list (with `verify_strict`) yields the claims.

pub mod claims;

use chrono::{DateTime, Utc};
use coset::{
    CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana,
};
use ed25519_dalek::Signature;

pub use claims::DecodedClaims;

use crate::domain::Card;
use crate::keys::{IssuerKey, KeyError, Kid, TrustList, TrustedKey};

/// The version prefix of every payload this codec writes.
pub const PREFIX: &str = "RC1:";

/// The longest payload text accepted. A card with the longest names fits in about 600 characters;
/// a version-40 QR code holds 4296.
pub const MAX_PAYLOAD_CHARS: usize = 1200;

/// Why a payload text is malformed. The verdict for all of these is `malformed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Longer than [`MAX_PAYLOAD_CHARS`].
    #[error("payload is {0} characters long, more than the {MAX_PAYLOAD_CHARS} allowed")]
    TooLong(usize),
    /// Not a rescard payload, or a version this checker does not know.
    #[error(
        "payload does not start with {PREFIX:?}: not a rescard card, or a newer format version"
    )]
    Prefix,
    /// Not base45, or not its canonical form.
    #[error("payload is not valid base45 text")]
    Base45,
    /// Not a tagged COSE_Sign1.
    #[error("payload is not a COSE_Sign1 structure: {0}")]
    Cose(String),
    /// A header this format does not allow.
    #[error("payload header: {0}")]
    Header(String),
    /// The claims are not a card.
    #[error("payload claims: {0}")]
    Claims(String),
}

/// Signs `card` with `key` at `issued_at` and returns the payload text. Fails only when the key's
/// device does not sign.
pub fn encode(card: &Card, issued_at: DateTime<Utc>, key: &IssuerKey) -> Result<String, KeyError> {
    let bytes = encode_cose(card, issued_at, key)?;
    Ok(format!("{PREFIX}{}", base45::encode(&bytes)))
}

/// The COSE_Sign1 bytes (before base45) for `card`.
pub fn encode_cose(
    card: &Card,
    issued_at: DateTime<Utc>,
    key: &IssuerKey,
) -> Result<Vec<u8>, KeyError> {
    sign1(claims::encode_claims(card, issued_at), key)
}

/// A tagged COSE_Sign1 of `payload` by `key`, with the protected header `{alg: EdDSA, kid}` and an
/// empty unprotected header: the envelope of cards and of status snapshots alike.
pub fn sign1(payload: Vec<u8>, key: &IssuerKey) -> Result<Vec<u8>, KeyError> {
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(key.kid().0.to_vec())
        .build();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .try_create_signature(&[], |data| key.sign(data).map(|s| s.to_bytes().to_vec()))?
        .build();
    // Encoding a CoseSign1 built from these parts into a Vec cannot fail.
    Ok(sign1.to_tagged_vec().unwrap_or_default())
}

/// A payload whose envelope is well formed but whose signature has not been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPayload {
    kid: Kid,
    /// The protected header's bytes, as signed.
    protected: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// Why a signature check failed: no trusted key has the payload's `kid`, or none of them verifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFailure {
    /// No trusted, unretired key carries this key id.
    UnknownIssuer,
    /// The keys with this key id do not verify the signature.
    InvalidSignature,
}

/// A payload whose signature a trusted key verified.
#[derive(Debug, Clone)]
pub struct VerifiedPayload {
    key: TrustedKey,
    claims: Vec<u8>,
}

impl VerifiedPayload {
    /// The trusted key that verified it.
    pub fn key(&self) -> &TrustedKey {
        &self.key
    }

    /// The signed payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.claims
    }

    /// The card and signing time it carries.
    pub fn claims(&self) -> Result<DecodedClaims, CodecError> {
        claims::decode_claims(&self.claims)
    }
}

/// Checks the envelope of a payload text.
pub fn decode(text: &str) -> Result<SignedPayload, CodecError> {
    if text.len() > MAX_PAYLOAD_CHARS {
        return Err(CodecError::TooLong(text.chars().count()));
    }
    let body = text.strip_prefix(PREFIX).ok_or(CodecError::Prefix)?;
    let bytes = base45::decode(body).map_err(|_| CodecError::Base45)?;
    if base45::encode(&bytes) != body {
        return Err(CodecError::Base45);
    }
    decode_cose(&bytes)
}

/// Checks the envelope of COSE_Sign1 bytes.
///
/// The format allows exactly one encoding of an envelope, so the common case is read directly from
/// the bytes (`read_envelope`); anything else goes through coset, which accepts the same single
/// encoding and says precisely what is wrong with the others.
pub fn decode_cose(bytes: &[u8]) -> Result<SignedPayload, CodecError> {
    if let Some(signed) = read_envelope(bytes) {
        return Ok(signed);
    }
    decode_cose_checked(bytes)
}

/// The envelope read byte by byte, when `bytes` are exactly
/// `d2 84 4d a2 01 27 04 48 <kid:8> a0 <payload: bstr> 58 40 <signature:64>`
/// (tag 18, a 4-array, the protected header `{1: -8, 4: kid}`, an empty unprotected header, the
/// payload as a shortest-form byte string, and a 64-byte signature); `None` for anything else.
fn read_envelope(bytes: &[u8]) -> Option<SignedPayload> {
    const HEAD: [u8; 8] = [0xd2, 0x84, 0x4d, 0xa2, 0x01, 0x27, 0x04, 0x48];
    let rest = bytes.strip_prefix(&HEAD)?;
    let (kid, rest) = rest.split_first_chunk::<8>()?;
    let rest = rest.strip_prefix(&[0xa0])?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0x40..=0x57 => (usize::from(first - 0x40), rest),
        0x58 => {
            let (&n, rest) = rest.split_first()?;
            (n >= 24).then_some((usize::from(n), rest))?
        }
        0x59 => {
            let (n, rest) = rest.split_first_chunk::<2>()?;
            let n = usize::from(u16::from_be_bytes(*n));
            (n > 0xff).then_some((n, rest))?
        }
        _ => return None,
    };
    if rest.len() != len + 2 + Signature::BYTE_SIZE {
        return None;
    }
    let (payload, rest) = rest.split_at(len);
    let signature = rest.strip_prefix(&[0x58, 0x40])?;
    Some(SignedPayload {
        kid: Kid(*kid),
        protected: bytes[3..16].to_vec(),
        payload: payload.to_vec(),
        signature: signature.to_vec(),
    })
}

/// [`decode_cose`] through coset, with an error for each way the bytes can be wrong. Public only for
/// the fuzz target that checks the direct reader against it.
#[doc(hidden)]
pub fn decode_cose_checked(bytes: &[u8]) -> Result<SignedPayload, CodecError> {
    let sign1 = CoseSign1::from_tagged_slice(bytes).map_err(|e| CodecError::Cose(e.to_string()))?;
    let header = &sign1.protected.header;
    if header.alg
        != Some(coset::RegisteredLabelWithPrivate::Assigned(
            iana::Algorithm::EdDSA,
        ))
    {
        return Err(CodecError::Header("alg is not EdDSA (-8)".into()));
    }
    let kid = Kid(header
        .key_id
        .as_slice()
        .try_into()
        .map_err(|_| CodecError::Header("kid is not 8 bytes".into()))?);
    let expected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(kid.0.to_vec())
        .build();
    let canonical_protected = expected
        .clone()
        .to_vec()
        .map_err(|e| CodecError::Header(e.to_string()))?;
    if *header != expected
        || sign1.protected.original_data.as_deref() != Some(canonical_protected.as_slice())
    {
        return Err(CodecError::Header(
            "protected header must hold exactly alg and kid".into(),
        ));
    }
    if !sign1.unprotected.is_empty() {
        return Err(CodecError::Header(
            "unprotected header must be empty".into(),
        ));
    }
    if sign1.payload.is_none() {
        return Err(CodecError::Cose("payload is detached".into()));
    }
    if sign1.signature.len() != Signature::BYTE_SIZE {
        return Err(CodecError::Cose("signature is not 64 bytes".into()));
    }
    if sign1.clone().to_tagged_vec().ok().as_deref() != Some(bytes) {
        return Err(CodecError::Cose("not in the deterministic encoding".into()));
    }
    Ok(SignedPayload {
        kid,
        protected: canonical_protected,
        payload: sign1.payload.unwrap_or_default(),
        signature: sign1.signature,
    })
}

impl SignedPayload {
    /// The key id in the protected header (not yet authenticated).
    pub fn kid(&self) -> Kid {
        self.kid
    }

    /// Tries every trusted, unretired key with this payload's `kid`, with `verify_strict`.
    pub fn verify(&self, trust: &TrustList) -> Result<VerifiedPayload, SignatureFailure> {
        let mut candidates = trust.candidates(self.kid).peekable();
        if candidates.peek().is_none() {
            return Err(SignatureFailure::UnknownIssuer);
        }
        let signature = Signature::from_slice(&self.signature)
            .map_err(|_| SignatureFailure::InvalidSignature)?;
        let tbs = self.to_be_signed();
        let key = candidates
            .find(|k| k.public_key.verify_strict(&tbs, &signature).is_ok())
            .ok_or(SignatureFailure::InvalidSignature)?;
        Ok(self.verified_by(key))
    }

    /// The bytes the signature covers (the COSE Sig_structure).
    pub(crate) fn to_be_signed(&self) -> Vec<u8> {
        sig_structure(&self.protected, &self.payload)
    }

    /// The 64 signature bytes (`decode` checked the length).
    pub(crate) fn signature_bytes(&self) -> &[u8] {
        &self.signature
    }

    /// The payload as verified by `key`: only for a caller that has checked the signature itself
    /// (the batch verifier).
    pub(crate) fn verified_by(&self, key: &TrustedKey) -> VerifiedPayload {
        VerifiedPayload {
            key: key.clone(),
            claims: self.payload.clone(),
        }
    }
}

/// The bytes a COSE_Sign1 signature covers (RFC 9052 §4.4) with no external AAD:
/// `["Signature1", protected, h'', payload]`, written directly (the verifier's hot path; a test checks
/// it against coset's own `tbs_data`).
fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    fn bstr_header(out: &mut Vec<u8>, len: usize) {
        match len {
            0..=23 => out.push(0x40 | len as u8),
            24..=0xff => out.extend_from_slice(&[0x58, len as u8]),
            0x100..=0xffff => {
                out.push(0x59);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(0x5a);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
        }
    }
    let mut out = Vec::with_capacity(16 + protected.len() + payload.len());
    out.extend_from_slice(b"\x84\x6aSignature1");
    bstr_header(&mut out, protected.len());
    out.extend_from_slice(protected);
    out.push(0x40);
    bstr_header(&mut out, payload.len());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests;
