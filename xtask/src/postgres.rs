//! A throwaway PostgreSQL for the tests, the soak and `serve --postgres`: Debian's `postgresql`
//! package (installed with apt when missing, like Chromium), a cluster made with `initdb` in a
//! folder under `target/`, on a free loopback port, as a non-root user (PostgreSQL refuses to run
//! as root); stopped and deleted when dropped.

use crate::{run, step};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian puts the server's programs (`/usr/lib/postgresql/<major>/bin`).
const DEBIAN_LIB: &str = "/usr/lib/postgresql";
/// The cluster's superuser (trust authentication on loopback only).
const USER: &str = "kiro";

pub struct LocalPostgres {
    bin: PathBuf,
    data: PathBuf,
    /// The non-root user the server runs as when we are root.
    run_as: Option<String>,
    pub url: String,
}

/// The folder of `initdb` and `pg_ctl`: on the PATH or Debian's newest.
fn server_bin() -> Option<PathBuf> {
    let newest =
        std::fs::read_dir(DEBIAN_LIB).ok()?.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()).max()?;
    let bin = Path::new(DEBIAN_LIB).join(newest.to_string()).join("bin");
    bin.join("initdb").exists().then_some(bin)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// The server's programs, installed with apt when missing and we can.
pub fn tools() -> Result<PathBuf, String> {
    step("Checking PostgreSQL for the tests on PostgreSQL");
    if let Some(bin) = server_bin() {
        println!("    {}", bin.display());
        return Ok(bin);
    }
    if !(is_root() && Path::new("/usr/bin/apt-get").exists()) {
        return Err("the tests on PostgreSQL need Debian's PostgreSQL server: sudo apt-get install postgresql".into());
    }
    println!("    installing postgresql with apt-get");
    run(Command::new("apt-get").arg("update").stdout(Stdio::null()))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "postgresql"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    server_bin().ok_or_else(|| format!("apt-get installed postgresql, but {DEBIAN_LIB}/*/bin/initdb is missing"))
}

impl LocalPostgres {
    /// Starts a new cluster in `target/<name>-<pid>` (or the temp folder when the server's user
    /// cannot reach `target/`).
    pub fn start(name: &str) -> Result<LocalPostgres, String> {
        let bin = tools()?;
        let run_as = is_root().then(|| "postgres".to_string());
        let folder = format!("{name}-{}", std::process::id());
        let mut data = std::env::current_dir().map_err(|e| e.to_string())?.join("target").join(&folder);
        if !reachable_by(run_as.as_deref(), data.parent().unwrap_or(Path::new("/"))) {
            data = std::env::temp_dir().join(&folder);
        }
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).map_err(|e| format!("can't create {}: {e}", data.display()))?;
        if let Some(user) = &run_as {
            run(Command::new("chown").args([user.as_str(), &data.display().to_string()]))?;
        }
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let url = format!("postgres://{USER}@127.0.0.1:{port}/postgres");
        let db = LocalPostgres { bin, data, run_as, url };
        let cluster = db.data.join("cluster").display().to_string();
        db.as_server_user("initdb", &["-D", &cluster, "-A", "trust", "-U", USER, "-E", "UTF8", "--no-locale"])?;
        // A throwaway cluster: no fsync, no socket file, loopback only, room for every test's pool.
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=500"
        );
        let log = db.data.join("server.log").display().to_string();
        db.as_server_user("pg_ctl", &["-D", &cluster, "-l", &log, "-o", &options, "-w", "start"])?;
        println!("    PostgreSQL on 127.0.0.1:{port}, data in {}", db.data.display());
        Ok(db)
    }

    fn as_server_user(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(&program);
                cmd
            }
            None => Command::new(&program),
        };
        // From the cluster's folder: the server's user may not be allowed into ours.
        run(cmd.args(args).current_dir(&self.data).stdout(Stdio::null()))
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        let cluster = self.data.join("cluster").display().to_string();
        let _ = self.as_server_user("pg_ctl", &["-D", &cluster, "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// `cargo xtask postgres`: a throwaway PostgreSQL until Enter is pressed (to run the server's
/// tests on it by hand: `KIRO_TEST_POSTGRES_URL=<url> cargo test -p checkout-server --test it`).
pub fn hold() -> Result<(), String> {
    let db = LocalPostgres::start("dev-postgres")?;
    println!("\n{}\n\nPress Enter to stop it.", db.url);
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    Ok(())
}

/// Whether `user` (or we) can enter `dir` and every folder above it.
fn reachable_by(user: Option<&str>, dir: &Path) -> bool {
    let Some(user) = user else { return true };
    Command::new("runuser")
        .args(["-u", user, "--", "test", "-x"])
        .arg(dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
