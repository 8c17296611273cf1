//! `spawn_app()`: a service on a fresh registry, with a token for every role and a clock tests move.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, Utc};
use http_body_util::BodyExt as _;
use rescard::keystore::{KeyDir, KeyStore};
use rescard::server::{AppState, Db, router};
use rescard_store::{Location, Registry, Role};
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// The clock starts here: before the reference card's validity, so it can be issued.
pub const ISSUE_TIME: &str = "2026-11-21T09:00:00Z";
/// A time inside the reference card's validity.
pub const CHECK_TIME: &str = "2027-01-15T12:00:00Z";

pub struct TestApp {
    pub dir: tempfile::TempDir,
    /// The registry: SQLite in `dir`, or a new PostgreSQL database (see [`test_location`]).
    pub location: Location,
    pub router: Router,
    /// The state behind the router (to hold a decode slot, say).
    pub state: AppState,
    pub tokens: HashMap<Role, String>,
    /// Every route with who may call it, as the router enforces it.
    pub routes: Vec<rescard::server::RouteInfo>,
    clock: Arc<Mutex<DateTime<Utc>>>,
}

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    Anonymous,
    Role(Role),
    BadToken,
    /// Another bearer: a second officer's token, an application's secret.
    Bearer(&'static str),
}

/// A token or secret kept for the rest of the test, to call [`As::Bearer`] with.
pub fn keep(token: String) -> &'static str {
    Box::leak(token.into_boxed_str())
}

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

pub fn spawn_app() -> TestApp {
    // The tests send many requests from one (unknown) address; the rate limits have a test of their own.
    spawn_app_with(rescard::server::ServiceConfig {
        anonymous_verify_per_minute: 100_000,
        failed_signin_per_minute: 100_000,
        anonymous_filing_per_minute: 100_000,
        ..Default::default()
    })
}

/// A service with these limits.
pub fn spawn_app_with(config: rescard::server::ServiceConfig) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = KeyStore::Dir(KeyDir::new(&dir.path().join("keys")));
    let location = test_location(&dir);
    let mut registry = Registry::connect(&location).expect("registry");
    first_key(&mut registry, &keys, at("2026-11-01T00:00:00Z"));
    let tokens = Role::ALL
        .into_iter()
        .map(|role| {
            let token = registry
                .create_token(&format!("{role}-1"), role, "test-setup", at(ISSUE_TIME))
                .expect("token");
            (role, token)
        })
        .collect();
    drop(registry);
    let clock = Arc::new(Mutex::new(at(ISSUE_TIME)));
    let reader = Arc::clone(&clock);
    let state = AppState::new(
        Db::open(&location).expect("db"),
        keys,
        config,
        Arc::new(move || *reader.lock().expect("clock")),
    )
    .expect("state");
    TestApp {
        dir,
        location,
        routes: rescard::server::route_table(state.clone()),
        router: router(state.clone()),
        state,
        tokens,
        clock,
    }
}

pub fn registry_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data").join("registry.sqlite")
}

