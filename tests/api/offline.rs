//! A server and an offline checker in two data directories: sync, acts, rotation, forged and
//! rolled-back snapshots.

use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use rescard::checker::{Checker, STATUS_FILE};
use rescard_core::ValidityPeriod;
use rescard_core::domain::date::issuer_date;
use serde_json::{Value, json};

pub(crate) struct Server {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) location: rescard_store::Location,
    pub(crate) base: String,
    pub(crate) token: String,
    pub(crate) client: reqwest::Client,
}

impl Server {
    pub(crate) async fn start() -> Self {
        let live = crate::helpers::live_server(
            rescard::server::ServiceConfig::default(),
            std::future::pending(),
        )
        .await;
        Self {
            base: live.base.clone(),
            token: live.token.clone(),
            location: live.location.clone(),
            dir: live.dir,
            client: reqwest::Client::new(),
        }
    }

    pub(crate) fn keys(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("send");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.expect("json")
    }

    pub(crate) async fn issue(&self, passport: &str) -> Value {
        let today = issuer_date(Utc::now());
        self.post(
            "/api/v1/cards",
            json!({
                "surname": "ABDYKADYROVA-NURLANOVA", "given_names": "AIGERIM ZHANYBEKOVNA", "date_of_birth": "1991-04-17",
                "nationality": "UZB", "permit": "work", "valid_from": today.to_string(),
                "valid_until": ValidityPeriod::latest_end(today).to_string(), "passport_number": passport,
            }),
        )
        .await
    }

    /// Runs `rescard` on the server's registry and key directory (rotate, retire, keys list).
    pub(crate) fn cli(&self, args: &[&str]) -> std::process::Output {
        assert_cmd::Command::cargo_bin("rescard")
            .expect("bin")
            .arg("--keys")
            .arg(self.keys())
            .arg("--data")
            .arg(self.dir.path().join("cli"))
            .arg("--database")
            .arg(crate::helpers::database_arg(&self.location))
            .args(args)
            .output()
            .expect("run")
    }

    /// The registry's active issuer key.
    pub(crate) fn active_kid(&self) -> String {
        crate::helpers::active_kid(&self.location)
    }

