//! The registry as the service uses it; SQLite never blocks the async runtime. Reads run on tokio's
//! blocking pool and take a connection from a small pool. Writes go to one writer thread with the one
//! write connection (SQLite has one writer at a time anyway), which commits them in groups: the
//! writes that arrive while a group is being written wait in a queue, and the next group runs all of
//! them in one transaction, each in a savepoint of its own, and flushes the disk once. Every request
//! still gets its answer only after the commit that holds its write, so an acknowledged act is as
//! durable as before; one that fails leaves no trace and does not disturb the others.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rescard_store::{Registry, StoreError};

use super::AppError;

/// How many reads run at once, a processor: the rest wait for a turn without holding a thread. More
/// would only add threads and SQLite connections (each with its page cache) competing for the same
/// cores: 64 connections' worth of blocking threads spent more time switching than checking cards.
const READS_PER_CORE: usize = 2;
/// The most writes one group commit holds (bounds the wait of the first).
const MAX_GROUP: usize = 256;

/// The registry behind the service.
pub struct Db {
    path: PathBuf,
    writes: mpsc::Sender<Job>,
    readers: Mutex<Vec<Registry>>,
    read_turns: tokio::sync::Semaphore,
}

/// A queued write: runs on the writer, says whether it succeeded, and returns how to deliver its
/// result once the group's commit is known.
type Job = Box<dyn FnOnce(&mut Registry) -> (bool, Deliver) + Send>;
/// Sends a write's result to its request, given the outcome of the commit.
type Deliver = Box<dyn FnOnce(&Result<(), String>) + Send>;

impl Db {
    /// Opens the registry at `path`, creating it and migrating its schema.
    pub fn open(path: &Path) -> Result<Arc<Self>, StoreError> {
        let writer = Registry::open(path)?;
        let (writes, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("registry-writer".into())
            .spawn(move || write_groups(writer, queue))
            .map_err(|e| StoreError::Commit(format!("cannot start the writer thread: {e}")))?;
        Ok(Arc::new(Self {
            path: path.to_path_buf(),
            writes,
            readers: Mutex::new(Vec::new()),
            read_turns: tokio::sync::Semaphore::new(max_reads()),
        }))
    }

    /// Runs `f` on a read connection.
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Registry) -> Result<T, StoreError> + Send + 'static,
    {
        // The semaphore is never closed, so waiting for a turn cannot fail.
        let _turn = self.read_turns.acquire().await.ok();
        let db = Arc::clone(self);
        run_blocking(move || db.with_reader(f)).await
    }

    /// Runs a short read, a few lookups by key such as a card's status, on the calling thread: for
    /// the verify endpoint, where handing the work to the blocking pool and back cost more than the
    /// lookup (the pages are in the OS cache; a lookup reads three or four).
    pub fn read_now<T>(
        &self,
        f: impl FnOnce(&Registry) -> Result<T, StoreError>,
    ) -> Result<T, AppError> {
        self.with_reader(f).map_err(AppError::from)
    }

    /// Runs `f` on a pooled read connection (opening one when none is free).
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Registry) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self
            .readers
            .lock()
            .map_err(|_| StoreError::Corrupt("reader pool poisoned".into()))?
            .pop();
        let reader = match pooled {
            Some(r) => r,
            None => Registry::open(&self.path)?,
        };
        let result = f(&reader);
        if let Ok(mut idle) = self.readers.lock() {
            idle.push(reader);
        }
        result
    }

    /// Runs `f` on the write connection, in the next group commit.
    pub async fn write<T, F>(self: &Arc<Self>, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Registry) -> Result<T, StoreError> + Send + 'static,
    {
        let (sender, receiver) = tokio::sync::oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |registry| {
            let result = f(registry);
            let ok = result.is_ok();
            let deliver: Deliver = Box::new(move |committed| {
                // The request may have gone (its client hung up): nothing to tell.
                let _ = sender.send(match (result, committed) {
                    (Ok(value), Ok(())) => Ok(value),
                    (Ok(_), Err(e)) => Err(StoreError::Commit(e.clone())),
                    (Err(e), _) => Err(e),
                });
            });
            (ok, deliver)
        });
        self.writes
            .send(job)
            .map_err(|_| AppError::internal(anyhow::anyhow!("the registry writer has stopped")))?;
        receiver
            .await
            .map_err(|_| {
                AppError::internal(anyhow::anyhow!("the registry write did not complete"))
            })?
            .map_err(AppError::from)
    }
}

/// How many reads may run at once (and so how many read connections there are).
fn max_reads() -> usize {
    READS_PER_CORE * std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The writer thread: waits for writes, and commits each batch of waiting ones as one group, until
/// the service (every sender) is gone.
fn write_groups(mut writer: Registry, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP
            && let Ok(job) = queue.try_recv()
        {
            jobs.push(job);
        }
        let mut delivers = Vec::with_capacity(jobs.len());
        let group = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            writer.group(jobs, |registry, job| {
                // A job that panics is rolled back to its savepoint; its request hears of a
                // failure when its result sender is dropped.
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(registry))) {
                    Ok((ok, deliver)) => {
                        delivers.push(deliver);
                        ok
                    }
                    Err(_) => false,
                }
            })
        }));
        let committed = match group {
            Ok(outcome) => outcome.map_err(|e| e.to_string()),
            // The thread goes on serving the next groups; SQLite rolls back what was left open.
            Err(_) => Err("the group commit failed".to_owned()),
        };
        for deliver in delivers {
            deliver(&committed);
        }
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
