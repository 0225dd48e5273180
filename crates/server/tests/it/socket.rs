//! The server on a real socket and as a process: half-sent requests and idle connections are
//! dropped, connections are capped and at the cap idle ones make room, logs go to stderr and the
//! demo to stdout, short keys are refused at start.

use crate::common::KEY;
use checkout_server::http::serve::{Limits, bind, serve};
use checkout_server::{AppState, Config, Store, app};
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

/// The issue's bound: with thousands of silent sockets open, a health check answered within 1 s.
const HEALTH_CHECK_BOUND: Duration = Duration::from_secs(1);

async fn start(limits: Limits, request_timeout: Duration) -> SocketAddr {
    let mut cfg = Config::new(KEY, "http://checkout.test");
    cfg.request_timeout = request_timeout;
    let router = app(AppState::new(cfg, Store::in_memory().unwrap()).unwrap());
    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
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

/// What a client asks of its connection after an answer.
#[derive(Clone, Copy)]
enum Then {
    Close,
    KeepAlive,
}

/// A session creation whose headers are sent and whose body is half sent: a request in flight.
async fn upload_half(addr: SocketAddr, account: &str, then: Then) -> (TcpStream, String) {
    let body = crate::common::session_body(account, "pro").to_string();
    let (first_half, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let connection = match then {
        Then::Close => "close",
        Then::KeepAlive => "keep-alive",
    };
    let head = format!(
        "POST /v1/checkout/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n{first_half}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    (stream, rest.to_string())
}

/// Sends the rest of an [`upload_half`] made with [`Then::Close`] and reads the answer.
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

/// The first byte of an answer, if it comes within half a second.
async fn answers_early(stream: &mut TcpStream) -> bool {
    let mut first_byte = [0u8; 1];
    tokio::time::timeout(Duration::from_millis(500), stream.read(&mut first_byte)).await.is_ok()
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_while_every_one_is_in_a_request() {
    let limits = Limits { max_connections: 2, header_timeout: AT_MOST };
    let addr = start(limits, AT_MOST).await;
    let (mut upload_1, rest_1) = upload_half(addr, "acct-upload-1", Then::KeepAlive).await;
    let (upload_2, rest_2) = upload_half(addr, "acct-upload-2", Then::Close).await;
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    assert!(!answers_early(&mut third).await, "a third connection was served while two requests were in flight");
    // Answered, the first upload's connection is kept alive, idle: it makes room for the third.
    upload_1.write_all(rest_1.as_bytes()).await.unwrap();
    let answer = tokio::time::timeout(HEALTH_CHECK_BOUND, read_until_closed(&mut third)).await;
    let answer = answer.expect("the third connection waited while the first one was idle");
    assert!(answer.ends_with("ok"), "{answer}");
    let answer_1 = read_until_closed(&mut upload_1).await;
    assert!(answer_1.starts_with("HTTP/1.1 201"), "{answer_1}");
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
    let answer =
        tokio::time::timeout(HEALTH_CHECK_BOUND, healthz(addr)).await.expect("the idle connection kept its place");
    assert!(answer.ends_with("ok"), "{answer}");
    let rest = read_until_closed(&mut kept_alive).await;
    assert!(rest.ends_with("ok"), "the idle connection got its answer before it was closed: {rest}");
}

/// `sockets` connections that never send a byte, opened one after another (as fast as a client
/// can), each reopened a moment after the server closes it, until `until` at the latest; counts
/// the connections opened in `opened`. The moment keeps the churn to about a thousand connections
/// a second, well within the loopback's ephemeral ports (reused ports still in TIME_WAIT would
/// delay a connect by the SYN retry's second) and the two cores tests share.
fn silent_flood(
    addr: SocketAddr,
    sockets: usize,
    until: tokio::time::Instant,
    opened: &Arc<AtomicUsize>,
) -> tokio::task::JoinSet<()> {
    let opened = opened.clone();
    let mut flood = tokio::task::JoinSet::new();
    flood.spawn(async move {
        let mut silent = tokio::task::JoinSet::new();
        for _ in 0..sockets {
            let Ok(Ok(socket)) = tokio::time::timeout_at(until, TcpStream::connect(addr)).await else { break };
            opened.fetch_add(1, Ordering::Relaxed);
            silent.spawn(stay_silent(addr, socket, until, opened.clone()));
        }
        silent.join_all().await;
    });
    flood
}

/// Holds `socket` open without sending a byte and reopens it a moment after the server closes it.
async fn stay_silent(addr: SocketAddr, mut socket: TcpStream, until: tokio::time::Instant, opened: Arc<AtomicUsize>) {
    loop {
        let mut byte = [0u8; 1];
        if tokio::time::timeout_at(until, socket.read(&mut byte)).await.is_err() {
            return;
        }
        tokio::time::sleep(REOPEN_AFTER).await;
        match tokio::time::timeout_at(until, TcpStream::connect(addr)).await {
            Ok(Ok(reopened)) => socket = reopened,
            _ => return,
        }
        opened.fetch_add(1, Ordering::Relaxed);
    }
}

const REOPEN_AFTER: Duration = Duration::from_secs(1);

/// How long the silent sockets are given to open before the probes: on a server that stops
/// accepting at the cap, those beyond the cap and the kernel's backlog never open.
const OPENING: Duration = Duration::from_secs(5);

/// Five `/healthz` probes on new connections, 200 ms apart, once `sockets` silent connections
/// (more than the cap) have opened, while they are held open and reopened: each is answered within
/// the issue's bound. (Probing while they open would also measure the kernel's backlog overflowing
/// as fast as a client can connect, which drops any SYN, the probe's too, for a second.)
async fn probes_are_answered_under_a_silent_flood(addr: SocketAddr, sockets: usize) {
    let opened = Arc::new(AtomicUsize::new(0));
    let flood = silent_flood(addr, sockets, tokio::time::Instant::now() + AT_MOST, &opened);
    let all_open = async {
        while opened.load(Ordering::Relaxed) < sockets {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let _ = tokio::time::timeout(OPENING, all_open).await;
    for probe in 0..5 {
        let answer = tokio::time::timeout(HEALTH_CHECK_BOUND, healthz(addr)).await;
        let opened = opened.load(Ordering::Relaxed);
        let answer =
            answer.unwrap_or_else(|_| panic!("probe {probe} waited over 1 s ({opened} silent connections opened)"));
        assert!(answer.ends_with("ok"), "probe {probe}: {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(flood);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_silent_sockets_do_not_starve_real_requests() {
    let addr = start(Limits::default(), AT_MOST).await;
    probes_are_answered_under_a_silent_flood(addr, 2000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_beyond_the_cap_neither_stall_the_server_nor_cut_a_request_in_flight() {
    let limits = Limits { max_connections: 64, ..Limits::default() };
    let addr = start(limits, AT_MOST).await;
    // The oldest connection: at the cap the first one picked to make room, sometimes before its
    // task has read the request waiting in its socket. It finishes that request, and the server
    // goes on making room with other connections meanwhile.
    let (upload, rest) = upload_half(addr, "acct-slow-upload", Then::Close).await;
    probes_are_answered_under_a_silent_flood(addr, 400).await;
    let answer = finish_upload(upload, &rest).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "the upload in flight was cut: {answer}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn built_app_dir() -> std::path::PathBuf {
    let dist = std::env::temp_dir().join(format!("kiro-socket-dist-{}", std::process::id()));
    std::fs::create_dir_all(&dist).unwrap();
    for entry in checkout_server::http::static_files::ENTRY_NAMES {
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
