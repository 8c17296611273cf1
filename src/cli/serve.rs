use std::sync::Arc;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use rescard_store::{Registry, Role};

use super::Context;
use super::output::outln;
use crate::keystore::Established;
use crate::server::{
    AppState, ConnectionLimits, Db, ServiceConfig, serve, serve_metrics, shutdown_signal,
};

/// `rescard serve`'s options.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "RESCARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Also serve `GET /metrics` without a token on this address (on the main address it needs an
    /// admin token), for a Prometheus scraper on a private network.
    #[arg(long, env = "RESCARD_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// The address the public reaches the service at, e.g. `https://rescard.example.kg` behind a TLS
    /// proxy: with `https://` the console's cookie is `Secure`; sign-in forms must come from it.
    #[arg(long, env = "RESCARD_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// How long checkers may rely on a status snapshot before they mark results stale, in hours.
    #[arg(long, env = "RESCARD_STATUS_MAX_AGE", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=24 * 365))]
    pub status_max_age: u64,
    /// Verifications without a token allowed per client address and minute (then 429).
    #[arg(long, env = "RESCARD_VERIFY_RATE_LIMIT", default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..))]
    pub verify_rate_limit: u32,
    /// Send the applicants' mail through this server: smtp://host:port (STARTTLS with
    /// ?tls=required) or smtps://host:port, with user:password@ if it asks; without it, mail waits
    /// in the outbox.
    #[arg(long, env = "RESCARD_SMTP", requires = "mail_from")]
    pub smtp: Option<String>,
    /// The address the applicants' mail comes from.
    #[arg(long, env = "RESCARD_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Days after a refusal or withdrawal that an application's documents are deleted.
    #[arg(long, env = "RESCARD_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub retention_days: u32,
    /// Applications filed without a token allowed per client address and minute (then 429).
    #[arg(long, env = "RESCARD_FILING_RATE_LIMIT", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub filing_rate_limit: u32,
    /// Requests with a bad token allowed per client address and minute (then 429).
    #[arg(long, env = "RESCARD_SIGNIN_FAILURE_LIMIT", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub signin_failure_limit: u32,
    /// Seconds a request may take, its body included, before it gets 408.
    #[arg(long, env = "RESCARD_REQUEST_TIMEOUT", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Megapixels a photo of a card sent with a token may have (then 413).
    #[arg(long, env = "RESCARD_IMAGE_MAX_MEGAPIXELS", default_value_t = 48, value_parser = clap::value_parser!(u64).range(1..=48))]
    pub image_max_megapixels: u64,
    /// Megapixels a photo sent without a token (API or check page) may have (then 413).
    #[arg(long, env = "RESCARD_ANONYMOUS_IMAGE_MAX_MEGAPIXELS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=48))]
    pub anonymous_image_max_megapixels: u64,
    /// Photos decoded at once, over all callers; each takes up to about 50 MB (then 503).
    #[arg(long, env = "RESCARD_IMAGE_DECODES_IN_FLIGHT", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub image_decodes_in_flight: u16,
    /// Seconds a client has to send a request's headers (on a new connection, or an idle kept-alive
    /// one) before the connection is closed.
    #[arg(long, env = "RESCARD_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub header_timeout: u64,
    /// Connections open at once; past it, new ones wait to be accepted.
    #[arg(long, env = "RESCARD_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
}

impl ServeArgs {
    /// The service's limits these options set.
    pub fn config(&self) -> ServiceConfig {
        ServiceConfig {
            status_max_age_seconds: self.status_max_age.saturating_mul(3600),
            anonymous_verify_per_minute: self.verify_rate_limit,
            anonymous_filing_per_minute: self.filing_rate_limit,
            failed_signin_per_minute: self.signin_failure_limit,
            request_timeout: std::time::Duration::from_secs(self.request_timeout),
            connections: ConnectionLimits {
                header_timeout: std::time::Duration::from_secs(self.header_timeout),
                max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            },
            public_url: self.public_url.clone(),
            image_max_pixels: self.image_max_megapixels * 1_000_000,
            anonymous_image_max_pixels: self.anonymous_image_max_megapixels * 1_000_000,
            image_decodes_in_flight: usize::from(self.image_decodes_in_flight),
        }
    }
}

fn parse_public_url(text: &str) -> Result<String, String> {
    let url = text.trim().trim_end_matches('/');
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("the public URL starts with https:// (or http://)")?;
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err("the public URL needs a host, e.g. https://rescard.example.kg".into());
    }
    Ok(url.to_owned())
}

/// The name of the first admin token, made when a registry has none.
pub const FIRST_ADMIN: &str = "admin";

/// Makes the first `admin` token if the registry has no token yet, and returns it (once, however
/// many replicas start together on a new database).
pub fn first_admin_token(
    registry: &mut Registry,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    Ok(registry.create_first_token(FIRST_ADMIN, Role::Admin, actor, now)?)
}

/// `rescard serve`: initialises an empty data directory, then serves until SIGINT or SIGTERM.
pub fn run(ctx: &Context, args: &ServeArgs, now: DateTime<Utc>) -> Result<u8> {
    let listen = args.listen.as_str();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // A closed log pipe must not take the service down: by default the subscriber reports a failed
        // write with eprintln!, which panics when standard error itself is gone.
        .log_internal_errors(false)
        .init();
    let mut registry = ctx.create_registry()?;
    match crate::keystore::establish(&mut registry, &ctx.keys, true, &ctx.actor, now)? {
        Established::Created(kid) => tracing::info!(%kid, "made the issuer key"),
        Established::Imported(n) => {
            tracing::info!(
                keys = n,
                "took the key directory's keys.json into the registry"
            )
        }
        Established::Already => {}
    }
    if let Some(token) = first_admin_token(&mut registry, &ctx.actor, now)? {
        // The operator's one chance to see it: only its hash is kept.
        outln!("admin token: {token}")?;
    }
    drop(registry);
    let db = Db::open(&ctx.database)?;
    let state = AppState::new(db, ctx.keys.clone(), args.config(), Arc::new(Utc::now))?;
    let mailer = match (&args.smtp, &args.mail_from) {
        (Some(url), Some(from)) => Some(crate::server::jobs::Mailer::new(url, from)?),
        _ => None,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        crate::server::jobs::spawn(state.clone(), mailer, args.retention_days);
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let shutdown = shutdown_signal().context("installing the SIGINT and SIGTERM handlers")?;
        let metrics = match &args.metrics_listen {
            Some(addr) => {
                let metrics_listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("listening on {addr} for metrics"))?;
                tracing::info!(
                    "metrics on http://{}/metrics",
                    metrics_listener.local_addr()?
                );
                Some(tokio::spawn(serve_metrics(
                    metrics_listener,
                    state.clone(),
                    std::future::pending(),
                )))
            }
            None => None,
        };
        tracing::info!("rescard listening on http://{}", listener.local_addr()?);
        let served = serve(listener, state, shutdown).await.context("serving");
        if let Some(task) = metrics {
            task.abort();
        }
        served
    })?;
    Ok(0)
}
