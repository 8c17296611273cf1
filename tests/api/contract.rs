//! The OpenAPI document against the running service: schemathesis (the version pinned in
//! `requirements-contract.txt`, which `scripts/test` installs) generates requests, valid and not, for
//! every operation of `GET /api/v1/openapi.json`, sends them to `rescard serve` on a loopback port
//! without a token and then with an admin token, and runs every check it has on the answers
//! (`--checks all`): no server errors, only documented statuses, bodies and headers, schema-breaking
//! requests refused and schema-keeping ones accepted. `schemathesis.toml` beside this file says the
//! little that the document cannot.
//!
//! Without schemathesis the test fails and says how to install it. A developer who cannot run it may
//! set `RESCARD_SKIP_CONTRACT=1`; CI (`CI` set) runs it regardless.

use std::io::Read as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use rescard_core::ValidityPeriod;
use rescard_core::domain::date::issuer_date;
use serde_json::{Value, json};

/// Generated cases per operation and phase: enough to find a missing status or constraint, few enough
/// for the two runs to take well under two minutes on two cores.
const MAX_EXAMPLES: &str = "25";
/// Fixed, so a failure in CI reproduces; change it to explore other cases.
const SEED: &str = "20261201";
/// The longest one run may take before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(150);

/// The pinned version, from the requirements file `scripts/test` installs.
fn pinned_version() -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/requirements-contract.txt");
    std::fs::read_to_string(&file)
        .expect("requirements-contract.txt")
        .lines()
        .find_map(|l| l.strip_prefix("schemathesis=="))
        .expect("a schemathesis==VERSION line")
        .trim()
        .to_owned()
}

/// Whether schemathesis at the pinned version is here; panics, saying how to get it, when it is not,
/// unless a developer asked to skip.
fn schemathesis_present() -> bool {
    let want = pinned_version();
    let have = Command::new("python3")
        .args(["-c", "import schemathesis; print(schemathesis.__version__)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if have.as_deref() == Some(want.as_str()) {
        return true;
    }
    let problem = match have {
        Some(v) => {
            format!("schemathesis {v} is installed, but the contract test is pinned to {want}")
        }
        None => "schemathesis is not installed".to_owned(),
    };
    if std::env::var_os("RESCARD_SKIP_CONTRACT").is_some() && std::env::var_os("CI").is_none() {
        eprintln!("skipping the OpenAPI contract test ({problem}; RESCARD_SKIP_CONTRACT is set)");
        return false;
    }
    panic!(
        "{problem}: run scripts/test, or `python3 -m pip install -r tests/api/requirements-contract.txt`; \
         a developer who cannot may set RESCARD_SKIP_CONTRACT=1 to skip this test"
    );
}

/// The service, stopped when dropped.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn post(agent: &ureq::Agent, url: &str, token: &str, body: &Value) -> Value {
    let mut reply = agent
        .post(url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .expect("send");
    assert!(reply.status().is_success(), "{url}: {}", reply.status());
    serde_json::from_str(&reply.body_mut().read_to_string().expect("body")).expect("json")
}

/// Runs schemathesis on the service with `config`, with `extra` arguments; returns whether every
/// check passed, and its report.
fn schemathesis(work: &Path, config: &Path, base: &str, extra: &[&str]) -> (bool, String) {
    let mut child = Command::new("python3")
        .args(["-m", "schemathesis.cli", "--no-color", "--config-file"])
        .arg(config)
        .arg("run")
        .arg(format!("{base}/api/v1/openapi.json"))
        .args([
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            SEED,
        ])
        // One worker: the runs are small, and Hypothesis's source inspection is not thread-safe.
        .args(["--workers", "1", "--generation-database", "none"])
        .args(extra)
        // Whatever it keeps between runs stays in the test's own directory.
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 -m schemathesis.cli");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
        text + &rest
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let report = reader.join().expect("output");
    match status {
        Some(status) => (status.success(), report),
        None => (
            false,
            format!("schemathesis took longer than {RUN_LIMIT:?} and was stopped\n{report}"),
        ),
    }
}

#[test]
fn the_openapi_document_holds_for_the_running_service() {
    if !schemathesis_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    // Generous allowances: schemathesis sends hundreds of requests from one address, many of them with
    // a bad token, and a 429 where it expects a 401 is not what this test is about.
    let (child, base, token) = crate::helpers::serve_binary(
        dir.path(),
        &[
            "--signin-failure-limit",
            "1000000",
            "--verify-rate-limit",
            "1000000",
        ],
    );
    let _service = Service(child);
    let admin = token.expect("the admin token");

    // A card to read and a token to revoke, so those operations answer more than 404. The acts on a
    // card are left to generated serials: each would end the card's state after its first success.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let today = issuer_date(Utc::now());
    let card = post(
        &agent,
        &format!("{base}/api/v1/cards"),
        &admin,
        &json!({
            "surname": "ABDYKADYROVA-NURLANOVA", "given_names": "AIGERIM ZHANYBEKOVNA",
            "date_of_birth": "1991-04-17", "sex": "F", "nationality": "UZB", "permit": "work",
            "valid_from": today.to_string(), "valid_until": ValidityPeriod::latest_end(today).to_string(),
        }),
    );
    post(
        &agent,
        &format!("{base}/api/v1/tokens"),
        &admin,
        &json!({"name": "contract-spare", "role": "police"}),
    );
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/schemathesis.toml"),
    )
    .expect("schemathesis.toml");
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            "{committed}\n# Added by the test.\n\
             [[operations]]\ninclude-method = \"GET\"\ninclude-path-regex = '^/api/v1/cards/\\{{serial\\}}'\n\
             parameters = {{ \"path.serial\" = \"{serial}\" }}\n\n\
             [[operations]]\ninclude-name = \"DELETE /api/v1/tokens/{{name}}\"\n\
             parameters = {{ \"path.name\" = \"contract-spare\" }}\n",
            serial = card["serial"].as_str().expect("serial"),
        ),
    )
    .expect("config");

    let bearer = format!("Authorization: Bearer {admin}");
    let mut failed = Vec::new();
    for (who, extra) in [
        ("without a token", vec![]),
        ("with an admin token", vec!["-H", bearer.as_str()]),
    ] {
        let started = Instant::now();
        let (passed, report) = schemathesis(dir.path(), &config, &base, &extra);
        eprintln!("schemathesis {who}: {:.0?}", started.elapsed());
        if !passed {
            eprintln!("---- schemathesis {who} ----\n{report}");
            failed.push(who);
        }
    }
    assert!(
        failed.is_empty(),
        "the OpenAPI document does not hold for the service {} (schemathesis's report is above)",
        failed.join(", nor ")
    );
}
