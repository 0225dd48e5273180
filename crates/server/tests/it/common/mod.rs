//! What every server test file shares: [`TestApp`], the server on a fresh database with its
//! clock frozen at 2026-11-16 00:00 UTC and a method per request, and assertions on the JSON
//! error body.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use billing::wire::Branding;
use checkout_server::{AppState, Config, Store, app, config};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use tower::ServiceExt;

pub const KEY: &str = "sk_test_0123456789abcdef";

/// The whole server, driven through `app(state)` without a socket, with a method per request.
#[derive(Clone)]
pub struct TestApp {
    pub router: Router,
}

impl From<Router> for TestApp {
    fn from(router: Router) -> TestApp {
        TestApp { router }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

pub fn post_raw(path: &str, key: Option<&str>, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, content_type);
    if let Some(key) = key {
        req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    req.body(body.into()).unwrap()
}

pub fn session_body(account: &str, plan: &str) -> Value {
    json!({
        "account": {"id": account, "email": "dev@example.com", "login": "github", "aws_account_linked": false},
        "plan": plan,
        "return_url": "kiro://kiro.kiroAgent/upgrade-success"
    })
}

pub fn assert_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.body["error"]["code"], code, "{:?}", reply.body);
    assert!(reply.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
}

pub fn confirm_body(pm: &str, key: &str, expected_total: i64) -> Value {
    json!({"email": "dev@example.com", "payment_method": pm, "billing": {"country": "US", "postal_code": "94107"},
           "expected_total": expected_total, "idempotency_key": key})
}

/// A card for `POST /api/portal/{id}/payment-method`.
pub fn new_card(number: &str) -> Value {
    json!({"card": {"number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": "Ada Lovelace"},
           "billing": {"country": "GB", "postal_code": "SW1A 1AA"}})
}

/// Stripe mode against `stripe`.
pub fn stripe_settings(stripe: &headless::localstripe::LocalStripe) -> config::StripeSettings {
    use headless::localstripe::{PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET};
    config::StripeSettings::new(
        Some(SECRET_KEY),
        Some(PUBLISHABLE_KEY),
        Some(WEBHOOK_SECRET),
        &stripe.base,
        &stripe.js_url(),
    )
    .unwrap()
}

/// A test app in Stripe mode against `stripe`.
pub fn stripe_app(stripe: &headless::localstripe::LocalStripe) -> TestApp {
    TestApp::configured(fresh_store(), |cfg| cfg.stripe = Some(stripe_settings(stripe)))
}

/// What Stripe sends with an event: `body` signed with the endpoint's `secret` at `t`.
pub fn stripe_signature(body: &str, secret: &str, t: i64) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// The page's part of saving a card in Stripe mode: a SetupIntent from us (`area` is `checkout`
/// or `portal`), confirmed with the card (and, for 3184, its bank's check) by Stripe.js, then the
/// saved card sent to us. Our answer, or the status Stripe.js's confirm answered.
pub async fn setup_stripe_card(
    app: &TestApp,
    stripe: &headless::localstripe::LocalStripe,
    area: &str,
    session: &str,
    number: &str,
) -> Result<Reply, u16> {
    let setup = app.post(&format!("/api/{area}/{session}/setup-intent"), None, &json!({})).await;
    assert_eq!(setup.status, StatusCode::OK, "{:?}", setup.body);
    let secret = setup.body["client_secret"].as_str().unwrap();
    let setup_intent = secret.split("_secret_").next().unwrap().to_string();
    let confirmed = stripe.confirm_setup_with_card(&setup_intent, number).await.status().as_u16();
    if confirmed != 200 {
        return Err(confirmed);
    }
    if number == "4000002760003184" {
        stripe.reconfirm_setup(&setup_intent).await;
    }
    Ok(app.post(&format!("/api/{area}/{session}/stripe-card"), None, &json!({ "setup_intent": setup_intent })).await)
}

/// Where the suite's PostgreSQL is (`cargo xtask test` starts one and runs the suite a second time
/// with this set); unset, every test runs on its own SQLite file.
pub const POSTGRES_URL_VAR: &str = "KIRO_TEST_POSTGRES_URL";

/// A fresh, empty database of the backend under test: a throwaway SQLite file, or a schema of its
/// own in the suite's PostgreSQL.
pub fn fresh_store() -> Store {
    match fresh_database_url() {
        Some(url) => Store::connect(&url, &Default::default()).unwrap(),
        None => Store::in_memory().unwrap(),
    }
}

/// A URL to a new, empty schema of the suite's PostgreSQL, when the suite runs on PostgreSQL.
pub fn fresh_database_url() -> Option<String> {
    let base = std::env::var(POSTGRES_URL_VAR).ok().filter(|u| !u.is_empty())?;
    let schema = format!("t_{}", checkout_server::ids::new_id("s").to_lowercase().replace(['-', '.'], "_"));
    let admin = base.clone();
    let create = format!("CREATE SCHEMA {schema}");
    // The blocking client runs a runtime of its own: not on a thread that runs async tasks.
    std::thread::spawn(move || postgres::Client::connect(&admin, postgres::NoTls)?.batch_execute(&create))
        .join()
        .unwrap()
        .unwrap();
    let joiner = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{joiner}options=-c%20search_path%3D{schema}"))
}

/// How a server process started by a test opens a fresh database of the backend under test.
pub fn database_args(sqlite_path: &Path) -> Vec<String> {
    match fresh_database_url() {
        Some(url) => vec!["--database-url".into(), url],
        None => vec!["--db".into(), sqlite_path.display().to_string()],
    }
}

/// Everything the database of `database_args` holds, as text: a SQLite file and its log, or every
/// row of every table of a PostgreSQL schema.
pub fn stored_text(database_args: &[String]) -> String {
    match database_args {
        [flag, path] if flag == "--db" => {
            let mut stored = std::fs::read(path).unwrap();
            stored.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
            String::from_utf8_lossy(&stored).into_owned()
        }
        [_, url] => {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                let tables = client
                    .query(
                        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
                        &[],
                    )
                    .unwrap();
                let mut text = String::new();
                for table in tables {
                    let name: String = table.get(0);
                    for row in client.query(&format!("SELECT t::text FROM {name} t"), &[]).unwrap() {
                        text.push_str(&row.get::<_, String>(0));
                        text.push('\n');
                    }
                }
                text
            })
            .join()
            .unwrap()
        }
        other => panic!("not database arguments: {other:?}"),
    }
}

