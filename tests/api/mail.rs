//! The applicants' mail, through a real SMTP server: Python's aiosmtpd (installed by `scripts/test`),
//! writing what it receives to a maildir that the tests read. `serve --smtp` sends the outbox; a
//! message written while the mail server is down waits, survives the service being killed, and
//! arrives once both are back.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::applications::card_application;
use crate::helpers::serve_binary;

/// A process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// An SMTP server on `port` that keeps every message in the maildir `dir`.
fn smtp_sink(port: u16, dir: &Path) -> Running {
    let probe = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .output()
        .expect("python3");
    assert!(
        probe.status.success(),
        "aiosmtpd is missing: run scripts/test, or pip install aiosmtpd"
    );
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aiosmtpd starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Running(child)
}

/// The messages in the maildir, as text.
fn received(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("new")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect()
}

/// Waits until a message holding `needle` arrives; the message.
fn wait_for(dir: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(m) = received(dir).into_iter().find(|m| m.contains(needle)) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "no message with {needle:?} arrived"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Files the reference card application at `base`; its id.
fn file(base: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut reply = agent
        .post(&format!("{base}/api/v1/applications"))
        .header("Content-Type", "application/json")
        .send(card_application().to_string())
        .expect("filed");
    assert_eq!(reply.status().as_u16(), 201);
    let body: Value =
        serde_json::from_str(&reply.body_mut().read_to_string().expect("body")).expect("json");
    body["id"].as_str().expect("id").to_owned()
}

fn serve_with_smtp(dir: &Path, port: u16) -> (Running, String) {
    let url = format!("smtp://127.0.0.1:{port}");
    let (child, base, _) =
        serve_binary(dir, &["--smtp", &url, "--mail-from", "registry@example.kg"]);
    (Running(child), base)
}

fn maildir(dir: &Path) -> PathBuf {
    dir.join("maildir")
}

#[test]
fn the_applicant_is_mailed_in_their_language_and_nothing_personal_is_in_it() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let _sink = smtp_sink(port, &maildir(dir.path()));
    let (_service, base) = serve_with_smtp(dir.path(), port);
    let id = file(&base);
    let message = wait_for(&maildir(dir.path()), &id);
    assert!(message.contains("To: aigerim@example.kg"), "{message}");
    assert!(message.contains("From: registry@example.kg"), "{message}");
    // Kyrgyz, encoded as the headers and body need; the words of the draft's message.
    assert!(!message.contains("FA1234567") && !message.contains("31704199100013"));
    let decoded = decode_body(&message);
    assert!(decoded.contains("толтурулууда"), "in Kyrgyz: {decoded}");
}

#[test]
fn mail_written_while_the_server_is_down_survives_a_killed_service_and_arrives() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    // Nothing listens on `port` yet: the message waits in the outbox, tried again and again.
    let (service, base) = serve_with_smtp(dir.path(), port);
    let id = file(&base);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(received(&maildir(dir.path())).is_empty());
    // Killed outright, no shutdown.
    drop(service);
    let _sink = smtp_sink(port, &maildir(dir.path()));
    let (_service, _) = serve_with_smtp(dir.path(), port);
    let message = wait_for(&maildir(dir.path()), &id);
    assert!(message.contains("To: aigerim@example.kg"));
    assert_eq!(
        received(&maildir(dir.path())).len(),
        1,
        "sent once the server took it"
    );
}

/// The body of a message as text: lettre sends non-ASCII text as quoted-printable or base64.
fn decode_body(message: &str) -> String {
    use base64::Engine as _;
    let (headers, body) = message
        .split_once("\r\n\r\n")
        .or_else(|| message.split_once("\n\n"))
        .unwrap_or((message, ""));
    let lower = headers.to_ascii_lowercase();
    if lower.contains("content-transfer-encoding: base64") {
        let joined: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(joined)
            .unwrap_or_default();
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    if lower.contains("content-transfer-encoding: quoted-printable") {
        let soft = body.replace("=\r\n", "").replace("=\n", "");
        let mut out = Vec::new();
        let bytes = soft.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&soft[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        return String::from_utf8_lossy(&out).into_owned();
    }
    body.to_owned()
}
