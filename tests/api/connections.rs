//! What a connection and a body may take: the header timeout, the cap on open connections, the JSON
//! limit of the verify endpoint, and the metrics listener.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use rescard::server::{ConnectionLimits, ServiceConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::{As, live_server, spawn_app};

fn limits(header_timeout: Duration, max_connections: usize) -> ServiceConfig {
    ServiceConfig {
        connections: ConnectionLimits {
            header_timeout,
            max_connections,
        },
        ..Default::default()
    }
}

fn address(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or `limit` passes); how long that took.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((start + limit).into(), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn a_client_trickling_header_lines_is_cut_off_at_the_header_timeout() {
    let live = live_server(limits(Duration::from_secs(1), 64), std::future::pending()).await;
    let mut slow = TcpStream::connect(address(&live.base))
        .await
        .expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    // A header line every 300 ms, for far longer than the timeout; the server must close on it.
    let writer = tokio::spawn(async move {
        for i in 0..40 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow
                .write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
                .await
                .is_err()
            {
                return true;
            }
        }
        false
    });
    let cut_off = tokio::time::timeout(Duration::from_secs(10), writer)
        .await
        .expect("the slow client was never cut off")
        .expect("writer");
    assert!(cut_off, "the server kept reading headers for 12 s");

    // A connection that sends nothing at all is closed too.
    let mut idle = TcpStream::connect(address(&live.base))
        .await
        .expect("connect");
    let closed = until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "an idle connection was kept open");
}

#[tokio::test]
async fn past_the_connection_cap_a_new_client_waits_until_a_place_is_free() {
    let live = live_server(limits(Duration::from_secs(60), 2), std::future::pending()).await;
    let addr = address(&live.base);
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    // Let the server accept both.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let third = tokio::spawn({
        let base = live.base.clone();
        async move {
            reqwest::get(format!("{base}/healthz"))
                .await
                .map(|r| r.status())
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served while two held the only places"
    );
    drop(held.pop());
    let status = tokio::time::timeout(Duration::from_secs(10), third)
        .await
        .expect("the waiting client was never served")
        .expect("task")
        .expect("request");
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_json_check_keeps_the_json_body_limit() {
    let app = spawn_app();
    let big = format!("{{\"payload\": \"{}\"}}", "A".repeat(100 * 1024));
    let reply = app
        .send(
            Method::POST,
            "/api/v1/verify",
            As::Anonymous,
            Some("application/json"),
            big.clone().into_bytes(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json()["error"]["code"], "body_too_large");
    // Announced as larger than the limit: refused before a byte of it is read.
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/verify")
        .header("content-type", "application/json")
        .header("content-length", "26214400")
        .body(axum::body::Body::from(big))
        .expect("request");
    assert_eq!(
        app.request(request).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // A body of no declared type is held to the JSON limit as well.
    let reply = app
        .send(
            Method::POST,
            "/api/v1/verify",
            As::Anonymous,
            None,
            vec![b'x'; 200 * 1024],
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn metrics_need_an_admin_token_or_the_metrics_listener() {
    let app = spawn_app();
    for (who, status) in [
        (As::Anonymous, StatusCode::UNAUTHORIZED),
        (As::Role(rescard_store::Role::Police), StatusCode::FORBIDDEN),
        (As::Role(rescard_store::Role::Admin), StatusCode::OK),
    ] {
        let reply = app.call(Method::GET, "/metrics", who, None).await;
        assert_eq!(reply.status, status, "{who:?}");
    }

    let live = live_server(ServiceConfig::default(), std::future::pending()).await;
    let state = live.state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let metrics = format!("http://{}/metrics", listener.local_addr().expect("addr"));
    tokio::spawn(rescard::server::serve_metrics(
        listener,
        state,
        std::future::pending(),
    ));
    let reply = reqwest::get(&metrics).await.expect("metrics");
    assert_eq!(reply.status(), StatusCode::OK);
    let text = reply.text().await.expect("text");
    assert!(text.contains("rescard_cards"), "{text}");
    let other = reqwest::get(metrics.replace("/metrics", "/api/v1/tokens"))
        .await
        .expect("other");
    assert_eq!(
        other.status(),
        StatusCode::NOT_FOUND,
        "the metrics listener serves only metrics"
    );
}
