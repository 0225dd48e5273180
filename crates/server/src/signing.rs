//! Signed payloads: the hex HMAC-SHA256 of `"{t}.{body}"`, the scheme of our webhook events'
//! `Kiro-Signature` and of Stripe's `Stripe-Signature`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The signature of `body` sent at `timestamp` under `secret`, as lowercase hex.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}
