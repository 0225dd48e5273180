//! What an attack on the server found, each as the behaviour that must hold: no second charge,
//! no crash or hang from the clock, JSON for every error, limits on card testing and key
//! guessing, idempotent session creation, invisible characters refused.

use crate::common::*;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::routing::get as get_route;
use checkout_server::http::failed_keys::MAX_FAILURES;
use checkout_server::jobs::renewals;
use checkout_server::payments::reconcile;
use checkout_server::store::{self, Account, Subscription};
use checkout_server::{AppState, guarded};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

async fn answer_challenge(app: &TestApp, session: &str, challenge: &str) -> Reply {
    let path = format!("/api/checkout/{session}/challenge");
    app.post(&path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await
}

// ---- 1. No second charge, ever ---------------------------------------------------------------

#[tokio::test]
async fn a_bank_approval_after_another_tab_paid_charges_nothing() {
    let app = TestApp::new();
    let power = app.new_session("acct-two-tabs", "power").await;
    let pro = app.new_session("acct-two-tabs", "pro").await;
    let secure_card = app.tokenize(&power, "4000002760003184").await;
    let waiting = app.confirm(&power, &secure_card, "tab-1").await;
    assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);
    let plain_card = app.tokenize(&pro, "4242424242424242").await;
    assert_eq!(app.confirm(&pro, &plain_card, "tab-2").await.body["status"], "succeeded");

    let late = answer_challenge(&app, &power, waiting.body["challenge_id"].as_str().unwrap()).await;
    assert_error(&late, StatusCode::CONFLICT, "already_subscribed");

    let paid: Vec<Value> = app.invoices("acct-two-tabs").await;
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!(paid[0]["amount"], 1000);
    let sub = app.get("/v1/accounts/acct-two-tabs/subscription", Some(KEY)).await;
    assert_eq!(sub.body["plan"], "pro");
}

/// A charge is recorded as pending before the processor is asked: one a stop left pending (no
/// process renews its lease) is settled by the reconciliation every instance runs from its start,
/// and frees the account.
#[tokio::test]
async fn a_charge_left_pending_by_a_stop_is_settled_when_the_server_starts_again() {
    let store = fresh_store();
    let app = TestApp::configured(store.clone(), |cfg| cfg.charge_wait = Duration::from_millis(200));
    let session = app.new_session("acct-stopped", "pro").await;
    let pm = app.tokenize(&session, "4242424242424242").await;
    let now = time::macros::datetime!(2026-11-16 00:00 UTC);
    store.write_blocking(|tx| store::claim_attempt(tx, "acct-stopped", "checkout", now)).unwrap().unwrap();
    let busy = app.confirm(&session, &pm, "k0").await;
    assert_error(&busy, StatusCode::CONFLICT, "payment_in_progress");

    let state = AppState::new(test_config(), store.clone()).unwrap();
    assert_eq!(reconcile::reconcile(&state.payments).await.unwrap(), 1, "the stop's attempt is abandoned");
    let restarted = TestApp::from(checkout_server::app(state));
    assert_eq!(restarted.confirm(&session, &pm, "k1").await.body["status"], "succeeded");
    assert_eq!(restarted.invoices("acct-stopped").await.len(), 1);
}

/// One charge per account at a time: while another is in flight (another tab, another
/// session), a confirm waits, then says so and charges nothing; once it ends, the same confirm
/// goes through.
#[tokio::test]
async fn a_confirm_waits_for_the_accounts_charge_in_flight_and_never_overlaps_it() {
    let store = fresh_store();
    let app = TestApp::configured(store.clone(), |cfg| cfg.charge_wait = std::time::Duration::from_millis(300));
    let session = app.new_session("acct-in-flight", "pro").await;
    let pm = app.tokenize(&session, "4242424242424242").await;
    let now = time::macros::datetime!(2026-11-16 00:00 UTC);
    let other =
        store.write_blocking(|tx| store::claim_attempt(tx, "acct-in-flight", "checkout", now)).unwrap().unwrap();
    assert_eq!(store.write_blocking(|tx| store::claim_attempt(tx, "acct-in-flight", "portal", now)).unwrap(), None);

    let waited = app.confirm(&session, &pm, "k1").await;
    assert_error(&waited, StatusCode::CONFLICT, "payment_in_progress");
    assert!(app.invoices("acct-in-flight").await.is_empty());

    store.write_blocking(|tx| store::finish_attempt(tx, &other.id, "declined", now)).unwrap();
    assert_eq!(app.confirm(&session, &pm, "k1").await.body["status"], "succeeded");
    assert_eq!(app.invoices("acct-in-flight").await.len(), 1);
}

