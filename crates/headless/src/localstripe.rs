//! localstripe (a stateful stand-in for Stripe's API and Stripe.js) on a free port, for the tests
//! of Stripe mode (server and browser). `cargo xtask` installs it into `.tools/localstripe`;
//! `LOCALSTRIPE` names another binary. A test that needs it fails, never skips, when it is missing.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SECRET_KEY: &str = "sk_test_localstripe_0123456789";
pub const PUBLISHABLE_KEY: &str = "pk_test_localstripe";
pub const WEBHOOK_SECRET: &str = "whsec_localstripe_0123456789";

pub struct LocalStripe {
    pub base: String,
    child: Child,
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LOCALSTRIPE") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/localstripe/bin/localstripe")
}

impl LocalStripe {
    pub fn start() -> LocalStripe {
        let binary = binary();
        assert!(binary.exists(), "no localstripe at {}: run `cargo xtask test`, which installs it", binary.display());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&binary)
            .args(["--port", &port.to_string(), "--from-scratch"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "localstripe did not start on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        LocalStripe { base: format!("http://127.0.0.1:{port}"), child }
    }

    /// What Stripe.js does in the page: turns card details into a PaymentMethod and confirms the
    /// SetupIntent with it. Only tests send card numbers to (local)stripe's API directly.
    pub async fn confirm_setup_with_card(&self, setup_intent: &str, number: &str) -> reqwest::Response {
        let pm = self.payment_method(number).await;
        reqwest::Client::new()
            .post(format!("{}/v1/setup_intents/{setup_intent}/confirm", self.base))
            .basic_auth(SECRET_KEY, Some(""))
            .form(&[("payment_method", pm.as_str())])
            .send()
            .await
            .unwrap()
    }

    /// A PaymentMethod for a test card number (what Stripe.js makes of the Element's fields).
    pub async fn payment_method(&self, number: &str) -> String {
        let http = reqwest::Client::new();
        let card = [
            ("type", "card"),
            ("card[number]", number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2034"),
            ("card[cvc]", "123"),
        ];
        let pm = json_of(http.post(format!("{}/v1/payment_methods", self.base)).form(&card)).await;
        pm["id"].as_str().unwrap().to_string()
    }
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LocalStripe {
    /// Where Stripe.js is served from.
    pub fn js_url(&self) -> String {
        format!("{}/js.stripe.com/v3/", self.base)
    }

    /// What Stripe.js's 3-D Secure modal does when the user completes (or fails) it.
    pub async fn authenticate(&self, client_secret: &str, success: bool) -> reqwest::Response {
        let intent = client_secret.split("_secret_").next().unwrap();
        reqwest::Client::new()
            .post(format!("{}/v1/payment_intents/{intent}/_authenticate?success={success}", self.base))
            .body(serde_json::json!({"key": PUBLISHABLE_KEY, "client_secret": client_secret}).to_string())
            .send()
            .await
            .unwrap()
    }

    /// Stripe.js's second confirm of a SetupIntent after its 3-D Secure modal was completed.
    pub async fn reconfirm_setup(&self, setup_intent: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/v1/setup_intents/{setup_intent}/confirm", self.base))
            .basic_auth(SECRET_KEY, Some(""))
            .send()
            .await
            .unwrap()
    }

    /// The Customer Stripe keeps for our account `account_id` (by its metadata).
    pub async fn customer_of(&self, account_id: &str) -> serde_json::Value {
        let customers = self.list("/v1/customers?limit=100").await;
        let found = customers.into_iter().find(|c| c["metadata"]["account_id"] == account_id);
        found.unwrap_or_else(|| panic!("no Customer for {account_id}"))
    }

    /// The amounts of every PaymentIntent that succeeded, oldest first: what was really charged.
    pub async fn succeeded_payments(&self) -> Vec<i64> {
        let mut intents = self.list("/v1/payment_intents?limit=100").await;
        intents.retain(|i| i["status"] == "succeeded");
        intents.sort_by_key(|i| i["created"].as_i64());
        intents.iter().map(|i| i["amount"].as_i64().unwrap()).collect()
    }

    /// The status of every PaymentIntent, oldest first.
    pub async fn payment_statuses(&self) -> Vec<String> {
        let mut intents = self.list("/v1/payment_intents?limit=100").await;
        intents.sort_by_key(|i| i["created"].as_i64());
        intents.iter().map(|i| i["status"].as_str().unwrap_or_default().to_string()).collect()
    }

    /// The amounts of every refund, oldest first: what was given back.
    pub async fn refunded_payments(&self) -> Vec<i64> {
        let mut refunds = self.list("/v1/refunds?limit=100").await;
        refunds.sort_by_key(|r| r["created"].as_i64());
        refunds.iter().map(|r| r["amount"].as_i64().unwrap()).collect()
    }

    async fn list(&self, path: &str) -> Vec<serde_json::Value> {
        let list = json_of(reqwest::Client::new().get(format!("{}{path}", self.base))).await;
        list["data"].as_array().unwrap_or_else(|| panic!("not a list: {list}")).clone()
    }
}

/// localstripe's answer to `request` (sent with the secret key), as JSON.
async fn json_of(request: reqwest::RequestBuilder) -> serde_json::Value {
    let answer = request.basic_auth(SECRET_KEY, Some("")).send().await.unwrap().bytes().await.unwrap();
    serde_json::from_slice(&answer).unwrap()
}
