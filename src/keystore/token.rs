//! Private keys in an HSM, through PKCS#11 (the `cryptoki` crate): generated inside the token,
//! sensitive and non-extractable, and used there for every signature. rescard holds only their
//! public halves and the handles of the private ones.
//!
//! A token is opened on first use, once per process: the module is loaded and initialised once,
//! the user logs in once (PKCS#11 keeps the login for every session of the process), and signing
//! sessions are kept in a pool, one per signature in flight. rescard's keys carry the label the URI
//! names (`object`) and a random id joining each public key to its private key; a key is found by
//! its public key, so the registry's trust list alone says which keys sign.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as Pkcs11Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use ed25519_dalek::VerifyingKey;
use rescard_core::{IssuerKey, SigningDevice, TrustedKey};
use zeroize::Zeroizing;

use super::uri::Pkcs11Uri;

/// The Ed25519 curve's object identifier (1.3.101.112, RFC 8410), DER-encoded: the key pair's
/// CKA_EC_PARAMS.
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// An HSM token holding issuer keys, opened on first use.
#[derive(Clone)]
pub struct Token {
    uri: Arc<Pkcs11Uri>,
    open: Arc<Mutex<Option<Arc<Connection>>>>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({})", self.uri.describe())
    }
}

/// How the token keeps a private key, as the token itself reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Custody {
    /// CKA_EXTRACTABLE: whether the key may leave the token, wrapped.
    pub extractable: bool,
    /// CKA_NEVER_EXTRACTABLE: whether it never could.
    pub never_extractable: bool,
    /// CKA_SENSITIVE: whether its value is never shown in the clear.
    pub sensitive: bool,
}

impl fmt::Display for Custody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extract = match (self.extractable, self.never_extractable) {
            (false, true) => "non-extractable (never was)",
            (false, false) => "non-extractable (was once)",
            (true, _) => "EXTRACTABLE",
        };
        let sensitive = if self.sensitive {
            "sensitive"
        } else {
            "NOT sensitive"
        };
        write!(f, "{extract}, {sensitive}")
    }
}

impl Token {
    /// The token `uri` names; nothing is opened yet.
    pub fn new(uri: Pkcs11Uri) -> Self {
        Self {
            uri: Arc::new(uri),
            open: Arc::new(Mutex::new(None)),
        }
    }

    /// The URI.
    pub fn uri(&self) -> &Pkcs11Uri {
        &self.uri
    }

    fn connection(&self) -> Result<Arc<Connection>> {
        let mut open = lock(&self.open);
        if let Some(conn) = &*open {
            return Ok(conn.clone());
        }
        let conn = Arc::new(
            Connection::open(&self.uri)
                .with_context(|| format!("opening the HSM ({})", self.uri.describe()))?,
        );
        *open = Some(conn.clone());
        Ok(conn)
    }

