//! An offline checker's data directory: the signed trust list it accepted and the status snapshot
//! with the deltas applied since, checked again on every use.
//!
//! | file | what |
//! | --- | --- |
//! | `checker.json` | the state: the key id pinned on the first sync, the signed trust list accepted, and the newest status accepted (sequence and signing time), sealed with `checker.key` (see [`state`]) |
//! | `checker.key` | the 32-byte secret of the seal, mode 0600 |
//! | `status.bin` | a CBOR array of byte strings: the last full snapshot, then each delta applied to it |
//!
//! The directory is 0700 and its files 0600. A check trusts only the keys of the trust list in the
//! sealed state, whose own signature it verifies again; a `trust.json`, `trust.cose` or issuer key
//! directory beside it is never read. A status file that is missing, no longer verifies, or is older
//! than the newest one the state records is refused, never silently replaced by "the card alone".
//!
//! Nothing is replaced until what replaces it has been verified in full: a failed, partial, forged or
//! older download leaves the files as they were. Every file is replaced through a rename, the status
//! file before the state, so a sync cut off between the two leaves a status newer than the state
//! records, which is accepted.

pub mod state;
mod status_file;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use rescard_core::TrustList;
use rescard_core::domain::date::rfc3339;
use rescard_core::root::{Usage, fingerprint};
use rescard_core::status::{ApplyError, Snapshot, StatusView};
use rescard_core::trust_doc::TrustDocument;

use state::{HeldStatus, State, StateFiles};

pub use state::{Anchor, SECRET_FILE, STATE_FILE};

/// The snapshot and its deltas.
pub const STATUS_FILE: &str = "status.bin";
/// Files an older rescard kept in a checker's data directory, unsealed: never read, removed by the
/// next sync.
pub const LEGACY_FILES: [&str; 2] = ["trust.json", "trust.cose"];
/// After this many deltas the next sync asks for a full snapshot, so the file stays small.
pub const MAX_DELTAS: usize = 16;
/// The largest download accepted.
pub const MAX_DOWNLOAD: u64 = 16 * 1024 * 1024;
/// How far past this checker's clock a trust list or snapshot may be dated under a root: more is
/// refused, so that a list or snapshot a stolen key dated ahead cannot shut out the genuine ones
/// that follow it (and the revocation they bring).
pub const MAX_CLOCK_AHEAD: chrono::Duration = chrono::Duration::minutes(10);

fn not_from_the_future(what: &str, at: chrono::DateTime<chrono::Utc>) -> Result<()> {
    let now = chrono::Utc::now();
    if at > now + MAX_CLOCK_AHEAD {
        bail!(
            "the {what} offered is dated {}, ahead of this checker's clock ({}): refused. If the clock is wrong, set it",
            rfc3339(at),
            rfc3339(now)
        );
    }
    Ok(())
}

/// A checker's data directory.
pub struct Checker {
    dir: PathBuf,
    state: StateFiles,
}

/// The trust list a checker holds, and the keys it trusts through it for each use: all of the
/// list's under a pinned key; under a root, each limited to what the root allows it.
#[derive(Debug, Clone)]
pub struct Trusted {
    /// The signed trust list.
    pub doc: TrustDocument,
    /// The keys cards are checked with.
    pub cards: TrustList,
    /// The keys status snapshots are checked with.
    pub status_keys: TrustList,
}

/// What a checker holds, verified: the trust list and, once a status was synced, the status view.
#[derive(Debug, Clone)]
pub struct Held {
    /// What the first sync was given: an issuer key's id, or the root.
    pub anchor: Anchor,
    /// The trust list: the only keys this checker trusts.
    pub trust: Trusted,
    /// The status, if one was synced.
    pub status: Option<StatusView>,
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
            state: StateFiles::new(dir),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether `dir` holds a checker's sealed state.
    pub fn has_state(&self) -> bool {
        self.state.exists()
    }

