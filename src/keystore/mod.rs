//! The issuer keys. Their private halves are in a key store: a key directory of PEM files
//! ([`KeyDir`]) or an HSM token ([`Token`], by a PKCS#11 URI), which every replica of the service
//! shares. Their public halves, with each key's state and signing window (the trust list), are in
//! the registry ([`rescard_store::Registry::trust_list`]), so a key rotated or retired on one
//! replica takes effect on all of them. [`establish`] gives a new registry its first key, or the
//! `keys.json` trust list a key directory of an earlier rescard holds; [`keyring`] joins the two
//! halves.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use rescard_core::root::Usage;
use rescard_core::{IssuerKey, KeyStatus, Kid, TrustList, TrustedKey};
use rescard_store::Registry;

mod dir;
mod token;
mod uri;

pub use dir::KeyDir;
pub use token::{Custody, Token};
pub use uri::{DEFAULT_OBJECT, PinSource, Pkcs11Uri};

/// The trust list file in a checker's data directory, and in the key directory of a rescard from
/// before the trust list moved into the registry (read once, by [`establish`]).
pub const TRUST_FILE: &str = "keys.json";

/// Where the issuer keys' private halves are: what `--keys` names.
#[derive(Debug, Clone)]
pub enum KeyStore {
    /// A key directory.
    Dir(KeyDir),
    /// An HSM token.
    Token(Token),
}

impl KeyStore {
    /// The store `--keys` names: a `pkcs11:` URI, or a directory.
    pub fn parse(arg: &str) -> Result<Self> {
        if arg.starts_with("pkcs11:") {
            Ok(Self::Token(Token::new(Pkcs11Uri::parse(arg)?)))
        } else {
            Ok(Self::Dir(KeyDir::new(Path::new(arg))))
        }
    }

    /// Makes a new key in the store and returns its public half, active from `now`. The registry
    /// does not trust it yet.
    pub fn create(&self, now: DateTime<Utc>) -> Result<TrustedKey> {
        match self {
            Self::Dir(d) => d.create(now),
            Self::Token(t) => t.create(now),
        }
    }

    /// Removes a key [`Self::create`] made that the registry never trusted (another replica's key
    /// was trusted first, or the registry refused it): it never signed anything.
    fn discard(&self, key: &TrustedKey) {
        self.remove(key);
    }

    /// Removes `key`'s private half; `false` if it is there and could not be removed.
    fn remove(&self, key: &TrustedKey) -> bool {
        match self {
            Self::Dir(d) => d.remove(key),
            Self::Token(t) => t.remove(key),
        }
    }

    /// The public halves of the keys the store holds.
    pub fn public_keys(&self) -> Result<Vec<ed25519_dalek::VerifyingKey>> {
        match self {
            Self::Dir(d) => d.public_keys(),
            Self::Token(t) => t.public_keys(),
        }
    }

    /// The one key the store holds (a root key's store holds no other).
    pub fn only_key(&self) -> Result<IssuerKey> {
        match self.public_keys()?.as_slice() {
            [one] => self.load_private(&TrustedKey::active(*one, DateTime::UNIX_EPOCH)),
            [] => bail!("{self} holds no key"),
            many => bail!("{self} holds {} keys, not one", many.len()),
        }
    }

    fn load_private(&self, key: &TrustedKey) -> Result<IssuerKey> {
        match self {
            Self::Dir(d) => d.load_private(key),
            Self::Token(t) => t.load_private(key),
        }
    }

    /// The trust list an earlier rescard kept in its key directory, if there is one (a token has
    /// none).
    pub fn legacy_trust_list(&self) -> Result<Option<TrustList>> {
        match self {
            Self::Dir(d) => d.legacy_trust_list(),
            Self::Token(_) => Ok(None),
        }
    }

