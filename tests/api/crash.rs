//! Crash durability: the service under concurrent issuance, extension and revocation is killed with
//! SIGKILL at random moments, round after round, and restarted. After every round: every request that
//! got a 2xx is in the registry exactly once, nothing that got a 4xx is, serials and ITNs are unique,
//! `PRAGMA integrity_check` is ok and the audit chain is intact.
//!
//! `RESCARD_CRASH_ROUNDS` sets the number of rounds (default 6; `bench/crash` runs more).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rescard_core::domain::date::issuer_date;
use rescard_core::{CardState, Serial, ValidityPeriod};
use rescard_store::{AuditCheck, Registry};
use serde_json::{Value, json};

#[derive(Default)]
struct Outcomes {
    /// passport -> serial, for issuances acknowledged with 201.
    issued: BTreeMap<String, String>,
    /// passports of issuances refused with a 4xx.
    refused: BTreeSet<String>,
    /// serial -> valid_until acknowledged by an extension.
    extended: BTreeMap<String, String>,
    /// serials whose revocation was acknowledged.
    revoked: BTreeSet<String>,
    acknowledged: usize,
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn start(dir: &Path) -> (Child, String, Option<String>) {
    // Only the first start, on an empty data directory, prints the admin token on stdout.
    crate::helpers::serve_binary(dir, &[])
}

fn worker(base: &str, token: &str, id: u64, round: u64, outcomes: &Mutex<Outcomes>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let today = issuer_date(Utc::now());
    let until = ValidityPeriod::latest_end(today);
    let mut rng = Rng(0x5eed ^ (id << 20) ^ round);
    let mut mine: Vec<String> = Vec::new();
    for n in 0.. {
        let post = |path: &str, body: Value| {
            agent
                .post(&format!("{base}{path}"))
                .header("Authorization", &format!("Bearer {token}"))
                .header("Content-Type", "application/json")
                .send(body.to_string())
        };
        let roll = rng.below(100);
        if roll < 70 || mine.is_empty() {
            let passport = format!("R{round:02}W{id}N{n:05}");
            let nationality = if roll % 10 == 0 { "KGZ" } else { "UZB" }; // one in ten is refused: a citizen
            // Birth dates spread out: a registry has at most 9,999 ITNs for one birth date.
            let born = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).expect("date")
                + chrono::Duration::days(((n * 37 + id * 1009 + round * 7919) % 14_600) as i64);
            let body = json!({"surname": "CRASH", "given_names": "TEST", "date_of_birth": born.to_string(), "nationality": nationality,
                "permit": "work", "valid_from": today.to_string(), "valid_until": until.to_string(), "passport_number": passport});
            match post("/api/v1/cards", body) {
                Ok(mut r) if r.status() == 201 => {
                    let card: Value =
                        serde_json::from_str(&r.body_mut().read_to_string().expect("body"))
                            .expect("json");
                    let serial = card["serial"].as_str().expect("serial").to_owned();
                    let mut o = outcomes.lock().expect("lock");
                    o.issued.insert(passport, serial.clone());
                    o.acknowledged += 1;
                    mine.push(serial);
                }
                Ok(r) if r.status().is_client_error() => {
                    outcomes.lock().expect("lock").refused.insert(passport);
                }
                Ok(r) => panic!("unexpected status {}", r.status()),
                Err(_) => return, // the server is gone: this request's fate is unknown
            }
        } else if roll < 85 {
            let serial = mine[rng.below(mine.len() as u64) as usize].clone();
            let new_until =
                ValidityPeriod::latest_end(until + chrono::Duration::days(1)).to_string();
            match post(
                &format!("/api/v1/cards/{serial}/extensions"),
                json!({"valid_until": new_until, "reason": "crash test"}),
            ) {
                Ok(r) if r.status() == 200 => {
                    let mut o = outcomes.lock().expect("lock");
                    o.extended.insert(serial, new_until);
                    o.acknowledged += 1;
                }
                Ok(_) => {}
                Err(_) => return,
            }
        } else {
            let serial = mine.swap_remove(rng.below(mine.len() as u64) as usize);
            match post(
                &format!("/api/v1/cards/{serial}/revocation"),
                json!({"reason": "crash test"}),
            ) {
                Ok(r) if r.status() == 200 => {
                    let mut o = outcomes.lock().expect("lock");
                    o.revoked.insert(serial);
                    o.acknowledged += 1;
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    }
}

fn check(dir: &Path, outcomes: &Outcomes) {
    let registry =
        Registry::open(&dir.join("data").join("registry.sqlite")).expect("open after the crash");
    assert_eq!(registry.integrity_check().expect("integrity"), "ok");
    assert!(
        matches!(
            registry.verify_audit().expect("audit"),
            AuditCheck::Intact { .. }
        ),
        "audit chain broken"
    );
    let count =
        |sql: &str, p: &str| -> i64 { registry.storage().raw_count(sql, &[p]).expect("query") };
    for (passport, serial) in &outcomes.issued {
        assert_eq!(
            count(
                "SELECT COUNT(*) FROM cards c JOIN holders h ON h.id = c.holder_id WHERE h.passport_number = ?1",
                passport
            ),
            1,
            "{passport}"
        );
        let record = registry
            .card(serial.parse::<Serial>().expect("serial"))
            .expect("acknowledged card is there");
        assert_eq!(
            record.passport_number.as_ref().map(AsRef::as_ref),
            Some(passport.as_str())
        );
    }
    for passport in &outcomes.refused {
        assert_eq!(
            count(
                "SELECT COUNT(*) FROM holders WHERE passport_number = ?1",
                passport
            ),
            0,
            "a refused card was written"
        );
    }
    for (serial, until) in &outcomes.extended {
        let record = registry
            .card(serial.parse::<Serial>().expect("serial"))
            .expect("card");
        assert_eq!(
            record.valid_until.to_string(),
            *until,
            "acknowledged extension of {serial} lost"
        );
    }
    for serial in &outcomes.revoked {
        assert_eq!(
            registry
                .card(serial.parse::<Serial>().expect("serial"))
                .expect("card")
                .state,
            CardState::Revoked
        );
    }
    let dupes = registry
        .storage()
        .raw_count("SELECT COUNT(*) - COUNT(DISTINCT itn) FROM holders", &[])
        .expect("itn");
    assert_eq!(dupes, 0);
}

#[test]
fn acknowledged_acts_survive_sigkill_at_random_moments() {
    let rounds: u64 = std::env::var("RESCARD_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(6);
    let dir = tempfile::tempdir().expect("dir");
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let mut token = None;
    let mut rng = Rng(2026);
    for round in 0..rounds {
        let (mut child, base, first_token) = start(dir.path());
        if token.is_none() {
            token = first_token;
        }
        let token = token
            .clone()
            .expect("the first start printed the admin token");
        let workers: Vec<_> = (0..4)
            .map(|id| {
                let (base, token, outcomes) = (base.clone(), token.clone(), Arc::clone(&outcomes));
                std::thread::spawn(move || worker(&base, &token, id, round, &outcomes))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(150 + rng.below(500)));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        for w in workers {
            w.join().expect("worker");
        }
        check(dir.path(), &outcomes.lock().expect("lock"));
    }
    let o = outcomes.lock().expect("lock");
    assert!(
        o.acknowledged > 20 * rounds as usize / 2,
        "too little load: {} acknowledged acts",
        o.acknowledged
    );
    eprintln!(
        "{rounds} SIGKILL rounds survived: {} acknowledged acts, {} refused issuances",
        o.acknowledged,
        o.refused.len()
    );
}
