//! What the server is configured with, and the checks that depend on it (return URLs, the key).

use billing::wire::{Branding, CreatedSession};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use subtle::ConstantTimeEq;
use time::Duration;
use url::Url;

/// How webhook deliveries are paced (see `jobs::webhooks`).
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// The first retry comes after about this long (then twice as long each time, with jitter).
    pub first_retry: std::time::Duration,
    /// The longest wait between two attempts.
    pub max_wait: std::time::Duration,
    /// After this long an event that was never accepted is given up on.
    pub give_up_after: std::time::Duration,
    /// How long an endpoint has to answer.
    pub timeout: std::time::Duration,
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            first_retry: std::time::Duration::from_secs(10),
            max_wait: std::time::Duration::from_secs(6 * 3600),
            give_up_after: std::time::Duration::from_secs(3 * 24 * 3600),
            timeout: std::time::Duration::from_secs(10),
        }
    }
}

impl Schedule {
    /// The wait before attempt `failures + 1`: `first_retry` doubled per failure, capped, with
    /// up to ±50% jitter so endpoints that come back are not hit by every sender at once.
    pub fn wait_after(&self, failures: u32) -> std::time::Duration {
        let doubled = self.first_retry.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
        let base = doubled.min(self.max_wait);
        base.mul_f64(rand::Rng::random_range(&mut rand::rng(), 0.5..1.5))
    }
}

/// When a failed renewal is charged again, counted from the failure (as a Stripe retry schedule):
/// 3, 5 and 7 days after it. After the last retry fails, the subscription is canceled.
pub const DEFAULT_RETRIES: [Duration; 3] = [Duration::days(3), Duration::days(5), Duration::days(7)];

#[derive(Debug, Clone)]
pub struct Config {
    /// What the server API's bearer key is checked against; the key itself is not kept.
    pub secret_key_hash: SecretKeyHash,
    /// The origin session URLs are built on, e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
    /// https origins (scheme, host, port) a `return_url` may point at, besides `kiro://`.
    pub allowed_return_origins: Vec<url::Origin>,
    pub test_mode: bool,
    pub branding: Branding,
    /// The built app (trunk's `dist/`); `None` serves the API only.
    pub dist_dir: Option<PathBuf>,
    pub checkout_ttl: Duration,
    pub portal_ttl: Duration,
    /// Starts the test clock frozen at this instant (tests), instead of what the store remembers.
    pub initial_clock: Option<time::OffsetDateTime>,
    /// A whole request, body included, must arrive and be answered within this.
    pub request_timeout: std::time::Duration,
    /// Where events are delivered (`--webhook-url`, checked with [`crate::jobs::webhooks::check_endpoint`]).
    pub webhook_urls: Vec<String>,
    /// The secret events are signed with; generated once and kept in the database when unset.
    pub webhook_secret: Option<SecretString>,
    /// How deliveries are retried.
    pub webhook_schedule: Schedule,
    /// How long a charge waits for another charge of the same account (another tab) to finish
    /// before it answers `payment_in_progress`.
    pub charge_wait: std::time::Duration,
    /// How long a payment attempt stays its process's without being renewed (renewed every
    /// third of it while the charge is made): after a crash, its account waits about this long
    /// before the attempt is settled by any instance.
    pub attempt_lease: std::time::Duration,
    /// Stripe mode (`--processor stripe`); `None` is the test processor.
    pub stripe: Option<StripeSettings>,
    /// When a failed renewal is charged again, counted from the failure; after the last retry
    /// fails the subscription is canceled ([`crate::jobs::renewals::DEFAULT_RETRIES`]: 3, 5, 7 days).
    pub payment_retries: Vec<Duration>,
    /// What `/metrics` also accepts besides the secret key (`--metrics-token`), so the scraper
    /// need not hold the key that creates sessions; only its hash is kept.
    pub metrics_token: Option<SecretKeyHash>,
}

/// Stripe mode's keys and origins (SPEC section 7).
#[derive(Debug, Clone)]
pub struct StripeSettings {
    pub secret_key: SecretString,
    pub publishable_key: String,
    pub webhook_secret: SecretString,
    /// Stripe's API origin (`--stripe-api-base`), e.g. `https://api.stripe.com`.
    pub api_base: String,
    /// Stripe.js (`--stripe-js-url`), e.g. `https://js.stripe.com/v3/`.
    pub js_url: String,
}

