//! What the service allows (its [`ServiceConfig`]), and the per-client rate limits: anonymous
//! verifications and failed sign-ins, by client IP address, as token buckets. A client over its
//! limit gets 429 with `Retry-After`. (The bounds on photo checks are applied in `image_check`.)

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// How many buckets are kept before idle ones are dropped.
const MAX_TRACKED_CLIENTS: usize = 100_000;

/// What the service allows a client.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// How long a checker may rely on a status snapshot, in seconds.
    pub status_max_age_seconds: u64,
    /// Verifications without a token, per client and minute.
    pub anonymous_verify_per_minute: u32,
    /// Requests with a token that is not valid, per client and minute.
    pub failed_signin_per_minute: u32,
    /// Applications filed without a token, per client and minute.
    pub anonymous_filing_per_minute: u32,
    /// How long a request may take, reading its body included, before it gets 408.
    pub request_timeout: Duration,
    /// The header timeout and the cap on open connections.
    pub connections: super::ConnectionLimits,
    /// The address the public reaches the service at (`https://…` behind a TLS proxy), if given:
    /// the console's cookie is then `Secure`, and its sign-in form must come from that origin.
    pub public_url: Option<String>,
    /// The most pixels of a photo sent with a token (at most [`rescard_qr::MAX_IMAGE_PIXELS`]).
    pub image_max_pixels: u64,
    /// The most pixels of a photo sent without a token, to the API or the check page (never more
    /// than `image_max_pixels`).
    pub anonymous_image_max_pixels: u64,
    /// How many photos are decoded at once, over all callers; past it, 503 with `Retry-After`.
    pub image_decodes_in_flight: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            status_max_age_seconds: 24 * 3600,
            anonymous_verify_per_minute: 120,
            failed_signin_per_minute: 10,
            anonymous_filing_per_minute: 10,
            // A 5 MB phone photo over a 1 Mbit/s mobile link takes 40 s to arrive.
            request_timeout: Duration::from_secs(120),
            connections: super::ConnectionLimits::default(),
            public_url: None,
            image_max_pixels: rescard_qr::MAX_IMAGE_PIXELS,
            // A 24-megapixel phone photo; phones save 12 megapixels unless told otherwise.
            anonymous_image_max_pixels: 24_000_000,
            // Each decode takes at most about 50 MB: 4 at once stay near 200 MB.
            image_decodes_in_flight: 4,
        }
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// A token bucket per client: `per_minute` requests, refilled evenly over the minute.
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests a minute to each client.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn with_bucket<T>(&self, ip: IpAddr, f: impl FnOnce(&mut Bucket, f64) -> T) -> T {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > MAX_TRACKED_CLIENTS {
            let per_minute = self.per_minute;
            buckets.retain(|_, b| {
                b.updated.elapsed() < Duration::from_secs_f64(60.0 * b.tokens.max(1.0) / per_minute)
            });
        }
        let now = Instant::now();
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.per_minute,
            updated: now,
        });
        let rate = self.per_minute / 60.0;
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * rate)
            .min(self.per_minute);
        bucket.updated = now;
        f(bucket, rate)
    }

    /// Takes one request from `ip`'s allowance; `Err(seconds)` to wait when there is none left.
    pub fn take(&self, ip: IpAddr) -> Result<(), u64> {
        self.with_bucket(ip, |b, rate| {
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                Ok(())
            } else {
                Err(((1.0 - b.tokens) / rate).ceil() as u64)
            }
        })
    }
}

/// The client's IP address, from the connection (unspecified when there is none, as in tests that call
/// the router directly).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The client address of a request.
    pub fn of(parts: &Parts) -> Self {
        Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_allowance_and_then_a_wait() {
        let limiter = RateLimiter::new(3);
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        for _ in 0..3 {
            assert!(limiter.take(a).is_ok());
        }
        let wait = limiter.take(a).expect_err("over the limit");
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(
            limiter.take(b).is_ok(),
            "another client has its own allowance"
        );
    }
}
