//! The harness: a test server per test, a browser per test, and helpers that find things the way
//! people do (by label, role and text).

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use checkout_server::{AppState, Config, Store};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const KEY: &str = "sk_test_browser_0123456789";
/// How long a person would wait for something to appear before calling the page broken.
const PATIENCE: Duration = Duration::from_secs(20);

/// Faults the harness can inject between the browser and the server.
#[derive(Default)]
pub struct Faults {
    /// Process the next confirm (checkout) or change (portal), then cut its answer off.
    pub drop_next_confirm: AtomicBool,
    /// Hold each confirm's answer this long after processing it.
    pub confirm_delay_ms: AtomicU64,
    /// Every request the server received: its path and body (what a card number could be in).
    pub received: std::sync::Mutex<Vec<String>>,
    /// Hold every `.wasm` download until this is false again (a slow network, at will).
    pub hold_wasm: AtomicBool,
}

async fn inject_faults(State(faults): State<Arc<Faults>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1024 * 1024).await.unwrap_or_default();
    let seen = format!("{} {}", parts.uri.path(), String::from_utf8_lossy(&body));
    faults.received.lock().unwrap().push(seen);
    let req = Request::from_parts(parts, axum::body::Body::from(body));
    let path = req.uri().path();
    if path.ends_with(".wasm") {
        while faults.hold_wasm.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let is_confirm = path.ends_with("/confirm") || path.ends_with("/change");
    let response = next.run(req).await;
    if is_confirm {
        let delay = faults.confirm_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if faults.drop_next_confirm.swap(false, Ordering::SeqCst) {
            // The server has done the work; the connection breaks in the middle of its answer.
            use futures_util::StreamExt;
            let cut = futures_util::stream::iter([Ok(axum::body::Bytes::from_static(b"{\"status\":"))]).chain(
                futures_util::stream::once(async {
                    // Let the headers and the first bytes reach the browser before the cut.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Err(std::io::Error::other("fault injection: connection dropped"))
                }),
            );
            return Response::builder()
                .header("content-type", "application/json")
                .body(axum::body::Body::from_stream(cut))
                .unwrap();
        }
    }
    response
}

/// The built app (trunk's `dist/`).
pub fn dist_dir() -> PathBuf {
    let dir = std::env::var_os("APP_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dist"));
    assert!(
        checkout_server::http::static_files::ENTRY_NAMES.iter().all(|entry| dir.join(format!("{entry}.html")).exists()),
        "no built app in {}: run `cargo xtask test`, which builds it first",
        dir.display()
    );
    dir
}

/// One server on its own port with an in-memory database and its clock frozen at `start`.
pub struct TestServer {
    pub base: String,
    pub faults: Arc<Faults>,
    state: AppState,
    addr: SocketAddr,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    pub http: reqwest::Client,
}

impl TestServer {
    /// Starts at 2026-11-16 00:00 UTC: 15 of November's 30 days left.
    pub async fn start() -> TestServer {
        Self::start_at(time::macros::datetime!(2026-11-16 00:00 UTC)).await
    }

    pub async fn start_at(start: OffsetDateTime) -> TestServer {
        Self::start_with(start, None).await
    }

    /// In Stripe mode against `stripe` (localstripe), at 2026-11-16 00:00 UTC.
    pub async fn start_stripe(stripe: &headless::localstripe::LocalStripe) -> TestServer {
        use headless::localstripe::{PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET};
        let settings = checkout_server::config::StripeSettings::new(
            Some(SECRET_KEY),
            Some(PUBLISHABLE_KEY),
            Some(WEBHOOK_SECRET),
            &stripe.base,
            &stripe.js_url(),
        )
        .unwrap();
        Self::start_with(time::macros::datetime!(2026-11-16 00:00 UTC), Some(settings)).await
    }

