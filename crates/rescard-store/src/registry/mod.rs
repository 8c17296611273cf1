//! The registry: what rescard does with its records, once, above the storage seam
//! ([`crate::storage::Storage`]). The acts ([`acts`]) check their rules, allocate serials and ITNs,
//! sign, and write their records with their audit entry in one write transaction; the reads
//! ([`reads`]) turn rows into the typed records, status reports, snapshots and statistics.

mod acts;
mod reads;

pub(crate) use acts::{extend_in, issue_in, replace_in};
pub use reads::StatusChange;
pub(crate) use reads::load_card;

use std::path::Path;

use rescard_core::Reason;

use crate::location::Location;
use crate::sqlite::Sqlite;
use crate::storage::{Backend, Begin, Storage};
use crate::{Result, StoreError};

/// The registry, on one connection to its storage.
pub struct Registry {
    store: Box<dyn Storage>,
}

/// Refuses an act without an actor, or with one a listing could not show as it is.
pub(crate) fn check_actor(actor: &str) -> Result<()> {
    if actor.trim().is_empty() {
        return Err(StoreError::NoActor);
    }
    // The actor is shown in every history and audit listing: the same characters as a reason.
    Reason::check_actor(actor)?;
    Ok(())
}

impl Registry {
    /// Opens (creating if need be) the SQLite registry at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self::on(Box::new(Sqlite::open(path)?)))
    }

    /// Connects to the registry at `location` (creating an SQLite file, or the schema of an empty
    /// PostgreSQL database) and brings its schema up to date.
    pub fn connect(location: &Location) -> Result<Self> {
        Ok(Self::on(match location {
            Location::Sqlite(path) => Box::new(Sqlite::open(path)?),
            Location::Postgres(url) => Box::new(crate::postgres::Postgres::connect(url)?),
        }))
    }

    /// An SQLite registry in memory, for tests.
    pub fn open_in_memory() -> Result<Self> {
        Ok(Self::on(Box::new(Sqlite::open_in_memory()?)))
    }

    /// The registry on a storage backend.
    pub fn on(store: Box<dyn Storage>) -> Self {
        Self { store }
    }

    /// Which backend holds it.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// The storage, for the tests that reach under the registry as an intruder would.
    #[doc(hidden)]
    pub fn storage(&self) -> &dyn Storage {
        &*self.store
    }

    /// Begins a write: a transaction of its own holding the write lock, or, inside
    /// [`Self::group`], a savepoint of the group's transaction.
    pub(crate) fn write(&self) -> Result<Write<'_>> {
        let store = &*self.store;
        let nested = store.in_transaction();
        if nested {
            store.savepoint("write")?;
        } else {
            store.begin(Begin::Write)?;
        }
        Ok(Write {
            store,
            nested,
            done: false,
        })
    }

    /// Runs several writes in one transaction, committed (and flushed to disk) once: a group commit,
    /// so that concurrent acts share one flush. Each job runs in a savepoint of its own; `run` returns
    /// whether it succeeded, and a job that failed leaves no trace while the others stand. The result
    /// is the commit's: when it is an error, none of the jobs happened.
    pub fn group<J>(
        &mut self,
        jobs: impl IntoIterator<Item = J>,
        mut run: impl FnMut(&mut Self, J) -> bool,
    ) -> Result<()> {
        // A group left open by a panic half-way was never acknowledged: `begin` rolls it back.
        self.store.begin(Begin::Write)?;
        let mut outcome = Ok(());
        for job in jobs {
            outcome = self.store.savepoint("job");
            if outcome.is_err() {
                break;
            }
            outcome = if run(self, job) {
                self.store.release("job")
            } else {
                self.store.rollback_to("job")
            };
            if outcome.is_err() {
                break;
            }
        }
        match outcome.and_then(|()| self.store.commit()) {
            Ok(()) => Ok(()),
            Err(e) => {
                // Nothing of the group may remain; a failed rollback leaves the backend to roll back.
                self.store.rollback().ok();
                Err(e)
            }
        }
    }

    /// Runs `f` inside one read transaction: every read in it sees the registry as of one moment,
    /// and the backend takes its locks or snapshot once instead of once a statement (a batch check
    /// reads 10,000 rows).
    pub fn consistent<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Self) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        if self.store.in_transaction() {
            return f(self);
        }
        self.store.begin(Begin::Read)?;
        let result = f(self);
        // Nothing was written: ending the transaction either way only releases the snapshot.
        self.store.rollback().ok();
        result
    }
}

/// A write in progress: see [`Registry::write`]. Rolled back when dropped without a commit.
pub(crate) struct Write<'a> {
    store: &'a (dyn Storage + 'static),
    nested: bool,
    done: bool,
}

impl Write<'_> {
    /// Keeps the write: commits its transaction, or releases its savepoint.
    pub(crate) fn commit(mut self) -> Result<()> {
        self.done = true;
        if self.nested {
            self.store.release("write")
        } else {
            self.store.commit()
        }
    }
}

impl std::ops::Deref for Write<'_> {
    type Target = dyn Storage;

    fn deref(&self) -> &Self::Target {
        self.store
    }
}

impl Drop for Write<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Not committed: undo what it wrote. Should this fail, the group's own savepoint for the
            // job (rolled back when the job fails), or the rollback of the transaction, undoes it.
            let undo = if self.nested {
                self.store.rollback_to("write")
            } else {
                self.store.rollback()
            };
            drop(undo);
        }
    }
}

#[cfg(test)]
mod tests;
