//! The signed trust list that checkers sync: the issuer's keys, with the time they were listed, signed
//! by every key that still verifies (a COSE_Sign with one signature per key, RFC 9052 §4.1).
//!
//! A checker accepts a new list only when one of its signatures verifies with a key it already trusts,
//! so a new key arrives through an old one. On its first sync a checker trusts nothing yet: it is given
//! the `kid` of the issuer's key out of band (`rescard sync URL --pin KID`) and accepts a list signed by
//! the key with that id listed in the document itself. A list older than the one held is refused.
//!
//! Under a root ([`crate::root`]) the list also carries, in its protected header, the root's
//! public key (`"root"`), its certificates (`"certificates"`) and revocations (`"revocations"`):
//! each is signed by the root, and the issuer keys' signatures cover them too, so nobody on the
//! way can strip a revocation from a genuine list. A checker that pins the root accepts a list only
//! through a key the root certified for `status` at the list's time
//! ([`TrustDocument::open_rooted`]).

use chrono::{DateTime, Utc};
use coset::cbor::value::Value;
use coset::{
    CoseSign, CoseSignBuilder, CoseSignatureBuilder, HeaderBuilder, Label, TaggedCborSerializable,
    iana,
};
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::keys::{IssuerKey, KeyError, KeyStatus, Kid, TrustList, TrustedKey};
use crate::root::{RootError, RootMaterial, Usage};

/// The unprotected header's labels for the root's material.
const ROOT_LABEL: &str = "root";
const CERTIFICATES_LABEL: &str = "certificates";
const REVOCATIONS_LABEL: &str = "revocations";

/// The largest signed trust list accepted, in bytes.
pub const MAX_TRUST_DOC_BYTES: usize = 256 * 1024;

/// A trust list with the time it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustDocument {
    /// When the list was signed.
    pub issued_at: DateTime<Utc>,
    /// The keys.
    pub keys: TrustList,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Json {
    issued_at: DateTime<Utc>,
    keys: Vec<TrustedKey>,
}

/// Why a signed trust list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustDocError {
    /// Not a COSE_Sign of a trust list.
    #[error("malformed trust list: {0}")]
    Malformed(String),
    /// No signature verifies with a key this checker trusts (or with the pinned key).
    #[error("the trust list is not signed by a key this checker trusts")]
    Untrusted,
    /// Under a root: what the list carries of the root does not hold.
    #[error("the trust list's root statements: {0}")]
    Root(#[from] RootError),
    /// Under a root: no signature is by a key the root trusts for the list at its time.
    #[error("the trust list is not signed by an issuer key the pinned root trusts for it: {0}")]
    NotCertified(String),
}

impl TrustDocument {
    /// Signs the document with each of `signers` (fails only when a key's device does not sign).
    pub fn sign(&self, signers: &[&IssuerKey]) -> Result<Vec<u8>, KeyError> {
        let json = Json {
            issued_at: self.issued_at,
            keys: self.keys.keys().to_vec(),
        };
        let payload = serde_json::to_vec(&json).unwrap_or_default();
        let mut builder = CoseSignBuilder::new()
            .protected(
                root_header(
                    HeaderBuilder::new().content_type("application/json".into()),
                    self.keys.root(),
                )
                .build(),
            )
            .payload(payload);
        for key in signers {
            let header = HeaderBuilder::new()
                .algorithm(iana::Algorithm::EdDSA)
                .key_id(key.kid().0.to_vec())
                .build();
            builder = builder.try_add_created_signature(
                CoseSignatureBuilder::new().protected(header).build(),
                &[],
                |data| key.sign(data).map(|s| s.to_bytes().to_vec()),
            )?;
        }
        Ok(builder.build().to_tagged_vec().unwrap_or_default())
    }