/// A renewal's invoice is written when its period ends, final after the grace hour, and charged
/// after that transaction: a stop in between leaves it waiting, and the next catch-up charges it, once.
#[tokio::test]
async fn a_renewal_written_but_not_charged_before_a_stop_is_charged_once_afterwards() {
    let store = fresh_store();
    let app = TestApp::on(store.clone());
    app.subscribed_portal("acct-renew-stop", "pro", "4242424242424242").await;
    // Past the grace hour: written and final, not yet charged.
    let final_at = time::macros::datetime!(2026-12-01 01:00:01 UTC);
    store.write_blocking(|tx| renewals::run_due(tx, final_at, None, usize::MAX)).unwrap();
    let waiting = app.invoices("acct-renew-stop").await;
    assert_eq!(waiting.len(), 2);
    assert_eq!(waiting[1]["status"], "open", "written, not yet charged: {waiting:?}");

    let restarted = TestApp::on(store.clone());
    assert_eq!(restarted.set_clock("2026-12-01T01:00:01Z").await.status, StatusCode::OK);
    assert_eq!(restarted.set_clock("2026-12-02T00:00:00Z").await.status, StatusCode::OK);
    let invoices = restarted.invoices("acct-renew-stop").await;
    let statuses: Vec<_> = invoices.iter().map(|i| (i["amount"].as_i64(), i["status"].as_str())).collect();
    assert_eq!(statuses, [(Some(1000), Some("paid")), (Some(2000), Some("paid"))]);
    let sub = restarted.get("/v1/accounts/acct-renew-stop/subscription", Some(KEY)).await;
    assert_eq!(sub.body["status"], "active", "{:?}", sub.body);
}

#[tokio::test]
async fn the_schema_refuses_a_second_live_subscription() {
    let store = fresh_store();
    let now = time::macros::datetime!(2026-11-16 00:00 UTC);
    let sub = |plan| Subscription {
        account_id: "acct-schema".into(),
        plan,
        status: billing::wire::SubscriptionStatus::Active,
        first_paid_at: now,
        period_start: now,
        period_end: time::macros::datetime!(2026-12-01 00:00 UTC),
        paid_this_period: billing::Money::from_cents(1000),
        scheduled_plan: None,
        cancel_at_period_end: false,
        overage_enabled: false,
        payment_method_id: None,
    };
    let account = Account {
        id: "acct-schema".into(),
        email: None,
        login: billing::wire::Login::Github,
        aws_account_linked: false,
    };
    store
        .write_blocking(|tx| {
            store::upsert_account(tx, &account)?;
            store::insert_subscription(tx, &sub(billing::PlanId::Pro))
        })
        .unwrap();
    let second = store.write_blocking(|tx| store::insert_subscription(tx, &sub(billing::PlanId::Power)));
    assert!(matches!(second, Ok(false)), "{second:?}");
    let kept = store.read_blocking(|conn| store::get_subscription(conn, "acct-schema")).unwrap().unwrap();
    assert_eq!(kept.plan, billing::PlanId::Pro);
}

/// A status this build does not know (written by a newer version, or by hand) is never read as
/// `active`: the account's subscription is an internal error until someone looks.
#[tokio::test]
async fn a_stored_status_this_build_does_not_know_is_an_error_not_active() {
    let store = fresh_store();
    let app = TestApp::on(store.clone());
    app.subscribed_portal("acct-paused", "pro", "4242424242424242").await;
    let before = app.get("/v1/accounts/acct-paused/subscription", Some(KEY)).await;
    assert_eq!(before.body["status"], "active", "{}", before.body);
    store
        .write_blocking(|tx| {
            tx.execute("UPDATE subscriptions SET status = 'paused' WHERE account_id = 'acct-paused'", ())?;
            Ok::<_, checkout_server::error::AppError>(())
        })
        .unwrap();
    let after = app.get("/v1/accounts/acct-paused/subscription", Some(KEY)).await;
    assert_error(&after, StatusCode::INTERNAL_SERVER_ERROR, "internal");
}

// ---- 2, 3, 7. The clock cannot crash, hang or fall behind ------------------------------------

#[tokio::test]
async fn a_clock_outside_the_supported_range_is_refused_and_pages_keep_working() {
    let app = TestApp::new();
    let session = app.new_session("acct-9999", "pro").await;
    for far in ["9999-12-15T00:00:00Z", "3000-01-01T00:00:00Z"] {
        assert_error(&app.set_clock(far).await, StatusCode::BAD_REQUEST, "clock_out_of_range");
    }
    let page = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    assert_eq!(app.set_clock("2999-12-31T23:59:59Z").await.status, StatusCode::OK);
    let page = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_error(&page, StatusCode::GONE, "session_expired");
}

