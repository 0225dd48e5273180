//! The Stripe client: against localstripe (saving a card, charging it, declines, 3-D Secure,
//! retrieval) and against a stand-in that fails on purpose (retries with the same idempotency key,
//! final answers not retried, an unreachable API).

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use billing::wire::DeclineCode;
use checkout_server::payments::stripe::{NewPayment, STRIPE_VERSION, StripeClient, StripeError};
use headless::localstripe::{LocalStripe, SECRET_KEY};
use std::sync::{Arc, Mutex};

/// A customer with a card saved through a SetupIntent, as the page would leave it.
async fn customer_with_card(stripe: &LocalStripe, client: &StripeClient, number: &str) -> (String, String) {
    let customer = client.create_customer("acct_1", "ada@example.com", "cus-key-1").await.unwrap();
    let setup = client.create_setup_intent(&customer.id, &[("account_id", "acct_1")], "seti-key-1").await.unwrap();
    assert_eq!(setup.status, "requires_payment_method");
    assert!(setup.client_secret.as_deref().is_some_and(|s| s.starts_with(&setup.id)));
    assert_eq!(stripe.confirm_setup_with_card(&setup.id, number).await.status(), 200);
    let saved = client.setup_intent(&setup.id).await.unwrap();
    assert_eq!(saved.status, "succeeded");
    (customer.id, saved.payment_method.unwrap())
}

fn payment<'a>(customer: &'a str, card: &'a str) -> NewPayment<'a> {
    NewPayment {
        amount_cents: 2000,
        currency: "usd",
        customer,
        payment_method: card,
        metadata: &[("account_id", "acct_1"), ("attempt", "att_1")],
    }
}

#[tokio::test]
async fn a_saved_card_is_charged_only_when_confirmed_and_the_intent_reads_back_as_charged() {
    let stripe = LocalStripe::start();
    let client = StripeClient::new(&stripe.base, SECRET_KEY);
    let (customer, card) = customer_with_card(&stripe, &client, "4242424242424242").await;
    let created = client.create_payment(&payment(&customer, &card), "pi-key-1").await.unwrap();
    assert_eq!(created.status, "requires_confirmation");
    assert!(stripe.succeeded_payments().await.is_empty(), "creating moves no money");
    let paid = client.confirm_payment(&created.id, true, "confirm-key-1").await.unwrap();
    assert_eq!(
        (paid.status.as_str(), paid.amount, paid.currency.as_str(), paid.customer.as_deref()),
        ("succeeded", 2000, "usd", Some(customer.as_str()))
    );
    assert_eq!(paid.metadata.get("attempt").map(String::as_str), Some("att_1"));
    assert_eq!(client.payment_intent(&paid.id).await.unwrap(), paid);
    assert_eq!(stripe.succeeded_payments().await, [2000]);
    // Paid is final: Stripe refuses to cancel it.
    assert!(matches!(client.cancel_payment(&paid.id, "cancel-1").await, Err(StripeError::Api { status: 400, .. })));

    // Cancelled before its confirm: a confirm that lands late charges nothing.
    let created = client.create_payment(&payment(&customer, &card), "pi-key-2").await.unwrap();
    assert_eq!(client.cancel_payment(&created.id, "cancel-2").await.unwrap().status, "canceled");
    let late = client.confirm_payment(&created.id, false, "confirm-key-2").await;
    assert!(matches!(late, Err(StripeError::Api { status: 400, .. })), "{late:?}");
    assert_eq!(stripe.succeeded_payments().await, [2000], "nothing more was charged");
}