    /// `rescard keys ARGS` (rotate, retire), then waits until the service uses the registry's new
    /// trust list (its follower reads the list's version every tenth of a second) and a rotated key
    /// has begun to sign.
    pub(crate) async fn change_keys(&self, args: &[&str]) {
        let out = self.cli(&[&["keys"], args].concat());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (_, list) = rescard_store::Registry::connect(&self.location)
            .expect("registry")
            .trust_list()
            .expect("trust list");
        let want = serde_json::to_value(list.keys()).expect("json");
        let start = std::time::Instant::now();
        loop {
            let keys: Value = self
                .client
                .get(format!("{}/api/v1/keys", self.base))
                .send()
                .await
                .expect("keys")
                .json()
                .await
                .expect("json");
            if keys == want {
                break;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(5),
                "the service never took the new key: {keys}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if let Some(active) = list
            .keys()
            .iter()
            .find(|k| k.status == rescard_core::KeyStatus::Active)
        {
            let wait = (active.not_before - Utc::now())
                .to_std()
                .unwrap_or_default();
            tokio::time::sleep(wait).await;
        }
    }
}

/// `rescard` on a checker's data directory: no registry, no keys of its own.
pub(crate) fn checker(dir: &Path, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("rescard")
        .expect("bin")
        .arg("--data")
        .arg(dir)
        .arg("--keys")
        .arg(dir.join("no-keys"))
        .env_remove("RESCARD_DATA")
        .env_remove("RESCARD_KEYS")
        .args(args)
        .output()
        .expect("run")
}

pub(crate) fn verify(dir: &Path, payload: &str, at: Option<&str>) -> (i32, Value, String) {
    let mut args = vec!["verify", payload, "--json"];
    if let Some(at) = at {
        args.extend(["--at", at]);
    }
    let out = checker(dir, &args);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (
        out.status.code().expect("code"),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn sync(dir: &Path, base: &str, pin: Option<&str>) -> std::process::Output {
    let mut args = vec!["sync", base];
    if let Some(pin) = pin {
        args.extend(["--pin", pin]);
    }
    checker(dir, &args)
}

pub(crate) fn payload(card: &Value) -> String {
    card["payload"].as_str().expect("payload").to_owned()
}

fn days_ahead(days: i64) -> String {
    (issuer_date(Utc::now()) + Duration::days(days)).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offline_checker_follows_acts_and_rotations_through_signed_snapshots() {
    let server = Server::start().await;
    let check = tempfile::tempdir().expect("checker dir");
    let dir = check.path();
    let a = server.issue("AA0000001").await;
    let b = server.issue("BB0000002").await;
    let sb = b["serial"].as_str().expect("serial").to_owned();
    server
        .post(
            &format!("/api/v1/cards/{sb}/suspension"),
            json!({"reason": "check"}),
        )
        .await;
    let r = server
        .client
        .delete(format!("{}/api/v1/cards/{sb}/suspension", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("del");
    assert!(r.status().is_success());

    // No trust yet: the first sync needs the pin, and a wrong pin is refused.
    let kid = String::from_utf8(server.cli(&["keys", "list", "--json"]).stdout).expect("utf8");
    let kid = serde_json::from_str::<Value>(&kid).expect("json")[0]["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    assert!(!sync(dir, &server.base, None).status.success());
    assert!(
        !sync(dir, &server.base, Some("0123456789abcdef"))
            .status
            .success()
    );
    assert!(
        !dir.join(STATUS_FILE).exists(),
        "a refused sync writes nothing"
    );
    let out = sync(dir, &server.base, Some(&kid));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("full snapshot"));

    let (code, v, _) = verify(dir, &payload(&a), None);
    assert_eq!((code, v["status_source"].as_str()), (0, Some("snapshot")));
    assert!(v["status_as_of"].is_string());

    // Acts on the server reach the checker as a delta.
    let sa = a["serial"].as_str().expect("serial").to_owned();
    server
        .post(
            &format!("/api/v1/cards/{sa}/extensions"),
            json!({"valid_until": days_ahead(600), "reason": "renewal"}),
        )
        .await;
    server
        .post(
            &format!("/api/v1/cards/{sb}/revocation"),
            json!({"reason": "fraud"}),
        )
        .await;
    let (code, _, _) = verify(dir, &payload(&b), None);
    assert_eq!(
        code, 0,
        "before the sync the checker cannot know of the revocation"
    );
    let out = sync(dir, &server.base, None);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("delta"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (code, v, _) = verify(dir, &payload(&b), None);
    assert_eq!((code, v["verdict"].as_str()), (13, Some("revoked")));
    let (code, v, _) = verify(dir, &payload(&a), None);
    assert_eq!(
        (code, v["valid_until"].as_str()),
        (0, Some(days_ahead(600).as_str()))
    );
    assert_ne!(v["valid_until"], v["printed_valid_until"]);

    // Rotation: new cards are signed by the new key, old ones still verify, online and offline.
    server.change_keys(&["rotate"]).await;
    let c = server.issue("CC0000003").await;
    assert_ne!(
        verify(dir, &payload(&c), None).0,
        0,
        "the checker has not seen the new key yet"
    );
    sync(dir, &server.base, None);
    assert_eq!(verify(dir, &payload(&c), None).0, 0);
    assert_eq!(verify(dir, &payload(&a), None).0, 0);
    let online: Value = server
        .client
        .post(format!("{}/api/v1/verify", server.base))
        .json(&json!({"payload": payload(&a)}))
        .send()
        .await
        .expect("verify")
        .json()
        .await
        .expect("json");
    assert_eq!(online["verdict"], "valid");

    // Retiring the old key: its cards become unknown_issuer once the checker syncs.
    server.change_keys(&["retire", &kid]).await;
    sync(dir, &server.base, None);
    let (code, v, _) = verify(dir, &payload(&a), None);
    assert_eq!((code, v["verdict"].as_str()), (21, Some("unknown_issuer")));
    assert_eq!(verify(dir, &payload(&c), None).0, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_and_rolled_back_snapshots_are_refused_and_change_nothing() {
    let server = Server::start().await;
    let check = tempfile::tempdir().expect("checker dir");
    let dir = check.path();
    let a = server.issue("AA0000001").await;
    let kid = server.active_kid();
    assert!(sync(dir, &server.base, Some(&kid)).status.success());
    let old = server
        .client
        .get(format!("{}/api/v1/status", server.base))
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes")
        .to_vec();
    let sa = a["serial"].as_str().expect("serial").to_owned();
    server
        .post(
            &format!("/api/v1/cards/{sa}/revocation"),
            json!({"reason": "fraud"}),
        )
        .await;
    assert!(sync(dir, &server.base, None).status.success());
    let held = std::fs::read(dir.join(STATUS_FILE)).expect("status");

    let c = Checker::new(dir);
    let trust = c.trust().expect("trust").expect("some").status_keys;
    // An older snapshot, genuinely signed: a rollback that would un-revoke the card.
    let err = c.accept_status(&old, &trust).expect_err("rollback");
    assert!(format!("{err:#}").contains("backwards"), "{err:#}");
    // A snapshot whose bytes were changed.
    let mut forged = server
        .client
        .get(format!("{}/api/v1/status", server.base))
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("b")
        .to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(c.accept_status(&forged, &trust).is_err());
    // A snapshot signed by a key the checker does not trust.
    let stranger = rescard_core::IssuerKey::from_seed(&[77; 32]);
    let fake = rescard_core::status::Snapshot {
        sequence: 99,
        since: None,
        issued_at: Utc::now(),
        max_age_seconds: 86_400,
        entries: vec![],
    }
    .sign(&stranger)
    .expect("signs");
    assert!(c.accept_status(&fake, &trust).is_err());
    // A cut-off download.
    assert!(c.accept_status(&old[..old.len() / 2], &trust).is_err());
    assert_eq!(
        std::fs::read(dir.join(STATUS_FILE)).expect("status"),
        held,
        "nothing was replaced"
    );
    assert_eq!(verify(dir, &payload(&a), None).1["verdict"], "revoked");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_snapshot_is_marked_stale_and_a_clock_behind_it_is_called_wrong() {
    let server = Server::start().await;
    let check = tempfile::tempdir().expect("checker dir");
    let dir = check.path();
    let a = server.issue("AA0000001").await;
    let kid = server.active_kid();
    assert!(sync(dir, &server.base, Some(&kid)).status.success());
    let two_days = (Utc::now() + Duration::days(2)).to_rfc3339();
    let (code, v, stderr) = verify(dir, &payload(&a), Some(&two_days));
    assert_eq!((code, v["status_stale"].as_bool()), (0, Some(true)));
    assert!(stderr.contains("older than the 24 hours"), "{stderr}");
    let yesterday = (Utc::now() - Duration::days(1)).to_rfc3339();
    let (_, v, stderr) = verify(dir, &payload(&a), Some(&yesterday));
    assert_eq!(v["status_stale"], false);
    assert!(stderr.contains("clock is wrong"), "{stderr}");
    let (_, v, stderr) = verify(dir, &payload(&a), None);
    assert_eq!(v["status_stale"], false);
    assert!(stderr.is_empty(), "{stderr}");
}
