//! The checker's state at rest: what it pinned, the signed trust list it accepted, and the newest
//! status it accepted, in `checker.json`, sealed with HMAC-SHA256 under a per-checker secret
//! (`checker.key`, 32 random bytes, mode 0600, in the 0700 data directory).
//!
//! What the seal protects against: a state file edited, replaced by an older copy of itself, or
//! copied from another checker, by anyone who cannot read `checker.key` (a process or person that can
//! only put files in the directory, a restore of some files from a backup, a careless tool, a file
//! system that damaged it). What it cannot protect against: anyone who can read the secret, which
//! in practice is anyone with the checker account's own access. They can write a state of their
//! choosing and seal it; only keeping that account and its data directory to the officer helps. Nor
//! can it tell a whole data directory put back from a backup (state, secret and snapshot together)
//! from the real one; the next sync brings it up to date.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac as _};
use rescard_core::Kid;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keystore::write_atomically;

/// The sealed state file.
pub const STATE_FILE: &str = "checker.json";
/// The secret that seals it.
pub const SECRET_FILE: &str = "checker.key";

/// What is fed to the MAC before the state, so that no other use of the secret can collide.
const DOMAIN: &[u8] = b"rescard checker state 1\n";

/// What a checker was given by hand, on its first sync, to trust the rest through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// An issuer key's id (`sync --pin KID`): lists signed by keys it already trusts.
    Key(Kid),
    /// The root of trust (`sync --root FILE`): keys the root certified.
    Root(ed25519_dalek::VerifyingKey),
}

/// What the checker accepted, as its state file holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// What the first sync was given.
    pub anchor: Anchor,
    /// Under a root, every revocation of the root this checker has seen (COSE_Sign1 bytes): kept
    /// even when a later list leaves one out.
    pub revocations: Vec<Vec<u8>>,
    /// The signed trust list accepted last (COSE_Sign bytes).
    pub trust: Vec<u8>,
    /// The newest status accepted, if one was.
    pub status: Option<HeldStatus>,
}

/// The newest status snapshot a checker accepted: a snapshot older than this is a rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldStatus {
    /// Its sequence number.
    pub sequence: u64,
    /// When it was signed.
    pub issued_at: DateTime<Utc>,
}

impl HeldStatus {
    /// Whether a snapshot at `sequence`, signed at `issued_at`, is older than this one (the same
    /// order as [`rescard_core::status::StatusView::apply`] keeps).
    pub fn is_newer_than(&self, sequence: u64, issued_at: DateTime<Utc>) -> bool {
        (self.sequence, self.issued_at) > (sequence, issued_at)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    format: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pinned: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    revocations: Vec<String>,
    trust_list: String,
    status: Option<HeldStatus>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    state: Body,
    mac: String,
}

/// The state files of a checker's data directory.
pub struct StateFiles {
    dir: PathBuf,
}

impl StateFiles {
    /// The state files in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The state file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    fn secret_path(&self) -> PathBuf {
        self.dir.join(SECRET_FILE)
    }

    /// Whether a state file exists.
    pub fn exists(&self) -> bool {
        self.path().exists()
    }

    /// Whether the secret exists without a state file: the state was deleted (or a first sync was
    /// cut off between the two).
    pub fn state_missing(&self) -> bool {
        !self.path().exists() && self.secret_path().exists()
    }