/// Stripe.js's documented address, the default of `--stripe-js-url`.
pub const DEFAULT_STRIPE_JS_URL: &str = "https://js.stripe.com/v3/";

impl StripeSettings {
    /// Checks Stripe mode's settings: every key present (the message names a missing one, never a
    /// value), of the right kind, and http(s) origins.
    pub fn new(
        secret_key: Option<&str>,
        publishable_key: Option<&str>,
        webhook_secret: Option<&str>,
        api_base: &str,
        js_url: &str,
    ) -> Result<StripeSettings, String> {
        let present = |value: Option<&str>, name: &str| match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => Ok(v.to_string()),
            None => Err(format!("Stripe mode needs {name}; set it in the environment")),
        };
        let secret_key = present(secret_key, "STRIPE_SECRET_KEY")?;
        let publishable_key = present(publishable_key, "STRIPE_PUBLISHABLE_KEY")?;
        let webhook_secret = present(webhook_secret, "STRIPE_WEBHOOK_SECRET")?;
        if !(secret_key.starts_with("sk_") || secret_key.starts_with("rk_")) {
            return Err("STRIPE_SECRET_KEY is not a Stripe secret key (sk_... or rk_...)".into());
        }
        if !publishable_key.starts_with("pk_") {
            return Err("STRIPE_PUBLISHABLE_KEY is not a Stripe publishable key (pk_...)".into());
        }
        for (name, url) in [("--stripe-api-base", api_base), ("--stripe-js-url", js_url)] {
            let parsed = Url::parse(url).map_err(|_| format!("{name} is not a URL"))?;
            if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
                return Err(format!("{name} must be an http(s) URL"));
            }
        }
        let (api_base, js_url) = (api_base.trim_end_matches('/').to_string(), js_url.to_string());
        let (secret_key, webhook_secret) = (SecretString::from(secret_key), SecretString::from(webhook_secret));
        Ok(StripeSettings { secret_key, publishable_key, webhook_secret, api_base, js_url })
    }

    /// Test keys move no real money: the pages say "Test mode".
    pub fn is_test(&self) -> bool {
        let key = self.secret_key.expose_secret();
        key.starts_with("sk_test_") || key.starts_with("rk_test_")
    }

    /// The origins the CSP admits for Stripe: Stripe.js's (script and its frames) and the API's
    /// (the requests Stripe.js makes).
    pub fn csp_origins(&self) -> (String, String) {
        let origin = |url: &str| Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        (origin(&self.js_url), origin(&self.api_base))
    }
}

impl Config {
    /// A new page session's id, its page URL and its expiry.
    pub fn created_session(&self, page: &str, id: &str, expires_at: time::OffsetDateTime) -> CreatedSession {
        let url = format!("{}/{page}/{id}", self.public_url);
        CreatedSession { id: id.to_string(), url, expires_at }
    }

    /// Kiro's defaults: test mode (the only processor is the test one), Kiro branding, checkout
    /// sessions for 24 hours and portal sessions for 1 hour, no extra return origins, 20 seconds
    /// for a whole request.
    pub fn new(secret_key: &str, public_url: &str) -> Config {
        Config::with_key_hash(SecretKeyHash::of(secret_key), public_url)
    }

    /// [`Config::new`] for a key known only by its hash (generated on an earlier start).
    pub fn with_key_hash(secret_key_hash: SecretKeyHash, public_url: &str) -> Config {
        Config {
            secret_key_hash,
            public_url: public_url.into(),
            allowed_return_origins: Vec::new(),
            test_mode: true,
            branding: Branding::default(),
            dist_dir: None,
            checkout_ttl: Duration::hours(24),
            portal_ttl: Duration::hours(1),
            initial_clock: None,
            request_timeout: std::time::Duration::from_secs(20),
            webhook_urls: Vec::new(),
            webhook_secret: None,
            webhook_schedule: Schedule::default(),
            charge_wait: std::time::Duration::from_secs(15),
            attempt_lease: std::time::Duration::from_secs(30),
            stripe: None,
            payment_retries: DEFAULT_RETRIES.to_vec(),
            metrics_token: None,
        }
    }

    /// Whether a presented key is the server API's key (see [`SecretKeyHash::matches`]).
    pub fn key_matches(&self, presented: &str) -> bool {
        self.secret_key_hash.matches(presented)
    }

