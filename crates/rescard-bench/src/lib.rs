//! The benchmarks' shared parts: a synthetic registry and a best-of timer.
//!
//! [`synthesize`] fills a registry with `n` genuinely signed cards (realistic names, nationalities,
//! birth dates and validity; 1% revoked, 0.5% suspended, 5% extended), in one transaction with
//! `synchronous = OFF`: a million cards take under a minute. The service, the snapshot and the
//! verifier treat them as they treat issued cards. They carry no audit entries and no portraits.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rescard_core::domain::date::issuer_date;
use rescard_core::{
    Card, Holder, IssuerKey, Itn, LatinName, Nationality, Permit, Serial, Sex, ValidityPeriod,
    codec,
};
use rescard_store::Registry;
use rusqlite::params;

const SURNAMES: &[&str] = &[
    "ABDYKADYROVA",
    "IVANOV",
    "KARIMOV",
    "WANG",
    "NURLANOVA",
    "SMIRNOVA",
    "TOKTOGULOV",
    "ALIEV",
    "RAKHIMOV",
    "LI",
    "KIM",
    "PETROVA",
    "YUSUPOV",
    "TASHKENTOVA",
    "ZHANG",
    "MAMATOV",
    "SHARIPOVA",
    "GARCIA",
    "MULLER",
    "OZTURK",
    "ABDULLAEV",
    "KUZNETSOVA",
    "NAZAROV",
    "CHEN",
];
const GIVEN: &[&str] = &[
    "AIGERIM",
    "OLGA",
    "TIMUR",
    "WEI",
    "DILNOZA",
    "SERGEI",
    "AZAMAT",
    "FATIMA",
    "JAVLON",
    "MEI",
    "MARAT",
    "ANNA",
    "BAKHTIYOR",
    "NARGIZA",
    "JOHN",
    "ELIF",
    "RUSTAM",
    "GULNARA",
];
const NATIONS: &[(&str, u32)] = &[
    ("UZB", 40),
    ("RUS", 15),
    ("CHN", 12),
    ("KAZ", 10),
    ("TJK", 10),
    ("TUR", 5),
    ("IND", 4),
    ("DEU", 2),
    ("USA", 2),
];
const PERMITS: &[(Permit, u32)] = &[
    (Permit::Work, 60),
    (Permit::Study, 15),
    (Permit::Family, 15),
    (Permit::Business, 7),
    (Permit::Other, 3),
];

/// A small, seeded pseudo-random generator (xorshift): the same registry on every run.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn weighted<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        let total: u32 = table.iter().map(|(_, w)| w).sum();
        let mut roll = self.below(u64::from(total)) as u32;
        for (item, w) in table {
            if roll < *w {
                return *item;
            }
            roll -= w;
        }
        table[0].0
    }
}

/// What [`synthesize`] made.
pub struct Synthetic {
    /// Cards in the registry.
    pub cards: u32,
    /// Revoked, suspended and extended cards.
    pub revoked: u32,
    /// Suspended cards.
    pub suspended: u32,
    /// Extended cards.
    pub extended: u32,
    /// Every `sample_every`-th card's payload (for verify loads), with its serial.
    pub sample: Vec<(Serial, String)>,
}

