//! `status.bin`: the last full status snapshot a checker accepted and each delta applied to it since,
//! as a CBOR array of byte strings, each still signed by the issuer.

use std::path::Path;

use anyhow::{Context as _, Result};
use rescard_core::TrustList;
use rescard_core::status::{Snapshot, StatusView};

use crate::keystore::write_atomically;

/// The signed parts in the file at `path`, or `None` when there is no file.
pub fn read(path: &Path) -> Result<Option<Vec<Vec<u8>>>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let parts: Vec<serde_bytes_vec::Bytes> = ciborium::from_reader(bytes.as_slice())
        .with_context(|| format!("{} is damaged", path.display()))?;
    Ok(Some(parts.into_iter().map(|b| b.0).collect()))
}

/// Writes `parts` to `path` through a rename.
pub fn write(path: &Path, parts: Vec<Vec<u8>>) -> Result<()> {
    let mut out = Vec::new();
    let wrapped: Vec<serde_bytes_vec::Bytes> =
        parts.into_iter().map(serde_bytes_vec::Bytes).collect();
    ciborium::into_writer(&wrapped, &mut out).context("encoding the status file")?;
    write_atomically(path, &out)
}

/// The view `parts` give: the full snapshot first, then each delta, every one verified with `trust`.
pub fn view(parts: &[Vec<u8>], trust: &TrustList) -> Result<StatusView> {
    let (full, deltas) = parts
        .split_first()
        .context("the status file holds no snapshot")?;
    let (snapshot, _) =
        Snapshot::open(full, trust).context("the synced status snapshot no longer verifies")?;
    let mut view = StatusView::from_full(snapshot)?;
    for delta in deltas {
        let (snapshot, _) =
            Snapshot::open(delta, trust).context("a synced status delta no longer verifies")?;
        view.apply(snapshot)?;
    }
    Ok(view)
}

/// Whether a part of `parts` is signed by a key the root no longer trusts for it (revoked since
/// before it was signed): what it set, the root has disowned.
pub fn disowned(parts: &[Vec<u8>], trust: &TrustList) -> bool {
    parts.iter().any(|p| {
        matches!(
            Snapshot::open(p, trust),
            Err(rescard_core::status::SnapshotError::NotTrustedThen(_))
        )
    })
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