/// Which backend the service tests run on: SQLite (the default), or PostgreSQL with
/// `RESCARD_TEST_BACKEND=postgres` (a new database on the server `RESCARD_TEST_POSTGRES` names, for
/// each test). `scripts/test` runs them on both.
pub fn on_postgres() -> bool {
    std::env::var("RESCARD_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// Makes the registry's first issuer key, active from `since`, in `keys`.
pub fn first_key(registry: &mut Registry, keys: &KeyStore, since: DateTime<Utc>) {
    let made =
        rescard::keystore::establish(registry, keys, true, "test-setup", since).expect("key");
    assert!(
        matches!(made, rescard::keystore::Established::Created(_)),
        "{made:?}"
    );
}

/// The active issuer key's id in the registry at `location`.
pub fn active_kid(location: &Location) -> String {
    let (_, list) = Registry::connect(location)
        .expect("registry")
        .trust_list()
        .expect("trust list");
    list.keys()
        .iter()
        .find(|k| k.status == rescard_core::KeyStatus::Active)
        .expect("an active key")
        .kid
        .to_string()
}

/// `--database` for a child `rescard` on the registry at `location` (tests have no passwords).
pub fn database_arg(location: &Location) -> String {
    match location {
        Location::Sqlite(path) => format!("sqlite:{}", path.display()),
        Location::Postgres(url) => url.clone(),
    }
}

/// A new registry for a test, on the backend of [`on_postgres`].
pub fn test_location(dir: &tempfile::TempDir) -> Location {
    if on_postgres() {
        Location::Postgres(rescard_store::testing::fresh_database())
    } else {
        let path = registry_path(dir);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("data dir");
        Location::Sqlite(path)
    }
}

/// The reference card of the design brief, as an issuance request.
pub fn reference_application() -> Value {
    json!({
        "surname": "ABDYKADYROVA-NURLANOVA",
        "given_names": "AIGERIM ZHANYBEKOVNA",
        "date_of_birth": "1991-04-17",
        "sex": "F",
        "nationality": "UZB",
        "permit": "work",
        "valid_from": "2026-12-01",
        "valid_until": "2027-11-30",
        "passport_number": "FA1234567",
    })
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|_| {
            panic!(
                "not JSON ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }
}

impl TestApp {
    pub fn set_time(&self, text: &str) {
        *self.clock.lock().expect("clock") = at(text);
    }

    pub fn registry(&self) -> Registry {
        Registry::connect(&self.location).expect("registry")
    }

    /// Sends a raw request.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        who: As,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        match who {
            As::Anonymous => {}
            As::Role(role) => {
                req = req.header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", self.tokens[&role]),
                )
            }
            As::BadToken => req = req.header(header::AUTHORIZATION, "Bearer rct_notatokenatall"),
            As::Bearer(token) => req = req.header(header::AUTHORIZATION, format!("Bearer {token}")),
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        self.request(req.body(Body::from(body)).expect("request"))
            .await
    }

    /// Sends a request built by hand (a cookie, say) through the router.
    pub async fn request(&self, req: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(req).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            bytes,
        }
    }

    /// Sends JSON (or nothing).
    pub async fn call(&self, method: Method, uri: &str, who: As, body: Option<Value>) -> Reply {
        match body {
            Some(b) => {
                self.send(
                    method,
                    uri,
                    who,
                    Some("application/json"),
                    b.to_string().into_bytes(),
                )
                .await
            }
            None => self.send(method, uri, who, None, Vec::new()).await,
        }
    }

    /// Issues the reference card as an issuer and returns the 201 body.
    pub async fn issue_reference(&self) -> Value {
        let reply = self
            .call(
                Method::POST,
                "/api/v1/cards",
                As::Role(Role::Issuer),
                Some(reference_application()),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&reply.bytes)
        );
        reply.json()
    }

    /// Verifies a payload as `who` and returns the 200 body.
    pub async fn verify(&self, payload: &str, who: As) -> Value {
        self.post_ok("/api/v1/verify", who, json!({ "payload": payload }))
            .await
    }

    /// POSTs JSON to `uri` as `who`, expects 200, and returns the body.
    pub async fn post_ok(&self, uri: &str, who: As, body: Value) -> Value {
        self.post_expecting(uri, who, body, StatusCode::OK).await
    }

    /// POSTs JSON that must create something (201); its JSON answer.
    pub async fn post_created(&self, uri: &str, who: As, body: Value) -> Value {
        self.post_expecting(uri, who, body, StatusCode::CREATED)
            .await
    }

    async fn post_expecting(&self, uri: &str, who: As, body: Value, status: StatusCode) -> Value {
        let reply = self.call(Method::POST, uri, who, Some(body)).await;
        assert_eq!(
            reply.status,
            status,
            "{uri}: {}",
            String::from_utf8_lossy(&reply.bytes)
        );
        reply.json()
    }

    /// Sends an image (`image/png` or `image/jpeg`) to the verify endpoint without a token.
    pub async fn verify_image(&self, content_type: &str, bytes: Vec<u8>) -> Reply {
        self.send(
            Method::POST,
            "/api/v1/verify",
            As::Anonymous,
            Some(content_type),
            bytes,
        )
        .await
    }

    /// The service's OpenAPI document.
    pub async fn openapi(&self) -> Value {
        self.call(Method::GET, "/api/v1/openapi.json", As::Anonymous, None)
            .await
            .json()
    }

    /// Pastes `payload` into the public check page's form, as a browser sends it, anonymously.
    pub async fn check_page(&self, payload: &str) -> Reply {
        let boundary = "XyZrescard";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n{payload}\r\n--{boundary}--\r\n"
        );
        self.send(
            Method::POST,
            "/check?lang=en",
            As::Anonymous,
            Some(&format!("multipart/form-data; boundary={boundary}")),
            body.into_bytes(),
        )
        .await
    }

    pub fn audit_len(&self) -> usize {
        self.registry().audit_log().expect("audit").len()
    }
}

/// The service on a real port: a fresh registry in `dir` (the key in `dir/keys`, the registry in
/// [`test_location`]) with an `issuer` token, served until `shutdown` resolves.
pub struct LiveServer {
    pub dir: tempfile::TempDir,
    pub location: Location,
    pub base: String,
    pub token: String,
    pub state: AppState,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub async fn live_server(
    config: rescard::server::ServiceConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> LiveServer {
    let dir = tempfile::tempdir().expect("dir");
    let keys = KeyStore::Dir(KeyDir::new(&dir.path().join("keys")));
    let location = test_location(&dir);
    let mut registry = Registry::connect(&location).expect("registry");
    first_key(&mut registry, &keys, Utc::now() - chrono::Duration::days(1));
    let token = registry
        .create_token("officer", Role::Issuer, "setup", Utc::now())
        .expect("token");
    drop(registry);
    let state = AppState::new(
        Db::open(&location).expect("db"),
        keys,
        config,
        Arc::new(Utc::now),
    )
    .expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(rescard::server::serve(listener, state.clone(), shutdown));
    LiveServer {
        dir,
        location,
        base,
        token,
        state,
        task,
    }
}

/// The `rescard serve` binary on a loopback port, with `--data` and `--keys` in `dir` and `args` after
/// `serve`: the child, its base URL, and the admin token it prints when it initialises an empty data
/// directory (`None` on a later start). Its log is read, and so drained, until it exits.
pub fn serve_binary(
    dir: &std::path::Path,
    args: &[&str],
) -> (std::process::Child, String, Option<String>) {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};
    let first_start = !dir.join("data").exists();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("rescard"))
        .arg("--data")
        .arg(dir.join("data"))
        .arg("--keys")
        .arg(dir.join("keys"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on ").nth(1) {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    let base = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the server started");
    let mut first = String::new();
    if first_start {
        let stdout = child.stdout.take().expect("stdout");
        let _ = BufReader::new(stdout).read_line(&mut first);
    }
    (
        child,
        base,
        first
            .trim()
            .strip_prefix("admin token: ")
            .map(str::to_owned),
    )
}

/// A `multipart/form-data` body of text `fields` and `files` (field name, content type, bytes): its
/// content type and bytes.
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "XyZrescardForm";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, content_type, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
