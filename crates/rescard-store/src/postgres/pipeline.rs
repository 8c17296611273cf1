//! What a write transaction does without waiting for the server.
//!
//! A write transaction holds the registry's one write lock, so no other writer moves the counters
//! or the audit chain's head while it runs: it reads each once and moves it on in memory ([`Held`]),
//! with a copy kept at each savepoint so that rolling one back restores them, and writes a moved
//! counter back once, with the COMMIT (updating one row again and again in one transaction makes
//! PostgreSQL walk an ever longer chain of its versions). And a write whose
//! answer nothing needs (an insert, an update of a row the transaction knows) is sent at once without
//! waiting for it ([`Pipeline`]): it travels to the server with the next statement that must wait,
//! in the same round trip, and its outcome is checked when that statement's answer is in (the server
//! answers in order). With the holder looked up in one statement, an issuance that waited for seven
//! round trips waits for one.
//!
//! A sent write that failed has lost the transaction: PostgreSQL refuses every later statement until
//! the transaction rolls back, and a COMMIT then rolls back without an error. So the failure is
//! sticky: every later call fails with it until the transaction ends, a savepoint cannot be rolled
//! back to instead, and a group commit fails as a whole, acknowledging none of its acts.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

use super::connection::{Connection, pg};
use crate::storage::Counter;
use crate::{Result, StoreError};

/// A statement's parameters, owned, so that the statement can be sent and its answer read later.
pub(super) type Owned = Vec<Box<dyn ToSql + Send + Sync>>;

type Sent = Pin<Box<dyn Future<Output = std::result::Result<(), tokio_postgres::Error>> + Send>>;

/// The writes sent and not yet checked. See the module documentation.
#[derive(Default)]
pub(super) struct Pipeline {
    sent: RefCell<Vec<Sent>>,
    failed: RefCell<Option<String>>,
}

impl Pipeline {
    /// Queues `future` (a call on the connection) on the connection now: its request goes out with
    /// the next round trip. Its answer is checked by [`Self::settle`].
    fn push(&self, mut future: Sent) -> Result<()> {
        // The first poll encodes the request and queues it; it then waits for the answer.
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(outcome) => outcome.map_err(pg),
            Poll::Pending => {
                self.sent.borrow_mut().push(future);
                Ok(())
            }
        }
    }

    /// Sends `statement` with `params` without waiting for its answer.
    pub(super) fn send(
        &self,
        client: Arc<Client>,
        statement: Statement,
        params: Owned,
    ) -> Result<()> {
        self.push(Box::pin(async move {
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
            client.execute(&statement, &refs).await.map(drop)
        }))
    }

    /// Sends `sql` (statements without parameters, such as savepoints) without waiting.
    pub(super) fn send_batch(&self, client: Arc<Client>, sql: String) -> Result<()> {
        self.push(Box::pin(async move { client.batch_execute(&sql).await }))
    }

    /// Whether writes were sent and not yet checked.
    pub(super) fn busy(&self) -> bool {
        !self.sent.borrow().is_empty()
    }

    /// Checks the answers of every write sent, in order (they came before the answer of whatever was
    /// waited for last; one not yet in is waited for). The first failure is kept: see [`Self::check`].
    pub(super) fn settle(&self, connection: &Connection) -> Result<()> {
        let sent = std::mem::take(&mut *self.sent.borrow_mut());
        for mut future in sent {
            let outcome = match future
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
            {
                Poll::Ready(outcome) => outcome,
                Poll::Pending => connection.wait(future),
            };
            if let Err(e) = outcome {
                let error = pg(e);
                let mut failed = self.failed.borrow_mut();
                if failed.is_none() {
                    *failed = Some(error.to_string());
                }
                // The later writes failed for the same reason: no need to read their answers.
                drop(failed);
                return Err(error);
            }
        }
        self.check()
    }

    /// Fails if a write sent in this transaction failed.
    pub(super) fn check(&self) -> Result<()> {
        match &*self.failed.borrow() {
            Some(why) => Err(StoreError::Commit(format!(
                "an earlier write of this transaction failed, so none of it is kept: {why}"
            ))),
            None => Ok(()),
        }
    }

    /// Forgets everything (the transaction ended): answers not read are dropped with their futures.
    pub(super) fn clear(&self) {
        self.sent.borrow_mut().clear();
        *self.failed.borrow_mut() = None;
    }
}

/// What the write transaction knows of the counters and the audit head.
#[derive(Debug, Clone, Default)]
struct Known {
    counters: [Option<u64>; Counter::ALL.len()],
    /// Which counters were moved on and not yet written back.
    moved: [bool; Counter::ALL.len()],
    audit_head: Option<Option<(u64, String)>>,
}