    /// Opens a list under the pinned `root`: its root statements must all verify with `root`
    /// (with `held_revocations`, those a checker kept from earlier lists), and one of its
    /// signatures must be by a key it lists that the root certified for `status` at the list's
    /// `issued_at`, and had not revoked by then.
    pub fn open_rooted(
        bytes: &[u8],
        root: &VerifyingKey,
        held_revocations: &[Vec<u8>],
    ) -> Result<(Self, Kid), TrustDocError> {
        let (sign, doc) = parse(bytes)?;
        let mut material = doc.keys.root().clone();
        material
            .revocations
            .extend(held_revocations.iter().cloned());
        let statements = material.open(root)?;
        let allowed = statements.apply(&doc.keys, Usage::Status);
        let mut why: Vec<String> = Vec::new();
        let found = verify_any(&sign, |kid| {
            allowed
                .candidates(kid)
                .filter(
                    |k| match k.root_limit.as_ref().and_then(|l| l.refuses(doc.issued_at)) {
                        Some(reason) => {
                            why.push(format!("key {kid}: {reason}"));
                            false
                        }
                        None => true,
                    },
                )
                .cloned()
                .collect()
        });
        match found {
            Ok(kid) => Ok((doc, kid)),
            Err(_) if why.is_empty() => Err(TrustDocError::NotCertified(
                "none of its signatures is by a key it lists".into(),
            )),
            Err(_) => Err(TrustDocError::NotCertified(why.join("; "))),
        }
    }

    /// Opens a list signed by a key of `trusted` (not retired).
    pub fn open(bytes: &[u8], trusted: &TrustList) -> Result<(Self, Kid), TrustDocError> {
        let (sign, doc) = parse(bytes)?;
        let kid = verify_any(&sign, |kid| trusted.candidates(kid).cloned().collect())?;
        Ok((doc, kid))
    }

    /// Opens a list on a first sync: it must be signed by the key with id `pin` that it lists itself.
    pub fn open_pinned(bytes: &[u8], pin: Kid) -> Result<(Self, Kid), TrustDocError> {
        let (sign, doc) = parse(bytes)?;
        let kid = verify_any(&sign, |kid| {
            if kid != pin {
                return Vec::new();
            }
            doc.keys.candidates(kid).cloned().collect()
        })?;
        Ok((doc, kid))
    }

    /// Opens a list signed by a key it lists itself (not retired). This proves the bytes are a whole
    /// list that one of the keys it names signed, and nothing about whether to trust those keys: a
    /// checker calls it on a list it accepted earlier through [`open`](Self::open) or
    /// [`open_pinned`](Self::open_pinned), and recorded, to check on every use that the list is still
    /// intact.
    pub fn open_self_signed(bytes: &[u8]) -> Result<(Self, Kid), TrustDocError> {
        let (sign, doc) = parse(bytes)?;
        let kid = verify_any(&sign, |kid| doc.keys.candidates(kid).cloned().collect())?;
        Ok((doc, kid))
    }
}

fn parse(bytes: &[u8]) -> Result<(CoseSign, TrustDocument), TrustDocError> {
    let malformed = |m: String| TrustDocError::Malformed(m);
    if bytes.len() > MAX_TRUST_DOC_BYTES {
        return Err(malformed(format!(
            "{} bytes, more than the {MAX_TRUST_DOC_BYTES} accepted",
            bytes.len()
        )));
    }
    let sign = CoseSign::from_tagged_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    let payload = sign
        .payload
        .as_deref()
        .ok_or_else(|| malformed("no payload".into()))?;
    let json: Json = serde_json::from_slice(payload).map_err(|e| malformed(e.to_string()))?;
    let keys = TrustList::new(json.keys)
        .map_err(|e| malformed(e.to_string()))?
        .with_root(root_material(&sign.protected.header).map_err(malformed)?);
    Ok((
        sign.clone(),
        TrustDocument {
            issued_at: json.issued_at,
            keys,
        },
    ))
}

