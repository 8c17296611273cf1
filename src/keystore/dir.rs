//! Private keys in a key directory: PKCS#8 PEM files (mode 0600, in a 0700 directory), which every
//! replica of the service shares.
//!
//! A private key file is named after the SHA-256 of its public key, so two keys never share a file
//! even when they share a `kid`. Nothing here ever overwrites a key file.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use rescard_core::{IssuerKey, TrustList, TrustedKey};
use sha2::{Digest, Sha256};

use super::TRUST_FILE;

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

    pub(super) fn pem_path(&self, key: &TrustedKey) -> PathBuf {
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

    /// Removes the file of `key`; `false` if it is there but cannot be removed (a read-only key
    /// directory).
    pub(super) fn remove(&self, key: &TrustedKey) -> bool {
        match fs::remove_file(self.pem_path(key)) {
            Ok(()) => true,
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        }
    }

    /// The key files in the directory.
    fn pem_files(&self) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.dir.display())),
        };
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|x| x == "pem") {
                files.push(path);
            }
        }
        Ok(files)
    }

    /// The public halves of the keys in the directory.
    pub(super) fn public_keys(&self) -> Result<Vec<ed25519_dalek::VerifyingKey>> {
        self.pem_files()?
            .iter()
            .map(|path| {
                let pem = zeroize::Zeroizing::new(
                    fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?,
                );
                Ok(IssuerKey::from_pkcs8_pem(&pem)
                    .with_context(|| format!("in {}", path.display()))?
                    .verifying_key())
            })
            .collect()
    }

    pub(super) fn load_private(&self, trusted: &TrustedKey) -> Result<IssuerKey> {
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
