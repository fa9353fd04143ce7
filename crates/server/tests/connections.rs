//! The server over real sockets, with `[server]` limits of a second or two: silent, idle and
//! slow clients are cut off, and connections beyond the cap are refused at once, so none of
//! them can lock other clients out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tenure_config::Config;
use tenure_core::WorkspaceId;
use tenure_runtime::Live;
use tenure_server::{AppState, Application};
use tenure_store::{Scope, SqliteStore, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Longer than any limit under test: a wait that reaches it means the server never acted.
const PATIENCE: Duration = Duration::from_secs(8);

struct TestServer {
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    write_key: String,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    async fn start(server_settings: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let write_key = store
            .create_key(&WorkspaceId::default_workspace(), Scope::Write)
            .unwrap();
        let config = Config::parse(&format!("[server]\n{server_settings}"), "test").unwrap();
        let live = Arc::new(Live::empty(config.engine()));
        let store: Arc<dyn Store> = store;
        let state = AppState::new(store, live, Arc::new(config));
        let app = Application::build("127.0.0.1:0".parse().unwrap(), state)
            .await
            .unwrap();
        let addr = app.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(app.run(async {
            let _ = stopped.await;
        }));
        Self {
            _dir: dir,
            addr,
            write_key,
            stop: Some(stop),
            served,
        }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.unwrap()
    }

    /// The head of a POST to `/v1/track` announcing a body of `length` bytes.
    fn track_head(&self, length: usize) -> String {
        format!(
            "POST /v1/track HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\ncontent-length: {length}\r\n\r\n",
            self.write_key
        )
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(PATIENCE, &mut self.served)
            .await
            .expect("the server drains")
            .unwrap()
            .unwrap();
    }
}

/// Reads until the server closes the connection (or resets it), and how long that took.
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await {
            Err(_) => panic!(
                "the server kept the connection open for {PATIENCE:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

/// The status code and JSON body of one HTTP/1.1 response.
fn parse_answer(answer: &str) -> (u16, Value) {
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn get_healthz(addr: SocketAddr) -> reqwest::StatusCode {
    reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(PATIENCE)
        .send()
        .await
        .expect("a fresh client is served")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let server = TestServer::start("header_timeout_seconds = 1\n").await;
    let mut silent = server.connect().await;
    let (answer, took) = read_until_closed(&mut silent).await;
    assert!(answer.is_empty(), "{answer}");
    assert!(
        took >= Duration::from_millis(800),
        "closed too early: {took:?}"
    );
    // A request head sent a byte at a time is held to the same limit.
    let mut slow = server.connect().await;
    let trickle = tokio::spawn(async move {
        for byte in b"GET /healthz HTTP/1.1\r\nhost: slow\r\n" {
            if slow.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        read_until_closed(&mut slow).await
    });
    let (answer, took) = trickle.await.unwrap();
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(took < PATIENCE, "{took:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let server = TestServer::start("header_timeout_seconds = 1\n").await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let (answer, took) = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        took >= Duration::from_millis(800),
        "closed too early: {took:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_is_cut_off_with_408() {
    let server = TestServer::start("body_timeout_seconds = 1\nrequest_timeout_seconds = 5\n").await;
    let mut stream = server.connect().await;
    let head = server.track_head(100);
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"{\"userId\": \"u1\",").await.unwrap();
    let (answer, took) = read_until_closed(&mut stream).await;
    let (status, body) = parse_answer(&answer);
    assert_eq!(
        (status, &body["code"]),
        (408, &Value::from("request_timeout"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("body_timeout_seconds"),
        "{body}"
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_trickled_slowly_is_cut_off_by_the_request_timeout() {
    let server = TestServer::start("body_timeout_seconds = 5\nrequest_timeout_seconds = 1\n").await;
    let stream = server.connect().await;
    let (mut reader, mut writer) = stream.into_split();
    let head = server.track_head(1000);
    writer.write_all(head.as_bytes()).await.unwrap();
    // One byte every 200 ms never pauses long enough for the body timeout.
    let trickle = tokio::spawn(async move {
        for _ in 0..1000 {
            if writer.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&received).contains("}") {
        match tokio::time::timeout(PATIENCE, reader.read(&mut buf)).await {
            Err(_) => panic!("the trickled request was not cut off within {PATIENCE:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
    let (status, body) = parse_answer(&String::from_utf8_lossy(&received));
    assert_eq!(
        (status, &body["code"]),
        (408, &Value::from("request_timeout"))
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    // The connection is closed, so the trickle cannot go on holding it.
    let closed = tokio::time::timeout(PATIENCE, trickle).await;
    assert!(closed.is_ok(), "the server kept reading the trickled body");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_refused_and_the_rest_time_out() {
    let server = TestServer::start("max_connections = 3\nheader_timeout_seconds = 2\n").await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(server.connect().await);
    }
    // Let the accept loop take all three before the fourth arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = server.connect().await;
    let (answer, took) = read_until_closed(&mut extra).await;
    let (status, body) = parse_answer(&answer);
    assert_eq!(
        (status, &body["code"]),
        (503, &Value::from("too_many_connections")),
        "{answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(took < Duration::from_secs(1), "refused only after {took:?}");
    // The idle ones are closed by the header timeout, and then a fresh client is served.
    for mut stream in idle {
        let (answer, _) = read_until_closed(&mut stream).await;
        assert!(answer.is_empty(), "{answer}");
    }
    assert_eq!(get_healthz(server.addr).await, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_within_the_limits_are_served_and_shutdown_drains() {
    let server = TestServer::start("max_connections = 2\nheader_timeout_seconds = 1\n").await;
    // Connections close when their requests are done, so sequential clients never hit the cap.
    for _ in 0..5 {
        assert_eq!(get_healthz(server.addr).await, 200);
    }
    let answer = reqwest::Client::new()
        .post(format!("http://{}/v1/track", server.addr))
        .bearer_auth(&server.write_key)
        .body(r#"{"userId": "u1", "event": "E", "messageId": "m1"}"#)
        .timeout(PATIENCE)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // A connection that is still open does not hold the shutdown back.
    let _idle = server.connect().await;
    server.stop().await;
}