/// The counters and the audit head as the write transaction has moved them, with a copy for each
/// open savepoint. Outside a write transaction it holds nothing, and every read goes to the server.
#[derive(Default)]
pub(super) struct Held {
    writing: Cell<bool>,
    known: RefCell<Known>,
    saved: RefCell<Vec<(&'static str, Known)>>,
}

fn index(counter: Counter) -> usize {
    Counter::ALL
        .iter()
        .position(|c| *c == counter)
        .unwrap_or_default()
}

impl Held {
    /// A transaction begins (`writing`: it holds the write lock) or ends (`false`).
    pub(super) fn reset(&self, writing: bool) {
        self.writing.set(writing);
        *self.known.borrow_mut() = Known::default();
        self.saved.borrow_mut().clear();
    }

    /// Forgets what it knows (something wrote behind the registry's back: a raw statement, an import).
    pub(super) fn forget(&self) {
        *self.known.borrow_mut() = Known::default();
    }

    pub(super) fn savepoint(&self, name: &'static str) {
        if self.writing.get() {
            let known = self.known.borrow().clone();
            self.saved.borrow_mut().push((name, known));
        }
    }

    /// The newest savepoint named `name` and every later one end; what they changed stays.
    pub(super) fn release(&self, name: &'static str) {
        let mut saved = self.saved.borrow_mut();
        if let Some(i) = saved.iter().rposition(|(n, _)| *n == name) {
            saved.truncate(i);
        }
    }

    /// Back to the newest savepoint named `name`, which then ends, as later ones do (the backend
    /// releases a savepoint it rolled back to).
    pub(super) fn rollback_to(&self, name: &'static str) {
        let mut saved = self.saved.borrow_mut();
        if let Some(i) = saved.iter().rposition(|(n, _)| *n == name) {
            *self.known.borrow_mut() = saved[i].1.clone();
            saved.truncate(i);
        }
    }

    /// Whether the transaction holds the write lock.
    pub(super) fn writing(&self) -> bool {
        self.writing.get()
    }

    pub(super) fn counter(&self, counter: Counter) -> Option<u64> {
        self.known.borrow().counters[index(counter)]
    }

    /// The counter's value as stored.
    pub(super) fn set_counter(&self, counter: Counter, value: u64) {
        if self.writing.get() {
            let mut known = self.known.borrow_mut();
            known.counters[index(counter)] = Some(value);
            known.moved[index(counter)] = false;
        }
    }

    /// The counter moved on to `value` here, to be written back before the commit.
    pub(super) fn move_counter(&self, counter: Counter, value: u64) {
        if self.writing.get() {
            let mut known = self.known.borrow_mut();
            known.counters[index(counter)] = Some(value);
            known.moved[index(counter)] = true;
        }
    }

    /// The counters moved on and not written back, with their values; from now on they count as
    /// written.
    pub(super) fn take_moved(&self) -> Vec<(Counter, u64)> {
        let mut known = self.known.borrow_mut();
        let mut moved = Vec::new();
        for (i, counter) in Counter::ALL.into_iter().enumerate() {
            if let (true, Some(value)) = (known.moved[i], known.counters[i]) {
                moved.push((counter, value));
                known.moved[i] = false;
            }
        }
        moved
    }

    pub(super) fn audit_head(&self) -> Option<Option<(u64, String)>> {
        self.known.borrow().audit_head.clone()
    }

    pub(super) fn set_audit_head(&self, head: Option<(u64, String)>) {
        if self.writing.get() {
            self.known.borrow_mut().audit_head = Some(head);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn savepoints_restore_what_the_transaction_knew() {
        let held = Held::default();
        held.set_counter(Counter::Serial, 5);
        assert_eq!(
            held.counter(Counter::Serial),
            None,
            "nothing held outside a write"
        );
        held.reset(true);
        held.set_counter(Counter::Serial, 5);
        held.savepoint("job");
        held.set_counter(Counter::Serial, 6);
        held.set_audit_head(Some((1, "a".into())));
        held.rollback_to("job");
        assert_eq!(held.counter(Counter::Serial), Some(5));
        assert_eq!(held.audit_head(), None);
        assert!(
            held.saved.borrow().is_empty(),
            "rolled back to, a savepoint ends"
        );
        held.move_counter(Counter::Serial, 6);
        held.savepoint("job");
        held.savepoint("write");
        held.move_counter(Counter::Status, 1);
        held.release("job");
        assert!(
            held.saved.borrow().is_empty(),
            "a release ends the later savepoints too"
        );
        assert_eq!(
            (held.counter(Counter::Serial), held.counter(Counter::Status)),
            (Some(6), Some(1))
        );
        held.savepoint("job");
        held.move_counter(Counter::Keys, 1);
        held.rollback_to("job");
        assert_eq!(
            held.take_moved(),
            [(Counter::Serial, 6), (Counter::Status, 1)],
            "what was rolled back is not written back"
        );
        assert!(held.take_moved().is_empty());
        held.reset(false);
        assert_eq!(held.counter(Counter::Serial), None);
    }
}