    /// Everything this checker holds, verified at rest: the seal of its state, the signature of its
    /// trust list, and a status file that is there, verifies, and is not older than the state
    /// records. `None` when the directory holds no checker at all.
    pub fn load(&self) -> Result<Option<Held>> {
        let Some(state) = self.state.read()? else {
            if self.state.state_missing() {
                bail!(
                    "{} was deleted: this checker no longer knows what it accepted, and refuses to \
                     check cards. Find out who deleted it; to start again, sync with --root FILE (or --pin KID)",
                    self.state.path().display()
                );
            }
            if let Some(legacy) = self.legacy_files().first() {
                bail!(
                    "no trusted issuer keys: {} was written by an older rescard without a sealed \
                     state, so it is not trusted. Sync again with --root FILE or --pin KID (from \
                     the issuing authority)",
                    legacy.display()
                );
            }
            return Ok(None);
        };
        let trust = opened_trust(&state)?;
        let parts = status_file::read(&self.path(STATUS_FILE))?;
        let status = match (parts, state.status) {
            (None, None) => None,
            (None, Some(held)) => bail!(
                "the status snapshot {} is missing, though this checker accepted sequence {} \
                 (signed {}): it was deleted. Refused, rather than checking the card alone: run \
                 `rescard sync URL`",
                self.path(STATUS_FILE).display(),
                held.sequence,
                rfc3339(held.issued_at)
            ),
            (Some(parts), held) => {
                state::check_not_writable_by_others(&self.path(STATUS_FILE))?;
                let view = status_file::view(&parts, &trust.status_keys).with_context(|| {
                    format!(
                        "{} cannot be used; refused: run `rescard sync URL`",
                        self.path(STATUS_FILE).display()
                    )
                })?;
                if let Some(held) = held
                    && held.is_newer_than(view.sequence(), view.issued_at())
                {
                    bail!(
                        "the status snapshot {} is at sequence {} (signed {}), older than the \
                         sequence {} (signed {}) this checker accepted: an older file was put back, \
                         which could make a revoked card valid again. Refused: run `rescard sync URL`",
                        self.path(STATUS_FILE).display(),
                        view.sequence(),
                        rfc3339(view.issued_at()),
                        held.sequence,
                        rfc3339(held.issued_at)
                    );
                }
                Some(view)
            }
        };
        Ok(Some(Held {
            anchor: state.anchor,
            trust,
            status,
        }))
    }

    /// The trust list last accepted, its seal and signature verified again (the status is not
    /// looked at: see [`load`](Self::load) for everything a check needs).
    pub fn trust(&self) -> Result<Option<Trusted>> {
        self.state.read()?.map(|s| opened_trust(&s)).transpose()
    }

    fn legacy_files(&self) -> Vec<PathBuf> {
        LEGACY_FILES
            .iter()
            .map(|f| self.path(f))
            .filter(|p| p.exists())
            .collect()
    }

