//! The real service over real HTTP: the router on a port-0 listener, and the `rescard serve` binary.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use chrono::Utc;
use rescard_store::Registry;
use serde_json::{Value, json};

use crate::helpers::reference_application;

#[tokio::test]
async fn the_server_answers_over_http_and_stops_gracefully() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let live = crate::helpers::live_server(rescard::server::ServiceConfig::default(), async {
        let _ = stopped.await;
    })
    .await;
    let (base, token, server) = (live.base.clone(), live.token.clone(), live.task);
    let location = live.location.clone();

    let client = reqwest::Client::new();
    let mut application = reference_application();
    let today = rescard_core::domain::date::issuer_date(Utc::now());
    application["valid_from"] = json!(today.to_string());
    application["valid_until"] = json!(rescard_core::ValidityPeriod::latest_end(today).to_string());
    let response = client
        .post(format!("{base}/api/v1/cards"))
        .bearer_auth(&token)
        .json(&application)
        .send()
        .await
        .expect("issue");
    assert_eq!(response.status(), 201);
    let card: Value = response.json().await.expect("json");
    let serial = card["serial"].as_str().expect("serial");
    let png = client
        .get(format!("{base}/api/v1/cards/{serial}/qr.png"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("qr")
        .bytes()
        .await
        .expect("png");
    let verdict: Value = client
        .post(format!("{base}/api/v1/verify"))
        .header("content-type", "image/png")
        .body(png.to_vec())
        .send()
        .await
        .expect("verify")
        .json()
        .await
        .expect("json");
    assert_eq!(verdict["verdict"], "valid");

    stop.send(()).expect("stop");
    server.await.expect("task").expect("serve");
    assert!(
        client.get(format!("{base}/healthz")).send().await.is_err(),
        "the server should be gone"
    );
    assert_eq!(
        Registry::connect(&location)
            .expect("registry")
            .card(serial.parse().expect("serial"))
            .expect("card")
            .state
            .as_str(),
        "active"
    );
}

#[test]
fn rescard_serve_initialises_prints_the_admin_token_once_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let start = || {
        Command::new(assert_cmd::cargo::cargo_bin("rescard"))
            .args([
                "--data",
                &dir.path().join("data").to_string_lossy(),
                "--keys",
                &dir.path().join("keys").to_string_lossy(),
            ])
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("RESCARD_DATA")
            .env_remove("RESCARD_KEYS")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    // Reads the server's log until it says where it listens, then closes the log pipe: the service
    // must keep serving when its log reader goes away.
    let listening = |child: &mut std::process::Child| -> String {
        let stderr = child.stderr.take().expect("stderr");
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on ").nth(1) {
                return addr.trim().to_owned();
            }
        }
        panic!("the server never said where it listens");
    };
    let stop = |child: &mut std::process::Child| {
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = child.wait().expect("wait");
        assert!(exit.success(), "{exit:?}");
    };

    let mut first = start();
    let base = listening(&mut first);
    let mut stdout = BufReader::new(first.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read");
    let token = line
        .trim()
        .strip_prefix("admin token: ")
        .expect("admin token line")
        .to_owned();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for _ in 0..3 {
        let status = runtime.block_on(async {
            reqwest::Client::new()
                .get(format!("{base}/api/v1/tokens"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("call")
                .status()
        });
        assert_eq!(status, 200);
    }
    stop(&mut first);

    // A second start on the same data directory makes no new token and prints nothing on stdout.
    let mut second = start();
    let _ = listening(&mut second);
    stop(&mut second);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut second.stdout.take().expect("stdout"), &mut rest)
        .expect("read");
    assert_eq!(rest, "");
}

#[tokio::test]
async fn slow_and_stalled_clients_get_408_and_the_server_keeps_serving() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let config = rescard::server::ServiceConfig {
        request_timeout: std::time::Duration::from_millis(800),
        ..Default::default()
    };
    let live = crate::helpers::live_server(config, std::future::pending()).await;
    let addr: std::net::SocketAddr = live
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("address");

    // Thirty clients that send half a request body and then stall.
    let mut stalled = Vec::new();
    for _ in 0..30 {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"payl")
            .await
            .expect("write");
        stalled.push(s);
    }
    // Meanwhile everyone else is served.
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    // And each stalled client is answered 408 once its time is up.
    let mut first = stalled.swap_remove(0);
    let mut reply = vec![0u8; 512];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), first.read(&mut reply))
        .await
        .expect("answered")
        .expect("read");
    let reply = String::from_utf8_lossy(&reply[..n]);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("request_timeout"), "{reply}");
}
