//! The server API and the checkout browser API, called through `app(state)` directly: every bad
//! input gets a clear error body, and nothing is ever charged twice.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use checkout_server::{AppState, Config, Store, app};
use common::*;
use serde_json::{Value, json};

// ---- session creation: the happy path ---------------------------------------------------------

#[tokio::test]
async fn creates_a_checkout_session_with_a_long_random_id() {
    let app = test_app();
    set_clock(&app, "2026-11-16T00:00:00Z").await;
    let reply = post(&app, "/v1/checkout/sessions", Some(KEY), &session_body("acct-1", "pro")).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.body["id"].as_str().unwrap();
    assert!(id.starts_with("cs_") && id.len() >= 3 + 22, "{id}");
    assert_eq!(reply.body["url"], format!("http://checkout.test/checkout/{id}"));
    assert_eq!(reply.body["expires_at"], "2026-11-17T00:00:00Z");
    let other = post(&app, "/v1/checkout/sessions", Some(KEY), &session_body("acct-1", "pro")).await;
    assert_ne!(other.body["id"], reply.body["id"]);
}

#[tokio::test]
async fn accepts_allow_listed_https_return_urls() {
    let app = test_app();
    let mut body = session_body("acct-1", "power");
    body["return_url"] = json!("https://app.kiro.dev/billing/done");
    assert_eq!(post(&app, "/v1/checkout/sessions", Some(KEY), &body).await.status, StatusCode::CREATED);
}

// ---- session creation: every bad input -------------------------------------------------------

