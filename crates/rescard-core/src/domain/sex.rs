use std::fmt;
use std::str::FromStr;

use super::DomainError;

/// Sex as printed in the passport (ICAO 9303: F, M, or X for unspecified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Female.
    F,
    /// Male.
    M,
    /// Unspecified.
    X,
}

impl Sex {
    /// Every sex a card can show.
    pub const ALL: [Sex; 3] = [Self::F, Self::M, Self::X];

    /// `"F"`, `"M"` or `"X"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F => "F",
            Self::M => "M",
            Self::X => "X",
        }
    }
}

impl FromStr for Sex {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "F" => Ok(Self::F),
            "M" => Ok(Self::M),
            "X" => Ok(Self::X),
            _ => Err(DomainError::Sex(s.to_owned())),
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
