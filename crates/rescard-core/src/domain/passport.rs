use std::fmt;

use super::DomainError;

/// A passport number, kept in the registry only (never in the QR). Letters A–Z and digits, 5 to 20 of
/// them; spaces and hyphens people type are removed and letters upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PassportNumber(String);

impl PassportNumber {
    /// Parses a passport number.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect::<String>()
            .to_ascii_uppercase();
        let problem = |p: &str| {
            Err(DomainError::Inconsistent {
                field: "passport_number",
                problem: p.into(),
            })
        };
        if !cleaned
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return problem("only Latin letters and digits");
        }
        if !(5..=20).contains(&cleaned.len()) {
            return problem("must be 5 to 20 letters and digits");
        }
        Ok(Self(cleaned))
    }
}

impl AsRef<str> for PassportNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PassportNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A portrait photo: a PNG or JPEG of at most [`Portrait::MAX_BYTES`].
#[derive(Clone, PartialEq, Eq)]
pub struct Portrait(Vec<u8>);

impl Portrait {
    /// The largest portrait accepted.
    pub const MAX_BYTES: usize = 1024 * 1024;

    /// Checks the size and the PNG or JPEG signature.
    pub fn parse(bytes: Vec<u8>) -> Result<Self, DomainError> {
        let problem = |p: String| {
            Err(DomainError::Inconsistent {
                field: "portrait",
                problem: p,
            })
        };
        if bytes.len() > Self::MAX_BYTES {
            return problem(format!(
                "is {} bytes, more than the {} accepted",
                bytes.len(),
                Self::MAX_BYTES
            ));
        }
        let png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
        let jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
        if !(png || jpeg) {
            return problem("is not a PNG or JPEG image".into());
        }
        Ok(Self(bytes))
    }

    /// The image bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The digest the QR carries: the first 16 bytes of its SHA-256.
    pub fn digest(&self) -> super::PortraitDigest {
        use sha2::{Digest, Sha256};
        let full = Sha256::digest(&self.0);
        let mut out = [0; 16];
        out.copy_from_slice(&full[..16]);
        out
    }
}

impl fmt::Debug for Portrait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Portrait({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passport_numbers_are_cleaned_and_checked() {
        assert_eq!(
            PassportNumber::parse("fa 123-4567").map(|p| p.to_string()),
            Ok("FA1234567".into())
        );
        for bad in [
            "",
            "1234",
            "AB'1234567",
            "../../etc/passwd",
            &"9".repeat(21),
        ] {
            assert!(PassportNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn portraits_must_be_images() {
        assert!(Portrait::parse(b"\x89PNG\r\n\x1a\nrest".to_vec()).is_ok());
        assert!(Portrait::parse(vec![0xFF, 0xD8, 0xFF, 0xE0]).is_ok());
        assert!(Portrait::parse(b"GIF89a".to_vec()).is_err());
        assert!(Portrait::parse(vec![0xFF; Portrait::MAX_BYTES + 1]).is_err());
    }
}
