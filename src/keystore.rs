//! The issuer key directory: private keys as PKCS#8 PEM files (mode 0600, in a 0700 directory) and
//! `keys.json`, the public trust list with each key's status and validity window.
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
use sha2::{Digest, Sha256};

/// The trust list file in a key directory or a checker's data directory.
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

    /// The trust list file.
    pub fn trust_path(&self) -> PathBuf {
        self.dir.join(TRUST_FILE)
    }

    fn pem_path(&self, key: &TrustedKey) -> PathBuf {
        self.dir.join(format!(
            "{}.pem",
            hex::encode(Sha256::digest(key.public_key.as_bytes()))
        ))
    }

    /// When the trust list was last written, if it exists.
    pub fn modified(&self) -> Option<std::time::SystemTime> {
        fs::metadata(self.trust_path())
            .and_then(|m| m.modified())
            .ok()
    }

    /// Whether the directory holds a trust list.
    pub fn exists(&self) -> bool {
        self.trust_path().exists()
    }

    /// The trust list, or `None` when the directory has none.
    pub fn trust_list(&self) -> Result<Option<TrustList>> {
        let path = self.trust_path();
        if !path.exists() {
            return Ok(None);
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Some(
            TrustList::from_json(&text).with_context(|| format!("in {}", path.display()))?,
        ))
    }

    /// Creates the first issuer key. Refuses if the directory already has keys.
    pub fn init(&self, now: DateTime<Utc>) -> Result<TrustedKey> {
        if self.exists() {
            bail!(
                "{} already holds issuer keys; rescard never overwrites a key",
                self.dir.display()
            );
        }
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", self.dir.display()))?;
        let key = IssuerKey::generate()?;
        let trusted = TrustedKey::active(key.verifying_key(), now);
        self.write_private_key(&key, &trusted)?;
        let list = TrustList::new(vec![trusted.clone()])?;
        write_atomically(&self.trust_path(), list.to_json().as_bytes())?;
        Ok(trusted)
    }

    fn write_private_key(&self, key: &IssuerKey, trusted: &TrustedKey) -> Result<()> {
        let path = self.pem_path(trusted);
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
        Ok(())
    }

    /// The active signing key.
    pub fn active_key(&self) -> Result<IssuerKey> {
        Ok(self.keyring()?.active)
    }

    /// Every key the directory holds: the active one, those that still verify (and sign the trust
    /// list), and the trust list itself.
    pub fn keyring(&self) -> Result<Keyring> {
        let trust = self.trust_list()?.with_context(|| {
            format!(
                "no issuer key in {}: run `rescard init` first",
                self.dir.display()
            )
        })?;
        let active = trust
            .keys()
            .iter()
            .rev()
            .find(|k| k.status == KeyStatus::Active)
            .with_context(|| format!("no active issuer key in {}", self.dir.display()))?;
        let active = self.load_private(active)?;
        let mut signers = Vec::new();
        for k in trust
            .keys()
            .iter()
            .filter(|k| k.status == KeyStatus::VerifyOnly)
        {
            signers.push(self.load_private(k)?);
        }
        Ok(Keyring {
            active,
            signers,
            trust,
        })
    }

    fn load_private(&self, trusted: &TrustedKey) -> Result<IssuerKey> {
        let path = self.pem_path(trusted);
        let meta = fs::metadata(&path)
            .with_context(|| format!("the private key {} is missing", path.display()))?;
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
                "{} does not hold the key that {} lists",
                path.display(),
                TRUST_FILE
            );
        }
        Ok(key)
    }

    /// Makes a new active key; the active one becomes verify-only: it keeps verifying the cards it
    /// signed, and signs nothing new after `now`.
    pub fn rotate(&self, now: DateTime<Utc>) -> Result<TrustedKey> {
        let list = self.keyring()?.trust;
        let key = IssuerKey::generate()?;
        let fresh = TrustedKey::active(key.verifying_key(), now);
        self.write_private_key(&key, &fresh)?;
        let mut keys: Vec<TrustedKey> = list
            .keys()
            .iter()
            .cloned()
            .map(|mut k| {
                if k.status == KeyStatus::Active {
                    k.status = KeyStatus::VerifyOnly;
                    k.not_after = Some(now);
                }
                k
            })
            .collect();
        keys.push(fresh.clone());
        write_atomically(
            &self.trust_path(),
            TrustList::new(keys)?.to_json().as_bytes(),
        )?;
        Ok(fresh)
    }

    /// Retires the verify-only keys with id `kid`: their cards then verify as `unknown_issuer`.
    pub fn retire(&self, kid: Kid, now: DateTime<Utc>) -> Result<usize> {
        let list = self.keyring()?.trust;
        if list
            .keys()
            .iter()
            .any(|k| k.kid == kid && k.status == KeyStatus::Active)
        {
            bail!(
                "key {kid} is the active key: rotate first (`rescard keys rotate`), then retire it"
            );
        }
        let mut retired = 0;
        let keys: Vec<TrustedKey> = list
            .keys()
            .iter()
            .cloned()
            .map(|mut k| {
                if k.kid == kid && k.status == KeyStatus::VerifyOnly {
                    k.status = KeyStatus::Retired;
                    k.not_after = Some(k.not_after.unwrap_or(now));
                    retired += 1;
                }
                k
            })
            .collect();
        if retired == 0 {
            bail!("no verify-only key has id {kid}");
        }
        write_atomically(
            &self.trust_path(),
            TrustList::new(keys)?.to_json().as_bytes(),
        )?;
        Ok(retired)
    }
}

