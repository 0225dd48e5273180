//! `cargo xtask soak`: a bounded mixed load on the release server, then a consistency check.
//!
//! Starts the release server (a file database, its own port), runs `--clients` paying clients for
//! `--seconds` (each: create a session, read it, tokenize a card, confirm; every fourth payment is
//! confirmed from two tabs at once) and `--readers` clients reading sessions and subscriptions,
//! then checks through the server API that every account has at most one paid invoice and that
//! every payment the clients saw succeed has exactly one subscription and one paid invoice of the
//! amount shown. Prints requests/s, p50/p99 and the inconsistencies found, writes the figures into
//! the README, and fails when anything is inconsistent.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "sk_test_soak_0123456789abcdef";

struct Options {
    clients: usize,
    readers: usize,
    seconds: u64,
    server: PathBuf,
    readme: bool,
}

fn options() -> Options {
    let mut o = Options {
        clients: 16,
        readers: 4,
        seconds: 30,
        server: PathBuf::from("target/release/checkout-server"),
        readme: true,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--clients" => o.clients = value.parse().unwrap_or(o.clients),
            "--readers" => o.readers = value.parse().unwrap_or(o.readers),
            "--seconds" => o.seconds = value.parse().unwrap_or(o.seconds),
            "--server" => o.server = PathBuf::from(value),
            "--no-readme" => {
                o.readme = false;
                i -= 1;
            }
            other => panic!("soak: unknown option {other}"),
        }
        i += 2;
    }
    o
}

/// What every client records: latencies by kind, and the payments it saw succeed.
#[derive(Default)]
struct Record {
    reads: Vec<f64>,
    writes: Vec<f64>,
    errors: usize,
    paid: Vec<(String, i64)>,
    attempted: Vec<String>,
}

struct Server {
    child: Child,
    base: String,
    db: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.db.display()));
        }
    }
}

fn start_server(binary: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let db = std::env::temp_dir().join(format!("kiro-soak-{}.sqlite3", std::process::id()));
    let dist = std::env::temp_dir().join("kiro-soak-dist");
    std::fs::create_dir_all(&dist).unwrap();
    for entry in ["checkout", "checkout-stripe", "portal", "portal-stripe"] {
        std::fs::write(dist.join(format!("{entry}.html")), "<!doctype html><title>soak</title>").unwrap();
    }
    let child = Command::new(binary)
        .args(["--port", &port.to_string(), "--secret-key", KEY, "--db"])
        .arg(&db)
        .arg("--dist")
        .arg(&dist)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("soak: can't start {}: {e}", binary.display()));
    Server { child, base: format!("http://127.0.0.1:{port}"), db }
}

async fn wait_until_up(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("soak: the server did not come up");
}

/// One request, timed into `bucket`; the JSON answer, or `None` for a transport error.
async fn timed(request: reqwest::RequestBuilder, bucket: &mut Vec<f64>) -> Option<(u16, Value)> {
    let started = Instant::now();
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    bucket.push(started.elapsed().as_secs_f64() * 1000.0);
    Some((status, body))
}

/// One paying client until `deadline`.
async fn payer(base: String, id: usize, deadline: Instant, known: Arc<Mutex<Vec<String>>>) -> Record {
    let http = reqwest::Client::new();
    let mut r = Record::default();
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        let account = format!("soak-{id}-{n}");
        r.attempted.push(account.clone());
        let plan = ["pro", "pro_plus", "power"][n % 3];
        let body = json!({"account": {"id": account, "email": "soak@example.com", "login": "github", "aws_account_linked": false},
                          "plan": plan, "return_url": "kiro://kiro.kiroAgent/x"});
        let create = http.post(format!("{base}/v1/checkout/sessions")).bearer_auth(KEY).json(&body);
        let Some((201, created)) = timed(create, &mut r.writes).await else {
            r.errors += 1;
            continue;
        };
        let session = created["id"].as_str().unwrap_or_default().to_string();
        known.lock().unwrap().push(session.clone());
        let Some((200, view)) = timed(http.get(format!("{base}/api/checkout/{session}")), &mut r.reads).await else {
            r.errors += 1;
            continue;
        };
        let total = view["quote"]["total_due_today"].as_i64().unwrap_or(0);
        let card =
            json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "Soak Test"});
        let Some((200, pm)) =
            timed(http.post(format!("{base}/api/checkout/{session}/card")).json(&card), &mut r.writes).await
        else {
            r.errors += 1;
            continue;
        };
        let confirm = |key: String| {
            http.post(format!("{base}/api/checkout/{session}/confirm")).json(&json!({
                "email": "soak@example.com", "payment_method": pm["id"], "expected_total": total,
                "billing": {"country": "US", "postal_code": "94107"}, "idempotency_key": key}))
        };
        let (mut first_latency, mut second_latency) = (Vec::new(), Vec::new());
        let answers = if n.is_multiple_of(4) {
            // Two tabs confirming at once: one charge between them.
            let (a, b) = tokio::join!(
                timed(confirm(format!("{account}-a")), &mut first_latency),
                timed(confirm(format!("{account}-b")), &mut second_latency)
            );
            vec![a, b]
        } else {
            vec![timed(confirm(format!("{account}-a")), &mut first_latency).await]
        };
        r.writes.extend(first_latency.into_iter().chain(second_latency));
        for answer in answers {
            match answer {
                Some((200, outcome)) if outcome["status"] == "succeeded" => r.paid.push((account.clone(), total)),
                Some((409, _)) => {}
                _ => r.errors += 1,
            }
        }
    }
    r
}

