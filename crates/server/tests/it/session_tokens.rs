//! Session ids at rest: checkout (`cs_...`) and portal (`ps_...`) ids are bearer secrets, so the
//! database keeps only a public part of each and a hash of the rest. A copy of the database
//! opens no session; the ids the IDE's backend and the pages hold keep working, idempotent
//! replays included, and so do sessions an older version stored whole.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use checkout_server::{Store, ids, store};
use headless::localstripe::LocalStripe;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// A new, empty folder in the temp directory.
fn fresh_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiro-{tag}-{}", ids::new_id("t")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every byte the database's files hold (the file, its `-wal` and `-shm`), as text.
fn stored_text(db: &Path) -> String {
    let bytes: Vec<u8> = ["", "-wal", "-shm"]
        .iter()
        .flat_map(|suffix| std::fs::read(format!("{}{suffix}", db.display())).unwrap_or_default())
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `POST path` with the secret key and an `Idempotency-Key`.
async fn create_keyed(app: &TestApp, path: &str, key: &str, body: &Value) -> Value {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    let reply = app.send(req).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body
}

fn portal_body(account: &str) -> Value {
    json!({"account_id": account, "return_url": "kiro://kiro.kiroAgent/manage-plan"})
}

#[tokio::test]
async fn the_database_holds_no_whole_session_id_nor_its_secret_part() {
    let dir = fresh_dir("session-ids");
    let db = dir.join("billing.sqlite3");
    let app = TestApp::on(Store::open(&db).unwrap());

    // A checkout paid, a portal used to upgrade, and one keyed creation of each (replayed).
    let paid = app.new_session("acct-rest", "pro").await;
    let card = app.tokenize(&paid, "4242424242424242").await;
    assert_eq!(app.confirm(&paid, &card, "pay").await.body["status"], "succeeded");
    let portal = app.open_portal("acct-rest").await;
    let quote = app.preview(&portal, "power").await;
    let total = quote.body["total_due_today"].as_i64().unwrap();
    assert_eq!(app.change(&portal, "power", total, "up").await.body["status"], "succeeded");
    let keyed_checkout = create_keyed(&app, "/v1/checkout/sessions", "ck-1", &session_body("acct-new", "pro")).await;
    create_keyed(&app, "/v1/checkout/sessions", "ck-1", &session_body("acct-new", "pro")).await;
    let keyed_portal = create_keyed(&app, "/v1/portal/sessions", "pk-1", &portal_body("acct-rest")).await;
    create_keyed(&app, "/v1/portal/sessions", "pk-1", &portal_body("acct-rest")).await;
    let keyed_checkout = keyed_checkout["id"].as_str().unwrap().to_string();
    let keyed_portal = keyed_portal["id"].as_str().unwrap().to_string();

    let sessions = [("checkout", &paid), ("portal", &portal), ("checkout", &keyed_checkout), ("portal", &keyed_portal)];
    for (area, id) in sessions {
        assert_eq!(app.get(&format!("/api/{area}/{id}"), None).await.status, StatusCode::OK, "{area} {id}");
        assert_eq!(app.get(&format!("/v1/{area}/sessions/{id}"), Some(KEY)).await.body["id"], id.as_str());
    }
    let text = stored_text(&db);
    for (_, id) in sessions {
        assert!(!text.contains(id.as_str()), "{id} is in the database");
        // Its last characters are the secret part's: none of it is kept either.
        let tail = &id[id.len() - 16..];
        assert!(!text.contains(tail), "the end of {id} ({tail}) is in the database");
    }
    drop(app);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The id the database keeps for the only session of `table` (`checkout_sessions` or
/// `portal_sessions`) of `account`.
fn stored_id(store: &Store, table: &str, account: &str) -> String {
    let sql = format!("SELECT id FROM {table} WHERE account_id = ?1");
    store
        .read_blocking(|conn| {
            Ok::<_, checkout_server::error::AppError>(conn.query_row(&sql, [account], |r| r.get::<_, String>(0))?)
        })
        .unwrap()
}

/// Requests to every route of a session, `{id}` standing for the session id: (method, path, body).
fn checkout_routes() -> Vec<(&'static str, String, Value)> {
    vec![
        ("GET", "/api/checkout/{id}".into(), Value::Null),
        (
            "POST",
            "/api/checkout/{id}/card".into(),
            json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "A B"}),
        ),
        ("POST", "/api/checkout/{id}/confirm".into(), confirm_body("pm_x", "k", 1000)),
        ("POST", "/api/checkout/{id}/challenge".into(), json!({"challenge_id": "ch_x", "outcome": "complete"})),
        ("GET", "/v1/checkout/sessions/{id}".into(), Value::Null),
    ]
}

fn portal_routes() -> Vec<(&'static str, String, Value)> {
    let posts = [
        ("preview", json!({"plan": "power"})),
        ("change", json!({"plan": "power", "expected_total": 9000, "idempotency_key": "k"})),
        ("keep-plan", json!({})),
        ("cancel", json!({})),
        ("resume", json!({})),
        ("overage", json!({"enabled": true})),
        ("payment-method", new_card("4242424242424242")),
        ("payment-method/challenge", json!({"challenge_id": "ch_x", "outcome": "complete"})),
        ("pay-invoice", json!({"idempotency_key": "k"})),
        ("pay-invoice/challenge", json!({"challenge_id": "ch_x", "outcome": "complete"})),
        ("challenge", json!({"challenge_id": "ch_x", "outcome": "complete"})),
    ];
    let mut routes: Vec<_> =
        posts.into_iter().map(|(p, body)| ("POST", format!("/api/portal/{{id}}/{p}"), body)).collect();
    for get in
        ["/api/portal/{id}", "/api/portal/{id}/invoices", "/api/portal/{id}/invoices/in_x", "/v1/portal/sessions/{id}"]
    {
        routes.push(("GET", get.into(), Value::Null));
    }
    routes
}

async fn send(app: &TestApp, (method, path, body): &(&str, String, Value), id: &str) -> Reply {
    let path = path.replace("{id}", id);
    let key = path.starts_with("/v1/").then_some(KEY);
    match *method {
        "GET" => app.get(&path, key).await,
        _ => app.post(&path, key, body).await,
    }
}

/// Each route answers `stored` (the id the database keeps) and `stored` with a wrong secret part
/// exactly as it answers an id that was never issued.
async fn answer_as_unknown(app: &TestApp, routes: &[(&str, String, Value)], prefix: &str, stored: &str) {
    let unknown = ids::new_id(prefix);
    let wrong = format!("{stored}{}", "A".repeat(32));
    for route in routes {
        let never_issued = send(app, route, &unknown).await;
        assert_error(&never_issued, StatusCode::NOT_FOUND, "session_not_found");
        for presented in [stored, wrong.as_str()] {
            let reply = send(app, route, presented).await;
            assert_eq!(reply.status, never_issued.status, "{} {}: {:?}", route.0, route.1, reply.body);
            assert_eq!(reply.body, never_issued.body, "{} {}", route.0, route.1);
        }
    }
}

#[tokio::test]
async fn what_the_database_keeps_of_a_session_id_opens_nothing() {
    let store = fresh_store();
    let app = TestApp::on(store.clone());
    let checkout = app.new_session("acct-copy", "pro").await;
    let portal = app.subscribed_portal("acct-portal", "pro", "4242424242424242").await;
    let stored_checkout = stored_id(&store, "checkout_sessions", "acct-copy");
    let stored_portal = stored_id(&store, "portal_sessions", "acct-portal");

    answer_as_unknown(&app, &checkout_routes(), "cs", &stored_checkout).await;
    answer_as_unknown(&app, &portal_routes(), "ps", &stored_portal).await;

    // The whole ids still work, and nothing above charged or changed anything.
    assert_eq!(app.get(&format!("/api/checkout/{checkout}"), None).await.status, StatusCode::OK);
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.status, StatusCode::OK);
    assert_eq!(view.body["subscription"]["plan"]["id"], "pro", "{:?}", view.body["subscription"]);
    assert_eq!(view.body["subscription"]["cancel_at_period_end"], false);
    assert_eq!(app.invoices("acct-portal").await.len(), 1);
}

