//! Printing results for people and for programs: the one way the CLI writes to its standard streams.
//!
//! Two rules hold for everything printed:
//!
//! * Text that comes from the registry or a service (a reason, an actor, a history entry, a server's
//!   answer) goes through [`escape`], and JSON is written with `\u` escapes for the same characters,
//!   so a terminal shows what the text holds and obeys none of it: a suspension reason cannot erase
//!   the verdict line and print `VALID` over it. Older registries may hold such text from before
//!   reasons were checked ([`rescard_core::domain::text`]).
//! * A reader that has gone (`rescard verify … | head -1`) ends the output, not the command: the rest
//!   is dropped, nothing panics, and the command ends with the exit code it would have had (for
//!   `verify`, the verdict's). Any other failure to write (a full disk) is an error.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use rescard_core::domain::text::is_hidden_or_control;
use rescard_core::report::VerificationJson;
use rescard_core::{StatusOrigin, Verdict, Verification};
use serde::Serialize;

/// `println!` for the CLI: a line on [`Stdout`]. Evaluates to `io::Result<()>`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!($crate::cli::output::Stdout, $($arg)*)
    }};
}

/// `eprintln!` for the CLI: a line on [`Stderr`]. A message that cannot be written is dropped.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!($crate::cli::output::Stderr, $($arg)*);
    }};
}

pub(crate) use {errln, outln};

/// `text` as a terminal may be shown it: every character that a terminal would obey or that would
/// show as nothing (see [`is_hidden_or_control`]) written as `\u{…}`. Text without any is returned
/// as it is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden_or_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hidden_or_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Standard output for everything the CLI prints; a reader that has gone makes it drop the rest.
pub struct Stdout;

/// Standard error, the same way.
pub struct Stderr;

static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// Writes with `write`, unless the reader has gone: then nothing more is written, and that is not
/// an error.
fn tolerant<W: Write>(
    gone: &AtomicBool,
    out: W,
    write: impl FnOnce(W) -> io::Result<usize>,
    len: usize,
) -> io::Result<usize> {
    if gone.load(Ordering::Relaxed) {
        return Ok(len);
    }
    match write(out) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            gone.store(true, Ordering::Relaxed);
            Ok(len)
        }
        other => other,
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        tolerant(&STDOUT_GONE, io::stdout(), |mut o| o.write(buf), buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        tolerant(&STDOUT_GONE, io::stdout(), |mut o| o.flush().map(|()| 0), 0).map(|_| ())
    }
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        tolerant(&STDERR_GONE, io::stderr(), |mut o| o.write(buf), buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        tolerant(&STDERR_GONE, io::stderr(), |mut o| o.flush().map(|()| 0), 0).map(|_| ())
    }
}

/// Prints `value` as pretty JSON on standard output, with the characters [`escape`] escapes written
/// as `\u` escapes (the same text for a JSON reader, nothing a terminal obeys).
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut bytes, SafeJson::default());
    value.serialize(&mut ser)?;
    bytes.push(b'\n');
    Stdout.write_all(&bytes)?;
    Ok(())
}

/// serde_json's pretty formatter, with hidden and control characters in strings written as `\uXXXX`
/// (serde_json itself escapes only those below U+0020).
#[derive(Default)]
struct SafeJson(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| is_hidden_or_control(c)) {
            writer.write_all(&rest.as_bytes()[..at])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// The verdict as a person at a checkpoint should read it.
pub fn verdict_headline(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "VALID",
        Verdict::Expired => "NOT VALID: EXPIRED",
        Verdict::NotYetValid => "NOT VALID YET",
        Verdict::Suspended => "NOT VALID: SUSPENDED",
        Verdict::Revoked => "NOT VALID: REVOKED",
        Verdict::Replaced => "NOT VALID: REPLACED BY A NEW CARD",
        Verdict::InvalidSignature => "FORGED OR ALTERED: SIGNATURE DOES NOT VERIFY",
        Verdict::UnknownIssuer => "UNKNOWN ISSUER: NOT SIGNED BY A TRUSTED KEY",
        Verdict::Malformed => "NOT A READABLE RESIDENT CARD",
    }
}

