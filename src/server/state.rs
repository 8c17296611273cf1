use std::sync::Arc;

use chrono::{DateTime, Utc};
use rescard_core::{IssuerKey, TrustList};

use super::db::Db;
use super::metrics::Metrics;

/// Where the service reads the time: the system clock, or a fixed one in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Db>,
    key: IssuerKey,
    trust: TrustList,
    metrics: Metrics,
    clock: Clock,
}

impl AppState {
    /// The state of a service on registry `db`, signing with `key`, trusting `trust`.
    pub fn new(db: Arc<Db>, key: IssuerKey, trust: TrustList, clock: Clock) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                key,
                trust,
                metrics: Metrics::new(),
                clock,
            }),
        }
    }

    /// The registry.
    pub fn db(&self) -> &Arc<Db> {
        &self.inner.db
    }

    /// The active signing key.
    pub fn key(&self) -> &IssuerKey {
        &self.inner.key
    }

    /// The trust list.
    pub fn trust(&self) -> &TrustList {
        &self.inner.trust
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
