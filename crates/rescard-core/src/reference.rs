//! The reference card of the design brief, used for size goals, fixtures and examples.

use chrono::NaiveDate;

use crate::domain::{
    Card, Holder, Itn, LatinName, Nationality, Permit, Serial, Sex, ValidityPeriod,
};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// The reference holder: ABDYKADYROVA-NURLANOVA AIGERIM ZHANYBEKOVNA, born 1991-04-17, female, UZB.
pub fn holder() -> Holder {
    Holder {
        surname: LatinName::surname("ABDYKADYROVA-NURLANOVA").expect("the reference card is valid"),
        given_names: LatinName::given_names("AIGERIM ZHANYBEKOVNA")
            .expect("the reference card is valid"),
        native_name: None,
        date_of_birth: date(1991, 4, 17),
        sex: Some(Sex::F),
        nationality: Nationality::parse("UZB").expect("the reference card is valid"),
    }
}

/// The reference validity: 2026-12-01 to 2027-11-30.
pub fn validity() -> ValidityPeriod {
    ValidityPeriod::new(date(2026, 12, 1), date(2027, 11, 30)).expect("the reference card is valid")
}

/// The reference card as a fresh registry assigns it: the first serial and the first ITN for its
/// date of birth, work permit, no portrait.
pub fn card() -> Card {
    let serial = Serial::from_sequence(1).expect("the reference card is valid");
    let itn = Itn::assign(date(1991, 4, 17), 1).expect("the reference card is valid");
    Card::new(serial, itn, holder(), Permit::Work, validity(), None)
        .expect("the reference card is valid")
}
