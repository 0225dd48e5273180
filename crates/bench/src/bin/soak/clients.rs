//! The load: paying clients and reading clients, spread over the instances so that one account's
//! requests (and the two tabs of a two-tab confirm) land on different ones. A careful client: a
//! request that got no answer (its instance died) is sent again, with the same idempotency key, to
//! the next instance, for up to [`GIVE_UP_AFTER`].

use crate::cluster::KEY;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a client keeps trying one request while instances die and come back.
const GIVE_UP_AFTER: Duration = Duration::from_secs(90);

/// What every client records: latencies by kind, and the payments it saw succeed.
#[derive(Default)]
pub struct Record {
    pub reads: Vec<f64>,
    pub writes: Vec<f64>,
    pub confirms: Vec<f64>,
    /// Requests that ended without the answer the client needed, by what they got instead.
    pub errors: BTreeMap<String, usize>,
    /// Attempts that got no answer at all (a killed instance), sent again elsewhere.
    pub unanswered: usize,
    /// Confirms answered `payment_in_progress` and sent again with the same key.
    pub busy: usize,
    pub paid: Vec<(String, i64)>,
    pub attempted: Vec<String>,
    /// Accounts where a confirm got no answer, its retry `session_completed`, and no tab saw the
    /// payment succeed: the client cannot tell from the confirm whether it paid.
    pub unknown: Vec<String>,
    /// Requests sent while an instance was cut off from the database: how long the others took
    /// to answer, and how long the cut-off one took to answer (`503`).
    pub while_cut: Vec<f64>,
    pub cut_off_answers: Vec<f64>,
}

impl Record {
    /// Counts a request that did not get the answer it needed.
    fn failed(&mut self, step: &str, answer: &Option<Answer>) {
        let what = match answer {
            Some((status, body)) => format!("{step}: {status} {}", body["error"]["code"].as_str().unwrap_or("")),
            None => format!("{step}: no answer within {} s", GIVE_UP_AFTER.as_secs()),
        };
        *self.errors.entry(what).or_default() += 1;
    }

    pub fn error_count(&self) -> usize {
        self.errors.values().sum()
    }
}

/// Where a client sends its requests, and the instance cut off from the database now (its
/// index + 1; 0: none), whose answers are counted apart.
#[derive(Clone)]
pub struct Targets(pub Arc<Vec<String>>, Arc<AtomicUsize>);

impl Targets {
    pub fn new(bases: Vec<String>) -> Targets {
        Targets(Arc::new(bases), Arc::default())
    }

    fn base(&self, n: usize) -> &str {
        &self.0[n % self.0.len()]
    }

    /// Instance `n` is cut off from the database from now on (`None`: none is).
    pub fn cut_off(&self, n: Option<usize>) {
        self.1.store(n.map_or(0, |n| n + 1), Ordering::Relaxed);
    }

    fn cut(&self) -> Option<usize> {
        self.1.load(Ordering::Relaxed).checked_sub(1)
    }
}

/// An answer: status and JSON body.
type Answer = (u16, Value);

fn ms_since(sent: Instant) -> f64 {
    sent.elapsed().as_secs_f64() * 1000.0
}

/// One attempt, timed into `bucket` when answered; `None` when there was no answer.
async fn timed(request: reqwest::RequestBuilder, bucket: &mut Vec<f64>) -> Option<Answer> {
    let started = Instant::now();
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    bucket.push(started.elapsed().as_secs_f64() * 1000.0);
    Some((status, body))
}

/// Sends `build(base)` to instance `first`, then the next ones, until one answers; an answer
/// `503` (that instance lost its database) counts as none.
async fn careful(
    targets: &Targets,
    first: usize,
    r: &mut Record,
    kind: Kind,
    build: impl Fn(&str) -> reqwest::RequestBuilder,
) -> Option<Answer> {
    let started = Instant::now();
    let mut n = first;
    while started.elapsed() < GIVE_UP_AFTER {
        let bucket = match kind {
            Kind::Read => &mut r.reads,
            Kind::Write => &mut r.writes,
            Kind::Confirm => &mut r.confirms,
        };
        let (cut, sent) = (targets.cut(), Instant::now());
        let answer = timed(build(targets.base(n)), bucket).await;
        match cut {
            Some(cut) if cut == n % targets.0.len() => r.cut_off_answers.push(ms_since(sent)),
            Some(_) if answer.is_some() => r.while_cut.push(ms_since(sent)),
            _ => {}
        }
        match answer {
            Some((503, _)) | None => {
                r.unanswered += 1;
                n += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            answer => return answer,
        }
    }
    None
}

#[derive(Clone, Copy)]
enum Kind {
    Read,
    Write,
    Confirm,
}

/// One paying client until `deadline`.
pub async fn payer(
    targets: Targets,
    run: String,
    id: usize,
    deadline: Instant,
    known: Arc<Mutex<Vec<String>>>,
) -> Record {
    let http = reqwest::Client::new();
    let mut r = Record::default();
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        let account = format!("soak-{run}-{id}-{n}");
        r.attempted.push(account.clone());
        let plan = ["pro", "pro_plus", "power"][n % 3];
        if let Some((session, total, pm)) = open_checkout(&http, &targets, &mut r, id + n, &account, plan).await {
            known.lock().unwrap().push(session.clone());
            let tabs = if n.is_multiple_of(4) { 2 } else { 1 };
            confirm(&http, &targets, &mut r, id + n + 3, &account, (&session, total, &pm), tabs).await;
        }
    }
    r
}

