use chrono::{Datelike, Duration, NaiveDate};

use super::DomainError;

/// A period of stay, both ends included: at most one year.
///
/// "One year" is exact: a period starting on day D of month M may last until the day before D/M of the
/// next year. A period from 2026-12-01 may end 2027-11-30 at the latest; one from 2027-03-01 may end
/// 2028-02-29 (a leap year: 366 days); one from 2028-02-29, whose anniversary does not exist, may end
/// 2029-02-28.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ValidityPeriod {
    from: NaiveDate,
    until: NaiveDate,
}

impl ValidityPeriod {
    /// A period from `from` to `until`, both included.
    pub fn new(from: NaiveDate, until: NaiveDate) -> Result<Self, DomainError> {
        if until < from {
            return Err(DomainError::ValidityReversed { from, until });
        }
        let max = Self::latest_end(from);
        if until > max {
            return Err(DomainError::ValidityTooLong { from, until, max });
        }
        Ok(Self { from, until })
    }

    /// The last day a period starting on `from` may include.
    pub fn latest_end(from: NaiveDate) -> NaiveDate {
        // The anniversary, or 1 March when `from` is 29 February; the day before it.
        let anniversary = NaiveDate::from_ymd_opt(from.year() + 1, from.month(), from.day())
            .or_else(|| NaiveDate::from_ymd_opt(from.year() + 1, 3, 1))
            .unwrap_or(NaiveDate::MAX);
        anniversary - Duration::days(1)
    }

    /// The first day.
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// The last day.
    pub fn until(&self) -> NaiveDate {
        self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn one_year_is_exact_on_both_sides() {
        assert!(ValidityPeriod::new(d("2026-12-01"), d("2027-11-30")).is_ok());
        assert!(matches!(
            ValidityPeriod::new(d("2026-12-01"), d("2027-12-01")),
            Err(DomainError::ValidityTooLong { max, .. }) if max == d("2027-11-30")
        ));
        assert!(ValidityPeriod::new(d("2027-03-01"), d("2028-02-29")).is_ok());
        assert!(ValidityPeriod::new(d("2027-03-01"), d("2028-03-01")).is_err());
        assert!(ValidityPeriod::new(d("2028-02-29"), d("2029-02-28")).is_ok());
        assert!(ValidityPeriod::new(d("2028-02-29"), d("2029-03-01")).is_err());
    }

    #[test]
    fn a_single_day_is_a_period_and_a_reversed_one_is_not() {
        assert!(ValidityPeriod::new(d("2026-12-01"), d("2026-12-01")).is_ok());
        assert!(matches!(
            ValidityPeriod::new(d("2026-12-01"), d("2026-11-30")),
            Err(DomainError::ValidityReversed { .. })
        ));
    }
}