#[tokio::test]
async fn the_first_html_of_a_checkout_page_needs_the_whole_id() {
    let dist = fake_dist("session-first-paint");
    let store = fresh_store();
    let app = TestApp::configured(store.clone(), |cfg| cfg.dist_dir = Some(dist.clone()));
    let session = app.new_session("acct-paint", "pro_plus").await;
    let stored = stored_id(&store, "checkout_sessions", "acct-paint");
    let painted = |path: String| {
        let app = app.clone();
        async move { app.get(&path, None).await.body.as_str().unwrap().replace("<!>", "") }
    };
    assert!(painted(format!("/checkout/{session}")).await.contains("Kiro Pro+"));
    for presented in [stored.clone(), format!("{stored}{}", "A".repeat(32))] {
        let html = painted(format!("/checkout/{presented}")).await;
        assert!(html.contains("checkout shell") && !html.contains("Kiro Pro+"), "{presented}: {html}");
    }
    std::fs::remove_dir_all(&dist).unwrap();
}

#[tokio::test]
async fn stripe_mode_routes_answer_a_wrong_secret_part_as_an_unknown_session() {
    let stripe = LocalStripe::start();
    let store = fresh_store();
    let app = TestApp::configured(store.clone(), |cfg| cfg.stripe = Some(stripe_settings(&stripe)));
    let paid = app.new_session("acct-stripe", "pro").await;
    let card = setup_stripe_card(&app, &stripe, "checkout", &paid, "4242424242424242").await.unwrap();
    let card = card.body["id"].as_str().unwrap().to_string();
    assert_eq!(app.confirm(&paid, &card, "pay").await.body["status"], "succeeded");
    app.open_portal("acct-stripe").await;
    app.new_session("acct-stripe-new", "pro").await;
    let stored_checkout = stored_id(&store, "checkout_sessions", "acct-stripe-new");
    let stored_portal = stored_id(&store, "portal_sessions", "acct-stripe");
    let routes = |area: &str| {
        vec![
            ("POST", format!("/api/{area}/{{id}}/setup-intent"), json!({})),
            ("POST", format!("/api/{area}/{{id}}/stripe-card"), json!({"setup_intent": "seti_x"})),
        ]
    };
    answer_as_unknown(&app, &routes("checkout"), "cs", &stored_checkout).await;
    answer_as_unknown(&app, &routes("portal"), "ps", &stored_portal).await;
}

