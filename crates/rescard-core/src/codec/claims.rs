//! The CWT claims set that carries a card: see `docs/FORMAT.md`.
//!
//! ```cddl
//! claims = {
//!   1 => "KG",                 ; iss: the issuing state
//!   6 => uint,                 ; iat: when the card was signed, seconds since the epoch
//!   -65537 => card,            ; the card, a private-use claim
//! }
//! card = {
//!   1 => uint,                 ; serial, 9 digits with check digit
//!   2 => uint,                 ; ITN, 14 digits
//!   3 => tstr,                 ; surname (Latin)
//!   4 => tstr,                 ; given names (Latin, may be "")
//!   ? 5 => tstr,               ; native-script name
//!   6 => int,                  ; date of birth, days since 1970-01-01
//!   ? 7 => "F" / "M" / "X",    ; sex
//!   8 => tstr,                 ; nationality, ISO 3166-1 alpha-3
//!   9 => 0..4,                 ; permit: work, study, family, business, other
//!   10 => int,                 ; valid from, days since 1970-01-01
//!   11 => int,                 ; valid until (as printed), days since 1970-01-01
//!   ? 12 => bstr .size 16,     ; first 16 bytes of SHA-256 of the registry's portrait
//!   ? 13 => 1,                 ; document type: 1 interim permit; absent: a resident card
//! }
//! ```
//!
//! The encoding is deterministic (RFC 8949 §4.2: shortest integers, keys in the order above, no
//! indefinite lengths), and the decoder accepts only that encoding: it re-encodes what it parsed
//! and compares.

use chrono::{DateTime, Utc};

use super::CodecError;
use crate::domain::date::{date_from_epoch_days, days_since_epoch};
use crate::domain::{
    Card, DocumentType, Holder, Itn, LatinName, Nationality, NativeName, Permit, Serial, Sex,
    ValidityPeriod,
};

/// The `iss` value.
pub const ISSUER: &str = "KG";
/// The private-use claim key under which the card travels.
pub const CARD_CLAIM: i64 = -65537;

const CLAIM_ISS: i64 = 1;
const CLAIM_IAT: i64 = 6;

mod key {
    pub const SERIAL: i64 = 1;
    pub const ITN: i64 = 2;
    pub const SURNAME: i64 = 3;
    pub const GIVEN_NAMES: i64 = 4;
    pub const NATIVE_NAME: i64 = 5;
    pub const DATE_OF_BIRTH: i64 = 6;
    pub const SEX: i64 = 7;
    pub const NATIONALITY: i64 = 8;
    pub const PERMIT: i64 = 9;
    pub const VALID_FROM: i64 = 10;
    pub const VALID_UNTIL: i64 = 11;
    pub const PORTRAIT_DIGEST: i64 = 12;
    pub const DOCUMENT: i64 = 13;
}

/// The claims set for `card`, signed at `issued_at`, as CBOR bytes.
pub fn encode_claims(card: &Card, issued_at: DateTime<Utc>) -> Vec<u8> {
    // Written directly (no value tree): the verifier re-encodes every card it reads to check that it
    // is canonical, so this is on its hot path. The fixtures pin the bytes.
    let h = card.holder();
    let mut w = Writer(Vec::with_capacity(128));
    w.head(5, 3); // map(3)
    w.int(CLAIM_ISS);
    w.text(ISSUER);
    w.int(CLAIM_IAT);
    w.uint(u64::try_from(issued_at.timestamp()).unwrap_or(0));
    w.int(CARD_CLAIM);
    let entries = 9
        + u64::from(h.native_name.is_some())
        + u64::from(h.sex.is_some())
        + u64::from(card.portrait_digest().is_some())
        + u64::from(card.document().code().is_some());
    w.head(5, entries);
    w.int(key::SERIAL);
    w.uint(card.serial().number().into());
    w.int(key::ITN);
    w.uint(card.itn().number());
    w.int(key::SURNAME);
    w.text(h.surname.as_ref());
    w.int(key::GIVEN_NAMES);
    w.text(h.given_names.as_ref());
    if let Some(native) = &h.native_name {
        w.int(key::NATIVE_NAME);
        w.text(native.as_ref());
    }
    w.int(key::DATE_OF_BIRTH);
    w.int(days_since_epoch(h.date_of_birth));
    if let Some(sex) = h.sex {
        w.int(key::SEX);
        w.text(sex.as_str());
    }
    w.int(key::NATIONALITY);
    w.text(h.nationality.as_str());
    w.int(key::PERMIT);
    w.uint(card.permit().code().into());
    w.int(key::VALID_FROM);
    w.int(days_since_epoch(card.validity().from()));
    w.int(key::VALID_UNTIL);
    w.int(days_since_epoch(card.validity().until()));
    if let Some(digest) = card.portrait_digest() {
        w.int(key::PORTRAIT_DIGEST);
        w.head(2, digest.len() as u64);
        w.0.extend_from_slice(&digest);
    }
    if let Some(code) = card.document().code() {
        w.int(key::DOCUMENT);
        w.uint(code.into());
    }
    w.0
}

