//! Bearer ids (sessions, tokens, challenges) and their redaction for logs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// `prefix_` and 192 random bits from the OS-seeded CSPRNG, URL-safe (32 characters).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_text::<24>())
}

/// `N` random bytes from the OS-seeded CSPRNG as URL-safe base64 without padding.
pub fn random_text<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The first 8 characters of an id and an ellipsis: enough to correlate logs, useless as a key.
pub fn redact(id: &str) -> String {
    let head: String = id.chars().take(8).collect();
    if id.chars().count() > 8 { format!("{head}…") } else { head }
}

/// A request path with every long segment (ids) redacted.
pub fn redact_path(path: &str) -> String {
    path.split('/').map(|seg| if seg.len() > 12 { redact(seg) } else { seg.to_string() }).collect::<Vec<_>>().join("/")
}

/// Account ids are opaque to us but must be sane: 1-128 characters of `A-Za-z0-9._:@-`. The
/// refusal says why.
pub fn check_account_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() || id.len() > 128 {
        return Err("`id` must be 1 to 128 characters");
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '@' | '-')) {
        return Err("`id` may contain only letters, digits and . _ : @ -");
    }
    Ok(())
}

/// An instant as RFC 3339 text, as the server API shows it.
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_long_random_and_prefixed() {
        let a = new_id("cs");
        let b = new_id("cs");
        assert!(a.starts_with("cs_"));
        assert_eq!(a.len(), 3 + 32);
        assert_ne!(a, b);
        assert!(a[3..].chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn redaction_never_shows_a_whole_id() {
        let id = new_id("cs");
        let redacted = redact(&id);
        assert!(!redacted.contains(&id[8..]));
        let path = format!("/api/checkout/{id}/confirm");
        let shown = redact_path(&path);
        assert!(!shown.contains(&id), "{shown}");
        assert!(shown.starts_with("/api/checkout/cs_"));
        assert!(shown.ends_with("/confirm"));
    }
}