    /// Whether a presented token may read `/metrics`: the metrics token or the secret key.
    pub fn metrics_token_matches(&self, presented: &str) -> bool {
        let token = self.metrics_token.as_ref().is_some_and(|hash| hash.matches(presented));
        token | self.key_matches(presented)
    }

    /// Checks a `return_url` by parsing it: `kiro://kiro.kiroAgent/...` or an allowed https origin,
    /// never with credentials, never with characters browsers "fix up" (backslashes, whitespace,
    /// control characters).
    pub fn check_return_url(&self, raw: &str) -> Result<Url, &'static str> {
        if raw.is_empty() {
            return Err("it is empty");
        }
        if raw.len() > 2048 {
            return Err("it is longer than 2048 characters");
        }
        if raw.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control()) {
            return Err("it contains backslashes, spaces or control characters");
        }
        let url = Url::parse(raw).map_err(|_| "it is not an absolute URL")?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("it carries credentials");
        }
        match url.scheme() {
            "kiro" => {
                let host_ok = url.host_str().is_some_and(|h| h.eq_ignore_ascii_case("kiro.kiroAgent"));
                if host_ok && url.port().is_none() {
                    Ok(url)
                } else {
                    Err("kiro:// links must point at kiro.kiroAgent")
                }
            }
            "https" => {
                if self.allowed_return_origins.contains(&url.origin()) {
                    Ok(url)
                } else {
                    Err("its origin is not on the allow-list")
                }
            }
            _ => Err("only kiro:// and allow-listed https:// URLs are accepted"),
        }
    }
}

/// `return_url` with `session_id` appended: where Get started and Return to Kiro go.
pub fn return_url_with_session(return_url: &str, session_id: &str) -> String {
    match url::Url::parse(return_url) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair("session_id", session_id);
            url.to_string()
        }
        Err(_) => return_url.to_string(),
    }
}

/// The SHA-256 of the server API's secret key (lowercase hex): all the server keeps of the key.
/// A plain hash is enough: a generated key is 192 random bits (nothing to guess from its hash),
/// and a key given with `--secret-key` is never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKeyHash(String);

impl SecretKeyHash {
    pub fn of(key: &str) -> SecretKeyHash {
        SecretKeyHash(hex::encode(Sha256::digest(key.as_bytes())))
    }

    /// A hash as [`SecretKeyHash::as_hex`] wrote it; `None` if it is not one.
    pub fn from_hex(text: &str) -> Option<SecretKeyHash> {
        let mut digest = [0u8; 32];
        hex::decode_to_slice(text, &mut digest).ok()?;
        (hex::encode(digest) == text).then(|| SecretKeyHash(text.to_string()))
    }