    /// The registry's trust list `trust`, at `version`, with the private keys it needs: the active
    /// key's and those of the verify-only keys (which sign the trust list beside it).
    ///
    /// Under a root, the active key must be certified for cards and the status, and a key the
    /// root revoked signs nothing; the cards are checked with what the root allows each key.
    pub fn keyring(&self, version: u64, trust: TrustList) -> Result<Keyring> {
        let active = trust
            .keys()
            .iter()
            .find(|k| k.status == KeyStatus::Active)
            .context("the registry trusts no active issuer key: run `rescard init`")?;
        let statements = match trust.root().root {
            Some(root) => Some(
                trust
                    .root()
                    .open(&root)
                    .context("the registry's root statements")?,
            ),
            None => None,
        };
        let revoked = |k: &TrustedKey| {
            statements
                .as_ref()
                .is_some_and(|s| s.limit(k, Usage::Cards).revoked_since.is_some())
        };
        if let Some(s) = &statements {
            if revoked(active) {
                bail!(
                    "the root revoked the active issuer key {}: rotate to a new key (`rescard keys rotate --root-key …`)",
                    active.kid
                );
            }
            // Checked as of now, so that a lapsed certificate stops the signing rather than the
            // checkpoints; it is checked again whenever the keys are loaded.
            let now = Utc::now().max(active.not_before);
            for usage in [Usage::Cards, Usage::Status] {
                let limit = s.limit(active, usage);
                if limit.certified.is_none() {
                    bail!(
                        "the active issuer key {} has no certificate from the registry's root for {usage}: certify it (`rescard root certify {} --not-after DATE`)",
                        active.kid,
                        active.kid
                    );
                }
                if let Some(why) = limit.refuses(now) {
                    bail!(
                        "the active issuer key {} cannot sign now: {why}. Certify it again (`rescard root certify {} --not-after DATE`) or rotate under the root",
                        active.kid,
                        active.kid
                    );
                }
            }
        }
        let cards = match &statements {
            Some(s) => s.apply(&trust, Usage::Cards),
            None => trust.clone(),
        };
        let active_from = active.not_before;
        let active = self.load_private(active)?;
        let mut signers = Vec::new();
        let mut previous = None;
        // A key the root revoked signs nothing more, not even the trust list beside the others.
        for k in trust
            .keys()
            .iter()
            .filter(|k| k.status == KeyStatus::VerifyOnly && !revoked(k))
        {
            // The key that signs until the active one begins: the last to stop signing.
            if let Some(end) = k.not_after
                && previous.is_none_or(|(_, e)| end >= e)
            {
                previous = Some((signers.len(), end));
            }
            signers.push(self.load_private(k)?);
        }
        Ok(Keyring {
            version,
            active,
            active_from,
            previous,
            signers,
            trust,
            cards,
        })
    }
}

impl fmt::Display for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(d) => write!(f, "{}", d.path().display()),
            Self::Token(t) => write!(f, "the HSM ({})", t.uri().describe()),
        }
    }
}

/// Where the registry's trust list came from, in [`establish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Established {
    /// The registry had one.
    Already,
    /// The key directory's `keys.json`, from an earlier rescard, with this many keys.
    Imported(usize),
    /// A new key, made in the key directory, with this id.
    Created(Kid),
}

