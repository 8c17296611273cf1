//! Two `rescard serve` replicas on one PostgreSQL database, as behind a load balancer: an act on one
//! shows on the other, a key rotated on the command line is used by both, and with the
//! database stopped they refuse what needs it with 503 `storage_unavailable`, go on checking cards
//! from memory with their true `status_as_of`, and recover by themselves when it is back.
//!
//! The test runs its own PostgreSQL cluster (`scripts/postgres`), since it stops it.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::reference_application;

/// A throw-away PostgreSQL cluster of this test's own.
pub struct Cluster {
    dir: tempfile::TempDir,
    /// Its URL, without a database.
    pub server: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres")
}

impl Cluster {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let out = Command::new(script())
            .arg("start")
            .arg(dir.path().join("pg"))
            .output()
            .expect("scripts/postgres");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let server = String::from_utf8(out.stdout)
            .expect("url")
            .trim()
            .to_owned();
        Self { dir, server }
    }

    /// A new database on it.
    pub fn database(&self, name: &str) -> String {
        rescard_store::postgres::run_batch(
            &format!("{}/postgres", self.server),
            &format!("CREATE DATABASE {name}"),
        )
        .expect("create database");
        format!("{}/{name}", self.server)
    }

    fn ctl(&self, args: &[&str]) {
        let status = Command::new(script())
            .arg(args[0])
            .arg(self.dir.path().join("pg"))
            .args(&args[1..])
            .status()
            .expect("scripts/postgres");
        assert!(status.success(), "scripts/postgres {args:?}");
    }

    /// Stops it as a crash would (`pg_ctl stop -m immediate`).
    pub fn crash(&self) {
        self.ctl(&["stop", "immediate"]);
    }

    /// Starts it again, on the same port.
    pub fn resume(&self) {
        self.ctl(&["resume"]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .arg("stop")
            .arg(self.dir.path().join("pg"))
            .status();
    }
}

/// A `rescard serve` process on `database`, with the key directory `keys` shared with the others.
pub struct Replica {
    pub child: Child,
    pub base: String,
    /// The first admin token, if this replica made it.
    pub admin_token: Option<String>,
}