/// One reading client until `deadline`: sessions the payers made, and subscriptions.
async fn reader(base: String, deadline: Instant, known: Arc<Mutex<Vec<String>>>) -> Record {
    let http = reqwest::Client::new();
    let mut r = Record::default();
    let mut n = 0usize;
    while Instant::now() < deadline {
        n += 1;
        let session = {
            let known = known.lock().unwrap();
            if known.is_empty() { None } else { Some(known[n * 7919 % known.len()].clone()) }
        };
        let request = match session {
            Some(session) if n.is_multiple_of(2) => http.get(format!("{base}/api/checkout/{session}")),
            _ => http.get(format!("{base}/v1/accounts/soak-0-{}/subscription", 1 + n % 50)).bearer_auth(KEY),
        };
        if timed(request, &mut r.reads).await.is_none() {
            r.errors += 1;
        }
    }
    r
}

/// Accounts whose books do not add up: more than one paid invoice, or a payment the client saw
/// succeed without exactly one paid invoice of that amount and an active subscription.
async fn inconsistencies(base: &str, records: &[Record]) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut found = Vec::new();
    let paid: std::collections::HashMap<&str, i64> =
        records.iter().flat_map(|r| &r.paid).map(|(a, t)| (a.as_str(), *t)).collect();
    for account in records.iter().flat_map(|r| &r.attempted) {
        let invoices: Value =
            match http.get(format!("{base}/v1/accounts/{account}/invoices")).bearer_auth(KEY).send().await {
                Ok(response) => response.json().await.unwrap_or(Value::Null),
                Err(e) => {
                    found.push(format!("{account}: can't read invoices: {e}"));
                    continue;
                }
            };
        let paid_invoices: Vec<&Value> = invoices["invoices"]
            .as_array()
            .map(|a| a.iter().filter(|i| i["status"] == "paid").collect())
            .unwrap_or_default();
        if paid_invoices.len() > 1 {
            found.push(format!("{account}: {} paid invoices", paid_invoices.len()));
        }
        if let Some(total) = paid.get(account.as_str()) {
            let sub: Value = http
                .get(format!("{base}/v1/accounts/{account}/subscription"))
                .bearer_auth(KEY)
                .send()
                .await
                .map(|r| r.json())
                .unwrap_or_else(|_| panic!("soak: the server went away"))
                .await
                .unwrap_or(Value::Null);
            if paid_invoices.len() != 1 || paid_invoices[0]["amount"] != *total || sub["status"] != "active" {
                found.push(format!("{account}: paid {total} but has {paid_invoices:?} and {}", sub["status"]));
            }
        }
    }
    found
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let o = options();
    let server = start_server(&o.server);
    wait_until_up(&reqwest::Client::new(), &server.base).await;
    eprintln!(
        "soak: {} paying clients and {} readers for {} s against {}",
        o.clients, o.readers, o.seconds, server.base
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.seconds);
    let known = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for id in 0..o.clients {
        tasks.push(tokio::spawn(payer(server.base.clone(), id, deadline, known.clone())));
    }
    for _ in 0..o.readers {
        tasks.push(tokio::spawn(reader(server.base.clone(), deadline, known.clone())));
    }
    let mut records = Vec::new();
    for task in tasks {
        records.push(task.await.expect("a soak client panicked"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let found = inconsistencies(&server.base, &records).await;
    let mut reads: Vec<f64> = records.iter().flat_map(|r| r.reads.iter().copied()).collect();
    let mut writes: Vec<f64> = records.iter().flat_map(|r| r.writes.iter().copied()).collect();
    let mut all: Vec<f64> = reads.iter().chain(&writes).copied().collect();
    let payments: usize = records.iter().map(|r| r.paid.len()).sum();
    let errors: usize = records.iter().map(|r| r.errors).sum();
    let report = format!(
        "Measured by `cargo xtask soak` ({} paying clients, {} readers, {} s, release server, file database).\n\n\
         | figure | value |\n|---|---:|\n\
         | requests | {} ({:.0}/s) |\n| all requests p50 / p99 | {:.1} ms / {:.1} ms |\n\
         | reads p50 / p99 (during the writes) | {:.1} ms / {:.1} ms |\n\
         | writes p50 / p99 | {:.1} ms / {:.1} ms |\n| payments | {payments} |\n\
         | failed requests | {errors} |\n| inconsistencies | {} |\n",
        o.clients,
        o.readers,
        o.seconds,
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&mut all, 0.5),
        percentile(&mut all, 0.99),
        percentile(&mut reads, 0.5),
        percentile(&mut reads, 0.99),
        percentile(&mut writes, 0.5),
        percentile(&mut writes, 0.99),
        found.len()
    );
    println!("\n{report}");
    for problem in found.iter().take(20) {
        eprintln!("inconsistent: {problem}");
    }
    drop(server);
    if o.readme {
        write_readme(&report);
    }
    if !found.is_empty() {
        std::process::exit(1);
    }
}

fn write_readme(report: &str) {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let Ok(text) = std::fs::read_to_string(&readme) else { return };
    if let (Some(start), Some(end)) = (text.find("<!-- soak:start -->"), text.find("<!-- soak:end -->")) {
        let updated = format!("{}<!-- soak:start -->\n{report}{}", &text[..start], &text[end..]);
        if std::fs::write(&readme, updated).is_ok() {
            eprintln!("soak: wrote the figures into README.md");
        }
    }
}