    /// Accepts a downloaded signed trust list: through a key already trusted, or on a first sync
    /// through the pinned key; under a root, through a key the root certified for the status. An
    /// older list than the one held is refused. `anchor` is what the first sync was given; a
    /// checker that pinned a key moves to a root when given one.
    pub fn accept_trust(&self, bytes: &[u8], anchor: Option<Anchor>) -> Result<Trusted> {
        let held = self.state.read()?;
        let anchor = match (&held, anchor) {
            (Some(state), None) => state.anchor,
            (Some(state), Some(Anchor::Key(_))) => match state.anchor {
                Anchor::Key(_) => state.anchor,
                Anchor::Root(root) => bail!(
                    "this checker trusts the root {} and the keys it certifies: --pin does not apply",
                    fingerprint(&root)
                ),
            },
            (Some(state), Some(Anchor::Root(root))) => match state.anchor {
                Anchor::Root(held) if held != root => bail!(
                    "this checker trusts the root {}, not {}: to trust another root, move {} aside and sync again with --root",
                    fingerprint(&held),
                    fingerprint(&root),
                    self.dir.display()
                ),
                _ => Anchor::Root(root),
            },
            (None, Some(anchor)) => anchor,
            (None, None) => bail!(
                "this checker trusts no issuer key yet: give the first sync the root the issuing authority hands out, `rescard sync URL --root FILE` (or the issuer's key id, `--pin KID`)"
            ),
        };
        let mut revocations = held
            .as_ref()
            .map(|s| s.revocations.clone())
            .unwrap_or_default();
        // Under a root, a revocation the offered list carries is the root's word whatever becomes
        // of the list: kept even if the list itself is refused.
        if let (Anchor::Root(root), Some(state)) = (anchor, &held) {
            let learned: Vec<Vec<u8>> = TrustDocument::open_self_signed(bytes)
                .map(|(doc, _)| doc.keys.root().revocations.clone())
                .unwrap_or_default()
                .into_iter()
                .filter(|r| {
                    !revocations.contains(r)
                        && rescard_core::root::Revocation::open(r, &root).is_ok()
                })
                .collect();
            if !learned.is_empty() {
                revocations.extend(learned);
                self.state.write(&State {
                    revocations: revocations.clone(),
                    ..state.clone()
                })?;
            }
        }
        let doc = match (anchor, &held) {
            (Anchor::Root(root), _) => {
                let (doc, _) = TrustDocument::open_rooted(bytes, &root, &revocations)?;
                for r in &doc.keys.root().revocations {
                    if !revocations.contains(r) {
                        revocations.push(r.clone());
                    }
                }
                doc
            }
            (Anchor::Key(_), Some(state)) => {
                TrustDocument::open(bytes, &opened_trust(state)?.doc.keys)?.0
            }
            (Anchor::Key(pin), None) => TrustDocument::open_pinned(bytes, pin)?.0,
        };
        if matches!(anchor, Anchor::Root(_)) {
            not_from_the_future("trust list", doc.issued_at)?;
        }
        if let Some(state) = &held {
            let held = opened_trust(state)?.doc;
            if doc.issued_at < held.issued_at {
                bail!(
                    "the trust list offered was issued {}, before the one held ({}): refused as a rollback",
                    doc.issued_at,
                    held.issued_at
                );
            }
        }
        // Every later check opens the list by itself: keep none that would not.
        TrustDocument::open_self_signed(bytes)
            .context("the trust list offered is not signed by any key it lists: refused")?;
        state::make_private_dir(&self.dir)?;
        let state = State {
            anchor,
            revocations,
            trust: bytes.to_vec(),
            status: held.and_then(|s| s.status),
        };
        let trusted = opened_trust(&state)?;
        self.state.write(&state)?;
        for legacy in self.legacy_files() {
            std::fs::remove_file(&legacy)
                .with_context(|| format!("removing {}", legacy.display()))?;
        }
        Ok(trusted)
    }

    /// What is held of the status that can be built on: verified with `trust` and not older than the
    /// newest status the state records. A status file that fails either is not built on (a full
    /// snapshot will replace it).
    fn held_status(&self, trust: &TrustList, floor: Option<HeldStatus>) -> Option<StatusView> {
        let floor = floor?;
        let parts = status_file::read(&self.path(STATUS_FILE)).ok()??;
        status_file::view(&parts, trust)
            .ok()
            .filter(|v| !floor.is_newer_than(v.sequence(), v.issued_at()))
    }

    /// Accepts a downloaded snapshot or delta, verified with `trust`, on top of what is held. A
    /// snapshot older than the newest the state records is refused, whatever the status file holds.
    pub fn accept_status(&self, bytes: &[u8], trust: &TrustList) -> Result<StatusView> {
        let (snapshot, _) = Snapshot::open(bytes, trust)?;
        let Some(mut state) = self.state.read()? else {
            bail!(
                "this checker has accepted no trust list yet: sync with --root FILE (or --pin KID)"
            );
        };
        if matches!(state.anchor, Anchor::Root(_)) {
            not_from_the_future("status snapshot", snapshot.issued_at)?;
        }
        // What a key the root has since revoked signed sets no floor: a full snapshot replaces it.
        let disowned = status_file::read(&self.path(STATUS_FILE))
            .ok()
            .flatten()
            .is_some_and(|parts| status_file::disowned(&parts, trust));
        let floor = state.status.filter(|_| !disowned);
        if let Some(floor) = floor {
            if floor.is_newer_than(snapshot.sequence, snapshot.issued_at) {
                return Err(ApplyError::Backwards {
                    offered: snapshot.sequence,
                    held: floor.sequence,
                }
                .into());
            }
            // A later sequence signed earlier than what is held: the registry's signer does not
            // go back in time, so this was made to look newer than it is.
            if floor.issued_at > snapshot.issued_at {
                bail!(
                    "the status snapshot offered was signed {}, before the one held ({}): refused as a rollback",
                    rfc3339(snapshot.issued_at),
                    rfc3339(floor.issued_at)
                );
            }
        }
        let (view, mut parts) = match self.held_status(trust, floor) {
            Some(mut view) => {
                let full = snapshot.since.is_none();
                view.apply(snapshot)?;
                let parts = if full {
                    Vec::new()
                } else {
                    status_file::read(&self.path(STATUS_FILE))?.unwrap_or_default()
                };
                (view, parts)
            }
            None => (StatusView::from_full(snapshot)?, Vec::new()),
        };
        parts.push(bytes.to_vec());
        status_file::write(&self.path(STATUS_FILE), parts)?;
        state.status = Some(HeldStatus {
            sequence: view.sequence(),
            issued_at: view.issued_at(),
        });
        self.state.write(&state)?;
        Ok(view)
    }

