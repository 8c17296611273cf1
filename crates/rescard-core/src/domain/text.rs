//! Free text that staff type and the registry keeps (the reason for an act), and the characters no
//! such text may hold.
//!
//! A reason travels to terminals, web pages and JSON readers. Characters that a terminal obeys (ESC,
//! CR, backspace and the other controls), that reorder what is shown (bidi overrides and isolates)
//! or that show as nothing (zero-width spaces and joiners, soft hyphens, tag characters) would let a
//! reason print something other than what it holds: a suspension reason that erases the verdict line
//! and prints `VALID` over it. [`is_hidden_or_control`] names them; [`Reason`] refuses them, and the
//! CLI escapes them when older text holds them.

use std::fmt;

use super::DomainError;

/// The longest reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Whether a terminal or a text renderer would obey `c`, or show it as nothing: the control
/// characters (C0, DEL, C1), the Unicode format characters (bidi marks, overrides and isolates,
/// zero-width spaces and joiners, the word joiner and invisible operators, the byte-order mark,
/// soft hyphen, interlinear annotation, tag characters), the line and paragraph separators, and
/// every white space other than the plain space.
pub fn is_hidden_or_control(c: char) -> bool {
    if c == ' ' {
        return false;
    }
    c.is_control()
        || c.is_whitespace()
        || matches!(
            u32::from(c),
            // Unicode general category Cf (format), as of Unicode 15.
            0x00AD
                | 0x0600..=0x0605
                | 0x061C
                | 0x06DD
                | 0x070F
                | 0x0890..=0x0891
                | 0x08E2
                | 0x180E
                | 0x200B..=0x200F
                | 0x202A..=0x202E
                | 0x2060..=0x2064
                | 0x2066..=0x206F
                | 0xFEFF
                | 0xFFF9..=0xFFFB
                | 0x110BD
                | 0x110CD
                | 0x13430..=0x1343F
                | 0x1BCA0..=0x1BCA3
                | 0x1D173..=0x1D17A
                | 0xE0001
                | 0xE0020..=0xE007F
                // Invisible fillers that are letters by category but show as blank.
                | 0x034F
                | 0x115F..=0x1160
                | 0x17B4..=0x17B5
                | 0x3164
                | 0xFFA0
        )
}

/// Checks free text for `field`: trimmed, not empty, at most `max` characters, none of them hidden
/// or a control (see [`is_hidden_or_control`]). White space around it is dropped (so a trailing
/// newline goes); inside it only plain spaces may stand, kept as typed.
fn free_text(field: &'static str, text: &str, max: usize) -> Result<String, DomainError> {
    let trimmed = text.trim();
    let problem = |p: String| Err(DomainError::Text { field, problem: p });
    if let Some(c) = trimmed.chars().find(|&c| is_hidden_or_control(c)) {
        return problem(format!(
            "character U+{:04X} is not allowed: no control, invisible or direction-changing characters, no line breaks or tabs (write it on one line)",
            u32::from(c)
        ));
    }
    if trimmed.is_empty() {
        return problem("is required and must not be empty".into());
    }
    let chars = trimmed.chars().count();
    if chars > max {
        return problem(format!(
            "is {chars} characters long; at most {max} are accepted"
        ));
    }
    Ok(trimmed.to_owned())
}

/// Why an act was done, as an officer wrote it: 1 to [`MAX_REASON_CHARS`] characters of any
/// script, on one line, with none of the characters [`is_hidden_or_control`] names. Surrounding
/// white space is trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason(String);

impl Reason {
    /// Parses a reason (the field is `reason`).
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        free_text("reason", text, MAX_REASON_CHARS).map(Self)
    }

    /// Checks the name of whoever acts (`actor`): the same characters as a reason, at most 128.
    pub fn check_actor(text: &str) -> Result<(), DomainError> {
        free_text("actor", text, 128).map(|_| ())
    }
}

impl AsRef<str> for Reason {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Reason {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_in_any_script_on_one_line_are_kept_trimmed() {
        for (text, kept) in [
            ("  permit withdrawn ", "permit withdrawn"),
            (
                "Документы на проверке (ст. 12, п. 3)",
                "Документы на проверке (ст. 12, п. 3)",
            ),
            (
                "lost — reported 2027-01-15, #44/B",
                "lost — reported 2027-01-15, #44/B",
            ),
            ("Oʻzbekiston: 李 小龙", "Oʻzbekiston: 李 小龙"),
        ] {
            assert_eq!(Reason::parse(text).map(|r| r.0), Ok(kept.to_owned()));
        }
        assert!(Reason::parse(&"я".repeat(MAX_REASON_CHARS)).is_ok());
    }

    #[test]
    fn reasons_that_a_screen_would_obey_or_hide_are_refused_with_the_field() {
        for bad in [
            "",
            "   ",
            "fraud\u{1b}[2K\r\u{1b}[32mVALID",
            "fraud\rVALID",
            "line one\nline two",
            "tab\there",
            "\u{202E}dilav",
            "ok\u{2066}x\u{2069}",
            "zero\u{200B}width",
            "joiner\u{200D}",
            "bom\u{FEFF}",
            "soft\u{AD}hyphen",
            "csi\u{9B}31m",
            "del\u{7F}",
            "para\u{2029}graph",
            "nb\u{A0}space",
            "tag\u{E0041}",
            &"x".repeat(5_000),
            &"x".repeat(MAX_REASON_CHARS + 1),
        ] {
            let err = Reason::parse(bad).expect_err(bad);
            assert_eq!(err.field(), "reason", "{bad:?}");
        }
        assert_eq!(
            Reason::check_actor("cli:\u{1b}]0;x").map_err(|e| e.field()),
            Err("actor")
        );
        assert!(Reason::check_actor("cli:officer.1").is_ok());
    }

    #[test]
    fn what_is_hidden_or_a_control() {
        for c in [
            '\u{0}', '\u{1b}', '\r', '\n', '\t', '\u{7f}', '\u{85}', '\u{9b}',
        ] {
            assert!(is_hidden_or_control(c), "{c:?}");
        }
        for c in [
            '\u{200E}', '\u{202A}', '\u{2067}', '\u{200C}', '\u{2060}', '\u{2028}',
        ] {
            assert!(is_hidden_or_control(c), "{c:?}");
        }
        for c in [' ', 'a', 'Я', '李', '—', '\'', '\u{301}', '😀'] {
            assert!(!is_hidden_or_control(c), "{c:?}");
        }
    }
}
