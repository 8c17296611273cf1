//! `rescard-bench`: the measuring half of `bench/run`. Each command measures one figure and its
//! baseline in the same process, prints what it saw, and ends with `ROW` lines for the results table.

mod certified;
mod http;
mod photo;
mod queue;
mod replicas;

use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result};
use chrono::{Duration, Utc};
use clap::{Parser, Subcommand};
use coset::TaggedCborSerializable as _;
use ed25519_dalek::{Signature, VerifyingKey};
use rescard::keystore::{KeyDir, KeyStore};
use rescard_bench::{Rng, best_of, row, synthesize};
use rescard_core::status::{Snapshot, StatusView};
use rescard_core::{IssuerKey, SignatureCache, TrustList, TrustedKey, reference, verify};
use rescard_store::Registry;

#[derive(Parser)]
#[command(about = "The benchmarks behind bench/run")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fills a new data directory with a synthetic registry of genuinely signed cards.
    Registry {
        /// How many cards.
        #[arg(long, default_value_t = 1_000_000)]
        cards: u32,
        /// The data directory (`rescard --data`).
        #[arg(long)]
        data: PathBuf,
        /// The key directory (`rescard --keys`); a key is made when it has none.
        #[arg(long)]
        keys: PathBuf,
        /// Write every N-th card's payload here, one per line, for verify loads.
        #[arg(long)]
        payloads: Option<PathBuf>,
        /// Keep one payload in this many cards.
        #[arg(long, default_value_t = 20)]
        sample_every: u32,
    },
    /// Snapshot and delta sizes, offline verify against raw verify_strict, repeated checks.
    Offline {
        /// Cards in the synthetic registry.
        #[arg(long, default_value_t = 1_000_000)]
        cards: u32,
    },
    /// Batch verification in the verifier core: per card, against one verify_strict.
    Batch {
        /// Cards in the batch.
        #[arg(long, default_value_t = 10_000)]
        size: u32,
    },
    /// Batch verification through `POST /api/v1/verify/batch`: per card, against one verify_strict.
    BatchHttp {
        /// The service's base URL.
        #[arg(long)]
        url: String,
        /// A token (any role).
        #[arg(long)]
        token: String,
        /// Payloads, one per line (from `registry --payloads`).
        #[arg(long)]
        payloads: PathBuf,
        /// Cards per request.
        #[arg(long, default_value_t = 10_000)]
        size: usize,
    },
    /// The reference card's QR rendered to PNG, against the qrcode crate's encode of the same text.
    Qr,
    /// A bare rusqlite insert of one row per transaction, WAL and synchronous=FULL: rows per second.
    Insert {
        /// A directory on the disk to measure (the data directory's disk).
        #[arg(long)]
        dir: PathBuf,
        /// How long to insert, in seconds.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// A CSV of `rows` distinct applications for `rescard issue --csv`, on standard output.
    Csv {
        /// Rows.
        #[arg(long, default_value_t = 100_000)]
        rows: u32,
    },
    /// A large, mostly flat RGB PNG (a few hundred kilobytes), with a card's QR code or none, for
    /// bench/image-memory.
    Photo {
        /// Megapixels (4:3).
        #[arg(long, default_value_t = 48.0)]
        megapixels: f64,
        /// The QR code's text; without it the card is blank (no code: every decoding step runs).
        #[arg(long)]
        payload: Option<String>,
        /// Pixels per QR module.
        #[arg(long, default_value_t = 14)]
        module: u32,
        /// Where to write the PNG.
        #[arg(long)]
        out: PathBuf,
    },
    /// The console's review queue with `count` submitted applications, and an approval to a
    /// downloadable card.
    Queue {
        /// Open applications.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
    },
    /// How long an act acknowledged by one replica takes to show in checks on another: suspends and
    /// reinstates a card on `writer`, polling `reader` until its check says so; p50, p99, max.
    Lag {
        /// The replica that acts.
        #[arg(long)]
        writer: String,
        /// The replica that checks.
        #[arg(long)]
        reader: String,
        /// An issuer or admin token.
        #[arg(long)]
        token: String,
        /// How many acts to time.
        #[arg(long, default_value_t = 200)]
        acts: u32,
    },
    /// The baseline server: a minimal axum endpoint that parses `{"payload": …}` and does one
    /// verify_strict of a fixed signature.
    BaselineServer {
        /// Address to listen on.
        #[arg(long)]
        listen: String,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Registry {
            cards,
            data,
            keys,
            payloads,
            sample_every,
        } => registry(cards, &data, &keys, payloads.as_deref(), sample_every),
        Command::Offline { cards } => offline(cards),
        Command::Batch { size } => batch(size),
        Command::BatchHttp {
            url,
            token,
            payloads,
            size,
        } => http::batch_http(&url, &token, &payloads, size),
        Command::Qr => qr(),
        Command::Insert { dir, seconds } => insert(&dir, seconds),
        Command::Csv { rows } => csv(rows),
        Command::Photo {
            megapixels,
            payload,
            module,
            out,
        } => photo::write(megapixels, payload.as_deref(), module, &out),
        Command::BaselineServer { listen } => http::baseline_server(&listen),
        Command::Lag {
            writer,
            reader,
            token,
            acts,
        } => replicas::lag(&writer, &reader, &token, acts),
        Command::Queue { count } => queue::queue(count),
    }
}

