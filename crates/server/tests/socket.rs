//! The server on a real socket and as a process: half-sent requests and idle connections are
//! dropped, connections are capped and at the cap idle ones make room, logs go to stderr and the
//! demo to stdout, short keys are refused at start.

mod common;

use checkout_server::serve::{Limits, serve};
use checkout_server::{AppState, Config, Store, app};
use common::KEY;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// A session creation whose headers are sent and whose body is half sent: a request in flight.
/// It asks for the connection to close after the answer, so the answer can be read to the end.
async fn upload_half(addr: SocketAddr, account: &str) -> (TcpStream, String) {
    let body = common::session_body(account, "pro").to_string();
    let (first_half, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/checkout/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first_half}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    (stream, rest.to_string())
}

/// Sends the rest of an [`upload_half`] and reads the answer.
async fn finish_upload(mut stream: TcpStream, rest: &str) -> String {
    stream.write_all(rest.as_bytes()).await.unwrap();
    read_until_closed(&mut stream).await
}

/// `GET /healthz` on a new connection: the whole answer.
async fn healthz(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    read_until_closed(&mut stream).await
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_while_every_one_is_in_a_request() {
    let limits = Limits { max_connections: 2, header_timeout: AT_MOST };
    let addr = start(limits, AT_MOST).await;
    let (upload_1, rest_1) = upload_half(addr, "acct-upload-1").await;
    let (upload_2, rest_2) = upload_half(addr, "acct-upload-2").await;
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut first_byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut first_byte)).await;
    assert!(early.is_err(), "a third connection was served while two requests were in flight");
    let answer_1 = finish_upload(upload_1, &rest_1).await;
    assert!(answer_1.starts_with("HTTP/1.1 201"), "{answer_1}");
    let answer = read_until_closed(&mut third).await;
    assert!(answer.ends_with("ok"), "{answer}");
    let answer_2 = finish_upload(upload_2, &rest_2).await;
    assert!(answer_2.starts_with("HTTP/1.1 201"), "{answer_2}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_makes_room_at_the_cap() {
    let limits = Limits { max_connections: 1, header_timeout: AT_MOST };
    let addr = start(limits, AT_MOST).await;
    let mut kept_alive = TcpStream::connect(addr).await.unwrap();
    kept_alive.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut first_answer = [0u8; 1];
    kept_alive.read_exact(&mut first_answer).await.unwrap();
    let answer = tokio::time::timeout(AT_MOST, healthz(addr)).await.expect("the idle connection kept its place");
    assert!(answer.ends_with("ok"), "{answer}");
    let rest = read_until_closed(&mut kept_alive).await;
    assert!(rest.ends_with("ok"), "the idle connection got its answer before it was closed: {rest}");
}

/// `sockets` connections that never send a byte, each reopened a moment after the server closes
/// it, until `until` at the latest; counts the reopenings in `reopened`. The moment keeps the
/// churn to a few thousand connections, well within the loopback's ephemeral ports (reused
/// ports still in TIME_WAIT would delay a connect by the SYN retry's second).
fn silent_flood(
    addr: SocketAddr,
    sockets: usize,
    until: tokio::time::Instant,
    reopened: &Arc<AtomicUsize>,
) -> tokio::task::JoinSet<()> {
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..sockets {
        let reopened = reopened.clone();
        flood.spawn(async move {
            while let Ok(Ok(mut socket)) = tokio::time::timeout_at(until, TcpStream::connect(addr)).await {
                let mut byte = [0u8; 1];
                if tokio::time::timeout_at(until, socket.read(&mut byte)).await.is_err() {
                    break;
                }
                reopened.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(REOPEN_AFTER).await;
            }
        });
    }
    flood
}

const REOPEN_AFTER: Duration = Duration::from_millis(250);

/// The issue's bound: with thousands of silent sockets open, a health check answered within 1 s.
const HEALTH_CHECK_BOUND: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_beyond_the_cap_do_not_starve_real_requests_nor_cut_one_in_flight() {
    let addr = start(Limits { max_connections: 64, ..Limits::default() }, AT_MOST).await;
    // The oldest connection, so the first one eviction would pick if it ignored requests in flight.
    let (upload, rest) = upload_half(addr, "acct-slow-upload").await;
    let reopened = Arc::new(AtomicUsize::new(0));
    let flood = silent_flood(addr, 400, tokio::time::Instant::now() + AT_MOST, &reopened);
    tokio::time::sleep(Duration::from_millis(500)).await;
    for probe in 0..5 {
        let answer = tokio::time::timeout(HEALTH_CHECK_BOUND, healthz(addr)).await;
        let reopened = reopened.load(Ordering::Relaxed);
        let answer = answer.unwrap_or_else(|_| panic!("probe {probe} waited over 1 s ({reopened} sockets reopened)"));
        assert!(answer.ends_with("ok"), "{answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let answer = finish_upload(upload, &rest).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "the upload in flight was cut: {answer}");
    drop(flood);
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
