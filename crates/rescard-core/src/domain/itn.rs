use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use super::DomainError;
use super::check_digit::{damm, digits_of};

/// The individual taxpayer number: 14 digits, `3 DDMMYYYY NNNN C`.
///
/// * `3`: a foreign national or stateless person (Kyrgyz citizens' numbers start with 1 or 2);
/// * `DDMMYYYY`: the holder's date of birth;
/// * `NNNN`: a sequence number among foreign holders born that day, allocated by the registry (0001-9999);
/// * `C`: a Damm check digit over the 13 digits before it.
///
/// The same holder (nationality and passport number) keeps the same ITN on every later card.
/// See `docs/NUMBERS.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Itn(u64);

impl Itn {
    /// Highest per-day sequence number.
    pub const MAX_SEQUENCE: u16 = 9999;

    /// The ITN for a holder born on `date_of_birth` with per-day sequence number `sequence`.
    pub fn assign(date_of_birth: NaiveDate, sequence: u16) -> Result<Self, DomainError> {
        if sequence == 0 || sequence > Self::MAX_SEQUENCE {
            return Err(DomainError::Itn(format!(
                "no ITN left for holders born {date_of_birth}"
            )));
        }
        let year = u64::try_from(date_of_birth.year())
            .map_err(|_| DomainError::Itn("year before 0".into()))?;
        if year > 9999 {
            return Err(DomainError::Itn("year past 9999".into()));
        }
        let body = 3 * 10u64.pow(12)
            + u64::from(date_of_birth.day()) * 10u64.pow(10)
            + u64::from(date_of_birth.month()) * 10u64.pow(8)
            + year * 10u64.pow(4)
            + u64::from(sequence);
        let check = damm(digits_of(body, 13));
        Ok(Self(body * 10 + u64::from(check)))
    }

    /// The ITN with number `value` (as carried in the payload), if it is well formed.
    pub fn from_number(value: u64) -> Result<Self, DomainError> {
        let body = value / 10;
        let sequence =
            u16::try_from(body % 10_000).map_err(|_| DomainError::Itn("bad sequence".into()))?;
        let ddmmyyyy = (body / 10_000) % 100_000_000;
        if body / 10u64.pow(12) != 3 || value >= 10u64.pow(14) {
            return Err(DomainError::Itn("an ITN is 3 followed by 13 digits".into()));
        }
        let (day, month, year) = (
            ddmmyyyy / 1_000_000,
            (ddmmyyyy / 10_000) % 100,
            ddmmyyyy % 10_000,
        );
        let date = i32::try_from(year)
            .ok()
            .and_then(|y| {
                NaiveDate::from_ymd_opt(y, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
            })
            .ok_or_else(|| DomainError::Itn("digits 2-9 are not a date of birth".into()))?;
        let itn = Self::assign(date, sequence)?;
        if itn.0 != value {
            return Err(DomainError::Itn(
                "the check digit does not match (a digit mistyped?)".into(),
            ));
        }
        Ok(itn)
    }

    /// The 14-digit number.
    pub fn number(self) -> u64 {
        self.0
    }

    /// The date of birth the ITN encodes.
    pub fn date_of_birth(self) -> NaiveDate {
        let ddmmyyyy = (self.0 / 100_000) % 100_000_000;
        let (day, month, year) = (
            ddmmyyyy / 1_000_000,
            (ddmmyyyy / 10_000) % 100,
            ddmmyyyy % 10_000,
        );
        // Only values built by `assign` from a real date exist.
        NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32).unwrap_or_default()
    }

    /// The per-day sequence number.
    pub fn sequence(self) -> u16 {
        ((self.0 / 10) % 10_000) as u16
    }
}

impl FromStr for Itn {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
            // The number itself is not repeated: error messages and logs never carry an ITN.
            return Err(DomainError::Itn("an ITN is 14 digits".into()));
        }
        Self::from_number(
            s.parse()
                .map_err(|_| DomainError::Itn("an ITN is 14 digits".into()))?,
        )
    }
}

impl fmt::Display for Itn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:014}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dob() -> NaiveDate {
        NaiveDate::from_ymd_opt(1991, 4, 17).expect("date")
    }

    #[test]
    fn itn_encodes_the_birth_date_and_a_check_digit() {
        let itn = Itn::assign(dob(), 1).expect("itn");
        let text = itn.to_string();
        assert_eq!(&text[..13], "3170419910001");
        assert_eq!(text.len(), 14);
        assert_eq!(text.parse::<Itn>(), Ok(itn));
        assert_eq!(itn.date_of_birth(), dob());
        assert_eq!(itn.sequence(), 1);
    }

    #[test]
    fn malformed_itns_are_refused() {
        let good = Itn::assign(dob(), 42).expect("itn").to_string();
        let mut typo = good.clone().into_bytes();
        typo[12] = if typo[12] == b'0' { b'1' } else { b'0' };
        let mut wrong_check = good.clone().into_bytes();
        wrong_check[13] = b'0' + (wrong_check[13] - b'0' + 1) % 10;
        for bad in [
            String::from_utf8(typo).expect("ascii"),
            String::from_utf8(wrong_check).expect("ascii"),
            "1170419910001".into(),
            "33104199100015".into(), // 31 April
            "abcdefghijklmn".into(),
            "2".repeat(14),
        ] {
            assert!(bad.parse::<Itn>().is_err(), "{bad}");
        }
        assert!(Itn::assign(dob(), 0).is_err());
        assert!(Itn::assign(dob(), 10_000).is_err());
    }
}
