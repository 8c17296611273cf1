//! The offline-checking benchmark (issue: offline checking at checkpoints). Run by `bench/offline`.
//!
//! 1. Builds a synthetic registry of 1,000,000 cards (realistic names, nationalities, dates; 1%
//!    revoked, 0.5% suspended, 5% extended) in a temporary directory.
//! 2. Signs the full status snapshot and a delta carrying 1,000 changes, and prints their sizes.
//! 3. Times offline verification (decode, parse, verify, snapshot lookup) of one payload against the
//!    full snapshot, and a raw `verify_strict` of the same signature, in the same run, and prints the
//!    rate ratio (goal: at least 0.85).

use std::time::Instant;

use chrono::{Duration, NaiveDate, Utc};
use rescard_core::domain::date::issuer_date;
use rescard_core::status::{Snapshot, StatusView};
use rescard_core::{IssuerKey, TrustList, TrustedKey, codec, reference, verify};
use rescard_store::Registry;
use rusqlite::params;

const CARDS: u32 = 1_000_000;

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
const PERMITS: &[(&str, u32)] = &[
    ("work", 60),
    ("study", 15),
    ("family", 15),
    ("business", 7),
    ("other", 3),
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn weighted<'a>(&mut self, table: &'a [(&'a str, u32)]) -> &'a str {
        let total: u32 = table.iter().map(|(_, w)| w).sum();
        let mut roll = self.below(u64::from(total)) as u32;
        for (item, w) in table {
            if roll < *w {
                return item;
            }
            roll -= w;
        }
        table[0].0
    }
}

fn build_registry(path: &std::path::Path, today: NaiveDate) -> rusqlite::Result<()> {
    drop(Registry::open(path).expect("schema"));
    let mut conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    let tx = conn.transaction()?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seq: i64 = 0;
    let mut per_day = std::collections::HashMap::new();
    {
        let mut holder = tx.prepare("INSERT INTO holders (id, itn, date_of_birth, itn_sequence, nationality, passport_number, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, '2026-01-01T00:00:00Z')")?;
        let mut card = tx.prepare(
            "INSERT INTO cards (serial, holder_id, surname, given_names, date_of_birth, sex, nationality, permit, valid_from,
                printed_valid_until, valid_until, state, state_reason, kid, payload, issued_at, issued_by, changed_at, status_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'synthetic', 'RC1:synthetic', ?14, 'generator', ?14, ?15)",
        )?;
        for i in 1..=CARDS {
            let dob = NaiveDate::from_ymd_opt(1960, 1, 1).expect("date")
                + Duration::days(rng.below(16_000) as i64);
            let nationality = rng.weighted(NATIONS);
            let sequence = per_day.entry(dob).or_insert(0u16);
            *sequence += 1;
            let itn = rescard_core::Itn::assign(dob, *sequence).expect("itn");
            holder.execute(params![
                i,
                itn.to_string(),
                dob.to_string(),
                *sequence,
                nationality,
                format!("P{i:08}")
            ])?;
            let from = today - Duration::days(rng.below(360) as i64);
            let printed = rescard_core::ValidityPeriod::latest_end(from);
            let roll = rng.below(1000);
            let (state, until, reason) = match roll {
                0..=9 => ("revoked", printed, Some("permit withdrawn")),
                10..=14 => ("suspended", printed, Some("documents under review")),
                15..=64 => (
                    "active",
                    rescard_core::ValidityPeriod::latest_end(printed + Duration::days(1)),
                    None,
                ),
                _ => ("active", printed, None),
            };
            let listed = state != "active" || until != printed;
            if listed {
                seq += 1;
            }
            let serial = rescard_core::Serial::from_sequence(i)
                .expect("serial")
                .to_string();
            card.execute(params![
                serial,
                i,
                SURNAMES[rng.below(SURNAMES.len() as u64) as usize],
                format!(
                    "{} {}",
                    GIVEN[rng.below(GIVEN.len() as u64) as usize],
                    GIVEN[rng.below(GIVEN.len() as u64) as usize]
                ),
                dob.to_string(),
                ["F", "M"][rng.below(2) as usize],
                nationality,
                rng.weighted(PERMITS),
                from.to_string(),
                printed.to_string(),
                until.to_string(),
                state,
                reason,
                "2026-01-01T00:00:00Z",
                if listed { seq } else { 0 },
            ])?;
        }
    }
    tx.execute(
        "UPDATE counters SET value = ?1 WHERE name = 'status'",
        [seq],
    )?;
    tx.execute(
        "UPDATE counters SET value = ?1 WHERE name = 'serial'",
        [i64::from(CARDS)],
    )?;
    tx.commit()
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("registry.sqlite");
    let now = Utc::now();
    let today = issuer_date(now);
    let key = IssuerKey::from_seed(&[5; 32]);
    let trust = TrustList::new(vec![TrustedKey::active(
        key.verifying_key(),
        now - Duration::days(400),
    )])
    .expect("trust");

    let started = Instant::now();
    build_registry(&path, today).expect("registry");
    println!(
        "built a registry of {CARDS} cards in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut registry = Registry::open(&path).expect("open");
    let (sequence, full_entries) = registry.status_entries(0).expect("full");
    let revoked = full_entries
        .iter()
        .filter(|e| e.state == rescard_core::CardState::Revoked)
        .count();
    let suspended = full_entries
        .iter()
        .filter(|e| e.state == rescard_core::CardState::Suspended)
        .count();
    let extended = full_entries
        .iter()
        .filter(|e| e.valid_until.is_some())
        .count();
    let full = Snapshot {
        sequence,
        since: None,
        issued_at: now,
        max_age_seconds: 86_400,
        entries: full_entries,
    };
    let full_bytes = full.sign(&key);
    println!(
        "full snapshot: {} entries ({revoked} revoked, {suspended} suspended, {extended} extended): {} bytes ({:.2} bytes an entry); goal 262144",
        full.entries.len(),
        full_bytes.len(),
        full_bytes.len() as f64 / full.entries.len() as f64
    );

    // 1,000 changes through the registry's own acts: revocations, suspensions and extensions.
    let mut rng = Rng(42);
    let mut changed = 0;
    while changed < 1000 {
        let serial = rescard_core::Serial::from_sequence(1 + rng.below(u64::from(CARDS)) as u32)
            .expect("serial");
        let act = match changed % 3 {
            0 => registry.revoke(serial, "benchmark", "bench", now),
            1 => registry.suspend(serial, "benchmark", "bench", now),
            _ => registry.card(serial).and_then(|c| {
                let until =
                    rescard_core::ValidityPeriod::latest_end(c.valid_until + Duration::days(1));
                registry.extend(serial, until, "benchmark", "bench", now)
            }),
        };
        if act.is_ok() {
            changed += 1;
        }
    }
    let (delta_sequence, delta_entries) = registry.status_entries(sequence).expect("delta");
    let delta = Snapshot {
        sequence: delta_sequence,
        since: Some(sequence),
        issued_at: now,
        max_age_seconds: 86_400,
        entries: delta_entries,
    };
    let delta_bytes = delta.sign(&key);
    println!(
        "delta: {} changes: {} bytes; goal 16384",
        delta.entries.len(),
        delta_bytes.len()
    );

    // Offline verification against the full snapshot, and the signature bound.
    let (opened, _) = Snapshot::open(&full_bytes, &trust).expect("open");
    let view = StatusView::from_full(opened).expect("view");
    let mut card = reference::card();
    let listed = view.entries().next().expect("an entry").serial;
    card = rescard_core::Card::new(
        listed,
        card.itn(),
        card.holder().clone(),
        card.permit(),
        card.validity(),
        None,
    )
    .expect("card");
    let payload = codec::encode(&card, now, &key);
    let signed = codec::decode(&payload).expect("decode");
    let cose = codec::encode_cose(&card, now, &key);
    let sign1 = <coset::CoseSign1 as coset::TaggedCborSerializable>::from_tagged_slice(&cose)
        .expect("cose");
    let tbs = sign1.tbs_data(&[]);
    let signature = ed25519_dalek::Signature::from_slice(&sign1.signature).expect("sig");
    let public = key.verifying_key();
    drop(signed);

    let rounds = 20_000;
    let check_now = now + Duration::hours(1);
    let mut best_raw = f64::MAX;
    let mut best_full = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(public.verify_strict(std::hint::black_box(&tbs), &signature))
                .expect("raw");
        }
        best_raw = best_raw.min(t.elapsed().as_secs_f64() / f64::from(rounds));
        let t = Instant::now();
        for _ in 0..rounds {
            let v = verify(std::hint::black_box(&payload), &trust, &view, check_now)
                .expect("infallible");
            std::hint::black_box(v);
        }
        best_full = best_full.min(t.elapsed().as_secs_f64() / f64::from(rounds));
    }
    // Repeated checks of the same card: the signature cache (a bank re-checking daily).
    let cache = rescard_core::SignatureCache::new(1000);
    rescard_core::verify_cached(&payload, &trust, &view, check_now, &cache).expect("infallible");
    let mut best_cached = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..rounds {
            let v = rescard_core::verify_cached(
                std::hint::black_box(&payload),
                &trust,
                &view,
                check_now,
                &cache,
            )
            .expect("infallible");
            std::hint::black_box(v);
        }
        best_cached = best_cached.min(t.elapsed().as_secs_f64() / f64::from(rounds));
    }
    let v = verify(&payload, &trust, &view, check_now).expect("infallible");
    println!(
        "offline verify ({:?} from the snapshot): {:.1} µs; raw verify_strict: {:.1} µs; rate ratio {:.3} (goal 0.85)",
        v.verdict,
        best_full * 1e6,
        best_raw * 1e6,
        best_raw / best_full
    );
    println!(
        "repeated check of the same card (signature cache hit): {:.1} µs; {:.1}x the rate of the first check, {:.1}x a raw verify_strict",
        best_cached * 1e6,
        best_full / best_cached,
        best_raw / best_cached
    );
}
