use std::fmt;

use super::DomainError;

/// Longest name part we accept, in characters. ICAO 9303 visual zones hold fewer.
const MAX_NAME_CHARS: usize = 64;

/// A name as printed in the Latin part of a passport: upper-case A–Z in words joined by single spaces,
/// hyphens or apostrophes. Input is trimmed, runs of spaces folded, and letters upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LatinName(String);

impl LatinName {
    /// A surname: at least one letter.
    pub fn surname(text: &str) -> Result<Self, DomainError> {
        let name = Self::parse("surname", text)?;
        if name.0.is_empty() {
            return Err(DomainError::Name {
                field: "surname",
                problem: "is empty".into(),
            });
        }
        Ok(name)
    }

    /// Given names: may be empty, for holders whose passport shows a single name.
    pub fn given_names(text: &str) -> Result<Self, DomainError> {
        Self::parse("given_names", text)
    }

    fn parse(field: &'static str, text: &str) -> Result<Self, DomainError> {
        let folded = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase();
        let problem = |p: String| Err(DomainError::Name { field, problem: p });
        if folded.chars().count() > MAX_NAME_CHARS {
            return problem(format!("is longer than {MAX_NAME_CHARS} characters"));
        }
        if let Some(c) = folded
            .chars()
            .find(|c| !(c.is_ascii_uppercase() || matches!(c, ' ' | '-' | '\'')))
        {
            return problem(format!(
                "{c:?} is not allowed: write the name in Latin letters A-Z as in the passport (spaces, hyphens and apostrophes between words)"
            ));
        }
        let mut prev_sep = true;
        for c in folded.chars() {
            let sep = !c.is_ascii_uppercase();
            if sep && prev_sep {
                return problem("a space, hyphen or apostrophe must stand between letters".into());
            }
            prev_sep = sep;
        }
        if prev_sep && !folded.is_empty() {
            return problem("must not end with a space, hyphen or apostrophe".into());
        }
        Ok(Self(folded))
    }
}

impl AsRef<str> for LatinName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LatinName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The holder's name in a native script (Cyrillic, Arabic, Chinese, ...): letters of any script,
/// combining marks, and spaces, hyphens, apostrophes and full stops between them. No control,
/// zero-width or direction-changing characters, which could make a printed name differ from the
/// stored one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NativeName(String);

impl NativeName {
    /// Parses a native-script name; surrounding white space is trimmed and inner runs folded.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let problem = |p: String| {
            Err(DomainError::Name {
                field: "native_name",
                problem: p,
            })
        };
        if folded.is_empty() {
            return problem("is empty: leave it out instead".into());
        }
        if folded.chars().count() > MAX_NAME_CHARS {
            return problem(format!("is longer than {MAX_NAME_CHARS} characters"));
        }
        if let Some(c) = folded.chars().find(|&c| {
            !(c.is_alphabetic()
                || is_combining_mark(c)
                || matches!(c, ' ' | '-' | '\'' | '.' | '’'))
        }) {
            return problem(format!("character U+{:04X} is not a letter", u32::from(c)));
        }
        if !folded.chars().next().is_some_and(char::is_alphabetic) {
            return problem("must start with a letter".into());
        }
        Ok(Self(folded))
    }
}

/// Combining diacritical marks (U+0300–U+036F and the supplement blocks), which some scripts need.
fn is_combining_mark(c: char) -> bool {
    matches!(u32::from(c), 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

impl AsRef<str> for NativeName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NativeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passport_names_are_normalised() {
        assert_eq!(
            LatinName::surname("  abdykadyrova-Nurlanova ").map(|n| n.0),
            Ok("ABDYKADYROVA-NURLANOVA".into())
        );
        assert_eq!(
            LatinName::given_names("Aigerim   Zhanybekovna").map(|n| n.0),
            Ok("AIGERIM ZHANYBEKOVNA".into())
        );
        assert_eq!(
            LatinName::surname("O'NEIL").map(|n| n.0),
            Ok("O'NEIL".into())
        );
        assert_eq!(LatinName::given_names("").map(|n| n.0), Ok(String::new()));
    }

    #[test]
    fn non_passport_names_are_refused_with_the_field() {
        for bad in [
            "",
            "   ",
            "Абдыкадырова",
            "SMITH2",
            "-SMITH",
            "SMITH-",
            "SMITH--JONES",
            "SMITH\u{200B}",
            "SM\u{202E}ITH",
            "JOSÉ",
            &"A".repeat(65),
        ] {
            let err = LatinName::surname(bad).expect_err(bad);
            assert_eq!(err.field(), "surname", "{bad}");
        }
        assert!(LatinName::surname(&"A".repeat(64)).is_ok());
    }

    #[test]
    fn native_names_take_any_script_but_no_invisible_characters() {
        assert!(NativeName::parse("Абдыкадырова Айгерим").is_ok());
        assert!(NativeName::parse("Oʻrinboyeva").is_ok());
        assert!(NativeName::parse("李 小龙").is_ok());
        for bad in [
            "",
            "Айгерим\u{200B}",
            "\u{202E}Айгерим",
            "Айгерим\u{7}",
            "Айгерим1",
            "-Айгерим",
        ] {
            assert_eq!(
                NativeName::parse(bad).map_err(|e| e.field()),
                Err("native_name"),
                "{bad:?}"
            );
        }
    }
}
