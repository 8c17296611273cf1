//! The root of trust's ceremonies, on the issuing side: make the root (a key store of its own,
//! kept offline: a key directory on removable media, or an HSM token), hand out its public half
//! (the root file, `root.json`), certify issuer keys and revoke them into the registry, whose trust
//! list then carries the statements ([`rescard_core::root`]).

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use rescard_core::root::{Certificate, Revocation, Usage, fingerprint};
use rescard_core::{KeyStatus, Kid, TrustedKey};
use rescard_store::Registry;
use serde::{Deserialize, Serialize};

use crate::keystore::KeyStore;

/// The root file's format.
pub const ROOT_FILE_FORMAT: &str = "rescard-root/1";

/// The root file: what the ministry hands to every checkpoint.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RootFile {
    format: String,
    public_key: String,
    fingerprint: String,
}

/// The root file of `root`: `{"format", "public_key", "fingerprint"}`, pretty-printed.
pub fn root_file_json(root: &VerifyingKey) -> String {
    let file = RootFile {
        format: ROOT_FILE_FORMAT.into(),
        public_key: rescard_core::keys::public_key_base64url(root),
        fingerprint: fingerprint(root),
    };
    // Three strings always serialize.
    format!(
        "{}\n",
        serde_json::to_string_pretty(&file).unwrap_or_default()
    )
}

/// Writes the root file for `root` at `path` (never over an existing file).
pub fn write_root_file(path: &Path, root: &VerifyingKey) -> Result<()> {
    let json = root_file_json(root);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {} (rescard never overwrites it)", path.display()))?;
    file.write_all(json.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// The root a root file names; its fingerprint must be its key's.
pub fn read_root_file(path: &Path) -> Result<VerifyingKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: RootFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a rescard root file", path.display()))?;
    if file.format != ROOT_FILE_FORMAT {
        bail!(
            "{} is in format {}, not {ROOT_FILE_FORMAT}",
            path.display(),
            file.format
        );
    }
    let root = rescard_core::keys::parse_public_key_base64url(&file.public_key)
        .with_context(|| format!("in {}", path.display()))?;
    if fingerprint(&root) != file.fingerprint.to_ascii_lowercase() {
        bail!(
            "{}: its fingerprint is not its public key's: the file was altered",
            path.display()
        );
    }
    Ok(root)
}

/// What `sync --root` names: the root file, or the root's fingerprint alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootArg {
    /// The root, from its file.
    Key(VerifyingKey),
    /// The SHA-256 of its public key, 64 hex digits: the key itself comes with the trust list.
    Fingerprint(String),
}

impl RootArg {
    /// A 64-hex-digit fingerprint, or the path of a root file.
    pub fn parse(arg: &str) -> Result<Self> {
        if arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Self::Fingerprint(arg.to_ascii_lowercase()));
        }
        Ok(Self::Key(read_root_file(Path::new(arg))?))
    }

    /// The root, given the one the trust list offers (for a fingerprint).
    pub fn resolve(&self, offered: Option<VerifyingKey>) -> Result<VerifyingKey> {
        match self {
            Self::Key(root) => Ok(*root),
            Self::Fingerprint(want) => match offered {
                Some(root) if fingerprint(&root) == *want => Ok(root),
                Some(root) => bail!(
                    "the service's trust list names root {}, not the fingerprint {want} given",
                    fingerprint(&root)
                ),
                None => bail!(
                    "the service's trust list names no root: its keys are not certified yet (use --pin KID until they are)"
                ),
            },
        }
    }
}

/// `rescard root init`: a new root key in `store`, which must hold none, and its root file at
/// `out`. Returns the root.
pub fn init(store: &KeyStore, out: &Path, now: DateTime<Utc>) -> Result<VerifyingKey> {
    if out.exists() {
        bail!(
            "{} exists; rescard does not overwrite a root file",
            out.display()
        );
    }
    if !store.public_keys()?.is_empty() {
        bail!("{store} already holds a key: a root key is kept alone; nothing made");
    }
    let root = store.create(now)?.public_key;
    write_root_file(out, &root)?;
    Ok(root)
}

/// The key of the trust list with id `kid` that still verifies (certified or revoked).
fn listed(registry: &Registry, kid: Kid) -> Result<TrustedKey> {
    let (_, trust) = registry.trust_list()?;
    let found: Vec<&TrustedKey> = trust.keys().iter().filter(|k| k.kid == kid).collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!("the registry's trust list has no key {kid} (`rescard keys list`)"),
        _ => bail!("two keys of the trust list share id {kid}: certify them by hand"),
    }
}

/// The root key of `store`, which must be the registry's root if it has one.
fn root_key(store: &KeyStore, registry: &Registry) -> Result<rescard_core::IssuerKey> {
    let root = store.only_key().context("the root key")?;
    if let Some(held) = registry.root_material()?.root
        && held != root.verifying_key()
    {
        bail!(
            "{store} holds root {}, but the registry's root is {}",
            fingerprint(&root.verifying_key()),
            fingerprint(&held)
        );
    }
    Ok(root)
}

/// The certificate of issuer key `key` by `root`, from `not_before` to `not_after`, for `usage`.
pub fn certificate(
    root: &rescard_core::IssuerKey,
    key: &TrustedKey,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    usage: &[Usage],
    now: DateTime<Utc>,
) -> Result<Vec<u8>> {
    if not_after <= now {
        bail!("--not-after {not_after} is already past");
    }
    if usage.is_empty() {
        bail!("a certificate names at least one usage");
    }
    Ok(Certificate {
        kid: key.kid,
        public_key: key.public_key,
        not_before,
        not_after,
        usage: usage.to_vec(),
        issued_at: now,
    }
    .sign(root)?)
}

/// `rescard root certify KID`: the root in `store` certifies issuer key `kid` of the registry's
/// trust list, from when it began signing until `not_after`, for `usage`.
pub fn certify(
    registry: &mut Registry,
    store: &KeyStore,
    kid: Kid,
    not_after: DateTime<Utc>,
    usage: &[Usage],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Certificate> {
    let key = listed(registry, kid)?;
    if key.status == KeyStatus::Retired {
        bail!("key {kid} is retired: it signs and verifies nothing");
    }
    let root = root_key(store, registry)?;
    let bytes = certificate(&root, &key, key.not_before, not_after, usage, now)?;
    Ok(registry.add_certificate(&root.verifying_key(), &bytes, actor, now)?)
}

/// `rescard root revoke KID --since TIME`: the root in `store` revokes issuer key `kid` from
/// `since` on: what it signed from then is no longer trusted; what it signed before still is.
pub fn revoke(
    registry: &mut Registry,
    store: &KeyStore,
    kid: Kid,
    since: DateTime<Utc>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Revocation> {
    let key = listed(registry, kid)?;
    let root = root_key(store, registry)?;
    let bytes = Revocation {
        kid,
        public_key: key.public_key,
        since,
        issued_at: now,
    }
    .sign(&root)?;
    Ok(registry.add_revocation(&root.verifying_key(), &bytes, actor, now)?)
}

/// Under a root, the rotation with the new key's certificate (see [`crate::keystore::rotate`]).
pub struct RootedRotation<'a> {
    /// The root's key store.
    pub store: &'a KeyStore,
    /// Until when the new key may sign.
    pub not_after: DateTime<Utc>,
    /// What it may sign.
    pub usage: Vec<Usage>,
}

impl RootedRotation<'_> {
    /// The root key, checked against the registry's.
    pub(crate) fn root(&self, registry: &Registry) -> Result<rescard_core::IssuerKey> {
        root_key(self.store, registry)
    }
}
