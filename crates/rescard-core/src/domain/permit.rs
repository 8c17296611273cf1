use std::fmt;
use std::str::FromStr;

use super::DomainError;

/// The purpose of stay the card grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permit {
    /// Employment.
    Work,
    /// Study at an educational institution.
    Study,
    /// Family reunification.
    Family,
    /// Running a business or investing.
    Business,
    /// Any other purpose.
    Other,
}

impl Permit {
    /// All permits, in code order.
    pub const ALL: [Permit; 5] = [
        Self::Work,
        Self::Study,
        Self::Family,
        Self::Business,
        Self::Other,
    ];

    /// The contract's name: `work`, `study`, `family`, `business`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Work => "work",
            Self::Study => "study",
            Self::Family => "family",
            Self::Business => "business",
            Self::Other => "other",
        }
    }

    /// The small integer carried in the payload (see `docs/FORMAT.md`).
    pub fn code(self) -> u8 {
        match self {
            Self::Work => 0,
            Self::Study => 1,
            Self::Family => 2,
            Self::Business => 3,
            Self::Other => 4,
        }
    }

    /// The permit with payload code `code`.
    pub fn from_code(code: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|p| u64::from(p.code()) == code)
    }

    /// Whether the holder may take employment: a work permit, or a business permit (self-employment).
    pub fn allows_work(self) -> bool {
        matches!(self, Self::Work | Self::Business)
    }
}

impl FromStr for Permit {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == lower)
            .ok_or_else(|| DomainError::Permit(s.to_owned()))
    }
}

impl fmt::Display for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for p in Permit::ALL {
            assert_eq!(p.as_str().parse::<Permit>(), Ok(p));
            assert_eq!(Permit::from_code(p.code().into()), Some(p));
        }
        assert!("tourism".parse::<Permit>().is_err());
        assert_eq!(Permit::from_code(5), None);
    }
}
