//! The issuer keys. Their private halves are in the key directory: PKCS#8 PEM files (mode 0600, in
//! a 0700 directory), which every replica of the service shares. Their public halves, with each
//! key's state and signing window (the trust list), are in the registry
//! ([`rescard_store::Registry::trust_list`]), so a key rotated or retired on one replica takes effect
//! on all of them. [`establish`] gives a new registry its first key, or the `keys.json` trust list a
//! key directory of an earlier rescard holds; [`keyring`] joins the two halves.
//!
//! A private key file is named after the SHA-256 of its public key, so two keys never share a file
//! even when they share a `kid`. Nothing here ever overwrites a key file.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use rescard_core::{IssuerKey, KeyStatus, Kid, TrustList, TrustedKey};
use rescard_store::Registry;
use sha2::{Digest, Sha256};

/// The trust list file in a checker's data directory, and in the key directory of a rescard from
/// before the trust list moved into the registry (read once, by [`establish`]).
pub const TRUST_FILE: &str = "keys.json";

/// An issuer key directory.
#[derive(Debug, Clone)]
pub struct KeyDir {
    dir: PathBuf,
}

impl KeyDir {
    /// The key directory at `dir` (it need not exist yet).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn pem_path(&self, key: &TrustedKey) -> PathBuf {
        self.dir.join(format!(
            "{}.pem",
            hex::encode(Sha256::digest(key.public_key.as_bytes()))
        ))
    }

    /// The trust list an earlier rescard kept beside the keys (`keys.json`), if there is one.
    pub fn legacy_trust_list(&self) -> Result<Option<TrustList>> {
        let path = self.dir.join(TRUST_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Some(
            TrustList::from_json(&text).with_context(|| format!("in {}", path.display()))?,
        ))
    }

    /// Makes a new key in the directory (making the directory, owner-only, if need be), and returns
    /// its public half, active from `now`. The registry does not trust it yet.
    pub fn create(&self, now: DateTime<Utc>) -> Result<TrustedKey> {
        if !self.dir.exists() {
            fs::create_dir_all(&self.dir)
                .with_context(|| format!("creating {}", self.dir.display()))?;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("restricting {}", self.dir.display()))?;
        }
        let key = IssuerKey::generate()?;
        let trusted = TrustedKey::active(key.verifying_key(), now);
        let path = self.pem_path(&trusted);
        let pem = key.to_pkcs8_pem()?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| {
                format!(
                    "creating {} (rescard never overwrites a key)",
                    path.display()
                )
            })?;
        file.write_all(pem.as_bytes())?;
        file.sync_all()?;
        Ok(trusted)
    }

    /// Removes a key [`Self::create`] made that the registry never trusted (another replica's key
    /// was trusted first, or the registry refused it): it never signed anything.
    fn discard(&self, key: &TrustedKey) {
        fs::remove_file(self.pem_path(key)).ok();
    }

    /// The registry's trust list `trust`, at `version`, with the private keys it needs: the active
    /// key's and those of the verify-only keys (which sign the trust list beside it).
    pub fn keyring(&self, version: u64, trust: TrustList) -> Result<Keyring> {
        let active = trust
            .keys()
            .iter()
            .find(|k| k.status == KeyStatus::Active)
            .context("the registry trusts no active issuer key: run `rescard init`")?;
        let active_from = active.not_before;
        let active = self.load_private(active)?;
        let mut signers = Vec::new();
        let mut previous = None;
        for k in trust
            .keys()
            .iter()
            .filter(|k| k.status == KeyStatus::VerifyOnly)
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
        })
    }

    fn load_private(&self, trusted: &TrustedKey) -> Result<IssuerKey> {
        let path = self.pem_path(trusted);
        let meta = fs::metadata(&path).with_context(|| {
            format!(
                "the private key of issuer key {} is missing: {} (every replica needs the same key directory)",
                trusted.kid,
                path.display()
            )
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            bail!(
                "the private key {} can be read by other users (mode {:o}); run `chmod 600` on it and check who has seen it",
                path.display(),
                meta.permissions().mode() & 0o777
            );
        }
        let pem = zeroize::Zeroizing::new(
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
        );
        let key =
            IssuerKey::from_pkcs8_pem(&pem).with_context(|| format!("in {}", path.display()))?;
        if key.verifying_key() != trusted.public_key {
            bail!(
                "{} does not hold issuer key {}",
                path.display(),
                trusted.kid
            );
        }
        Ok(key)
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
    keys: &KeyDir,
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
            "no issuer key: the registry trusts none and {} holds no keys.json; run `rescard init`",
            keys.path().display()
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
    keys: &KeyDir,
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

/// `rescard keys rotate`: a new key in the directory becomes the registry's signing key; the one
/// before it only verifies (see [`rescard_store::ROTATION_GRACE`]).
pub fn rotate(
    registry: &mut Registry,
    keys: &KeyDir,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<TrustedKey> {
    // The keys must be whole before another joins them.
    keyring(registry, keys, actor, now)?;
    let fresh = keys.create(now)?;
    if let Err(e) = registry.rotate_key(&fresh, actor, now) {
        keys.discard(&fresh);
        return Err(e.into());
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
    keys: &KeyDir,
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
        let path = keys.pem_path(key);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => removed = false,
        }
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
    /// The trust list.
    pub trust: TrustList,
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
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("time")
    }

    fn registry() -> Registry {
        Registry::open_in_memory().expect("registry")
    }

    #[test]
    fn the_first_key_is_owner_only_and_trusted_by_the_registry() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = KeyDir::new(&dir.path().join("keys"));
        let mut reg = registry();
        let now = at("2026-11-21T09:00:00Z");
        let Established::Created(kid) =
            establish(&mut reg, &keys, true, "setup", now).expect("establish")
        else {
            panic!("a new registry gets a new key")
        };
        let trusted = reg.trust_list().expect("list").1.keys()[0].clone();
        assert_eq!(trusted.kid, kid);
        let pem = keys.pem_path(&trusted);
        assert_eq!(
            fs::metadata(&pem).expect("pem").permissions().mode() & 0o777,
            0o600
        );
        let mode = fs::metadata(keys.path()).expect("dir").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let before = fs::read(&pem).expect("read");
        assert_eq!(
            establish(&mut reg, &keys, true, "setup", now).expect("again"),
            Established::Already
        );
        assert_eq!(fs::read(&pem).expect("read"), before);
        assert_eq!(
            fs::read_dir(keys.path()).expect("dir").count(),
            1,
            "no second key"
        );
        let ring = keyring(&mut reg, &keys, "setup", now).expect("ring");
        assert_eq!((ring.version, ring.active.kid()), (1, trusted.kid));
    }

    #[test]
    fn without_a_key_nothing_is_made_unless_asked() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = KeyDir::new(dir.path());
        let mut reg = registry();
        let err = keyring(&mut reg, &keys, "setup", at("2026-11-21T09:00:00Z"))
            .err()
            .expect("no keys");
        assert!(err.to_string().contains("rescard init"), "{err}");
        assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 0);
    }

    #[test]
    fn a_key_readable_by_others_or_missing_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = KeyDir::new(dir.path());
        let mut reg = registry();
        let now = at("2026-11-21T09:00:00Z");
        establish(&mut reg, &keys, true, "setup", now).expect("establish");
        let trusted = reg.trust_list().expect("list").1.keys()[0].clone();
        fs::set_permissions(keys.pem_path(&trusted), fs::Permissions::from_mode(0o644))
            .expect("chmod");
        let err = keyring(&mut reg, &keys, "setup", now)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        fs::remove_file(keys.pem_path(&trusted)).expect("rm");
        let err = keyring(&mut reg, &keys, "setup", now)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("is missing"), "{err}");
    }

    #[test]
    fn an_earlier_key_directorys_trust_list_is_taken_in_once_with_its_states() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = KeyDir::new(dir.path());
        // What an earlier rescard left: two keys, the first verify-only, and keys.json.
        let old = keys.create(at("2026-01-01T00:00:00Z")).expect("key");
        let new = keys.create(at("2026-06-01T00:00:00Z")).expect("key");
        let old = TrustedKey {
            status: KeyStatus::VerifyOnly,
            not_after: Some(at("2026-06-01T00:00:00Z")),
            ..old
        };
        let legacy = TrustList::new(vec![old, new.clone()]).expect("list");
        fs::write(dir.path().join(TRUST_FILE), legacy.to_json()).expect("keys.json");
        let mut reg = registry();
        let now = at("2026-11-21T09:00:00Z");
        assert_eq!(
            establish(&mut reg, &keys, true, "setup", now).expect("establish"),
            Established::Imported(2)
        );
        assert_eq!(reg.trust_list().expect("list").1, legacy);
        let ring = keyring(&mut reg, &keys, "setup", now).expect("ring");
        assert_eq!((ring.active.kid(), ring.signers.len()), (new.kid, 1));
        // From now on the registry's list is the one: keys.json is not read again.
        let rotated = rotate(&mut reg, &keys, "admin", now).expect("rotate");
        assert_eq!(
            establish(&mut reg, &keys, true, "setup", now).expect("again"),
            Established::Already
        );
        assert_eq!(
            keyring(&mut reg, &keys, "setup", now)
                .expect("ring")
                .active
                .kid(),
            rotated.kid
        );
    }

    #[test]
    fn a_rotated_key_is_published_before_it_signs() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = KeyDir::new(dir.path());
        let mut reg = registry();
        let now = at("2026-11-21T09:00:00Z");
        establish(&mut reg, &keys, true, "setup", now).expect("establish");
        let first = keyring(&mut reg, &keys, "setup", now)
            .expect("ring")
            .active
            .kid();
        let fresh = rotate(&mut reg, &keys, "admin", now).expect("rotate");
        let ring = keyring(&mut reg, &keys, "setup", now).expect("ring");
        assert_eq!(ring.active.kid(), fresh.kid, "trusted at once");
        assert_eq!(ring.signer(now).kid(), first, "the old key signs meanwhile");
        let start = now + rescard_store::ACTIVATION_DELAY;
        assert_eq!(ring.signer(start).kid(), fresh.kid);
        // Retired early, the old key signs nothing, not even before the new key's start, and its
        // private key is gone.
        let old = ring.trust.keys()[0].clone();
        assert_eq!(
            retire(&mut reg, &keys, first, "admin", now).expect("retire"),
            (1, true)
        );
        assert!(!keys.pem_path(&old).exists());
        let ring = keyring(&mut reg, &keys, "setup", now).expect("ring");
        assert_eq!(ring.signer(now).kid(), fresh.kid);
    }

    #[test]
    fn a_refused_rotation_leaves_no_key_file() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = KeyDir::new(dir.path());
        let mut reg = registry();
        let now = at("2026-11-21T09:00:00Z");
        establish(&mut reg, &keys, true, "setup", now).expect("establish");
        assert!(rotate(&mut reg, &keys, "", now).is_err(), "no actor");
        assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 1);
        assert_eq!(reg.trust_list().expect("list").0, 1);
    }
}