    /// Fetches and accepts the trust list and the status from the service at `base`, with `fetch`
    /// doing the HTTP GET of a path.
    pub fn sync(
        &self,
        anchor: Option<Anchor>,
        fetch: impl Fn(&str) -> Result<Vec<u8>>,
    ) -> Result<SyncReport> {
        let trusted = self.accept_trust(&fetch("/api/v1/keys/signed")?, anchor)?;
        let keys = &trusted.status_keys;
        let floor = self.state.read()?.and_then(|s| s.status);
        let held = self.held_status(keys, floor);
        let deltas = status_file::read(&self.path(STATUS_FILE))
            .ok()
            .flatten()
            .map_or(0, |p| p.len().saturating_sub(1));
        let since = held
            .as_ref()
            .filter(|_| deltas < MAX_DELTAS)
            .map(|v| v.sequence());
        let path = match since {
            Some(seq) => format!("/api/v1/status?since={seq}"),
            None => "/api/v1/status".to_owned(),
        };
        let bytes = fetch(&path)?;
        let view = match self.accept_status(&bytes, keys) {
            Ok(view) => view,
            // A delta that does not fit what is held (the registry was restored, say): take it all.
            Err(e)
                if since.is_some()
                    && e.downcast_ref::<ApplyError>()
                        .is_some_and(|a| matches!(a, ApplyError::Gap { .. })) =>
            {
                let full = fetch("/api/v1/status")?;
                let view = self.accept_status(&full, keys)?;
                return Ok(SyncReport {
                    trust: trusted.doc,
                    view,
                    delta: false,
                    status_bytes: full.len(),
                });
            }
            Err(e) => return Err(e),
        };
        let delta = Snapshot::open(&bytes, keys)
            .map(|(s, _)| s.since.is_some())
            .unwrap_or(false);
        Ok(SyncReport {
            trust: trusted.doc,
            view,
            delta,
            status_bytes: bytes.len(),
        })
    }
}

/// The trust list a state holds, its signature verified again, with the keys it trusts for
/// each use: under a root, its statements (and the revocations the state kept) verified again.
fn opened_trust(state: &State) -> Result<Trusted> {
    let doc = TrustDocument::open_self_signed(&state.trust)
        .context("the trust list this checker accepted no longer verifies: refused")?
        .0;
    let (cards, status_keys) = match state.anchor {
        Anchor::Key(_) => (doc.keys.clone(), doc.keys.clone()),
        Anchor::Root(root) => {
            let mut material = doc.keys.root().clone();
            material
                .revocations
                .extend(state.revocations.iter().cloned());
            let statements = material
                .open(&root)
                .context("the root statements this checker accepted no longer verify: refused")?;
            (
                statements.apply(&doc.keys, Usage::Cards),
                statements.apply(&doc.keys, Usage::Status),
            )
        }
    };
    Ok(Trusted {
        doc,
        cards,
        status_keys,
    })
}

#[cfg(test)]
mod root_tests;
#[cfg(test)]
mod tests;
