//! After the load: the books and the events, read through the server API, against what the
//! clients saw and what the webhook receiver got.

use crate::clients::Record;
use crate::cluster::KEY;
use crate::receiver::{Arrival, Arrivals};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long the deliveries get to drain after the load stops.
const DRAIN_FOR: Duration = Duration::from_secs(120);

async fn get(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = http.get(url).bearer_auth(KEY).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| format!("GET {url}: {e}"))?;
    if status.is_success() { Ok(body) } else { Err(format!("GET {url}: {status} {body}")) }
}

/// Accounts whose books do not add up: more than one paid invoice, or a payment a client saw
/// succeed without exactly one paid invoice of that amount and an active subscription. Also
/// returns the accounts that have a paid invoice (each once).
pub async fn payments(base: &str, records: &[Record]) -> (Vec<String>, HashSet<String>) {
    let http = reqwest::Client::new();
    let (mut found, mut paying) = (Vec::new(), HashSet::new());
    let seen: HashMap<&str, i64> = records.iter().flat_map(|r| &r.paid).map(|(a, t)| (a.as_str(), *t)).collect();
    for account in records.iter().flat_map(|r| &r.attempted) {
        let invoices = match get(&http, &format!("{base}/v1/accounts/{account}/invoices")).await {
            Ok(invoices) => invoices,
            Err(e) => {
                found.push(format!("{account}: can't read invoices: {e}"));
                continue;
            }
        };
        let paid: Vec<&Value> = invoices["invoices"]
            .as_array()
            .map(|a| a.iter().filter(|i| i["status"] == "paid").collect())
            .unwrap_or_default();
        if paid.len() > 1 {
            found.push(format!("{account}: {} paid invoices (a second charge)", paid.len()));
        }
        if !paid.is_empty() {
            paying.insert(account.clone());
        }
        if let Some(total) = seen.get(account.as_str()) {
            let status = match get(&http, &format!("{base}/v1/accounts/{account}/subscription")).await {
                Ok(sub) => sub["status"].clone(),
                Err(e) => Value::String(e),
            };
            if paid.len() != 1 || paid[0]["amount"] != *total || status != "active" {
                found.push(format!("{account}: a client saw {total} paid, the server has {paid:?} and {status}"));
            }
        }
    }
    (found, paying)
}

/// Every event `/v1/events` lists, oldest first.
pub async fn listed_events(base: &str) -> Result<Vec<Value>, String> {
    let http = reqwest::Client::new();
    let mut events: Vec<Value> = Vec::new();
    loop {
        let after = events.last().and_then(|e| e["id"].as_str()).map(|id| format!("&after={id}")).unwrap_or_default();
        let page = get(&http, &format!("{base}/v1/events?limit=100{after}")).await?;
        events.extend(page["data"].as_array().cloned().unwrap_or_default());
        if page["has_more"] != true {
            return Ok(events);
        }
    }
}

/// What the deliveries came to.
#[derive(Default)]
pub struct Deliveries {
    pub events: usize,
    pub arrivals: usize,
    /// Listed events that never arrived.
    pub lost: usize,
    /// Arrivals of an event that had arrived before.
    pub duplicates: usize,
    /// Duplicates that came after a later event of the same account (harmless to a receiver that
    /// dedupes by id, as SPEC section 8 asks; an old state over a newer one to one that does not).
    pub late_duplicates: usize,
    /// How long the receiver waited after the load for the last listed event to arrive.
    pub drained_in: Duration,
    pub found: Vec<String>,
}

