//! A checker synced from a real server, then its files changed at rest: a retired key turned active,
//! an older status put back, the status deleted. Each is refused with exit 1, never a verdict.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use rescard::checker::{Checker, STATE_FILE, STATUS_FILE};
use serde_json::{Value, json};

use crate::offline::{Server, checker, payload, sync, verify};

/// The first sync's pin: the server's active key.
fn pin(server: &Server) -> String {
    server.active_kid()
}

/// `verify` on the checker: exit 1, no verdict on standard output, and `why` on standard error.
fn assert_refused(dir: &Path, payload: &str, why: &str) {
    let out = checker(dir, &["verify", payload, "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "a verdict was given");
    assert!(stderr.contains(why), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retired_key_turned_back_to_active_at_rest_is_refused() {
    let server = Server::start().await;
    let check = tempfile::tempdir().expect("checker dir");
    let dir = check.path();
    let old = server.issue("AA0000001").await;
    let kid = pin(&server);
    assert!(sync(dir, &server.base, Some(&kid)).status.success());
    server.change_keys(&["rotate"]).await;
    assert!(sync(dir, &server.base, None).status.success());
    server.change_keys(&["retire", &kid]).await;
    assert!(sync(dir, &server.base, None).status.success());
    let (code, v, _) = verify(dir, &payload(&old), None);
    assert_eq!((code, v["verdict"].as_str()), (21, Some("unknown_issuer")));

    // The unsealed copy an older rescard read, with the key made active again: not read at all.
    let keys: Value =
        serde_json::from_slice(&server.cli(&["keys", "list", "--json"]).stdout).expect("keys");
    let mut revived = keys.clone();
    for k in revived.as_array_mut().expect("keys") {
        k["status"] = json!("active");
        k["not_after"] = Value::Null;
    }
    std::fs::write(dir.join("trust.json"), revived.to_string()).expect("write");
    assert_eq!(verify(dir, &payload(&old), None).0, 21);

    // The signed list in the state, its "retired" edited to "active" (a space keeps the length).
    let path = dir.join(STATE_FILE);
    let mut state: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("state")).expect("json");
    let b64 = &base64::engine::general_purpose::STANDARD;
    let mut list =
        base64::Engine::decode(b64, state["state"]["trust_list"].as_str().expect("list"))
            .expect("b64");
    let at = list
        .windows(9)
        .position(|w| w == b"\"retired\"")
        .expect("a retired key in the list");
    list[at..at + 9].copy_from_slice(b"\"active\" ");
    state["state"]["trust_list"] = base64::Engine::encode(b64, &list).into();
    std::fs::write(&path, state.to_string()).expect("write");
    assert_refused(dir, &payload(&old), "altered at rest");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_status_put_back_or_the_status_deleted_is_refused_and_sync_heals_it() {
    let server = Server::start().await;
    let check = tempfile::tempdir().expect("checker dir");
    let dir = check.path();
    let card = server.issue("AA0000001").await;
    assert!(
        sync(dir, &server.base, Some(&pin(&server)))
            .status
            .success()
    );
    let before_revocation = std::fs::read(dir.join(STATUS_FILE)).expect("status");
    let serial = card["serial"].as_str().expect("serial");
    server
        .post(
            &format!("/api/v1/cards/{serial}/revocation"),
            json!({"reason": "fraud"}),
        )
        .await;
    assert!(sync(dir, &server.base, None).status.success());
    assert_eq!(verify(dir, &payload(&card), None).0, 13);

    // Files written by this checker are its own: a 0700 directory of 0600 files.
    assert_eq!(
        std::fs::metadata(dir).expect("dir").permissions().mode() & 0o777,
        0o700
    );
    for entry in std::fs::read_dir(dir).expect("list").flatten() {
        let mode = entry.metadata().expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{:?}", entry.file_name());
    }

    // The snapshot from before the revocation, put back: the card would be valid again.
    std::fs::write(dir.join(STATUS_FILE), &before_revocation).expect("put back");
    assert_refused(dir, &payload(&card), "older than the sequence");
    // Deleted: the checker would fall back to the card alone.
    std::fs::remove_file(dir.join(STATUS_FILE)).expect("rm");
    assert_refused(dir, &payload(&card), "is missing");

    // Nor does a sync go backwards without the file: an old snapshot offered is refused.
    let old = Checker::new(dir)
        .trust()
        .expect("trust")
        .expect("held")
        .status_keys;
    let first: Vec<Vec<u8>> =
        ciborium::from_reader::<Vec<ciborium::Value>, _>(before_revocation.as_slice())
            .expect("cbor")
            .into_iter()
            .filter_map(|v| v.into_bytes().ok())
            .collect();
    let err = Checker::new(dir)
        .accept_status(&first[0], &old)
        .expect_err("backwards");
    assert!(format!("{err:#}").contains("backwards"), "{err:#}");

    // A sync fetches the whole snapshot again, and the revocation shows.
    let out = sync(dir, &server.base, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("full snapshot"));
    assert_eq!(verify(dir, &payload(&card), None).0, 13);
}
