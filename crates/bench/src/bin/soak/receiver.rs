//! The webhook endpoint every instance delivers to: it verifies nothing, answers 200 and records
//! each event's id and account in arrival order.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// One delivery as it arrived.
#[derive(Clone)]
pub struct Arrival {
    pub id: String,
    pub account: String,
}

#[derive(Clone, Default)]
pub struct Arrivals(Arc<Mutex<Vec<Arrival>>>);

impl Arrivals {
    pub fn snapshot(&self) -> Vec<Arrival> {
        self.0.lock().unwrap().clone()
    }
}

pub struct Receiver {
    pub url: String,
    pub arrivals: Arrivals,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(arrivals): State<Arrivals>, body: String) -> &'static str {
    let event: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let arrival = Arrival {
        id: event["id"].as_str().unwrap_or("(no id)").to_string(),
        account: event["data"]["account_id"].as_str().unwrap_or("(no account)").to_string(),
    };
    arrivals.0.lock().unwrap().push(arrival);
    "ok"
}

/// Listens on a free loopback port until dropped.
pub async fn start() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let arrivals = Arrivals::default();
    let app = Router::new().route("/webhooks", post(receive)).with_state(arrivals.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver { url: format!("http://127.0.0.1:{port}/webhooks"), arrivals, task }
}
