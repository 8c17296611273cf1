//! A fresh issuing machine (key and data directories) per test, and the `rescard` command on it.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use assert_cmd::Command;
use chrono::{Duration, NaiveDate, Utc};
use rescard_core::domain::date::issuer_date;
use rescard_core::{Kid, ValidityPeriod};

/// The id of the committed test issuer key (`keys/test/issuer.pem`), which signs every fixture.
pub const FIXTURE_KID: &str = "10ba682c8ad13513";

/// An initialised issuing machine in a temporary directory.
pub struct Machine {
    pub dir: tempfile::TempDir,
    /// `--keys` when it is not the key directory: an HSM token's URI.
    keys_arg: Option<String>,
    /// What the commands' environment adds (the HSM's configuration).
    env: Vec<(String, PathBuf)>,
}

impl Machine {
    /// Runs `rescard init` in a new directory.
    pub fn new() -> Self {
        let m = Self::empty();
        m.run(&["init"]).assert().success();
        m
    }

    /// A checker: no registry and no issuer keys, only what it synced. It accepted the fixtures'
    /// signed trust list pinned to the test key, and with `status` their snapshot and delta, as
    /// `rescard sync URL --pin KID` would from a service serving them.
    pub fn fixture_checker(status: bool) -> Self {
        let m = Self::empty();
        let checker = rescard::checker::Checker::new(&m.data());
        let read = |rel: &str| std::fs::read(crate::fixtures::path(rel)).expect("fixture");
        let trust = checker
            .accept_trust(
                &read("trust.cose"),
                Kid::parse_hex(FIXTURE_KID).map(rescard::checker::Anchor::Key),
            )
            .expect("the fixtures' trust list");
        if status {
            for part in ["status/full.cose", "status/delta.cose"] {
                checker
                    .accept_status(&read(part), &trust.status_keys)
                    .expect("the fixtures' status");
            }
        }
        m
    }

    /// A directory with nothing in it yet.
    pub fn empty() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            keys_arg: None,
            env: Vec::new(),
        }
    }

    /// A directory with nothing in it yet, whose commands keep their issuer keys in `hsm`.
    pub fn with_hsm(hsm: &crate::hsm::SoftHsm) -> Self {
        Self::with_token(hsm, &hsm.uri())
    }

    /// The same, naming the token by `uri`.
    pub fn with_token(hsm: &crate::hsm::SoftHsm, uri: &str) -> Self {
        let mut m = Self::empty();
        m.keys_arg = Some(uri.to_owned());
        m.env.push(("SOFTHSM2_CONF".into(), hsm.conf()));
        m
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn keys(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `rescard ARGS` on this machine, as officer `test-officer`.
    pub fn run(&self, args: &[&str]) -> Command {
        Command::from_std(self.command(args))
    }

    /// The same, as a plain process command (to handle its pipes by hand).
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("rescard"));
        cmd.env_remove("RESCARD_DATA")
            .env_remove("RESCARD_DATABASE")
            .env_remove("RESCARD_KEYS")
            .env("RESCARD_ACTOR", "test-officer")
            .arg("--data")
            .arg(self.data())
            .arg("--keys")
            .arg(
                self.keys_arg
                    .as_deref()
                    .map_or_else(|| self.keys().into_os_string(), Into::into),
            )
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(args);
        cmd
    }

    /// Issues the reference holder's card, valid from today for a year, and returns `issue --json`.
    pub fn issue(&self, extra: &[&str]) -> serde_json::Value {
        let (from, until) = this_year();
        let mut args = vec![
            "issue",
            "--surname",
            "ABDYKADYROVA-NURLANOVA",
            "--given-names",
            "AIGERIM ZHANYBEKOVNA",
            "--date-of-birth",
            "1991-04-17",
            "--sex",
            "F",
            "--nationality",
            "UZB",
            "--permit",
            "work",
            "--valid-from",
            &from,
            "--valid-until",
            &until,
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = self.run(&args).output().expect("run");
        assert!(
            out.status.success(),
            "issue failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("issue --json")
    }

    /// `rescard ARGS`, which must succeed: its standard output.
    pub fn stdout(&self, args: &[&str]) -> String {
        let out = self.run(args).output().expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// `verify INPUT --json [more]`: the exit code and the JSON.
    pub fn verify(&self, input: &str, more: &[&str]) -> (i32, serde_json::Value) {
        let mut args = vec!["verify", input, "--json"];
        args.extend_from_slice(more);
        let out = self.run(&args).output().expect("run");
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "verify printed no JSON: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().expect("exit code"), json)
    }
}

/// Today in Bishkek, and the longest validity from it.
pub fn this_year() -> (String, String) {
    let today = today();
    (
        today.to_string(),
        ValidityPeriod::latest_end(today).to_string(),
    )
}

pub fn today() -> NaiveDate {
    issuer_date(Utc::now())
}

/// The date `days` from today, as text.
pub fn days_from_today(days: i64) -> String {
    (today() + Duration::days(days)).to_string()
}

/// Whether `path` exists.
pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// `rescard serve` in the background on `m`, and the address it listens on.
pub struct Serving {
    child: Child,
    pub url: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

pub fn serve(m: &Machine) -> Serving {
    let mut child = m
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the service stopped before listening")
            .expect("log");
        if let Some(at) = line.find("listening on http://") {
            break line[at + "listening on ".len()..].trim().to_owned();
        }
    };
    // The rest of the log is read so that the service never blocks on it.
    std::thread::spawn(move || lines.for_each(drop));
    Serving { child, url }
}