fn registry(
    cards: u32,
    data: &Path,
    keys: &Path,
    payloads: Option<&Path>,
    sample_every: u32,
) -> Result<()> {
    let now = Utc::now();
    let key_dir = KeyStore::Dir(KeyDir::new(keys));
    std::fs::create_dir_all(data)?;
    let path = data.join(rescard::cli::REGISTRY_FILE);
    let mut reg = Registry::open(&path)?;
    let since = now - Duration::days(400);
    rescard::keystore::establish(&mut reg, &key_dir, true, "bench", since)?;
    let key = rescard::keystore::keyring(&mut reg, &key_dir, "bench", since)?.active;
    drop(reg);
    let started = Instant::now();
    let made = synthesize(
        &path,
        cards,
        &key,
        now - Duration::days(1),
        if payloads.is_some() { sample_every } else { 0 },
    )?;
    println!(
        "synthetic registry: {} cards ({} revoked, {} suspended, {} extended) in {:.1} s",
        made.cards,
        made.revoked,
        made.suspended,
        made.extended,
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = payloads {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for (_, p) in &made.sample {
            writeln!(out, "{p}")?;
        }
        out.flush()?;
        println!("{} payloads written", made.sample.len());
    }
    Ok(())
}

/// The Sig_structure and signature of a payload, for the raw verify_strict baseline.
pub(crate) fn raw_parts(payload: &str) -> Result<(Vec<u8>, Signature)> {
    let body = payload
        .strip_prefix(rescard_core::PREFIX)
        .context("prefix")?;
    let bytes = base45_decode(body)?;
    let sign1 = coset::CoseSign1::from_tagged_slice(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let signature = Signature::from_slice(&sign1.signature)?;
    Ok((sign1.tbs_data(&[]), signature))
}

fn base45_decode(text: &str) -> Result<Vec<u8>> {
    base45::decode(text).map_err(|e| anyhow::anyhow!("base45: {e:?}"))
}

fn signed_trust(key: &IssuerKey) -> Result<TrustList> {
    Ok(TrustList::new(vec![TrustedKey::active(
        key.verifying_key(),
        Utc::now() - Duration::days(400),
    )])?)
}

fn offline(cards: u32) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registry.sqlite");
    let now = Utc::now();
    let key = IssuerKey::from_seed(&[5; 32]);
    let trust = signed_trust(&key)?;
    let started = Instant::now();
    let made = synthesize(&path, cards, &key, now - Duration::days(1), 1000)?;
    println!(
        "synthetic registry of {cards} cards in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut registry = Registry::open(&path)?;
    let (sequence, entries) = registry.status_entries(0)?;
    let full = Snapshot {
        sequence,
        since: None,
        issued_at: now,
        max_age_seconds: 86_400,
        entries,
    };
    let full_bytes = full.sign(&key)?;
    println!(
        "full snapshot: {} entries ({} revoked, {} suspended, {} extended): {} bytes",
        full.entries.len(),
        made.revoked,
        made.suspended,
        made.extended,
        full_bytes.len()
    );
    // 1,000 changes through the registry's own acts: revocations, suspensions and extensions.
    let mut rng = Rng(42);
    let mut changed = 0;
    let reason = rescard_core::Reason::parse("benchmark")?;
    while changed < 1000 {
        let serial = rescard_core::Serial::from_sequence(1 + rng.below(u64::from(cards)) as u32)?;
        let act = match changed % 3 {
            0 => registry.revoke(serial, &reason, "bench", now),
            1 => registry.suspend(serial, &reason, "bench", now),
            _ => registry.card(serial).and_then(|c| {
                let until =
                    rescard_core::ValidityPeriod::latest_end(c.valid_until + Duration::days(1));
                registry.extend(serial, until, &reason, "bench", now)
            }),
        };
        if act.is_ok() {
            changed += 1;
        }
    }
    let (delta_sequence, delta_entries) = registry.status_entries(sequence)?;
    let delta = Snapshot {
        sequence: delta_sequence,
        since: Some(sequence),
        issued_at: now,
        max_age_seconds: 86_400,
        entries: delta_entries,
    };
    let delta_bytes = delta.sign(&key)?;
    println!(
        "delta of {} changes: {} bytes",
        delta.entries.len(),
        delta_bytes.len()
    );

    let (opened, _) = Snapshot::open(&full_bytes, &trust)?;
    let view = StatusView::from_full(opened)?;
    let (_, payload) = made.sample.first().context("a sampled card")?;
    let (tbs, signature) = raw_parts(payload)?;
    let public = key.verifying_key();
    let check_now = now + Duration::hours(1);
    let rounds = 20_000;
    let mut raw = f64::MAX;
    let mut full_check = f64::MAX;
    for _ in 0..5 {
        raw = raw.min(best_of(1, rounds, || {
            black_box(public.verify_strict(black_box(&tbs), &signature)).ok();
        }));
        full_check = full_check.min(best_of(1, rounds, || {
            black_box(verify(black_box(payload), &trust, &view, check_now)).ok();
        }));
    }
    let cache = SignatureCache::new(1000);
    let first = rescard_core::verify_cached(payload, &trust, &view, check_now, &cache);
    let cached = best_of(5, rounds, || {
        black_box(rescard_core::verify_cached(
            black_box(payload),
            &trust,
            &view,
            check_now,
            &cache,
        ))
        .ok();
    });
    println!(
        "offline verify ({}): {:.1} µs; raw verify_strict {:.1} µs; repeated check {:.2} µs",
        first.map(|v| v.verdict.as_str()).unwrap_or("error"),
        full_check * 1e6,
        raw * 1e6,
        cached * 1e6
    );
    row(
        &format!("status snapshot, {cards} cards"),
        &format!("{} B", full_bytes.len()),
        "-",
        None,
        "< 262,144 B",
        Some(full_bytes.len() < 262_144),
    );
    row(
        &format!(
            "status delta after 1,000 acts ({} cards changed)",
            delta.entries.len()
        ),
        &format!("{} B", delta_bytes.len()),
        "-",
        None,
        "< 16,384 B",
        Some(delta_bytes.len() < 16_384),
    );
    let ratio = raw / full_check;
    row(
        "offline verify of a payload (rate)",
        &format!("{:.0}/s", 1.0 / full_check),
        &format!("verify_strict {:.0}/s", 1.0 / raw),
        Some(ratio),
        ">= 0.85",
        Some(ratio >= 0.85),
    );
    certified::row_for(payload, &trust, &key, &view, check_now)?;
    row(
        "repeated check of one card (rate)",
        &format!("{:.0}/s", 1.0 / cached),
        &format!("first check {:.0}/s", 1.0 / full_check),
        Some(full_check / cached),
        "> 1/verify_strict",
        Some(cached < raw),
    );
    Ok(())
}

/// `size` distinct cards signed by one key, and the time of one verify_strict per card over them.
fn distinct_cards(size: u32, key: &IssuerKey) -> Result<Vec<String>> {
    let now = Utc::now() - Duration::days(1);
    let base = reference::card();
    (1..=size)
        .map(|n| {
            let card = rescard_core::Card::new(
                rescard_core::Serial::from_sequence(n)?,
                base.itn(),
                base.holder().clone(),
                base.permit(),
                base.validity(),
                None,
            )?;
            Ok(rescard_core::codec::encode(&card, now, key)?)
        })
        .collect()
}

pub(crate) fn verify_strict_per_card(public: &VerifyingKey, parts: &[(Vec<u8>, Signature)]) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for (tbs, sig) in parts {
            black_box(public.verify_strict(black_box(tbs), sig)).ok();
        }
        best = best.min(t.elapsed().as_secs_f64() / parts.len() as f64);
    }
    best
}

