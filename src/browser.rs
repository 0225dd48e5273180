//! The few facts the pages need from the browser: the date, the locale, random keys, navigation.

/// `(year, month)` of today, for card expiry checks.
pub fn current_year_month() -> (u16, u8) {
    let now = js_sys::Date::new_0();
    (now.get_full_year() as u16, (now.get_month() + 1) as u8)
}

/// The browser's preferred language tag, e.g. `en-US`.
pub fn locale() -> String {
    web_sys::window().and_then(|w| w.navigator().language()).unwrap_or_default()
}

/// A fresh random idempotency key (128 bits from the platform CSPRNG).
pub fn new_idempotency_key() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends the browser to `url` (the IDE's deep link).
pub fn navigate_to(url: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(url);
    }
}

/// A `performance.mark` the benchmark reads (when a page became usable).
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}
