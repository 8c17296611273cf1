//! The acts on cards: issue, extend, suspend, reinstate, revoke, replace. Each checks its rules
//! ([`rescard_core::rules`]), then writes its record and its audit entry in one write transaction:
//! an act that is refused writes nothing, and two writers never allocate the same serial or ITN.

use chrono::{DateTime, NaiveDate, Utc};
use rescard_core::domain::date::issuer_date;
use rescard_core::rules::{self, Act};
use rescard_core::{Card, CardState, IssuerKey, Itn, Reason, Serial, ValidityPeriod, codec};
use serde_json::json;

use super::{Registry, check_actor};
use crate::audit;
use crate::model::{AuditAction, CardRecord, IssuedCard, NewCard};
use crate::storage::{Counter, NewCardRow, NewHolder, Storage};
use crate::{Result, StoreError};

impl Registry {
    /// Issues a card: assigns a serial (and an ITN, unless the passport already has one), signs it with
    /// `key`, and records it with its audit entry.
    pub fn issue(
        &mut self,
        new: &NewCard,
        key: &IssuerKey,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<IssuedCard> {
        check_actor(actor)?;
        rules::check_new_period(new.validity, issuer_date(now))?;
        let tx = self.write()?;
        let issued = issue_in(&*tx, new, key, actor, now)?;
        tx.commit()?;
        Ok(issued)
    }

    /// Issues many cards in one transaction, each all or nothing (a savepoint per card): a card the
    /// rules refuse gets its error in the result and leaves no trace, the others are issued. One
    /// commit for the lot is what makes a 100,000-row import fast. A storage failure refuses the lot.
    pub fn issue_batch(
        &mut self,
        news: &[NewCard],
        key: &IssuerKey,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<IssuedCard>>> {
        check_actor(actor)?;
        let today = issuer_date(now);
        let tx = self.write()?;
        let mut out = Vec::with_capacity(news.len());
        for new in news {
            if let Err(e) = rules::check_new_period(new.validity, today) {
                out.push(Err(e.into()));
                continue;
            }
            tx.savepoint("card")?;
            match issue_in(&*tx, new, key, actor, now) {
                Ok(issued) => {
                    tx.release("card")?;
                    out.push(Ok(issued));
                }
                Err(e) if e.is_storage() => return Err(e),
                Err(e) => {
                    tx.rollback_to("card")?;
                    out.push(Err(e));
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Extends a card's validity to `until`: a new period from the day after the current one ends.
    pub fn extend(
        &mut self,
        serial: Serial,
        until: NaiveDate,
        reason: &Reason,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CardRecord> {
        check_actor(actor)?;
        let tx = self.write()?;
        extend_in(&*tx, serial, until, reason, actor, now)?;
        tx.commit()?;
        self.card(serial)
    }

    /// Suspends an active card.
    pub fn suspend(
        &mut self,
        serial: Serial,
        reason: &Reason,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CardRecord> {
        self.change_state(Act::Suspend, serial, Some(reason), actor, now)
    }

    /// Lifts a suspension. The reason is optional.
    pub fn reinstate(
        &mut self,
        serial: Serial,
        reason: Option<&Reason>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CardRecord> {
        self.change_state(Act::Reinstate, serial, reason, actor, now)
    }

    /// Revokes a card for good.
    pub fn revoke(
        &mut self,
        serial: Serial,
        reason: &Reason,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CardRecord> {
        self.change_state(Act::Revoke, serial, Some(reason), actor, now)
    }

    fn change_state(
        &mut self,
        act: Act,
        serial: Serial,
        reason: Option<&Reason>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CardRecord> {
        check_actor(actor)?;
        let reason = reason.map(AsRef::<str>::as_ref);
        let tx = self.write()?;
        let state = tx
            .card_state(serial)?
            .ok_or(StoreError::NotFound(serial))?
            .state;
        let next = rules::transition(act, state)?;
        record_transition(&*tx, serial, state, next, reason, actor, now)?;
        let action = match act {
            Act::Suspend => AuditAction::Suspend,
            Act::Reinstate => AuditAction::Reinstate,
            Act::Revoke => AuditAction::Revoke,
            Act::Replace => AuditAction::Replace,
            Act::Extend => AuditAction::Extend,
        };
        audit::append(
            &*tx,
            now,
            actor,
            action,
            Some(serial),
            json!({"from": state.as_str(), "to": next.as_str(), "reason": reason}),
        )?;
        tx.commit()?;
        self.card(serial)
    }

    /// Replaces a lost or damaged card: a new card under a new serial for the current period, signed
    /// with `key`; the old card reports `replaced`.
    pub fn replace(
        &mut self,
        serial: Serial,
        reason: &Reason,
        key: &IssuerKey,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<IssuedCard> {
        check_actor(actor)?;
        let tx = self.write()?;
        let issued = replace_in(&*tx, serial, reason, key, actor, now)?;
        tx.commit()?;
        Ok(issued)
    }
}

/// Extends card `serial` inside a write (see [`Registry::extend`]).
pub(crate) fn extend_in(
    tx: &dyn Storage,
    serial: Serial,
    until: NaiveDate,
    reason: &Reason,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let reason = reason.as_ref();
    let card = tx.card_state(serial)?.ok_or(StoreError::NotFound(serial))?;
    let today = issuer_date(now);
    let period = rules::extension(card.document, card.state, card.valid_until, until, today)?;
    tx.set_valid_until(serial, period.until(), now)?;
    bump_status(tx, serial)?;
    tx.insert_extension(serial, period.from(), period.until(), reason, actor, now)?;
    audit::append(
        tx,
        now,
        actor,
        AuditAction::Extend,
        Some(serial),
        json!({"valid_from": period.from(), "valid_until": period.until(), "reason": reason}),
    )
}

/// Replaces card `serial` inside a write (see [`Registry::replace`]).
pub(crate) fn replace_in(
    tx: &dyn Storage,
    serial: Serial,
    reason: &Reason,
    key: &IssuerKey,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<IssuedCard> {
    let reason = reason.as_ref();
    let old = super::reads::load_card(tx, serial)?;
    let standing = tx.card_state(serial)?.ok_or(StoreError::NotFound(serial))?;
    let (state, valid_until) = (standing.state, standing.valid_until);
    rules::transition(Act::Replace, state)?;
    if issuer_date(now) > valid_until {
        return Err(rules::RuleError::Expired(valid_until).into());
    }
    let period = ValidityPeriod::new(old.period_from, valid_until)?;
    let new_serial = next_serial(tx)?;
    let card = Card::new(
        new_serial,
        old.card.itn(),
        old.card.holder().clone(),
        old.card.permit(),
        period,
        old.card.portrait_digest(),
    )?
    .with_document(old.card.document())?;
    let payload = codec::encode(&card, now, key)?;
    tx.insert_card(&NewCardRow {
        card: &card,
        payload: &payload,
        kid: key.kid(),
        portrait: old.portrait.as_ref(),
        replaces: Some(serial),
        issued_by: actor,
        issued_at: now,
    })?;
    tx.set_replaced_by(serial, new_serial)?;
    record_transition(
        tx,
        serial,
        state,
        CardState::Replaced,
        Some(reason),
        actor,
        now,
    )?;
    audit::append(
        tx,
        now,
        actor,
        AuditAction::Replace,
        Some(serial),
        json!({"replaced_by": new_serial.to_string(), "valid_from": period.from(), "valid_until": period.until(), "reason": reason, "kid": key.kid().to_string()}),
    )?;
    Ok(IssuedCard { card, payload })
}

/// Issues one card inside a write: the holder (and ITN), the serial, the signed payload, the record
/// and its audit entry.
pub(crate) fn issue_in(
    tx: &dyn Storage,
    new: &NewCard,
    key: &IssuerKey,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<IssuedCard> {
    let itn = holder_for(tx, new, now)?;
    let serial = next_serial(tx)?;
    let card = Card::new(
        serial,
        itn,
        new.holder.clone(),
        new.permit,
        new.validity,
        new.portrait.as_ref().map(rescard_core::Portrait::digest),
    )?
    .with_document(new.document)?;
    let payload = codec::encode(&card, now, key)?;
    tx.insert_card(&NewCardRow {
        card: &card,
        payload: &payload,
        kid: key.kid(),
        portrait: new.portrait.as_ref(),
        replaces: None,
        issued_by: actor,
        issued_at: now,
    })?;
    audit::append(
        tx,
        now,
        actor,
        AuditAction::Issue,
        Some(serial),
        json!({"valid_from": new.validity.from(), "valid_until": new.validity.until(), "permit": new.permit.as_str(), "kid": key.kid().to_string()}),
    )?;
    Ok(IssuedCard { card, payload })
}

/// The holder's ITN for an application: the passport's existing holder's, or a new holder's with a
/// freshly allocated ITN: the next sequence among holders born that day.
fn holder_for(tx: &dyn Storage, new: &NewCard, now: DateTime<Utc>) -> Result<Itn> {
    let nationality = new.holder.nationality.to_string();
    let dob = new.holder.date_of_birth;
    let passport = new.passport_number.as_ref().map(AsRef::as_ref);
    let (existing, last) = tx.holder_lookup(&nationality, passport, dob)?;
    if let Some(existing) = existing {
        if existing.date_of_birth != dob {
            return Err(StoreError::HolderMismatch { nationality });
        }
        return Ok(existing.itn);
    }
    let sequence = last.unwrap_or(0).saturating_add(1);
    let itn = Itn::assign(dob, sequence)?;
    tx.insert_holder(&NewHolder {
        itn,
        date_of_birth: dob,
        itn_sequence: sequence,
        nationality: &nationality,
        passport_number: new.passport_number.as_ref().map(AsRef::as_ref),
        created_at: now,
    })?;
    Ok(itn)
}

fn next_serial(tx: &dyn Storage) -> Result<Serial> {
    let value = tx.next(Counter::Serial)?;
    let sequence = u32::try_from(value)
        .map_err(|_| StoreError::Corrupt("serial counter out of range".into()))?;
    Ok(Serial::from_sequence(sequence)?)
}

/// Gives `serial` the next status sequence number: its status now differs from the last snapshot's.
fn bump_status(tx: &dyn Storage, serial: Serial) -> Result<()> {
    let seq = tx.next(Counter::Status)?;
    tx.set_status_seq(serial, seq)
}

fn record_transition(
    tx: &dyn Storage,
    serial: Serial,
    from: CardState,
    to: CardState,
    reason: Option<&str>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    // A reinstatement clears the suspension's reason; other acts record theirs.
    let state_reason = if to == CardState::Active {
        None
    } else {
        reason
    };
    tx.set_state(serial, to, state_reason, now)?;
    bump_status(tx, serial)?;
    tx.insert_state_change(serial, from, to, reason, actor, now)
}