/// `header` with the labels that carry `root` (none when there is no root).
fn root_header(mut header: HeaderBuilder, root: &RootMaterial) -> HeaderBuilder {
    if let Some(key) = &root.root {
        header = header.text_value(ROOT_LABEL.into(), Value::Bytes(key.as_bytes().to_vec()));
    }
    let list = |items: &[Vec<u8>]| Value::Array(items.iter().cloned().map(Value::Bytes).collect());
    if !root.certificates.is_empty() {
        header = header.text_value(CERTIFICATES_LABEL.into(), list(&root.certificates));
    }
    if !root.revocations.is_empty() {
        header = header.text_value(REVOCATIONS_LABEL.into(), list(&root.revocations));
    }
    header
}

/// What a protected header carries of a root.
fn root_material(header: &coset::Header) -> Result<RootMaterial, String> {
    let mut material = RootMaterial::default();
    let bytes_list = |v: &Value, name: &str| -> Result<Vec<Vec<u8>>, String> {
        let Value::Array(items) = v else {
            return Err(format!("`{name}` is not an array"));
        };
        items
            .iter()
            .map(|i| match i {
                Value::Bytes(b) => Ok(b.clone()),
                _ => Err(format!("an entry of `{name}` is not bytes")),
            })
            .collect()
    };
    for (label, value) in &header.rest {
        match label {
            Label::Text(l) if l == ROOT_LABEL => {
                let Value::Bytes(raw) = value else {
                    return Err("`root` is not bytes".into());
                };
                let raw: [u8; 32] = raw
                    .as_slice()
                    .try_into()
                    .map_err(|_| "`root` is not 32 bytes".to_owned())?;
                material.root = Some(
                    VerifyingKey::from_bytes(&raw)
                        .map_err(|_| "`root` is not Ed25519".to_owned())?,
                );
            }
            Label::Text(l) if l == CERTIFICATES_LABEL => {
                material.certificates = bytes_list(value, CERTIFICATES_LABEL)?;
            }
            Label::Text(l) if l == REVOCATIONS_LABEL => {
                material.revocations = bytes_list(value, REVOCATIONS_LABEL)?;
            }
            // Other labels are for later versions: ignored, as COSE asks.
            _ => {}
        }
    }
    Ok(material)
}