#[tokio::test]
async fn refuses_missing_and_wrong_keys() {
    let app = test_app();
    let body = session_body("acct-1", "pro");
    assert_error(&post(&app, "/v1/checkout/sessions", None, &body).await, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_error(
        &post(&app, "/v1/checkout/sessions", Some("sk_test_wrong"), &body).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        &post(&app, "/v1/checkout/sessions", Some(&KEY[..KEY.len() - 1]), &body).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let basic = Request::post("/v1/checkout/sessions")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Basic {KEY}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    assert_error(&send(&app, basic).await, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_error(&get(&app, "/v1/accounts/acct-1/subscription", None).await, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_error(&set_clock_without_key(&app).await, StatusCode::UNAUTHORIZED, "unauthorized");
}

async fn set_clock_without_key(app: &Router) -> Reply {
    post(app, "/v1/test_helpers/clock", None, &json!({"now": "2030-01-01T00:00:00Z"})).await
}

#[tokio::test]
async fn refuses_malformed_json_wrong_types_and_missing_fields() {
    let app = test_app();
    for raw in ["{", "not json", "{\"account\": }", "", "[1,2"] {
        let reply = send(&app, post_raw("/v1/checkout/sessions", Some(KEY), "application/json", raw)).await;
        assert!(reply.status == StatusCode::BAD_REQUEST, "{raw}: {:?}", reply.body);
        assert!(["invalid_json", "invalid_request"].contains(&reply.body["error"]["code"].as_str().unwrap()), "{raw}");
    }
    assert_error(
        &send(&app, post_raw("/v1/checkout/sessions", Some(KEY), "application/json", "not json")).await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    );
    let mut wrong_type = session_body("acct-1", "pro");
    wrong_type["account"]["aws_account_linked"] = json!("no");
    assert_error(
        &post(&app, "/v1/checkout/sessions", Some(KEY), &wrong_type).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let mut wrong_login = session_body("acct-1", "pro");
    wrong_login["account"]["login"] = json!("myspace");
    assert_error(
        &post(&app, "/v1/checkout/sessions", Some(KEY), &wrong_login).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let mut plan_number = session_body("acct-1", "pro");
    plan_number["plan"] = json!(2);
    assert_error(
        &post(&app, "/v1/checkout/sessions", Some(KEY), &plan_number).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let missing = json!({"plan": "pro", "return_url": "kiro://kiro.kiroAgent/x"});
    assert_error(
        &post(&app, "/v1/checkout/sessions", Some(KEY), &missing).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let mut extra = session_body("acct-1", "pro");
    extra["price"] = json!(1);
    assert_error(
        &post(&app, "/v1/checkout/sessions", Some(KEY), &extra).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &send(&app, post_raw("/v1/checkout/sessions", Some(KEY), "text/plain", session_body("a", "pro").to_string()))
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

#[tokio::test]
async fn refuses_unknown_plans() {
    let app = test_app();
    for plan in ["enterprise", "free", "PRO", "", "pro "] {
        assert_error(
            &post(&app, "/v1/checkout/sessions", Some(KEY), &session_body("acct-1", plan)).await,
            StatusCode::BAD_REQUEST,
            "unknown_plan",
        );
    }
}

#[tokio::test]
async fn refuses_bad_accounts_and_emails() {
    let app = test_app();
    for id in ["", "has space", "<script>", &"a".repeat(129)] {
        assert_error(
            &post(&app, "/v1/checkout/sessions", Some(KEY), &session_body(id, "pro")).await,
            StatusCode::BAD_REQUEST,
            "invalid_account",
        );
    }
    let mut bad_email = session_body("acct-1", "pro");
    bad_email["account"]["email"] = json!("not-an-email");
    assert_error(
        &post(&app, "/v1/checkout/sessions", Some(KEY), &bad_email).await,
        StatusCode::BAD_REQUEST,
        "invalid_email",
    );
}

#[tokio::test]
async fn refuses_hostile_return_urls() {
    let app = test_app();
    for url in [
        "javascript:alert(document.cookie)",
        "JAVASCRIPT:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "//evil.example",
        "//evil.example/kiro",
        "https://evil.example/",
        "https://good@evil.example/",
        "https://app.kiro.dev@evil.example/",
        "https:\\\\evil.example",
        "https://app.kiro.dev\\@evil.example/",
        "kiro:\\\\kiro.kiroAgent\\x",
        "http://app.kiro.dev/",
        "hTtPs://evil.example/",
        "kiro://evil.example/",
        "vbscript:msgbox(1)",
        "/relative/path",
        "",
    ] {
        let mut body = session_body("acct-1", "pro");
        body["return_url"] = json!(url);
        let reply = post(&app, "/v1/checkout/sessions", Some(KEY), &body).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_return_url");
        let portal =
            post(&app, "/v1/portal/sessions", Some(KEY), &json!({"account_id": "acct-1", "return_url": url})).await;
        assert_error(&portal, StatusCode::BAD_REQUEST, "invalid_return_url");
    }
}

#[tokio::test]
async fn refuses_oversized_bodies() {
    let app = test_app();
    let mut body = session_body("acct-1", "pro");
    body["account"]["email"] = json!(format!("{}@example.com", "a".repeat(64 * 1024)));
    assert_error(
        &post(&app, "/v1/checkout/sessions", Some(KEY), &body).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );
    let session = new_session(&app, "acct-2", "pro").await;
    let huge = json!({"number": "4".repeat(100_000), "exp_month": 1, "exp_year": 2030, "cvc": "123", "name": "x"});
    assert_error(
        &post(&app, &format!("/api/checkout/{session}/card"), None, &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );
}

#[tokio::test]
async fn portal_sessions_need_a_subscription() {
    let app = test_app();
    let reply = post(
        &app,
        "/v1/portal/sessions",
        Some(KEY),
        &json!({"account_id": "never", "return_url": "kiro://kiro.kiroAgent/x"}),
    )
    .await;
    assert_error(&reply, StatusCode::CONFLICT, "no_subscription");
}

// ---- the rest of the surface ------------------------------------------------------------------

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = test_app();
    let replies = [
        get(&app, "/healthz", None).await,
        get(&app, "/api/checkout/cs_unknown", None).await,
        get(&app, "/v1/nothing", Some(KEY)).await,
        get(&app, "/checkout/cs_whatever", None).await,
        post(&app, "/v1/checkout/sessions", None, &json!({})).await,
    ];
    for reply in replies {
        let csp = reply.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("'wasm-unsafe-eval'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("'unsafe-eval'") && !csp.contains("'unsafe-inline'"), "{csp}");
        assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(reply.headers[header::REFERRER_POLICY], "no-referrer");
    }
}

#[tokio::test]
async fn unknown_api_paths_answer_in_json() {
    let app = test_app();
    assert_error(&get(&app, "/api/nope", None).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&get(&app, "/api/checkout/cs_nope", None).await, StatusCode::NOT_FOUND, "session_not_found");
    assert_error(&get(&app, "/v1/accounts/nobody/subscription", Some(KEY)).await, StatusCode::NOT_FOUND, "not_found");
    let reply = get(&app, "/healthz", None).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn the_test_clock_only_moves_forwards() {
    let app = test_app();
    assert_eq!(set_clock(&app, "2030-01-01T00:00:00Z").await.status, StatusCode::OK);
    assert_error(&set_clock(&app, "2029-12-31T23:59:59Z").await, StatusCode::CONFLICT, "clock_backwards");
    assert_error(&set_clock(&app, "yesterday").await, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(get(&app, "/v1/test_helpers/clock", Some(KEY)).await.body["now"], "2030-01-01T00:00:00Z");
}

#[tokio::test]
async fn sessions_expire_after_24_hours() {
    let app = test_app();
    set_clock(&app, "2026-11-16T00:00:00Z").await;
    let session = new_session(&app, "acct-1", "pro").await;
    set_clock(&app, "2026-11-16T23:59:59Z").await;
    assert_eq!(get(&app, &format!("/api/checkout/{session}"), None).await.status, StatusCode::OK);
    set_clock(&app, "2026-11-17T00:00:00Z").await;
    assert_error(&get(&app, &format!("/api/checkout/{session}"), None).await, StatusCode::GONE, "session_expired");
    assert_error(&confirm(&app, &session, "pm_x", "k1").await, StatusCode::GONE, "session_expired");
}

// ---- checkout ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_checkout_charges_the_prorated_month_once() {
    let app = test_app();
    set_clock(&app, "2026-11-16T00:00:00Z").await;
    let session = new_session(&app, "acct-1", "pro").await;
    let view = get(&app, &format!("/api/checkout/{session}"), None).await;
    assert_eq!(view.body["plan"]["name"], "Kiro Pro");
    assert_eq!(view.body["plan"]["monthly_price"], 2000);
    assert_eq!(view.body["quote"]["total_due_today"], 1000);
    assert_eq!(view.body["quote"]["lines"][0]["description"], "Kiro Pro from Nov 16 to Dec 1");
    assert_eq!(view.body["eligibility"], "eligible");
    assert_eq!(view.body["test_mode"], true);
    assert_eq!(view.body["return_url"], format!("kiro://kiro.kiroAgent/upgrade-success?session_id={session}"));

    let pm = tokenize(&app, &session, "4242 4242 4242 4242").await;
    let first = confirm(&app, &session, &pm, "key-1").await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["status"], "succeeded");
    assert_eq!(first.body["receipt"]["amount_charged"], 1000);
    assert_eq!(first.body["receipt"]["card"]["last4"], "4242");

    // The same request again: the same answer, no second charge.
    let again = post(&app, &format!("/api/checkout/{session}/confirm"), None, &confirm_body(&pm, "key-1", 1000)).await;
    assert_eq!(again.body, first.body);
    // The same key with another body: refused.
    let mut other = confirm_body(&pm, "key-1", 1000);
    other["email"] = json!("other@example.com");
    assert_error(
        &post(&app, &format!("/api/checkout/{session}/confirm"), None, &other).await,
        StatusCode::CONFLICT,
        "idempotency_conflict",
    );
    // A new key on a completed session: refused.
    assert_error(&confirm(&app, &session, &pm, "key-2").await, StatusCode::CONFLICT, "session_completed");
    assert_eq!(invoices(&app, "acct-1").await.len(), 1);

    let sub = get(&app, "/v1/accounts/acct-1/subscription", Some(KEY)).await;
    assert_eq!(sub.body["plan"], "pro");
    assert_eq!(sub.body["status"], "active");
    assert_eq!(sub.body["credits"], 1000);
    assert_eq!(sub.body["current_period"]["end"], "2026-12-01T00:00:00Z");

    // Reloading the page shows the success again.
    let view = get(&app, &format!("/api/checkout/{session}"), None).await;
    assert_eq!(view.body["status"], "complete");
    assert_eq!(view.body["receipt"]["amount_charged"], 1000);
}

#[tokio::test]
async fn a_checkout_whose_price_changed_is_refused() {
    let app = test_app();
    set_clock(&app, "2026-11-16T12:00:00Z").await;
    let session = new_session(&app, "acct-price", "pro").await;
    let pm = tokenize(&app, &session, "4242424242424242").await;
    // The page showed $10.00 all day on the 16th; from midnight the rest of the month costs less.
    set_clock(&app, "2026-11-16T23:59:59Z").await;
    let same_day = get(&app, &format!("/api/checkout/{session}"), None).await;
    assert_eq!(same_day.body["quote"]["total_due_today"], 1000);
    set_clock(&app, "2026-11-17T00:00:00Z").await;
    let stale = post(&app, &format!("/api/checkout/{session}/confirm"), None, &confirm_body(&pm, "k", 1000)).await;
    assert_error(&stale, StatusCode::CONFLICT, "quote_changed");
    assert!(invoices(&app, "acct-price").await.is_empty());
    let fresh = confirm(&app, &session, &pm, "k2").await;
    assert_eq!(fresh.body["receipt"]["amount_charged"], 933);
}

#[tokio::test]
async fn racing_confirms_charge_once() {
    let app = test_app();
    let session = new_session(&app, "acct-race", "pro_plus").await;
    let pm = tokenize(&app, &session, "4242424242424242").await;
    let mut handles = Vec::new();
    for i in 0..8 {
        let (app, session, pm) = (app.clone(), session.clone(), pm.clone());
        // Half share one key (a double click), half use their own (two tabs).
        let key = if i % 2 == 0 { "shared".to_string() } else { format!("own-{i}") };
        handles.push(tokio::spawn(async move { confirm(&app, &session, &pm, &key).await.status }));
    }
    let mut ok = 0;
    for h in handles {
        let status = h.await.unwrap();
        assert!(status == StatusCode::OK || status == StatusCode::CONFLICT, "{status}");
        ok += usize::from(status == StatusCode::OK);
    }
    assert!(ok >= 1);
    assert_eq!(invoices(&app, "acct-race").await.len(), 1);
}

#[tokio::test]
async fn declines_name_their_reason_and_lock_after_five() {
    let app = test_app();
    let session = new_session(&app, "acct-decline", "pro").await;
    let cases = [
        ("4000000000000002", "generic"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000069", "expired_card"),
        ("4000000000000127", "incorrect_cvc"),
        ("4000000000000119", "processing_error"),
    ];
    for (i, (number, code)) in cases.iter().enumerate() {
        let pm = tokenize(&app, &session, number).await;
        let reply = confirm(&app, &session, &pm, &format!("k{i}")).await;
        assert_eq!(reply.body["status"], "declined", "{number}");
        assert_eq!(reply.body["decline"]["code"], *code);
        assert_eq!(reply.body["attempts_left"], 4 - i);
    }
    assert_error(&get(&app, &format!("/api/checkout/{session}"), None).await, StatusCode::LOCKED, "session_locked");
    let reply = post(
        &app,
        &format!("/api/checkout/{session}/card"),
        None,
        &json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "A B"}),
    )
    .await;
    assert_error(&reply, StatusCode::LOCKED, "session_locked");
    assert!(invoices(&app, "acct-decline").await.is_empty());
}

#[tokio::test]
async fn non_test_cards_are_declined_and_invalid_cards_refused() {
    let app = test_app();
    let session = new_session(&app, "acct-x", "pro").await;
    let pm = tokenize(&app, &session, "6011111111111117").await;
    let reply = confirm(&app, &session, &pm, "k").await;
    assert_eq!(reply.body["decline"]["code"], "test_cards_only");
    for (number, cvc) in [("4242424242424241", "123"), ("4242", "123"), ("4242424242424242", "12")] {
        let reply = post(
            &app,
            &format!("/api/checkout/{session}/card"),
            None,
            &json!({"number": number, "exp_month": 12, "exp_year": 2034, "cvc": cvc, "name": "A B"}),
        )
        .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_card");
    }
    let expired = json!({"number": "4242424242424242", "exp_month": 1, "exp_year": 2020, "cvc": "123", "name": "A B"});
    assert_error(
        &post(&app, &format!("/api/checkout/{session}/card"), None, &expired).await,
        StatusCode::BAD_REQUEST,
        "invalid_card",
    );
}

#[tokio::test]
async fn confirm_checks_email_billing_and_payment_method() {
    let app = test_app();
    let session = new_session(&app, "acct-v", "pro").await;
    let other_session = new_session(&app, "acct-w", "pro").await;
    let foreign_pm = tokenize(&app, &other_session, "4242424242424242").await;
    assert_error(&confirm(&app, &session, &foreign_pm, "k1").await, StatusCode::BAD_REQUEST, "invalid_payment_method");
    assert_error(&confirm(&app, &session, "pm_forged", "k2").await, StatusCode::BAD_REQUEST, "invalid_payment_method");
    let pm = tokenize(&app, &session, "4242424242424242").await;
    let mut bad_email = confirm_body(&pm, "k3", 1000);
    bad_email["email"] = json!("nope");
    assert_error(
        &post(&app, &format!("/api/checkout/{session}/confirm"), None, &bad_email).await,
        StatusCode::BAD_REQUEST,
        "invalid_email",
    );
    let mut bad_zip = confirm_body(&pm, "k4", 1000);
    bad_zip["billing"] = json!({"country": "US", "postal_code": "12"});
    assert_error(
        &post(&app, &format!("/api/checkout/{session}/confirm"), None, &bad_zip).await,
        StatusCode::BAD_REQUEST,
        "invalid_billing_details",
    );
    let mut bad_country = confirm_body(&pm, "k5", 1000);
    bad_country["billing"] = json!({"country": "RU"});
    assert_error(
        &post(&app, &format!("/api/checkout/{session}/confirm"), None, &bad_country).await,
        StatusCode::BAD_REQUEST,
        "invalid_billing_details",
    );
    let mut no_key = confirm_body(&pm, "", 1000);
    no_key["idempotency_key"] = json!("");
    assert_error(
        &post(&app, &format!("/api/checkout/{session}/confirm"), None, &no_key).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert!(invoices(&app, "acct-v").await.is_empty());
}

#[tokio::test]
async fn three_d_secure_completes_or_fails() {
    let app = test_app();
    let session = new_session(&app, "acct-3ds", "pro").await;
    let pm = tokenize(&app, &session, "4000002760003184").await;
    let reply = confirm(&app, &session, &pm, "k1").await;
    assert_eq!(reply.body["status"], "requires_action");
    let challenge = reply.body["challenge_id"].as_str().unwrap().to_string();
    assert!(invoices(&app, "acct-3ds").await.is_empty());
    let path = format!("/api/checkout/{session}/challenge");
    let failed = post(&app, &path, None, &json!({"challenge_id": challenge, "outcome": "fail"})).await;
    assert_eq!(failed.body["status"], "declined");
    assert_eq!(failed.body["decline"]["code"], "authentication_failed");
    // Answering again gives the first answer.
    let again = post(&app, &path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await;
    assert_eq!(again.body, failed.body);

    let reply = confirm(&app, &session, &pm, "k2").await;
    let challenge = reply.body["challenge_id"].as_str().unwrap().to_string();
    let done = post(&app, &path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await;
    assert_eq!(done.body["status"], "succeeded", "{:?}", done.body);
    assert_eq!(invoices(&app, "acct-3ds").await.len(), 1);
    assert_error(
        &post(&app, &path, None, &json!({"challenge_id": "ch_forged", "outcome": "complete"})).await,
        StatusCode::NOT_FOUND,
        "challenge_not_found",
    );
}

#[tokio::test]
async fn linked_builder_ids_and_subscribers_cannot_pay() {
    let app = test_app();
    let mut linked = session_body("acct-aws", "pro");
    linked["account"]["login"] = json!("builder_id");
    linked["account"]["aws_account_linked"] = json!(true);
    let session =
        post(&app, "/v1/checkout/sessions", Some(KEY), &linked).await.body["id"].as_str().unwrap().to_string();
    assert_eq!(get(&app, &format!("/api/checkout/{session}"), None).await.body["eligibility"], "account_linked_to_aws");
    let pm = tokenize(&app, &session, "4242424242424242").await;
    assert_error(&confirm(&app, &session, &pm, "k").await, StatusCode::FORBIDDEN, "account_linked_to_aws");

    let first = new_session(&app, "acct-sub", "pro").await;
    let second = new_session(&app, "acct-sub", "power").await;
    let pm = tokenize(&app, &first, "4242424242424242").await;
    assert_eq!(confirm(&app, &first, &pm, "k").await.body["status"], "succeeded");
    assert_eq!(get(&app, &format!("/api/checkout/{second}"), None).await.body["eligibility"], "already_subscribed");
    let pm2 = tokenize(&app, &second, "4242424242424242").await;
    assert_error(&confirm(&app, &second, &pm2, "k").await, StatusCode::CONFLICT, "already_subscribed");
    assert_eq!(invoices(&app, "acct-sub").await.len(), 1);
    // Now the account has a portal.
    let portal = post(
        &app,
        "/v1/portal/sessions",
        Some(KEY),
        &json!({"account_id": "acct-sub", "return_url": "kiro://kiro.kiroAgent/x"}),
    )
    .await;
    assert_eq!(portal.status, StatusCode::CREATED);
    assert!(portal.body["id"].as_str().unwrap().starts_with("ps_"));
}

#[tokio::test]
async fn paid_cards_are_saved_on_the_account_with_brand_last4_and_expiry_only() {
    let app = test_app();
    let first = new_session(&app, "acct-saved", "pro").await;
    let pm = tokenize(&app, &first, "5555555555554444").await;
    assert_eq!(confirm(&app, &first, &pm, "k").await.body["status"], "succeeded");
    let second = new_session(&app, "acct-saved", "power").await;
    let view = get(&app, &format!("/api/checkout/{second}"), None).await;
    let saved = view.body["saved_cards"].as_array().unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0], json!({"id": pm, "brand": "mastercard", "last4": "4444", "exp_month": 12, "exp_year": 2034}));
}

#[tokio::test]
async fn renewals_run_once_per_period() {
    let app = test_app();
    set_clock(&app, "2026-11-16T00:00:00Z").await;
    let session = new_session(&app, "acct-renew", "pro").await;
    let pm = tokenize(&app, &session, "4242424242424242").await;
    confirm(&app, &session, &pm, "k").await;
    for now in ["2026-12-01T00:00:00Z", "2026-12-15T00:00:00Z", "2027-01-01T00:00:01Z", "2027-02-01T00:00:00Z"] {
        assert_eq!(set_clock(&app, now).await.status, StatusCode::OK);
    }
    let amounts: Vec<i64> = invoices(&app, "acct-renew").await.iter().map(|i| i["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, vec![1000, 2000, 2000, 2000]);
}

#[tokio::test]
async fn a_failing_renewal_marks_the_subscription_past_due() {
    let app = test_app();
    set_clock(&app, "2026-11-16T00:00:00Z").await;
    let session = new_session(&app, "acct-late", "pro").await;
    let pm = tokenize(&app, &session, "4000000000000341").await;
    assert_eq!(confirm(&app, &session, &pm, "k").await.body["status"], "succeeded");
    set_clock(&app, "2026-12-01T00:00:00Z").await;
    let sub = get(&app, "/v1/accounts/acct-late/subscription", Some(KEY)).await;
    assert_eq!(sub.body["status"], "past_due");
    assert_eq!(sub.body["credits"], 50);
}

// ---- portal ------------------------------------------------------------------------------------

#[tokio::test]
async fn upgrades_in_the_first_paid_month_are_re_rated_from_the_first_paid_moment() {
    let app = test_app();
    subscribed_portal(&app, "acct-up1", "pro", "4242424242424242").await;
    set_clock(&app, "2026-11-25T15:30:00Z").await;
    let portal = open_portal(&app, "acct-up1").await;
    let quote = preview(&app, &portal, "pro_plus").await;
    assert_eq!(quote.body["total_due_today"], 1000, "{:?}", quote.body);
    assert_eq!(quote.body["lines"][0]["description"], "Kiro Pro+ from Nov 16 to Dec 1");
    assert_eq!(quote.body["lines"][1]["description"], "Already paid for Kiro Pro this month");
    let done = change(&app, &portal, "pro_plus", 1000, "k1").await;
    assert_eq!(done.body["status"], "succeeded", "{:?}", done.body);
    assert_eq!(done.body["change"]["amount_charged"], 1000);
    // Double Confirm: the same answer, one charge.
    assert_eq!(change(&app, &portal, "pro_plus", 1000, "k1").await.body, done.body);
    let amounts: Vec<i64> = invoices(&app, "acct-up1").await.iter().map(|i| i["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, vec![1000, 1000]);
    let sub = get(&app, "/v1/accounts/acct-up1/subscription", Some(KEY)).await;
    assert_eq!((sub.body["plan"].as_str(), sub.body["credits"].as_i64()), (Some("pro_plus"), Some(2000)));
}

#[tokio::test]
async fn from_the_second_month_upgrades_charge_the_price_difference() {
    let app = test_app();
    let plus = subscribed_portal(&app, "acct-up2", "pro", "4242424242424242").await;
    subscribed_portal(&app, "acct-up3", "pro", "5555555555554444").await;
    set_clock(&app, "2026-12-10T09:00:00Z").await;
    // Portal sessions last an hour: open new ones after the clock moved.
    assert_error(&preview(&app, &plus, "pro_plus").await, StatusCode::GONE, "session_expired");
    let (plus, power) = (open_portal(&app, "acct-up2").await, open_portal(&app, "acct-up3").await);
    assert_eq!(preview(&app, &plus, "pro_plus").await.body["total_due_today"], 2000);
    assert_eq!(change(&app, &plus, "pro_plus", 2000, "k").await.body["status"], "succeeded");
    assert_eq!(preview(&app, &power, "power").await.body["total_due_today"], 18000);
    assert_eq!(change(&app, &power, "power", 18000, "k").await.body["status"], "succeeded");
    let amounts: Vec<i64> = invoices(&app, "acct-up3").await.iter().map(|i| i["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, vec![1000, 2000, 18000]);
}

#[tokio::test]
async fn downgrades_wait_for_the_first_and_can_be_undone() {
    let app = test_app();
    let portal = subscribed_portal(&app, "acct-down", "power", "4242424242424242").await;
    let quote = preview(&app, &portal, "pro").await;
    assert_eq!(quote.body["total_due_today"], 0);
    assert_eq!(quote.body["effective_at"], "2026-12-01T00:00:00Z");
    assert_eq!(change(&app, &portal, "pro", 0, "k1").await.body["status"], "succeeded");
    let view = get(&app, &format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["subscription"]["scheduled_change"]["plan"], "pro");
    assert_eq!(view.body["subscription"]["next_renewal_amount"], 2000);
    let kept = post(&app, &format!("/api/portal/{portal}/keep-plan"), None, &json!({})).await;
    assert_eq!(kept.body["subscription"]["scheduled_change"], Value::Null);
    assert_eq!(kept.body["subscription"]["next_renewal_amount"], 20000);
    // Scheduled again, it applies at renewal with the lower amount.
    assert_eq!(change(&app, &portal, "pro", 0, "k2").await.body["status"], "succeeded");
    set_clock(&app, "2026-12-01T00:00:00Z").await;
    let sub = get(&app, "/v1/accounts/acct-down/subscription", Some(KEY)).await;
    assert_eq!(sub.body["plan"], "pro");
    let amounts: Vec<i64> = invoices(&app, "acct-down").await.iter().map(|i| i["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, vec![10000, 2000]);
}

#[tokio::test]
async fn a_stale_quote_is_refused() {
    let app = test_app();
    let portal = subscribed_portal(&app, "acct-stale", "pro", "4242424242424242").await;
    set_clock(&app, "2026-11-16T00:30:00Z").await;
    assert_eq!(preview(&app, &portal, "power").await.body["total_due_today"], 9000);
    assert_error(&change(&app, &portal, "power", 1, "k").await, StatusCode::CONFLICT, "quote_changed");
    assert_error(&change(&app, &portal, "pro", 0, "k2").await, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(invoices(&app, "acct-stale").await.len(), 1);
}

#[tokio::test]
async fn a_card_that_fails_later_leaves_the_plan_unchanged() {
    let app = test_app();
    let portal = subscribed_portal(&app, "acct-fail", "pro", "4000000000000341").await;
    let reply = change(&app, &portal, "pro_plus", 1000, "k").await;
    assert_eq!(reply.body["status"], "declined");
    assert!(reply.body["decline"]["message"].as_str().unwrap().contains("Your plan has not changed."));
    let sub = get(&app, "/v1/accounts/acct-fail/subscription", Some(KEY)).await;
    assert_eq!(sub.body["plan"], "pro");
    assert_eq!(invoices(&app, "acct-fail").await.len(), 1);
}

#[tokio::test]
async fn portal_sessions_refuse_unknown_and_bad_input() {
    let app = test_app();
    assert_error(&get(&app, "/api/portal/ps_forged", None).await, StatusCode::NOT_FOUND, "session_not_found");
    let portal = subscribed_portal(&app, "acct-bad", "pro", "4242424242424242").await;
    assert_error(
        &post(&app, &format!("/api/portal/{portal}/preview"), None, &json!({"plan": "gold"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &post(
            &app,
            &format!("/api/portal/{portal}/change"),
            None,
            &json!({"plan": "power", "expected_total": "9000", "idempotency_key": "k"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    set_clock(&app, "2026-11-16T01:00:00Z").await;
    assert_error(&get(&app, &format!("/api/portal/{portal}"), None).await, StatusCode::GONE, "session_expired");
}

// ---- account management ------------------------------------------------------------------------

fn new_card(number: &str) -> Value {
    json!({"card": {"number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": "Ada Lovelace"},
           "billing": {"country": "GB", "postal_code": "SW1A 1AA"}})
}

#[tokio::test]
async fn a_failed_renewal_is_paid_with_a_new_card() {
    let app = test_app();
    subscribed_portal(&app, "acct-pd", "pro", "4000000000000341").await;
    set_clock(&app, "2026-12-01T00:00:00Z").await;
    let portal = open_portal(&app, "acct-pd").await;
    let view = get(&app, &format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["subscription"]["status"], "past_due");
    assert_eq!(view.body["open_invoice"]["amount"], 2000);
    // The same failing card again: still declined.
    let retry = post(&app, &format!("/api/portal/{portal}/pay-invoice"), None, &json!({"idempotency_key": "p1"})).await;
    assert_eq!(retry.body["status"], "declined");
    let updated =
        post(&app, &format!("/api/portal/{portal}/payment-method"), None, &new_card("5555555555554444")).await;
    assert_eq!(updated.body["status"], "updated", "{:?}", updated.body);
    assert_eq!(updated.body["paid_invoice"], 2000);
    let sub = get(&app, "/v1/accounts/acct-pd/subscription", Some(KEY)).await;
    assert_eq!((sub.body["status"].as_str(), sub.body["credits"].as_i64()), (Some("active"), Some(1000)));
    let statuses: Vec<String> =
        invoices(&app, "acct-pd").await.iter().map(|i| i["status"].as_str().unwrap().to_string()).collect();
    assert_eq!(statuses, vec!["paid", "paid"]);
}

#[tokio::test]
async fn a_new_card_can_need_3_d_secure_and_replaces_the_old_one() {
    let app = test_app();
    let portal = subscribed_portal(&app, "acct-card", "pro", "4242424242424242").await;
    let reply = post(&app, &format!("/api/portal/{portal}/payment-method"), None, &new_card("4000002760003184")).await;
    assert_eq!(reply.body["status"], "requires_action");
    let challenge = reply.body["challenge_id"].as_str().unwrap();
    let path = format!("/api/portal/{portal}/payment-method/challenge");
    let done = post(&app, &path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await;
    assert_eq!(done.body["status"], "updated");
    assert_eq!(done.body["card"]["last4"], "3184");
    let view = get(&app, &format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["payment_method"]["last4"], "3184");
    let declined =
        post(&app, &format!("/api/portal/{portal}/payment-method"), None, &new_card("4000000000009995")).await;
    assert_eq!(declined.body["decline"]["code"], "insufficient_funds");
    assert_eq!(get(&app, &format!("/api/portal/{portal}"), None).await.body["payment_method"]["last4"], "3184");
    let bad = post(&app, &format!("/api/portal/{portal}/payment-method"), None, &new_card("4242424242424241")).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_card");
}

#[tokio::test]
async fn cancel_keeps_the_plan_to_the_period_end_and_resume_takes_it_back() {
    let app = test_app();
    let portal = subscribed_portal(&app, "acct-cancel", "pro", "4242424242424242").await;
    let canceled = post(&app, &format!("/api/portal/{portal}/cancel"), None, &json!({})).await;
    assert_eq!(canceled.body["subscription"]["cancel_at_period_end"], true);
    assert_eq!(canceled.body["subscription"]["next_renewal_at"], Value::Null);
    let resumed = post(&app, &format!("/api/portal/{portal}/resume"), None, &json!({})).await;
    assert_eq!(resumed.body["subscription"]["cancel_at_period_end"], false);
    assert_eq!(resumed.body["subscription"]["next_renewal_amount"], 2000);
    post(&app, &format!("/api/portal/{portal}/cancel"), None, &json!({})).await;
    set_clock(&app, "2026-12-01T00:00:00Z").await;
    let sub = get(&app, "/v1/accounts/acct-cancel/subscription", Some(KEY)).await;
    assert_eq!(
        (sub.body["plan"].as_str(), sub.body["status"].as_str(), sub.body["credits"].as_i64()),
        (Some("free"), Some("canceled"), Some(50))
    );
    assert_eq!(invoices(&app, "acct-cancel").await.len(), 1, "no renewal after cancellation");
}

#[tokio::test]
async fn overage_is_an_opt_in_on_paid_plans() {
    let app = test_app();
    let portal = subscribed_portal(&app, "acct-over", "pro", "4242424242424242").await;
    let on = post(&app, &format!("/api/portal/{portal}/overage"), None, &json!({"enabled": true})).await;
    assert_eq!(on.body["overage_enabled"], true);
    assert_eq!(get(&app, "/v1/accounts/acct-over/subscription", Some(KEY)).await.body["overage_enabled"], true);
    let off = post(&app, &format!("/api/portal/{portal}/overage"), None, &json!({"enabled": false})).await;
    assert_eq!(off.body["overage_enabled"], false);
    assert_error(
        &post(&app, &format!("/api/portal/{portal}/overage"), None, &json!({"enabled": "yes"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[tokio::test]
async fn the_billing_history_lists_and_shows_only_the_accounts_invoices() {
    let app = test_app();
    subscribed_portal(&app, "acct-hist", "pro", "4242424242424242").await;
    let other = subscribed_portal(&app, "acct-other", "pro", "4242424242424242").await;
    for now in ["2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"] {
        set_clock(&app, now).await;
    }
    let portal = open_portal(&app, "acct-hist").await;
    let list = get(&app, &format!("/api/portal/{portal}/invoices"), None).await;
    let amounts: Vec<i64> =
        list.body["invoices"].as_array().unwrap().iter().map(|i| i["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, vec![2000, 2000, 2000, 1000], "newest first");
    let newest = list.body["invoices"][0]["id"].as_str().unwrap();
    let detail = get(&app, &format!("/api/portal/{portal}/invoices/{newest}"), None).await;
    assert_eq!(detail.body["lines"][0]["description"], "Kiro Pro for February 2027");
    assert_eq!(detail.body["card"]["last4"], "4242");
    let foreign = get(&app, &format!("/api/portal/{other}/invoices/{newest}"), None).await;
    assert!(foreign.status == StatusCode::NOT_FOUND || foreign.status == StatusCode::GONE);
    let other = open_portal(&app, "acct-other").await;
    assert_error(
        &get(&app, &format!("/api/portal/{other}/invoices/{newest}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

// ---- serving the app ----------------------------------------------------------------------------

#[tokio::test]
async fn serves_the_app_with_caching_compression_and_a_hashed_csp() {
    let dist = std::env::temp_dir().join(format!("kiro-dist-{}", std::process::id()));
    std::fs::create_dir_all(&dist).unwrap();
    let loader = "import init from '/app-0123456789abcdef.js'; init();";
    std::fs::write(
        dist.join("index.html"),
        format!("<!doctype html><script type=module>{loader}</script><p>shell</p>"),
    )
    .unwrap();
    std::fs::write(dist.join("app-0123456789abcdef.js"), "export default function init() {}".repeat(50)).unwrap();
    std::fs::write(dist.join("app-0123456789abcdef.js.br"), b"brotli bytes").unwrap();
    let mut cfg = Config::new(KEY, "http://checkout.test");
    cfg.dist_dir = Some(dist.clone());
    let app = app(AppState::new(cfg, Store::in_memory().unwrap()).unwrap());

    let asset = Request::get("/app-0123456789abcdef.js")
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .body(Body::empty())
        .unwrap();
    let asset = send(&app, asset).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(asset.headers[header::CONTENT_ENCODING], "br");
    assert_eq!(asset.headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");

    for path in ["/checkout/cs_anything", "/portal/ps_x/update", "/"] {
        let page = get(&app, path, None).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.headers[header::CACHE_CONTROL], "no-cache", "{path}");
        assert!(page.body.as_str().unwrap().contains("shell"), "{path}: the SPA fallback is index.html");
        let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        use base64::Engine;
        use sha2::Digest;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(loader.as_bytes()));
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    }
    let missing = get(&app, "/app-ffffffffffffffff.js", None).await;
    assert_ne!(missing.headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    let api = get(&app, "/healthz", None).await;
    assert_eq!(api.headers[header::CACHE_CONTROL], "no-store");
    std::fs::remove_dir_all(&dist).unwrap();
}

#[tokio::test]
async fn every_portal_endpoint_refuses_forged_and_expired_sessions() {
    let app = test_app();
    let portal = subscribed_portal(&app, "acct-forge", "pro", "4242424242424242").await;
    let posts: [(&str, Value); 9] = [
        ("preview", json!({"plan": "power"})),
        ("change", json!({"plan": "power", "expected_total": 9000, "idempotency_key": "k"})),
        ("keep-plan", json!({})),
        ("cancel", json!({})),
        ("resume", json!({})),
        ("overage", json!({"enabled": true})),
        ("payment-method", new_card("4242424242424242")),
        ("pay-invoice", json!({"idempotency_key": "k"})),
        ("challenge", json!({"challenge_id": "ch_x", "outcome": "complete"})),
    ];
    for (path, body) in &posts {
        let forged = post(&app, &format!("/api/portal/ps_forged/{path}"), None, body).await;
        assert!(
            ["session_not_found", "challenge_not_found"].contains(&forged.body["error"]["code"].as_str().unwrap_or("")),
            "{path}: {:?}",
            forged.body
        );
    }
    for path in ["", "/invoices", "/invoices/in_x"] {
        assert_error(
            &get(&app, &format!("/api/portal/ps_forged{path}"), None).await,
            StatusCode::NOT_FOUND,
            "session_not_found",
        );
    }
    set_clock(&app, "2026-11-16T01:00:00Z").await;
    for (path, body) in &posts[..8] {
        assert_error(
            &post(&app, &format!("/api/portal/{portal}/{path}"), None, body).await,
            StatusCode::GONE,
            "session_expired",
        );
    }
    assert_eq!(invoices(&app, "acct-forge").await.len(), 1, "nothing was charged");
}

#[tokio::test]
async fn a_bank_approval_after_the_price_changed_charges_nothing() {
    let app = test_app();
    set_clock(&app, "2026-11-30T23:50:00Z").await;
    let session = new_session(&app, "acct-late-3ds", "pro").await;
    let pm = tokenize(&app, &session, "4000002760003184").await;
    let reply = confirm(&app, &session, &pm, "k").await;
    let challenge = reply.body["challenge_id"].as_str().unwrap().to_string();
    set_clock(&app, "2026-12-01T00:10:00Z").await;
    let answer = post(
        &app,
        &format!("/api/checkout/{session}/challenge"),
        None,
        &json!({"challenge_id": challenge, "outcome": "complete"}),
    )
    .await;
    assert_error(&answer, StatusCode::CONFLICT, "quote_changed");
    assert!(invoices(&app, "acct-late-3ds").await.is_empty());
}
