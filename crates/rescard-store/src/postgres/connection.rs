//! Talking to the server: connecting (the password from the URL or `PGPASSWORD`, never in an
//! error), what drives each connection's socket, and PostgreSQL's errors as the registry's.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio_postgres::{Client, NoTls};

use crate::{Result, StoreError, redact};

/// The runtime that drives every PostgreSQL connection's socket (one thread, started on first use).
static IO: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();

pub(super) fn io() -> Result<&'static tokio::runtime::Runtime> {
    IO.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("postgres-io")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| StoreError::Unavailable(format!("cannot start the PostgreSQL client: {e}")))
}

/// A connection, and what drives its socket.
pub(crate) struct Connection {
    client: Arc<Client>,
    driver: Driver,
}

enum Driver {
    /// Made on a thread outside any async runtime (the service's writer and follower, the command
    /// line): a runtime of the connection's own, on the calling thread, as the `postgres` crate
    /// does: a call writes to and reads from the socket itself, with no hand-off to another thread.
    Own(tokio::runtime::Runtime),
    /// Made inside an async runtime (the blocking pool, tests): driven on `postgres-io`; a call
    /// waits for its answer with a plain blocking wait.
    Shared,
}

impl std::ops::Deref for Connection {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Connection {
    /// The client, for a call whose answer is read later ([`super::pipeline`]).
    pub(crate) fn shared(&self) -> Arc<Client> {
        Arc::clone(&self.client)
    }

    /// Waits for `future` (a call on this connection) on this thread.
    pub(crate) fn wait<T: Send>(&self, future: impl Future<Output = T> + Send) -> T {
        match &self.driver {
            Driver::Shared => futures_executor::block_on(future),
            // A runtime cannot be entered from inside another one: then wait on a thread of its own.
            Driver::Own(runtime) if tokio::runtime::Handle::try_current().is_ok() => {
                std::thread::scope(|scope| {
                    scope
                        .spawn(|| runtime.block_on(future))
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
            }
            Driver::Own(runtime) => runtime.block_on(future),
        }
    }
}

/// Connects to `url` (libpq style; the password from the URL or `PGPASSWORD`).
pub(super) fn connect_to(url: &str) -> Result<Connection> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Location(format!("{}: {e}", redact(url))))?;
    if config.get_password().is_none()
        && let Ok(password) = std::env::var("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_application_name().is_none() {
        config.application_name("rescard");
    }
    config.connect_timeout(std::time::Duration::from_secs(5));
    let unreachable =
        |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("{}: {e}", redact(url)));
    if tokio::runtime::Handle::try_current().is_err() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| unreachable(&e))?;
        let (client, connection) = runtime
            .block_on(config.connect(NoTls))
            .map_err(|e| unreachable(&e))?;
        // Runs whenever a call waits on this runtime; ends when the client is dropped or the
        // server goes (the client then reports itself closed).
        runtime.spawn(connection);
        return Ok(Connection {
            client: Arc::new(client),
            driver: Driver::Own(runtime),
        });
    }
    let connecting = io()?.spawn(async move {
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(connection);
        Ok::<_, tokio_postgres::Error>(client)
    });
    match futures_executor::block_on(connecting) {
        Ok(Ok(client)) => Ok(Connection {
            client: Arc::new(client),
            driver: Driver::Shared,
        }),
        Ok(Err(e)) => Err(unreachable(&e)),
        Err(e) => Err(unreachable(&e)),
    }
}

/// Runs `sql` (several statements) on the database at `url`, outside any registry: for making and
/// dropping databases, in tests and tools.
pub fn run_batch(url: &str, sql: &str) -> Result<()> {
    let connection = connect_to(url)?;
    connection.wait(connection.batch_execute(sql)).map_err(pg)
}

/// A PostgreSQL error as the registry's: unavailable when the connection or the server is down.
pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    use tokio_postgres::error::SqlState;
    let down = e.is_closed()
        || e.code().is_some_and(|c| {
            c.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                ]
                .contains(c)
        })
        || (e.code().is_none() && e.as_db_error().is_none());
    match e.as_db_error() {
        Some(db) if !down => StoreError::Postgres(match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        }),
        _ if down => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Postgres(e.to_string()),
    }
}