/// A labelled line of a listing, its value escaped.
pub fn row(label: &str, value: &str) -> io::Result<()> {
    outln!("  {label:<12}{}", escape(value))
}

/// Prints a verification for a person.
pub fn print_verification(v: &Verification) -> io::Result<()> {
    let j = VerificationJson::from(v);
    outln!("{} ({})", verdict_headline(v.verdict), escape(&v.detail))?;
    if let Some(Some(reason)) = &j.state_reason {
        row("reason", reason)?;
    }
    let Some(holder) = &j.holder else {
        return Ok(());
    };
    row("card", j.serial.as_deref().unwrap_or_default())?;
    if let Some(document) = j.document.filter(|d| *d != "resident_card") {
        row("document", document)?;
    }
    row("surname", &holder.surname)?;
    row("given names", &holder.given_names)?;
    if let Some(native) = &holder.native_name {
        row("native name", native)?;
    }
    row("born", &holder.date_of_birth.to_string())?;
    if let Some(sex) = holder.sex {
        row("sex", sex)?;
    }
    row("nationality", &holder.nationality)?;
    row("ITN", j.itn.as_deref().unwrap_or_default())?;
    row(
        "permit",
        &format!(
            "{}{}",
            j.permit.unwrap_or_default(),
            if v.card.as_ref().is_some_and(|c| c.permit().allows_work()) {
                " (may work)"
            } else {
                ""
            }
        ),
    )?;
    let printed = j
        .printed_valid_until
        .map(|d| d.to_string())
        .unwrap_or_default();
    let until = j.valid_until.map(|d| d.to_string()).unwrap_or_default();
    let valid = j.valid_from.map(|d| d.to_string()).unwrap_or_default();
    if printed == until {
        row("valid", &format!("{valid} to {until}"))?;
    } else {
        row(
            "valid",
            &format!("{valid} to {until} (extended; the card shows {printed})"),
        )?;
    }
    if let Some(days) = j.days_remaining {
        row(
            "days left",
            &if days >= 0 {
                days.to_string()
            } else {
                format!("none: overstayed by {} days", -days)
            },
        )?;
    }
    let as_of = j.status_as_of.clone().unwrap_or_default();
    let status = match v.status.origin {
        StatusOrigin::Registry => format!("registry, as of {as_of}"),
        StatusOrigin::Snapshot => format!("status snapshot of {as_of}"),
        StatusOrigin::Card => "the card alone: no registry or status snapshot here, so a later extension, suspension or revocation cannot be seen".into(),
    };
    row("status from", &status)?;
    if v.status.stale {
        row(
            "STALE",
            "the status snapshot is past its maximum age (see the warning below)",
        )?;
    }
    row(
        "signed by",
        &format!(
            "key {} at {}",
            j.kid.unwrap_or_default(),
            j.issued_at.unwrap_or_default()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_shows_what_a_terminal_would_obey_and_keeps_the_rest() {
        assert!(matches!(escape("lost — Документы"), Cow::Borrowed(_)));
        assert_eq!(
            escape("x\u{1b}[2K\rVALID\u{202e}\u{200b}\n"),
            "x\\u{1b}[2K\\u{d}VALID\\u{202e}\\u{200b}\\u{a}"
        );
    }

    #[test]
    fn json_escapes_the_same_characters_and_reads_back_the_same() {
        let text = "fraud\u{1b}[32m\u{9b}\u{202e}\u{200b}\u{e0041} ok";
        let mut bytes = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut bytes, SafeJson::default());
        serde_json::json!({ "reason": text })
            .serialize(&mut ser)
            .expect("json");
        let shown = String::from_utf8(bytes).expect("utf-8");
        assert!(
            !shown.chars().any(|c| c != '\n' && is_hidden_or_control(c)),
            "{shown:?}"
        );
        assert!(
            shown.contains("\\u009b\\u202e\\u200b\\udb40\\udc41"),
            "{shown}"
        );
        let back: serde_json::Value = serde_json::from_str(&shown).expect("parse");
        assert_eq!(back["reason"], text);
    }
}
