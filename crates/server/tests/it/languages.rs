//! Issue 23: a session's language (chosen by its creator, by its user in the page's menu, or
//! the browser's), and the page the server sends in it: `<html lang>`, the catalog the app reads,
//! the first paint's amounts.

use crate::common::{KEY, TestApp, assert_error, fake_dist, session_body};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use billing::wire::Branding;
use serde_json::{Value, json};

async fn session_with_locale(app: &TestApp, account: &str, locale: Value) -> crate::common::Reply {
    let mut body = session_body(account, "pro");
    body["locale"] = locale;
    app.post("/v1/checkout/sessions", Some(KEY), &body).await
}

/// The page at `path` as a browser whose languages are `accept_language` gets it.
async fn page(app: &TestApp, path: &str, accept_language: &str) -> String {
    let req = Request::get(path).header(header::ACCEPT_LANGUAGE, accept_language).body(Body::empty()).unwrap();
    let reply = app.send(req).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}");
    reply.body.as_str().unwrap().to_string()
}

fn lang_of(html: &str) -> &str {
    let start = html.find("<html lang=\"").map(|i| i + 12).expect("an <html lang>");
    &html[start..start + html[start..].find('"').unwrap()]
}

/// The catalog the page carries for the app.
fn catalog_of(html: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"kiro-i18n\">";
    let start = html.find(open).expect("a catalog") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[tokio::test]
async fn a_session_keeps_the_language_it_was_created_with() {
    let app = TestApp::new();
    for (locale, kept) in [(json!("de"), "de"), (json!("PT"), "pt-BR"), (json!("zh"), "zh-CN"), (json!("auto"), "auto")]
    {
        let created = session_with_locale(&app, &format!("acct_lang_{kept}"), locale).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let id = created.body["id"].as_str().unwrap();
        let read = app.get(&format!("/v1/checkout/sessions/{id}"), Some(KEY)).await;
        assert_eq!(read.body["locale"], kept);
    }
    let default = app.new_session("acct_lang_default", "pro").await;
    assert_eq!(app.get(&format!("/v1/checkout/sessions/{default}"), Some(KEY)).await.body["locale"], "auto");
    for wrong in [json!("xx"), json!("de-DE"), json!(""), json!("de\u{200b}"), json!("<script>")] {
        let reply = session_with_locale(&app, "acct_lang_wrong", wrong.clone()).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("pt-BR") && !message.contains("en-XA"), "{wrong}: {message}");
    }
    let reply = session_with_locale(&app, "acct_lang_type", json!(7)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:?}", reply.body);
}

#[tokio::test]
async fn the_page_speaks_the_sessions_language_else_the_browsers() {
    let dist = fake_dist("languages-page");
    let app = TestApp::serving(&dist, Branding::default());
    let auto = app.new_session("acct_lang_page_auto", "pro").await;
    let html = page(&app, &format!("/checkout/{auto}"), "fr-CH, fr;q=0.9, en;q=0.8").await;
    assert_eq!(lang_of(&html), "fr");
    let catalog = catalog_of(&html);
    assert_eq!(catalog["locale"], "fr");
    assert!(catalog["checkout"].is_array() && catalog.get("portal").is_none(), "{catalog}");
    // The first paint's amounts in French: today's charge for November 16 to December 1.
    assert!(html.contains("10,00\u{a0}$US"), "{html}");

    let japanese = session_with_locale(&app, "acct_lang_page_ja", json!("ja")).await;
    let japanese = japanese.body["id"].as_str().unwrap();
    let html = page(&app, &format!("/checkout/{japanese}"), "de").await;
    assert_eq!(lang_of(&html), "ja");

    // English pages carry no texts: the app has English built in.
    let html = page(&app, &format!("/checkout/{auto}"), "nl, en-GB;q=0.5").await;
    assert_eq!(lang_of(&html), "en");
    let catalog = catalog_of(&html);
    assert!(catalog.get("common").is_none() && catalog.get("checkout").is_none(), "{catalog}");
    assert!(html.contains("$10.00"));

    // Caches keep a copy per language; the page says which it is in.
    let req =
        Request::get(format!("/checkout/{auto}")).header(header::ACCEPT_LANGUAGE, "ko").body(Body::empty()).unwrap();
    let reply = app.send(req).await;
    assert_eq!(reply.headers[header::VARY], "Accept-Language");
    assert_eq!(reply.headers[header::CONTENT_LANGUAGE], "ko");

    // Unknown sessions and other pages: the browser's language.
    assert_eq!(lang_of(&page(&app, "/checkout/cs_forged_0123", "ko-KR").await), "ko");
    assert_eq!(lang_of(&page(&app, "/portal/ps_forged/update", "es-MX").await), "es");
}