/// Gives the registry a trust list if it has none: the key directory's `keys.json` if an earlier
/// rescard left one (its keys keep their states), else a new key when `create` is set. Replicas
/// starting together on a new database make one key between them. Then checks that the directory
/// holds the private keys the list needs.
pub fn establish(
    registry: &mut Registry,
    keys: &KeyStore,
    create: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Established> {
    let (version, trust) = registry.trust_list()?;
    let established = if !trust.keys().is_empty() {
        Established::Already
    } else if let Some(legacy) = keys.legacy_trust_list()? {
        let n = legacy.keys().len();
        // Another replica may have been first: then its list stands.
        if registry.install_trust_list(&legacy, actor, now)? {
            Established::Imported(n)
        } else {
            Established::Already
        }
    } else if create {
        let fresh = keys.create(now)?;
        let list = TrustList::new(vec![fresh.clone()])?;
        match registry.install_trust_list(&list, actor, now) {
            Ok(true) => Established::Created(fresh.kid),
            outcome => {
                keys.discard(&fresh);
                outcome?;
                Established::Already
            }
        }
    } else {
        bail!(
            "no issuer key: the registry trusts none and {keys} holds no keys.json; run `rescard init`"
        );
    };
    // Fails now, with what is missing, rather than at the first card.
    let (version, trust) = if established == Established::Already && !trust.keys().is_empty() {
        (version, trust)
    } else {
        registry.trust_list()?
    };
    keys.keyring(version, trust)?;
    Ok(established)
}

/// The registry's trust list with the key directory's private keys (a `keys.json` from an earlier
/// rescard is taken into the registry first).
pub fn keyring(
    registry: &mut Registry,
    keys: &KeyStore,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Keyring> {
    let (version, trust) = registry.trust_list()?;
    if !trust.keys().is_empty() {
        return keys.keyring(version, trust);
    }
    establish(registry, keys, false, actor, now)?;
    let (version, trust) = registry.trust_list()?;
    keys.keyring(version, trust)
}

/// `rescard keys rotate`: a new key in the store becomes the registry's signing key; the one
/// before it only verifies (see [`rescard_store::ROTATION_GRACE`]). Under a root, the new key is
/// certified in the same write, so it signs nothing uncertified: `root` must then be given.
pub fn rotate(
    registry: &mut Registry,
    keys: &KeyStore,
    root: Option<&crate::root::RootedRotation<'_>>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<TrustedKey> {
    // The keys must be whole before another joins them.
    keyring(registry, keys, actor, now)?;
    let under_root = registry.root_material()?.root;
    let signer = match (under_root, root) {
        (None, _) => None,
        (Some(held), None) => bail!(
            "the registry's issuer keys are certified by the root {}: a new key must be certified as it is made. Bring the root key and rotate with `rescard keys rotate --root-key DIR|URI --not-after DATE`",
            rescard_core::root::fingerprint(&held)
        ),
        (Some(_), Some(r)) => {
            if !(r.usage.contains(&Usage::Cards) && r.usage.contains(&Usage::Status)) {
                bail!(
                    "the signing key must be certified for cards and status (--usage cards,status[,audit])"
                );
            }
            Some((r, r.root(registry)?))
        }
    };
    let fresh = keys.create(now)?;
    let rotated = match &signer {
        None => registry
            .rotate_key(&fresh, actor, now)
            .map_err(anyhow::Error::from),
        Some((r, root)) => crate::root::certificate(root, &fresh, now, r.not_after, &r.usage, now)
            .and_then(|cert| {
                Ok(registry.rotate_key_certified(
                    &fresh,
                    &root.verifying_key(),
                    &cert,
                    actor,
                    now,
                )?)
            }),
    };
    if let Err(e) = rotated {
        keys.discard(&fresh);
        return Err(e);
    }
    Ok(fresh)
}

/// `rescard keys retire KID`: the registry retires the verify-only keys with id `kid`, then their
/// private key files are removed, since a retired key signs nothing again: whoever could write to
/// the registry could otherwise make a retired key verify again by changing its state back. Returns
/// how many keys were retired, and whether their files could all be removed (a read-only key
/// directory keeps them; the caller says so).
pub fn retire(
    registry: &mut Registry,
    keys: &KeyStore,
    kid: Kid,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(usize, bool)> {
    let retired = registry.retire_key(kid, actor, now)?;
    let (_, trust) = registry.trust_list()?;
    let mut removed = true;
    for key in trust
        .keys()
        .iter()
        .filter(|k| k.kid == kid && k.status == KeyStatus::Retired)
    {
        removed &= keys.remove(key);
    }
    Ok((retired, removed))
}

/// The registry's trust list with the private keys it needs, loaded.
pub struct Keyring {
    /// The registry's trust list version these keys are of.
    pub version: u64,
    /// The active key: it signs new cards and snapshots from `active_from` on.
    pub active: IssuerKey,
    /// When the active key begins to sign (a little after its rotation: see
    /// [`rescard_store::ACTIVATION_DELAY`]).
    pub active_from: DateTime<Utc>,
    /// Which of `signers` signs until then, and until when it may.
    previous: Option<(usize, DateTime<Utc>)>,
    /// The verify-only keys, which sign the trust list beside the active one so that checkers that
    /// have not yet seen the active key accept the list that brings it.
    pub signers: Vec<IssuerKey>,
    /// The trust list, as published (with the root's statements, if there is a root).
    pub trust: TrustList,
    /// The trust list as cards are checked with it: under a root, each key limited to what the
    /// root allows it for cards.
    pub cards: TrustList,
}

impl Keyring {
    /// The key that signs what is stamped `now`: the active key, or, in the moments between a
    /// rotation and the new key's start, the key it replaced.
    pub fn signer(&self, now: DateTime<Utc>) -> &IssuerKey {
        match self.previous {
            Some((i, until)) if now < self.active_from && now <= until => &self.signers[i],
            _ => &self.active,
        }
    }

    /// Every key that signs the trust list.
    pub fn trust_signers(&self) -> Vec<&IssuerKey> {
        std::iter::once(&self.active).chain(&self.signers).collect()
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers see the old or the new
/// content, never half of it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing into {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests;