fn batch(size: u32) -> Result<()> {
    let key = IssuerKey::from_seed(&[6; 32]);
    let trust = signed_trust(&key)?;
    let payloads = distinct_cards(size, &key)?;
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    let parts = payloads
        .iter()
        .map(|p| raw_parts(p))
        .collect::<Result<Vec<_>>>()?;
    // Inside the reference card's validity.
    let now = reference::card()
        .validity()
        .from()
        .and_hms_opt(12, 0, 0)
        .context("time")?
        .and_utc()
        + Duration::days(30);
    let single = verify_strict_per_card(&key.verifying_key(), &parts);
    let mut best = f64::MAX;
    let mut valid = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let Ok(results) =
            rescard_core::verify_batch(&refs, &trust, &rescard_core::NoStatus, now, None);
        best = best.min(t.elapsed().as_secs_f64() / f64::from(size));
        valid = results
            .iter()
            .filter(|r| r.verdict == rescard_core::Verdict::Valid)
            .count();
    }
    // Below the size from which a batch is split over the cores: what one core does.
    let one_core = best_of(3, 1, || {
        for part in refs.chunks(500) {
            black_box(rescard_core::verify_batch(
                part,
                &trust,
                &rescard_core::NoStatus,
                now,
                None,
            ))
            .ok();
        }
    }) / f64::from(size);
    let sequential = best_of(1, 1, || {
        for p in &refs {
            black_box(verify(p, &trust, &rescard_core::NoStatus, now)).ok();
        }
    }) / f64::from(size);
    println!(
        "verifier core, batch of {size}: {:.1} µs a card ({valid} valid); on one core (batches of 500) {:.1} µs; one verify() at a time {:.1} µs; verify_strict {:.1} µs",
        best * 1e6,
        one_core * 1e6,
        sequential * 1e6,
        single * 1e6
    );
    per_card_row(
        &format!("batch verification in the core, {size} cards (time per card)"),
        best,
        single,
    );
    Ok(())
}