fn verify_any(
    sign: &CoseSign,
    mut candidates: impl FnMut(Kid) -> Vec<TrustedKey>,
) -> Result<Kid, TrustDocError> {
    for signature in &sign.signatures {
        let header = &signature.protected.header;
        if header.alg
            != Some(coset::RegisteredLabelWithPrivate::Assigned(
                iana::Algorithm::EdDSA,
            ))
        {
            continue;
        }
        let Ok(kid) = <[u8; 8]>::try_from(header.key_id.as_slice()).map(Kid) else {
            continue;
        };
        let Ok(sig) = Signature::from_slice(&signature.signature) else {
            continue;
        };
        let tbs = sign.tbs_data(&[], signature);
        if candidates(kid).iter().any(|k| {
            k.status != KeyStatus::Retired && k.public_key.verify_strict(&tbs, &sig).is_ok()
        }) {
            return Ok(kid);
        }
    }
    Err(TrustDocError::Untrusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("time")
    }

    fn keys() -> (IssuerKey, IssuerKey) {
        (
            IssuerKey::from_seed(&[1; 32]),
            IssuerKey::from_seed(&[2; 32]),
        )
    }

    fn rotated_doc(old: &IssuerKey, new: &IssuerKey) -> TrustDocument {
        let mut verify_only = TrustedKey::active(old.verifying_key(), at("2026-01-01T00:00:00Z"));
        verify_only.status = KeyStatus::VerifyOnly;
        verify_only.not_after = Some(at("2027-01-01T00:00:00Z"));
        let active = TrustedKey::active(new.verifying_key(), at("2027-01-01T00:00:00Z"));
        TrustDocument {
            issued_at: at("2027-01-01T00:00:00Z"),
            keys: TrustList::new(vec![verify_only, active]).expect("list"),
        }
    }

    #[test]
    fn a_new_key_is_accepted_through_an_old_one() {
        let (old, new) = keys();
        let held = TrustList::new(vec![TrustedKey::active(
            old.verifying_key(),
            at("2026-01-01T00:00:00Z"),
        )])
        .expect("held");
        let doc = rotated_doc(&old, &new);
        let bytes = doc.sign(&[&old, &new]).expect("signs");
        let (opened, kid) = TrustDocument::open(&bytes, &held).expect("accepted");
        assert_eq!(opened, doc);
        assert_eq!(kid, old.kid());
    }

    #[test]
    fn a_list_signed_only_by_an_unknown_key_is_refused() {
        let (old, new) = keys();
        let held = TrustList::new(vec![TrustedKey::active(
            old.verifying_key(),
            at("2026-01-01T00:00:00Z"),
        )])
        .expect("held");
        let bytes = rotated_doc(&old, &new).sign(&[&new]).expect("signs");
        assert_eq!(
            TrustDocument::open(&bytes, &held).map(|_| ()),
            Err(TrustDocError::Untrusted)
        );
        let mut tampered = rotated_doc(&old, &new).sign(&[&old, &new]).expect("signs");
        let i = tampered.len() / 3;
        tampered[i] ^= 0x20;
        assert!(TrustDocument::open(&tampered, &held).is_err());
    }

    #[test]
    fn a_first_sync_needs_the_pinned_key_to_sign_the_list_it_is_in() {
        let (old, new) = keys();
        let bytes = rotated_doc(&old, &new).sign(&[&old, &new]).expect("signs");
        assert!(TrustDocument::open_pinned(&bytes, new.kid()).is_ok());
        assert!(TrustDocument::open_pinned(&bytes, old.kid()).is_ok());
        let stranger = IssuerKey::from_seed(&[3; 32]);
        assert_eq!(
            TrustDocument::open_pinned(&bytes, stranger.kid()).map(|_| ()),
            Err(TrustDocError::Untrusted)
        );
        // A forger lists their own key and signs with it: the pin does not match.
        let forged = TrustDocument {
            issued_at: at("2027-02-01T00:00:00Z"),
            keys: TrustList::new(vec![TrustedKey::active(
                stranger.verifying_key(),
                at("2027-01-01T00:00:00Z"),
            )])
            .expect("l"),
        }
        .sign(&[&stranger])
        .expect("signs");
        assert_eq!(
            TrustDocument::open_pinned(&forged, new.kid()).map(|_| ()),
            Err(TrustDocError::Untrusted)
        );
    }

    #[test]
    fn a_list_opens_by_itself_only_when_a_key_it_lists_signed_it() {
        let (old, new) = keys();
        let bytes = rotated_doc(&old, &new).sign(&[&new]).expect("signs");
        assert_eq!(
            TrustDocument::open_self_signed(&bytes).map(|(_, kid)| kid),
            Ok(new.kid())
        );
        let stranger = IssuerKey::from_seed(&[3; 32]);
        let foreign = rotated_doc(&old, &new).sign(&[&stranger]).expect("signs");
        assert_eq!(
            TrustDocument::open_self_signed(&foreign).map(|_| ()),
            Err(TrustDocError::Untrusted)
        );
        // Only a retired key of its own signed it: that is no signature at all.
        let mut doc = rotated_doc(&old, &new);
        let mut keys = doc.keys.keys().to_vec();
        keys[0].status = KeyStatus::Retired;
        doc.keys = TrustList::new(keys).expect("list");
        assert!(TrustDocument::open_self_signed(&doc.sign(&[&old]).expect("signs")).is_err());
    }

    #[test]
    fn arbitrary_bytes_are_refused_without_panic() {
        for bytes in [
            &b""[..],
            b"\xd8\x62\x84",
            b"\xff\xff",
            &[0xd8, 0x62, 0x84, 0x40, 0xa0, 0xf6, 0x80],
        ] {
            assert!(TrustDocument::open_pinned(bytes, Kid([0; 8])).is_err());
        }
    }
}