#[tokio::test]
async fn a_language_chosen_in_the_page_holds_for_its_session() {
    let dist = fake_dist("languages-choice");
    let app = TestApp::serving(&dist, Branding::default());
    let checkout = app.new_session("acct_lang_choice", "pro").await;
    let app = &app;
    let choose = |path: String, locale: Value| async move { app.post(&path, None, &json!({ "locale": locale })).await };

    let chosen = choose(format!("/api/checkout/{checkout}/locale"), json!("es")).await;
    assert_eq!(chosen.status, StatusCode::OK, "{:?}", chosen.body);
    assert_eq!(chosen.body["locale"], "es");
    assert_eq!(lang_of(&page(app, &format!("/checkout/{checkout}"), "de").await), "es");
    assert_eq!(app.get(&format!("/v1/checkout/sessions/{checkout}"), Some(KEY)).await.body["locale"], "es");

    assert_error(
        &choose(format!("/api/checkout/{checkout}/locale"), json!("tlh")).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let forged = choose("/api/checkout/cs_forged_0123/locale".into(), json!("de")).await;
    assert_error(&forged, StatusCode::NOT_FOUND, "session_not_found");

    assert_eq!(choose(format!("/api/checkout/{checkout}/locale"), json!("auto")).await.body["locale"], "auto");
    assert_eq!(lang_of(&page(app, &format!("/checkout/{checkout}"), "de").await), "de");
}

#[tokio::test]
async fn the_portal_speaks_its_sessions_language() {
    let dist = fake_dist("languages-portal");
    let app = TestApp::serving(&dist, Branding::default());
    let portal = app.subscribed_portal("acct_lang_portal", "pro", "4242424242424242").await;
    let html = page(&app, &format!("/portal/{portal}"), "pt-BR").await;
    assert_eq!(lang_of(&html), "pt-BR");
    assert_eq!(catalog_of(&html)["locale"], "pt-BR");
    assert!(catalog_of(&html)["portal"].is_array());

    let chosen = app.post(&format!("/api/portal/{portal}/locale"), None, &json!({"locale": "ko"})).await;
    assert_eq!(chosen.status, StatusCode::OK, "{:?}", chosen.body);
    assert_eq!(lang_of(&page(&app, &format!("/portal/{portal}/invoices"), "pt-BR").await), "ko");
    assert_eq!(app.get(&format!("/v1/portal/sessions/{portal}"), Some(KEY)).await.body["locale"], "ko");

    let created = app
        .post(
            "/v1/portal/sessions",
            Some(KEY),
            &json!({"account_id": "acct_lang_portal", "return_url": "kiro://kiro.kiroAgent/manage-plan", "locale": "ja"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(lang_of(&page(&app, &format!("/portal/{id}"), "de").await), "ja");
    let wrong = app
        .post(
            "/v1/portal/sessions",
            Some(KEY),
            &json!({"account_id": "acct_lang_portal", "return_url": "kiro://kiro.kiroAgent/manage-plan", "locale": "xx"}),
        )
        .await;
    assert_error(&wrong, StatusCode::BAD_REQUEST, "invalid_request");
}
