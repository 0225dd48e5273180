//! Logs never hold card data, the secret key or whole session ids. The capturing subscriber is
//! the process's global one, so it also hears the tests running beside it (which must not leak
//! either).

use crate::common::{KEY, TestApp};
use serde_json::json;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_hold_neither_card_data_nor_whole_session_ids() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(move || writer.clone()).finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let app = TestApp::new();
    let session = app.new_session("acct-logs", "pro").await;
    for (i, number) in ["4000000000009995", "4242424242424242"].iter().enumerate() {
        let card = json!({"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "Ada Lovelace"});
        let pm = app.post(&format!("/api/checkout/{session}/card"), None, &card).await.body["id"].clone();
        let pm = pm.as_str().unwrap();
        app.confirm(&session, pm, &format!("k{i}")).await;
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("checkout paid"), "the capture works: {logs}");
    assert!(logs.contains("/api/checkout/cs_"), "requests are logged: {logs}");
    for secret in [session.as_str(), "4242424242424242", "4000000000009995", "Ada Lovelace", KEY] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
}