/// A minimal writer of deterministic CBOR (RFC 8949 §4.2.1: shortest heads).
struct Writer(Vec<u8>);

impl Writer {
    /// A head: major type `major`, argument `n`, in its shortest form.
    fn head(&mut self, major: u8, n: u64) {
        let m = major << 5;
        match n {
            0..=23 => self.0.push(m | n as u8),
            24..=0xff => self.0.extend_from_slice(&[m | 24, n as u8]),
            0x100..=0xffff => {
                self.0.push(m | 25);
                self.0.extend_from_slice(&(n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                self.0.push(m | 26);
                self.0.extend_from_slice(&(n as u32).to_be_bytes());
            }
            _ => {
                self.0.push(m | 27);
                self.0.extend_from_slice(&n.to_be_bytes());
            }
        }
    }

    fn uint(&mut self, n: u64) {
        self.head(0, n);
    }

    fn int(&mut self, n: i64) {
        if n >= 0 {
            self.head(0, n as u64);
        } else {
            self.head(1, (-1 - n) as u64);
        }
    }

    fn text(&mut self, t: &str) {
        self.head(3, t.len() as u64);
        self.0.extend_from_slice(t.as_bytes());
    }
}

/// A card and the time it was signed, read back from claims bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedClaims {
    /// The card.
    pub card: Card,
    /// When it was signed (`iat`).
    pub issued_at: DateTime<Utc>,
}

/// Reads a claims set. Anything but the exact deterministic encoding of a valid card is refused.
pub fn decode_claims(bytes: &[u8]) -> Result<DecodedClaims, CodecError> {
    // Read in one pass, in the only order the deterministic encoding allows; the re-encoding check at
    // the end refuses anything else (longer heads, other orders), so the reader can stay simple.
    let mut r = Reader { bytes, pos: 0 };
    r.map_of(3, "claims")?;
    r.key(CLAIM_ISS)?;
    let iss = r.text()?;
    if iss != ISSUER {
        return Err(CodecError::Claims(format!(
            "iss is {iss:?}, not {ISSUER:?}"
        )));
    }
    r.key(CLAIM_IAT)?;
    let issued_at = i64::try_from(r.uint()?)
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or_else(|| CodecError::Claims("iat out of range".into()))?;
    r.key(CARD_CLAIM)?;
    let entries = r.map("card")?;
    let (mut serial, mut itn, mut surname, mut given_names, mut native_name) =
        (None, None, None, None, None);
    let (mut date_of_birth, mut sex, mut nationality, mut permit) = (None, None, None, None);
    let (mut valid_from, mut valid_until, mut portrait_digest) = (None, None, None);
    let mut document = None;
    let mut previous = 0;
    for _ in 0..entries {
        let k = r.int()?;
        if k <= previous {
            return Err(CodecError::Claims(format!(
                "card: key {k} out of order or repeated"
            )));
        }
        previous = k;
        match k {
            key::SERIAL => serial = Some(r.uint()?),
            key::ITN => itn = Some(r.uint()?),
            key::SURNAME => surname = Some(r.text()?),
            key::GIVEN_NAMES => given_names = Some(r.text()?),
            key::NATIVE_NAME => native_name = Some(r.text()?),
            key::DATE_OF_BIRTH => date_of_birth = Some(r.date()?),
            key::SEX => sex = Some(r.text()?),
            key::NATIONALITY => nationality = Some(r.text()?),
            key::PERMIT => permit = Some(r.uint()?),
            key::VALID_FROM => valid_from = Some(r.date()?),
            key::VALID_UNTIL => valid_until = Some(r.date()?),
            key::PORTRAIT_DIGEST => portrait_digest = Some(r.digest()?),
            key::DOCUMENT => document = Some(r.uint()?),
            other => return Err(CodecError::Claims(format!("card: unknown key {other}"))),
        }
    }
    if r.pos != bytes.len() {
        return Err(CodecError::Claims("bytes after the claims set".into()));
    }
    let missing = |what: &str| CodecError::Claims(format!("card: {what} is missing"));
    let bad = |e: crate::domain::DomainError| CodecError::Claims(e.to_string());
    let serial = Serial::from_number(serial.ok_or_else(|| missing("serial"))?).map_err(bad)?;
    let itn = Itn::from_number(itn.ok_or_else(|| missing("ITN"))?).map_err(bad)?;
    let surname = LatinName::surname(surname.ok_or_else(|| missing("surname"))?).map_err(bad)?;
    let given_names =
        LatinName::given_names(given_names.ok_or_else(|| missing("given names"))?).map_err(bad)?;
    let native_name = native_name
        .map(NativeName::parse)
        .transpose()
        .map_err(bad)?;
    let date_of_birth = date_of_birth.ok_or_else(|| missing("date of birth"))?;
    let sex = sex.map(str::parse::<Sex>).transpose().map_err(bad)?;
    let nationality =
        Nationality::parse(nationality.ok_or_else(|| missing("nationality"))?).map_err(bad)?;
    let permit = Permit::from_code(permit.ok_or_else(|| missing("permit"))?)
        .ok_or_else(|| CodecError::Claims("unknown permit code".into()))?;
    let validity = ValidityPeriod::new(
        valid_from.ok_or_else(|| missing("valid from"))?,
        valid_until.ok_or_else(|| missing("valid until"))?,
    )
    .map_err(bad)?;
    let holder = Holder {
        surname,
        given_names,
        native_name,
        date_of_birth,
        sex,
        nationality,
    };
    let document = match document {
        None => DocumentType::ResidentCard,
        Some(code) => DocumentType::from_code(code)
            .ok_or_else(|| CodecError::Claims(format!("card: unknown document type {code}")))?,
    };
    let card = Card::new(serial, itn, holder, permit, validity, portrait_digest)
        .and_then(|c| c.with_document(document))
        .map_err(bad)?;
    if encode_claims(&card, issued_at) != bytes {
        return Err(CodecError::Claims(
            "not in the deterministic encoding".into(),
        ));
    }
    Ok(DecodedClaims { card, issued_at })
}

/// A one-pass reader of the claims' CBOR: heads, integers, text, byte strings.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn fail(&self, what: &str) -> CodecError {
        CodecError::Claims(format!("{what} at byte {}", self.pos))
    }

    /// A head: (major type, argument). Indefinite lengths and reserved values are refused.
    fn head(&mut self) -> Result<(u8, u64), CodecError> {
        let first = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.fail("the claims end early"))?;
        self.pos += 1;
        let (major, info) = (first >> 5, first & 0x1f);
        let width = match info {
            0..=23 => return Ok((major, u64::from(info))),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return Err(self.fail("an indefinite or reserved CBOR head")),
        };
        let end = self
            .pos
            .checked_add(width)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| self.fail("the claims end early"))?;
        let n = self.bytes[self.pos..end]
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        self.pos = end;
        Ok((major, n))
    }

    fn map(&mut self, what: &str) -> Result<u64, CodecError> {
        match self.head()? {
            (5, n) => Ok(n),
            _ => Err(CodecError::Claims(format!("{what} is not a map"))),
        }
    }

    fn map_of(&mut self, n: u64, what: &str) -> Result<(), CodecError> {
        if self.map(what)? != n {
            return Err(CodecError::Claims(format!(
                "{what} has the wrong number of entries"
            )));
        }
        Ok(())
    }

    fn int(&mut self) -> Result<i64, CodecError> {
        match self.head()? {
            (0, n) => i64::try_from(n).map_err(|_| self.fail("an integer out of range")),
            (1, n) => i64::try_from(n)
                .map(|n| -1 - n)
                .map_err(|_| self.fail("an integer out of range")),
            _ => Err(self.fail("an integer was expected")),
        }
    }

    fn uint(&mut self) -> Result<u64, CodecError> {
        match self.head()? {
            (0, n) => Ok(n),
            _ => Err(self.fail("an unsigned integer was expected")),
        }
    }

    fn key(&mut self, expected: i64) -> Result<(), CodecError> {
        let k = self.int()?;
        if k != expected {
            return Err(CodecError::Claims(format!(
                "claim {expected} was expected, not {k}"
            )));
        }
        Ok(())
    }

    fn take(&mut self, major: u8, what: &str) -> Result<&'a [u8], CodecError> {
        let (m, n) = self.head()?;
        if m != major {
            return Err(self.fail(what));
        }
        let len = usize::try_from(n).map_err(|_| self.fail("a length out of range"))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| self.fail("the claims end early"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn text(&mut self) -> Result<&'a str, CodecError> {
        let raw = self.take(3, "text was expected")?;
        std::str::from_utf8(raw).map_err(|_| self.fail("text that is not UTF-8"))
    }

    fn digest(&mut self) -> Result<[u8; 16], CodecError> {
        let raw = self.take(2, "a byte string was expected")?;
        raw.try_into()
            .map_err(|_| CodecError::Claims("portrait digest is not 16 bytes".into()))
    }

    fn date(&mut self) -> Result<chrono::NaiveDate, CodecError> {
        let days = self.int()?;
        date_from_epoch_days(days).ok_or_else(|| self.fail("a date out of range"))
    }
}
