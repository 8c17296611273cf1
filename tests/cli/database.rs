//! `--database` and `copy-registry`: the same commands on a PostgreSQL registry, and a registry
//! moved from SQLite to PostgreSQL and back.

use predicates::prelude::*;
use serde_json::Value;

use crate::helpers::{Machine, days_from_today};

fn serial(card: &Value) -> String {
    card["serial"].as_str().expect("serial").to_owned()
}

fn payload(card: &Value) -> String {
    card["payload"].as_str().expect("payload").to_owned()
}

#[test]
fn a_registry_copied_to_postgres_answers_every_command_and_copies_back() {
    let m = Machine::new();
    let kept = m.issue(&["--passport", "FA1234567"]);
    let revoked = m.issue(&["--passport", "FA7654321"]);
    m.run(&["extend", &serial(&kept), "--until", &days_from_today(500)])
        .assert()
        .success();
    m.run(&["revoke", &serial(&revoked), "--reason", "permit withdrawn"])
        .assert()
        .success();
    m.run(&["token", "create", "--role", "bank", "--name", "bank.kicb"])
        .assert()
        .success();
    // The trust list moves with the registry: the first key, now verify-only, and its successor.
    m.run(&["keys", "rotate"]).assert().success();
    let fresh = m.issue(&["--passport", "FA1111111"]);

    let pg = rescard_store::testing::fresh_database();
    m.run(&["copy-registry", "--to", &pg])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "copied 3 cards and 9 audit entries",
        ));

    // Every command reads and writes the PostgreSQL registry.
    let on_pg = |args: &[&str]| {
        let mut all = vec!["--database", pg.as_str()];
        all.extend_from_slice(args);
        m.run(&all)
    };
    on_pg(&["verify", &payload(&revoked)]).assert().code(13);
    on_pg(&["verify", &payload(&fresh)]).assert().code(0);
    let keys: serde_json::Value = serde_json::from_slice(
        &on_pg(&["keys", "list", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .expect("keys");
    let states: Vec<&str> = keys
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|k| k["status"].as_str())
        .collect();
    assert_eq!(states, ["verify-only", "active"]);
    on_pg(&["verify", &payload(&kept)])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(days_from_today(500)));
    on_pg(&[
        "suspend",
        &serial(&kept),
        "--reason",
        "documents under review",
    ])
    .assert()
    .success();
    on_pg(&["verify", &payload(&kept)]).assert().code(12);
    // The SQLite registry it came from did not change.
    assert_eq!(m.verify(&payload(&kept), &[]).0, 0);
    on_pg(&["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("10 entries"));
    on_pg(&["token", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("bank.kicb"));

    // A registry that holds anything is never a target.
    m.run(&["copy-registry", "--to", &pg])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not empty"));

    // And back to a new SQLite file.
    let back = format!("sqlite:{}", m.path("back/registry.sqlite").display());
    on_pg(&["copy-registry", "--to", &back])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "copied 3 cards and 10 audit entries",
        ));
    let on_back = |args: &[&str]| {
        let mut all = vec!["--database", back.as_str()];
        all.extend_from_slice(args);
        m.run(&all)
    };
    on_back(&["verify", &payload(&kept)]).assert().code(12);
    on_back(&["audit", "verify"]).assert().success();
}

#[test]
fn a_database_url_that_is_wrong_or_unreachable_is_named_without_its_password() {
    let m = Machine::new();
    m.run(&[
        "--database",
        "mysql://root:s3cret@db/registry",
        "audit",
        "verify",
    ])
    .assert()
    .code(2)
    .stderr(
        predicate::str::contains("not a registry location")
            .and(predicate::str::contains("s3cret").not()),
    );
    m.run(&[
        "--database",
        "postgres://rescard:s3cret@127.0.0.1:1/registry",
        "audit",
        "verify",
    ])
    .assert()
    .code(1)
    .stderr(
        predicate::str::contains("cannot be reached")
            .and(predicate::str::contains("rescard:***@127.0.0.1:1"))
            .and(predicate::str::contains("s3cret").not()),
    );
    // Nor does a service that cannot start on it, in its log or its error.
    m.run(&["serve", "--listen", "127.0.0.1:0"])
        .env(
            "RESCARD_DATABASE",
            "postgres://rescard:s3cret@127.0.0.1:1/registry",
        )
        .env("RUST_LOG", "debug")
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cannot be reached")
                .and(predicate::str::contains("s3cret").not()),
        );
    // From the environment, as a service would take it.
    m.run(&["audit", "verify"])
        .env(
            "RESCARD_DATABASE",
            "postgres://rescard:s3cret@127.0.0.1:1/registry",
        )
        .assert()
        .code(1)
        .stderr(predicate::str::contains("s3cret").not());
}
