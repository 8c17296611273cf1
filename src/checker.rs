//! An offline checker's synced state in its data directory: the signed trust list and the status
//! snapshot with the deltas applied since, kept signed at rest and verified again on every load.
//!
//! | file | what |
//! | --- | --- |
//! | `trust.cose` | the last signed trust list accepted (COSE_Sign) |
//! | `trust.json` | its keys, in the `keys list --json` shape |
//! | `status.bin` | a CBOR array of byte strings: the last full snapshot, then each delta applied to it |
//!
//! Nothing is replaced until what replaces it has been verified in full: a failed, partial, forged or
//! older download leaves the files as they were. Every file is replaced through a rename.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use rescard_core::status::{ApplyError, Snapshot, StatusView};
use rescard_core::trust_doc::TrustDocument;
use rescard_core::{Kid, TrustList};

use crate::keystore::write_atomically;

/// The signed trust list file.
pub const TRUST_COSE: &str = "trust.cose";
/// The synced trust list's keys.
pub const TRUST_JSON: &str = "trust.json";
/// The snapshot and its deltas.
pub const STATUS_FILE: &str = "status.bin";
/// After this many deltas the next sync asks for a full snapshot, so the file stays small.
pub const MAX_DELTAS: usize = 16;
/// The largest download accepted.
pub const MAX_DOWNLOAD: u64 = 16 * 1024 * 1024;

/// A checker's data directory.
pub struct Checker {
    dir: PathBuf,
}

/// What a sync did.
#[derive(Debug, Clone)]
pub struct SyncReport {
    /// The trust list now held.
    pub trust: TrustDocument,
    /// The status now held.
    pub view: StatusView,
    /// Whether the status download was a delta.
    pub delta: bool,
    /// Bytes downloaded for the status.
    pub status_bytes: usize,
}

impl Checker {
    /// The checker state in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether a status snapshot has been synced.
    pub fn has_status(&self) -> bool {
        self.path(STATUS_FILE).exists()
    }