pub fn test_config() -> Config {
    let mut cfg = Config::new(KEY, "http://checkout.test");
    cfg.initial_clock = Some(time::macros::datetime!(2026-11-16 00:00 UTC));
    cfg.allowed_return_origins.push(config::parse_allowed_origin("https://app.kiro.dev").unwrap());
    cfg
}

/// A built app's entries as the build writes them (minified, the shell last in the body), each
/// with its own inline script (`init_checkout()`, `init_checkout-stripe()`, `init_portal()`, ...,
/// `init_portal-home-stripe()`), in a fresh folder.
pub fn fake_dist(tag: &str) -> PathBuf {
    let dist = std::env::temp_dir().join(format!("kiro-dist-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dist).unwrap();
    for entry in checkout_server::http::static_files::ENTRY_NAMES {
        let html = format!(
            "<!doctype html><html lang=en><title>Kiro</title><script type=module>init_{entry}()</script>\
             <body><div id=shell><p>{entry} shell</p></div></body></html>"
        );
        std::fs::write(dist.join(format!("{entry}.html")), html).unwrap();
    }
    dist
}

impl TestApp {
    /// A server whose clock starts frozen at 2026-11-16 00:00 UTC: 15 of November's 30 days left.
    pub fn new() -> TestApp {
        TestApp::on(fresh_store())
    }

    /// The app on `store` (a restart keeps the store and makes a new app).
    pub fn on(store: Store) -> TestApp {
        TestApp::from(app(AppState::new(test_config(), store).unwrap()))
    }

    /// The app on `store` with the test configuration changed by `change`.
    pub fn configured(store: Store, change: impl FnOnce(&mut Config)) -> TestApp {
        let mut cfg = test_config();
        change(&mut cfg);
        TestApp::from(app(AppState::new(cfg, store).unwrap()))
    }

    /// The app serving the built app in `dist` (see [`fake_dist`]).
    pub fn serving(dist: &Path, branding: Branding) -> TestApp {
        let mut cfg = test_config();
        cfg.dist_dir = Some(dist.to_path_buf());
        cfg.branding = branding;
        TestApp::from(app(AppState::new(cfg, fresh_store()).unwrap()))
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply { status, headers, body }
    }

    pub async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> Reply {
        self.send(post_raw(path, key, "application/json", body.to_string())).await
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> Reply {
        let mut req = Request::get(path);
        if let Some(key) = key {
            req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    pub async fn set_clock(&self, now: &str) -> Reply {
        self.post("/v1/test_helpers/clock", Some(KEY), &json!({ "now": now })).await
    }

    pub async fn new_session(&self, account: &str, plan: &str) -> String {
        let reply = self.post("/v1/checkout/sessions", Some(KEY), &session_body(account, plan)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["id"].as_str().unwrap().to_string()
    }

    pub async fn tokenize(&self, session: &str, number: &str) -> String {
        let cvc = if number.starts_with("37") { "1234" } else { "123" };
        let reply = self
            .post(
                &format!("/api/checkout/{session}/card"),
                None,
                &json!({"number": number, "exp_month": 12, "exp_year": 2034, "cvc": cvc, "name": "Ada Lovelace"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply.body["id"].as_str().unwrap().to_string()
    }

    /// Confirms with the total the page would show: today's charge at the server's clock.
    pub async fn confirm(&self, session: &str, pm: &str, key: &str) -> Reply {
        let view = self.get(&format!("/api/checkout/{session}"), None).await;
        let total = view.body["quote"]["total_due_today"].as_i64().unwrap_or(0);
        self.post(&format!("/api/checkout/{session}/confirm"), None, &confirm_body(pm, key, total)).await
    }

    pub async fn invoices(&self, account: &str) -> Vec<Value> {
        let reply = self.get(&format!("/v1/accounts/{account}/invoices"), Some(KEY)).await;
        reply.body["invoices"].as_array().cloned().unwrap_or_default()
    }

    /// Subscribes `account` to `plan` with `card` at the server's clock and opens a portal session.
    pub async fn subscribed_portal(&self, account: &str, plan: &str, card: &str) -> String {
        let session = self.new_session(account, plan).await;
        let pm = self.tokenize(&session, card).await;
        assert_eq!(self.confirm(&session, &pm, "first").await.body["status"], "succeeded");
        self.open_portal(account).await
    }

    /// A portal session (they last an hour) for an account that has subscribed.
    pub async fn open_portal(&self, account: &str) -> String {
        let portal = self
            .post(
                "/v1/portal/sessions",
                Some(KEY),
                &json!({"account_id": account, "return_url": "kiro://kiro.kiroAgent/manage-plan"}),
            )
            .await;
        assert_eq!(portal.status, StatusCode::CREATED, "{:?}", portal.body);
        portal.body["id"].as_str().unwrap().to_string()
    }

    pub async fn preview(&self, portal: &str, plan: &str) -> Reply {
        self.post(&format!("/api/portal/{portal}/preview"), None, &json!({"plan": plan})).await
    }

    pub async fn change(&self, portal: &str, plan: &str, expected: i64, key: &str) -> Reply {
        self.post(
            &format!("/api/portal/{portal}/change"),
            None,
            &json!({"plan": plan, "expected_total": expected, "idempotency_key": key}),
        )
        .await
    }
}

/// Every event of `account`, oldest first, as `(type, data)`.
pub async fn events_of(app: &TestApp, account: &str) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    let mut after = String::new();
    loop {
        let page = app.get(&format!("/v1/events?limit=100{after}"), Some(KEY)).await;
        let data = page.body["data"].as_array().cloned().unwrap_or_default();
        for event in &data {
            if event["data"]["account_id"] == account {
                events.push((event["type"].as_str().unwrap().to_string(), event["data"].clone()));
            }
        }
        match data.last() {
            Some(last) if page.body["has_more"] == true => after = format!("&after={}", last["id"].as_str().unwrap()),
            _ => return events,
        }
    }
}

/// [`setup_stripe_card`] for a checkout: the saved card's id.
pub async fn save_card(
    app: &TestApp,
    stripe: &headless::localstripe::LocalStripe,
    session: &str,
    number: &str,
) -> Result<String, u16> {
    let card = setup_stripe_card(app, stripe, "checkout", session, number).await?;
    assert_eq!(card.status, StatusCode::OK, "{:?}", card.body);
    assert_eq!(card.body["last4"], &number[12..]);
    Ok(card.body["id"].as_str().unwrap().to_string())
}

/// A Stripe-mode checkout paid with 4242, and a portal session for the account.
pub async fn stripe_subscribed(app: &TestApp, stripe: &headless::localstripe::LocalStripe, account: &str) -> String {
    let session = app.new_session(account, "pro").await;
    let card = save_card(app, stripe, &session, "4242424242424242").await.unwrap();
    assert_eq!(app.confirm(&session, &card, "k1").await.body["status"], "succeeded");
    app.open_portal(account).await
}

/// Posts `body` to Stripe's webhook route with `signature`.
pub async fn send_stripe_event(app: &TestApp, body: &str, signature: &str) -> Reply {
    let request = axum::http::Request::post("/v1/stripe/webhooks")
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

/// Ten refunds of $3.00 of `invoice`, sent at once, the n-th to `apps[n % apps.len()]`: the credit
/// notes of those that succeeded, sorted (every other one refused with `amount_too_large`).
pub async fn race_refunds(apps: &[TestApp], invoice: &str) -> Vec<String> {
    let racing: Vec<_> = (0..10)
        .map(|n| {
            let app = apps[n % apps.len()].clone();
            let body = json!({"invoice": invoice, "amount": 300});
            tokio::spawn(async move { app.post("/v1/refunds", Some(KEY), &body).await })
        })
        .collect();
    let mut numbers = Vec::new();
    for reply in racing {
        let reply = reply.await.unwrap();
        match reply.status {
            StatusCode::CREATED => numbers.push(reply.body["credit_note"]["number"].as_str().unwrap().to_string()),
            _ => assert_error(&reply, StatusCode::BAD_REQUEST, "amount_too_large"),
        }
    }
    numbers.sort();
    numbers
}