/// The row of a batch figure: seconds a card against one verify_strict (goal: at most half).
pub(crate) fn per_card_row(figure: &str, per_card: f64, single: f64) {
    row(
        figure,
        &format!("{:.1} µs", per_card * 1e6),
        &format!("verify_strict {:.1} µs", single * 1e6),
        Some(per_card / single),
        "<= 0.5",
        Some(per_card / single <= 0.5),
    );
}

fn qr() -> Result<()> {
    let key = IssuerKey::from_seed(&[7; 32]);
    let payload = rescard_core::codec::encode(&reference::card(), Utc::now(), &key).expect("signs");
    let encode = best_of(5, 200, || {
        black_box(qrcode::QrCode::new(black_box(payload.as_bytes()))).ok();
    });
    let png = best_of(5, 200, || {
        black_box(rescard_qr::render_png(black_box(&payload), 6)).ok();
    });
    println!(
        "reference card QR: qrcode encode {:.0} µs; rescard render to PNG {:.0} µs",
        encode * 1e6,
        png * 1e6
    );
    row(
        "QR of the reference card to PNG (time)",
        &format!("{:.0} µs", png * 1e6),
        &format!("qrcode encode {:.0} µs", encode * 1e6),
        Some(png / encode),
        "report",
        None,
    );
    Ok(())
}

fn insert(dir: &Path, seconds: f64) -> Result<()> {
    let path = dir.join("baseline.sqlite");
    let conn = rusqlite::Connection::open(&path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS cards (serial TEXT PRIMARY KEY, payload TEXT NOT NULL)",
        [],
    )?;
    let payload = "RC1:".to_owned() + &"X".repeat(273);
    let mut statement = conn.prepare("INSERT INTO cards (serial, payload) VALUES (?1, ?2)")?;
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed().as_secs_f64() < seconds {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        statement.execute(rusqlite::params![format!("{n:09}"), payload])?;
        conn.execute_batch("COMMIT")?;
        n += 1;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    drop(statement);
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
    }
    println!(
        "bare rusqlite insert, one row per transaction, WAL, synchronous=FULL: {rate:.0} rows/s"
    );
    println!("BASELINE\t{rate:.1}");
    Ok(())
}

fn csv(rows: u32) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "surname,given_names,date_of_birth,nationality,permit,valid_from,valid_until,sex"
    )?;
    let today = rescard_core::domain::date::issuer_date(Utc::now());
    let from = today + Duration::days(1);
    let until = rescard_core::ValidityPeriod::latest_end(from);
    let mut rng = Rng(7);
    for i in 0..rows {
        // Spread the birth dates so that no date runs out of ITN sequence numbers.
        let dob = chrono::NaiveDate::from_ymd_opt(1965, 1, 1).context("date")?
            + Duration::days(i64::from(i % 14_000));
        let surname = ["IVANOVA", "KARIMOV", "WANG", "ALIEV", "SMIRNOVA"][rng.below(5) as usize];
        let given = ["OLGA", "TIMUR", "WEI", "AZAMAT", "ANNA"][rng.below(5) as usize];
        let nation = ["UZB", "RUS", "CHN", "KAZ", "TJK"][rng.below(5) as usize];
        let sex = ["F", "M"][rng.below(2) as usize];
        writeln!(
            out,
            "{surname},{given},{dob},{nation},work,{from},{until},{sex}"
        )?;
    }
    out.flush()?;
    Ok(())
}
