//! Issuer keys and the trust list.
//!
//! Issuer keys are Ed25519. A key's id ([`Kid`]) is the first 8 bytes of the SHA-256 of its 32-byte
//! public key. Two keys may share a `kid`, so a verifier tries every trusted key with it.
//!
//! A private key is either in memory ([`IssuerKey::generate`], [`IssuerKey::from_pkcs8_pem`]) or
//! in a device that signs without ever giving the key out, an HSM ([`IssuerKey::in_device`]); the
//! rest of rescard signs through [`IssuerKey::sign`] either way.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a key or trust list could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The PEM text is not a PKCS#8 Ed25519 private key.
    #[error("not a PKCS#8 Ed25519 private key")]
    BadPrivateKey,
    /// The operating system gave no randomness.
    #[error("no randomness from the operating system: {0}")]
    Randomness(String),
    /// The trust list is not well formed.
    #[error("trust list: {0}")]
    BadTrustList(String),
    /// The device holding the key did not sign.
    #[error("the key's device did not sign: {0}")]
    Device(String),
    /// The device gave a signature that its key's public half does not verify (the wrong object,
    /// or a faulty device): nothing was signed.
    #[error("the key's device gave a signature its public key does not verify")]
    DeviceSignature,
    /// The key is in a device and cannot be written out.
    #[error("the key is in a device, which does not give it out")]
    NotExportable,
}

/// A device that makes Ed25519 signatures with a key it keeps (a PKCS#11 token, an HSM).
pub trait SigningDevice: Send + Sync {
    /// The 64-byte Ed25519 signature (RFC 8032, pure) of `message`.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], String>;
}

/// The 8-byte key id carried in the payload's protected header.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(pub [u8; 8]);

impl Kid {
    /// The id of `key`: the first 8 bytes of SHA-256 over its 32 raw bytes.
    pub fn of(key: &VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut kid = [0; 8];
        kid.copy_from_slice(&digest[..8]);
        Self(kid)
    }

    /// Parses 16 hex digits.
    pub fn parse_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kid({self})")
    }
}

/// An issuer's private signing key. It has no `Debug`, `Display` or `Serialize`; in memory it is
/// zeroized when dropped, and the only way out is [`IssuerKey::to_pkcs8_pem`], for writing the key
/// file. In a device it never leaves the device.
pub struct IssuerKey {
    key: Held,
    kid: Kid,
}

enum Held {
    Memory(SigningKey),
    Device {
        public: VerifyingKey,
        device: Arc<dyn SigningDevice>,
    },
}

impl IssuerKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Randomness(e.to_string()))?;
        let key = Self::from_seed(&seed);
        seed.fill(0);
        Ok(key)
    }

    /// The key whose 32-byte secret is `seed`. Only for deterministic test vectors.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self::from_signing_key(SigningKey::from_bytes(seed))
    }

    fn from_signing_key(key: SigningKey) -> Self {
        let kid = Kid::of(&key.verifying_key());
        Self {
            key: Held::Memory(key),
            kid,
        }
    }

    /// The key kept by `device`, whose public half is `public`. Every signature the device gives is
    /// checked against `public` before it is used.
    pub fn in_device(public: VerifyingKey, device: Arc<dyn SigningDevice>) -> Self {
        Self {
            kid: Kid::of(&public),
            key: Held::Device { public, device },
        }
    }

    /// Whether the key is kept by a device.
    pub fn is_in_device(&self) -> bool {
        matches!(self.key, Held::Device { .. })
    }

    /// Loads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(Self::from_signing_key)
            .map_err(|_| KeyError::BadPrivateKey)
    }

    /// The key as PKCS#8 PEM, in memory that is wiped when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<zeroize::Zeroizing<String>, KeyError> {
        match &self.key {
            Held::Memory(key) => key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|_| KeyError::BadPrivateKey),
            Held::Device { .. } => Err(KeyError::NotExportable),
        }
    }

    /// The key id.
    pub fn kid(&self) -> Kid {
        self.kid
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        match &self.key {
            Held::Memory(key) => key.verifying_key(),
            Held::Device { public, .. } => *public,
        }
    }

    /// An Ed25519 signature over `message`. A key in memory always signs; a device may fail, and
    /// what it gives is verified before it is returned.
    pub fn sign(&self, message: &[u8]) -> Result<Signature, KeyError> {
        match &self.key {
            Held::Memory(key) => Ok(key.sign(message)),
            Held::Device { public, device } => {
                let bytes = device.sign(message).map_err(KeyError::Device)?;
                let signature = Signature::from_bytes(&bytes);
                public
                    .verify_strict(message, &signature)
                    .map_err(|_| KeyError::DeviceSignature)?;
                Ok(signature)
            }
        }
    }
}