#[tokio::test]
async fn a_saved_clock_no_build_can_serve_is_ignored_on_restart() {
    let store = fresh_store();
    let year_9999 = time::macros::datetime!(9999-12-15 00:00 UTC);
    store.write_blocking(|tx| store::save_clock(tx, year_9999)).unwrap();
    let app = TestApp::on(store);
    let session = app.new_session("acct-restart", "pro").await;
    let page = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    assert_eq!(page.body["quote"]["total_due_today"], 1000);
}

#[tokio::test]
async fn a_far_clock_move_catches_up_every_period_exactly_once() {
    let app = TestApp::new();
    for i in 0..4 {
        let portal = app.subscribed_portal(&format!("acct-far-{i}"), "pro", "4242424242424242").await;
        assert!(!portal.is_empty());
    }
    // 4 accounts x 120 renewals: several batches of due work.
    const { assert!(4 * 120 > renewals::DUE_BATCH) };
    assert_eq!(app.set_clock("2036-11-16T00:00:00Z").await.status, StatusCode::OK);
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    for i in 0..4 {
        let account = format!("acct-far-{i}");
        let all = app.invoices(&account).await;
        assert_eq!(all.len(), 1 + 120, "{account}");
        assert!(all.iter().all(|i| i["status"] == "paid"));
        let sub = app.get(&format!("/v1/accounts/{account}/subscription"), Some(KEY)).await;
        assert_eq!(sub.body["current_period"]["start"], "2036-11-01T00:00:00Z");
    }
    // Moving again within the month runs nothing twice.
    assert_eq!(app.set_clock("2036-11-20T00:00:00Z").await.status, StatusCode::OK);
    assert_eq!(app.invoices("acct-far-0").await.len(), 121);
}

#[tokio::test]
async fn racing_clock_moves_never_leave_the_saved_clock_behind() {
    let store = fresh_store();
    let app = TestApp::on(store.clone());
    let mut moves = Vec::new();
    for day in 1..=40 {
        let app = app.clone();
        let at = (time::macros::datetime!(2026-11-16 00:00 UTC) + time::Duration::hours(day * 7))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        moves.push(tokio::spawn(async move { app.set_clock(&at).await.status }));
    }
    for m in moves {
        let status = m.await.unwrap();
        assert!(status == StatusCode::OK || status == StatusCode::CONFLICT, "{status}");
    }
    let live = app.get("/v1/test_helpers/clock", Some(KEY)).await.body["now"].clone();
    let restarted = TestApp::on(store);
    let saved = restarted.get("/v1/test_helpers/clock", Some(KEY)).await.body["now"].clone();
    assert_eq!(live, saved);
    assert_eq!(live, "2026-11-27T16:00:00Z", "the latest move wins whatever the order");
}

// ---- 2. A panic fails one request, not the server ----------------------------------------------

async fn panics() -> &'static str {
    let empty: Vec<&str> = std::hint::black_box(Vec::new());
    empty[0]
}

#[tokio::test]
async fn a_panicking_handler_gets_a_json_500_and_the_server_goes_on() {
    let router = TestApp::from(guarded(
        Router::new().route("/boom", get_route(panics)).route("/fine", get_route(|| async { "ok" })),
        Duration::from_secs(5),
    ));
    let boom = router.get("/boom", None).await;
    assert_error(&boom, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert_eq!(router.get("/fine", None).await.status, StatusCode::OK);
}

// ---- 6. Limits against card testing and key guessing ------------------------------------------

#[tokio::test]
async fn a_session_tokenizes_at_most_20_cards() {
    let app = TestApp::new();
    let session = app.new_session("acct-card-testing", "pro").await;
    for _ in 0..20 {
        app.tokenize(&session, "4000000000000002").await;
    }
    let card = json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "Ada"});
    let refused = app.post(&format!("/api/checkout/{session}/card"), None, &card).await;
    assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after: u64 = refused.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0);
}

#[tokio::test]
async fn a_session_opens_at_most_20_three_d_secure_challenges() {
    let app = TestApp::new();
    let session = app.new_session("acct-3ds-flood", "pro").await;
    let card = app.tokenize(&session, "4000002760003184").await;
    for i in 0..20 {
        assert_eq!(app.confirm(&session, &card, &format!("k{i}")).await.body["status"], "requires_action");
    }
    let refused = app.confirm(&session, &card, "k20").await;
    assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
}

