//! `tenure serve` stops the way service managers ask it to: SIGTERM (systemd, `docker stop`,
//! Kubernetes) drains like Ctrl-C — no new connections, the request in flight answered and
//! stored — and the process exits 0.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{entries_of, Tenure};

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// Starts a request whose body is only half sent, signals the server, then finishes the body:
/// the request must still be answered and stored, and the server must exit 0.
fn drains_on(name: &str) {
    let tenure = Tenure::new();
    let key = tenure.key("write");
    let mut server = tenure.serve(&[]);
    let addr = server.url.trim_start_matches("http://").to_owned();
    let body =
        r#"{"type": "track", "userId": "u1", "event": "Logged In", "messageId": "in-flight"}"#;
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(&addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /v1/track HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    signal(server.pid(), name);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        TcpStream::connect(&addr).is_err(),
        "{name}: a draining server still accepts connections"
    );
    stream.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{name}: {answer:?}");
    assert!(answer.contains(r#""stored":1"#), "{name}: {answer}");

    let status = server
        .wait_for_exit(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("{name}: the server did not exit after draining"));
    assert_eq!(status.code(), Some(0), "{name}: exit status {status:?}");
    assert_eq!(entries_of(&tenure.status_json(), "track"), 1, "{name}");
}

#[test]
fn sigterm_drains_the_request_in_flight_and_exits_0() {
    drains_on("TERM");
}

#[test]
fn sigint_drains_the_request_in_flight_and_exits_0() {
    drains_on("INT");
}
