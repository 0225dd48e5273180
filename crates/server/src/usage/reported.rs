//! A meter event as the IDE's backend reports it (Stripe's shape), checked field by field so a
//! refusal names the field: `{"event_name": "kiro_credits", "identifier": "req_1", "timestamp":
//! 1796083200, "payload": {"account_id": "acct-42", "value": "1.25"}}`.

use crate::error::AppError;
use billing::usage::{self, Credits, CreditsError};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// A reported event that passed every check that needs no database.
#[derive(Debug, Clone)]
pub struct Reported {
    /// Where it was in the request: `""` for one event, `"events[3]."` in a batch.
    pub at: String,
    pub identifier: String,
    pub account_id: String,
    pub value: Credits,
    pub value_text: String,
    pub occurred_at: OffsetDateTime,
}

impl Reported {
    /// The event as recorded at `now`.
    pub fn event(&self, now: OffsetDateTime) -> crate::store::MeterEvent {
        crate::store::MeterEvent {
            identifier: self.identifier.clone(),
            account_id: self.account_id.clone(),
            value: self.value,
            value_text: self.value_text.clone(),
            occurred_at: self.occurred_at,
            created_at: now,
        }
    }

    /// The name of one of its fields in the request.
    pub fn param(&self, field: &str) -> String {
        format!("{}{field}", self.at)
    }
}

fn invalid(at: &str, field: &str, message: impl Into<String>) -> AppError {
    AppError::InvalidField { param: format!("{at}{field}"), message: message.into() }
}

/// A string field: present, a string, 1 to `max` characters with nothing invisible in it.
fn text_field(object: &Map<String, Value>, at: &str, field: &str, name: &str, max: usize) -> Result<String, AppError> {
    let value = match object.get(name) {
        None | Some(Value::Null) => return Err(invalid(at, field, "is required")),
        Some(Value::String(s)) => s,
        Some(_) => return Err(invalid(at, field, "must be a string")),
    };
    let length = value.chars().count();
    if length == 0 || length > max {
        return Err(invalid(at, field, format!("must be 1 to {max} characters")));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace() || is_invisible(c)) {
        return Err(invalid(at, field, "must not contain spaces, control or invisible characters"));
    }
    Ok(value.clone())
}

/// Zero-width and formatting characters that would make two identifiers look the same.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{00ad}')
}

/// Reads and checks one event at `at` (`""` or `"events[3]."`) against the clock `now`.
pub fn parse_event(value: &Value, at: &str, now: OffsetDateTime) -> Result<Reported, AppError> {
    let Some(object) = value.as_object() else {
        let whole = if at.is_empty() { "body".to_string() } else { at.trim_end_matches('.').to_string() };
        return Err(AppError::InvalidField { param: whole, message: "must be an object".into() });
    };
    let event_name = text_field(object, at, "event_name", "event_name", 100)?;
    if event_name != usage::METER_EVENT_NAME {
        return Err(invalid(at, "event_name", format!("must be `{}` (the only meter)", usage::METER_EVENT_NAME)));
    }
    let identifier = text_field(object, at, "identifier", "identifier", 100)?;
    let occurred_at = timestamp(object.get("timestamp"), at, now)?;
    let payload = match object.get("payload") {
        Some(Value::Object(payload)) => payload,
        None | Some(Value::Null) => return Err(invalid(at, "payload", "is required")),
        Some(_) => return Err(invalid(at, "payload", "must be an object")),
    };
    let account_id = text_field(payload, at, "payload.account_id", "account_id", 128)?;
    let value_text = match payload.get("value") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => return Err(invalid(at, "payload.value", "is required")),
        Some(_) => return Err(invalid(at, "payload.value", "must be a string, such as \"1.25\"")),
    };
    let value =
        Credits::parse_reported(&value_text).map_err(|e: CreditsError| invalid(at, "payload.value", e.to_string()))?;
    Ok(Reported { at: at.to_string(), identifier, account_id, value, value_text, occurred_at })
}

/// The event's time: Unix seconds, now when absent, within 35 days back and 5 minutes ahead.
fn timestamp(value: Option<&Value>, at: &str, now: OffsetDateTime) -> Result<OffsetDateTime, AppError> {
    let seconds = match value {
        None | Some(Value::Null) => return Ok(now),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| invalid(at, "timestamp", "must be whole Unix seconds"))?,
        Some(_) => return Err(invalid(at, "timestamp", "must be a number of Unix seconds")),
    };
    let occurred_at =
        OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| invalid(at, "timestamp", "is out of range"))?;
    if occurred_at < now - usage::OLDEST_EVENT {
        return Err(invalid(at, "timestamp", "is more than 35 days in the past"));
    }
    if occurred_at > now + usage::LATEST_EVENT {
        return Err(invalid(at, "timestamp", "is more than 5 minutes ahead of the server's clock"));
    }
    Ok(occurred_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);

    fn refused(event: Value) -> String {
        match parse_event(&event, "events[2].", NOW) {
            Err(AppError::InvalidField { param, .. }) => param,
            other => panic!("{event}: {other:?}"),
        }
    }

    fn event(value: Value) -> Value {
        json!({"event_name": "kiro_credits", "identifier": "req_1", "payload": {"account_id": "a", "value": value}})
    }

    #[test]
    fn each_refusal_names_its_field() {
        for value in [json!("-1"), json!("0"), json!("1.234"), json!("abc"), json!(1.25), json!("100000.01")] {
            assert_eq!(refused(event(value)), "events[2].payload.value");
        }
        let mut unknown = event(json!("1"));
        unknown["event_name"] = json!("tokens");
        assert_eq!(refused(unknown), "events[2].event_name");
        let mut long = event(json!("1"));
        long["identifier"] = json!("x".repeat(101));
        assert_eq!(refused(long), "events[2].identifier");
        let mut hidden = event(json!("1"));
        hidden["identifier"] = json!("req\u{200b}1");
        assert_eq!(refused(hidden), "events[2].identifier");
        for ts in [json!(NOW.unix_timestamp() - 36 * 86_400), json!(NOW.unix_timestamp() + 301), json!("now")] {
            let mut e = event(json!("1"));
            e["timestamp"] = ts;
            assert_eq!(refused(e), "events[2].timestamp");
        }
        assert_eq!(refused(json!([])), "events[2]");
    }

    #[test]
    fn a_good_event_reads_with_its_time_defaulting_to_now() {
        let read = parse_event(&event(json!("1.5")), "", NOW).unwrap();
        assert_eq!(
            (read.value, read.occurred_at, read.value_text.as_str()),
            (Credits::from_hundredths(150), NOW, "1.5")
        );
        assert_eq!(read.param("payload.value"), "payload.value");
    }
}
