//! Calendar dates as the issuer reads them.
//!
//! Card dates are calendar dates in the issuer's time zone, Asia/Bishkek, which has been UTC+06:00 all
//! year round since 2005. A card is valid from the first instant of `valid_from` to the last instant of
//! `valid_until` in that zone.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

use super::DomainError;

/// The issuer's offset from UTC, in seconds (Asia/Bishkek, UTC+06:00, no daylight saving time).
pub const ISSUER_UTC_OFFSET_SECONDS: i32 = 6 * 3600;

const ISSUER_ZONE: FixedOffset = match FixedOffset::east_opt(ISSUER_UTC_OFFSET_SECONDS) {
    Some(zone) => zone,
    None => panic!("the issuer offset is out of range"),
};

/// The calendar date at `now` in the issuer's time zone.
pub fn issuer_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&ISSUER_ZONE).date_naive()
}

/// The first instant of `date` in the issuer's time zone.
pub fn start_of_issuer_day(date: NaiveDate) -> DateTime<Utc> {
    // A fixed offset has no gaps or folds: local midnight is UTC midnight shifted back by the offset.
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
        - Duration::seconds(i64::from(ISSUER_UTC_OFFSET_SECONDS))
}

/// `t` as rescard prints times: RFC 3339 in UTC, to the second (`2027-01-15T06:00:00Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Parses a date written `YYYY-MM-DD`, and nothing else.
pub fn parse_date(field: &'static str, text: &str) -> Result<NaiveDate, DomainError> {
    let ok_shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !ok_shape {
        return Err(DomainError::Date {
            field,
            problem: format!("{text:?} is not a date written YYYY-MM-DD"),
        });
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| DomainError::Date {
        field,
        problem: format!("{text} is not a day of the calendar"),
    })
}

/// Days since 1970-01-01 (negative before it), as carried in the payload (the content of RFC 8943 tag 100).
pub fn days_since_epoch(date: NaiveDate) -> i64 {
    (date - NaiveDate::default()).num_days()
}

/// The date `days` after 1970-01-01, if chrono can represent it.
pub fn date_from_epoch_days(days: i64) -> Option<NaiveDate> {
    NaiveDate::default().checked_add_signed(Duration::try_days(days)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date("test", s).expect("test date")
    }

    #[test]
    fn issuer_day_starts_at_18_utc_the_evening_before() {
        let start = start_of_issuer_day(d("2026-12-01"));
        assert_eq!(start.to_rfc3339(), "2026-11-30T18:00:00+00:00");
        assert_eq!(issuer_date(start), d("2026-12-01"));
        assert_eq!(issuer_date(start - Duration::seconds(1)), d("2026-11-30"));
    }

    #[test]
    fn dates_must_be_written_in_full() {
        assert!(parse_date("x", "2026-1-01").is_err());
        assert!(parse_date("x", "2026-02-30").is_err());
        assert!(parse_date("x", "+2026-02-01").is_err());
        assert!(parse_date("x", " 2026-02-01").is_err());
        assert_eq!(d("2028-02-29").to_string(), "2028-02-29");
    }

    #[test]
    fn epoch_days_round_trip() {
        for s in [
            "1900-01-01",
            "1969-12-31",
            "1970-01-01",
            "1991-04-17",
            "2099-12-31",
        ] {
            assert_eq!(date_from_epoch_days(days_since_epoch(d(s))), Some(d(s)));
        }
        assert_eq!(days_since_epoch(d("1970-01-02")), 1);
        assert_eq!(date_from_epoch_days(i64::MAX), None);
    }
}
