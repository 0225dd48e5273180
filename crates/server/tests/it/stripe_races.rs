//! Races of a 3-D Secure challenge in Stripe mode, checked from outside: for several accounts at
//! once, the page answering `fail`, a second tab answering `complete`, the user finishing the
//! bank's check at Stripe and Stripe's `payment_intent.succeeded` all arrive together, in an
//! order that changes from account to account. Whatever wins, every PaymentIntent Stripe took
//! money on is granted (a paid invoice) or given back (a refund), exactly one of the two, and
//! nobody gets a 500. The same again while the sessions expire, so that some of that money can no
//! longer be granted and is refunded.

use crate::common::*;
use axum::http::StatusCode;
use headless::localstripe::{LocalStripe, SECRET_KEY, WEBHOOK_SECRET};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const ACCOUNTS: usize = 8;
const CARD_3DS: &str = "4000002760003184";

/// A challenge waiting for its answer: where the page answers it, and the PaymentIntent's secret.
#[derive(Clone)]
struct Waiting {
    account: String,
    answer_path: String,
    challenge_id: Value,
    client_secret: String,
}

impl Waiting {
    fn new(account: &str, answer_path: String, reply: &Reply) -> Waiting {
        assert_eq!(reply.body["status"], "requires_action", "{account}: {:?}", reply.body);
        Waiting {
            account: account.to_string(),
            answer_path,
            challenge_id: reply.body["challenge_id"].clone(),
            client_secret: reply.body["client_secret"].as_str().unwrap().to_string(),
        }
    }

    fn intent(&self) -> &str {
        self.client_secret.split("_secret_").next().unwrap()
    }
}

/// What each racer saw: the page's two answers and Stripe's deliveries of the event.
#[derive(Debug, Default)]
struct Seen {
    answers: Vec<(&'static str, StatusCode, Value)>,
    webhook: Vec<(StatusCode, Value)>,
    bank: u16,
}

/// The four racers for `waiting`, each after `delay(racer)`: the page's `fail`, a second tab's
/// `complete`, the bank's check finished at Stripe, Stripe's signed `payment_intent.succeeded`.
async fn race(app: TestApp, stripe: Arc<LocalStripe>, waiting: Waiting, delay: impl Fn(usize) -> Duration) -> Seen {
    let answer = |outcome: &'static str, after: Duration| {
        let (app, waiting) = (app.clone(), waiting.clone());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let body = json!({"challenge_id": waiting.challenge_id, "outcome": outcome});
            let reply = app.post(&waiting.answer_path, None, &body).await;
            (outcome, reply.status, reply.body)
        })
    };
    let fail = answer("fail", delay(0));
    let complete = answer("complete", delay(1));
    let bank = {
        let (stripe, secret, after) = (stripe.clone(), waiting.client_secret.clone(), delay(2));
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            stripe.authenticate(&secret, true).await.status().as_u16()
        })
    };
    let event = {
        let (app, intent, after) = (app.clone(), waiting.intent().to_string(), delay(3));
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            deliver_until_taken(&app, &format!("evt_race_{intent}"), &intent).await
        })
    };
    let (fail, complete, bank, event) = tokio::join!(fail, complete, bank, event);
    Seen { answers: vec![fail.unwrap(), complete.unwrap()], webhook: event.unwrap(), bank: bank.unwrap() }
}

