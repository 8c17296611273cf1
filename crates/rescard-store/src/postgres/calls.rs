//! How the backend talks over its one connection: the connection made again when it was lost, calls
//! retried once outside a transaction, prepared statements kept, savepoints deferred to the next
//! statement's round trip, and writes sent without waiting ([`super::pipeline`]).

use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

use super::connection::{Connection, connect_to, pg};
use super::pipeline::Owned;
use super::{Params, Postgres};
use crate::{Result, StoreError};

impl Postgres {
    /// The connection, made again first if it was lost outside a transaction.
    pub(super) fn client(&self) -> Result<std::cell::Ref<'_, Connection>> {
        let lost = self.client.borrow().as_ref().is_none_or(|c| c.is_closed());
        if lost {
            if self.in_transaction.get() {
                return Err(StoreError::Unavailable(
                    "the connection was lost in the middle of a transaction".into(),
                ));
            }
            self.statements.borrow_mut().clear();
            *self.client.borrow_mut() = Some(connect_to(&self.url)?);
        }
        std::cell::Ref::filter_map(self.client.borrow(), Option::as_ref)
            .map_err(|_| StoreError::Unavailable("no connection".into()))
    }

    /// Runs `call` on the connection. Outside a transaction, a connection found lost on the way
    /// (its socket closed while nothing watched it) is made again and the call tried once more:
    /// nothing was done by the first try.
    pub(super) fn run<T>(
        &self,
        call: impl Fn(&Connection) -> std::result::Result<T, tokio_postgres::Error>,
    ) -> Result<T> {
        self.pipeline.check()?;
        let deferred = std::mem::take(&mut *self.deferred.borrow_mut());
        if !deferred.is_empty() || self.pipeline.busy() {
            // Inside a transaction (savepoints and sent writes are): no retry. The deferred
            // statements go first, queued on the connection before the call, so that they share its
            // round trip; then the answers of everything sent before it are checked.
            let client = self.client()?;
            if !deferred.is_empty() {
                self.pipeline.send_batch(client.shared(), deferred)?;
            }
            let outcome = call(&client);
            // When a write sent earlier failed, the call failed for that reason.
            self.pipeline.settle(&client)?;
            return outcome.map_err(pg);
        }
        let (first, lost) = {
            let client = self.client()?;
            let outcome = call(&client);
            let lost = outcome.is_err() && client.is_closed();
            (outcome, lost)
        };
        match first {
            // `client` makes the connection again, since this one is closed.
            Err(_) if lost && !self.in_transaction.get() => call(&*self.client()?).map_err(pg),
            other => other.map_err(pg),
        }
    }

    pub(super) fn prepared(
        &self,
        client: &Connection,
        sql: &'static str,
    ) -> std::result::Result<Statement, tokio_postgres::Error> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.wait(client.prepare(sql))?;
        self.statements.borrow_mut().insert(sql, statement.clone());
        Ok(statement)
    }

    pub(super) fn query(&self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>> {
        self.run(|c| {
            let statement = self.prepared(c, sql)?;
            c.wait(c.query(&statement, params))
        })
    }

    pub(super) fn query_opt(&self, sql: &'static str, params: Params<'_>) -> Result<Option<Row>> {
        self.run(|c| {
            let statement = self.prepared(c, sql)?;
            c.wait(c.query_opt(&statement, params))
        })
    }

    pub(super) fn query_one(&self, sql: &'static str, params: Params<'_>) -> Result<Row> {
        self.run(|c| {
            let statement = self.prepared(c, sql)?;
            c.wait(c.query_one(&statement, params))
        })
    }

    pub(super) fn execute(&self, sql: &'static str, params: Params<'_>) -> Result<u64> {
        self.run(|c| {
            let statement = self.prepared(c, sql)?;
            c.wait(c.execute(&statement, params))
        })
    }

    /// Runs a write whose answer nothing needs: inside a write transaction it is sent without
    /// waiting ([`pipeline`]), elsewhere it runs at once.
    pub(super) fn send(&self, sql: &'static str, params: Owned) -> Result<()> {
        if !self.held.writing() {
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
            return self.execute(sql, &refs).map(drop);
        }
        self.pipeline.check()?;
        let client = self.client()?;
        let deferred = std::mem::take(&mut *self.deferred.borrow_mut());
        if !deferred.is_empty() {
            self.pipeline.send_batch(client.shared(), deferred)?;
        }
        let statement = self.prepared(&client, sql).map_err(pg)?;
        self.pipeline.send(client.shared(), statement, params)
    }

    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        self.run(|c| c.wait(c.batch_execute(sql)))
    }

    pub(super) fn defer(&self, sql: &str) {
        let mut deferred = self.deferred.borrow_mut();
        deferred.push_str(sql);
        deferred.push_str("; ");
    }

    /// Sends the deferred statements now (before a statement that does not go through `run`).
    pub(super) fn flush(&self) -> Result<()> {
        if self.deferred.borrow().is_empty() {
            return Ok(());
        }
        self.run(|_| Ok(()))
    }
}
