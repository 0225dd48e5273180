//! Secrets at rest: the database's files are readable by the server's user only, and the server
//! API's secret key is kept only as its hash (printed once, when it is generated).

use crate::common::session_body;
use checkout_server::{Store, ids, store};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A new, empty folder in the temp directory.
fn fresh_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiro-{tag}-{}", ids::new_id("t")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// The database file and its `-wal` and `-shm`.
fn database_files(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| PathBuf::from(format!("{}{suffix}", db.display()));
    [with(""), with("-wal"), with("-shm")]
}

/// Everything the database's files hold, as text.
fn stored_text(db: &Path) -> String {
    let bytes: Vec<u8> = database_files(db).iter().flat_map(|f| std::fs::read(f).unwrap_or_default()).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn a_new_database_and_its_wal_and_shm_are_private() {
    let dir = fresh_dir("modes");
    let db = dir.join("billing.sqlite3");
    let store = Store::open(&db).unwrap();
    store.write_blocking(|tx| store::set_meta(tx, "probe", "written")).unwrap();
    assert_eq!(store.read_blocking(|conn| store::get_meta(conn, "probe")).unwrap().as_deref(), Some("written"));
    for file in database_files(&db) {
        assert_eq!(mode(&file), 0o600, "{} is {:o}", file.display(), mode(&file));
    }
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_database_others_could_read_is_made_private() {
    let dir = fresh_dir("modes-old");
    let db = dir.join("billing.sqlite3");
    let older = Store::open(&db).unwrap();
    older.write_blocking(|tx| store::set_meta(tx, "probe", "written")).unwrap();
    for file in database_files(&db) {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let store = Store::open(&db).unwrap();
    for file in database_files(&db) {
        assert_eq!(mode(&file), 0o600, "{} is {:o}", file.display(), mode(&file));
    }
    drop((older, store));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The server as a process with `--demo` on `db`, with no key configured: its demo's lines.
fn start_demo(db: &Path, dist: &Path, port: u16) -> (Child, Vec<String>) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .args(["--demo", "--port", &port.to_string(), "--db"])
        .arg(db)
        .arg("--dist")
        .arg(dist)
        .env_remove("CHECKOUT_SECRET_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut demo = Vec::new();
    for line in BufReader::new(server.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.contains("Press Ctrl-C");
        demo.push(line);
        if done {
            break;
        }
    }
    (server, demo)
}

fn stop(mut server: Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The status of creating a checkout session with `key`.
async fn create_session_with(port: u16, key: &str) -> u16 {
    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/checkout/sessions"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(session_body(&format!("acct-{}", &ids::new_id("a")[2..10]), "pro").to_string())
        .send()
        .await
        .unwrap();
    answer.status().as_u16()
}

#[tokio::test]
async fn a_generated_secret_key_is_printed_once_and_kept_only_as_its_hash() {
    let dir = fresh_dir("generated-key");
    let (db, dist) = (dir.join("billing.sqlite3"), crate::common::fake_dist("generated-key"));

    let port = free_port();
    let (server, demo) = start_demo(&db, &dist, port);
    let key = demo
        .iter()
        .find_map(|line| line.trim().strip_prefix("Secret key: "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no key printed: {demo:?}"))
        .to_string();
    assert!(key.starts_with("sk_test_"), "{demo:?}");
    assert_eq!(create_session_with(port, &key).await, 201);
    assert_eq!(create_session_with(port, "sk_test_not_the_key_000000000").await, 401);
    stop(server);
    assert!(!stored_text(&db).contains(&key), "the key is in the database");

    // Started again: the key still opens the API, and it is not shown again.
    let port = free_port();
    let (server, demo) = start_demo(&db, &dist, port);
    assert!(!demo.join("\n").contains(&key), "the key was shown again: {demo:?}");
    assert_eq!(create_session_with(port, &key).await, 201);
    stop(server);
    assert!(!stored_text(&db).contains(&key), "the key is in the database");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&dist).unwrap();
}

#[tokio::test]
async fn a_key_an_older_version_kept_in_plain_text_is_replaced_by_its_hash() {
    let dir = fresh_dir("older-key");
    let (db, dist) = (dir.join("billing.sqlite3"), crate::common::fake_dist("older-key"));
    let key = ids::new_id("sk_test");
    let older = Store::open(&db).unwrap();
    older.write_blocking(|tx| store::set_meta(tx, "secret_key", &key)).unwrap();
    drop(older);
    assert!(stored_text(&db).contains(&key), "the older version's database holds the key");

    let port = free_port();
    let (server, demo) = start_demo(&db, &dist, port);
    assert!(!demo.join("\n").contains(&key), "the key was shown: {demo:?}");
    assert_eq!(create_session_with(port, &key).await, 201, "the IDE's backend keeps its key");
    stop(server);
    assert!(!stored_text(&db).contains(&key), "the key is still in the database");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&dist).unwrap();
}
