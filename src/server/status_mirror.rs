//! Every card's status, in memory: what the verify endpoint and the check page read, so that a
//! verification costs no registry lookup on any backend. The mirror holds the cards whose status
//! differs from their QR (suspended, revoked, replaced, extended: a few in a hundred); any other
//! card reads as its QR says, which is what the registry would answer for it.
//!
//! It follows the registry by the status sequence number: every act that changes a card's status
//! takes the next number, so "what changed after N" is one indexed read. The service's own writes
//! bring it up to date before they are acknowledged (an act shows in the next check on this
//! replica), and a follower thread (in `server/db.rs`) asks every [`FOLLOW_EVERY`] for what other
//! replicas, or the command line, did. When the registry cannot be reached the mirror keeps
//! answering from what it holds, with the time it last heard from the registry as `status_as_of`.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rescard_core::{CurrentStatus, Serial, StatusOrigin, StatusReport, StatusSource};
use rescard_store::{Registry, StoreError};

/// How often a replica asks the registry what changed.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(100);

/// Heard from the registry within this long, the mirror is as current as the registry (`status_as_of`
/// is now); longer ago, `status_as_of` is when it last heard.
const CURRENT_WITHIN: Duration = Duration::from_secs(2);

/// See the module documentation.
pub struct StatusMirror {
    state: RwLock<Mirror>,
}

struct Mirror {
    /// The status sequence number the mirror is up to date with.
    sequence: u64,
    /// The cards whose status differs from their QR.
    differing: HashMap<Serial, CurrentStatus>,
    /// When the registry last answered.
    heard: Instant,
}

impl StatusMirror {
    /// The statuses in `registry` now.
    pub fn load(registry: &Registry) -> Result<Self, StoreError> {
        let (sequence, changes) = registry.status_changes(0)?;
        let differing = changes
            .into_iter()
            .filter_map(|(serial, current)| Some((serial, current?)))
            .collect();
        Ok(Self {
            state: RwLock::new(Mirror {
                sequence,
                differing,
                heard: Instant::now(),
            }),
        })
    }

    /// Brings the mirror up to date with `registry`: the changes after the sequence it holds (all
    /// again if the registry's sequence went back, as after a restore).
    pub fn follow(&self, registry: &Registry) -> Result<(), StoreError> {
        let held = self.read().sequence;
        let now = registry.status_sequence()?;
        if now == held {
            self.write().heard = Instant::now();
            return Ok(());
        }
        let restart = now < held;
        let (sequence, changes) = registry.status_changes(if restart { 0 } else { held })?;
        let mut mirror = self.write();
        if restart {
            mirror.differing.clear();
        } else if sequence <= mirror.sequence {
            // Another caller brought it further meanwhile.
            mirror.heard = Instant::now();
            return Ok(());
        }
        for (serial, current) in changes {
            match current {
                Some(current) => mirror.differing.insert(serial, current),
                None => mirror.differing.remove(&serial),
            };
        }
        mirror.sequence = sequence;
        mirror.heard = Instant::now();
        Ok(())
    }

    /// The status sequence number the mirror is up to date with.
    pub fn sequence(&self) -> u64 {
        self.read().sequence
    }

    /// How many cards it holds (those whose status differs from their QR).
    pub fn len(&self) -> usize {
        self.read().differing.len()
    }

    /// Whether it holds no card.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Mirror> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Mirror> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl StatusSource for StatusMirror {
    type Error = std::convert::Infallible;

    fn status(
        &self,
        serial: Serial,
        now: DateTime<Utc>,
    ) -> Result<StatusReport, std::convert::Infallible> {
        let mirror = self.read();
        let age = mirror.heard.elapsed();
        let as_of = if age <= CURRENT_WITHIN {
            now
        } else {
            now - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX)
        };
        Ok(StatusReport {
            origin: StatusOrigin::Registry,
            as_of: Some(as_of),
            stale: false,
            current: mirror.differing.get(&serial).cloned(),
        })
    }
}