    /// The trust list last accepted, verified again.
    pub fn trust(&self) -> Result<Option<TrustDocument>> {
        let cose = self.path(TRUST_COSE);
        if !cose.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&cose).with_context(|| format!("reading {}", cose.display()))?;
        let json = std::fs::read_to_string(self.path(TRUST_JSON))
            .with_context(|| format!("reading {TRUST_JSON}"))?;
        let keys = TrustList::from_json(&json)?;
        let (doc, _) = TrustDocument::open(&bytes, &keys)
            .with_context(|| format!("{} no longer verifies", cose.display()))?;
        if doc.keys != keys {
            bail!("{TRUST_JSON} does not match {TRUST_COSE}: run `rescard sync` again");
        }
        Ok(Some(doc))
    }

    fn status_parts(&self) -> Result<Vec<Vec<u8>>> {
        let path = self.path(STATUS_FILE);
        if !path.exists() {
            return Ok(Vec::new());
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let parts: Vec<serde_bytes_vec::Bytes> = ciborium::from_reader(bytes.as_slice())
            .with_context(|| format!("{} is damaged", path.display()))?;
        Ok(parts.into_iter().map(|b| b.0).collect())
    }

    /// The status view the synced snapshot and deltas give, each verified with `trust`.
    pub fn view(&self, trust: &TrustList) -> Result<Option<StatusView>> {
        let parts = self.status_parts()?;
        let mut iter = parts.iter();
        let Some(full) = iter.next() else {
            return Ok(None);
        };
        let (snapshot, _) =
            Snapshot::open(full, trust).context("the synced status snapshot no longer verifies")?;
        let mut view = StatusView::from_full(snapshot)?;
        for delta in iter {
            let (snapshot, _) =
                Snapshot::open(delta, trust).context("a synced status delta no longer verifies")?;
            view.apply(snapshot)?;
        }
        Ok(Some(view))
    }

    /// Accepts a downloaded signed trust list: through a key already trusted, or on a first sync
    /// through the pinned key. An older list than the one held is refused.
    pub fn accept_trust(&self, bytes: &[u8], pin: Option<Kid>) -> Result<TrustDocument> {
        let held = self.trust()?;
        let (doc, _) = match (&held, pin) {
            (Some(h), _) => TrustDocument::open(bytes, &h.keys)?,
            (None, Some(pin)) => TrustDocument::open_pinned(bytes, pin)?,
            (None, None) => bail!(
                "this checker trusts no issuer key yet: give the first sync the issuer's key id, `rescard sync URL --pin KID` (ask the issuing authority for it; `rescard keys list` shows it)"
            ),
        };
        if let Some(h) = &held
            && doc.issued_at < h.issued_at
        {
            bail!(
                "the trust list offered was issued {}, before the one held ({}): refused as a rollback",
                doc.issued_at,
                h.issued_at
            );
        }
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        write_atomically(&self.path(TRUST_COSE), bytes)?;
        write_atomically(&self.path(TRUST_JSON), doc.keys.to_json().as_bytes())?;
        Ok(doc)
    }

    /// Accepts a downloaded snapshot or delta, verified with `trust`, on top of what is held.
    pub fn accept_status(&self, bytes: &[u8], trust: &TrustList) -> Result<StatusView> {
        let (snapshot, _) = Snapshot::open(bytes, trust)?;
        // What is held may no longer verify (its key retired): then only a full snapshot will do.
        let held = self.view(trust).ok().flatten();
        let mut parts = self.status_parts().unwrap_or_default();
        let view = match held {
            Some(mut view) => {
                let full = snapshot.since.is_none();
                view.apply(snapshot)?;
                if full {
                    parts.clear();
                }
                view
            }
            None => {
                parts.clear();
                StatusView::from_full(snapshot)?
            }
        };
        parts.push(bytes.to_vec());
        let mut out = Vec::new();
        let wrapped: Vec<serde_bytes_vec::Bytes> =
            parts.into_iter().map(serde_bytes_vec::Bytes).collect();
        ciborium::into_writer(&wrapped, &mut out).context("encoding the status file")?;
        write_atomically(&self.path(STATUS_FILE), &out)?;
        Ok(view)
    }

    /// Fetches and accepts the trust list and the status from the service at `base`, with `fetch`
    /// doing the HTTP GET of a path.
    pub fn sync(
        &self,
        pin: Option<Kid>,
        fetch: impl Fn(&str) -> Result<Vec<u8>>,
    ) -> Result<SyncReport> {
        let trust = self.accept_trust(&fetch("/api/v1/keys/signed")?, pin)?;
        let held = self.view(&trust.keys).ok().flatten();
        let deltas = self
            .status_parts()
            .map(|p| p.len().saturating_sub(1))
            .unwrap_or(0);
        let since = held
            .as_ref()
            .filter(|_| deltas < MAX_DELTAS)
            .map(|v| v.sequence());
        let path = match since {
            Some(seq) => format!("/api/v1/status?since={seq}"),
            None => "/api/v1/status".to_owned(),
        };
        let bytes = fetch(&path)?;
        let view = match self.accept_status(&bytes, &trust.keys) {
            Ok(view) => view,
            // A delta that does not fit what is held (the registry was restored, say): take it all.
            Err(e)
                if since.is_some()
                    && e.downcast_ref::<ApplyError>()
                        .is_some_and(|a| matches!(a, ApplyError::Gap { .. })) =>
            {
                let full = fetch("/api/v1/status")?;
                let view = self.accept_status(&full, &trust.keys)?;
                return Ok(SyncReport {
                    trust,
                    view,
                    delta: false,
                    status_bytes: full.len(),
                });
            }
            Err(e) => return Err(e),
        };
        let delta = Snapshot::open(&bytes, &trust.keys)
            .map(|(s, _)| s.since.is_some())
            .unwrap_or(false);
        Ok(SyncReport {
            trust,
            view,
            delta,
            status_bytes: bytes.len(),
        })
    }
}

/// CBOR byte strings for the status file (serde would otherwise write arrays of integers).
mod serde_bytes_vec {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub struct Bytes(pub Vec<u8>);

    impl Serialize for Bytes {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }

    impl<'de> Deserialize<'de> for Bytes {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let value = ciborium::value::Value::deserialize(d)?;
            match value {
                ciborium::value::Value::Bytes(b) => Ok(Self(b)),
                _ => Err(serde::de::Error::custom("expected a byte string")),
            }
        }
    }
}