/// What a trusted key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum KeyStatus {
    /// Signs new cards and verifies.
    Active,
    /// Verifies the cards it signed; signs nothing new (after a rotation).
    VerifyOnly,
    /// Verifies nothing: its cards report `unknown_issuer`.
    Retired,
}

impl KeyStatus {
    /// Every status.
    pub const ALL: [KeyStatus; 3] = [Self::Active, Self::VerifyOnly, Self::Retired];

    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::VerifyOnly => "verify-only",
            Self::Retired => "retired",
        }
    }

    /// The status spelt `text` ([`Self::as_str`]).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One key of the trust list, in the JSON shape of `rescard keys list --json` and `GET /api/v1/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrustedKey {
    /// The key id, 16 hex digits.
    #[serde(with = "kid_hex")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kid: Kid,
    /// The 32 raw public key bytes, base64url without padding.
    #[serde(with = "public_key_b64")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub public_key: VerifyingKey,
    /// What it may do.
    pub status: KeyStatus,
    /// When it began signing.
    pub not_before: DateTime<Utc>,
    /// When it stopped signing new cards (rotation), if it has.
    pub not_after: Option<DateTime<Utc>>,
    /// What a root allows it, when the list was taken in under a root ([`crate::root`]): never
    /// serialized, set by [`crate::root::Statements::apply`].
    #[serde(skip)]
    pub root_limit: Option<crate::root::RootLimit>,
}

impl TrustedKey {
    /// A key that signs from `not_before` on.
    pub fn active(public_key: VerifyingKey, not_before: DateTime<Utc>) -> Self {
        Self {
            kid: Kid::of(&public_key),
            public_key,
            status: KeyStatus::Active,
            not_before,
            not_after: None,
            root_limit: None,
        }
    }
}

/// The issuer keys a checker trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustList {
    pub(crate) keys: Vec<TrustedKey>,
    /// What a root said of these keys, carried with the signed list ([`crate::root`]).
    pub(crate) root: crate::root::RootMaterial,
}

impl TrustList {
    /// A trust list of `keys`. Each key's `kid` must be the one its public key gives.
    pub fn new(keys: Vec<TrustedKey>) -> Result<Self, KeyError> {
        for k in &keys {
            if Kid::of(&k.public_key) != k.kid {
                return Err(KeyError::BadTrustList(format!(
                    "kid {} does not belong to its public key",
                    k.kid
                )));
            }
        }
        Ok(Self {
            keys,
            root: Default::default(),
        })
    }

    /// The list carrying `root`'s certificates and revocations.
    pub fn with_root(mut self, root: crate::root::RootMaterial) -> Self {
        self.root = root;
        self
    }

    /// The root's certificates and revocations the list carries (empty without a root).
    pub fn root(&self) -> &crate::root::RootMaterial {
        &self.root
    }

    /// The list with each key's [`TrustedKey::root_limit`] set to what `limit` says of it.
    pub fn with_limits(
        &self,
        limit: impl Fn(&TrustedKey) -> Option<crate::root::RootLimit>,
    ) -> Self {
        Self {
            keys: self
                .keys
                .iter()
                .map(|k| TrustedKey {
                    root_limit: limit(k),
                    ..k.clone()
                })
                .collect(),
            root: self.root.clone(),
        }
    }

    /// Parses the JSON array that `keys list --json` prints.
    pub fn from_json(json: &str) -> Result<Self, KeyError> {
        let keys: Vec<TrustedKey> =
            serde_json::from_str(json).map_err(|e| KeyError::BadTrustList(e.to_string()))?;
        Self::new(keys)
    }

