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
//! }
//! ```
//!
//! The encoding is deterministic (RFC 8949 §4.2: shortest integers, keys in the order above, no
//! indefinite lengths), and the decoder accepts only that encoding: it re-encodes what it parsed
//! and compares.

use chrono::{DateTime, Utc};
use coset::cbor::value::Value;

use super::CodecError;
use crate::domain::date::{date_from_epoch_days, days_since_epoch};
use crate::domain::{
    Card, Holder, Itn, LatinName, Nationality, NativeName, Permit, Serial, Sex, ValidityPeriod,
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
        + u64::from(card.portrait_digest().is_some());
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
    let mut reader = bytes;
    let value: Value =
        ciborium::from_reader(&mut reader).map_err(|_| CodecError::Claims("not CBOR".into()))?;
    if !reader.is_empty() {
        return Err(CodecError::Claims("bytes after the claims set".into()));
    }
    let mut top = Fields::of(value, "claims")?;
    let iss = top.text(CLAIM_ISS)?;
    if iss != ISSUER {
        return Err(CodecError::Claims(format!(
            "iss is {iss:?}, not {ISSUER:?}"
        )));
    }
    let iat = top.uint(CLAIM_IAT)?;
    let issued_at = i64::try_from(iat)
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or_else(|| CodecError::Claims("iat out of range".into()))?;
    let mut c = Fields::of(top.take(CARD_CLAIM)?, "card")?;
    top.finish()?;

    let bad = |e: crate::domain::DomainError| CodecError::Claims(e.to_string());
    let serial = Serial::from_number(c.uint(key::SERIAL)?).map_err(bad)?;
    let itn = Itn::from_number(c.uint(key::ITN)?).map_err(bad)?;
    let surname = LatinName::surname(&c.text(key::SURNAME)?).map_err(bad)?;
    let given_names = LatinName::given_names(&c.text(key::GIVEN_NAMES)?).map_err(bad)?;
    let native_name = c
        .opt_text(key::NATIVE_NAME)?
        .map(|t| NativeName::parse(&t))
        .transpose()
        .map_err(bad)?;
    let date_of_birth = c.date(key::DATE_OF_BIRTH)?;
    let sex = c
        .opt_text(key::SEX)?
        .map(|t| t.parse::<Sex>())
        .transpose()
        .map_err(bad)?;
    let nationality = Nationality::parse(&c.text(key::NATIONALITY)?).map_err(bad)?;
    let permit = Permit::from_code(c.uint(key::PERMIT)?)
        .ok_or_else(|| CodecError::Claims("unknown permit code".into()))?;
    let validity =
        ValidityPeriod::new(c.date(key::VALID_FROM)?, c.date(key::VALID_UNTIL)?).map_err(bad)?;
    let portrait_digest = match c.opt(key::PORTRAIT_DIGEST) {
        None => None,
        Some(Value::Bytes(b)) => Some(
            b.try_into()
                .map_err(|_| CodecError::Claims("portrait digest is not 16 bytes".into()))?,
        ),
        Some(_) => {
            return Err(CodecError::Claims(
                "portrait digest is not a byte string".into(),
            ));
        }
    };
    c.finish()?;
    let holder = Holder {
        surname,
        given_names,
        native_name,
        date_of_birth,
        sex,
        nationality,
    };
    let card = Card::new(serial, itn, holder, permit, validity, portrait_digest).map_err(bad)?;
    if encode_claims(&card, issued_at) != bytes {
        return Err(CodecError::Claims(
            "not in the deterministic encoding".into(),
        ));
    }
    Ok(DecodedClaims { card, issued_at })
}

/// The entries of a CBOR map with integer keys, taken out one by one; `finish` refuses leftovers.
struct Fields {
    what: &'static str,
    entries: Vec<(i64, Value)>,
}

impl Fields {
    fn of(value: Value, what: &'static str) -> Result<Self, CodecError> {
        let Value::Map(map) = value else {
            return Err(CodecError::Claims(format!("{what} is not a map")));
        };
        let mut entries = Vec::with_capacity(map.len());
        for (k, v) in map {
            let key = match k {
                Value::Integer(i) => i64::try_from(i)
                    .map_err(|_| CodecError::Claims(format!("{what}: key out of range")))?,
                _ => {
                    return Err(CodecError::Claims(format!(
                        "{what}: a key is not an integer"
                    )));
                }
            };
            if entries.iter().any(|(seen, _)| *seen == key) {
                return Err(CodecError::Claims(format!(
                    "{what}: key {key} appears twice"
                )));
            }
            entries.push((key, v));
        }
        Ok(Self { what, entries })
    }

    fn opt(&mut self, key: i64) -> Option<Value> {
        let i = self.entries.iter().position(|(k, _)| *k == key)?;
        Some(self.entries.swap_remove(i).1)
    }

    fn take(&mut self, key: i64) -> Result<Value, CodecError> {
        self.opt(key)
            .ok_or_else(|| CodecError::Claims(format!("{}: key {key} is missing", self.what)))
    }

    fn opt_text(&mut self, key: i64) -> Result<Option<String>, CodecError> {
        match self.opt(key) {
            None => Ok(None),
            Some(Value::Text(t)) => Ok(Some(t)),
            Some(_) => Err(CodecError::Claims(format!(
                "{}: key {key} is not text",
                self.what
            ))),
        }
    }

    fn text(&mut self, key: i64) -> Result<String, CodecError> {
        self.opt_text(key)?
            .ok_or_else(|| CodecError::Claims(format!("{}: key {key} is missing", self.what)))
    }

    fn int(&mut self, key: i64) -> Result<i128, CodecError> {
        match self.take(key)? {
            Value::Integer(i) => Ok(i128::from(i)),
            _ => Err(CodecError::Claims(format!(
                "{}: key {key} is not an integer",
                self.what
            ))),
        }
    }

    fn uint(&mut self, key: i64) -> Result<u64, CodecError> {
        u64::try_from(self.int(key)?)
            .map_err(|_| CodecError::Claims(format!("{}: key {key} is out of range", self.what)))
    }

    fn date(&mut self, key: i64) -> Result<chrono::NaiveDate, CodecError> {
        let days = i64::try_from(self.int(key)?).ok();
        days.and_then(date_from_epoch_days)
            .ok_or_else(|| CodecError::Claims(format!("{}: key {key} is not a date", self.what)))
    }

    fn finish(self) -> Result<(), CodecError> {
        match self.entries.first() {
            None => Ok(()),
            Some((k, _)) => Err(CodecError::Claims(format!(
                "{}: unknown key {k}",
                self.what
            ))),
        }
    }
}