/// Waits (up to [`DRAIN_FOR`]) until every listed event has arrived, then checks that each arrived,
/// that each account's events first arrived in their listed order, that nothing arrived that is
/// not listed, and that the events match the books (one `subscription.created` and one
/// `invoice.paid` for an account that paid, none for one that did not).
pub async fn deliveries(base: &str, arrivals: &Arrivals, paying: &HashSet<String>) -> Deliveries {
    let started = Instant::now();
    let mut listed = Vec::new();
    while started.elapsed() < DRAIN_FOR {
        listed = match listed_events(base).await {
            Ok(listed) => listed,
            Err(e) => return Deliveries { found: vec![format!("can't list the events: {e}")], ..Default::default() },
        };
        let arrived: HashSet<String> = arrivals.snapshot().into_iter().map(|a| a.id).collect();
        if listed.iter().all(|e| e["id"].as_str().is_some_and(|id| arrived.contains(id))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut d = compare(&listed, &arrivals.snapshot());
    d.drained_in = started.elapsed();
    d.found.extend(against_books(&listed, paying));
    d
}

/// The listed events against the arrivals.
fn compare(listed: &[Value], arrivals: &[Arrival]) -> Deliveries {
    let mut d = Deliveries { events: listed.len(), arrivals: arrivals.len(), ..Default::default() };
    // Each account's events in their listed order.
    let mut order: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut listed_ids = HashSet::new();
    for event in listed {
        let (id, account) = (event["id"].as_str().unwrap_or(""), event["data"]["account_id"].as_str().unwrap_or(""));
        order.entry(account).or_default().push(id);
        listed_ids.insert(id);
    }
    // Each account's events in the order they first arrived; the latest position seen.
    let mut first_arrivals: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut arrived: HashSet<&str> = HashSet::new();
    for arrival in arrivals {
        if !listed_ids.contains(arrival.id.as_str()) {
            d.found.push(format!("{}: event {} delivered but not listed by /v1/events", arrival.account, arrival.id));
            continue;
        }
        let account_arrivals = first_arrivals.entry(arrival.account.as_str()).or_default();
        if !arrived.insert(arrival.id.as_str()) {
            d.duplicates += 1;
            if account_arrivals.last() != Some(&arrival.id.as_str()) {
                d.late_duplicates += 1;
            }
            continue;
        }
        account_arrivals.push(arrival.id.as_str());
    }
    for (account, ids) in &order {
        let lost: Vec<&&str> = ids.iter().filter(|id| !arrived.contains(**id)).collect();
        d.lost += lost.len();
        if !lost.is_empty() {
            d.found.push(format!("{account}: {} of {} events never delivered: {lost:?}", lost.len(), ids.len()));
        }
        let first = first_arrivals.get(account).cloned().unwrap_or_default();
        let expected: Vec<&str> = ids.iter().copied().filter(|id| first.contains(id)).collect();
        if first != expected {
            d.found.push(format!("{account}: events arrived in the order {first:?}, listed as {ids:?}"));
        }
    }
    d
}

/// Events that say a payment happened twice, or happened when the books say not.
fn against_books(listed: &[Value], paying: &HashSet<String>) -> Vec<String> {
    let mut counts: HashMap<(&str, &str), usize> = HashMap::new();
    for event in listed {
        let account = event["data"]["account_id"].as_str().unwrap_or("");
        *counts.entry((account, event["type"].as_str().unwrap_or(""))).or_default() += 1;
    }
    let mut found = Vec::new();
    for ((account, kind), count) in &counts {
        let expected = usize::from(paying.contains(*account));
        if ["subscription.created", "invoice.paid"].contains(kind) && *count != expected {
            found.push(format!("{account}: {count} {kind} events, {expected} paid invoices"));
        }
    }
    for account in paying {
        for kind in ["subscription.created", "invoice.paid"] {
            if !counts.contains_key(&(account.as_str(), kind)) {
                found.push(format!("{account}: paid, but no {kind} event"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: &str, account: &str, kind: &str) -> Value {
        json!({"id": id, "type": kind, "data": {"account_id": account}})
    }

    fn arrived(ids: &[(&str, &str)]) -> Vec<Arrival> {
        ids.iter().map(|(id, account)| Arrival { id: id.to_string(), account: account.to_string() }).collect()
    }

    fn listed() -> Vec<Value> {
        vec![
            event("e1", "a", "subscription.created"),
            event("e2", "b", "subscription.created"),
            event("e3", "a", "invoice.paid"),
        ]
    }

    #[test]
    fn every_event_in_order_per_account_is_consistent() {
        let d = compare(&listed(), &arrived(&[("e2", "b"), ("e1", "a"), ("e3", "a")]));
        assert!(d.found.is_empty(), "{:?}", d.found);
        assert_eq!((d.lost, d.duplicates), (0, 0));
    }

    #[test]
    fn a_lost_event_is_found() {
        let d = compare(&listed(), &arrived(&[("e1", "a"), ("e3", "a")]));
        assert_eq!(d.lost, 1);
        assert!(d.found[0].starts_with("b: 1 of 1 events never delivered"), "{:?}", d.found);
    }

    #[test]
    fn an_account_s_events_out_of_order_are_found() {
        let d = compare(&listed(), &arrived(&[("e3", "a"), ("e2", "b"), ("e1", "a")]));
        assert_eq!(d.found.len(), 1, "{:?}", d.found);
        assert!(d.found[0].starts_with("a: events arrived in the order"));
    }

    #[test]
    fn duplicates_are_counted_not_found() {
        let d = compare(&listed(), &arrived(&[("e1", "a"), ("e1", "a"), ("e2", "b"), ("e3", "a"), ("e1", "a")]));
        assert!(d.found.is_empty(), "{:?}", d.found);
        assert_eq!((d.duplicates, d.late_duplicates), (2, 1));
    }

    #[test]
    fn an_event_not_listed_is_found() {
        let d = compare(&listed(), &arrived(&[("e1", "a"), ("e2", "b"), ("e3", "a"), ("e9", "a")]));
        assert_eq!(d.found.len(), 1, "{:?}", d.found);
    }

    #[test]
    fn a_second_payment_event_or_one_without_a_payment_is_found() {
        let paying: HashSet<String> = ["a".to_string()].into();
        assert!(against_books(&listed()[..1], &paying).iter().any(|f| f == "a: paid, but no invoice.paid event"));
        let mut twice = listed();
        twice.push(event("e4", "a", "invoice.paid"));
        let found = against_books(&twice, &paying);
        assert!(found.contains(&"a: 2 invoice.paid events, 1 paid invoices".to_string()), "{found:?}");
        assert!(found.contains(&"b: 1 subscription.created events, 0 paid invoices".to_string()), "{found:?}");
    }
}
