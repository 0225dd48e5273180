//! The server on a real socket and as a process: half-sent requests and idle connections are
//! dropped, connections are capped, logs go to stderr and the demo to stdout, short keys are
//! refused at start.

use crate::common::KEY;
use checkout_server::http::serve::{Limits, serve};
use checkout_server::{AppState, Config, Store, app};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A safety net so a broken server fails the test instead of hanging it; not a timing assertion.
const AT_MOST: Duration = Duration::from_secs(30);

async fn start(limits: Limits, request_timeout: Duration) -> SocketAddr {
    let mut cfg = Config::new(KEY, "http://checkout.test");
    cfg.request_timeout = request_timeout;
    let router = app(AppState::new(cfg, Store::in_memory().unwrap()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, router, limits, std::future::pending()));
    addr
}

/// Everything the server sends until it closes the connection.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(AT_MOST, stream.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn half_sent_headers_are_dropped() {
    let addr = start(Limits { header_timeout: Duration::from_secs(1), ..Limits::default() }, AT_MOST).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn a_half_sent_body_gets_a_json_408_and_the_connection_closes() {
    let addr = start(Limits::default(), Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/checkout/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{{\"account\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let addr = start(Limits { header_timeout: Duration::from_secs(1), ..Limits::default() }, AT_MOST).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "one answer, then the idle connection was closed: {answer}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let limits = Limits { max_connections: 2, header_timeout: AT_MOST };
    let addr = start(limits, AT_MOST).await;
    let idle_1 = TcpStream::connect(addr).await.unwrap();
    let idle_2 = TcpStream::connect(addr).await.unwrap();
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut first_byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut first_byte)).await;
    assert!(early.is_err(), "a third connection was served while two were open");
    drop(idle_1);
    drop(idle_2);
    let answer = read_until_closed(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn built_app_dir() -> std::path::PathBuf {
    let dist = std::env::temp_dir().join(format!("kiro-socket-dist-{}", std::process::id()));
    std::fs::create_dir_all(&dist).unwrap();
    for entry in ["checkout", "checkout-stripe", "portal", "portal-stripe"] {
        std::fs::write(dist.join(format!("{entry}.html")), "<!doctype html><title>shell</title>").unwrap();
    }
    dist
}

#[test]
fn logs_go_to_stderr_and_the_demo_to_stdout() {
    let dist = built_app_dir();
    let mut server = Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .args(["--demo", "--db", ":memory:", "--port", &free_port().to_string(), "--dist"])
        .arg(&dist)
        .env("CHECKOUT_SECRET_KEY", KEY)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = Vec::new();
    // The reader stays open until the end: the server may still be printing.
    let mut demo = BufReader::new(server.stdout.take().unwrap()).lines();
    for line in demo.by_ref() {
        let line = line.unwrap();
        let done = line.contains("Press Ctrl-C");
        stdout.push(line);
        if done {
            break;
        }
    }
    let mut stderr = String::new();
    let mut log = BufReader::new(server.stderr.take().unwrap());
    while !stderr.contains("listening") && log.read_line(&mut stderr).unwrap() > 0 {}
    server.kill().unwrap();
    server.wait().unwrap();
    drop(demo);
    let stdout = stdout.join("\n");
    assert!(stdout.contains("/checkout/cs_"), "{stdout}");
    assert!(!stdout.contains("INFO"), "logs leaked into stdout: {stdout}");
    assert!(stderr.contains("listening"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes in a log that is not a terminal: {stderr:?}");
    std::fs::remove_dir_all(&dist).unwrap();
}

#[test]
fn a_short_secret_key_stops_the_start_without_printing_it() {
    let dist = built_app_dir();
    let short_key = "sk_live_short";
    let output = Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .args(["--db", ":memory:", "--port", &free_port().to_string(), "--secret-key", short_key, "--dist"])
        .arg(&dist)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(said.contains("at least 24 characters"), "{said}");
    assert!(!said.contains(short_key), "{said}");
}