impl Replica {
    pub fn start(keys: &Path, data: &Path, database: &str) -> Self {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("rescard"))
            .arg("--data")
            .arg(data)
            .arg("--keys")
            .arg(keys)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--verify-rate-limit", "1000000"])
            .env("RESCARD_DATABASE", database)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listening on ").nth(1) {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the replica started");
        // The first admin token is printed before the service listens.
        let mut admin_token = None;
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            if let Some(token) = line.strip_prefix("admin token: ") {
                admin_token = Some(token.to_owned());
            }
        }
        Self {
            child,
            base,
            admin_token,
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn verify(client: &reqwest::Client, replica: &Replica, payload: &str) -> Value {
    client
        .post(format!("{}/api/v1/verify", replica.base))
        .json(&json!({ "payload": payload }))
        .send()
        .await
        .expect("verify")
        .json()
        .await
        .expect("json")
}

async fn issue(
    client: &reqwest::Client,
    replica: &Replica,
    token: &str,
    passport: &str,
) -> reqwest::Response {
    let mut application = reference_application();
    let today = rescard_core::domain::date::issuer_date(Utc::now());
    application["valid_from"] = json!(today.to_string());
    application["valid_until"] = json!(rescard_core::ValidityPeriod::latest_end(today).to_string());
    application["passport_number"] = json!(passport);
    client
        .post(format!("{}/api/v1/cards", replica.base))
        .bearer_auth(token)
        .json(&application)
        .send()
        .await
        .expect("issue")
}

/// Polls `check` until it holds, for at most `limit`; how long it took.
async fn within<F, Fut>(limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_share_one_database_and_outlive_its_restart() {
    let cluster = Cluster::start();
    let database = cluster.database("registry");
    let dir = tempfile::tempdir().expect("dir");
    let keys = dir.path().join("keys");
    // The issuer key once, before the replicas start (as the README says to).
    let init = Command::new(assert_cmd::cargo::cargo_bin("rescard"))
        .arg("--keys")
        .arg(&keys)
        .arg("--data")
        .arg(dir.path().join("cli"))
        .arg("init")
        .env("RESCARD_DATABASE", &database)
        .output()
        .expect("init");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let token = String::from_utf8(init.stdout)
        .expect("text")
        .lines()
        .find_map(|l| l.strip_prefix("admin token: ").map(str::to_owned))
        .expect("init printed the admin token");
    let a = Replica::start(&keys, &dir.path().join("a"), &database);
    let b = Replica::start(&keys, &dir.path().join("b"), &database);
    assert_eq!(
        (&a.admin_token, &b.admin_token),
        (&None, &None),
        "the admin token is made once, by init"
    );
    let client = reqwest::Client::new();

    // Issued on A, checked on B; revoked on B, seen on A.
    let reply = issue(&client, &a, &token, "FA1234567").await;
    assert_eq!(reply.status(), 201);
    let card: Value = reply.json().await.expect("json");
    let payload = card["payload"].as_str().expect("payload").to_owned();
    assert_eq!(verify(&client, &b, &payload).await["verdict"], "valid");
    let revoked = client
        .post(format!(
            "{}/api/v1/cards/{}/revocation",
            b.base,
            card["serial"].as_str().expect("serial")
        ))
        .bearer_auth(&token)
        .json(&json!({"reason": "permit withdrawn"}))
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), 200);
    assert_eq!(verify(&client, &b, &payload).await["verdict"], "revoked");
    within(Duration::from_secs(10), || async {
        verify(&client, &a, &payload).await["verdict"] == "revoked"
    })
    .await;

    // A key rotated on one machine (the shared key directory) signs on both and verifies on both.
    let rotated = Command::new(assert_cmd::cargo::cargo_bin("rescard"))
        .arg("--keys")
        .arg(&keys)
        .arg("--data")
        .arg(dir.path().join("cli"))
        .args(["keys", "rotate"])
        .env("RESCARD_DATABASE", &database)
        .output()
        .expect("rotate");
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let new_kid = crate::helpers::active_kid(&rescard_store::Location::Postgres(database.clone()));
    // B follows the registry's trust list: within a few of its cards, one is signed with the new key.
    let start = Instant::now();
    let mut signed_with_new = None;
    while signed_with_new.is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "B never signed with the new key"
        );
        let reply = issue(&client, &b, &token, &format!("FR{:07}", rand_suffix())).await;
        assert_eq!(reply.status(), 201);
        let card: Value = reply.json().await.expect("json");
        let payload = card["payload"].as_str().expect("payload").to_owned();
        if verify(&client, &b, &payload).await["kid"] == new_kid.as_str() {
            signed_with_new = Some(payload);
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let fresh = signed_with_new.expect("a card signed with the new key");
    assert_eq!(verify(&client, &a, &fresh).await["verdict"], "valid");

    // The database stops as in a crash.
    cluster.crash();
    let down = issue(&client, &a, &token, "FD0000001").await;
    assert_eq!(down.status(), 503);
    assert!(down.headers().contains_key("retry-after"));
    let body: Value = down.json().await.expect("json");
    assert_eq!(body["error"]["code"], "storage_unavailable", "{body}");
    let health = client
        .get(format!("{}/healthz", b.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 503);
    // Checks go on from memory, and say how old what they know is.
    assert_eq!(verify(&client, &a, &payload).await["verdict"], "revoked");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let check = verify(&client, &b, &fresh).await;
    assert_eq!(check["verdict"], "valid");
    let as_of: DateTime<Utc> = check["status_as_of"]
        .as_str()
        .expect("as of")
        .parse()
        .expect("time");
    assert!(
        Utc::now() - as_of >= chrono::Duration::seconds(2),
        "{check}"
    );

    // Back: both recover by themselves.
    cluster.resume();
    for replica in [&a, &b] {
        within(Duration::from_secs(30), || async {
            client
                .get(format!("{}/healthz", replica.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
    }
    let reply = issue(&client, &b, &token, "FB0000001").await;
    assert_eq!(reply.status(), 201);
    let after: Value = reply.json().await.expect("json");
    let after = after["payload"].as_str().expect("payload").to_owned();
    // A hears from the registry again at its follower's next turn: its checks are current again.
    within(Duration::from_secs(10), || async {
        let check = verify(&client, &a, &after).await;
        let as_of: DateTime<Utc> = check["status_as_of"]
            .as_str()
            .expect("as of")
            .parse()
            .expect("time");
        check["verdict"] == "valid" && Utc::now() - as_of < chrono::Duration::seconds(2)
    })
    .await;
}

fn rand_suffix() -> u32 {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("random");
    u32::from_le_bytes(bytes) % 10_000_000
}