    /// The JSON array.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.keys).unwrap_or_else(|_| "[]".into())
    }

    /// All keys, retired ones included.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The keys that may verify a card carrying `kid` (every non-retired key with that id).
    pub fn candidates(&self, kid: Kid) -> impl Iterator<Item = &TrustedKey> {
        self.keys
            .iter()
            .filter(move |k| k.kid == kid && k.status != KeyStatus::Retired)
    }
}

mod kid_hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use super::Kid;

    pub fn serialize<S: Serializer>(kid: &Kid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(kid)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Kid, D::Error> {
        let text = String::deserialize(d)?;
        Kid::parse_hex(&text).ok_or_else(|| D::Error::custom("kid must be 16 hex digits"))
    }
}

mod public_key_b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::VerifyingKey;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(key: &VerifyingKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(key.as_bytes()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<VerifyingKey, D::Error> {
        super::parse_public_key_base64url(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// The base64url form of a public key, as in the trust list.
pub fn public_key_base64url(key: &VerifyingKey) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// The public key whose base64url form is `text` (padding allowed).
pub fn parse_public_key_base64url(text: &str) -> Result<VerifyingKey, KeyError> {
    let bad = |m: &str| KeyError::BadTrustList(format!("public_key {m}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| bad("is not base64url"))?;
    let raw: [u8; 32] = bytes.try_into().map_err(|_| bad("must be 32 bytes"))?;
    VerifyingKey::from_bytes(&raw).map_err(|_| bad("is not an Ed25519 point"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_keeps_the_key() {
        let key = IssuerKey::from_seed(&[7; 32]);
        let pem = key.to_pkcs8_pem().expect("pem");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = IssuerKey::from_pkcs8_pem(&pem).expect("parse");
        assert_eq!(back.verifying_key(), key.verifying_key());
        assert_eq!(back.kid(), key.kid());
        assert!(
            IssuerKey::from_pkcs8_pem(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            )
            .is_err()
        );
    }

    struct Device(SigningKey);

    impl SigningDevice for Device {
        fn sign(&self, message: &[u8]) -> Result<[u8; 64], String> {
            if message.is_empty() {
                return Err("the token is gone".into());
            }
            Ok(self.0.sign(message).to_bytes())
        }
    }

    #[test]
    fn a_device_key_signs_as_its_public_key_says_and_never_gives_itself_out() {
        let memory = IssuerKey::from_seed(&[7; 32]);
        let device = Arc::new(Device(SigningKey::from_bytes(&[7; 32])));
        let key = IssuerKey::in_device(memory.verifying_key(), device);
        assert!(key.is_in_device() && !memory.is_in_device());
        assert_eq!(key.kid(), memory.kid());
        let signature = key.sign(b"card").expect("signs");
        assert_eq!(signature, memory.sign(b"card").expect("signs"));
        assert!(matches!(key.sign(b""), Err(KeyError::Device(m)) if m.contains("gone")));
        assert!(matches!(key.to_pkcs8_pem(), Err(KeyError::NotExportable)));
        // A device that holds another key than the one it is named by signs nothing usable.
        let other = Arc::new(Device(SigningKey::from_bytes(&[8; 32])));
        let wrong = IssuerKey::in_device(memory.verifying_key(), other);
        assert!(matches!(
            wrong.sign(b"card"),
            Err(KeyError::DeviceSignature)
        ));
    }

    #[test]
    fn kid_is_the_first_eight_bytes_of_the_sha256_of_the_public_key() {
        let key = IssuerKey::from_seed(&[7; 32]);
        let digest = Sha256::digest(key.verifying_key().as_bytes());
        assert_eq!(key.kid().0, digest[..8]);
    }

    #[test]
    fn trust_list_json_round_trips_and_refuses_a_wrong_kid() {
        let key = IssuerKey::from_seed(&[7; 32]);
        let now = DateTime::<Utc>::from_timestamp(1_790_000_000, 0).expect("time");
        let list =
            TrustList::new(vec![TrustedKey::active(key.verifying_key(), now)]).expect("list");
        let json = list.to_json();
        assert!(json.contains("\"status\": \"active\""));
        assert_eq!(TrustList::from_json(&json).expect("parse"), list);
        let forged = json.replace(&key.kid().to_string(), "0000000000000000");
        assert!(TrustList::from_json(&forged).is_err());
    }
}
