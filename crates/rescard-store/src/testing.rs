//! Test registries on either backend, so that the registry's behaviour tests are written once and
//! run on SQLite and on PostgreSQL ([`on_every_backend!`](crate::on_every_backend)).
//!
//! The PostgreSQL tests need a server: `RESCARD_TEST_POSTGRES` names it, as a URL without a
//! database (`postgres://postgres@127.0.0.1:54329`), and each test gets a new, empty database on
//! it. `scripts/test` starts a throw-away cluster for the run and sets the variable; without it the
//! PostgreSQL tests fail and say so (they are never skipped in silence).

use std::sync::atomic::{AtomicU32, Ordering};

use crate::{Location, Registry};

/// The environment variable naming the test PostgreSQL server.
pub const POSTGRES_ENV: &str = "RESCARD_TEST_POSTGRES";

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// A new SQLite file in a temporary directory.
    Sqlite,
    /// A new database on the test PostgreSQL server.
    Postgres,
}

/// A new, empty registry for one test. Open as many connections to it as the test needs.
pub struct TestRegistry {
    location: Location,
    backend: TestBackend,
    _dir: Option<tempfile::TempDir>,
}

impl TestRegistry {
    /// A new registry on `backend`.
    pub fn new(backend: TestBackend) -> Self {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                Self {
                    location: Location::Sqlite(dir.path().join("registry.sqlite")),
                    backend,
                    _dir: Some(dir),
                }
            }
            TestBackend::Postgres => Self {
                location: Location::Postgres(fresh_database()),
                backend,
                _dir: None,
            },
        }
    }

    /// Where it is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Its backend.
    pub fn backend(&self) -> TestBackend {
        self.backend
    }

    /// A new connection to it.
    pub fn open(&self) -> Registry {
        Registry::connect(&self.location).expect("the test registry opens")
    }
}

/// The test PostgreSQL server's URL, without a database.
pub fn postgres_server() -> String {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => url.trim_end_matches('/').to_owned(),
        _ => panic!(
            "{POSTGRES_ENV} is not set: the PostgreSQL tests need a server. Run the tests with \
             scripts/test, which starts a throw-away cluster, or set {POSTGRES_ENV} to a server's \
             URL without a database (postgres://USER@HOST:PORT) whose user may create databases"
        ),
    }
}

/// Creates a new database on the test server and returns its URL.
pub fn fresh_database() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = postgres_server();
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).expect("randomness");
    let name = format!(
        "rescard_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        hex::encode(random)
    );
    crate::postgres::run_batch(
        &format!("{server}/postgres"),
        &format!("CREATE DATABASE {name}"),
    )
    .unwrap_or_else(|e| {
        panic!("cannot make a database on the test PostgreSQL server {server}: {e}")
    });
    format!("{server}/{name}")
}

/// Writes each test once and runs it on both backends: `fn name(db) { … }` becomes a module `name`
/// with the tests `sqlite` and `postgres`, each given a new [`TestRegistry`] as `db`.
#[macro_export]
macro_rules! on_every_backend {
    ($(#[$meta:meta])* fn $name:ident($db:ident) $body:block $($rest:tt)*) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($db: $crate::testing::TestRegistry) $body

            #[test]
            fn sqlite() {
                run($crate::testing::TestRegistry::new($crate::testing::TestBackend::Sqlite))
            }

            #[test]
            fn postgres() {
                run($crate::testing::TestRegistry::new($crate::testing::TestBackend::Postgres))
            }
        }
        $crate::on_every_backend! { $($rest)* }
    };
    () => {};
}