#[tokio::test]
async fn declines_and_bank_checks_come_back_as_stripe_says() {
    let stripe = LocalStripe::start();
    let client = StripeClient::new(&stripe.base, SECRET_KEY);
    // 3184 asks the bank when saved too (Stripe.js shows that check); charged later, it asks again.
    let customer = client.create_customer("acct_3ds", "ada@example.com", "cus-key-3ds").await.unwrap().id;
    let setup = client.create_setup_intent(&customer, &[], "seti-key-3ds").await.unwrap();
    stripe.confirm_setup_with_card(&setup.id, "4000002760003184").await;
    assert_eq!(client.setup_intent(&setup.id).await.unwrap().status, "requires_action");
    let card = stripe.payment_method("4000002760003184").await;
    let created = client.create_payment(&payment(&customer, &card), "pi-key-3ds").await.unwrap();
    let pending = client.confirm_payment(&created.id, false, "confirm-key-3ds").await.unwrap();
    assert_eq!(pending.status, "requires_action");
    assert!(pending.client_secret.is_some(), "the page finishes it with Stripe.js");

    // 0341 saves fine and fails every charge.
    let (customer, card) = customer_with_card(&stripe, &client, "4000000000000341").await;
    let created = client.create_payment(&payment(&customer, &card), "pi-key-0341").await.unwrap();
    let declined = client.confirm_payment(&created.id, true, "confirm-key-0341").await.unwrap_err();
    assert_eq!(declined.decline(), Some(DeclineCode::Generic), "{declined:?}");
    // Declined cards are refused when saved (what Stripe.js shows the user).
    let setup = client.create_setup_intent(&customer, &[], "seti-key-0002").await.unwrap();
    assert_eq!(stripe.confirm_setup_with_card(&setup.id, "4000000000000002").await.status(), 402);
}

#[tokio::test]
async fn unknown_and_hostile_ids_are_errors_without_a_guess() {
    let stripe = LocalStripe::start();
    let client = StripeClient::new(&stripe.base, SECRET_KEY);
    match client.payment_intent("pi_unknown").await {
        Err(StripeError::Api { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(client.payment_intent("pi_1/../../v1/customers").await, Err(StripeError::InvalidId)));
}

/// What the stand-in saw: each request's idempotency key, version and key.
type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>, Option<String>)>>>;

/// A stand-in for Stripe answering `statuses` in turn (then 200 with an intent), recording each
/// request's headers.
async fn flaky_stripe(statuses: Vec<u16>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let answers = Arc::new(Mutex::new(statuses.into_iter()));
    let record = seen.clone();
    let app = Router::new().route(
        "/v1/payment_intents",
        post(move |headers: HeaderMap| {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
            record.lock().unwrap().push((header("idempotency-key"), header("stripe-version"), header("authorization")));
            let status = answers.lock().unwrap().next().unwrap_or(200);
            async move {
                let body = match status {
                    200 => r#"{"id":"pi_1","status":"succeeded","amount":2000,"currency":"usd","customer":"cus_1","payment_method":"pm_1","client_secret":null,"metadata":{}}"#,
                    402 => r#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Declined."}}"#,
                    _ => r#"{"error":{"type":"api_error","message":"Try again."}}"#,
                };
                (StatusCode::from_u16(status).unwrap(), body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

#[tokio::test]
async fn retries_keep_the_idempotency_key_and_stop_at_a_final_answer() {
    let (base, seen) = flaky_stripe(vec![500, 429]).await;
    let client = StripeClient::new(&base, "sk_test_flaky");
    let paid = client.create_payment(&payment("cus_1", "pm_1"), "attempt-key-7").await.unwrap();
    assert_eq!(paid.status, "succeeded");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "two failures, then the answer");
    for (key, version, auth) in &seen {
        assert_eq!(key.as_deref(), Some("attempt-key-7"));
        assert_eq!(version.as_deref(), Some(STRIPE_VERSION));
        assert_eq!(auth.as_deref(), Some("Bearer sk_test_flaky"));
    }

    let (base, seen) = flaky_stripe(vec![402]).await;
    let declined = StripeClient::new(&base, "sk_test_flaky").create_payment(&payment("cus_1", "pm_1"), "k").await;
    assert_eq!(declined.unwrap_err().decline(), Some(DeclineCode::InsufficientFunds));
    assert_eq!(seen.lock().unwrap().len(), 1, "a decline is final: not retried");

    let (base, seen) = flaky_stripe(vec![503, 503, 503, 503]).await;
    let gone = StripeClient::new(&base, "sk_test_flaky").create_payment(&payment("cus_1", "pm_1"), "k").await;
    assert_eq!(gone, Err(StripeError::Unavailable("HTTP 503".into())));
    assert_eq!(seen.lock().unwrap().len(), 3);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let unreachable = StripeClient::new(&format!("http://{closed}"), "sk_test_flaky").payment_intent("pi_1").await;
    assert!(matches!(unreachable, Err(StripeError::Unavailable(_))), "{unreachable:?}");
}
