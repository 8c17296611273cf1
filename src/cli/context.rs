use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use rescard_core::TrustList;
use rescard_store::Registry;

use super::Cli;
use crate::keystore::KeyDir;

/// The registry's file name in the data directory.
pub const REGISTRY_FILE: &str = "registry.sqlite";

/// What every command works on: the data and key directories and the actor's name.
pub struct Context {
    /// The data directory.
    pub data: PathBuf,
    /// The key directory.
    pub keys: KeyDir,
    /// Who acts.
    pub actor: String,
}

impl Context {
    /// The context the command line names.
    pub fn new(cli: &Cli) -> Self {
        Self::at(&cli.data, &cli.keys, cli.actor.clone())
    }

    /// A context on these directories.
    pub fn at(data: &Path, keys: &Path, actor: Option<String>) -> Self {
        let actor = actor.filter(|a| !a.trim().is_empty()).unwrap_or_else(|| {
            format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "operator".into())
            )
        });
        Self {
            data: data.to_path_buf(),
            keys: KeyDir::new(keys),
            actor,
        }
    }

    /// The registry file.
    pub fn registry_path(&self) -> PathBuf {
        self.data.join(REGISTRY_FILE)
    }

    /// Creates the data directory and the registry (for `init`).
    pub fn create_registry(&self) -> Result<Registry> {
        rescard_store::create_private_dir(&self.data)
            .with_context(|| format!("creating {}", self.data.display()))?;
        Ok(Registry::open(&self.registry_path())?)
    }

    /// The registry; it must exist.
    pub fn registry(&self) -> Result<Registry> {
        match self.registry_if_any()? {
            Some(r) => Ok(r),
            None => bail!(
                "no registry in {}: run `rescard init` first (or pass --data)",
                self.data.display()
            ),
        }
    }

    /// The registry if this machine has one (an issuing machine), `None` on a checker.
    pub fn registry_if_any(&self) -> Result<Option<Registry>> {
        let path = self.registry_path();
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(
            Registry::open(&path).with_context(|| format!("opening {}", path.display()))?,
        ))
    }

    /// The issuing machine's own issuer keys (`--keys`). Only a machine that holds the registry uses
    /// them: a checker trusts what it synced alone (see [`crate::checker`]).
    pub fn own_trust_list(&self) -> Result<TrustList> {
        self.keys.trust_list()?.with_context(|| {
            format!(
                "no trusted issuer keys: this machine holds a registry in {} but no issuer keys in {} (pass --keys)",
                self.data.display(),
                self.keys.trust_path().display()
            )
        })
    }
}
