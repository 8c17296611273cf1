//! The registry as the service uses it: every call runs on tokio's blocking pool, so SQLite never
//! blocks the async runtime. Writes go through one connection (SQLite has one writer at a time
//! anyway, and `BEGIN IMMEDIATE` keeps them serial); reads take a connection from a small pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rescard_store::{Registry, StoreError};

use super::AppError;

/// How many idle read connections are kept.
const MAX_IDLE_READERS: usize = 16;

/// The registry behind the service.
pub struct Db {
    path: PathBuf,
    writer: Mutex<Registry>,
    readers: Mutex<Vec<Registry>>,
}

impl Db {
    /// Opens the registry at `path`, creating it and migrating its schema.
    pub fn open(path: &Path) -> Result<Arc<Self>, StoreError> {
        let writer = Registry::open(path)?;
        Ok(Arc::new(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        }))
    }

    /// Runs `f` on a read connection.
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Registry) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(self);
        run_blocking(move || {
            let pooled = db
                .readers
                .lock()
                .map_err(|_| StoreError::Corrupt("reader pool poisoned".into()))?
                .pop();
            let reader = match pooled {
                Some(r) => r,
                None => Registry::open(&db.path)?,
            };
            let result = f(&reader);
            if let Ok(mut idle) = db.readers.lock()
                && idle.len() < MAX_IDLE_READERS
            {
                idle.push(reader);
            }
            result
        })
        .await
    }

    /// Runs `f` on the write connection.
    pub async fn write<T, F>(self: &Arc<Self>, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Registry) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(self);
        run_blocking(move || {
            // A panic while holding the lock cannot leave a transaction half done (SQLite rolls it
            // back), so a poisoned lock is still safe to use.
            let mut writer = db
                .writer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut writer)
        })
        .await
    }
}

async fn run_blocking<T, F>(f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(AppError::from),
        Err(e) => Err(AppError::internal(anyhow::anyhow!(
            "registry task failed: {e}"
        ))),
    }
}
