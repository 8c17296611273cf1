//! Issuance rules: which registry acts are allowed, and what they produce. Pure functions of the
//! card's current state and today's date; the registry applies them inside its transaction.

use chrono::{Duration, NaiveDate};

use crate::domain::{DocumentType, DomainError, ValidityPeriod};
use crate::verify::CardState;

/// How long after its validity ends a card may still be extended, in days. Past this the holder must
/// apply for a new card.
pub const EXTENSION_GRACE_DAYS: i64 = 30;

/// How far ahead of today a new card's validity may begin, in days.
pub const MAX_DAYS_BEFORE_START: i64 = 180;

/// A registry act on an existing card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Add a period of validity.
    Extend,
    /// Suspend (reversible).
    Suspend,
    /// Lift a suspension.
    Reinstate,
    /// Revoke (final).
    Revoke,
    /// Re-issue under a new serial (lost or damaged card).
    Replace,
}

impl Act {
    /// Every act, in the order a card page offers them.
    pub const ALL: [Act; 5] = [
        Self::Extend,
        Self::Reinstate,
        Self::Suspend,
        Self::Replace,
        Self::Revoke,
    ];

    /// The act named by its verb.
    pub fn parse(verb: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == verb)
    }

    /// Whether the act needs a reason (an extension and a reinstatement may go without one).
    pub fn needs_reason(self) -> bool {
        !matches!(self, Self::Extend | Self::Reinstate)
    }

    /// The acts a `document` in `state` allows, by [`transition`] (and only a resident card is
    /// extended, by [`extension`]).
    pub fn allowed(state: CardState, document: DocumentType) -> impl Iterator<Item = Act> {
        Self::ALL.into_iter().filter(move |a| {
            transition(*a, state).is_ok()
                && (*a != Act::Extend || document == DocumentType::ResidentCard)
        })
    }

    /// Whether the act on a card in `state` leaves it in a state no act leaves (revoked, replaced).
    pub fn is_final(self, state: CardState) -> bool {
        transition(self, state).is_ok_and(|after| {
            after != state
                && Self::allowed(after, DocumentType::ResidentCard)
                    .next()
                    .is_none()
        })
    }

    /// The verb, for messages and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Extend => "extend",
            Self::Suspend => "suspend",
            Self::Reinstate => "reinstate",
            Self::Revoke => "revoke",
            Self::Replace => "replace",
        }
    }
}

/// Why an act was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The act is not allowed in the card's state.
    #[error("cannot {} a card that is {}", act.as_str(), state.as_str())]
    WrongState {
        /// The act.
        act: Act,
        /// The card's state.
        state: CardState,
    },
    /// The document type is not extended.
    #[error("an interim permit ({0}) is not extended: apply for a resident card before it ends")]
    NotExtendable(DocumentType),
    /// The card expired too long ago to be extended.
    #[error(
        "the card expired on {until}; extensions are possible until {last_day} ({EXTENSION_GRACE_DAYS} days of grace), so a new card must be issued"
    )]
    PastGrace {
        /// Current last day of validity.
        until: NaiveDate,
        /// Last day an extension was possible.
        last_day: NaiveDate,
    },
    /// A replacement of a card that is no longer valid.
    #[error("the card expired on {0}: issue a new card instead of a replacement")]
    Expired(NaiveDate),
    /// The new end is not after the current one.
    #[error("valid_until: {asked} is not after the current valid_until {current}")]
    NotLater {
        /// Current last day.
        current: NaiveDate,
        /// Asked last day.
        asked: NaiveDate,
    },
    /// A new card's dates are not acceptable today.
    #[error("{0}")]
    Dates(String),
    /// The new period is not a valid period.
    #[error(transparent)]
    Period(#[from] DomainError),
}

impl RuleError {
    /// The field the error is about, if one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::NotLater { .. } => Some("valid_until"),
            Self::Period(e) => Some(e.field()),
            Self::Dates(_) => Some("valid_from"),
            _ => None,
        }
    }
}

/// A new card's period, checked against today: it must not be over already, nor start more than
/// [`MAX_DAYS_BEFORE_START`] days ahead.
pub fn check_new_period(period: ValidityPeriod, today: NaiveDate) -> Result<(), RuleError> {
    if period.until() < today {
        return Err(RuleError::Dates(format!(
            "valid_until: {} is already past",
            period.until()
        )));
    }
    let latest_start = today + Duration::days(MAX_DAYS_BEFORE_START);
    if period.from() > latest_start {
        return Err(RuleError::Dates(format!(
            "valid_from: {} is more than {MAX_DAYS_BEFORE_START} days ahead (latest {latest_start})",
            period.from()
        )));
    }
    Ok(())
}

/// The period an extension adds to a card in `state` whose validity currently ends on `current_until`:
/// from the day after `current_until` to `new_until`, at most one year. An interim permit is not
/// extended: its holder applies for a resident card.
pub fn extension(
    document: DocumentType,
    state: CardState,
    current_until: NaiveDate,
    new_until: NaiveDate,
    today: NaiveDate,
) -> Result<ValidityPeriod, RuleError> {
    if matches!(state, CardState::Revoked | CardState::Replaced) {
        return Err(RuleError::WrongState {
            act: Act::Extend,
            state,
        });
    }
    if document != DocumentType::ResidentCard {
        return Err(RuleError::NotExtendable(document));
    }
    let last_day = current_until + Duration::days(EXTENSION_GRACE_DAYS);
    if today > last_day {
        return Err(RuleError::PastGrace {
            until: current_until,
            last_day,
        });
    }
    if new_until <= current_until {
        return Err(RuleError::NotLater {
            current: current_until,
            asked: new_until,
        });
    }
    Ok(ValidityPeriod::new(
        current_until + Duration::days(1),
        new_until,
    )?)
}