    async fn start_with(start: OffsetDateTime, stripe: Option<checkout_server::config::StripeSettings>) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let mut config = Config::new(KEY, &base);
        config.dist_dir = Some(dist_dir());
        config.initial_clock = Some(start);
        config.stripe = stripe;
        let state = AppState::new(config, Store::in_memory().unwrap()).unwrap();
        let mut server =
            TestServer { base, faults: Arc::default(), state, addr, running: None, http: reqwest::Client::new() };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let router = checkout_server::app(self.state.clone())
            .layer(middleware::from_fn_with_state(self.faults.clone(), inject_faults));
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        self.running = Some((tx, handle));
    }

    /// Stops answering: the port refuses connections until [`restart`](Self::restart).
    pub async fn stop(&mut self) {
        if let Some((tx, handle)) = self.running.take() {
            let _ = tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
        }
    }

    /// Serves the same data on the same port again.
    pub async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(KEY);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let response = req.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A checkout session for `account` (GitHub login, email prefilled) buying `plan`.
    pub async fn checkout_session(&self, account: &str, plan: &str) -> String {
        self.checkout_session_with(
            json!({"id": account, "email": "dev@example.com", "login": "github", "aws_account_linked": false}),
            plan,
        )
        .await
    }

    pub async fn checkout_session_with(&self, account: Value, plan: &str) -> String {
        let (status, body) = self
            .api(
                reqwest::Method::POST,
                "/v1/checkout/sessions",
                Some(json!({"account": account, "plan": plan, "return_url": "kiro://kiro.kiroAgent/upgrade-success"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["url"].as_str().unwrap().to_string()
    }

    /// Pays a checkout for `account` through the browser API (as the page would) with `card`.
    pub async fn subscribe(&self, account: &str, plan: &str, card: &str) {
        let url = self.checkout_session(account, plan).await;
        let session = url.rsplit('/').next().unwrap().to_string();
        let card = json!({"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "Ada Lovelace"});
        let token: Value = self
            .http
            .post(format!("{}/api/checkout/{session}/card", self.base))
            .json(&card)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let view: Value =
            self.http.get(format!("{}/api/checkout/{session}", self.base)).send().await.unwrap().json().await.unwrap();
        let confirm = json!({"email": "dev@example.com", "payment_method": token["id"], "billing": {"country": "US", "postal_code": "94107"},
                             "expected_total": view["quote"]["total_due_today"], "idempotency_key": "setup"});
        let post = |path: String, body: Value| {
            let http = self.http.clone();
            async move { http.post(path).json(&body).send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let mut outcome = post(format!("{}/api/checkout/{session}/confirm", self.base), confirm).await;
        if outcome["status"] == "requires_action" {
            let answer = json!({"challenge_id": outcome["challenge_id"], "outcome": "complete"});
            outcome = post(format!("{}/api/checkout/{session}/challenge", self.base), answer).await;
        }
        assert_eq!(outcome["status"], "succeeded", "{outcome}");
    }

    /// Stripe mode: pays a checkout for `account` as the page would, the card saved to
    /// (local)stripe with a SetupIntent first.
    pub async fn subscribe_with_stripe(&self, stripe: &headless::localstripe::LocalStripe, account: &str, card: &str) {
        let url = self.checkout_session(account, "pro").await;
        let session = url.rsplit('/').next().unwrap().to_string();
        let post = |path: String, body: Value| {
            let http = self.http.clone();
            async move { http.post(path).json(&body).send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let setup = post(format!("{}/api/checkout/{session}/setup-intent", self.base), json!({})).await;
        let setup_intent = setup["client_secret"].as_str().unwrap().split("_secret_").next().unwrap().to_string();
        assert_eq!(stripe.confirm_setup_with_card(&setup_intent, card).await.status(), 200);
        if card == "4000002760003184" {
            stripe.reconfirm_setup(&setup_intent).await;
        }
        let saved = json!({"setup_intent": setup_intent});
        let card = post(format!("{}/api/checkout/{session}/stripe-card", self.base), saved).await;
        let view: Value =
            self.http.get(format!("{}/api/checkout/{session}", self.base)).send().await.unwrap().json().await.unwrap();
        let confirm = json!({"email": "dev@example.com", "payment_method": card["id"], "billing": {"country": "US", "postal_code": "94107"},
                             "expected_total": view["quote"]["total_due_today"], "idempotency_key": "setup"});
        let mut outcome = post(format!("{}/api/checkout/{session}/confirm", self.base), confirm).await;
        if let Some(secret) = outcome["client_secret"].as_str() {
            // The bank's check in Stripe.js's dialog, completed.
            stripe.authenticate(secret, true).await;
            let answer = json!({"challenge_id": outcome["challenge_id"], "outcome": "complete"});
            outcome = post(format!("{}/api/checkout/{session}/challenge", self.base), answer).await;
        }
        assert_eq!(outcome["status"], "succeeded", "{outcome}");
    }

    /// A portal session for `account`; its URL.
    pub async fn portal_session(&self, account: &str) -> String {
        let (status, body) = self
            .api(
                reqwest::Method::POST,
                "/v1/portal/sessions",
                Some(json!({"account_id": account, "return_url": "kiro://kiro.kiroAgent/manage-plan"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["url"].as_str().unwrap().to_string()
    }

    pub async fn set_clock(&self, now: &str) {
        let (status, body) = self.api(reqwest::Method::POST, "/v1/test_helpers/clock", Some(json!({"now": now}))).await;
        assert_eq!(status, 200, "{body}");
    }

    /// The account's invoices as `(amount in cents, status)`.
    pub async fn invoices(&self, account: &str) -> Vec<(i64, String)> {
        let (_, body) = self.api(reqwest::Method::GET, &format!("/v1/accounts/{account}/invoices"), None).await;
        body["invoices"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|i| (i["amount"].as_i64().unwrap_or(-1), i["status"].as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn subscription(&self, account: &str) -> Value {
        self.api(reqwest::Method::GET, &format!("/v1/accounts/{account}/subscription"), None).await.1
    }
}

/// A headless Chromium driven over WebDriver.
pub struct Browser {
    pub client: Client,
    _chromium: headless::Chromium,
}

impl Browser {
    pub async fn open() -> Browser {
        Self::open_sized(1280, 1000).await
    }

    /// A browser whose viewport is exactly `width` CSS pixels (desktop windows can't be narrower
    /// than 500 px, so narrow widths are emulated as a phone would report them).
    pub async fn open_sized(width: u32, height: u32) -> Browser {
        let browser = Self::launch(width.max(500), height).await;
        if width < 500 {
            let metrics = json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": true});
            browser.cdp("Emulation.setDeviceMetricsOverride", metrics).await;
        }
        browser
    }

    async fn launch(width: u32, height: u32) -> Browser {
        let chromium = headless::launch(width, height).await;
        Browser { client: chromium.client.clone(), _chromium: chromium }
    }

    /// A browser whose commands do not wait for a page to finish loading, so a test can use the
    /// server's first paint while the wasm is still on its way.
    pub async fn open_before_load() -> Browser {
        let chromium = headless::launch_with(1280, 1000, "none").await;
        Browser { client: chromium.client.clone(), _chromium: chromium }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    /// Opens `url` and waits until the app has taken over the server's first paint (whose form a
    /// test could otherwise start filling in just before the app replaces it).
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
        self.wait_until("the app to take over the first paint", "!document.getElementById('shell')", vec![]).await;
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.client
            .execute("return document.body.innerText", vec![])
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the page shows `text`, and fails with what it shows instead.
    pub async fn wait_for_text(&self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let shown = self.text().await;
            if shown.contains(text) {
                return;
            }
            if Instant::now() > deadline {
                panic!("the page never showed {text:?}; it shows:\n{shown}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `script` (a JS expression) is true.
    pub async fn wait_until(&self, what: &str, script: &str, args: Vec<Value>) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let value = self.client.execute(&format!("return !!({script})"), args.clone()).await.unwrap();
            if value == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the page shows:\n{}", self.text().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the portal's home, taken over by the app: its heading is in the server's first
    /// paint too, and a link found there would be replaced (stale) when the app mounts.
    pub async fn wait_for_portal_home(&self) {
        self.wait_for_heading("Your subscription").await;
        self.wait_until("the home ready", "performance.getEntriesByName('portal-ready').length > 0", vec![]).await;
    }

    /// Waits for an `<h1>` with exactly this text.
    pub async fn wait_for_heading(&self, text: &str) {
        let xpath = format!("//h1[normalize-space()={}]", xpath_literal(text));
        if self.client.wait().at_most(PATIENCE).for_element(Locator::XPath(&xpath)).await.is_err() {
            panic!("no heading {text:?}; the page shows:\n{}", self.text().await);
        }
    }

    /// The form control labelled `label` (by its `<label for>`).
    pub async fn field(&self, label: &str) -> fantoccini::elements::Element {
        let xpath = format!("//*[@id=//label[normalize-space()={}]/@for]", xpath_literal(label));
        match self.client.wait().at_most(PATIENCE).for_element(Locator::XPath(&xpath)).await {
            Ok(el) => el,
            Err(_) => panic!("no field labelled {label:?}; the page shows:\n{}", self.text().await),
        }
    }

    /// Types into the field labelled `label`, replacing what was there (select all, delete, type,
    /// as a person would, so the page sees every keystroke).
    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.field(label).await;
        field.click().await.unwrap();
        field.send_keys("\u{E009}a\u{E000}\u{E003}").await.unwrap();
        if !text.is_empty() {
            field.send_keys(text).await.unwrap();
        }
    }

    /// The current value of the field labelled `label`.
    pub async fn value_of(&self, label: &str) -> String {
        self.field(label).await.prop("value").await.unwrap().unwrap_or_default()
    }

    /// Leaves the focused field (as Tab would), which shows its error if it has one.
    pub async fn blur(&self) {
        self.client.execute("document.activeElement && document.activeElement.blur()", vec![]).await.unwrap();
    }

    /// Types into whatever has focus, as a keyboard would.
    pub async fn press(&self, keys: &str) {
        self.client.active_element().await.unwrap().send_keys(keys).await.unwrap();
    }

    /// A button by its visible name.
    pub async fn button(&self, name: &str) -> fantoccini::elements::Element {
        let xpath = format!("//button[normalize-space()={}]", xpath_literal(name));
        match self.client.wait().at_most(PATIENCE).for_element(Locator::XPath(&xpath)).await {
            Ok(el) => el,
            Err(_) => panic!("no button {name:?}; the page shows:\n{}", self.text().await),
        }
    }

    /// A link by its visible text.
    pub async fn link(&self, name: &str) -> fantoccini::elements::Element {
        let xpath = format!("//a[normalize-space()={}]", xpath_literal(name));
        match self.client.wait().at_most(PATIENCE).for_element(Locator::XPath(&xpath)).await {
            Ok(el) => el,
            Err(_) => panic!("no link {name:?}; the page shows:\n{}", self.text().await),
        }
    }

    pub async fn click_button(&self, name: &str) {
        self.button(name).await.click().await.unwrap();
    }

    /// Sends a DevTools command (media emulation, throttling) to this browser.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        headless::cdp(&self.client, cmd, params).await
    }

    /// Runs axe-core on the page as it is and fails on any WCAG 2.0/2.1/2.2 A or AA violation.
    pub async fn audit(&self, what: &str) {
        let axe = axe_source();
        let loaded = self.client.execute(&format!("{axe}\nreturn typeof axe !== 'undefined';"), vec![]).await.unwrap();
        assert_eq!(loaded, Value::Bool(true), "axe-core did not load");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
                   .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary) }))))
                   .catch(e => done([{ id: 'axe-error', help: String(e), nodes: [] }]));",
                vec![],
            )
            .await
            .unwrap();
        let violations = result.as_array().cloned().unwrap_or_default();
        assert!(
            violations.is_empty(),
            "accessibility violations on {what}:\n{}",
            serde_json::to_string_pretty(&violations).unwrap()
        );
    }

    /// Writes a PNG of the page to `test-artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// Waits (at most as long as a person would) until `check` is true.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// axe-core's script, installed by `cargo xtask` into `.tools/` (or `AXE_JS`).
fn axe_source() -> &'static str {
    static AXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    AXE.get_or_init(|| {
        let path = std::env::var_os("AXE_JS").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/node_modules/axe-core/axe.min.js")
        });
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("axe-core is missing at {} ({e}): run `cargo xtask test`", path.display()))
    })
}

/// `text` as an XPath string literal (handles quotes).
pub fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}
