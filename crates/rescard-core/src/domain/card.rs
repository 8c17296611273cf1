use chrono::NaiveDate;

use super::{
    DocumentType, DomainError, Itn, LatinName, Nationality, NativeName, Permit, Serial, Sex,
    ValidityPeriod,
};

/// Earliest date of birth we accept.
const EARLIEST_BIRTH: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("bad constant"),
};

/// The first 16 bytes of the SHA-256 of the portrait image as stored in the registry.
pub type PortraitDigest = [u8; 16];

/// Who the card is for, as printed on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Surname, Latin letters as in the passport.
    pub surname: LatinName,
    /// Given names, Latin letters as in the passport (may be empty).
    pub given_names: LatinName,
    /// The name in a native script, when the holder wants it printed.
    pub native_name: Option<NativeName>,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Sex, when printed.
    pub sex: Option<Sex>,
    /// Nationality.
    pub nationality: Nationality,
}

/// A resident card (or an interim permit) as printed and as carried in its QR code. Only consistent
/// cards can be built: the holder was born before the period starts (and after 1900), the ITN encodes
/// the date of birth, and the period is one the document type allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    document: DocumentType,
    serial: Serial,
    itn: Itn,
    holder: Holder,
    permit: Permit,
    validity: ValidityPeriod,
    portrait_digest: Option<PortraitDigest>,
}

impl Card {
    /// Assembles a resident card, checking the fields against each other; [`Card::with_document`]
    /// makes it another document type.
    pub fn new(
        serial: Serial,
        itn: Itn,
        holder: Holder,
        permit: Permit,
        validity: ValidityPeriod,
        portrait_digest: Option<PortraitDigest>,
    ) -> Result<Self, DomainError> {
        check_birth_date(holder.date_of_birth, validity.from())?;
        if itn.date_of_birth() != holder.date_of_birth {
            return Err(DomainError::Inconsistent {
                field: "itn",
                problem: format!(
                    "{itn} does not encode the date of birth {}",
                    holder.date_of_birth
                ),
            });
        }
        Ok(Self {
            document: DocumentType::ResidentCard,
            serial,
            itn,
            holder,
            permit,
            validity,
            portrait_digest,
        })
    }

    /// The card as a `document`, if its period is one that document type allows.
    pub fn with_document(mut self, document: DocumentType) -> Result<Self, DomainError> {
        document.check(self.validity)?;
        self.document = document;
        Ok(self)
    }

    /// What kind of document it is.
    pub fn document(&self) -> DocumentType {
        self.document
    }
    /// The card number.
    pub fn serial(&self) -> Serial {
        self.serial
    }
    /// The taxpayer number.
    pub fn itn(&self) -> Itn {
        self.itn
    }
    /// The holder.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }
    /// The purpose of stay.
    pub fn permit(&self) -> Permit {
        self.permit
    }
    /// The printed period of validity.
    pub fn validity(&self) -> ValidityPeriod {
        self.validity
    }
    /// The digest of the registry's portrait, when the card has one.
    pub fn portrait_digest(&self) -> Option<PortraitDigest> {
        self.portrait_digest
    }
}

/// A date of birth is plausible for a card whose validity starts on `valid_from`.
pub(crate) fn check_birth_date(
    date_of_birth: NaiveDate,
    valid_from: NaiveDate,
) -> Result<(), DomainError> {
    if date_of_birth < EARLIEST_BIRTH {
        return Err(DomainError::Date {
            field: "date_of_birth",
            problem: format!("{date_of_birth} is before {EARLIEST_BIRTH}"),
        });
    }
    if date_of_birth > valid_from {
        return Err(DomainError::Date {
            field: "date_of_birth",
            problem: format!("{date_of_birth} is after the card's valid_from {valid_from}"),
        });
    }
    Ok(())
}
