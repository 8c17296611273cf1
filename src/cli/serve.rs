use std::sync::Arc;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use rescard_store::{Registry, Role};

use super::Context;
use super::output::outln;
use crate::server::{AppState, Db, ServiceConfig, serve, shutdown_signal};

/// The name of the first admin token, made when a registry has none.
pub const FIRST_ADMIN: &str = "admin";

/// Makes the first `admin` token if the registry has no token yet, and returns it.
pub fn first_admin_token(
    registry: &mut Registry,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    if registry.has_tokens()? {
        return Ok(None);
    }
    Ok(Some(registry.create_token(
        FIRST_ADMIN,
        Role::Admin,
        actor,
        now,
    )?))
}

/// `rescard serve`: initialises an empty data directory, then serves until SIGINT or SIGTERM.
pub fn run(ctx: &Context, listen: &str, config: ServiceConfig, now: DateTime<Utc>) -> Result<u8> {
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
    if !ctx.keys.exists() {
        let key = ctx.keys.init(now)?;
        tracing::info!(kid = %key.kid, "made the issuer key");
    }
    let mut registry = ctx.create_registry()?;
    if let Some(token) = first_admin_token(&mut registry, &ctx.actor, now)? {
        // The operator's one chance to see it: only its hash is kept.
        outln!("admin token: {token}")?;
    }
    drop(registry);
    let db = Db::open(&ctx.registry_path())?;
    let state = AppState::new(db, ctx.keys.clone(), config, Arc::new(Utc::now))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let shutdown = shutdown_signal().context("installing the SIGINT and SIGTERM handlers")?;
        tracing::info!("rescard listening on http://{}", listener.local_addr()?);
        serve(listener, state, shutdown).await.context("serving")
    })?;
    Ok(0)
}