    /// Generates a new Ed25519 key pair inside the token and returns its public half, active from
    /// `now`. The registry does not trust it yet.
    pub fn create(&self, now: DateTime<Utc>) -> Result<TrustedKey> {
        let conn = self.connection()?;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let label = self.uri.object.as_bytes().to_vec();
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(ED25519_OID.to_vec()),
            Attribute::Label(label.clone()),
            Attribute::Id(id.to_vec()),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label),
            Attribute::Id(id.to_vec()),
        ];
        let (public, private) = conn
            .with_session(|s| {
                s.generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public, &private)
            })
            .context("the token could not generate an Ed25519 key pair (does it do EdDSA?)")?;
        let made = conn.with_session(|s| {
            let key = public_point(s, public)?;
            let custody = custody(s, private)?;
            Ok((key, custody))
        });
        let problem = match made {
            Ok((Some(key), c)) if !c.extractable && c.sensitive => {
                return Ok(TrustedKey::active(key, now));
            }
            Ok((Some(_), c)) => {
                format!("the token made the key {c}: rescard keeps no key a token lets out")
            }
            Ok((None, _)) => "the token gave a public key that is not Ed25519".to_owned(),
            Err(e) => format!("reading the new key: {e:#}"),
        };
        conn.with_session(|s| {
            s.destroy_object(private)?;
            s.destroy_object(public)
        })
        .ok();
        bail!("{problem}")
    }

    /// The handles of `key`'s public and private objects in the token, if it is there.
    fn find(
        &self,
        conn: &Connection,
        key: &TrustedKey,
    ) -> Result<Option<(ObjectHandle, ObjectHandle)>> {
        let label = self.uri.object.as_bytes().to_vec();
        let found = conn.with_session(|s| {
            let publics = s.find_objects(&[
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::KeyType(KeyType::EC_EDWARDS),
                Attribute::Label(label.clone()),
            ])?;
            for public in publics {
                if public_point(s, public)? != Some(key.public_key) {
                    continue;
                }
                let id = s
                    .get_attributes(public, &[AttributeType::Id])?
                    .into_iter()
                    .find_map(|a| match a {
                        Attribute::Id(id) => Some(id),
                        _ => None,
                    })
                    .unwrap_or_default();
                let private = s.find_objects(&[
                    Attribute::Class(ObjectClass::PRIVATE_KEY),
                    Attribute::KeyType(KeyType::EC_EDWARDS),
                    Attribute::Label(label.clone()),
                    Attribute::Id(id),
                ])?;
                if let Some(private) = private.first() {
                    return Ok(Some((public, *private)));
                }
            }
            Ok(None)
        })?;
        Ok(found)
    }

    /// The public halves of the keys under the URI's label.
    pub(super) fn public_keys(&self) -> Result<Vec<VerifyingKey>> {
        let conn = self.connection()?;
        let label = self.uri.object.as_bytes().to_vec();
        conn.with_session(|s| {
            let mut keys = Vec::new();
            for public in s.find_objects(&[
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::KeyType(KeyType::EC_EDWARDS),
                Attribute::Label(label.clone()),
            ])? {
                keys.extend(public_point(s, public)?);
            }
            Ok(keys)
        })
    }

    /// Issuer key `trusted`, signing in the token.
    pub(super) fn load_private(&self, trusted: &TrustedKey) -> Result<IssuerKey> {
        let conn = self.connection()?;
        let Some((_, private)) = self.find(&conn, trusted)? else {
            bail!(
                "the private key of issuer key {} is not in the HSM ({}): every replica needs the same token",
                trusted.kid,
                self.uri.describe()
            );
        };
        Ok(IssuerKey::in_device(
            trusted.public_key,
            Arc::new(TokenKey { conn, private }),
        ))
    }

    /// How the token keeps `key`'s private half.
    pub fn custody(&self, key: &TrustedKey) -> Result<Option<Custody>> {
        let conn = self.connection()?;
        let Some((_, private)) = self.find(&conn, key)? else {
            return Ok(None);
        };
        Ok(Some(conn.with_session(|s| custody(s, private))?))
    }

    /// Destroys `key`'s objects in the token; `false` if they are there and the token refused.
    pub(super) fn remove(&self, key: &TrustedKey) -> bool {
        let Ok(conn) = self.connection() else {
            return false;
        };
        match self.find(&conn, key) {
            Ok(None) => true,
            Ok(Some((public, private))) => conn
                .with_session(|s| {
                    s.destroy_object(private)?;
                    s.destroy_object(public)
                })
                .is_ok(),
            Err(_) => false,
        }
    }
}

/// The key's public point, if it is an Ed25519 key: tokens give CKA_EC_POINT as the DER OCTET
/// STRING PKCS#11 3.0 asks for, or as the 32 bytes alone.
fn public_point(
    s: &Session,
    public: ObjectHandle,
) -> cryptoki::error::Result<Option<VerifyingKey>> {
    let point = s
        .get_attributes(public, &[AttributeType::EcPoint])?
        .into_iter()
        .find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p),
            _ => None,
        })
        .unwrap_or_default();
    let raw = match point.as_slice() {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        raw => raw,
    };
    Ok(<[u8; 32]>::try_from(raw)
        .ok()
        .and_then(|b| VerifyingKey::from_bytes(&b).ok()))
}

fn custody(s: &Session, private: ObjectHandle) -> cryptoki::error::Result<Custody> {
    let mut c = Custody {
        extractable: true,
        never_extractable: false,
        sensitive: false,
    };
    for a in s.get_attributes(
        private,
        &[
            AttributeType::Extractable,
            AttributeType::NeverExtractable,
            AttributeType::Sensitive,
        ],
    )? {
        match a {
            Attribute::Extractable(v) => c.extractable = v,
            Attribute::NeverExtractable(v) => c.never_extractable = v,
            Attribute::Sensitive(v) => c.sensitive = v,
            _ => {}
        }
    }
    Ok(c)
}

/// A private key in the token, as rescard's signer.
struct TokenKey {
    conn: Arc<Connection>,
    private: ObjectHandle,
}

impl SigningDevice for TokenKey {
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], String> {
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let signature = self
            .conn
            .with_session(|s| s.sign(&mechanism, self.private, message))
            .map_err(|e| format!("the HSM did not sign: {e}"))?;
        <[u8; 64]>::try_from(signature.as_slice())
            .map_err(|_| format!("the HSM gave a {}-byte signature", signature.len()))
    }
}

