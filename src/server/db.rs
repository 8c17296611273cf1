//! The registry as the service uses it, on either backend; registry access never blocks the async
//! runtime. The storage interface is synchronous (one connection, used by one thread at a time), and
//! the service bounds it: reads run on tokio's blocking pool, at most [`READS_PER_CORE`] a processor,
//! each on a connection from a small pool. Writes go to one writer thread with one write connection
//! (the registry has one writer at a time anyway: SQLite's lock, PostgreSQL's advisory lock), which
//! commits them in groups: the writes that arrive while a group is being written wait in a queue,
//! and the next group runs all of them in one transaction, each in a savepoint of its own, and
//! flushes once. Every request gets its answer only after the commit that holds its write, so an
//! acknowledged act is durable; one that fails leaves no trace and does not disturb the others. The
//! group commit is per replica: replicas on one PostgreSQL database each have their own, and take
//! the write lock in turn.
//!
//! Checks read no registry at all: they read the [`StatusMirror`], which the writer brings up to date
//! after each group and a follower thread every [`FOLLOW_EVERY`](super::status_mirror::FOLLOW_EVERY),
//! and the [`TrustMirror`], which the follower keeps too.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, Weak};

use rescard_store::storage::Backend;
use rescard_store::{Location, Registry, StoreError};

use super::AppError;
use super::status_mirror::{FOLLOW_EVERY, StatusMirror};
use super::trust_mirror::TrustMirror;

/// How many reads run at once, a processor: the rest wait for a turn without holding a thread. More
/// would only add threads and SQLite connections (each with its page cache) competing for the same
/// cores: 64 connections' worth of blocking threads spent more time switching than checking cards.
const READS_PER_CORE: usize = 2;
/// The most writes one group commit holds (bounds the wait of the first).
const MAX_GROUP: usize = 256;

/// The registry behind the service.
pub struct Db {
    location: Location,
    writes: mpsc::Sender<Job>,
    readers: Mutex<Vec<Registry>>,
    read_turns: tokio::sync::Semaphore,
    mirror: Arc<StatusMirror>,
    trust: TrustMirror,
    /// Whether a short read may run on the calling thread: an SQLite lookup is a few pages in the
    /// OS cache, cheaper than a trip to the blocking pool; a PostgreSQL one is a network round trip.
    inline_reads: bool,
}

/// A queued write: runs on the writer (given `None` when its group could not begin, so it never
/// ran), says whether it succeeded, and returns how to deliver its result once the group's commit
/// is known.
type Job = Box<dyn FnOnce(Option<&mut Registry>) -> (bool, Deliver) + Send>;
/// Sends a write's result to its request, given the outcome of the commit.
type Deliver = Box<dyn FnOnce(&Result<(), Failure>) + Send>;

/// Why a group did not commit, told to each of its writes.
#[derive(Debug, Clone)]
enum Failure {
    /// The database could not be reached: nothing of the group happened.
    Unavailable(String),
    /// The commit failed otherwise.
    Other(String),
}

impl Failure {
    fn of(e: &StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => Self::Unavailable(m.clone()),
            e => Self::Other(e.to_string()),
        }
    }

    fn error(&self) -> StoreError {
        match self {
            Self::Unavailable(m) => StoreError::Unavailable(m.clone()),
            Self::Other(m) => StoreError::Commit(m.clone()),
        }
    }
}

impl Db {
    /// Opens the registry at `location`, creating it and migrating its schema, loads every card's
    /// status into memory and starts following the registry.
    pub fn open(location: &Location) -> Result<Arc<Self>, StoreError> {
        let writer = Registry::connect(location)?;
        let mirror = Arc::new(StatusMirror::load(&writer)?);
        let trust = TrustMirror::load(&writer)?;
        let follower = Registry::connect(location)?;
        let inline_reads = writer.backend() == Backend::Sqlite;
        let (writes, queue) = mpsc::channel();
        let writer_mirror = Arc::clone(&mirror);
        std::thread::Builder::new()
            .name("registry-writer".into())
            .spawn(move || write_groups(writer, queue, &writer_mirror))
            .map_err(|e| StoreError::Commit(format!("cannot start the writer thread: {e}")))?;
        let db = Arc::new(Self {
            location: location.clone(),
            writes,
            readers: Mutex::new(Vec::new()),
            read_turns: tokio::sync::Semaphore::new(max_reads()),
            mirror,
            trust,
            inline_reads,
        });
        let weak = Arc::downgrade(&db);
        std::thread::Builder::new()
            .name("registry-follower".into())
            .spawn(move || follow(&weak, follower))
            .map_err(|e| StoreError::Commit(format!("cannot start the follower thread: {e}")))?;
        Ok(db)
    }