/// `GET /v1/accounts/a/subscription` with `key`, as if sent from `client`.
async fn subscription_from(app: &TestApp, client: IpAddr, key: &str) -> Reply {
    let mut request =
        Request::get("/v1/accounts/a/subscription").header(header::AUTHORIZATION, format!("Bearer {key}"));
    request.extensions_mut().unwrap().insert(ConnectInfo(SocketAddr::new(client, 50_000)));
    app.send(request.body(Body::empty()).unwrap()).await
}

/// Presents [`MAX_FAILURES`] wrong keys from `client`, each answered 401.
async fn use_up_the_wrong_keys_of(app: &TestApp, client: IpAddr) {
    for _ in 0..MAX_FAILURES {
        assert_error(&subscription_from(app, client, "sk_wrong").await, StatusCode::UNAUTHORIZED, "unauthorized");
    }
}

const GUESSER: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));

#[tokio::test]
async fn an_address_that_keeps_guessing_the_key_is_refused_but_the_right_key_still_gets_through() {
    let app = TestApp::new();
    use_up_the_wrong_keys_of(&app, GUESSER).await;
    let locked = subscription_from(&app, GUESSER, "sk_wrong").await;
    assert_error(&locked, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(locked.headers.contains_key(header::RETRY_AFTER));

    let mut create =
        post_raw("/v1/checkout/sessions", Some(KEY), "application/json", session_body("acct-1", "pro").to_string());
    create.extensions_mut().insert(ConnectInfo(SocketAddr::new(GUESSER, 50_000)));
    let created = app.send(create).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "the backend behind the guesser's address was locked out: {:?}",
        created.body
    );
}