/// The open token: its module, slot, PIN and a pool of sessions.
struct Connection {
    module: Pkcs11,
    slot: Slot,
    pin: Option<Zeroizing<String>>,
    sessions: Mutex<Vec<Session>>,
}

/// The modules loaded in this process: PKCS#11 lets a process initialise a module once.
static MODULES: LazyLock<Mutex<HashMap<PathBuf, Pkcs11>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn module(path: &std::path::Path) -> Result<Pkcs11> {
    let mut modules = lock(&MODULES);
    if let Some(m) = modules.get(path) {
        return Ok(m.clone());
    }
    if !path.exists() {
        bail!(
            "no PKCS#11 module at {} (for SoftHSM2, install Debian's softhsm2)",
            path.display()
        );
    }
    let m = Pkcs11::new(path)
        .with_context(|| format!("loading the PKCS#11 module {}", path.display()))?;
    match m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(e).with_context(|| format!("initialising {}", path.display()));
        }
    }
    modules.insert(path.to_path_buf(), m.clone());
    Ok(m)
}

impl Connection {
    fn open(uri: &Pkcs11Uri) -> Result<Self> {
        let module = module(&uri.module)?;
        let mut matching = Vec::new();
        let mut seen = Vec::new();
        for slot in module.get_slots_with_token().context("listing the slots")? {
            let info = module.get_token_info(slot).context("reading a token")?;
            if !info.token_initialized() {
                continue;
            }
            seen.push(info.label().trim().to_owned());
            let is = |want: &Option<String>, have: &str| {
                want.as_deref().is_none_or(|w| w == have.trim())
            };
            if is(&uri.token, info.label())
                && is(&uri.serial, info.serial_number())
                && is(&uri.manufacturer, info.manufacturer_id())
                && is(&uri.model, info.model())
                && uri.slot_id.is_none_or(|id| id == slot.id())
            {
                matching.push((slot, info.login_required()));
            }
        }
        let (slot, login_required) = match matching.as_slice() {
            [one] => *one,
            [] => bail!(
                "no initialised token matches; the module has {}",
                if seen.is_empty() {
                    "none (initialise one: softhsm2-util --init-token --free --label NAME)"
                        .to_owned()
                } else {
                    seen.join(", ")
                }
            ),
            many => bail!(
                "{} tokens match ({}): name one with token= or serial=",
                many.len(),
                seen.join(", ")
            ),
        };
        let pin = match &uri.pin {
            Some(source) => Some(source.read()?),
            None if login_required => {
                bail!(
                    "the token needs its user PIN: add pin-source=file:PATH or pin-source=env:NAME to the URI"
                )
            }
            None => None,
        };
        let conn = Self {
            module,
            slot,
            pin,
            sessions: Mutex::new(Vec::new()),
        };
        conn.with_session(|_| Ok(()))?;
        Ok(conn)
    }

    fn login(&self, session: &Session) -> Result<()> {
        let Some(pin) = &self.pin else {
            return Ok(());
        };
        match session.login(UserType::User, Some(&AuthPin::from(pin.as_str()))) {
            Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(Pkcs11Error::Pkcs11(RvError::PinIncorrect, _)) => {
                bail!("the token refused the PIN")
            }
            Err(Pkcs11Error::Pkcs11(RvError::PinLocked, _)) => {
                bail!("the token's user PIN is locked: its security officer must unlock it")
            }
            Err(e) => Err(e).context("logging in to the token"),
        }
    }

    /// Runs `f` on a pooled session (opening one, logged in, if none is free). A session the
    /// token has closed is dropped; one that has lost its login logs in again, once.
    fn with_session<T>(&self, f: impl Fn(&Session) -> cryptoki::error::Result<T>) -> Result<T> {
        let pooled = lock(&self.sessions).pop();
        let session = match pooled {
            Some(s) => s,
            None => {
                let s = self
                    .module
                    .open_rw_session(self.slot)
                    .context("opening a session with the token")?;
                self.login(&s)?;
                s
            }
        };
        let mut out = f(&session);
        if let Err(Pkcs11Error::Pkcs11(RvError::UserNotLoggedIn, _)) = out {
            self.login(&session)?;
            out = f(&session);
        }
        match &out {
            Err(Pkcs11Error::Pkcs11(
                RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent,
                _,
            )) => {}
            _ => lock(&self.sessions).push(session),
        }
        Ok(out?)
    }
}
