//! The server API the IDE's backend calls: session creation and every bad input, the key, the
//! test clock, session expiry, security headers, and serving the app.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use billing::wire::Branding;
use serde_json::json;

#[tokio::test]
async fn creates_a_checkout_session_with_a_long_random_id() {
    let app = TestApp::new();
    app.set_clock("2026-11-16T00:00:00Z").await;
    let reply = app.post("/v1/checkout/sessions", Some(KEY), &session_body("acct-1", "pro")).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.body["id"].as_str().unwrap();
    assert!(id.starts_with("cs_") && id.len() >= 3 + 22, "{id}");
    assert_eq!(reply.body["url"], format!("http://checkout.test/checkout/{id}"));
    assert_eq!(reply.body["expires_at"], "2026-11-17T00:00:00Z");
    let other = app.post("/v1/checkout/sessions", Some(KEY), &session_body("acct-1", "pro")).await;
    assert_ne!(other.body["id"], reply.body["id"]);
}

#[tokio::test]
async fn accepts_allow_listed_https_return_urls() {
    let app = TestApp::new();
    let mut body = session_body("acct-1", "power");
    body["return_url"] = json!("https://app.kiro.dev/billing/done");
    assert_eq!(app.post("/v1/checkout/sessions", Some(KEY), &body).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn refuses_missing_and_wrong_keys() {
    let app = TestApp::new();
    let body = session_body("acct-1", "pro");
    assert_error(&app.post("/v1/checkout/sessions", None, &body).await, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_error(
        &app.post("/v1/checkout/sessions", Some("sk_test_wrong"), &body).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        &app.post("/v1/checkout/sessions", Some(&KEY[..KEY.len() - 1]), &body).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let basic = Request::post("/v1/checkout/sessions")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Basic {KEY}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    assert_error(&app.send(basic).await, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_error(&app.get("/v1/accounts/acct-1/subscription", None).await, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_error(&set_clock_without_key(&app).await, StatusCode::UNAUTHORIZED, "unauthorized");
}

async fn set_clock_without_key(app: &TestApp) -> Reply {
    app.post("/v1/test_helpers/clock", None, &json!({"now": "2030-01-01T00:00:00Z"})).await
}

#[tokio::test]
async fn refuses_malformed_json_wrong_types_and_missing_fields() {
    let app = TestApp::new();
    for raw in ["{", "not json", "{\"account\": }", "", "[1,2"] {
        let reply = app.send(post_raw("/v1/checkout/sessions", Some(KEY), "application/json", raw)).await;
        assert!(reply.status == StatusCode::BAD_REQUEST, "{raw}: {:?}", reply.body);
        assert!(["invalid_json", "invalid_request"].contains(&reply.body["error"]["code"].as_str().unwrap()), "{raw}");
    }
    assert_error(
        &app.send(post_raw("/v1/checkout/sessions", Some(KEY), "application/json", "not json")).await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    );
    // Each body is a valid one with one thing wrong.
    let with = |path: &[&str], value: serde_json::Value| {
        let mut body = session_body("acct-1", "pro");
        let (last, parents) = path.split_last().unwrap();
        let target = parents.iter().fold(&mut body, |v, key| &mut v[*key]);
        target[*last] = value;
        body
    };
    let wrong = [
        ("a wrong type", with(&["account", "aws_account_linked"], json!("no"))),
        ("an unknown login", with(&["account", "login"], json!("myspace"))),
        ("a number for the plan", with(&["plan"], json!(2))),
        ("an unknown field", with(&["price"], json!(1))),
        ("a missing account", json!({"plan": "pro", "return_url": "kiro://kiro.kiroAgent/x"})),
    ];
    for (what, body) in wrong {
        let reply = app.post("/v1/checkout/sessions", Some(KEY), &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}: {:?}", reply.body);
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
    assert_error(
        &app.send(post_raw("/v1/checkout/sessions", Some(KEY), "text/plain", session_body("a", "pro").to_string()))
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

#[tokio::test]
async fn refuses_unknown_plans() {
    let app = TestApp::new();
    for plan in ["enterprise", "free", "PRO", "", "pro "] {
        assert_error(
            &app.post("/v1/checkout/sessions", Some(KEY), &session_body("acct-1", plan)).await,
            StatusCode::BAD_REQUEST,
            "unknown_plan",
        );
    }
}

#[tokio::test]
async fn refuses_bad_accounts_and_emails() {
    let app = TestApp::new();
    for id in ["", "has space", "<script>", &"a".repeat(129)] {
        assert_error(
            &app.post("/v1/checkout/sessions", Some(KEY), &session_body(id, "pro")).await,
            StatusCode::BAD_REQUEST,
            "invalid_account",
        );
    }
    let mut bad_email = session_body("acct-1", "pro");
    bad_email["account"]["email"] = json!("not-an-email");
    assert_error(
        &app.post("/v1/checkout/sessions", Some(KEY), &bad_email).await,
        StatusCode::BAD_REQUEST,
        "invalid_email",
    );
}

#[tokio::test]
async fn refuses_hostile_return_urls() {
    let app = TestApp::new();
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
        let reply = app.post("/v1/checkout/sessions", Some(KEY), &body).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_return_url");
        let portal =
            app.post("/v1/portal/sessions", Some(KEY), &json!({"account_id": "acct-1", "return_url": url})).await;
        assert_error(&portal, StatusCode::BAD_REQUEST, "invalid_return_url");
    }
}

#[tokio::test]
async fn refuses_oversized_bodies() {
    let app = TestApp::new();
    let mut body = session_body("acct-1", "pro");
    body["account"]["email"] = json!(format!("{}@example.com", "a".repeat(64 * 1024)));
    assert_error(
        &app.post("/v1/checkout/sessions", Some(KEY), &body).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );
    let session = app.new_session("acct-2", "pro").await;
    let huge = json!({"number": "4".repeat(100_000), "exp_month": 1, "exp_year": 2030, "cvc": "123", "name": "x"});
    assert_error(
        &app.post(&format!("/api/checkout/{session}/card"), None, &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );
}

#[tokio::test]
async fn portal_sessions_need_a_subscription() {
    let app = TestApp::new();
    let reply = app
        .post(
            "/v1/portal/sessions",
            Some(KEY),
            &json!({"account_id": "never", "return_url": "kiro://kiro.kiroAgent/x"}),
        )
        .await;
    assert_error(&reply, StatusCode::CONFLICT, "no_subscription");
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = TestApp::new();
    let replies = [
        app.get("/healthz", None).await,
        app.get("/api/checkout/cs_unknown", None).await,
        app.get("/v1/nothing", Some(KEY)).await,
        app.get("/checkout/cs_whatever", None).await,
        app.post("/v1/checkout/sessions", None, &json!({})).await,
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
    let app = TestApp::new();
    assert_error(&app.get("/api/nope", None).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&app.get("/api/checkout/cs_nope", None).await, StatusCode::NOT_FOUND, "session_not_found");
    assert_error(&app.get("/v1/accounts/nobody/subscription", Some(KEY)).await, StatusCode::NOT_FOUND, "not_found");
    let reply = app.get("/healthz", None).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn the_test_clock_only_moves_forwards() {
    let app = TestApp::new();
    assert_eq!(app.set_clock("2030-01-01T00:00:00Z").await.status, StatusCode::OK);
    assert_error(&app.set_clock("2029-12-31T23:59:59Z").await, StatusCode::CONFLICT, "clock_backwards");
    assert_error(&app.set_clock("yesterday").await, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(app.get("/v1/test_helpers/clock", Some(KEY)).await.body["now"], "2030-01-01T00:00:00Z");
}

#[tokio::test]
async fn sessions_expire_after_24_hours() {
    let app = TestApp::new();
    app.set_clock("2026-11-16T00:00:00Z").await;
    let session = app.new_session("acct-1", "pro").await;
    app.set_clock("2026-11-16T23:59:59Z").await;
    assert_eq!(app.get(&format!("/api/checkout/{session}"), None).await.status, StatusCode::OK);
    app.set_clock("2026-11-17T00:00:00Z").await;
    assert_error(&app.get(&format!("/api/checkout/{session}"), None).await, StatusCode::GONE, "session_expired");
    assert_error(&app.confirm(&session, "pm_x", "k1").await, StatusCode::GONE, "session_expired");
}

#[tokio::test]
async fn serves_each_bundle_its_entry_with_caching_compression_and_a_hashed_csp() {
    let dist = fake_dist("serve");
    std::fs::write(dist.join("app-0123456789abcdef.js"), "export default function init() {}".repeat(50)).unwrap();
    std::fs::write(dist.join("app-0123456789abcdef.js.br"), b"brotli bytes").unwrap();
    let app = TestApp::serving(&dist, Branding::default());

    let asset = Request::get("/app-0123456789abcdef.js")
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .body(Body::empty())
        .unwrap();
    let asset = app.send(asset).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(asset.headers[header::CONTENT_ENCODING], "br");
    assert_eq!(asset.headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");

    let pages = [
        ("/checkout/cs_anything", "checkout"),
        ("/checkout/cs_anything/more", "checkout"),
        ("/portal/ps_x/update", "portal"),
        ("/portal/ps_x", "portal-home"),
        ("/portal/ps_x/", "portal-home"),
        ("/portal/", "portal"),
        ("/portal/ps_x//", "portal"),
        ("/", "portal"),
        ("/nowhere", "portal"),
    ];
    for (path, entry) in pages {
        let page = app.get(path, None).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.headers[header::CACHE_CONTROL], "no-cache", "{path}");
        assert!(page.body.as_str().unwrap().contains(&format!("<p>{entry} shell")), "{path}: {entry}.html");
        let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        use base64::Engine;
        use sha2::Digest;
        for script in checkout_server::http::static_files::ENTRY_NAMES.map(|entry| format!("init_{entry}()")) {
            let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script.as_bytes()));
            assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
        }
    }
    let missing = app.get("/app-ffffffffffffffff.js", None).await;
    assert_ne!(missing.headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    let api = app.get("/healthz", None).await;
    assert_eq!(api.headers[header::CACHE_CONTROL], "no-store");
    std::fs::remove_dir_all(&dist).unwrap();
}

/// The whole checkout in its first HTML (issue 21): every label and field of the form, Subscribe
/// (which waits for the form to be filled in), the consent line and the footer, with the country
/// the browser's language suggests chosen, as the app would choose it.
#[tokio::test]
async fn a_payable_checkout_has_its_whole_form_in_the_first_html() {
    let dist = fake_dist("first-paint-form");
    let app = TestApp::serving(&dist, Branding::default());
    let session = app.new_session("acct_first_paint_form", "pro").await;
    let page = |language: &'static str| {
        let req = Request::get(format!("/checkout/{session}")).header(header::ACCEPT_LANGUAGE, language);
        app.send(req.body(Body::empty()).unwrap())
    };
    let html = page("en-US,en;q=0.9").await.body.as_str().unwrap().replace("<!>", "");
    for text in [
        "<form method=\"post\" novalidate class=\"payment-form\">",
        "<label for=\"email\">Email</label>",
        "value=\"dev@example.com\"",
        "<legend class=\"section-title\">Card details</legend>",
        "<label for=\"card-number\">Card number</label>",
        "autocomplete=\"cc-number\"",
        "<label for=\"card-expiry\">Expiry date (MM / YY)</label>",
        "<label for=\"card-cvc\">Security code</label>",
        "<label for=\"card-name\">Name on card</label>",
        "<label for=\"country\">Country or region</label>",
        "<option value=\"US\" selected>United States</option>",
        "<label for=\"postal-code\">ZIP code</label>",
        // Never greyed out (issue 37): pressed with something missing, the page says what.
        "<button type=\"submit\" aria-busy=\"false\" class=\"button primary subscribe\">Subscribe</button>",
        "By subscribing, you authorize Kiro to charge your card $10.00 today and $20.00 on the 1st of every month from December 1, 2026 until you cancel.",
        "<footer class=\"legal\">",
    ] {
        assert!(html.contains(text), "{text} in {html}");
    }
    assert!(!html.contains("Loading the payment form"), "{html}");
    let british = page("en-GB").await.body.as_str().unwrap().replace("<!>", "");
    assert!(british.contains("<option value=\"GB\" selected>United Kingdom</option>"), "{british}");
    assert!(british.contains("<label for=\"postal-code\">Postcode</label>"), "{british}");
    std::fs::remove_dir_all(&dist).unwrap();
}

/// A portal session's home in its first HTML (issue 21): plan, next payment and card on file;
/// nothing session-specific for an unknown session or another portal page.
#[tokio::test]
async fn a_portal_home_is_in_its_first_html() {
    let dist = fake_dist("first-paint-portal");
    let app = TestApp::serving(&dist, Branding::default());
    let portal = app.subscribed_portal("acct_first_paint_portal", "pro", "4242424242424242").await;
    let id = portal.rsplit('/').next().unwrap().to_string();
    let html = app.get(&format!("/portal/{id}"), None).await.body.as_str().unwrap().replace("<!>", "");
    for text in [
        "<title>Your subscription · Kiro</title>",
        "<h1 tabindex=\"-1\">Your subscription</h1>",
        "Kiro Pro",
        "$20.00",
        "Next payment: $20.00 on December 1, 2026",
        "Visa ending in 4242, expires 12/34",
        &format!("<a href=\"/portal/{id}/update\" class=\"button primary\">Update subscription</a>"),
    ] {
        assert!(html.contains(text), "{text} in {html}");
    }
    assert!(!html.contains(" shell</p>") && html.contains("init_portal-home()"), "the home's bundle: {html}");
    // Another page gets the full portal; an unknown session's home, the home's bundle.
    for (path, entry) in [(format!("/portal/{id}/update"), "portal"), ("/portal/ps_unknown".to_string(), "portal-home")]
    {
        let html = app.get(&path, None).await.body.as_str().unwrap().to_string();
        assert!(html.contains(&format!("<p>{entry} shell")) && html.contains("<title>Kiro</title>"), "{path}: {html}");
    }
    std::fs::remove_dir_all(&dist).unwrap();
}

/// The summary a checkout page paints before its wasm arrives: in the first HTML, for sessions
/// that can pay; nothing session-specific for any other.
#[tokio::test]
async fn a_payable_checkout_has_its_order_summary_in_the_first_html() {
    let dist = fake_dist("first-paint");
    let branding = Branding { product_name: "Kiro <b>&".into(), ..Branding::default() };
    let app = TestApp::serving(&dist, branding);
    let session = app.new_session("acct_first_paint", "pro_plus");
    let session = session.await;
    let view = app.get(&format!("/api/checkout/{session}"), None).await;
    let page = app.get(&format!("/checkout/{session}"), None).await;
    // `<!>` separates adjacent text nodes (the app's renderer expects them); text is what counts.
    let html = page.body.as_str().unwrap().replace("<!>", "");
    assert!(html.contains("<title>Subscribe to Kiro Pro+ · Kiro</title>"), "{html}");
    assert!(!html.contains("checkout shell"), "the shell is replaced: {html}");
    assert!(html.contains("<div id=\"shell\">"), "{html}");
    for text in ["Kiro Pro+", "$40.00", "per month", "2,000 credits every month", "Today's charge", "Total due today"] {
        assert!(html.contains(text), "{text} in {html}");
    }
    let total = view.body["quote"]["total_due_today"].as_i64().unwrap();
    assert!(html.contains(&format!("${}.{:02}", total / 100, total % 100)), "{html}");
    // Configured text is escaped, not markup.
    assert!(html.contains("Kiro &lt;b&gt;&amp;"), "{html}");
    assert!(!html.contains("Kiro <b>&"), "{html}");

    let paid = app.new_session("acct_paid", "pro").await;
    let card = app.tokenize(&paid, "4242424242424242").await;
    assert_eq!(app.confirm(&paid, &card, "k1").await.status, StatusCode::OK);
    let expired = app.new_session("acct_expired", "pro").await;
    app.set_clock("2026-11-17T00:00:00Z").await;
    for (path, why) in [
        ("/checkout/cs_unknown".to_string(), "unknown"),
        (format!("/checkout/{expired}"), "expired"),
        (format!("/checkout/{paid}"), "complete"),
        (format!("/checkout/{session}/more"), "not a checkout page"),
    ] {
        let page = app.get(&path, None).await;
        let html = page.body.as_str().unwrap();
        assert!(html.contains("checkout shell") && html.contains("<title>Kiro</title>"), "{why}: {html}");
    }
    std::fs::remove_dir_all(&dist).unwrap();
}