#[tokio::test]
async fn a_locked_address_stays_locked_while_20000_other_addresses_fail_once_each() {
    let app = TestApp::new();
    use_up_the_wrong_keys_of(&app, GUESSER).await;
    let first_other = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    for n in 0..20_000 {
        let other = IpAddr::V4(Ipv4Addr::from(first_other + n));
        assert_error(&subscription_from(&app, other, "sk_wrong").await, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let still_locked = subscription_from(&app, GUESSER, "sk_wrong").await;
    assert_error(&still_locked, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

// ---- 8. Every error is the JSON error body -----------------------------------------------------

#[tokio::test]
async fn wrong_methods_bad_paths_and_long_paths_answer_in_json() {
    let app = TestApp::new();
    let wrong_method = app.get("/v1/checkout/sessions", Some(KEY)).await;
    assert_error(&wrong_method, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(wrong_method.headers[header::ALLOW], "POST");
    let put = Request::put("/api/checkout/cs_x/confirm").body(Body::empty()).unwrap();
    let put = app.send(put).await;
    assert_error(&put, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(put.headers[header::ALLOW], "POST");

    let dist = std::env::temp_dir().join(format!("kiro-dist-{}", std::process::id()));
    std::fs::create_dir_all(&dist).unwrap();
    for entry in checkout_server::http::static_files::ENTRY_NAMES {
        std::fs::write(dist.join(format!("{entry}.html")), "<!doctype html><title>shell</title>").unwrap();
    }
    let mut cfg = checkout_server::Config::new(KEY, "http://checkout.test");
    cfg.dist_dir = Some(dist.clone());
    let app = TestApp::from(checkout_server::app(checkout_server::AppState::new(cfg, fresh_store()).unwrap()));
    let long = "a".repeat(300);
    for (path, status, code) in [
        ("/api/checkout/%FF%FE%FD".to_string(), StatusCode::BAD_REQUEST, "invalid_request"),
        (format!("/api/checkout/{long}"), StatusCode::NOT_FOUND, "session_not_found"),
        (format!("/{long}"), StatusCode::NOT_FOUND, "not_found"),
        (format!("/{long}.js"), StatusCode::NOT_FOUND, "not_found"),
        (format!("/checkout/{long}/{long}.wasm"), StatusCode::NOT_FOUND, "not_found"),
        ("/missing-0123456789abcdef.js".to_string(), StatusCode::NOT_FOUND, "not_found"),
        ("/v1/nothing/here".to_string(), StatusCode::NOT_FOUND, "not_found"),
        ("/api/nothing".to_string(), StatusCode::NOT_FOUND, "not_found"),
    ] {
        let reply = app.get(&path, None).await;
        assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json", "{path}");
        assert_eq!(reply.status, status, "{path}: {:?}", reply.body);
        assert_error(&reply, status, code);
    }
    std::fs::remove_dir_all(&dist).unwrap();
}

// ---- 9. Authorization parsing follows RFC 7235 ----------------------------------------------------

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_nothing_else_is_loosened() {
    let app = TestApp::new();
    let with_header = |value: String| {
        Request::get("/v1/accounts/acct-x/subscription")
            .header(header::AUTHORIZATION, value)
            .body(Body::empty())
            .unwrap()
    };
    for accepted in [format!("bearer {KEY}"), format!("BEARER {KEY}"), format!("Bearer  {KEY}")] {
        assert_error(&app.send(with_header(accepted.clone())).await, StatusCode::NOT_FOUND, "not_found");
    }
    for refused in
        [format!("Bearer{KEY}"), format!("Basic {KEY}"), format!("Bearer {KEY} x"), "Bearer ".into(), KEY.into()]
    {
        assert_error(&app.send(with_header(refused.clone())).await, StatusCode::UNAUTHORIZED, "unauthorized");
    }
}

// ---- 10. Invisible characters are not data --------------------------------------------------------

#[tokio::test]
async fn emails_and_names_with_invisible_characters_are_refused() {
    let app = TestApp::new();
    let mut body = session_body("acct-bidi", "pro");
    body["account"]["email"] = json!("dev\u{202E}moc.elpmaxe@evil.example");
    let refused = app.post("/v1/checkout/sessions", Some(KEY), &body).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_email");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("invisible"));

    let session = app.new_session("acct-bidi", "pro").await;
    let card = json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123",
                      "name": "Ada\u{202E} Lovelace"});
    let refused = app.post(&format!("/api/checkout/{session}/card"), None, &card).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_card");

    let pm = app.tokenize(&session, "4242424242424242").await;
    let mut confirm = confirm_body(&pm, "k", 1000);
    confirm["email"] = json!("dev\u{200B}@example.com");
    let refused = app.post(&format!("/api/checkout/{session}/confirm"), None, &confirm).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_email");
    assert!(app.invoices("acct-bidi").await.is_empty());
}

// ---- 12. Idempotent session creation ---------------------------------------------------------------

async fn create_with_key(app: &TestApp, path: &str, key: &str, body: &Value) -> Reply {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .header("Idempotency-Key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn session_creation_with_an_idempotency_key_answers_once_for_24_hours() {
    let app = TestApp::new();
    let body = session_body("acct-idem", "pro");
    let first = create_with_key(&app, "/v1/checkout/sessions", "create-1", &body).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let retry = create_with_key(&app, "/v1/checkout/sessions", "create-1", &body).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.body, first.body, "a retry gets the first answer");
    let other = create_with_key(&app, "/v1/checkout/sessions", "create-1", &session_body("acct-idem", "power")).await;
    assert_error(&other, StatusCode::CONFLICT, "idempotency_conflict");
    let fresh = create_with_key(&app, "/v1/checkout/sessions", "create-2", &body).await;
    assert_ne!(fresh.body["id"], first.body["id"]);

    app.set_clock("2026-11-17T00:00:01Z").await;
    let next_day = create_with_key(&app, "/v1/checkout/sessions", "create-1", &body).await;
    assert_eq!(next_day.status, StatusCode::CREATED);
    assert_ne!(next_day.body["id"], first.body["id"], "keys are forgotten after 24 hours");
}

#[tokio::test]
async fn portal_session_creation_takes_an_idempotency_key_too() {
    let app = TestApp::new();
    app.subscribed_portal("acct-idem-portal", "pro", "4242424242424242").await;
    let body = json!({"account_id": "acct-idem-portal", "return_url": "kiro://kiro.kiroAgent/manage-plan"});
    let first = create_with_key(&app, "/v1/portal/sessions", "p-1", &body).await;
    let retry = create_with_key(&app, "/v1/portal/sessions", "p-1", &body).await;
    assert_eq!((first.status, retry.status), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(retry.body["id"], first.body["id"]);
    let mut other = body.clone();
    other["return_url"] = json!("kiro://kiro.kiroAgent/elsewhere");
    assert_error(
        &create_with_key(&app, "/v1/portal/sessions", "p-1", &other).await,
        StatusCode::CONFLICT,
        "idempotency_conflict",
    );
    let bad_key = create_with_key(&app, "/v1/portal/sessions", &"k".repeat(300), &body).await;
    assert_error(&bad_key, StatusCode::BAD_REQUEST, "invalid_request");
}