/// The keys of a key directory, loaded.
pub struct Keyring {
    /// The key that signs new cards and snapshots.
    pub active: IssuerKey,
    /// The verify-only keys, which sign the trust list beside the active one so that checkers that
    /// have not yet seen the active key accept the list that brings it.
    pub signers: Vec<IssuerKey>,
    /// The trust list.
    pub trust: TrustList,
}

impl Keyring {
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

    fn now() -> DateTime<Utc> {
        "2026-11-21T09:00:00Z".parse().expect("time")
    }

    #[test]
    fn init_makes_an_owner_only_key_and_never_overwrites_it() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = KeyDir::new(&dir.path().join("keys"));
        let trusted = keys.init(now()).expect("init");
        let pem = keys.pem_path(&trusted);
        assert_eq!(
            fs::metadata(&pem).expect("pem").permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(dir.path().join("keys"))
                .expect("dir")
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        let before = fs::read(&pem).expect("read");
        assert!(keys.init(now()).is_err());
        assert_eq!(fs::read(&pem).expect("read"), before);
        assert_eq!(keys.active_key().expect("load").kid(), trusted.kid);
    }

    #[test]
    fn a_key_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = KeyDir::new(dir.path());
        let trusted = keys.init(now()).expect("init");
        fs::set_permissions(keys.pem_path(&trusted), fs::Permissions::from_mode(0o644))
            .expect("chmod");
        let err = keys.active_key().err().expect("refused").to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}

#[cfg(test)]
mod rotation_tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("time")
    }

    #[test]
    fn rotation_keeps_the_old_key_verifying_until_it_is_retired() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = KeyDir::new(dir.path());
        let first = keys.init(at("2026-11-01T00:00:00Z")).expect("init");
        let second = keys.rotate(at("2027-01-01T00:00:00Z")).expect("rotate");
        let ring = keys.keyring().expect("ring");
        assert_eq!(ring.active.kid(), second.kid);
        assert_eq!(ring.signers.len(), 1);
        assert_eq!(ring.trust_signers().len(), 2);
        let old = ring
            .trust
            .keys()
            .iter()
            .find(|k| k.kid == first.kid)
            .expect("old");
        assert_eq!(
            (old.status, old.not_after),
            (KeyStatus::VerifyOnly, Some(at("2027-01-01T00:00:00Z")))
        );
        assert!(
            keys.retire(second.kid, at("2027-02-01T00:00:00Z")).is_err(),
            "the active key cannot be retired"
        );
        assert_eq!(
            keys.retire(first.kid, at("2027-02-01T00:00:00Z"))
                .expect("retire"),
            1
        );
        let ring = keys.keyring().expect("ring");
        assert!(ring.signers.is_empty());
        assert_eq!(ring.trust.keys()[0].status, KeyStatus::Retired);
        assert!(
            keys.retire(first.kid, at("2027-02-02T00:00:00Z")).is_err(),
            "already retired"
        );
    }
}
