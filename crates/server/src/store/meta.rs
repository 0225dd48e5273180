//! The `meta` table: generated secrets, the test clock's reading, the server API key's hash.

use super::{Conn, DbError, DbResult, OptionalExtension};
use crate::config::SecretKeyHash;

// --- meta ----------------------------------------------------------------------------------------

pub fn get_meta(conn: &Conn<'_>, key: &str) -> DbResult<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
}

/// The value kept under `key`, made with `make` and kept the first time it is asked for
/// (generated secrets).
pub fn meta_or_insert(conn: &Conn<'_>, key: &str, make: impl FnOnce() -> String) -> DbResult<String> {
    if let Some(value) = get_meta(conn, key)? {
        return Ok(value);
    }
    let value = make();
    set_meta(conn, key, &value)?;
    Ok(value)
}

pub fn set_meta(conn: &Conn<'_>, key: &str, value: &str) -> DbResult<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

// --- the server API's secret key -----------------------------------------------------------------

/// Where the hash of the server API's generated key is kept. The key itself is shown once, when
/// it is made, and never kept.
const SECRET_KEY_HASH: &str = "secret_key_sha256";
/// Where versions before the hash kept the generated key itself.
const PLAIN_SECRET_KEY: &str = "secret_key";

/// The hash of the server API's generated key, and the key itself when it was made just now (to
/// be shown once).
pub fn secret_key_hash_or_new(conn: &Conn<'_>) -> DbResult<(SecretKeyHash, Option<String>)> {
    if let Some(hex) = get_meta(conn, SECRET_KEY_HASH)? {
        let hash = SecretKeyHash::from_hex(&hex)
            .ok_or_else(|| DbError::broken(format!("the meta row {SECRET_KEY_HASH} is not a SHA-256")))?;
        return Ok((hash, None));
    }
    let key = crate::ids::new_id("sk_test");
    let hash = SecretKeyHash::of(&key);
    set_meta(conn, SECRET_KEY_HASH, hash.as_hex())?;
    Ok((hash, Some(key)))
}

/// Replaces a generated key an older version kept in plain text by its hash: the IDE's backend
/// goes on using the key. The WAL is then checkpointed and emptied, so the old page leaves the
/// main file and the log (with `secure_delete`, the deleted row is zeroed).
pub(super) fn forget_plain_secret_key(conn: &mut rusqlite::Connection) -> rusqlite::Result<()> {
    use rusqlite::OptionalExtension;
    let plain: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [PLAIN_SECRET_KEY], |r| r.get(0)).optional()?;
    let Some(plain) = plain else { return Ok(()) };
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [SECRET_KEY_HASH, SecretKeyHash::of(&plain).as_hex()],
    )?;
    tx.execute("DELETE FROM meta WHERE key = ?1", [PLAIN_SECRET_KEY])?;
    tx.commit()?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    tracing::info!("the generated secret key kept in the database is replaced by its hash");
    Ok(())
}