    pub fn as_hex(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is the key, compared in constant time (hashes are all one length).
    pub fn matches(&self, presented: &str) -> bool {
        bool::from(SecretKeyHash::of(presented).0.as_bytes().ct_eq(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for SecretKeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKeyHash(..)")
    }
}

/// Secret keys shorter than this are refused at start: they could be guessed.
pub const MIN_SECRET_KEY_LEN: usize = 24;

/// A secret key given with `--secret-key` / `CHECKOUT_SECRET_KEY` must be long enough to be secret.
pub fn check_secret_key(key: &str) -> Result<(), String> {
    if key.chars().count() < MIN_SECRET_KEY_LEN {
        return Err(format!(
            "the secret key (--secret-key or CHECKOUT_SECRET_KEY) must be at least {MIN_SECRET_KEY_LEN} characters; \
             it has {}. Leave it unset to have one generated.",
            key.chars().count()
        ));
    }
    Ok(())
}

/// Parses `https://host[:port]` for `--allow-return-origin`.
pub fn parse_allowed_origin(raw: &str) -> Result<url::Origin, String> {
    let url = Url::parse(raw).map_err(|e| format!("{raw}: {e}"))?;
    if url.scheme() != "https" {
        return Err(format!("{raw}: return origins must be https"));
    }
    Ok(url.origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut c = Config::new("sk_test", "http://127.0.0.1:1");
        c.allowed_return_origins.push(parse_allowed_origin("https://app.kiro.dev").unwrap());
        c
    }

    #[test]
    fn accepts_the_deep_link_and_allowed_origins() {
        let c = config();
        assert!(c.check_return_url("kiro://kiro.kiroAgent/upgrade-success").is_ok());
        assert!(c.check_return_url("kiro://kiro.kiroagent/upgrade-success?x=1").is_ok());
        assert!(c.check_return_url("https://app.kiro.dev/billing/done").is_ok());
        assert!(c.check_return_url("HTTPS://APP.KIRO.DEV/done").is_ok());
    }

    #[test]
    fn refuses_hostile_urls() {
        let c = config();
        for bad in [
            "",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "//evil.example",
            "https://evil.example/",
            "https://app.kiro.dev@evil.example/",
            "https://good@app.kiro.dev/",
            "https:\\\\evil.example",
            "https://app.kiro.dev\\@evil.example",
            "http://app.kiro.dev/",
            "https://app.kiro.dev:444/",
            "https://app.kiro.dev.evil.example/",
            "kiro://evil.example/x",
            "kiro://kiro.kiroAgent:99/x",
            "vscode://kiro.kiroAgent/x",
            " kiro://kiro.kiroAgent/x",
            "kiro://kiro.kiroAgent/x\n",
            "file:///etc/passwd",
        ] {
            assert!(c.check_return_url(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(c.check_return_url(&format!("kiro://kiro.kiroAgent/{}", "a".repeat(2100))).is_err());
    }

    #[test]
    fn short_secret_keys_are_refused_without_being_shown() {
        let short = "sk_test_tooshort";
        let refusal = check_secret_key(short).unwrap_err();
        assert!(refusal.contains("at least 24 characters"), "{refusal}");
        assert!(!refusal.contains(short), "{refusal}");
        assert!(check_secret_key("sk_test_0123456789abcdef").is_ok());
    }

    #[test]
    fn keys_compare_whole() {
        let c = config();
        assert!(c.key_matches("sk_test"));
        assert!(!c.key_matches("sk_tes"));
        assert!(!c.key_matches("sk_test2"));
        assert!(!c.key_matches(""));
    }

    #[test]
    fn a_key_hash_reads_back_and_never_shows_the_key() {
        let hash = SecretKeyHash::of("sk_test_0123456789abcdef");
        assert_eq!(SecretKeyHash::from_hex(hash.as_hex()), Some(hash.clone()));
        assert!(SecretKeyHash::from_hex("sk_test_0123456789abcdef").is_none());
        assert!(SecretKeyHash::from_hex(&hash.as_hex().to_uppercase()).is_none());
        let shown = format!("{:?}", Config::new("sk_test_0123456789abcdef", "http://x"));
        assert!(!shown.contains("sk_test_0123456789abcdef") && !shown.contains(hash.as_hex()), "{shown}");
    }

    #[test]
    fn stripe_mode_names_a_missing_key_and_never_shows_one() {
        let (sk, pk, wh) = ("sk_test_secret_value_123", "pk_test_public_value", "whsec_signing_value");
        let (api, js) = ("https://api.stripe.com", DEFAULT_STRIPE_JS_URL);
        let cases = [
            ((None, Some(pk), Some(wh)), "STRIPE_SECRET_KEY"),
            ((Some(sk), Some("  "), Some(wh)), "STRIPE_PUBLISHABLE_KEY"),
            ((Some(sk), Some(pk), None), "STRIPE_WEBHOOK_SECRET"),
            ((Some("pk_test_oops"), Some(pk), Some(wh)), "STRIPE_SECRET_KEY is not"),
            ((Some(sk), Some(sk), Some(wh)), "STRIPE_PUBLISHABLE_KEY is not"),
        ];
        for ((secret, publishable, webhook), named) in cases {
            let error = StripeSettings::new(secret, publishable, webhook, api, js).unwrap_err();
            assert!(error.contains(named), "{error}");
            for value in [sk, pk, wh, "pk_test_oops"] {
                assert!(!error.contains(value), "{error} shows a key");
            }
        }
        assert!(
            StripeSettings::new(Some(sk), Some(pk), Some(wh), "ftp://x", js).unwrap_err().contains("--stripe-api-base")
        );
        let settings = StripeSettings::new(Some(sk), Some(pk), Some(wh), "https://api.stripe.com/", js).unwrap();
        assert!(settings.is_test());
        assert_eq!(settings.csp_origins(), ("https://js.stripe.com".into(), "https://api.stripe.com".into()));
        let shown = format!("{settings:?}");
        assert!(!shown.contains(sk) && !shown.contains(wh), "{shown}");
    }
}
