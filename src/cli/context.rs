use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use rescard_store::{Location, Registry};

use super::Cli;
use crate::keystore::{self, KeyDir, KeyStore, Keyring};

/// The registry's file name in the data directory.
pub const REGISTRY_FILE: &str = "registry.sqlite";

/// What every command works on: the data and key directories, the registry and the actor's name.
pub struct Context {
    /// The data directory.
    pub data: PathBuf,
    /// The registry: `--database`, or the SQLite file in the data directory.
    pub database: Location,
    /// The key store: `--keys`, a key directory or an HSM token.
    pub keys: KeyStore,
    /// Who acts.
    pub actor: String,
}

impl Context {
    /// The context the command line names, or what is wrong with its `--database` or `--keys`.
    pub fn new(cli: &Cli) -> Result<Self> {
        let keys = KeyStore::parse(&cli.keys).context("--keys")?;
        let mut ctx = Self::with(&cli.data, keys, cli.actor.clone());
        if let Some(url) = cli.database.as_deref().filter(|u| !u.is_empty()) {
            ctx.database = Location::parse(url).context("--database")?;
        }
        Ok(ctx)
    }

    /// A context on these directories (the keys in a key directory).
    pub fn at(data: &Path, keys: &Path, actor: Option<String>) -> Self {
        Self::with(data, KeyStore::Dir(KeyDir::new(keys)), actor)
    }

    fn with(data: &Path, keys: KeyStore, actor: Option<String>) -> Self {
        let actor = actor.filter(|a| !a.trim().is_empty()).unwrap_or_else(|| {
            format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "operator".into())
            )
        });
        Self {
            data: data.to_path_buf(),
            database: Location::Sqlite(data.join(REGISTRY_FILE)),
            keys,
            actor,
        }
    }

    /// Whether this machine works on a registry (an issuing machine or a replica), rather than
    /// being a checker: an SQLite file in the data directory, or a PostgreSQL database.
    pub fn holds_registry(&self) -> bool {
        match &self.database {
            Location::Sqlite(path) => path.exists(),
            Location::Postgres(_) => true,
        }
    }

    /// Creates the registry: the data directory and the SQLite file, or the schema of an empty
    /// PostgreSQL database (for `init` and `serve`).
    pub fn create_registry(&self) -> Result<Registry> {
        create_registry_at(&self.database)
    }

    /// The registry; it must exist.
    pub fn registry(&self) -> Result<Registry> {
        match self.registry_if_any()? {
            Some(r) => Ok(r),
            None => bail!(
                "no registry in {}: run `rescard init` first (or pass --data, or --database)",
                self.data.display()
            ),
        }
    }

    /// The registry if this machine has one (an issuing machine), `None` on a checker.
    pub fn registry_if_any(&self) -> Result<Option<Registry>> {
        if !self.holds_registry() {
            return Ok(None);
        }
        self.connect().map(Some)
    }

    fn connect(&self) -> Result<Registry> {
        Registry::connect(&self.database).with_context(|| format!("opening {}", self.database))
    }

    /// The issuing machine's issuer keys: the registry's trust list with the private keys of
    /// `--keys`. Only a machine that holds the registry uses them: a checker trusts what it synced
    /// alone (see [`crate::checker`]).
    pub fn keyring(&self, registry: &mut Registry, now: DateTime<Utc>) -> Result<Keyring> {
        keystore::keyring(registry, &self.keys, &self.actor, now)
    }
}

/// Creates the registry at `location`: an SQLite file (its directory made private if new), or the
/// schema of an empty PostgreSQL database; or opens it if it exists.
pub fn create_registry_at(location: &Location) -> Result<Registry> {
    if let Location::Sqlite(path) = location {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        rescard_store::create_private_dir(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    Registry::connect(location).with_context(|| format!("opening {location}"))
}
