//! Secrets at rest: the database's files are readable by the server's user only.

mod common;

use checkout_server::{Store, ids, store};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

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
