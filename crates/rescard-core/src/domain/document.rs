use chrono::{Datelike, Duration, NaiveDate};

use super::{DomainError, ValidityPeriod};

/// What kind of document a signed card is.
///
/// The resident card is the card of the seeds: temporary residence for up to one year. The interim
/// permit is the Unified Window's document, valid for up to two months before a resident card. A
/// payload names its document type only when it is not a resident card, so every card printed before
/// the interim permit existed reads as a resident card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DocumentType {
    /// The resident card (temporary residence, up to one year).
    #[default]
    ResidentCard,
    /// The interim permit (up to two months).
    Interim,
}

impl DocumentType {
    /// Every document type.
    pub const ALL: [DocumentType; 2] = [Self::ResidentCard, Self::Interim];

    /// The contract's name: `resident_card` or `interim`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResidentCard => "resident_card",
            Self::Interim => "interim",
        }
    }

    /// The document type named `name`.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == name)
            .ok_or_else(|| DomainError::Document(name.to_owned()))
    }

    /// The code in the payload (`docs/FORMAT.md`); the resident card has none, its claim is absent.
    pub fn code(self) -> Option<u8> {
        match self {
            Self::ResidentCard => None,
            Self::Interim => Some(1),
        }
    }

    /// The document type of a payload's code.
    pub fn from_code(code: u64) -> Option<Self> {
        (code == 1).then_some(Self::Interim)
    }

    /// The last day a period of this document starting on `from` may include.
    ///
    /// A resident card lasts at most one year ([`ValidityPeriod::latest_end`]). An interim permit lasts
    /// at most two months, exactly as the year is counted: a permit from day D of month M may last until
    /// the day before day D of month M+2; when day D of month M+2 does not exist (from 31 July, or from
    /// 29 to 31 December before a common year) it may last until the last day of month M+2, as a card
    /// from 29 February lasts until 28 February. So from 2026-12-01 to 2027-01-31 at the latest, from
    /// 2027-01-15 to 2027-03-14, from 2026-12-31 to 2027-02-28.
    pub fn latest_end(self, from: NaiveDate) -> NaiveDate {
        match self {
            Self::ResidentCard => ValidityPeriod::latest_end(from),
            Self::Interim => {
                let (year, month) = match from.month() {
                    11 => (from.year() + 1, 1),
                    12 => (from.year() + 1, 2),
                    m => (from.year(), m + 2),
                };
                let (next_year, next_month) = if month == 12 {
                    (year + 1, 1)
                } else {
                    (year, month + 1)
                };
                // Day D of month M+2, or else the first of the month after it.
                let bound = NaiveDate::from_ymd_opt(year, month, from.day())
                    .or_else(|| NaiveDate::from_ymd_opt(next_year, next_month, 1))
                    .unwrap_or(NaiveDate::MAX);
                bound - Duration::days(1)
            }
        }
    }

    /// `period` is one this document may have.
    pub fn check(self, period: ValidityPeriod) -> Result<(), DomainError> {
        let max = self.latest_end(period.from());
        if period.until() > max {
            return Err(DomainError::ValidityTooLong {
                from: period.from(),
                until: period.until(),
                max,
            });
        }
        Ok(())
    }
}

impl std::fmt::Display for DocumentType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn two_months_are_counted_exactly_as_the_year_is() {
        let latest = |from| DocumentType::Interim.latest_end(d(from));
        assert_eq!(latest("2026-12-01"), d("2027-01-31"));
        assert_eq!(latest("2027-01-15"), d("2027-03-14"));
        assert_eq!(latest("2026-11-30"), d("2027-01-29"));
        // 31 December + 2 months is 31 February, which does not exist: the permit ends with February.
        assert_eq!(latest("2026-12-31"), d("2027-02-28"));
        assert_eq!(latest("2027-12-31"), d("2028-02-29"));
        assert_eq!(latest("2026-12-29"), d("2027-02-28"));
        assert_eq!(latest("2027-12-29"), d("2028-02-28"));
        assert_eq!(latest("2027-08-31"), d("2027-10-30"));
        // 31 July + 2 months would be 31 September: the permit ends with September.
        assert_eq!(latest("2027-07-31"), d("2027-09-30"));
        let period = |from, until| ValidityPeriod::new(d(from), d(until)).expect("period");
        assert!(
            DocumentType::Interim
                .check(period("2026-12-01", "2027-01-31"))
                .is_ok()
        );
        assert!(matches!(
            DocumentType::Interim.check(period("2026-12-01", "2027-02-01")),
            Err(DomainError::ValidityTooLong { max, .. }) if max == d("2027-01-31")
        ));
        assert!(
            DocumentType::ResidentCard
                .check(period("2026-12-01", "2027-11-30"))
                .is_ok()
        );
    }

    #[test]
    fn names_and_codes_go_both_ways_and_the_card_has_no_code() {
        for doc in DocumentType::ALL {
            assert_eq!(DocumentType::parse(doc.as_str()), Ok(doc));
            assert_eq!(
                doc.code()
                    .and_then(|c| DocumentType::from_code(c.into()))
                    .unwrap_or_default(),
                doc
            );
        }
        assert_eq!(DocumentType::ResidentCard.code(), None);
        assert_eq!(DocumentType::from_code(0), None);
        assert_eq!(DocumentType::from_code(2), None);
        assert!(DocumentType::parse("passport").is_err());
    }
}
