use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rescard_core::status::StatusEntry;

use super::db::Db;
use super::image_check::DecodeSlots;
use super::limits::{RateLimiter, ServiceConfig};
use super::metrics::Metrics;
use crate::keystore::{KeyStore, Keyring};

/// How soon keys that failed to load (a private key not yet in the key store) are tried again.
const KEY_RETRY: Duration = Duration::from_secs(1);

/// How many verified payloads the service remembers (a few hundred bytes each).
const SIGNATURE_CACHE_ENTRIES: usize = 50_000;

/// Where the service reads the time: the system clock, or a fixed one in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The keys in use, and the last trust list version that failed to load, with when.
struct Held {
    ring: Arc<Keyring>,
    failed: Option<(u64, Instant)>,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Db>,
    keys: KeyStore,
    keyring: RwLock<Held>,
    config: ServiceConfig,
    anonymous_verify: RateLimiter,
    failed_signin: RateLimiter,
    anonymous_filing: RateLimiter,
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
        keys: KeyStore,
        config: ServiceConfig,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let (version, trust) = db.trust().get();
        let ring = Arc::new(keys.keyring(version, (*trust).clone())?);
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                keys,
                keyring: RwLock::new(Held { ring, failed: None }),
                anonymous_verify: RateLimiter::new(config.anonymous_verify_per_minute),
                failed_signin: RateLimiter::new(config.failed_signin_per_minute),
                anonymous_filing: RateLimiter::new(config.anonymous_filing_per_minute),
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

    /// The keys: the registry's trust list as this replica last heard it ([`Db::trust`]) with the
    /// key directory's private keys, loaded again when the list's version moves (a key made, rotated
    /// or retired anywhere), so a rotation needs no restart. The common case is one atomic read. If
    /// the new keys cannot be loaded (a private key not in the directory yet), the keys in use stay,
    /// the failure is logged, and the load is tried again a second later.
    pub fn keyring(&self) -> Arc<Keyring> {
        let trust = self.db().trust();
        let version = trust.version();
        let retry_due = |held: &Held| match held.failed {
            Some((failed, at)) => failed != version || at.elapsed() >= KEY_RETRY,
            None => true,
        };
        {
            let held = self
                .inner
                .keyring
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if held.ring.version == version || !retry_due(&held) {
                return Arc::clone(&held.ring);
            }
        }
        let mut held = self
            .inner
            .keyring
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.ring.version != version && retry_due(&held) {
            let (version, list) = trust.get();
            match self.inner.keys.keyring(version, (*list).clone()) {
                Ok(ring) => {
                    tracing::info!(kid = %ring.active.kid(), version, "issuer keys reloaded");
                    *held = Held {
                        ring: Arc::new(ring),
                        failed: None,
                    };
                }
                Err(e) => {
                    held.failed = Some((version, Instant::now()));
                    tracing::error!(error = %format!("{e:#}"), "the trust list changed but its keys cannot be loaded; keeping the keys in use");
                }
            }
        }
        Arc::clone(&held.ring)
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

    /// Applications filed without a token, per client.
    pub fn anonymous_filing_limit(&self) -> &RateLimiter {
        &self.inner.anonymous_filing
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
    /// calling thread, with the keys of [`Self::keyring`].
    pub fn check(
        &self,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<rescard_core::Verification, super::AppError> {
        let keys = self.keyring();
        let Ok(verification) = rescard_core::verify_cached(
            payload,
            &keys.cards,
            self.db().mirror(),
            now,
            self.signatures(),
        );
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