/// Creates the session (on one instance), reads it (on the next), tokenizes a card (on the one
/// after): the session id, the total quoted and the payment method.
async fn open_checkout(
    http: &reqwest::Client,
    targets: &Targets,
    r: &mut Record,
    first: usize,
    account: &str,
    plan: &str,
) -> Option<(String, i64, Value)> {
    let body = json!({"account": {"id": account, "email": "soak@example.com", "login": "github", "aws_account_linked": false},
                      "plan": plan, "return_url": "kiro://kiro.kiroAgent/x"});
    let create = |base: &str| {
        let request = http.post(format!("{base}/v1/checkout/sessions")).bearer_auth(KEY);
        request.header("Idempotency-Key", format!("{account}-create")).json(&body)
    };
    let created = match careful(targets, first, r, Kind::Write, create).await {
        Some((201, created)) => created,
        other => {
            r.failed("create a session", &other);
            return None;
        }
    };
    let session = created["id"].as_str().unwrap_or_default().to_string();
    let read = |base: &str| http.get(format!("{base}/api/checkout/{session}"));
    let view = match careful(targets, first + 1, r, Kind::Read, read).await {
        Some((200, view)) => view,
        other => {
            r.failed("read the session", &other);
            return None;
        }
    };
    let total = view["quote"]["total_due_today"].as_i64().unwrap_or(0);
    let card =
        json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "Soak Test"});
    let tokenize = |base: &str| http.post(format!("{base}/api/checkout/{session}/card")).json(&card);
    let pm = match careful(targets, first + 2, r, Kind::Write, tokenize).await {
        Some((200, pm)) => pm,
        other => {
            r.failed("tokenize a card", &other);
            return None;
        }
    };
    Some((session, total, pm))
}

/// Confirms from `tabs` tabs at once, each on its own instance with its own key.
async fn confirm(
    http: &reqwest::Client,
    targets: &Targets,
    r: &mut Record,
    first: usize,
    account: &str,
    (session, total, pm): (&str, i64, &Value),
    tabs: usize,
) {
    let tab = |n: usize| {
        let mut own = Record::default();
        async move {
            let key = format!("{account}-tab{n}");
            let body = json!({"email": "soak@example.com", "payment_method": pm["id"], "expected_total": total,
                              "billing": {"country": "US", "postal_code": "94107"}, "idempotency_key": key});
            let request = |base: &str| http.post(format!("{base}/api/checkout/{session}/confirm")).json(&body);
            let outcome = confirm_tab(targets, first + n, &mut own, request).await;
            (outcome, own)
        }
    };
    let outcomes = if tabs == 2 {
        let (a, b) = tokio::join!(tab(0), tab(1));
        vec![a, b]
    } else {
        vec![tab(0).await]
    };
    let mut someone_saw_it = false;
    let mut lost_answer = false;
    for (outcome, own) in outcomes {
        r.confirms.extend(own.confirms);
        r.while_cut.extend(own.while_cut);
        r.cut_off_answers.extend(own.cut_off_answers);
        for (what, count) in own.errors {
            *r.errors.entry(what).or_default() += count;
        }
        r.unanswered += own.unanswered;
        r.busy += own.busy;
        match outcome {
            Some((200, answer)) if answer["status"] == "succeeded" => {
                someone_saw_it = true;
                r.paid.push((account.to_string(), total));
            }
            // The other tab paid, or (its own answer lost) its own first attempt did.
            Some((409, answer)) if answer["error"]["code"] == "session_completed" => lost_answer |= own.unanswered > 0,
            other => r.failed("confirm", &other),
        }
    }
    if lost_answer && !someone_saw_it {
        r.unknown.push(account.to_string());
    }
}

/// One tab's confirm: sent again with the same key while it gets no answer or
/// `payment_in_progress` (another tab's charge, or a dead instance's until its lease runs out).
async fn confirm_tab(
    targets: &Targets,
    first: usize,
    r: &mut Record,
    request: impl Fn(&str) -> reqwest::RequestBuilder,
) -> Option<Answer> {
    let started = Instant::now();
    let mut n = first;
    loop {
        let answer = careful(targets, n, r, Kind::Confirm, &request).await;
        match answer {
            Some((409, body))
                if body["error"]["code"] == "payment_in_progress" && started.elapsed() < GIVE_UP_AFTER =>
            {
                r.busy += 1;
                n += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            answer => return answer,
        }
    }
}

/// One reading client until `deadline`: sessions the payers made, and subscriptions.
pub async fn reader(
    targets: Targets,
    run: String,
    id: usize,
    deadline: Instant,
    known: Arc<Mutex<Vec<String>>>,
) -> Record {
    let http = reqwest::Client::new();
    let mut r = Record::default();
    let mut n = 0usize;
    while Instant::now() < deadline {
        n += 1;
        let session = {
            let known = known.lock().unwrap();
            if known.is_empty() { None } else { Some(known[n * 7919 % known.len()].clone()) }
        };
        let request = |base: &str| match &session {
            Some(session) if n.is_multiple_of(2) => http.get(format!("{base}/api/checkout/{session}")),
            _ => http.get(format!("{base}/v1/accounts/soak-{run}-0-{}/subscription", 1 + n % 50)).bearer_auth(KEY),
        };
        match careful(&targets, id + n, &mut r, Kind::Read, request).await {
            Some((200 | 404, _)) => {}
            other => r.failed("read", &other),
        }
    }
    r
}
