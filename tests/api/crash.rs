//! Crash durability: the service under concurrent issuance, extension and revocation is killed with
//! SIGKILL at random moments, round after round, and restarted. After every round: every request that
//! got a 2xx is in the registry exactly once, nothing that got a 4xx (or a 503 `storage_unavailable`,
//! which promises nothing was done) is, serials and ITNs are unique, the backend's integrity check is
//! ok and the audit chain is intact.
//!
//! On SQLite the one service is killed. On PostgreSQL two replicas share the database; a round
//! either kills one replica (SIGKILL, restarted after) or crashes PostgreSQL itself (`pg_ctl stop -m
//! immediate`, started again), the replicas running on and recovering by themselves.
//!
//! `RESCARD_CRASH_ROUNDS` sets the number of rounds (default 6; `bench/crash` runs more).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rescard_core::domain::date::issuer_date;
use rescard_core::{CardState, Serial, ValidityPeriod};
use rescard_store::{AuditCheck, Location, Registry};
use serde_json::{Value, json};

use crate::replicas::{Cluster, Replica};

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

/// Whether a status says for certain that nothing was done: a refusal (4xx), or 503 (the database
/// could not be reached). A 500 (a commit whose answer was lost) and no answer at all are unknown.
fn nothing_done(status: u16) -> bool {
    (400..500).contains(&status) || status == 503
}

fn worker(
    base: &str,
    token: &str,
    id: u64,
    round: u64,
    outcomes: &Mutex<Outcomes>,
    stop: &AtomicBool,
) {
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
        if stop.load(Ordering::Relaxed) {
            return;
        }
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
                Ok(r) if nothing_done(r.status().as_u16()) => {
                    outcomes.lock().expect("lock").refused.insert(passport);
                }
                Ok(r) if r.status() == 500 => {} // a commit whose answer was lost: unknown
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

fn check(location: &Location, outcomes: &Outcomes) {
    let registry = Registry::connect(location).expect("open after the crash");
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
    let rounds = crash_rounds();
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
        let stop = Arc::new(AtomicBool::new(false));
        let workers = load(&[base.as_str()], &token, round, &outcomes, &stop);
        std::thread::sleep(Duration::from_millis(150 + rng.below(500)));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().expect("worker");
        }
        let location = Location::Sqlite(dir.path().join("data").join("registry.sqlite"));
        check(&location, &outcomes.lock().expect("lock"));
    }
    report(&format!("{rounds} SIGKILL rounds"), rounds, &outcomes);
}

/// Holds that the rounds put the service under load, and says what they did.
fn report(what: &str, rounds: u64, outcomes: &Mutex<Outcomes>) {
    let o = outcomes.lock().expect("lock");
    assert!(
        o.acknowledged > 20 * rounds as usize / 2,
        "too little load: {} acknowledged acts",
        o.acknowledged
    );
    eprintln!(
        "{what} survived: {} acknowledged acts, {} refused issuances",
        o.acknowledged,
        o.refused.len()
    );
}

/// `RESCARD_CRASH_ROUNDS`, 6 by default.
fn crash_rounds() -> u64 {
    std::env::var("RESCARD_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(6)
}

/// Four workers, spread over the replicas at `bases`.
fn load(
    bases: &[&str],
    token: &str,
    round: u64,
    outcomes: &Arc<Mutex<Outcomes>>,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..4)
        .map(|id| {
            let base = bases[id as usize % bases.len()].to_owned();
            let (token, outcomes, stop) =
                (token.to_owned(), Arc::clone(outcomes), Arc::clone(stop));
            std::thread::spawn(move || worker(&base, &token, id, round, &outcomes, &stop))
        })
        .collect()
}

#[test]
fn acknowledged_acts_survive_killed_replicas_and_a_crashed_database() {
    let rounds = crash_rounds();
    let cluster = Cluster::start();
    let database = cluster.database("crash");
    let dir = tempfile::tempdir().expect("dir");
    let keys = dir.path().join("keys");
    let start = |name: &str| Replica::start(&keys, &dir.path().join(name), &database);
    let mut replicas = [start("a"), start("b")];
    let token = replicas[0].admin_token.clone().expect("the admin token");
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let mut rng = Rng(1917);
    let (mut replica_kills, mut database_crashes) = (0, 0);
    for round in 0..rounds {
        let bases: Vec<String> = replicas.iter().map(|r| r.base.clone()).collect();
        let bases: Vec<&str> = bases.iter().map(String::as_str).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let workers = load(&bases, &token, round, &outcomes, &stop);
        std::thread::sleep(Duration::from_millis(150 + rng.below(500)));
        if round % 2 == 0 {
            // A replica dies mid-act; the other goes on serving.
            let victim = rng.below(2) as usize;
            replicas[victim].child.kill().expect("SIGKILL");
            let _ = replicas[victim].child.wait();
            replica_kills += 1;
            std::thread::sleep(Duration::from_millis(100));
            stop.store(true, Ordering::Relaxed);
            for w in workers {
                w.join().expect("worker");
            }
            replicas[victim] = start(["a", "b"][victim]);
        } else {
            // The database dies mid-commit; the replicas answer 503 until it is back.
            cluster.crash();
            database_crashes += 1;
            std::thread::sleep(Duration::from_millis(200));
            stop.store(true, Ordering::Relaxed);
            for w in workers {
                w.join().expect("worker");
            }
            cluster.resume();
        }
        check(
            &Location::Postgres(database.clone()),
            &outcomes.lock().expect("lock"),
        );
    }
    report(
        &format!(
            "{rounds} rounds on PostgreSQL ({replica_kills} replicas killed, {database_crashes} database crashes)"
        ),
        rounds,
        &outcomes,
    );
}
