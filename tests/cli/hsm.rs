//! Issuer keys in an HSM: SoftHSM2 (Debian's `softhsm2`; scripts/test installs it), a token made
//! for each test in its own directory. The keys are made in the token, sign there, rotate and
//! retire as in a key directory, and no private key is ever in a file.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;

use crate::helpers::Machine;

/// Debian's SoftHSM2 module.
const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const LABEL: &str = "rescard issuing";
const USER_PIN: &str = "472913";

/// A SoftHSM2 configuration and token store in a temporary directory, with one initialised token.
pub struct SoftHsm {
    dir: tempfile::TempDir,
}

impl SoftHsm {
    pub fn new() -> Self {
        assert!(
            Path::new(MODULE).exists(),
            "SoftHSM2 is missing: run scripts/test, or apt-get install softhsm2"
        );
        let dir = tempfile::tempdir().expect("dir");
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).expect("tokens");
        let hsm = Self { dir };
        std::fs::write(
            hsm.conf(),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .expect("conf");
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", hsm.conf())
            .args(["--init-token", "--free", "--label", LABEL])
            .args(["--so-pin", "11223344", "--pin", USER_PIN])
            .output()
            .expect("softhsm2-util");
        assert!(
            out.status.success(),
            "softhsm2-util: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(hsm.pin_file(), format!("{USER_PIN}\n")).expect("pin");
        hsm
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    fn pin_file(&self) -> PathBuf {
        self.dir.path().join("pin")
    }

    /// The token's URI, the PIN read from a file.
    pub fn uri(&self) -> String {
        format!(
            "pkcs11:token=rescard%20issuing;object=rescard?module-path={MODULE}&pin-source=file:{}",
            self.pin_file().display()
        )
    }
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn stdout(m: &Machine, args: &[&str]) -> String {
    let out = m.run(args).output().expect("run");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn kids(m: &Machine) -> Vec<(String, String)> {
    let list: Value = serde_json::from_str(&stdout(m, &["keys", "list", "--json"])).expect("json");
    list.as_array()
        .expect("array")
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().expect("kid").to_owned(),
                k["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

fn verdict(m: &Machine, payload: &str) -> String {
    m.verify(payload, &[]).1["verdict"]
        .as_str()
        .expect("verdict")
        .to_owned()
}

#[test]
fn keys_made_in_the_token_sign_rotate_and_retire_and_never_leave_it() {
    let hsm = SoftHsm::new();
    let m = Machine::with_hsm(&hsm);
    m.run(&["keys", "create", "--pkcs11", &hsm.uri()])
        .assert()
        .success()
        .stdout(contains("created in the HSM").and(contains("non-extractable")));
    let [(first, _)] = kids(&m).try_into().expect("one key");
    // The token itself says the key cannot leave it.
    let list = stdout(&m, &["keys", "list"]);
    assert!(
        list.contains(&format!("{first}  active"))
            && list.contains("in the HSM: non-extractable (never was), sensitive"),
        "{list}"
    );
    let card = m.issue(&[]);
    let old_payload = card["payload"].as_str().expect("payload").to_owned();
    assert_eq!(verdict(&m, &old_payload), "valid");

    let rotated = stdout(&m, &["keys", "rotate"]);
    let keys = kids(&m);
    let (second, _) = keys
        .iter()
        .find(|(_, s)| s == "active")
        .expect("an active key")
        .clone();
    assert!(rotated.contains(&second) && second != first, "{rotated}");
    // The new key signs once it begins, a moment after the rotation.
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    let card = m.issue(&[]);
    let new_payload = card["payload"].as_str().expect("payload").to_owned();
    let shown = stdout(&m, &["show", card["serial"].as_str().expect("serial")]);
    assert!(shown.contains(&second), "{shown}");
    assert_eq!(verdict(&m, &old_payload), "valid");
    assert_eq!(verdict(&m, &new_payload), "valid");

    m.run(&["keys", "retire", &first])
        .assert()
        .success()
        .stderr(contains("could not be removed").not());
    assert_eq!(verdict(&m, &old_payload), "unknown_issuer");
    assert_eq!(verdict(&m, &new_payload), "valid");
    let list = stdout(&m, &["keys", "list"]);
    let retired = list
        .lines()
        .find(|l| l.starts_with(&first))
        .expect("retired key");
    assert!(retired.contains("not in the HSM"), "{list}");

    // No private key anywhere on disk outside the token store.
    for file in files(m.dir.path()) {
        let text = std::fs::read(&file).expect("read");
        assert!(
            !String::from_utf8_lossy(&text).contains("PRIVATE KEY"),
            "{}",
            file.display()
        );
    }
    assert!(!m.keys().exists());
}

/// `rescard serve` in the background on `m`, and the address it listens on.
struct Serving {
    child: Child,
    url: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn serve(m: &Machine) -> Serving {
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

#[test]
fn the_service_signs_in_the_token_and_a_checker_syncs_across_a_rotation() {
    let hsm = SoftHsm::new();
    let m = Machine::with_hsm(&hsm);
    m.run(&["init"])
        .assert()
        .success()
        .stdout(contains("created in the HSM"));
    let [(first, _)] = kids(&m).try_into().expect("one key");
    let card = m.issue(&[]);
    let payload = card["payload"].as_str().expect("payload").to_owned();
    let service = serve(&m);

    // The checker pins the first key and syncs the trust list and the status the service signs.
    let checker = Machine::empty();
    checker
        .run(&["sync", &service.url, "--pin", &first])
        .assert()
        .success()
        .stdout(contains("1 keys (1 active"));
    assert_eq!(verdict(&checker, &payload), "valid");

    // A rotation on the command line reaches the running service through the registry and the
    // token: the list it then signs with both keys brings the checker the new one.
    m.run(&["keys", "rotate"]).assert().success();
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    let card = m.issue(&[]);
    let rotated = card["payload"].as_str().expect("payload").to_owned();
    checker
        .run(&["sync", &service.url])
        .assert()
        .success()
        .stdout(contains("2 keys (1 active, 1 verify-only"));
    assert_eq!(verdict(&checker, &payload), "valid");
    assert_eq!(verdict(&checker, &rotated), "valid");
    drop(service);
}

#[test]
fn a_token_uri_that_is_wrong_says_what_is_wrong() {
    let hsm = SoftHsm::new();
    let m = Machine::with_hsm(&hsm);
    let uri = hsm.uri();
    let cases = [
        (
            uri.replace("rescard%20issuing", "no-such-token"),
            "no initialised token matches; the module has rescard issuing",
        ),
        (
            uri.replace("pin-source=file:", "pin-source=file:/nonexistent"),
            "reading the PIN",
        ),
        (
            format!("{}&pin-value=1234", uri),
            "never given on the command line",
        ),
        (
            uri.replace(MODULE, "/nonexistent/module.so"),
            "no PKCS#11 module at /nonexistent/module.so",
        ),
    ];
    for (bad, says) in cases {
        Machine::with_token(&hsm, &bad)
            .run(&["init"])
            .assert()
            .failure()
            .stderr(contains(says));
    }
    // A wrong PIN is refused by the token, and nothing is half made.
    let wrong = hsm.dir.path().join("wrong-pin");
    std::fs::write(&wrong, "000000\n").expect("pin");
    let bad = uri.replace(
        &format!("file:{}", hsm.pin_file().display()),
        &format!("file:{}", wrong.display()),
    );
    m.run(&["keys", "create", "--pkcs11", &bad])
        .assert()
        .failure()
        .stderr(contains("the token refused the PIN"));
    assert!(kids(&m).is_empty(), "no key trusted");
    // With the right one, the first key is made; a second `keys create` makes nothing.
    m.run(&["keys", "create", "--pkcs11", &uri])
        .assert()
        .success();
    m.run(&["keys", "create", "--pkcs11", &uri])
        .assert()
        .code(1)
        .stderr(contains("already trusts 1 issuer key"));
    assert_eq!(kids(&m).len(), 1);
}
