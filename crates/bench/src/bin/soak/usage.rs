//! `cargo xtask soak --usage`: meter events from many accounts in batches of 100, 5% of batches
//! sent again as a retry would (same identifiers), readers asking `GET .../credits` meanwhile, and
//! (with several instances) one instance killed mid-run. A batch that got no answer is sent again
//! to the next instance until one answers. Then every account's total is read back and compared
//! with what was sent: any difference fails the run.

use crate::clients::Targets;
use crate::cluster::KEY;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Accounts reporting usage.
pub const ACCOUNTS: usize = 1_000;
const BATCH: usize = 100;
/// One batch in this many is sent a second time, as a retry after a lost answer would be.
const RESEND_ONE_IN: u64 = 20;
const GIVE_UP_AFTER: Duration = Duration::from_secs(90);

/// What one sender or reader saw.
#[derive(Default)]
pub struct UsageRecord {
    /// Hundredths of a credit sent per account, each event counted once.
    pub sent: BTreeMap<usize, i64>,
    pub events: usize,
    pub resent_events: usize,
    pub duplicates_answered: usize,
    pub unanswered: usize,
    pub failed: BTreeMap<String, usize>,
    pub reads: Vec<f64>,
}

/// A small, fast generator: the soak needs spread, not quality.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

pub fn account(run: &str, n: usize) -> String {
    format!("soak-usage-{run}-{n}")
}

/// Makes the accounts known to the server (a checkout session each, as the IDE's backend would).
pub async fn create_accounts(targets: &Targets, run: &str) {
    let client = reqwest::Client::new();
    let base = &targets.0[0];
    for n in 0..ACCOUNTS {
        let body = json!({
            "account": {"id": account(run, n), "email": "soak@example.com", "login": "github", "aws_account_linked": false},
            "plan": "pro", "return_url": "kiro://kiro.kiroAgent/upgrade-success",
        });
        let response =
            client.post(format!("{base}/v1/checkout/sessions")).bearer_auth(KEY).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 201, "soak: creating account {n}");
    }
}

/// Sends batches until `deadline`; every account's total as sent.
pub async fn sender(targets: Targets, run: String, id: usize, deadline: Instant) -> UsageRecord {
    let client = reqwest::Client::new();
    let mut random = XorShift(0x9E37_79B9_7F4A_7C15 ^ ((id as u64 + 1) * 0x2545_F491_4F6C_DD1D));
    let mut r = UsageRecord::default();
    let mut n = 0usize;
    while Instant::now() < deadline {
        let mut events = Vec::with_capacity(BATCH);
        let mut batch_sent: Vec<(usize, i64)> = Vec::with_capacity(BATCH);
        for i in 0..BATCH {
            let who = (random.next() % ACCOUNTS as u64) as usize;
            let hundredths = 1 + (random.next() % 500) as i64;
            batch_sent.push((who, hundredths));
            events.push(json!({
                "event_name": "kiro_credits",
                "identifier": format!("{run}-{id}-{n}-{i}"),
                "payload": {"account_id": account(&run, who), "value": format!("{}.{:02}", hundredths / 100, hundredths % 100)},
            }));
        }
        let body = json!({ "events": events });
        let resend = random.next().is_multiple_of(RESEND_ONE_IN);
        if send(&client, &targets, n + id, &body, &mut r).await {
            r.events += BATCH;
            for (who, hundredths) in batch_sent {
                *r.sent.entry(who).or_default() += hundredths;
            }
            if resend && send(&client, &targets, n + id + 1, &body, &mut r).await {
                r.resent_events += BATCH;
            }
        }
        n += 1;
    }
    r
}

/// Sends one batch, to the next instance while none answers; whether it was taken.
async fn send(client: &reqwest::Client, targets: &Targets, first: usize, body: &Value, r: &mut UsageRecord) -> bool {
    let started = Instant::now();
    let mut attempt = first;
    while started.elapsed() < GIVE_UP_AFTER {
        let base = &targets.0[attempt % targets.0.len()];
        attempt += 1;
        let Ok(response) =
            client.post(format!("{base}/v1/billing/meter_event_stream")).bearer_auth(KEY).json(body).send().await
        else {
            r.unanswered += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        match status {
            200 => {
                r.duplicates_answered += answer["duplicates"].as_u64().unwrap_or(0) as usize;
                return true;
            }
            // The instance lost its database for a moment: as no answer.
            503 => r.unanswered += 1,
            _ => {
                let what = format!("{status} {}", answer["error"]["code"].as_str().unwrap_or(""));
                *r.failed.entry(what).or_default() += 1;
                return false;
            }
        }
    }
    *r.failed.entry("no answer".into()).or_default() += 1;
    false
}

/// Asks for random accounts' credits until `deadline`, timing each answer.
pub async fn reader(targets: Targets, run: String, id: usize, deadline: Instant) -> UsageRecord {
    let client = reqwest::Client::new();
    let mut random = XorShift(0xD1B5_4A32_D192_ED03 ^ (id as u64 + 7));
    let mut r = UsageRecord::default();
    let mut n = id;
    while Instant::now() < deadline {
        let who = account(&run, (random.next() % ACCOUNTS as u64) as usize);
        let base = &targets.0[n % targets.0.len()];
        n += 1;
        let started = Instant::now();
        match client.get(format!("{base}/v1/accounts/{who}/credits")).bearer_auth(KEY).send().await {
            Ok(response) if response.status().is_success() => {
                let _ = response.bytes().await;
                r.reads.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            Ok(response) => *r.failed.entry(format!("credits: {}", response.status().as_u16())).or_default() += 1,
            Err(_) => r.unanswered += 1,
        }
    }
    r
}

/// Every account's total read back against what was sent: the differences found.
pub async fn check_totals(base: &str, run: &str, records: &[UsageRecord]) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut sent: BTreeMap<usize, i64> = BTreeMap::new();
    for (who, hundredths) in records.iter().flat_map(|r| &r.sent) {
        *sent.entry(*who).or_default() += hundredths;
    }
    let mut found = Vec::new();
    for n in 0..ACCOUNTS {
        let who = account(run, n);
        let body: Value = client
            .get(format!("{base}/v1/accounts/{who}/credits"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let used = body["used"].as_str().unwrap_or("?").to_string();
        let expected = sent.get(&n).copied().unwrap_or(0);
        if used != format!("{}.{:02}", expected / 100, expected % 100) {
            found.push(format!("{who}: sent {expected} hundredths, the server counted {used}"));
        }
    }
    found
}