/// The state after `act` on a card in `state`, for the acts that change state.
pub fn transition(act: Act, state: CardState) -> Result<CardState, RuleError> {
    use CardState::*;
    match (act, state) {
        (Act::Suspend, Active) => Ok(Suspended),
        (Act::Reinstate, Suspended) => Ok(Active),
        (Act::Revoke, Active | Suspended) => Ok(Revoked),
        // A suspended card must be reinstated or revoked first: replacing it would lift the suspension.
        (Act::Replace, Active) => Ok(Replaced),
        (Act::Extend, Active | Suspended) => Ok(state),
        _ => Err(RuleError::WrongState { act, state }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RC: DocumentType = DocumentType::ResidentCard;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn extension_starts_the_day_after_and_lasts_at_most_a_year() {
        let p = extension(
            RC,
            CardState::Active,
            d("2027-11-30"),
            d("2028-11-30"),
            d("2027-11-01"),
        )
        .expect("ok");
        assert_eq!((p.from(), p.until()), (d("2027-12-01"), d("2028-11-30")));
        assert!(matches!(
            extension(
                RC,
                CardState::Active,
                d("2027-11-30"),
                d("2028-12-01"),
                d("2027-11-01")
            ),
            Err(RuleError::Period(DomainError::ValidityTooLong { .. }))
        ));
        assert!(matches!(
            extension(
                RC,
                CardState::Active,
                d("2027-11-30"),
                d("2027-11-30"),
                d("2027-11-01")
            ),
            Err(RuleError::NotLater { .. })
        ));
    }

    #[test]
    fn extension_is_refused_on_final_states_and_past_the_grace_period() {
        for state in [CardState::Revoked, CardState::Replaced] {
            assert!(matches!(
                extension(RC, state, d("2027-11-30"), d("2028-01-31"), d("2027-11-01")),
                Err(RuleError::WrongState { .. })
            ));
        }
        assert!(
            extension(
                RC,
                CardState::Suspended,
                d("2027-11-30"),
                d("2028-01-31"),
                d("2027-11-01")
            )
            .is_ok()
        );
        assert!(
            extension(
                RC,
                CardState::Active,
                d("2027-11-30"),
                d("2028-01-31"),
                d("2027-12-30")
            )
            .is_ok()
        );
        assert!(matches!(
            extension(
                RC,
                CardState::Active,
                d("2027-11-30"),
                d("2028-01-31"),
                d("2027-12-31")
            ),
            Err(RuleError::PastGrace { .. })
        ));
    }

    #[test]
    fn an_interim_permit_is_not_extended() {
        assert!(matches!(
            extension(
                DocumentType::Interim,
                CardState::Active,
                d("2027-01-31"),
                d("2027-03-31"),
                d("2027-01-10")
            ),
            Err(RuleError::NotExtendable(DocumentType::Interim))
        ));
        let acts = Act::allowed(CardState::Active, DocumentType::Interim).collect::<Vec<_>>();
        assert_eq!(acts, [Act::Suspend, Act::Replace, Act::Revoke]);
    }

    #[test]
    fn the_acts_a_state_allows_come_from_the_transitions() {
        use CardState::*;
        let allowed = |s| Act::allowed(s, RC).map(Act::as_str).collect::<Vec<_>>();
        assert_eq!(allowed(Active), ["extend", "suspend", "replace", "revoke"]);
        assert_eq!(allowed(Suspended), ["extend", "reinstate", "revoke"]);
        assert!(allowed(Revoked).is_empty() && allowed(Replaced).is_empty());
        assert!(Act::Revoke.is_final(Active) && Act::Replace.is_final(Active));
        assert!(!Act::Suspend.is_final(Active) && !Act::Extend.is_final(Active));
        for a in Act::ALL {
            assert_eq!(Act::parse(a.as_str()), Some(a));
        }
        assert_eq!(Act::parse("delete"), None);
    }

    #[test]
    fn state_transitions() {
        use CardState::*;
        assert_eq!(transition(Act::Suspend, Active), Ok(Suspended));
        assert_eq!(transition(Act::Reinstate, Suspended), Ok(Active));
        assert_eq!(transition(Act::Revoke, Suspended), Ok(Revoked));
        assert_eq!(transition(Act::Replace, Active), Ok(Replaced));
        for (act, state) in [
            (Act::Suspend, Suspended),
            (Act::Reinstate, Active),
            (Act::Revoke, Revoked),
            (Act::Revoke, Replaced),
            (Act::Replace, Suspended),
            (Act::Suspend, Revoked),
            (Act::Reinstate, Revoked),
        ] {
            assert!(transition(act, state).is_err(), "{act:?} on {state:?}");
        }
    }

    #[test]
    fn new_cards_must_not_be_over_or_far_ahead() {
        let today = d("2026-11-21");
        let ok = ValidityPeriod::new(d("2026-12-01"), d("2027-11-30")).expect("period");
        assert!(check_new_period(ok, today).is_ok());
        let past = ValidityPeriod::new(d("2025-12-01"), d("2026-11-20")).expect("period");
        assert!(check_new_period(past, today).is_err());
        let far = ValidityPeriod::new(d("2027-05-21"), d("2027-06-30")).expect("period");
        assert!(check_new_period(far, today).is_err());
    }
}
