//! The OpenAPI document: served without a key, the same as `docs/openapi.json` (so a route or a
//! shape changed without the document fails here), and true: every documented operation's
//! example request, sent to a server with an account, an invoice, a coupon and a refund to act on,
//! gets an answer its schema describes.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use std::collections::HashMap;

fn document() -> Value {
    serde_json::to_value(checkout_server::http::document()).unwrap()
}

#[tokio::test]
async fn the_document_is_served_without_a_key_and_is_openapi_3_1() {
    let app = TestApp::new();
    let served = app.get("/v1/openapi.json", None).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.body, document());
    assert_eq!(served.body["openapi"], "3.1.0");
    assert_eq!(served.body["components"]["securitySchemes"]["secret_key"]["scheme"], "bearer");
}

#[test]
fn docs_openapi_json_is_what_the_code_generates() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == checkout_server::http::document_json(),
        "docs/openapi.json is not what the code generates: run `cargo xtask build` (or \
         `cargo run -p checkout-server -- --print-openapi > docs/openapi.json`) and commit it"
    );
}

/// What the examples act on, made first: ids the examples name by placeholder.
struct World {
    /// Placeholder text in examples (`in_example`) and path parameters, to the real ids.
    ids: HashMap<&'static str, String>,
}

async fn world(app: &TestApp) -> World {
    app.subscribed_portal("acct_example", "pro", "4242424242424242").await;
    app.subscribed_portal("acct_cancel_example", "pro", "4242424242424242").await;
    let invoice = app.invoices("acct_example").await[0]["id"].as_str().unwrap().to_string();
    let refund = app.post("/v1/refunds", Some(KEY), &json!({"invoice": invoice, "amount": 100})).await;
    let coupon = app.post("/v1/coupons", Some(KEY), &json!({"percent_off": 10, "duration": "once"})).await;
    let doomed = app.post("/v1/coupons", Some(KEY), &json!({"amount_off": 500, "duration": "forever"})).await;
    let code =
        app.post("/v1/promotion_codes", Some(KEY), &json!({"code": "WELCOME", "coupon": coupon.body["id"]})).await;
    let checkout = app.post("/v1/checkout/sessions", Some(KEY), &session_body("acct_browsing", "pro")).await;
    let portal = app.open_portal("acct_example").await;
    let id = |reply: &Reply| reply.body["id"].as_str().unwrap().to_string();
    let ids = HashMap::from([
        ("in_example", invoice.clone()),
        ("co_example", id(&coupon)),
        ("/v1/refunds/{id}", id(&refund)),
        ("/v1/refunds?invoice", invoice),
        ("/v1/coupons/{id}", id(&doomed)),
        ("/v1/promotion_codes/{id}", id(&code)),
        ("/v1/checkout/sessions/{session_id}", id(&checkout)),
        ("/v1/portal/sessions/{session_id}", portal),
        ("/v1/accounts/{account_id}/subscription/cancel", "acct_cancel_example".to_string()),
        ("{account_id}", "acct_example".to_string()),
    ]);
    World { ids }
}

/// Every operation, the ones that change what others read last (the clock's move last of all).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    let last = |(path, method, _): &(String, String, Value)| match (path.as_str(), method.as_str()) {
        ("/v1/test_helpers/clock", "post") => 3,
        ("/v1/accounts/{account_id}/subscription/cancel", _) | ("/v1/coupons/{id}", "delete") => 2,
        _ => 1,
    };
    all.sort_by_key(last);
    all
}

/// The request an operation's example makes: its path with real ids, its required query, and its
/// example body with the placeholders replaced.
fn example_request(doc: &Value, world: &World, path: &str, method: &str, operation: &Value) -> Request<Body> {
    let mut uri = path.to_string();
    for param in operation["parameters"].as_array().into_iter().flatten() {
        let name = param["name"].as_str().unwrap();
        match param["in"].as_str().unwrap() {
            "path" => {
                let placeholder = format!("{{{name}}}");
                let value = world.ids.get(path).or_else(|| world.ids.get(placeholder.as_str())).unwrap();
                uri = uri.replace(&placeholder, value);
            }
            "query" if param["required"] == true => {
                let value = &world.ids[format!("{path}?{name}").as_str()];
                uri = format!("{uri}?{name}={value}");
            }
            _ => {}
        }
    }
    let body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .map(|reference| resolve(doc, reference)["example"].clone())
        .map(|example| {
            let mut text = example.to_string();
            for (placeholder, real) in &world.ids {
                if !placeholder.starts_with('/') && !placeholder.starts_with('{') {
                    text = text.replace(placeholder, real);
                }
            }
            text
        });
    let request = Request::builder()
        .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"));
    match body {
        Some(body) => request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body)).unwrap(),
        None => request.body(Body::empty()).unwrap(),
    }
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    doc.pointer(reference.trim_start_matches('#')).unwrap_or_else(|| panic!("{reference} is not in the document"))
}

/// The schema the document gives an answer with `status`: its own, or its range's (`4XX`).
fn answer_schema(operation: &Value, status: StatusCode) -> Option<Value> {
    let responses = &operation["responses"];
    let range = format!("{}XX", status.as_u16() / 100);
    let response = responses.get(status.as_str()).or_else(|| responses.get(&range))?;
    Some(response["content"]["application/json"]["schema"].clone()).filter(|s| !s.is_null())
}

#[tokio::test]
async fn every_documented_example_gets_an_answer_its_schema_describes() {
    let app = TestApp::new();
    let world = world(&app).await;
    let doc = document();
    let mut checked = Vec::new();
    for (path, method, operation) in operations(&doc) {
        let reply = app.send(example_request(&doc, &world, &path, &method, &operation)).await;
        let what = format!("{} {path}", method.to_uppercase());
        // Stripe's webhooks take only Stripe's signed events, in Stripe mode: here, the error body.
        if path != "/v1/stripe/webhooks" {
            assert!(reply.status.is_success(), "{what}: {} {}", reply.status, reply.body);
        }
        let schema = answer_schema(&operation, reply.status).unwrap_or_else(|| {
            assert_eq!(path, "/v1/openapi.json", "{what}: {} is not documented", reply.status);
            json!({"type": "object"})
        });
        let root = json!({"components": doc["components"], "allOf": [schema]});
        let validator = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{what}: {e}"));
        let errors: Vec<String> =
            validator.iter_errors(&reply.body).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{what} answered what its schema does not describe: {errors:#?}\n{}", reply.body);
        checked.push(what);
    }
    assert_eq!(checked.len(), 26, "{checked:#?}");
}

/// A field the schema does not name fails the check: the schemas are closed.
#[test]
fn the_schemas_refuse_fields_they_do_not_name() {
    let doc = document();
    let root = json!({"components": doc["components"], "$ref": "#/components/schemas/Refund"});
    let validator = jsonschema::validator_for(&root).unwrap();
    let refund = json!({"id": "re_1", "object": "refund", "amount": 500, "currency": "usd", "invoice": "in_1",
        "reason": "duplicate", "status": "succeeded", "created": 1, "credit_note": null, "failure_reason": null});
    assert!(validator.is_valid(&refund));
    let mut extra = refund.clone();
    extra["surprise"] = json!(true);
    assert!(!validator.is_valid(&extra));
    let mut missing = refund;
    missing.as_object_mut().unwrap().remove("amount");
    assert!(!validator.is_valid(&missing));
}
