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
use coset::cbor::value::{Integer, Value};

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

fn int(i: i64) -> Value {
    Value::Integer(Integer::from(i))
}

fn uint(u: u64) -> Value {
    Value::Integer(Integer::from(u))
}

/// The claims set for `card`, signed at `issued_at`, as CBOR bytes.
pub fn encode_claims(card: &Card, issued_at: DateTime<Utc>) -> Vec<u8> {
    let h = card.holder();
    let mut fields = vec![
        (int(key::SERIAL), uint(card.serial().number().into())),
        (int(key::ITN), uint(card.itn().number())),
        (int(key::SURNAME), Value::Text(h.surname.to_string())),
        (
            int(key::GIVEN_NAMES),
            Value::Text(h.given_names.to_string()),
        ),
    ];
    if let Some(native) = &h.native_name {
        fields.push((int(key::NATIVE_NAME), Value::Text(native.to_string())));
    }
    fields.push((
        int(key::DATE_OF_BIRTH),
        int(days_since_epoch(h.date_of_birth)),
    ));
    if let Some(sex) = h.sex {
        fields.push((int(key::SEX), Value::Text(sex.as_str().into())));
    }
    fields.extend([
        (
            int(key::NATIONALITY),
            Value::Text(h.nationality.to_string()),
        ),
        (int(key::PERMIT), uint(card.permit().code().into())),
        (
            int(key::VALID_FROM),
            int(days_since_epoch(card.validity().from())),
        ),
        (
            int(key::VALID_UNTIL),
            int(days_since_epoch(card.validity().until())),
        ),
    ]);
    if let Some(digest) = card.portrait_digest() {
        fields.push((int(key::PORTRAIT_DIGEST), Value::Bytes(digest.to_vec())));
    }
    let claims = Value::Map(vec![
        (int(CLAIM_ISS), Value::Text(ISSUER.into())),
        (
            int(CLAIM_IAT),
            uint(u64::try_from(issued_at.timestamp()).unwrap_or(0)),
        ),
        (int(CARD_CLAIM), Value::Map(fields)),
    ]);
    let mut out = Vec::with_capacity(128);
    // Writing a Value into a Vec cannot fail.
    let _ = ciborium::into_writer(&claims, &mut out);
    out
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
