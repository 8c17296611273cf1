//! The mail outbox's side of the registry: what a sender claims, marks sent or failed, how much
//! waits, and the reminders to holders whose card is about to end. Messages are written in the
//! transaction of the act they tell of (see [`super::acts`]); a sender takes them from here, so a
//! message is sent at least once and lost never, whatever dies when.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;

use super::{OutboxMessage, mail, store};
use crate::model::AuditAction;
use crate::registry::Registry;
use crate::{Result, audit};

/// How long a claimed message is left to the sender that claimed it before another may try.
pub const OUTBOX_LEASE_SECONDS: i64 = 300;
/// How many days before a card ends its holder is reminded.
pub const REMINDER_DAYS: i64 = 30;

impl Registry {
    /// Takes up to `limit` messages due at `now` for sending, leasing them to this sender.
    pub fn claim_outbox(&mut self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxMessage>> {
        let tx = self.write()?;
        let due = store::claim_outbox(
            &*tx,
            now,
            now + Duration::seconds(OUTBOX_LEASE_SECONDS),
            limit,
        )?;
        tx.commit()?;
        Ok(due)
    }

    /// Message `id` was accepted by the mail server.
    pub fn outbox_sent(&mut self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let tx = self.write()?;
        store::outbox_sent(&*tx, id, now)?;
        tx.commit()
    }

    /// Message `id` failed: tried again after a backoff that doubles with each attempt, from 10
    /// seconds to an hour.
    pub fn outbox_failed(
        &mut self,
        message: &OutboxMessage,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>> {
        let wait = 10i64
            .saturating_mul(1i64 << message.attempts.min(20))
            .min(3600);
        let next = now + Duration::seconds(wait);
        let tx = self.write()?;
        store::outbox_failed(&*tx, message.id, error, next)?;
        tx.commit()?;
        Ok(next)
    }

    /// How many messages wait to be sent, and since when the oldest.
    pub fn outbox_pending(&self) -> Result<(u64, Option<DateTime<Utc>>)> {
        store::outbox_pending(self.storage())
    }

    /// Writes the reminders due `today`: to the applicant of every approved application whose
    /// active card ends within [`REMINDER_DAYS`], once for each last day (an extension reminds
    /// again). How many were written.
    pub fn queue_expiry_reminders(
        &mut self,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let due =
            store::due_reminders(self.storage(), today, today + Duration::days(REMINDER_DAYS))?;
        for (id, last_day) in &due {
            let tx = self.write()?;
            let Some(mut row) = store::get(&*tx, id)? else {
                continue;
            };
            row.reminded_for = Some(*last_day);
            store::update(&*tx, &row)?;
            let (subject, body) = mail::expiry_reminder(&row, *last_day);
            store::insert_outbox(&*tx, &row.email, &subject, &body, now)?;
            audit::append(
                &*tx,
                now,
                "reminders",
                AuditAction::Application,
                row.issued_serial,
                json!({"application": id, "kind": row.kind.as_str(), "act": "remind", "status": row.status.as_str()}),
            )?;
            tx.commit()?;
        }
        Ok(due.len())
    }
}
