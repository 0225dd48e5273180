// Verifies a `Kiro-Signature` header (hmac = "0.12", sha2 = "0.10", subtle = "2").
fn verify_kiro_signature(secret: &str, header: &str, body: &[u8], now_unix: i64) -> bool {
    use hmac::{Hmac, Mac};
    use subtle::ConstantTimeEq;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v1)) => signatures.push(v1),
            _ => {}
        }
    }
    let Some(t) = timestamp.filter(|t| (now_unix - t).abs() <= 300) else { return false };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    signatures.iter().any(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())))
}
