use std::fmt;
use std::str::FromStr;

use super::DomainError;
use super::check_digit::{damm, digits_of};

/// A card number: an 8-digit sequence allocated by the registry, followed by a Damm check digit,
/// written as 9 digits (`000000018`). Never reused; see `docs/NUMBERS.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(u32);

impl Serial {
    /// Highest sequence number a serial can carry.
    pub const MAX_SEQUENCE: u32 = 99_999_999;

    /// The serial for registry sequence number `sequence` (1 to [`Self::MAX_SEQUENCE`]).
    pub fn from_sequence(sequence: u32) -> Result<Self, DomainError> {
        if sequence == 0 || sequence > Self::MAX_SEQUENCE {
            return Err(DomainError::Serial(format!(
                "sequence {sequence} is outside 1..={}",
                Self::MAX_SEQUENCE
            )));
        }
        let check = damm(digits_of(u64::from(sequence), 8));
        Ok(Self(sequence * 10 + u32::from(check)))
    }

    /// The serial whose 9-digit number is `value` (as carried in the payload), if its check digit holds.
    pub fn from_number(value: u64) -> Result<Self, DomainError> {
        let sequence = u32::try_from(value / 10)
            .map_err(|_| DomainError::Serial(format!("{value} has more than 9 digits")))?;
        let serial = Self::from_sequence(sequence)?;
        if u64::from(serial.0) != value {
            return Err(DomainError::Serial(format!(
                "{value:09}: the check digit does not match (a digit mistyped?)"
            )));
        }
        Ok(serial)
    }

    /// The 9-digit number.
    pub fn number(self) -> u32 {
        self.0
    }

    /// The registry's sequence number.
    pub fn sequence(self) -> u32 {
        self.0 / 10
    }
}

impl FromStr for Serial {
    type Err = DomainError;

    /// Parses the 9 digits; spaces between digit groups are ignored, as people copy them from the card.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s.chars().filter(|c| *c != ' ').collect();
        if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::Serial(format!(
                "{s:?} is not a card number of 9 digits"
            )));
        }
        let value: u64 = digits
            .parse()
            .map_err(|_| DomainError::Serial(format!("{s:?} is not a number")))?;
        Self::from_number(value)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:09}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_carry_a_check_digit() {
        let s = Serial::from_sequence(1).expect("first serial");
        assert_eq!(s.to_string().len(), 9);
        assert_eq!(s.to_string().parse::<Serial>(), Ok(s));
        assert_eq!(s.sequence(), 1);
        let mut typo = s.to_string().into_bytes();
        typo[7] = if typo[7] == b'9' { b'8' } else { typo[7] + 1 };
        assert!(
            String::from_utf8(typo)
                .expect("ascii")
                .parse::<Serial>()
                .is_err()
        );
    }

    #[test]
    fn out_of_range_and_path_like_serials_are_refused() {
        assert!(Serial::from_sequence(0).is_err());
        assert!(Serial::from_sequence(Serial::MAX_SEQUENCE + 1).is_err());
        assert!(Serial::from_sequence(Serial::MAX_SEQUENCE).is_ok());
        for bad in [
            "",
            "12345678",
            "1234567890",
            "../../etc",
            "1 OR 1=1",
            "00000001x",
        ] {
            assert!(bad.parse::<Serial>().is_err(), "{bad}");
        }
        assert!(Serial::from_number(10_000_000_000).is_err());
    }
}
