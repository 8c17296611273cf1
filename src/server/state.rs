use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use rescard_core::status::StatusEntry;

use super::db::Db;
use super::image_check::DecodeSlots;
use super::limits::{RateLimiter, ServiceConfig};
use super::metrics::Metrics;
use crate::keystore::{KeyDir, Keyring};

/// How often a check looks whether `keys.json` changed (see [`AppState::keyring_for_checks`]).
const KEY_RECHECK: Duration = Duration::from_secs(1);

/// How many verified payloads the service remembers (a few hundred bytes each).
const SIGNATURE_CACHE_ENTRIES: usize = 50_000;

/// Where the service reads the time: the system clock, or a fixed one in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Db>,
    keys: KeyDir,
    keyring: RwLock<(Option<SystemTime>, Arc<Keyring>)>,
    /// When `keys.json` was last looked at, in nanoseconds since `started`.
    keys_checked: AtomicU64,
    started: Instant,
    config: ServiceConfig,
    anonymous_verify: RateLimiter,
    failed_signin: RateLimiter,
    decode_slots: DecodeSlots,
    full_snapshot: Mutex<Option<(u64, Arc<Vec<StatusEntry>>)>>,
    signatures: rescard_core::SignatureCache,
    metrics: Metrics,
    clock: Clock,
}

impl AppState {
    /// The state of a service on registry `db` with the keys in `keys`, within the limits of `config`.
    pub fn new(
        db: Arc<Db>,
        keys: KeyDir,
        config: ServiceConfig,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let modified = keys.modified();
        let keyring = Arc::new(keys.keyring()?);
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                keys,
                keyring: RwLock::new((modified, keyring)),
                keys_checked: AtomicU64::new(0),
                started: Instant::now(),
                anonymous_verify: RateLimiter::new(config.anonymous_verify_per_minute),
                failed_signin: RateLimiter::new(config.failed_signin_per_minute),
                decode_slots: DecodeSlots::new(config.image_decodes_in_flight),
                config,
                full_snapshot: Mutex::new(None),
                signatures: rescard_core::SignatureCache::new(SIGNATURE_CACHE_ENTRIES),
                metrics: Metrics::new(),
                clock,
            }),
        })
    }

    /// The registry.
    pub fn db(&self) -> &Arc<Db> {
        &self.inner.db
    }

    /// The keys for checking cards: [`Self::keyring`], but looking at `keys.json` at most once a
    /// second (a file-system call a request was a measurable share of a verification). A caller that
    /// meets a kid these keys do not know looks again at once with [`Self::keyring`], so a new key is
    /// never missed; a retired key stops verifying within a second.
    pub fn keyring_for_checks(&self) -> Arc<Keyring> {
        let now = u64::try_from(self.inner.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let checked = self.inner.keys_checked.load(Ordering::Relaxed);
        if now.saturating_sub(checked) >= KEY_RECHECK.as_nanos() as u64 {
            return self.keyring();
        }
        Arc::clone(
            &self
                .inner
                .keyring
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .1,
        )
    }

    /// The keys, reloaded when `keys.json` changed (after `rescard keys rotate` or `retire`), so a
    /// rotation needs no restart. If the reload fails the keys in use stay, and the failure is logged.
    pub fn keyring(&self) -> Arc<Keyring> {
        let since_start =
            u64::try_from(self.inner.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.inner
            .keys_checked
            .store(since_start, Ordering::Relaxed);
        let modified = self.inner.keys.modified();
        {
            let held = self
                .inner
                .keyring
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if held.0 == modified {
                return Arc::clone(&held.1);
            }
        }
        let mut held = self
            .inner
            .keyring
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.0 != modified {
            match self.inner.keys.keyring() {
                Ok(ring) => {
                    tracing::info!(kid = %ring.active.kid(), "issuer keys reloaded");
                    *held = (modified, Arc::new(ring));
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "issuer keys changed but cannot be loaded; keeping the keys in use")
                }
            }
        }
        Arc::clone(&held.1)
    }

    /// How long a checker may rely on a status snapshot, in seconds.
    pub fn status_max_age_seconds(&self) -> u64 {
        self.inner.config.status_max_age_seconds
    }

    /// The service's limits.
    pub fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    /// The allowance of verifications without a token, per client.
    pub fn anonymous_verify_limit(&self) -> &RateLimiter {
        &self.inner.anonymous_verify
    }

    /// The allowance of requests with a bad token, per client.
    pub fn failed_signin_limit(&self) -> &RateLimiter {
        &self.inner.failed_signin
    }

    /// The cap on photos decoded at once.
    pub fn decode_slots(&self) -> &DecodeSlots {
        &self.inner.decode_slots
    }

    /// The entries of the full snapshot at `sequence`, if cached.
    pub fn cached_full_snapshot(&self, sequence: u64) -> Option<Arc<Vec<StatusEntry>>> {
        let cache = self
            .inner
            .full_snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .as_ref()
            .filter(|(seq, _)| *seq == sequence)
            .map(|(_, entries)| Arc::clone(entries))
    }

    /// Caches the entries of the full snapshot at `sequence`.
    pub fn cache_full_snapshot(&self, sequence: u64, entries: Arc<Vec<StatusEntry>>) {
        *self
            .inner
            .full_snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((sequence, entries));
    }

    /// Payloads whose signature verified, for repeated checks.
    pub fn signatures(&self) -> &rescard_core::SignatureCache {
        &self.inner.signatures
    }

    /// Checks one payload at `now` against the statuses in memory ([`super::status_mirror`]), on the
    /// calling thread, with the keys of [`Self::keyring_for_checks`]: a kid they do not know makes it
    /// look at the key file again at once, and check again if the keys changed.
    pub fn check(
        &self,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<rescard_core::Verification, super::AppError> {
        let mirror = self.db().mirror();
        let with = |keys: &Keyring| {
            let Ok(verification) =
                rescard_core::verify_cached(payload, &keys.trust, mirror, now, self.signatures());
            verification
        };
        let keys = self.keyring_for_checks();
        let verification = with(&keys);
        if verification.verdict == rescard_core::Verdict::UnknownIssuer {
            let fresh = self.keyring();
            if !Arc::ptr_eq(&fresh, &keys) {
                return Ok(with(&fresh));
            }
        }
        Ok(verification)
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        (self.inner.clock)()
    }
}