    /// The state, its seal verified; `None` when there is no state file.
    pub fn read(&self) -> Result<Option<State>> {
        let path = self.path();
        if !path.exists() {
            return Ok(None);
        }
        check_private_dir(&self.dir)?;
        check_not_writable_by_others(&path)?;
        let secret = self.secret()?.with_context(|| {
            format!(
                "{} exists but its secret {} is missing: the state cannot be checked. Move {} aside \
                 and sync with --root FILE (or --pin KID)",
                path.display(),
                self.secret_path().display(),
                self.dir.display()
            )
        })?;
        let altered = || {
            format!(
                "{} was altered at rest (its seal does not verify): this checker refuses to check \
                 cards with it. Find out who changed it; to start again, move {} aside and sync \
                 with --root FILE (or --pin KID)",
                path.display(),
                self.dir.display()
            )
        };
        let text = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let sealed: Sealed = serde_json::from_slice(&text).with_context(altered)?;
        let mac = hex::decode(&sealed.mac).with_context(altered)?;
        mac_of(&secret, &sealed.state)?
            .verify_slice(&mac)
            .ok()
            .with_context(altered)?;
        let body = sealed.state;
        if body.format != 1 {
            bail!(
                "{} is in format {}, which this rescard does not read",
                path.display(),
                body.format
            );
        }
        let anchor = match (&body.pinned, &body.root) {
            (Some(kid), None) => Anchor::Key(Kid::parse_hex(kid).with_context(altered)?),
            (None, Some(root)) => Anchor::Root(
                rescard_core::keys::parse_public_key_base64url(root).with_context(altered)?,
            ),
            _ => {
                return Err(anyhow::anyhow!("neither a pinned key nor a root"))
                    .with_context(altered);
            }
        };
        Ok(Some(State {
            anchor,
            revocations: body
                .revocations
                .iter()
                .map(|r| STANDARD.decode(r))
                .collect::<Result<_, _>>()
                .with_context(altered)?,
            trust: STANDARD.decode(&body.trust_list).with_context(altered)?,
            status: body.status,
        }))
    }

    /// Seals and writes `state` (through a rename), making the secret first if there is none.
    pub fn write(&self, state: &State) -> Result<()> {
        let secret = match self.secret()? {
            Some(s) => s,
            None => self.make_secret()?,
        };
        let (pinned, root) = match &state.anchor {
            Anchor::Key(kid) => (Some(kid.to_string()), None),
            Anchor::Root(root) => (None, Some(rescard_core::keys::public_key_base64url(root))),
        };
        let body = Body {
            format: 1,
            pinned,
            root,
            revocations: state
                .revocations
                .iter()
                .map(|r| STANDARD.encode(r))
                .collect(),
            trust_list: STANDARD.encode(&state.trust),
            status: state.status,
        };
        let mac = hex::encode(mac_of(&secret, &body)?.finalize().into_bytes());
        let sealed = serde_json::to_vec_pretty(&Sealed { state: body, mac })?;
        write_atomically(&self.path(), &sealed)
    }

    fn secret(&self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let path = self.secret_path();
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        if meta.permissions().mode() & 0o077 != 0 {
            bail!(
                "the checker's secret {} can be read or written by other users (mode {:o}): anyone \
                 who read it can forge this checker's state. Refused: move {} aside and sync again \
                 with --root FILE (or --pin KID)",
                path.display(),
                meta.permissions().mode() & 0o777,
                self.dir.display()
            );
        }
        let secret =
            Zeroizing::new(fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
        if secret.len() != 32 {
            bail!(
                "the checker's secret {} is damaged ({} bytes, not 32)",
                path.display(),
                secret.len()
            );
        }
        Ok(Some(secret))
    }

    fn make_secret(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut secret = Zeroizing::new(vec![0u8; 32]);
        getrandom::fill(&mut secret)
            .map_err(|e| anyhow::anyhow!("no randomness from the operating system: {e}"))?;
        let path = self.secret_path();
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        file.write_all(&secret)?;
        file.sync_all()?;
        Ok(secret)
    }
}

fn mac_of(secret: &[u8], body: &Body) -> Result<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).context("the checker's secret")?;
    mac.update(DOMAIN);
    mac.update(&serde_json::to_vec(body)?);
    Ok(mac)
}

/// Creates `dir` owner-only (0700) if it does not exist, and makes an existing one owner-only.
pub fn make_private_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restricting {} to its owner", dir.display()))
}

/// Refuses a data directory that other users may write in: they could swap its files.
pub fn check_private_dir(dir: &Path) -> Result<()> {
    let mode = fs::metadata(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .permissions()
        .mode();
    if mode & 0o022 != 0 {
        bail!(
            "the checker's data directory {} can be written by other users (mode {:o}), who could \
             swap its files: run `chmod 700 {}` (and find out who could write there)",
            dir.display(),
            mode & 0o777,
            dir.display()
        );
    }
    Ok(())
}

/// Refuses a checker file that other users may write.
pub fn check_not_writable_by_others(path: &Path) -> Result<()> {
    let mode = fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o022 != 0 {
        bail!(
            "{} can be written by other users (mode {:o}): run `chmod 600` on it (and find out who \
             could write it)",
            path.display(),
            mode & 0o777
        );
    }
    Ok(())
}
