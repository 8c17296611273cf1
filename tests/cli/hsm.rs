//! Issuer keys in an HSM: SoftHSM2 (Debian's `softhsm2`; scripts/test installs it), a token made
//! for each test in its own directory. The keys are made in the token, sign there, rotate and
//! retire as in a key directory, and no private key is ever in a file.

use std::path::{Path, PathBuf};
use std::process::Command;

use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;

use crate::helpers::{Machine, serve};

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

fn kids(m: &Machine) -> Vec<(String, String)> {
    let list: Value = serde_json::from_str(&m.stdout(&["keys", "list", "--json"])).expect("json");
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
    let list = m.stdout(&["keys", "list"]);
    assert!(
        list.contains(&format!("{first}  active"))
            && list.contains("in the HSM: non-extractable (never was), sensitive"),
        "{list}"
    );
    let card = m.issue(&[]);
    let old_payload = card["payload"].as_str().expect("payload").to_owned();
    assert_eq!(verdict(&m, &old_payload), "valid");

    let rotated = m.stdout(&["keys", "rotate"]);
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
    let shown = m.stdout(&["show", card["serial"].as_str().expect("serial")]);
    assert!(shown.contains(&second), "{shown}");
    assert_eq!(verdict(&m, &old_payload), "valid");
    assert_eq!(verdict(&m, &new_payload), "valid");

    m.run(&["keys", "retire", &first])
        .assert()
        .success()
        .stderr(contains("could not be removed").not());
    assert_eq!(verdict(&m, &old_payload), "unknown_issuer");
    assert_eq!(verdict(&m, &new_payload), "valid");
    let list = m.stdout(&["keys", "list"]);
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

#[test]
fn a_root_kept_in_a_token_certifies_the_issuer_key_beside_it() {
    let hsm = SoftHsm::new();
    let m = Machine::with_hsm(&hsm);
    m.run(&["init"]).assert().success();
    let [(kid, _)] = kids(&m).try_into().expect("one key");
    // The root under a label of its own in the token.
    let root = hsm.uri().replace("object=rescard", "object=rescard-root");
    let root_file = m.path("root.json");
    m.run(&[
        "root",
        "init",
        "--root-key",
        &root,
        "--out",
        root_file.to_str().expect("path"),
    ])
    .assert()
    .success()
    .stdout(contains("fingerprint"));
    m.run(&[
        "root",
        "certify",
        &kid,
        "--not-after",
        &crate::helpers::days_from_today(90),
        "--root-key",
        &root,
    ])
    .assert()
    .success();
    // The issuer key is alone under its label: the root does not count as one of its keys.
    assert_eq!(kids(&m).len(), 1);
    let card = m.issue(&[]);
    assert_eq!(
        verdict(&m, card["payload"].as_str().expect("payload")),
        "valid"
    );
}