/// Fills the (new or empty) registry at `path` with `cards` cards signed by `key` at `signed_at`,
/// keeping every `sample_every`-th payload.
pub fn synthesize(
    path: &Path,
    cards: u32,
    key: &IssuerKey,
    signed_at: DateTime<Utc>,
    sample_every: u32,
) -> Result<Synthetic> {
    drop(Registry::open(path).context("creating the registry")?);
    let mut conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    let existing: i64 = conn.query_row("SELECT COUNT(*) FROM cards", [], |r| r.get(0))?;
    anyhow::ensure!(
        existing == 0,
        "the registry at {path:?} already holds cards"
    );
    let today = issuer_date(signed_at);
    let at = signed_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let kid = key.kid().to_string();
    let tx = conn.transaction()?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut status_seq: i64 = 0;
    let mut per_day = std::collections::HashMap::new();
    let mut made = Synthetic {
        cards,
        revoked: 0,
        suspended: 0,
        extended: 0,
        sample: Vec::new(),
    };
    {
        let mut holder = tx.prepare(
            "INSERT INTO holders (id, itn, date_of_birth, itn_sequence, nationality, passport_number, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut card_row = tx.prepare(
            "INSERT INTO cards (serial, holder_id, surname, given_names, date_of_birth, sex, nationality, permit,
                valid_from, printed_valid_until, valid_until, state, state_reason, kid, payload, issued_at,
                issued_by, changed_at, status_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 'generator', ?16, ?17)",
        )?;
        let mut extension = tx.prepare(
            "INSERT INTO extensions (serial, valid_from, valid_until, reason, at, actor)
             VALUES (?1, ?2, ?3, 'employment contract renewed', ?4, 'generator')",
        )?;
        let mut change = tx.prepare(
            "INSERT INTO state_changes (serial, from_state, to_state, reason, at, actor)
             VALUES (?1, 'active', ?2, ?3, ?4, 'generator')",
        )?;
        for i in 1..=cards {
            // Born 1960-2005; at most 9,999 holders per birth date (the ITN's sequence).
            let date_of_birth = loop {
                let d = NaiveDate::from_ymd_opt(1960, 1, 1).context("date")?
                    + Duration::days(rng.below(16_400) as i64);
                let n = per_day.entry(d).or_insert(0u16);
                if *n < 9_999 {
                    *n += 1;
                    break d;
                }
            };
            let sequence = per_day[&date_of_birth];
            let itn = Itn::assign(date_of_birth, sequence)?;
            let nationality = rng.weighted(NATIONS);
            let holder_data = Holder {
                surname: LatinName::surname(rng.pick::<&str>(SURNAMES))?,
                given_names: LatinName::given_names(&format!(
                    "{} {}",
                    rng.pick(GIVEN),
                    rng.pick(GIVEN)
                ))?,
                native_name: None,
                date_of_birth,
                sex: Some(if rng.below(2) == 0 { Sex::F } else { Sex::M }),
                nationality: Nationality::parse(nationality)?,
            };
            let from = today - Duration::days(rng.below(360) as i64);
            let validity = ValidityPeriod::new(from, ValidityPeriod::latest_end(from))?;
            let serial = Serial::from_sequence(i)?;
            let permit = rng.weighted(PERMITS);
            let card = Card::new(serial, itn, holder_data, permit, validity, None)?;
            let payload = codec::encode(&card, signed_at, key)?;
            let printed = validity.until();
            let (state, until, reason) = match rng.below(1000) {
                0..=9 => ("revoked", printed, Some("permit withdrawn")),
                10..=14 => ("suspended", printed, Some("documents under review")),
                15..=64 => (
                    "active",
                    ValidityPeriod::latest_end(printed + Duration::days(1)),
                    None,
                ),
                _ => ("active", printed, None),
            };
            let listed = state != "active" || until != printed;
            if listed {
                status_seq += 1;
            }
            let serial_text = serial.to_string();
            holder.execute(params![
                i,
                itn.to_string(),
                date_of_birth.to_string(),
                sequence,
                nationality,
                format!("P{i:08}"),
                at,
            ])?;
            let h = card.holder();
            card_row.execute(params![
                serial_text,
                i,
                h.surname.as_ref(),
                h.given_names.as_ref(),
                date_of_birth.to_string(),
                h.sex.map(|s| s.as_str()),
                nationality,
                permit.as_str(),
                from.to_string(),
                printed.to_string(),
                until.to_string(),
                state,
                reason,
                kid,
                payload,
                at,
                if listed { status_seq } else { 0 },
            ])?;
            match state {
                "revoked" => made.revoked += 1,
                "suspended" => made.suspended += 1,
                _ if until != printed => made.extended += 1,
                _ => {}
            }
            if until != printed {
                extension.execute(params![
                    serial_text,
                    printed.to_string(),
                    until.to_string(),
                    at
                ])?;
            }
            if state != "active" {
                change.execute(params![serial_text, state, reason, at])?;
            }
            if sample_every > 0 && i % sample_every == 0 {
                made.sample.push((serial, payload));
            }
        }
    }
    tx.execute(
        "UPDATE counters SET value = ?1 WHERE name = 'status'",
        [status_seq],
    )?;
    tx.execute(
        "UPDATE counters SET value = ?1 WHERE name = 'serial'",
        [i64::from(cards)],
    )?;
    tx.commit()?;
    Ok(made)
}

/// The best (shortest) time per iteration of `rounds` runs of `body`, `repeats` times over, in seconds.
pub fn best_of(repeats: u32, rounds: u32, mut body: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..repeats {
        let t = Instant::now();
        for _ in 0..rounds {
            body();
        }
        best = best.min(t.elapsed().as_secs_f64() / f64::from(rounds));
    }
    best
}

/// One row of the results table, printed as `ROW<TAB>figure<TAB>value<TAB>baseline<TAB>ratio<TAB>goal<TAB>met`
/// for `bench/run` to collect.
pub fn row(
    figure: &str,
    value: &str,
    baseline: &str,
    ratio: Option<f64>,
    goal: &str,
    met: Option<bool>,
) {
    println!(
        "ROW\t{figure}\t{value}\t{baseline}\t{}\t{goal}\t{}",
        ratio.map_or("-".into(), |r| format!("{r:.2}")),
        match met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        }
    );
}
