use std::fmt;

use super::DomainError;
use super::countries::{ICAO_EXTRA, ISO_ALPHA3};

/// A nationality: an ISO 3166-1 alpha-3 code other than KGZ, or one of the ICAO 9303 codes for
/// stateless persons and refugees (XXA, XXB, XXC, XXX). Lower case input is accepted and upper-cased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nationality([u8; 3]);

impl Nationality {
    /// Parses a code.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let upper = text.trim().to_ascii_uppercase();
        let known = ISO_ALPHA3.binary_search(&upper.as_str()).is_ok()
            || ICAO_EXTRA.contains(&upper.as_str());
        if !known {
            return Err(DomainError::UnknownNationality(text.to_owned()));
        }
        if upper == "KGZ" {
            return Err(DomainError::OwnNationality);
        }
        let b = upper.as_bytes();
        Ok(Self([b[0], b[1], b[2]]))
    }

    /// The code, e.g. `"UZB"`.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters from the list are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl AsRef<str> for Nationality {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Nationality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_codes_only() {
        assert_eq!(
            Nationality::parse("uzb").map(|n| n.to_string()),
            Ok("UZB".into())
        );
        assert!(Nationality::parse("XXA").is_ok());
        assert_eq!(Nationality::parse("KGZ"), Err(DomainError::OwnNationality));
        for bad in ["UZ", "UZBK", "ZZZ", "SUN", "", "U Z"] {
            assert!(
                matches!(
                    Nationality::parse(bad),
                    Err(DomainError::UnknownNationality(_))
                ),
                "{bad}"
            );
        }
    }
}