    /// Every card's status, as of the last word from the registry.
    pub fn mirror(&self) -> &StatusMirror {
        &self.mirror
    }

    /// The trust list, as of the last word from the registry.
    pub fn trust(&self) -> &TrustMirror {
        &self.trust
    }

    /// Which backend holds the registry.
    pub fn location(&self) -> &Location {
        &self.location
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

    /// Runs a short read, a lookup or two by key such as a token's: on the calling thread on SQLite,
    /// where handing the work to the blocking pool and back cost more than the lookup (the pages are
    /// in the OS cache; a lookup reads three or four); on the blocking pool on PostgreSQL.
    pub async fn read_short<T, F>(self: &Arc<Self>, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Registry) -> Result<T, StoreError> + Send + 'static,
    {
        if self.inline_reads {
            self.with_reader(f).map_err(AppError::from)
        } else {
            self.read(f).await
        }
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
            None => Registry::connect(&self.location)?,
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
            let result = registry.map(f);
            let ok = matches!(result, Some(Ok(_)));
            let deliver: Deliver = Box::new(move |committed| {
                // The request may have gone (its client hung up): nothing to tell.
                let _ = sender.send(match (result, committed) {
                    (Some(Ok(value)), Ok(())) => Ok(value),
                    (Some(Err(e)), _) => Err(e),
                    (_, Err(failure)) => Err(failure.error()),
                    (None, Ok(())) => Err(StoreError::Commit("the write did not run".into())),
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

/// The follower thread: every [`FOLLOW_EVERY`], brings the status mirror and the trust list up to
/// date with what other replicas and the command line did, until the service is gone. A registry that cannot be reached
/// is asked again at the next turn (its connection is made again when it is back).
fn follow(db: &Weak<Db>, registry: Registry) {
    let mut unreachable = false;
    loop {
        std::thread::sleep(FOLLOW_EVERY);
        let Some(db) = db.upgrade() else { return };
        match db
            .mirror
            .follow(&registry)
            .and_then(|()| db.trust.follow(&registry))
        {
            Ok(()) if unreachable => {
                unreachable = false;
                tracing::info!("the registry can be reached again");
            }
            Ok(()) => {}
            Err(e) if !unreachable => {
                unreachable = true;
                tracing::warn!(error = %e, "cannot follow the registry; checks answer from memory");
            }
            Err(_) => {}
        }
    }
}

/// The writer thread: waits for writes, and commits each batch of waiting ones as one group, until
/// the service (every sender) is gone. After a commit, and before any of its writes is
/// acknowledged, the status mirror takes in what the group changed.
fn write_groups(mut writer: Registry, queue: mpsc::Receiver<Job>, mirror: &StatusMirror) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP
            && let Ok(job) = queue.try_recv()
        {
            jobs.push(job);
        }
        let mut delivers = Vec::with_capacity(jobs.len());
        let mut pending: Vec<Option<Job>> = jobs.into_iter().map(Some).collect();
        let group = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            writer.group(pending.iter_mut(), |registry, slot| {
                let Some(job) = slot.take() else {
                    return false;
                };
                // A job that panics is rolled back to its savepoint; its request hears of a
                // failure when its result sender is dropped.
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Some(registry))))
                {
                    Ok((ok, deliver)) => {
                        delivers.push(deliver);
                        ok
                    }
                    Err(_) => false,
                }
            })
        }));
        let committed = match group {
            Ok(outcome) => outcome.map_err(|e| Failure::of(&e)),
            // The thread goes on serving the next groups; the next group rolls back what was left open.
            Err(_) => Err(Failure::Other("the group commit failed".to_owned())),
        };
        // The writes the group never reached (it could not begin: the database is down) hear why.
        for job in pending.into_iter().flatten() {
            delivers.push(job(None).1);
        }
        if committed.is_ok()
            && let Err(e) = mirror.follow(&writer)
        {
            // Committed all the same; the follower brings the mirror up to date at its next turn.
            tracing::warn!(error = %e, "cannot read back the statuses just written");
        }
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