/// Stripe's `payment_intent.succeeded` for `intent`, delivered again (as Stripe does) while we
/// answer an error; every answer.
async fn deliver_until_taken(app: &TestApp, event_id: &str, intent: &str) -> Vec<(StatusCode, Value)> {
    let event =
        json!({"id": event_id, "type": "payment_intent.succeeded", "data": {"object": {"id": intent}}}).to_string();
    let mut answers = Vec::new();
    for _ in 0..20 {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let request = axum::http::Request::post("/v1/stripe/webhooks")
            .header("content-type", "application/json")
            .header("stripe-signature", stripe_signature(&event, WEBHOOK_SECRET, now))
            .body(axum::body::Body::from(event.clone()))
            .unwrap();
        let reply = app.send(request).await;
        answers.push((reply.status, reply.body));
        if reply.status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    answers
}

/// Racer `racer`'s delay for account `n`: who goes first turns with the account, and the gap
/// between them changes (0 ms: all at once; 80 ms: the first one is usually done).
fn delay_for(n: usize) -> impl Fn(usize) -> Duration {
    let gap = [0, 5, 20, 80][(n / 2 + n) % 4];
    move |racer| Duration::from_millis(((racer + n) % 4) as u64 * gap)
}

/// Stripe's books: every PaymentIntent (id, status, amount, account) and every refund's
/// PaymentIntent.
struct Books {
    intents: Vec<(String, String, i64, String)>,
    refunds: Vec<String>,
}

impl Books {
    async fn read(stripe: &LocalStripe) -> Books {
        let intents = stripe_list(stripe, "/v1/payment_intents?limit=100").await;
        let refunds = stripe_list(stripe, "/v1/refunds?limit=100").await;
        assert!(intents.len() < 100 && refunds.len() < 100, "one page holds them all");
        let field = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
        Books {
            intents: intents
                .iter()
                .map(|i| {
                    let account = i["metadata"]["account_id"].as_str().unwrap_or_default().to_string();
                    (field(i, "id"), field(i, "status"), i["amount"].as_i64().unwrap(), account)
                })
                .collect(),
            refunds: refunds.iter().map(|r| field(r, "payment_intent")).collect(),
        }
    }

    fn refunds_of(&self, intent: &str) -> usize {
        self.refunds.iter().filter(|r| *r == intent).count()
    }
}

async fn stripe_list(stripe: &LocalStripe, path: &str) -> Vec<Value> {
    let reply = reqwest::Client::new().get(format!("{}{path}", stripe.base)).basic_auth(SECRET_KEY, Some(""));
    let list: Value = serde_json::from_slice(&reply.send().await.unwrap().bytes().await.unwrap()).unwrap();
    list["data"].as_array().unwrap_or_else(|| panic!("not a list: {list}")).clone()
}

/// The money invariant for the account of `waiting`, which had `paid_before` paid invoices
/// before its challenge: the PaymentIntent that waited is granted (one more paid invoice of its
/// amount) or refunded when Stripe took the money, neither otherwise; nothing else moved; and the
/// page's answers say what happened. `granted` says whether the challenge's purchase stands.
fn assert_money_kept_straight(books: &Books, waiting: &Waiting, invoices: &[Value], paid_before: usize, seen: &Seen) {
    let account = &waiting.account;
    let (_, status, amount, _) =
        books.intents.iter().find(|i| i.0 == waiting.intent()).unwrap_or_else(|| panic!("{account}: no intent"));
    let paid: Vec<i64> =
        invoices.iter().filter(|i| i["status"] == "paid").map(|i| i["amount"].as_i64().unwrap()).collect();
    let granted = paid.len() - paid_before;
    let refunds = books.refunds_of(waiting.intent());
    let context = format!("{account}: intent {status}, paid invoices {paid:?}, refunds {refunds}, seen {seen:?}");
    assert!(granted <= 1, "never two grants: {context}");
    assert!(refunds <= 1, "never two refunds: {context}");
    if status == "succeeded" {
        assert_eq!(granted + refunds, 1, "money taken is granted or refunded, one of the two: {context}");
        if granted == 1 {
            assert_eq!(paid.last(), Some(amount), "the grant is of the amount taken: {context}");
        }
    } else {
        assert_eq!((granted, refunds), (0, 0), "no money taken, nothing granted: {context}");
        assert_eq!(status, "canceled", "a PaymentIntent nobody waits for is cancelled: {context}");
    }
    let taken = books.intents.iter().filter(|i| &i.3 == account && i.1 == "succeeded").count();
    let given_back: usize = books.intents.iter().filter(|i| &i.3 == account).map(|i| books.refunds_of(&i.0)).sum();
    assert_eq!(taken, paid.len() + given_back, "each payment kept is one paid invoice: {context}");

    for (outcome, code, body) in &seen.answers {
        assert_ne!(*code, StatusCode::INTERNAL_SERVER_ERROR, "{outcome}: {context}");
        if *code == StatusCode::OK {
            let expected = if granted == 1 { "succeeded" } else { "declined" };
            assert_eq!(body["status"], expected, "{outcome}: the page is told what happened: {context}");
        } else {
            assert!(body["error"]["code"].as_str().is_some_and(|c| !c.is_empty()), "{outcome}: {context}");
        }
    }
    for (code, body) in &seen.webhook {
        assert!(*code == StatusCode::OK || body["error"]["code"].is_string(), "webhook: {context}");
        assert_ne!(*code, StatusCode::INTERNAL_SERVER_ERROR, "webhook: {context}");
    }
    assert_eq!(seen.webhook.last().map(|w| w.0), Some(StatusCode::OK), "Stripe's event is taken: {context}");
}

/// Races every waiting challenge at once (the clock moved to `clock_moves.1` meanwhile, after
/// `clock_moves.0`), then checks the money of each account, before and after Stripe delivers its
/// own `payment_intent.succeeded` for each PaymentIntent it charged.
async fn race_all(
    app: &TestApp,
    stripe: &Arc<LocalStripe>,
    waiting: Vec<(Waiting, usize)>,
    clock_moves: Option<(Duration, &'static str)>,
) {
    let racing: Vec<_> = waiting
        .iter()
        .enumerate()
        .map(|(n, (w, _))| tokio::spawn(race(app.clone(), stripe.clone(), w.clone(), delay_for(n))))
        .collect();
    if let Some((after, now)) = clock_moves {
        tokio::time::sleep(after).await;
        assert_eq!(app.set_clock(now).await.status, StatusCode::OK);
    }
    let mut seen = Vec::new();
    for racer in racing {
        seen.push(racer.await.unwrap());
    }
    for round in ["after the race", "after Stripe's own event"] {
        let books = Books::read(stripe).await;
        for ((w, paid_before), seen) in waiting.iter().zip(&seen) {
            let invoices = app.invoices(&w.account).await;
            let answers: Vec<_> = seen.answers.iter().map(|(o, c, b)| (o, c.as_u16(), b["status"].clone())).collect();
            eprintln!("{round}: {} bank {} answers {answers:?} webhook {:?}", w.account, seen.bank, seen.webhook);
            assert_money_kept_straight(&books, w, &invoices, *paid_before, seen);
        }
        // Stripe sends its event for each PaymentIntent that succeeded, whenever it did.
        for (w, _) in &waiting {
            let succeeded = books.intents.iter().any(|i| i.0 == w.intent() && i.1 == "succeeded");
            if succeeded {
                let delivered = deliver_until_taken(app, &format!("evt_paid_{}", w.intent()), w.intent()).await;
                assert_eq!(delivered.last().map(|d| d.0), Some(StatusCode::OK), "{delivered:?}");
            }
        }
    }
}

/// A card saved with Stripe in `area` (`checkout` or `portal`): our answer.
async fn save_card(app: &TestApp, stripe: &LocalStripe, area: &str, session: &str, number: &str) -> Reply {
    let saved = setup_stripe_card(app, stripe, area, session, number).await.unwrap();
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.body);
    saved
}

/// Checkouts of `ACCOUNTS` accounts, each waiting for its bank's check of 3184 (no paid invoice
/// before).
async fn waiting_checkouts(app: &TestApp, stripe: &LocalStripe, tag: &str) -> Vec<(Waiting, usize)> {
    let mut waiting = Vec::new();
    for n in 0..ACCOUNTS {
        let account = format!("acct-race-{tag}-{n}");
        let session = app.new_session(&account, "pro").await;
        let card = save_card(app, stripe, "checkout", &session, CARD_3DS).await;
        let confirmed = app.confirm(&session, card.body["id"].as_str().unwrap(), "k1").await;
        let path = format!("/api/checkout/{session}/challenge");
        waiting.push((Waiting::new(&account, path, &confirmed), 0));
    }
    waiting
}

/// Upgrades of `ACCOUNTS` accounts subscribed with 4242 (one paid invoice), 3184 then on file,
/// each waiting for its bank's check.
async fn waiting_upgrades(app: &TestApp, stripe: &LocalStripe, tag: &str) -> Vec<(Waiting, usize)> {
    let mut waiting = Vec::new();
    for n in 0..ACCOUNTS {
        let account = format!("acct-race-{tag}-{n}");
        let session = app.new_session(&account, "pro").await;
        let card = save_card(app, stripe, "checkout", &session, "4242424242424242").await;
        let paid = app.confirm(&session, card.body["id"].as_str().unwrap(), "k1").await;
        assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
        let portal = app.open_portal(&account).await;
        let replaced = save_card(app, stripe, "portal", &portal, CARD_3DS).await;
        assert_eq!(replaced.body["status"], "updated", "{:?}", replaced.body);
        let amount = app.preview(&portal, "pro_plus").await.body["total_due_today"].as_i64().unwrap();
        let upgrade = app.change(&portal, "pro_plus", amount, "up-1").await;
        waiting.push((Waiting::new(&account, format!("/api/portal/{portal}/challenge"), &upgrade), 1));
    }
    waiting
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_answers_to_a_checkouts_bank_check_grant_or_refund_what_stripe_took_once() {
    let stripe = Arc::new(LocalStripe::start());
    let app = stripe_app(&stripe);
    let waiting = waiting_checkouts(&app, &stripe, "checkout").await;
    race_all(&app, &stripe, waiting, None).await;
}

/// The same race while the checkout sessions expire: money taken after that is refunded, once.
/// (It found, before the fix, an answer refused `session_expired` refunding a PaymentIntent that
/// an answer begun before the expiry was granting, and two refusals both refunding.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_answers_while_the_checkout_expires_grant_or_refund_what_stripe_took_once() {
    let stripe = Arc::new(LocalStripe::start());
    let app = stripe_app(&stripe);
    let waiting = waiting_checkouts(&app, &stripe, "checkout-expiring").await;
    let expired = (Duration::from_millis(40), "2026-11-17T00:00:01Z");
    race_all(&app, &stripe, waiting, Some(expired)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_answers_to_an_upgrades_bank_check_grant_or_refund_what_stripe_took_once() {
    let stripe = Arc::new(LocalStripe::start());
    let app = stripe_app(&stripe);
    let waiting = waiting_upgrades(&app, &stripe, "upgrade").await;
    race_all(&app, &stripe, waiting, None).await;
}

/// The same race while the portal sessions (an hour) expire: an upgrade is granted or refunded,
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_answers_while_the_portal_expires_grant_or_refund_what_stripe_took_once() {
    let stripe = Arc::new(LocalStripe::start());
    let app = stripe_app(&stripe);
    let waiting = waiting_upgrades(&app, &stripe, "upgrade-expiring").await;
    let expired = (Duration::from_millis(40), "2026-11-16T02:00:00Z");
    race_all(&app, &stripe, waiting, Some(expired)).await;
}