#[tokio::test]
async fn an_idempotent_replay_gives_the_same_id_and_it_works() {
    let app = TestApp::new();
    let first = create_keyed(&app, "/v1/checkout/sessions", "same", &session_body("acct-replay", "pro")).await;
    let again = create_keyed(&app, "/v1/checkout/sessions", "same", &session_body("acct-replay", "pro")).await;
    assert_eq!(first, again);
    let session = again["id"].as_str().unwrap();
    assert_eq!(again["url"], format!("http://checkout.test/checkout/{session}"));
    let card = app.tokenize(session, "4242424242424242").await;
    assert_eq!(app.confirm(session, &card, "pay").await.body["status"], "succeeded");

    let first = create_keyed(&app, "/v1/portal/sessions", "same", &portal_body("acct-replay")).await;
    let again = create_keyed(&app, "/v1/portal/sessions", "same", &portal_body("acct-replay")).await;
    assert_eq!(first, again);
    let portal = again["id"].as_str().unwrap();
    assert_eq!(again["url"], format!("http://checkout.test/portal/{portal}"));
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.status, StatusCode::OK, "{:?}", view.body);
    assert_eq!(view.body["return_url"], format!("kiro://kiro.kiroAgent/manage-plan?session_id={portal}"));

    // Another key makes another session.
    let other = create_keyed(&app, "/v1/portal/sessions", "other", &portal_body("acct-replay")).await;
    assert_ne!(other["id"], again["id"]);
}

#[tokio::test]
async fn sessions_an_older_version_stored_whole_keep_working_until_they_expire() {
    let store = fresh_store();
    let app = TestApp::on(store.clone());
    app.subscribed_portal("acct-pro", "pro", "4242424242424242").await;
    let (checkout, portal) = (ids::new_id("cs"), ids::new_id("ps"));
    let (checkout_id, portal_id) = (checkout.clone(), portal.clone());
    // 2026-11-16 00:00 UTC, the test clock's start; as the older version wrote them.
    let now = 1_794_787_200_i64;
    store
        .write_blocking(move |tx| {
            let account = store::Account {
                id: "acct-old".into(),
                email: Some("dev@example.com".into()),
                login: billing::wire::Login::Github,
                aws_account_linked: false,
            };
            store::upsert_account(tx, &account)?;
            tx.execute(
                "INSERT INTO checkout_sessions (id, account_id, plan, return_url, created_at, expires_at) \
                 VALUES (?1, 'acct-old', 'pro', 'kiro://kiro.kiroAgent/upgrade-success', ?2, ?3)",
                checkout_server::params![checkout_id, now, now + 86_400],
            )?;
            tx.execute(
                "INSERT INTO portal_sessions (id, account_id, return_url, created_at, expires_at) \
                 VALUES (?1, 'acct-pro', 'kiro://kiro.kiroAgent/manage-plan', ?2, ?3)",
                checkout_server::params![portal_id, now, now + 3_600],
            )?;
            Ok::<_, checkout_server::error::AppError>(())
        })
        .unwrap();

    let view = app.get(&format!("/api/checkout/{checkout}"), None).await;
    assert_eq!(view.status, StatusCode::OK, "{:?}", view.body);
    assert_eq!(view.body["return_url"], format!("kiro://kiro.kiroAgent/upgrade-success?session_id={checkout}"));
    let card = app.tokenize(&checkout, "4242424242424242").await;
    assert_eq!(app.confirm(&checkout, &card, "pay").await.body["status"], "succeeded");
    let seen = app.get(&format!("/v1/checkout/sessions/{checkout}"), Some(KEY)).await;
    assert_eq!((seen.body["id"].as_str(), seen.body["status"].as_str()), (Some(checkout.as_str()), Some("complete")));

    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.status, StatusCode::OK, "{:?}", view.body);
    assert_eq!(view.body["return_url"], format!("kiro://kiro.kiroAgent/manage-plan?session_id={portal}"));
    let seen = app.get(&format!("/v1/portal/sessions/{portal}"), Some(KEY)).await;
    assert_eq!(seen.body["id"], portal.as_str());

    app.set_clock("2026-11-16T01:00:00Z").await;
    assert_error(&app.get(&format!("/api/portal/{portal}"), None).await, StatusCode::GONE, "session_expired");
}
