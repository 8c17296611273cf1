//! The registry's trust list, in memory: the keys a replica checks cards with and publishes to
//! checkers. It follows the registry by the trust list's version (the `keys` counter, moved on by
//! every key made, rotated or retired, on any replica or the command line): the follower thread (in
//! `server/db.rs`) reads that one number every [`FOLLOW_EVERY`](super::status_mirror::FOLLOW_EVERY),
//! and the list itself only when it changed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use rescard_core::TrustList;
use rescard_store::{Registry, StoreError};

/// See the module documentation.
pub struct TrustMirror {
    version: AtomicU64,
    list: RwLock<(u64, Arc<TrustList>)>,
}

impl TrustMirror {
    /// The trust list in `registry` now.
    pub fn load(registry: &Registry) -> Result<Self, StoreError> {
        let (version, list) = registry.trust_list()?;
        Ok(Self {
            version: AtomicU64::new(version),
            list: RwLock::new((version, Arc::new(list))),
        })
    }

    /// Takes in the registry's trust list if its version moved.
    pub fn follow(&self, registry: &Registry) -> Result<(), StoreError> {
        if registry.trust_version()? == self.version() {
            return Ok(());
        }
        let (version, list) = registry.trust_list()?;
        *self
            .list
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (version, Arc::new(list));
        self.version.store(version, Ordering::Release);
        tracing::info!(version, "the registry's trust list changed");
        Ok(())
    }

    /// The version held: one atomic read, for the checks' fast path.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// The list held, with its version.
    pub fn get(&self) -> (u64, Arc<TrustList>) {
        let held = self
            .list
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (held.0, Arc::clone(&held.1))
    }
}
